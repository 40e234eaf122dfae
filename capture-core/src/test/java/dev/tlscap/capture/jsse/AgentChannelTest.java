// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.jsse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tlscap.secrets.SecretSource.SecretCounters;
import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What tlscap makes of an agent's lines: secrets, counts, the JVM attached or not; nothing thrown. */
class AgentChannelTest {
  static final String RANDOM = "0da6553b97b0afa2e32828b04261fd4f76e93ec699afbd679c89afe704ca3d68";
  static final String SECRET_48 = "27b3c0d2342ef230e463eca655995cc8bbcbaec9cd93119c0548929cf3924fb7e881887a3c5adb9935be43bbd06d21ff";

  final List<String> messages = new ArrayList<>();
  final JavaSecretSource source = new JavaSecretSource(new JavaSecretSource.Options(0, null, Path.of("/proc")),
      messages::add, new byte[] {1, 2, 3});
  final AgentChannel channel = new AgentChannel(source, null, 4242, "java", 412);

  @Test
  void helloCountsTheJvmAndSecretLinesBecomeSecretsOfItsProcess() {
    channel.accept("# tlscap-agent pid 4242 redefined 0 java 17.0.21.1");
    channel.accept("SERVER_HANDSHAKE_TRAFFIC_SECRET " + RANDOM + " " + SECRET_48);
    channel.accept("CLIENT_RANDOM " + RANDOM + " " + SECRET_48);
    List<TlsSecret> secrets = new ArrayList<>();
    source.drain(secrets::add);
    assertEquals(List.of("TLS secrets from pid 4242 (java), a JVM (java 17.0.21.1), through tlscap's agent: attached"
        + " in 412 ms"), messages);
    assertEquals(1, source.jvmsAttached.get());
    assertEquals(2, secrets.size());
    TlsSecret first = secrets.get(0);
    assertEquals(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, first.label());
    assertArrayEquals(HexFormat.of().parseHex(RANDOM), first.clientRandom());
    assertArrayEquals(HexFormat.of().parseHex(SECRET_48), first.secret());
    assertEquals(4242, first.pid());
    assertEquals("JSSE", first.library());
    assertEquals(new SecretCounters(2, 0, 0, 0), source.counters());
  }

  @Test
  void badLinesAreCountedMalformedAndDropsLost() {
    channel.accept("# tlscap-agent pid 4242 redefined 2 java 25.0.3");
    channel.accept("CLIENT_RANDOM " + RANDOM + " " + SECRET_48.substring(2)); // 47 bytes: not a master secret
    channel.accept("NOT_A_LABEL " + RANDOM + " " + SECRET_48);
    channel.accept("CLIENT_RANDOM " + RANDOM.substring(2) + " " + SECRET_48); // random of 31 bytes
    channel.accept("CLIENT_RANDOM zz" + RANDOM.substring(2) + " " + SECRET_48);
    channel.accept("CLIENT_RANDOM " + RANDOM);
    channel.accept("x".repeat(AgentChannel.MAX_LINE + 1));
    channel.accept("# dropped 7");
    channel.accept("# dropped seven");
    channel.accept("# unreadable CLIENT_RANDOM");
    List<TlsSecret> secrets = new ArrayList<>();
    source.drain(secrets::add);
    assertEquals(List.of(), secrets);
    assertEquals(new SecretCounters(0, 7, 1, 7), source.counters());
    assertEquals(List.of("TLS secrets from pid 4242 (java), a JVM (java 25.0.3), through tlscap's agent: attached in"
        + " 412 ms (JSSE was in use: the JVM recompiles its code, all of it before JDK 23, and runs slower for some"
        + " seconds)"), messages);
  }

  @Test
  void anAgentThatFailedInTheJvmIsOneWarningAndNotAttached() {
    channel.accept("# error java.lang.NoSuchFieldError: clientHelloRandom");
    source.drain(s -> { });
    assertEquals(List.of("warning: --java: pid 4242 (java) not attached: the agent failed in the JVM:"
        + " java.lang.NoSuchFieldError: clientHelloRandom; its TLS sessions are not keyed"), messages);
    assertEquals(0, source.jvmsAttached.get());
    assertEquals(1, source.jvmsNotAttached.get());
  }
}
