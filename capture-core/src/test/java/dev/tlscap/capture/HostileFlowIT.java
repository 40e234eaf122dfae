// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.pcapng.EnhancedPacketBlock;
import dev.tlscap.pcapng.InterfaceStatisticsBlock;
import dev.tlscap.pcapng.PcapngBlock;
import dev.tlscap.pcapng.PcapngReader;
import dev.tlscap.testing.Command;
import dev.tlscap.testing.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile-flow soak: thousands of connections from one remote host that each send a SYN, the
 * start of a ClientHello and segments far ahead of it, at the rate a packet socket on lo allows.
 * Every one begins like TLS, so tlscap holds its packets and its parser keeps the out-of-order bytes:
 * some 80 MB in all, unless it is counted against {@code --hold-memory} with the held packets. With the bound,
 * tlscap stays up, counts the releases, and its counts add up: every packet the kernel handed over is
 * in the file or counted as dropped.
 */
@Tag("e2e")
class HostileFlowIT {
  @TempDir Path dir;

  @BeforeAll
  static void machine() {
    Requirements.requireRoot();
    Requirements.requireCommand("python3", "python3");
  }

  @Test
  void aFloodOfHalfOpenTlsLookalikesIsBoundedAndCounted() throws Exception {
    Path script = dir.resolve("hostile.py");
    try (var in = HostileFlowIT.class.getResourceAsStream("hostile_flows.py")) {
      Files.copy(in, script);
    }
    Path out = dir.resolve("hostile.pcapng");
    int port = 40000 + (int) (ProcessHandle.current().pid() % 20000);
    long sent;
    long peakKib;
    try (TlscapProcess tlscap = TlscapProcess.start(dir, Map.of("JAVA_TOOL_OPTIONS", "-Xmx160m"), "-i", "lo",
        "-w", out.toString(), "--hold-memory", "16", "tcp", "port", Integer.toString(port))) {
      Command.Result r = Command.run(Duration.ofMinutes(5), "python3", script.toString(), Integer.toString(port), "4000",
          "16", "1200").check(); // 16 segments ahead of a gap: as many as a TLS parser keeps of one direction
      sent = Long.parseLong(r.stdout().trim());
      Thread.sleep(500);
      assertTrue(tlscap.isAlive(), "tlscap survived the flood: " + tlscap.stderr());
      peakKib = peakRssKib(tlscap.pid());
      assertEquals(0, tlscap.interrupt(), tlscap.stderr());
      String summary = tlscap.stderr();
      assertTrue(summary.contains("released early by the hold-back memory bound"), summary);
      assertTrue(!summary.contains("OutOfMemoryError"), summary);
    }
    List<PcapngBlock> blocks = PcapngReader.readAll(out);
    long packets = blocks.stream().filter(b -> b instanceof EnhancedPacketBlock).count();
    InterfaceStatisticsBlock isb = (InterfaceStatisticsBlock) blocks.stream()
        .filter(b -> b instanceof InterfaceStatisticsBlock).reduce((a, b) -> b).orElseThrow();
    long received = isb.received().orElseThrow();
    long dropped = isb.droppedByInterface().orElse(0);
    assertEquals(received, packets + dropped, "received = written + dropped");
    assertEquals(packets, isb.deliveredToUser().orElseThrow());
    assertEquals(sent, received, "every frame sent reached the classifier once");
    // heap 160 MiB, the 32 MiB packet ring mapped twice, the JVM itself
    assertTrue(peakKib < 400 * 1024, "tlscap's peak RSS " + peakKib / 1024 + " MiB");
  }

  /** VmHWM of a process (the JVM's: its children do not matter here). */
  private static long peakRssKib(long pid) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new AssertionError("no VmHWM for " + pid);
  }
}
