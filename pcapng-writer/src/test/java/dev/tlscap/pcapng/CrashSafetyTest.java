// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A capture process killed with SIGKILL or stopped with SIGTERM leaves readable files. */
class CrashSafetyTest {
  @TempDir Path dir;

  @BeforeEach
  void needsTshark() {
    Requirements.requireCommand("tshark", "tshark");
  }

  private Command.Background startChild(String mode) {
    String java = ProcessHandle.current().info().command().orElse("java");
    Command.Background child = Command.Background.start(java, "-cp", System.getProperty("java.class.path"),
        CrashChild.class.getName(), dir.toString(), mode);
    child.awaitOutput("ROTATED", Duration.ofSeconds(60));
    return child;
  }

  /** Blocks the reader reads before the end or before a cut-off block; the cut-off error if any. */
  private static List<PcapngBlock> readUpToLastWholeBlock(Path file, List<PcapngFormatException> error) throws Exception {
    List<PcapngBlock> blocks = new ArrayList<>();
    try (PcapngReader r = PcapngReader.open(file)) {
      for (PcapngBlock b = r.next(); b != null; b = r.next()) {
        blocks.add(b);
      }
    } catch (PcapngFormatException e) {
      assertTrue(e.isTruncated(), "only a cut-off last block is acceptable: " + e.getMessage());
      error.add(e);
    }
    return blocks;
  }

  @Test
  void afterKill9CompletedFilesAreIntactAndTheCurrentOneReadsUpToItsLastWholeBlock() throws Exception {
    try (Command.Background child = startChild("kill")) {
      Thread.sleep(300);
      child.process().destroyForcibly(); // SIGKILL
      assertTrue(child.process().waitFor(10, TimeUnit.SECONDS));
    }
    List<Path> files = TestPackets.files(dir);
    assertTrue(files.size() >= 3, files.toString());
    for (Path completed : files.subList(Math.max(0, files.size() - 6), files.size() - 1)) {
      assertTrue(RotationTest.checkCompleteFile(completed, 1) > 0, completed.toString());
    }
    Path current = files.get(files.size() - 1);
    List<PcapngFormatException> error = new ArrayList<>();
    List<PcapngBlock> blocks = readUpToLastWholeBlock(current, error);
    assertEquals(List.of("SHB", "IDB"), blocks.subList(0, 2).stream().map(PcapngBlock::typeName).toList());
    long epbs = blocks.stream().filter(b -> b instanceof EnhancedPacketBlock).count();
    // tshark reads the same packets (exit 2 and "cut short" only if the kill hit the middle of a write).
    Command.Result r = Tshark.run(current, "-T", "fields", "-e", "frame.number");
    assertTrue(r.exitCode() == 0 || (r.exitCode() == 2 && r.stderr().contains("cut short")), r.stderr());
    assertEquals(epbs, r.stdout().lines().count());
    assertEquals(error.isEmpty(), r.exitCode() == 0, "reader and tshark agree on whether the file is cut");
  }

  @Test
  void sigtermEndsTheCurrentFileWithItsStatistics() throws Exception {
    try (Command.Background child = startChild("term")) {
      Thread.sleep(300);
      int exit = child.signalAndWait(15, Duration.ofSeconds(30));
      assertEquals(143, exit, child.stderr());
    }
    List<Path> files = TestPackets.files(dir);
    assertTrue(files.size() >= 3, files.toString());
    for (Path f : files.subList(Math.max(0, files.size() - 6), files.size())) {
      assertTrue(RotationTest.checkCompleteFile(f, 1) > 0, f.toString());
    }
  }

  @Test
  void aFileCutAtAnyByteReadsUpToItsLastWholeBlockInTshark() throws Exception {
    Path file = dir.resolve("whole.pcapng");
    PcapngWriter w = PcapngWriter.builder().open(file);
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    for (int i = 0; i < 4; i++) {
      w.writePacket(id, TestPackets.T0 + i, TestPackets.udp(100, 1, i), 0, 100, 100, Direction.INBOUND);
    }
    w.close();
    byte[] bytes = java.nio.file.Files.readAllBytes(file);
    // Cut in the middle of the third EPB: the reader and tshark both keep the first two packets.
    List<PcapngBlock> blocks = PcapngReader.readAll(file);
    int third = (int) blocks.get(4).offset();
    Path cut = dir.resolve("cut.pcapng");
    java.nio.file.Files.write(cut, java.util.Arrays.copyOf(bytes, third + 50));
    List<PcapngFormatException> error = new ArrayList<>();
    assertEquals(4, readUpToLastWholeBlock(cut, error).size());
    assertEquals(third, error.get(0).offset());
    Command.Result r = Tshark.run(cut, "-T", "fields", "-e", "ip.id");
    assertEquals(List.of("0x0000", "0x0001"), r.stdout().lines().toList());
    assertEquals(2, r.exitCode(), r.stderr());
  }
}
