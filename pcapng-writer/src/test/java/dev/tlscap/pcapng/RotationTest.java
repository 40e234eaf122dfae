// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static dev.tlscap.pcapng.TestPackets.T0;
import static dev.tlscap.pcapng.TestPackets.udp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rotation by size, time and count: every file is a complete pcapng that tshark reads on its own. */
class RotationTest {
  @TempDir Path dir;

  @BeforeEach
  void needsTshark() {
    Requirements.requireCommand("tshark", "tshark");
  }

  /** Checks the file on its own: SHB first, IDBs, ISB last, mode 0600; returns tshark's packet count. */
  static int checkCompleteFile(Path file, int interfaces) throws Exception {
    List<PcapngBlock> blocks = PcapngReader.readAll(file);
    assertInstanceOf(SectionHeaderBlock.class, blocks.get(0), file.toString());
    for (int i = 1; i <= interfaces; i++) {
      assertInstanceOf(InterfaceDescriptionBlock.class, blocks.get(i), file.toString());
    }
    for (int i = 0; i < interfaces; i++) {
      assertInstanceOf(InterfaceStatisticsBlock.class, blocks.get(blocks.size() - 1 - i), file + " ends with ISBs");
    }
    assertEquals("rw-------", TestPackets.mode(file));
    long epbs = blocks.stream().filter(b -> b instanceof EnhancedPacketBlock).count();
    int tshark = Tshark.packetCount(file);
    assertEquals(epbs, tshark, file.toString());
    return tshark;
  }

  /**
   * Synthetic packets (a rotated file's prologue): marked with their comment, never a rotation of
   * their own, and not counted against -C; rotateIfDue starts the file a packet would start.
   */
  @Test
  void syntheticPacketsAreMarkedAndDoNotCountAgainstTheSizeLimit() throws Exception {
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags("4k", null, null))
        .open(dir.resolve("syn.pcapng"));
    int eth0 = w.addInterface(InterfaceDescription.ethernet("eth0"));
    assertEquals(1, w.fileNumber());
    for (int i = 0; i < 100; i++) { // 10 kB of synthetic packets in the first file: still one file
      assertTrue(w.writeSynthetic(eth0, T0 + i, udp(100, 1, i), 0, 100, Direction.INBOUND, "tlscap synthetic: test",
          null));
    }
    assertEquals(1, w.fileNumber());
    assertTrue(w.rotateIfDue(T0 + 100), "nothing due: the synthetic bytes do not count");
    assertEquals(1, w.fileNumber());
    for (int i = 0; i < 50; i++) { // 7 kB of captured packets: past 4k, file 2 starts
      assertTrue(w.writePacket(eth0, T0 + 200 + i, udp(100, 1, i), 0, 100, 100, Direction.INBOUND));
    }
    assertEquals(2, w.fileNumber());
    w.close();
    List<Path> files = TestPackets.files(dir);
    assertEquals(2, files.size(), files.toString());
    assertEquals(100, Tshark.packetCount(files.get(0), "frame.comment == \"tlscap synthetic: test\""));
    int captured = checkCompleteFile(files.get(0), 1) - 100;
    assertTrue(captured >= 20, "about 4k of captured packets after 10 kB of synthetic ones: " + captured);
  }

  @Test
  void bySizeEveryFileIsCompleteAndNamesSortInCaptureOrder() throws Exception {
    RecordingListener events = new RecordingListener();
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags("4k", null, null)).listener(events)
        .open(dir.resolve("out.pcapng"));
    int eth0 = w.addInterface(InterfaceDescription.ethernet("eth0"));
    int eth1 = w.addInterface(InterfaceDescription.ethernet("eth1"));
    for (int i = 0; i < 200; i++) {
      assertTrue(w.writePacket(i % 2 == 0 ? eth0 : eth1, T0 + i, udp(100, 1, i), 0, 100, 100, Direction.INBOUND));
    }
    w.close();
    List<Path> files = TestPackets.files(dir);
    assertTrue(files.size() >= 6, files.toString());
    int total = 0;
    for (int i = 0; i < files.size(); i++) {
      Path f = files.get(i);
      assertEquals(String.format("out-%05d.pcapng", i + 1), f.getFileName().toString());
      total += checkCompleteFile(f, 2);
      if (i < files.size() - 1) {
        // tcpdump's rule: rotate once the file is larger than the limit, so at most one packet over
        // (plus the closing ISBs).
        assertTrue(Files.size(f) <= 4096 + 200 + 2 * 100, f + " is " + Files.size(f) + " bytes");
        assertTrue(Files.size(f) > 4096, f + " is " + Files.size(f) + " bytes");
      }
    }
    assertEquals(200, total);
    // The packets are in order across files.
    List<String> seqs = new ArrayList<>();
    for (Path f : files) {
      seqs.addAll(Tshark.column(f, null, "ip.id"));
    }
    assertEquals(200, seqs.size());
    assertEquals("0x0000", seqs.get(0));
    assertEquals("0x00c7", seqs.get(199));
    assertEquals(files, events.opened);
    assertEquals(files, events.completed);
  }

  @Test
  void byTimeWithAFakeClockIncludingIdleRotationOnTick() throws Exception {
    TestPackets.FakeClock clock = new TestPackets.FakeClock();
    RecordingListener events = new RecordingListener();
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags(null, "1", null)).clock(clock)
        .listener(events).open(dir.resolve("t.pcapng"));
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    for (int i = 0; i < 10; i++) { // a packet every 0.3 s: files of 4, 4 and 2 packets
      assertTrue(w.writePacket(id, clock.now, udp(60, 1, i), 0, 60, 60, Direction.OUTBOUND));
      assertTrue(w.tick(clock.now));
      clock.advanceSeconds(0.3);
    }
    assertEquals(3, w.filesOpened());
    // No traffic: the next tick past the interval still starts a new file.
    clock.advanceSeconds(0.7);
    assertTrue(w.tick(clock.now));
    assertEquals(4, w.filesOpened());
    assertTrue(w.tick(clock.now + 500_000_000L));
    assertEquals(4, w.filesOpened());
    w.close();
    List<Path> files = TestPackets.files(dir);
    assertEquals(List.of("t-00001.pcapng", "t-00002.pcapng", "t-00003.pcapng", "t-00004.pcapng"),
        files.stream().map(p -> p.getFileName().toString()).toList());
    List<Integer> counts = new ArrayList<>();
    for (Path f : files) {
      counts.add(checkCompleteFile(f, 1));
    }
    assertEquals(List.of(4, 4, 2, 0), counts);
    // Each file's statistics cover its own time span.
    InterfaceStatisticsBlock isb = (InterfaceStatisticsBlock) PcapngReader.readAll(files.get(1)).stream()
        .filter(b -> b instanceof InterfaceStatisticsBlock).findFirst().orElseThrow();
    assertEquals(T0 + 1_200_000_000L, isb.startTime().orElseThrow());
    assertEquals(T0 + 2_400_000_000L, isb.endTime().orElseThrow());
    assertEquals(8, isb.deliveredToUser().orElseThrow(), "counted since the start of the capture");
  }

  @Test
  void ringOfFilesKeepsTheNewestAndDeletesTheOldest() throws Exception {
    RecordingListener events = new RecordingListener();
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags("2k", null, "3")).listener(events)
        .open(dir.resolve("ring.pcapng"));
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    for (int i = 0; i < 100; i++) {
      assertTrue(w.writePacket(id, T0 + i, udp(100, 1, i), 0, 100, 100, Direction.INBOUND));
    }
    int opened = w.filesOpened();
    w.close();
    assertTrue(opened > 5, "opened " + opened);
    List<Path> files = TestPackets.files(dir);
    assertEquals(3, files.size(), files.toString());
    for (int i = 0; i < 3; i++) {
      assertEquals(String.format("ring-%05d.pcapng", opened - 2 + i), files.get(i).getFileName().toString());
      checkCompleteFile(files.get(i), 1);
    }
    assertEquals(opened - 3, events.deleted.size());
    assertEquals(dir.resolve("ring-00001.pcapng"), events.deleted.get(0));
    // The newest file holds the last packet.
    List<String> ids = Tshark.column(files.get(2), null, "ip.id");
    assertEquals("0x0063", ids.get(ids.size() - 1));
  }

  @Test
  void timeRotationWithACountStopsAfterThatManyFiles() throws Exception {
    TestPackets.FakeClock clock = new TestPackets.FakeClock();
    RecordingListener events = new RecordingListener();
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags(null, "1", "2")).clock(clock)
        .listener(events).open(dir.resolve("g.pcapng"));
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    int written = 0;
    for (int i = 0; i < 10; i++) {
      if (!w.writePacket(id, clock.now, udp(60, 1, i), 0, 60, 60, Direction.INBOUND)) {
        break;
      }
      written++;
      clock.advanceSeconds(0.5);
    }
    assertEquals(4, written, "two files of one second, a packet every half second");
    assertTrue(w.isCaptureComplete());
    assertFalse(w.isOpen());
    assertFalse(w.tick(clock.now));
    assertEquals(2, events.completeAfterFiles);
    w.close();
    assertTrue(w.isCaptureComplete());
    List<Path> files = TestPackets.files(dir);
    assertEquals(2, files.size());
    assertEquals(2, checkCompleteFile(files.get(0), 1));
    assertEquals(2, checkCompleteFile(files.get(1), 1));
  }

  @Test
  void aFlowThatSpansTwoFilesHasItsSecretsInBothBeforeItsPacketsAndEachFileDecryptsOnItsOwn() throws Exception {
    TlsFixture fixture = TlsFixture.load();
    TestPackets.FakeClock clock = new TestPackets.FakeClock();
    clock.now = fixture.packets.get(0).timestampNanos();
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags(null, "3600", null)).clock(clock)
        .open(dir.resolve("tls.pcapng"));
    int lo = w.addInterface(new InterfaceDescription("lo", null, fixture.linkType, 262144, null, null));
    FlowSecrets[] flows = {w.newFlowSecrets(), w.newFlowSecrets()};
    fixture.keyLogByFlow.get(0).forEach(flows[0]::add);
    fixture.keyLogByFlow.get(1).forEach(flows[1]::add);
    int split = fixture.lastPacketOf(0); // the TLS 1.3 flow's last packet goes into the second file
    for (int i = 0; i < fixture.packets.size(); i++) {
      if (i == split) {
        assertTrue(w.tick(clock.now + 3600_000_000_000L));
      }
      TlsFixture.Packet p = fixture.packets.get(i);
      assertTrue(w.writePacket(lo, p.timestampNanos(), p.buffer(), 0, p.data().length, p.originalLength(),
          Direction.UNKNOWN, null, 0, flows[p.flow()]));
    }
    flows[0].release();
    flows[1].release();
    w.close();
    List<Path> files = TestPackets.files(dir);
    assertEquals(2, files.size());
    assertEquals(List.of("/tls13.txt"), TlsDecryptionTest.decryptedUris(files.get(0)));
    assertEquals(List.of("/tls12.txt"), TlsDecryptionTest.decryptedUris(files.get(1)));

    String flow0 = String.join("\n", fixture.keyLogByFlow.get(0)) + "\n";
    String flow1 = String.join("\n", fixture.keyLogByFlow.get(1)) + "\n";
    for (Path f : files) {
      checkCompleteFile(f, 1);
    }
    // File 2: the spanning flow's DSB (all its lines) comes before its one packet, then flow 1's.
    List<PcapngBlock> second = PcapngReader.readAll(files.get(1));
    assertEquals(List.of("SHB", "IDB", "DSB", "EPB", "DSB"),
        second.subList(0, 5).stream().map(PcapngBlock::typeName).toList());
    assertEquals(flow0, ((DecryptionSecretsBlock) second.get(2)).keyLog());
    assertEquals(flow1, ((DecryptionSecretsBlock) second.get(4)).keyLog());
    // File 1: only flow 0's secrets, since it holds no packet of flow 1.
    List<String> firstDsbs = PcapngReader.readAll(files.get(0)).stream()
        .filter(b -> b instanceof DecryptionSecretsBlock).map(b -> ((DecryptionSecretsBlock) b).keyLog()).toList();
    assertEquals(List.of(flow0), firstDsbs);
  }
}
