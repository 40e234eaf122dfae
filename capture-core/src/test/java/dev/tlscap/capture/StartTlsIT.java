// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End to end: a plain connection that turns to TLS after a few commands (SMTP STARTTLS, RFC 3207)
 * is followed from its ClientHello on; the commands sent inside TLS are read by tshark with no key
 * file. The client is {@code openssl s_client -starttls smtp}; the server a small Python SMTP server
 * (whose own secrets tlscap does not take: {@code --comm openssl}).
 */
@Tag("e2e")
class StartTlsIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("openssl", "openssl");
    Requirements.requireCommand("python3", "python3");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"-tls1_3", "-tls1_2"})
  void smtpStartTlsDecryptsTheCommandsAfterTheUpgrade(String version) throws Exception {
    OpenSslServer.certificate(dir);
    Path script = dir.resolve("smtp.py");
    try (var in = StartTlsIT.class.getResourceAsStream("starttls_smtp_server.py")) {
      Files.copy(in, script);
    }
    Path portFile = dir.resolve("port");
    try (Command.Background server = Command.Background.start("python3", script.toString(), portFile.toString(),
        dir.resolve("cert.pem").toString(), dir.resolve("key.pem").toString())) {
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (!Files.exists(portFile) && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      String port = Files.readString(portFile).trim();
      Path out = dir.resolve("smtp.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--comm", "openssl",
          "port", port)) {
        Command.Result client = Command.sh(Duration.ofSeconds(30), "printf 'NOOP\\nMAIL FROM:<tlscap@example.org>\\nQUIT\\n'"
            + " | openssl s_client -starttls smtp -crlf -quiet " + version + " -connect 127.0.0.1:" + port);
        assertTrue(client.stdout().contains("221"), "the session went through: " + client.stdout() + client.stderr());
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("1 TLS sessions, 1 with secrets (1 upgraded from plain"),
            tlscap.stderr());
      }
      List<String> commands = Tshark.run(out, "-d", "tcp.port==" + port + ",smtp", "-Y", "smtp.req.command", "-T",
          "fields", "-e", "smtp.req.command").check().stdout().lines().flatMap(l -> List.of(l.split(",")).stream())
          .toList();
      // tshark 4.0 shows STARTTLS as its first four letters
      assertTrue(commands.contains("EHLO") && commands.stream().anyMatch(c -> c.startsWith("STAR")),
          "the plain part: " + commands);
      assertTrue(commands.containsAll(List.of("NOOP", "MAIL", "QUIT")),
          "the commands inside TLS, decrypted with no key file: " + commands);
    }
  }
}
