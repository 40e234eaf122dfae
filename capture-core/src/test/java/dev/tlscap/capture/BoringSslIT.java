// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.KeyLogs;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End to end with BoringSSL (Debian's android-libboringssl, its {@code bssl-tool}), traced with no
 * flag and no offset: its client against {@code openssl s_server}, its server against curl, TLS 1.3
 * and 1.2. Secrets come from {@code bssl-tool} only ({@code --comm}); the client's own key log
 * (BoringSSL's key-log callback, SSLKEYLOGFILE) must hold exactly the lines tlscap wrote.
 */
@Tag("e2e")
class BoringSslIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("bssl-tool", "android-boringssl");
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("openssl", "openssl");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"tls1.3", "tls1.2"})
  void aBoringSslClientsKeysAreItsOwnKeyLog(String version) throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      Path out = dir.resolve("bssl-client.pcapng");
      Path tlscapKeys = dir.resolve("tlscap.keys");
      Path clientKeys = dir.resolve("client.keys");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--keylog-file",
          tlscapKeys.toString(), "--comm", "bssl-tool", "port", Integer.toString(server.port()))) {
        assertTrue(tlscap.stderr().contains("(BoringSSL)"), "the shared BoringSSL was found: " + tlscap.stderr());
        for (int i = 0; i < 2; i++) {
          Command.Result client = Command.run(Duration.ofSeconds(30), dir, Map.of("SSLKEYLOGFILE", clientKeys.toString()),
              "sh", "-c", "(printf 'GET /bssl-" + i + " HTTP/1.0\\r\\n\\r\\n'; sleep 1) | bssl-tool client -connect"
                  + " 127.0.0.1:" + server.port() + " -max-version " + version + " -min-version " + version);
          assertTrue(client.stdout().contains("HTTP/1.0 200"), client.stdout() + client.stderr());
        }
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("2 TLS sessions, 2 with secrets"), tlscap.stderr());
      }
      assertEquals(new TreeSet<>(KeyLogs.read(clientKeys)), new TreeSet<>(KeyLogs.read(tlscapKeys)),
          "tlscap's key log lines are the client's own");
      assertEquals(List.of("/bssl-0", "/bssl-1"), Tshark.column(out, "http.request", "http.request.uri"),
          "decrypted with no key file");
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"1.3", "1.2"})
  void aBoringSslServerAgainstCurl(String version) throws Exception {
    int port = OpenSslServer.freePort();
    try (Command.Background server = Command.Background.start("bssl-tool", "server", "-accept",
        Integer.toString(port), "-www", "-loop")) {
      // bssl-tool server -loop takes the next connection after the probe
      OpenSslServer.awaitListening(port, "bssl-tool server");
      Path out = dir.resolve("bssl-server.pcapng");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--comm", "bssl-tool",
          "port", Integer.toString(port))) {
        Command.run(Duration.ofSeconds(30), "curl", "-sSk", "--tlsv" + version, "--tls-max", version,
            "https://127.0.0.1:" + port + "/from-curl").check();
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("1 TLS sessions, 1 with secrets"), tlscap.stderr());
      }
      assertEquals(List.of("/from-curl"), Tshark.column(out, "http.request", "http.request.uri"));
    }
  }
}
