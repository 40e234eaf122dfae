// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.KeyLogs;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sample does what its comment says: curl's own SSLKEYLOGFILE lines all appear in its file. */
@Tag("kernel")
class KeyLoggerKernelTest {
  @TempDir Path dir;

  @Test
  void writesEveryLineCurlWritesItself() throws Exception {
    Requirements.requireRoot();
    Requirements.requireCommand("curl", "curl");
    Requirements.requireCommand("openssl", "openssl");
    Path file = dir.resolve("keys.txt");
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      KeyLogger logger = new KeyLogger(file, "curl");
      Thread drain = new Thread(() -> {
        try {
          logger.run();
        } catch (InterruptedException ignored) {
          // stopping
        }
      });
      drain.start();
      Path curlLog = dir.resolve("curl.keys");
      try {
        Command.run(Duration.ofSeconds(60), null, Map.of("SSLKEYLOGFILE", curlLog.toString()), "curl", "-sS", "-k",
            "-o", "/dev/null", "--tlsv1.3", server.url() + "a").check();
        Command.run(Duration.ofSeconds(60), null, Map.of("SSLKEYLOGFILE", curlLog.toString()), "curl", "-sS", "-k",
            "-o", "/dev/null", "--tlsv1.2", "--tls-max", "1.2", server.url() + "b").check();
      } finally {
        logger.close();
        drain.join(5000);
      }
      List<String> expected = KeyLogs.read(curlLog);
      List<String> written = KeyLogs.read(file);
      assertEquals(6, expected.size(), "curl wrote 5 TLS 1.3 lines and 1 CLIENT_RANDOM: " + expected);
      for (String line : expected) {
        assertTrue(written.contains(line), "missing from the sample's key log: " + line + "\nit has " + written);
      }
      assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    }
  }
}
