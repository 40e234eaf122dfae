// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.CCompiler;
import dev.tlscap.testing.Command;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end over IPv6: curl -6 against openssl s_server on [::1], once plain and once with a
 * hop-by-hop and a destination options header in front of TCP in every packet curl sends (an
 * LD_PRELOAD shim sets the sticky socket options); tlscap follows both flows through the extension
 * headers and tshark decrypts both requests with no key file.
 */
@Tag("e2e")
class Ipv6ExtensionHeadersIT {
  @TempDir Path dir;

  @Test
  void tlsOverIpv6WithAndWithoutExtensionHeadersDecrypts() throws Exception {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("curl", "curl");
    Requirements.requireCommand("openssl", "openssl");
    Path shim = CCompiler.compile(CCompiler.testSource("ipv6_options.c"), dir.resolve("libipv6_options.so"),
        "-shared", "-fPIC", "-ldl");
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      Path out = dir.resolve("v6.pcapng");
      String url = "https://[::1]:" + server.port() + "/";
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "host", "::1")) {
        String plain = curl(Map.of(), "--tlsv1.3", url + "plain-v6").stdout();
        Command.Result withHeaders = curl(Map.of("LD_PRELOAD", shim.toString()), "--tlsv1.2", "--tls-max", "1.2",
            url + "extension-headers-v6");
        assertTrue(plain.contains("s_server") && withHeaders.stdout().contains("s_server"), plain);
        assertTrue(withHeaders.stderr().isEmpty(), "the shim set its options: " + withHeaders.stderr());
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("2 TLS sessions, 2 with secrets"), tlscap.stderr());
      }
      int port = server.port();
      assertTrue(Tshark.packetCount(out, "ipv6.hopopts && ipv6.dstopts && tcp.dstport == " + port) > 3,
          "curl's packets carry both extension headers");
      assertTrue(Tshark.packetCount(out, "ipv6.hopopts && tls.handshake.type == 1") == 1,
          "the ClientHello behind them");
      assertEquals(List.of("/plain-v6", "/extension-headers-v6"), Tshark.column(out, "http.request", "http.request.uri"),
          "both requests decrypted without a key file");
    }
  }

  private static Command.Result curl(Map<String, String> env, String... args) {
    List<String> argv = new java.util.ArrayList<>(List.of("curl", "-6", "-sS", "-k", "--max-time", "20"));
    argv.addAll(List.of(args));
    return Command.run(Duration.ofSeconds(60), null, env, argv.toArray(new String[0])).check();
  }
}
