// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.KeyLogs;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * End to end with OpenSSL 1.1.1 (Debian 11's 1.1.1w, unpacked by build/openssl11 into
 * TLSCAP_OPENSSL11), as an old distribution's container has it: its {@code openssl} client runs in a
 * root of its own whose /usr/lib holds libcrypto.so.1.1, started after tlscap, traced with no flag.
 * The server is OpenSSL 3's {@code s_server}, whose secrets tlscap does not take ({@code --comm});
 * tlscap's key log lines must be the client's own ({@code -keylogfile}).
 */
@Tag("e2e")
class OpenSsl11IT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("openssl", "openssl");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"-tls1_3", "-tls1_2"})
  void anOpenSsl11ClientInARootOfItsOwn(String version) throws Exception {
    String unpacked = System.getenv("TLSCAP_OPENSSL11");
    Assumptions.assumeTrue(unpacked != null && !unpacked.isEmpty(),
        "TLSCAP_OPENSSL11 is not set (build/test sets it with build/openssl11)");
    Path from = Path.of(unpacked);
    String libraries = from.resolve("usr/lib/x86_64-linux-gnu").toString();
    // its own libssl and libcrypto in the root's /usr/lib (where its ld.so finds them), the host's libc
    Path root = ProgramRoot.build(dir.resolve("root"), from.resolve("usr/bin/openssl"), "/usr/bin/openssl11",
        Map.of("LD_LIBRARY_PATH", libraries), library -> !library.contains("libssl") && !library.contains("libcrypto"));
    for (String library : List.of("libcrypto.so.1.1", "libssl.so.1.1")) {
      ProgramRoot.copyInto(root, from.resolve("usr/lib/x86_64-linux-gnu").resolve(library),
          "/usr/lib/x86_64-linux-gnu/" + library);
    }
    Files.createDirectories(root.resolve("keys"));
    try (OpenSslServer server = OpenSslServer.start(dir)) {
      Path out = dir.resolve("openssl11.pcapng");
      Path tlscapKeys = dir.resolve("tlscap.keys");
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--keylog-file",
          tlscapKeys.toString(), "--comm", "openssl11", "port", Integer.toString(server.port()))) {
        Command.Result client = Command.sh(Duration.ofSeconds(30), "(printf 'GET /openssl11 HTTP/1.0\\r\\n\\r\\n';"
            + " sleep 1) | chroot " + root + " /usr/bin/openssl11 s_client -quiet -connect 127.0.0.1:" + server.port()
            + " " + version + " -keylogfile /keys/client.keys");
        assertTrue(client.stdout().contains("HTTP/1.0 200"), client.stdout() + client.stderr());
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("libcrypto.so.1.1 (pid ") && tlscap.stderr().contains("(OpenSSL 1.1.1"),
            tlscap.stderr());
        assertTrue(tlscap.stderr().contains("1 TLS sessions, 1 with secrets"), tlscap.stderr());
      }
      assertEquals(new TreeSet<>(KeyLogs.read(root.resolve("keys/client.keys"))), new TreeSet<>(KeyLogs.read(tlscapKeys)),
          "tlscap's key log lines are the client's own");
      assertEquals(List.of("/openssl11"), Tshark.column(out, "http.request", "http.request.uri"));
    }
  }
}
