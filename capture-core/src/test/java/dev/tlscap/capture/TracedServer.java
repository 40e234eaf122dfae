// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Tshark;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A TLS server of the library under test, the only process tlscap takes secrets from, against curl. */
final class TracedServer {
  private TracedServer() {}

  /**
   * curl asks the server on {@code port} for /from-curl over TLS {@code version} ("1.3", "1.2")
   * while tlscap captures with secrets from {@code comm} only: one session keyed, its request
   * decrypted by tshark with no key file.
   */
  static void answersCurl(Path dir, int port, String comm, String version) throws Exception {
    Path out = dir.resolve(comm + ".pcapng");
    try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--comm", comm,
        "port", Integer.toString(port))) {
      Command.run(Duration.ofSeconds(30), "curl", "-sSk", "-o", "/dev/null", "--tlsv" + version, "--tls-max", version,
          "https://127.0.0.1:" + port + "/from-curl").check();
      assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      assertTrue(tlscap.stderr().contains("1 TLS sessions, 1 with secrets"), tlscap.stderr());
    }
    assertEquals(List.of("/from-curl"), Tshark.column(out, "http.request", "http.request.uri"));
  }
}
