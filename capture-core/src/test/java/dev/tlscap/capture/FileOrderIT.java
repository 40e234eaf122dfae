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
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The order of packets in tlscap's files, and the tools users sort and merge them with. A TLS
 * session's packets wait for its secrets and follow their DSB, so when other traffic flows meanwhile
 * the file's timestamps step back; {@code reordercap} (which keeps the DSBs at the front) and
 * {@code mergecap} (which keeps each DSB before its input's next packet) must give files that still
 * decrypt with no key file.
 */
@Tag("e2e")
class FileOrderIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Requirements.requireCommand("reordercap", "tshark");
    Requirements.requireCommand("mergecap", "tshark");
    Requirements.requireCommand("python3", "python3");
  }

  @Test
  void reordercapAndMergecapKeepEveryRequestDecryptable() throws Exception {
    try (OpenSslServer server = OpenSslServer.start(dir);
        // plain UDP beside the TLS sessions: its packets are written while theirs wait for secrets
        Command.Background udp = Command.Background.start("python3", "-c",
            "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nend=time.time()+30\n"
                + "while time.time()<end:\n s.sendto(b'x'*32,('127.0.0.1'," + server.port() + "))\n time.sleep(0.0005)")) {
      Path out = dir.resolve("order.pcapng");
      List<String> sent = new ArrayList<>();
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", out.toString(), "-G", "1",
          "port", Integer.toString(server.port()))) {
        long end = System.nanoTime() + Duration.ofMillis(3500).toNanos();
        for (int i = 0; System.nanoTime() < end; i++) {
          Command.run(Duration.ofSeconds(20), "curl", "-sS", "-k", "--max-time", "10", server.url() + "order-" + i)
              .check();
          sent.add("/order-" + i);
          Thread.sleep(100);
        }
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      }
      List<Path> files;
      try (Stream<Path> s = Files.list(dir)) {
        files = s.filter(p -> p.getFileName().toString().startsWith("order-")).sorted().collect(Collectors.toList());
      }
      assertTrue(files.size() >= 3, files.toString());
      int backwards = 0;
      for (Path file : files) {
        backwards += stepsBack(file);
      }
      assertTrue(backwards > 0, "held TLS packets written after later UDP packets: timestamps step back");

      // mergecap: one file from all of them, every request decrypted
      Path merged = dir.resolve("merged.pcapng");
      List<String> argv = new ArrayList<>(List.of("mergecap", "-w", merged.toString()));
      files.forEach(f -> argv.add(f.toString()));
      Command.run(Duration.ofSeconds(60), argv.toArray(new String[0])).check();
      List<String> uris = Tshark.column(merged, "http.request", "http.request.uri");
      assertTrue(uris.containsAll(sent), "mergecap: " + uris.size() + " of " + sent.size() + " requests: " + uris);

      // reordercap: each file sorted by time, still decrypts what it decrypted before
      for (Path file : files) {
        Path sorted = dir.resolve("sorted-" + file.getFileName());
        Command.run(Duration.ofSeconds(60), "reordercap", file.toString(), sorted.toString()).check();
        assertEquals(0, stepsBack(sorted), "reordercap sorted " + file);
        assertEquals(new TreeSet<>(Tshark.column(file, "http.request", "http.request.uri")),
            new TreeSet<>(Tshark.column(sorted, "http.request", "http.request.uri")), "reordercap kept " + file
                + " decryptable");
        assertEquals(Tshark.packetCount(file), Tshark.packetCount(sorted));
      }
    }
  }

  /** How often a packet's timestamp is earlier than the one before it in the file. */
  private static int stepsBack(Path file) {
    int n = 0;
    double previous = 0;
    for (String t : Tshark.column(file, "frame", "frame.time_epoch")) {
      double now = Double.parseDouble(t);
      if (now < previous) {
        n++;
      }
      previous = now;
    }
    return n;
  }
}
