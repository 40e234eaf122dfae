// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static dev.tlscap.pcapng.TestPackets.T0;
import static dev.tlscap.pcapng.TestPackets.udp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code -w} at what is not a plain new file, as tcpdump: a FIFO's reader gets the capture, a
 * character device is written into and stays, a symbolic link is followed and stays; nothing but a
 * regular file is ever unlinked.
 */
class OutputFileTest {
  @TempDir Path dir;

  /** Writes a small capture (one interface, three packets) to {@code path} and closes it. */
  private static void capture(Path path) throws Exception {
    PcapngWriter w = PcapngWriter.builder().open(path);
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    for (int i = 0; i < 3; i++) {
      assertTrue(w.writePacket(id, T0 + i, udp(64, 1000, i), 0, 64, 64, Direction.INBOUND));
    }
    w.close();
    assertTrue(w.failure().isEmpty(), () -> w.failure().get().getMessage());
  }

  @Test
  void aFifosReaderGetsTheWholeCaptureAndTheFifoStays() throws Exception {
    Requirements.requireCommand("tshark", "tshark");
    Path fifo = dir.resolve("live");
    Command.run(Duration.ofSeconds(10), "mkfifo", fifo.toString()).check();
    Path copy = dir.resolve("copy.pcapng");
    // The reader, as 'wireshark -k -i live' would be: it gets everything the writer wrote, then EOF.
    Command.Background reader = Command.Background.start(dir, java.util.Map.of(), "sh", "-c",
        "cat live > copy.pcapng");
    try {
      capture(fifo);
      assertTrue(reader.process().waitFor(30, java.util.concurrent.TimeUnit.SECONDS),
          "the reader ends when the writer closes (it never does if the FIFO was replaced)");
      assertEquals(0, reader.process().exitValue());
    } finally {
      reader.close();
    }
    assertEquals(OutputFileKind.FIFO, OutputFileKind.of(fifo), "the FIFO is still there");
    assertEquals(List.of("SHB", "IDB", "EPB", "EPB", "EPB", "ISB"),
        PcapngReader.readAll(copy).stream().map(PcapngBlock::typeName).toList());
    assertEquals(3, Tshark.packetCount(copy));
  }

  @Test
  void aCharacterDeviceIsWrittenIntoAndStays() throws Exception {
    Path device = Path.of("/dev/null");
    if (Requirements.isRoot()) {
      // As root the old writer unlinked the node: use a private copy of /dev/null, never the real one.
      device = dir.resolve("null");
      Command.run(Duration.ofSeconds(10), "mknod", "-m", "666", device.toString(), "c", "1", "3").check();
    }
    capture(device);
    assertEquals(OutputFileKind.CHARACTER_DEVICE, OutputFileKind.of(device), device + " is still the device");
    assertEquals("rw-rw-rw-", TestPackets.mode(device), "its mode is left alone");
  }

  @Test
  void aSymbolicLinkIsFollowedNeverReplaced() throws Exception {
    Path target = dir.resolve("target.pcapng");
    Files.writeString(target, "an older, longer file that the capture truncates ".repeat(100));
    Files.setPosixFilePermissions(target, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    Path link = Files.createSymbolicLink(dir.resolve("link.pcapng"), target.getFileName());
    capture(link);
    assertEquals(OutputFileKind.SYMBOLIC_LINK, OutputFileKind.of(link), "the link is still a link");
    assertEquals(target.getFileName(), Files.readSymbolicLink(link));
    assertEquals(List.of("SHB", "IDB", "EPB", "EPB", "EPB", "ISB"),
        PcapngReader.readAll(target).stream().map(PcapngBlock::typeName).toList(), "written through, truncated first");
    assertEquals("rw-------", TestPackets.mode(target), "it holds secrets now");

    Path dangling = Files.createSymbolicLink(dir.resolve("dangling.pcapng"), Path.of("new.pcapng"));
    capture(dangling);
    assertEquals(OutputFileKind.SYMBOLIC_LINK, OutputFileKind.of(dangling));
    assertEquals("rw-------", TestPackets.mode(dir.resolve("new.pcapng")));
    assertEquals(3, PcapngReader.readAll(dir.resolve("new.pcapng")).stream()
        .filter(b -> b.typeName().equals("EPB")).count());
  }

  @Test
  void rotationAndCompressionRefuseAFifoAndAnyNonRegularFile() throws Exception {
    Path fifo = dir.resolve("live");
    Command.run(Duration.ofSeconds(10), "mkfifo", fifo.toString()).check();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PcapngWriter.builder().compression(Compression.GZIP).open(fifo));
    assertEquals("rotation (-C/-G/-W) and compression need a regular file; " + fifo + " is a FIFO", e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> PcapngWriter.builder().rotation(RotationPolicy.fromFlags("1", null, null)).open(fifo));

    // A numbered file that is a symbolic link: rotation never writes through it nor replaces it.
    Path target = Files.writeString(dir.resolve("elsewhere"), "kept");
    Path link = Files.createSymbolicLink(dir.resolve("r-00001.pcapng"), target);
    PcapngWriteException refused = assertThrows(PcapngWriteException.class,
        () -> PcapngWriter.builder().rotation(RotationPolicy.fromFlags("1", null, null)).open(dir.resolve("r.pcapng")));
    assertTrue(refused.getMessage().startsWith("cannot create " + link + ": it is a symbolic link; rotation"),
        refused.getMessage());
    assertEquals(OutputFileKind.SYMBOLIC_LINK, OutputFileKind.of(link));
    assertEquals("kept", Files.readString(target));
    assertEquals(OutputFileKind.FIFO, OutputFileKind.of(fifo));
  }
}
