// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A full disk (a 200 KiB tmpfs, needs root): one clear error, completed files intact, the current one readable. */
class DiskFullTest {
  @TempDir Path dir;
  Path mount;

  @BeforeEach
  void mountTinyTmpfs() throws Exception {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    mount = Files.createDirectory(dir.resolve("tiny"));
    Command.run(Duration.ofSeconds(10), "mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", mount.toString()).check();
  }

  @AfterEach
  void unmount() {
    if (mount != null) {
      Command.run(Duration.ofSeconds(10), "umount", mount.toString()).check();
    }
  }

  private static int writeUntilStopped(PcapngWriter w, int id) {
    int written = 0;
    for (int i = 0; i < 100_000; i++) {
      if (!w.writePacket(id, TestPackets.T0 + i, TestPackets.udp(1400, 1, i), 0, 1400, 1400, Direction.INBOUND)) {
        return written;
      }
      written++;
    }
    throw new AssertionError("the disk never filled up");
  }

  @Test
  void oneClearErrorAndTheFileEndsOnItsLastWholeBlock() throws Exception {
    RecordingListener events = new RecordingListener();
    Path file = mount.resolve("out.pcapng");
    PcapngWriter w = PcapngWriter.builder().listener(events).open(file);
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    int written = writeUntilStopped(w, id);
    w.close();
    assertEquals(List.of("cannot write " + file
        + ": No space left on device (free some space, or bound the capture with -C and -W)"), events.failures);
    List<PcapngBlock> blocks = PcapngReader.readAll(file); // no exception: whole blocks only
    long epbs = blocks.stream().filter(b -> b instanceof EnhancedPacketBlock).count();
    assertTrue(epbs > 100 && epbs <= written, epbs + " of " + written);
    assertEquals(epbs, Tshark.packetCount(file));
    assertTrue(w.packetsDiscarded() > 0, "the write buffer held packets when the disk filled up");
    assertEquals(written, epbs + w.packetsDiscarded(), "every accepted packet is in the file or counted as discarded");
  }

  @Test
  void withRotationTheCompletedFilesStayIntact() throws Exception {
    RecordingListener events = new RecordingListener();
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags("40k", null, null))
        .bufferSize(64 << 10).listener(events).open(mount.resolve("r.pcapng"));
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    int written = writeUntilStopped(w, id);
    assertFalse(w.isOpen());
    w.close();
    assertEquals(1, events.failures.size());
    assertTrue(events.failures.get(0).contains("No space left on device"), events.failures.get(0));
    List<Path> files = TestPackets.files(mount);
    assertTrue(files.size() >= 3, files.toString());
    assertEquals(files.subList(0, files.size() - 1), events.completed);
    for (Path f : events.completed) {
      assertTrue(RotationTest.checkCompleteFile(f, 1) > 0);
    }
    Path last = files.get(files.size() - 1);
    long epbs = PcapngReader.readAll(last).stream().filter(b -> b instanceof EnhancedPacketBlock).count();
    assertEquals(epbs, Tshark.packetCount(last));
    long inFiles = 0;
    for (Path f : files) {
      inFiles += PcapngReader.readAll(f).stream().filter(b -> b instanceof EnhancedPacketBlock).count();
    }
    assertEquals(written, inFiles + w.packetsDiscarded(), "every accepted packet is in a file or counted as discarded");
  }

  @Test
  void whenNotEvenTheHeaderFitsNoFileIsLeft() throws Exception {
    try (java.io.OutputStream filler = Files.newOutputStream(mount.resolve("filler"))) {
      byte[] page = new byte[4096];
      while (true) {
        filler.write(page);
        filler.flush();
      }
    } catch (java.io.IOException full) {
      // the tmpfs is full
    }
    Path file = mount.resolve("d.pcapng");
    PcapngWriteException e = org.junit.jupiter.api.Assertions.assertThrows(PcapngWriteException.class,
        () -> PcapngWriter.builder().open(file));
    assertEquals("cannot write " + file + ": No space left on device (free some space, or bound the capture with -C and -W)",
        e.getMessage());
    assertFalse(Files.exists(file), "an empty file is no pcapng file: none is left");
  }
}
