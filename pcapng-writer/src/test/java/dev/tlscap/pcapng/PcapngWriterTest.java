// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static dev.tlscap.pcapng.TestPackets.T0;
import static dev.tlscap.pcapng.TestPackets.udp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Golden tests: files written by the writer, read back by the reader and by the real tshark. */
class PcapngWriterTest {
  @TempDir Path dir;

  @Test
  void aNewFilesHeaderIsOnDiskBeforeItsFirstPacket() throws Exception {
    TestPackets.FakeClock clock = new TestPackets.FakeClock();
    PcapngWriter w = PcapngWriter.builder().clock(clock).rotation(RotationPolicy.fromFlags(null, "1", null))
        .open(dir.resolve("h.pcapng"));
    Path first = w.currentFile();
    assertEquals(List.of("SHB"), TestPackets.blockNames(first), "a kill -9 now leaves a pcapng file, not an empty one");
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    assertTrue(w.writePacket(id, T0, udp(64, 1, 1), 0, 64, 64, Direction.INBOUND));
    clock.advanceSeconds(1);
    assertTrue(w.tick(clock.getAsLong()));
    Path second = w.currentFile();
    assertFalse(second.equals(first));
    assertEquals(List.of("SHB", "IDB"), TestPackets.blockNames(second));
    w.close();
  }

  @Test
  void writesEveryBlockAndOptionThatTsharkAndTheReaderSee() throws Exception {
    Requirements.requireCommand("tshark", "tshark");
    Path file = dir.resolve("golden.pcapng");
    TestPackets.FakeClock clock = new TestPackets.FakeClock();
    PcapngWriter w = PcapngWriter.builder().clock(clock).hardware("test hardware").os("Linux test")
        .statistics(id -> new InterfaceStatistics(100 + id, 1, 2, -1, id == 0 ? "12 packets released without TLS secrets" : null))
        .open(file);
    int eth0 = w.addInterface(InterfaceDescription.ethernet("eth0").withDescription("TC ingress+egress")
        .withFilter("tcp port 443").withOs("Linux 6.18"));
    ProcessAnnotation curl = ProcessAnnotation.forProcess(1234, "curl");
    ByteBuffer p = udp(64, 1000, 1);
    assertTrue(w.writePacket(eth0, T0 + 1_000, p, 0, 64, 64, Direction.OUTBOUND, curl, 1235, null));
    w.reportDrops(eth0, 7);
    assertTrue(w.writePacket(eth0, T0 + 2_000, udp(100, 1000, 2), 0, 100, 1500, Direction.INBOUND, curl, 1236, null));
    // An interface that appears later gets its IDB when added, before its packets.
    int lo = w.addInterface(new InterfaceDescription("lo", null, LinkType.ETHERNET, 96, null, null));
    assertEquals(1, lo);
    assertTrue(w.writePacket(lo, T0 + 3_000, udp(200, 2000, 3), 0, 200, 200, Direction.UNKNOWN));
    assertEquals(file, w.currentFile());
    assertTrue(w.currentFileSize() > 0);
    clock.advanceSeconds(1);
    w.close();
    assertFalse(w.isOpen());
    assertEquals("rw-------", TestPackets.mode(file));

    List<PcapngBlock> blocks = PcapngReader.readAll(file);
    assertEquals(List.of("SHB", "IDB", "EPB", "EPB", "IDB", "EPB", "ISB", "ISB"),
        blocks.stream().map(PcapngBlock::typeName).toList());
    SectionHeaderBlock shb = (SectionHeaderBlock) blocks.get(0);
    assertEquals(ByteOrder.nativeOrder(), shb.byteOrder());
    assertEquals("test hardware", shb.hardware().orElseThrow());
    assertEquals("Linux test", shb.os().orElseThrow());
    assertTrue(shb.userApplication().orElseThrow().startsWith("tlscap "), shb.userApplication().orElseThrow());
    InterfaceDescriptionBlock idb = (InterfaceDescriptionBlock) blocks.get(1);
    assertEquals("eth0", idb.name().orElseThrow());
    assertEquals("TC ingress+egress", idb.description().orElseThrow());
    assertEquals("tcp port 443", idb.filter().orElseThrow());
    assertEquals("Linux 6.18", idb.os().orElseThrow());
    assertEquals(9, idb.timestampResolution());
    assertEquals(LinkType.ETHERNET, idb.linkType());
    assertEquals(InterfaceDescription.DEFAULT_SNAP_LENGTH, idb.snapLength());

    EnhancedPacketBlock first = (EnhancedPacketBlock) blocks.get(2);
    assertEquals(T0 + 1_000, first.timestampNanos());
    assertEquals(64, first.capturedLength());
    assertEquals(p, ByteBuffer.wrap(first.data()));
    assertEquals(Direction.OUTBOUND, first.direction());
    assertEquals(List.of("PID: 1234\nCmd: curl"), first.comments());
    assertEquals(1234, first.processId().orElseThrow());
    assertEquals(1235, first.threadId().orElseThrow());
    assertTrue(first.dropCount().isEmpty());
    EnhancedPacketBlock second = (EnhancedPacketBlock) blocks.get(3);
    assertEquals(Direction.INBOUND, second.direction());
    assertEquals(7, second.dropCount().orElseThrow());
    assertEquals(1500, second.originalLength());
    assertEquals(1236, second.threadId().orElseThrow());
    EnhancedPacketBlock third = (EnhancedPacketBlock) blocks.get(5);
    assertEquals(1, third.interfaceId());
    assertEquals(96, third.capturedLength(), "cut to the interface's snap length");
    assertEquals(200, third.originalLength());
    assertTrue(third.options().all().isEmpty(), "no options for an unknown direction without process");

    InterfaceStatisticsBlock isb0 = (InterfaceStatisticsBlock) blocks.get(6);
    assertEquals(0, isb0.interfaceId());
    assertEquals(100, isb0.received().orElseThrow());
    assertEquals(1, isb0.droppedByInterface().orElseThrow());
    assertEquals(2, isb0.droppedByOs().orElseThrow());
    assertEquals(2, isb0.deliveredToUser().orElseThrow(), "the writer's own count when the source has none");
    assertEquals(T0, isb0.startTime().orElseThrow());
    assertEquals(T0 + 1_000_000_000L, isb0.endTime().orElseThrow());
    assertEquals(List.of("12 packets released without TLS secrets"), isb0.options().comments());
    InterfaceStatisticsBlock isb1 = (InterfaceStatisticsBlock) blocks.get(7);
    assertEquals(1, isb1.deliveredToUser().orElseThrow());
    assertTrue(isb1.options().comments().isEmpty());

    // The real tshark: packet count, interfaces, comments, direction, pid.
    List<List<String>> rows = Tshark.fields(file, null, "frame.interface_name", "frame.interface_description",
        "frame.packet_flags_direction", "frame.comment", "frame.len", "frame.cap_len", "frame.time_epoch",
        "frame.drop_count");
    assertEquals(3, rows.size(), rows.toString());
    assertEquals(List.of("eth0", "TC ingress+egress", "0x00000002", "PID: 1234\\nCmd: curl", "64", "64",
        "1714564800.000001000", ""), rows.get(0));
    assertEquals(List.of("eth0", "TC ingress+egress", "0x00000001", "PID: 1234\\nCmd: curl", "1500", "100",
        "1714564800.000002000", "7"), rows.get(1));
    assertEquals(List.of("lo", "", "", "", "200", "96", "1714564800.000003000", ""), rows.get(2));
    assertEquals(2, Tshark.packetCount(file, "frame.comment contains \"curl\""));
  }

  @Test
  void streamOutputIsACompleteLivePcapngThatTsharkReads() throws Exception {
    Requirements.requireCommand("tshark", "tshark");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PcapngWriter w = PcapngWriter.builder().open(out);
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    assertTrue(w.currentFile() == null);
    w.writePacket(id, T0, udp(80, 1, 1), 0, 80, 80, Direction.INBOUND);
    int before = out.size();
    assertTrue(w.flush());
    assertTrue(out.size() > before, "flush() pushes buffered packets to the stream");
    // A live reader sees a valid file even before close: SHB, IDB, EPB.
    Path partial = dir.resolve("partial.pcapng");
    Files.write(partial, out.toByteArray());
    assertEquals(List.of("SHB", "IDB", "EPB"), TestPackets.blockNames(partial));
    assertEquals(1, Tshark.packetCount(partial));
    w.writePacket(id, T0 + 1, udp(80, 1, 2), 0, 80, 80, Direction.OUTBOUND);
    w.close();
    Path whole = dir.resolve("whole.pcapng");
    Files.write(whole, out.toByteArray());
    assertEquals(List.of("SHB", "IDB", "EPB", "EPB", "ISB"), TestPackets.blockNames(whole));
    assertEquals(List.of("0x00000001", "0x00000002"), Tshark.column(whole, null, "frame.packet_flags_direction"));
    assertThrows(IllegalArgumentException.class,
        () -> PcapngWriter.builder().rotation(RotationPolicy.fromFlags("1", null, null)).open(new ByteArrayOutputStream()));
  }

  @Test
  void packetsLargerThanTheBufferAndEmptyPacketsAreWritten() throws Exception {
    Path file = dir.resolve("big.pcapng");
    PcapngWriter w = PcapngWriter.builder().bufferSize(64 << 10).open(file);
    int id = w.addInterface(InterfaceDescription.ethernet("eth0").withSnapLength(0));
    ByteBuffer big = ByteBuffer.allocateDirect(200_000);
    for (int i = 0; i < big.capacity(); i++) {
      big.put(i, (byte) i);
    }
    assertTrue(w.writePacket(id, T0, big.asReadOnlyBuffer(), 0, 200_000, 200_000, Direction.INBOUND));
    assertTrue(w.writePacket(id, T0, big, 5, 0, 60, Direction.INBOUND));
    assertTrue(w.writePacket(id, T0, big, 3, 61, 61, Direction.INBOUND));
    assertEquals(0, big.position(), "the source buffer's position is never touched");
    w.close();
    List<PcapngBlock> blocks = PcapngReader.readAll(file);
    EnhancedPacketBlock a = (EnhancedPacketBlock) blocks.get(2);
    assertEquals(200_000, a.capturedLength());
    assertEquals((byte) 199_999, a.data()[199_999]);
    assertEquals(0, ((EnhancedPacketBlock) blocks.get(3)).capturedLength());
    EnhancedPacketBlock c = (EnhancedPacketBlock) blocks.get(4);
    assertEquals(61, c.data().length);
    assertEquals((byte) 3, c.data()[0]);
  }

  @Test
  void refusesProgrammingErrorsClearly() throws Exception {
    PcapngWriter w = PcapngWriter.builder().open(dir.resolve("e.pcapng"));
    ByteBuffer p = udp(64, 1, 1);
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
        () -> w.writePacket(3, T0, p, 0, 64, 64, Direction.INBOUND));
    assertTrue(unknown.getMessage().contains("unknown interface id 3"), unknown.getMessage());
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    assertThrows(IllegalArgumentException.class, () -> w.writePacket(id, T0, p, 0, 64, 63, Direction.INBOUND));
    assertThrows(IndexOutOfBoundsException.class, () -> w.writePacket(id, T0, p, 10, 64, 64, Direction.INBOUND));
    PcapngWriter other = PcapngWriter.builder().open(dir.resolve("other.pcapng"));
    FlowSecrets foreign = other.newFlowSecrets();
    assertThrows(IllegalArgumentException.class,
        () -> w.writePacket(id, T0, p, 0, 64, 64, Direction.INBOUND, null, 0, foreign));
    FlowSecrets released = w.newFlowSecrets();
    released.release();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> w.writePacket(id, T0, p, 0, 64, 64, Direction.INBOUND, null, 0, released));
    assertTrue(e.getMessage().contains("released"), e.getMessage());
    w.close();
    other.close();
    assertFalse(w.writePacket(id, T0, p, 0, 64, 64, Direction.INBOUND), "a closed writer refuses packets");
  }

  @Test
  void everyLengthOfProcessCommentReadsBackWhole() throws Exception {
    Path file = dir.resolve("comments.pcapng");
    PcapngWriter w = PcapngWriter.builder().open(file);
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    List<String> comments = new ArrayList<>();
    for (int n = 1; n <= 17; n++) { // options of 8 to 24 bytes: whole 8-byte words and a 4-byte tail
      comments.add("x".repeat(n - 1) + (n % 5 == 0 ? "\u00e9" : "y")); // some end in a 2-byte character
    }
    for (int i = 0; i < comments.size(); i++) {
      assertTrue(w.writePacket(id, T0 + i, udp(64, 1000, i), 0, 64, 64, Direction.OUTBOUND,
          ProcessAnnotation.of(100 + i, comments.get(i)), 7, null));
    }
    w.close();
    List<EnhancedPacketBlock> packets = PcapngReader.readAll(file).stream()
        .filter(b -> b instanceof EnhancedPacketBlock).map(b -> (EnhancedPacketBlock) b).toList();
    assertEquals(comments.size(), packets.size());
    for (int i = 0; i < comments.size(); i++) {
      assertEquals(List.of(comments.get(i)), packets.get(i).comments());
      assertEquals(100 + i, packets.get(i).processId().orElseThrow(), "the option after the comment");
      assertEquals(7, packets.get(i).threadId().orElseThrow());
    }
  }

  @Test
  void everyPacketLengthReadsBackWholeFromDirectAndHeapBuffers() throws Exception {
    // RawMemory copies by address from a direct buffer (words, a byte tail, copyMemory past 256 bytes);
    // from a heap buffer, and into a block larger than the write buffer, the buffers' own methods do
    Path file = dir.resolve("lengths.pcapng");
    PcapngWriter w = PcapngWriter.builder().bufferSize(64 << 10).open(file);
    int id = w.addInterface(InterfaceDescription.ethernet("eth0").withSnapLength(0));
    ByteBuffer direct = ByteBuffer.allocateDirect(80_000);
    ByteBuffer heap = ByteBuffer.allocate(80_000);
    for (int i = 0; i < direct.capacity(); i++) {
      direct.put(i, (byte) (i * 7 + 1));
      heap.put(i, (byte) (i * 7 + 1));
    }
    List<int[]> written = new ArrayList<>(); // offset, length
    int[] lengths = {0, 1, 7, 8, 9, 63, 64, 65, 255, 256, 257, 300, 1500, 70_000};
    ProcessAnnotation process = ProcessAnnotation.forProcess(42, "curl");
    for (int length : lengths) {
      for (int offset = 0; offset < 8; offset += 3) {
        for (ByteBuffer source : new ByteBuffer[] {direct, heap}) {
          assertTrue(w.writePacket(id, T0, source, offset, length, length + 2, Direction.OUTBOUND,
              offset == 3 ? process : null, 9, null));
          written.add(new int[] {offset, length});
        }
      }
    }
    w.close();
    List<EnhancedPacketBlock> packets = PcapngReader.readAll(file).stream()
        .filter(b -> b instanceof EnhancedPacketBlock).map(b -> (EnhancedPacketBlock) b).toList();
    assertEquals(written.size(), packets.size());
    for (int i = 0; i < packets.size(); i++) {
      int offset = written.get(i)[0];
      int length = written.get(i)[1];
      EnhancedPacketBlock p = packets.get(i);
      assertEquals(length, p.capturedLength(), "packet " + i);
      assertEquals(length + 2, p.originalLength(), "packet " + i);
      for (int j = 0; j < length; j++) {
        if (p.data()[j] != (byte) ((offset + j) * 7 + 1)) {
          throw new AssertionError("packet " + i + " (" + length + " bytes from " + offset + "): byte " + j);
        }
      }
      assertEquals(Direction.OUTBOUND, p.direction(), "packet " + i);
      assertEquals(offset == 3 ? List.of(process.comment()) : List.of(), p.comments(), "packet " + i);
    }
  }

  @Test
  void writingPacketsAllocatesNothing() throws Exception {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    PcapngWriter w = PcapngWriter.builder().bufferSize(256 << 10).open(dir.resolve("alloc.pcapng"));
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    ProcessAnnotation process = ProcessAnnotation.forProcess(42, "curl");
    FlowSecrets secrets = w.newFlowSecrets().add("CLIENT_RANDOM " + "ab".repeat(32) + " " + "cd".repeat(48));
    ByteBuffer small = ByteBuffer.allocateDirect(1500);
    List<Long> perRound = new ArrayList<>();
    for (int round = 0; round < 5; round++) {
      long before = threads.getCurrentThreadAllocatedBytes();
      for (int i = 0; i < 100_000; i++) {
        w.writePacket(id, T0 + i, small, 0, (i & 1) == 0 ? 64 : 1500, 1500, Direction.OUTBOUND, process, i, secrets);
      }
      perRound.add(threads.getCurrentThreadAllocatedBytes() - before);
    }
    w.close();
    // The first rounds may include class loading and the interpreter; a warm writer allocates nothing.
    assertTrue(perRound.get(4) < 1024, "bytes allocated for 100000 packets (and ~90 buffer writes): " + perRound);
  }
}
