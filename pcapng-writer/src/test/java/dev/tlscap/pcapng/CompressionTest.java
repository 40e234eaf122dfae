// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Completed files are compressed in the background; tshark reads .zst and .gz (DSBs included) directly. */
class CompressionTest {
  @TempDir Path dir;
  TlsFixture fixture;

  @BeforeEach
  void setUp() throws Exception {
    Requirements.requireCommand("tshark", "tshark");
    fixture = TlsFixture.load();
  }

  /** Writes the TLS fixture with a rotation between the two sessions; returns the listener. */
  RecordingListener writeTwoFiles(Compression compression) throws Exception {
    RecordingListener events = new RecordingListener();
    TestPackets.FakeClock clock = new TestPackets.FakeClock();
    clock.now = fixture.packets.get(0).timestampNanos();
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags(null, "3600", null)).clock(clock)
        .compression(compression).listener(events).open(dir.resolve("c.pcapng"));
    int lo = w.addInterface(new InterfaceDescription("lo", null, fixture.linkType, 262144, null, null));
    FlowSecrets[] flows = {w.newFlowSecrets(), w.newFlowSecrets()};
    fixture.keyLogByFlow.get(0).forEach(flows[0]::add);
    fixture.keyLogByFlow.get(1).forEach(flows[1]::add);
    int split = fixture.lastPacketOf(0) + 1;
    for (int i = 0; i < fixture.packets.size(); i++) {
      if (i == split) {
        w.tick(clock.now + 3600_000_000_000L);
      }
      TlsFixture.Packet p = fixture.packets.get(i);
      w.writePacket(lo, p.timestampNanos(), p.buffer(), 0, p.data().length, p.originalLength(),
          Direction.UNKNOWN, null, 0, flows[p.flow()]);
    }
    w.close(); // waits for the compression of the last file too
    return events;
  }

  @ParameterizedTest
  @EnumSource(value = Compression.class, names = {"ZSTD", "GZIP", "XZ"})
  void completedFilesAreCompressedWithMode0600AndDecrypt(Compression compression) throws Exception {
    RecordingListener events = writeTwoFiles(compression);
    List<Path> files = TestPackets.files(dir);
    String ext = compression.extension();
    assertEquals(List.of("c-00001.pcapng" + ext, "c-00002.pcapng" + ext),
        files.stream().map(p -> p.getFileName().toString()).toList(), "originals deleted, no temporary left");
    assertEquals(files, events.completed);
    assertEquals(List.of(Files.size(files.get(0)), Files.size(files.get(1))), events.completedSizes);
    assertTrue(events.compressionFailures.isEmpty(), events.compressionFailures.toString());
    for (int i = 0; i < 2; i++) {
      Path f = files.get(i);
      assertEquals("rw-------", TestPackets.mode(f));
      List<PcapngBlock> blocks = PcapngReader.readAll(f); // the reader decompresses by extension
      assertEquals("SHB", blocks.get(0).typeName());
      assertEquals("ISB", blocks.get(blocks.size() - 1).typeName());
      Path readable = f;
      if (compression == Compression.XZ) {
        // tshark 4.0 cannot read .xz: decompress as a user would.
        Requirements.requireCommand("xz", "xz-utils");
        readable = dir.resolve("plain-" + i + ".pcapng");
        Command.sh(Duration.ofSeconds(30), "xz -dc '" + f + "' > '" + readable + "'").check();
      }
      assertEquals(List.of(TlsFixture.URIS.get(i)), TlsDecryptionTest.decryptedUris(readable), f.toString());
    }
  }

  @Test
  void theRingDeletesTheCompressedFormOfTheOldestFile() throws Exception {
    RecordingListener events = new RecordingListener();
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags("1k", null, "2"))
        .compression(Compression.ZSTD).listener(events).open(dir.resolve("r.pcapng"));
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    for (int i = 0; i < 60; i++) {
      w.writePacket(id, TestPackets.T0 + i, TestPackets.udp(200, 1, i), 0, 200, 200, Direction.INBOUND);
    }
    int opened = w.filesOpened();
    w.close();
    List<Path> files = TestPackets.files(dir);
    assertEquals(List.of(String.format("r-%05d.pcapng.zst", opened - 1), String.format("r-%05d.pcapng.zst", opened)),
        files.stream().map(p -> p.getFileName().toString()).toList());
    assertEquals(opened - 2, events.deleted.size());
    for (Path f : files) {
      assertTrue(Tshark.packetCount(f) > 0);
    }
  }

  /** Capture files on disk (original or compressed, not the compressor's temporary). */
  private long captureFiles() throws Exception {
    return TestPackets.files(dir).stream().map(p -> p.getFileName().toString())
        .filter(n -> n.endsWith(".pcapng") || n.endsWith(".pcapng.xz") || n.endsWith(".pcapng.zst")).count();
  }

  /** A 1500-byte frame of random bytes: nothing for the compressor to squeeze, so it is slow. */
  private static java.nio.ByteBuffer noise(java.util.Random random) {
    byte[] frame = new byte[1500];
    random.nextBytes(frame);
    return java.nio.ByteBuffer.wrap(frame);
  }

  /** xz of incompressible data is far slower than writing it: the ring still keeps at most -W files. */
  @Test
  void whenCompressionFallsBehindTheRingStillKeepsAtMostItsCount() throws Exception {
    RecordingListener events = new RecordingListener();
    java.util.List<String> warnings = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    CaptureFileListener listener = new CaptureFileListener() {
      @Override
      public void fileDeleted(Path file) {
        events.fileDeleted(file);
      }

      @Override
      public void fileCompleted(Path file, long size) {
        events.fileCompleted(file, size);
      }

      @Override
      public void warning(String message) {
        warnings.add(message);
      }
    };
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags("256k", null, "3"))
        .compression(Compression.XZ).listener(listener).open(dir.resolve("r.pcapng"));
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    java.util.Random random = new java.util.Random(1);
    long most = 0;
    for (int i = 0; i < 4000; i++) { // about 6 MB: 23 files
      w.writePacket(id, TestPackets.T0 + i, noise(random), 0, 1500, 1500, Direction.INBOUND);
      most = Math.max(most, captureFiles());
    }
    int opened = w.filesOpened();
    long notCompressed = w.filesNotCompressed();
    w.close();
    assertTrue(opened > 20, "files opened: " + opened);
    assertTrue(most <= 3, "at most 3 capture files on disk at any time, saw " + most);
    assertEquals(List.of(String.format("r-%05d.pcapng.xz", opened - 2), String.format("r-%05d.pcapng.xz", opened - 1),
        String.format("r-%05d.pcapng.xz", opened)),
        TestPackets.files(dir).stream().map(p -> p.getFileName().toString()).toList(), "the last three, compressed");
    assertEquals(opened - 3, events.deleted.size(), "every other file deleted by the ring");
    assertTrue(w.filesNotCompressed() >= notCompressed && w.filesNotCompressed() > 0,
        "files deleted before their compression are counted: " + w.filesNotCompressed());
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).startsWith("compression (xz) is slower than the capture: "), warnings.get(0));
  }

  /** Deterministic: the first compression is held until ten files were written. */
  @Test
  void filesTheRingDeletesBeforeTheirCompressionAreCountedAndSaidOnce() throws Exception {
    java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
    java.util.List<String> warnings = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
    RecordingListener events = new RecordingListener() {
      @Override
      public void warning(String message) {
        warnings.add(message);
      }
    };
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags("1k", null, "3"))
        .compression(Compression.ZSTD).listener(events).beforeCompression(file -> {
          try {
            go.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }).open(dir.resolve("g.pcapng"));
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    for (int i = 0; w.filesOpened() < 10; i++) {
      w.writePacket(id, TestPackets.T0 + i, TestPackets.udp(200, 1, i), 0, 200, 200, Direction.INBOUND);
      assertTrue(captureFiles() <= 3, "files on disk: " + TestPackets.files(dir));
    }
    assertEquals(6, w.filesNotCompressed(), "files 2-7 never started; file 1 is being compressed");
    go.countDown();
    w.close();
    assertEquals(7, w.filesNotCompressed(), "and file 1's compression was abandoned");
    assertEquals(List.of("g-00008.pcapng.zst", "g-00009.pcapng.zst", "g-00010.pcapng.zst"),
        TestPackets.files(dir).stream().map(p -> p.getFileName().toString()).toList());
    assertEquals(7, events.deleted.size());
    assertEquals(List.of("compression (zstd) is slower than the capture: 2 completed files wait to be compressed"), warnings,
        "said once, when the second file waits");
  }

  /** A second Ctrl-C: compression is abandoned, files stay complete and uncompressed, counted; close() waits for nothing. */
  @Test
  void abandonedCompressionLeavesEveryFileUncompressedAndCounted() throws Exception {
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
    PcapngWriter w = PcapngWriter.builder().rotation(RotationPolicy.fromFlags("1k", null, null))
        .compression(Compression.ZSTD).listener(new RecordingListener()).beforeCompression(file -> {
          started.countDown();
          try {
            never.await(200, java.util.concurrent.TimeUnit.MILLISECONDS); // a slow compression
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }).open(dir.resolve("a.pcapng"));
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    for (int i = 0; w.filesOpened() < 6; i++) {
      w.writePacket(id, TestPackets.T0 + i, TestPackets.udp(200, 1, i), 0, 200, 200, Direction.INBOUND);
    }
    started.await();
    w.abandonCompression();
    long before = System.nanoTime();
    w.close();
    assertTrue(System.nanoTime() - before < 2_000_000_000L, "close() does not wait for the queue");
    List<String> names = TestPackets.files(dir).stream().map(p -> p.getFileName().toString()).toList();
    assertEquals(List.of("a-00001.pcapng", "a-00002.pcapng", "a-00003.pcapng", "a-00004.pcapng", "a-00005.pcapng",
        "a-00006.pcapng"), names, "every file kept, uncompressed, no temporary left");
    assertEquals(6, w.filesNotCompressed(), "the six completed files (the last completed by close()), counted");
    for (Path file : TestPackets.files(dir)) {
      assertTrue(PcapngReader.readAll(file).size() > 2, file + " opens");
    }
  }
}
