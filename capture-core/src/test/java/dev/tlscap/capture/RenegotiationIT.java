// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.pcapng.DecryptionSecretsBlock;
import dev.tlscap.pcapng.EnhancedPacketBlock;
import dev.tlscap.pcapng.PcapngBlock;
import dev.tlscap.pcapng.PcapngReader;
import dev.tlscap.testing.Command;
import dev.tlscap.testing.OpenSslServer;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: a TLS 1.2 connection that renegotiates (RFC 5746; {@code openssl s_client}'s "R"
 * command, allowed by {@code s_server -client_renegotiation}) before it sends its request. The new
 * handshake's hellos are encrypted under the first keys; its CLIENT_RANDOM line must be in the
 * file before the records under the new keys, or the request does not decrypt. Secrets come from
 * the server only ({@code --pid}).
 */
@Tag("e2e")
class RenegotiationIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("openssl", "openssl");
  }

  @Test
  void theRequestAfterARenegotiationDecrypts() throws Exception {
    Path out = dir.resolve("renegotiation.pcapng");
    try (OpenSslServer server = OpenSslServer.start(dir, "-tls1_2", "-client_renegotiation")) {
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "--pid",
          Long.toString(server.pid()), "port", Integer.toString(server.port()))) {
        // "R" alone on a line makes s_client renegotiate; the request goes after the new handshake.
        Command.Result client = Command.sh(Duration.ofSeconds(30), "(sleep 0.5; echo R; sleep 1;"
            + " printf 'GET /after-renegotiation HTTP/1.0\\r\\n\\r\\n'; sleep 1) | openssl s_client -tls1_2"
            + " -connect 127.0.0.1:" + server.port());
        assertTrue(client.stderr().contains("RENEGOTIATING") && client.stdout().contains("HTTP/1.0 200 ok"),
            "the client renegotiated and got its answer: " + client.stdout() + client.stderr());
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertTrue(tlscap.stderr().contains("1 TLS sessions, 1 with secrets (1 TLS 1.2 renegotiations)"),
            tlscap.stderr());
      }
      List<String> serverLines = server.keyLogLines();
      assertEquals(2, serverLines.size(), "the server derived two master secrets: " + serverLines);
      assertEquals(serverLines, dsbLinesBeforeTheirRecords(out), "both CLIENT_RANDOM lines in the file's DSBs");
    }
    // The TLS stream as tshark decrypts it with no key file (not its HTTP view: s_client sometimes
    // sends the request's last CRLF apart, and the HTTP dissector then waits for it).
    String decrypted = Tshark.run(out, "-qz", "follow,tls,ascii,0").check().stdout();
    assertTrue(decrypted.contains("GET /after-renegotiation HTTP/1.0"),
        "the request under the renegotiated keys, decrypted: " + decrypted);
    assertTrue(decrypted.contains("HTTP/1.0 200 ok"), "the answer too: " + decrypted);
  }

  /** The DSBs' lines in file order; the second comes before the last packet (the new keys' records follow it). */
  private static List<String> dsbLinesBeforeTheirRecords(Path file) throws Exception {
    List<String> lines = new ArrayList<>();
    int packetsAfterLastDsb = 0;
    for (PcapngBlock b : PcapngReader.readAll(file)) {
      if (b instanceof DecryptionSecretsBlock d) {
        lines.addAll(d.keyLog().lines().toList());
        packetsAfterLastDsb = 0;
      } else if (b instanceof EnhancedPacketBlock) {
        packetsAfterLastDsb++;
      }
    }
    assertTrue(packetsAfterLastDsb >= 4, "the renegotiated records come after the last DSB: " + packetsAfterLastDsb);
    return lines;
  }
}
