// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static dev.tlscap.pcapng.TestPackets.T0;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Requirements;
import dev.tlscap.testing.Tshark;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reader: both byte orders, unknown blocks, and hostile input refused with a clear error. */
class PcapngReaderTest {
  @TempDir Path dir;
  byte[] valid;

  @BeforeEach
  void writeAValidFile() throws Exception {
    Path file = dir.resolve("valid.pcapng");
    PcapngWriter w = PcapngWriter.builder().open(file);
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    FlowSecrets s = w.newFlowSecrets().add("CLIENT_RANDOM " + "01".repeat(32) + " " + "02".repeat(48));
    for (int i = 0; i < 3; i++) {
      w.writePacket(id, T0 + i, TestPackets.udp(61, 1, i), 0, 61, 61, Direction.INBOUND,
          ProcessAnnotation.forProcess(7, "x"), 8, s);
    }
    w.close();
    valid = Files.readAllBytes(file);
  }

  static PcapngFormatException readFails(byte[] bytes) {
    return assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(PcapngFormatException.class,
        () -> new PcapngReader(new ByteArrayInputStream(bytes), bytes.length).readAll()));
  }

  static PcapngFormatException readFailsAsStream(byte[] bytes) {
    return assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThrows(PcapngFormatException.class,
        () -> new PcapngReader(new ByteArrayInputStream(bytes)).readAll()));
  }

  /** Offsets of the blocks in {@link #valid}. */
  List<Long> offsets() throws Exception {
    List<Long> out = new ArrayList<>();
    for (PcapngBlock b : new PcapngReader(new ByteArrayInputStream(valid)).readAll()) {
      out.add(b.offset());
    }
    return out;
  }

  @Test
  void everyCutInsideABlockYieldsTheWholeBlocksThenATruncationError() throws Exception {
    List<Long> offsets = offsets();
    assertEquals(List.of("SHB", "IDB", "DSB", "EPB", "EPB", "EPB", "ISB"),
        new PcapngReader(new ByteArrayInputStream(valid)).readAll().stream().map(PcapngBlock::typeName).toList());
    for (int cut = 1; cut < valid.length; cut++) {
      byte[] part = Arrays.copyOf(valid, cut);
      int whole = 0; // blocks that end at or before the cut
      while (whole < offsets.size() - 1 && offsets.get(whole + 1) <= cut) {
        whole++;
      }
      for (boolean knownSize : new boolean[] {true, false}) {
        PcapngReader r = new PcapngReader(new ByteArrayInputStream(part), knownSize ? cut : -1);
        List<PcapngBlock> read = new ArrayList<>();
        PcapngFormatException error = null;
        try {
          for (PcapngBlock b = r.next(); b != null; b = r.next()) {
            read.add(b);
          }
        } catch (PcapngFormatException e) {
          error = e;
        }
        boolean onBoundary = offsets.contains((long) cut);
        assertEquals(whole, read.size(), "cut at " + cut);
        if (onBoundary) {
          assertEquals(null, error, "cut at a block boundary reads cleanly");
        } else {
          assertTrue(error != null && error.isTruncated(), "cut at " + cut + ": " + error);
          assertEquals((long) offsets.get(whole), error.offset(), error.getMessage());
          assertTrue(error.getMessage().startsWith("truncated pcapng at offset "), error.getMessage());
          PcapngFormatException again = error;
          assertSame(again, assertThrows(PcapngFormatException.class, r::next), "no loop: the same error again");
        }
      }
    }
  }

  @Test
  void lengthsThatLieAreRefusedWithTheOffsetAndTheProblem() throws Exception {
    long idb = offsets().get(1);
    long epb = offsets().get(3);
    ByteBuffer b = ByteBuffer.wrap(valid).order(ByteOrder.nativeOrder());
    int epbLength = b.getInt((int) epb + 4);

    assertMessage(with(b, epb + 4, 0), "corrupt pcapng at offset " + epb + ": block length 0 is smaller than the smallest EPB (32 bytes)");
    assertMessage(with(b, epb + 4, 8), "block length 8 is smaller than the smallest EPB");
    assertMessage(with(b, epb + 4, epbLength + 2), "is not a multiple of 4");
    assertMessage(with(b, epb + 4, epbLength + 4), "differs from the leading " + (epbLength + 4));
    assertMessage(with(b, epb + epbLength - 4, epbLength - 4), "the trailing block length " + (epbLength - 4) + " differs from the leading " + epbLength);
    assertMessage(with(b, epb + 4, 0xFFFFFFF0), "block length 4294967280 exceeds the 268435456-byte limit");
    assertMessage(with(b, epb + 4, 0x0FFFFFF0), "would end past the end of the file");
    assertMessage(with(b, epb + 20, epbLength), "captured length " + epbLength + " exceeds its block");
    assertMessage(with(b, epb + 8, 5), "the EPB refers to interface 5, but the section defines 1 interface(s)");
    assertMessage(with(b, idb + 16, 0x0002 | (200 << 16)), "option 2 with a 200-byte value");
    long dsb = offsets().get(2);
    assertMessage(with(b, dsb + 12, 4000), "the DSB's secrets length 4000 exceeds its block");
    assertMessage(with(b, 8, 0x01020304), "bad byte-order magic 0x01020304");
    assertMessage(with(b, 12, 0x00000002), "unsupported pcapng version 2.0");
    assertMessage(Arrays.copyOfRange(valid, (int) idb, valid.length), "not a pcapng file: the first block has type 0x00000001");
    // Over a stream a huge length only allocates as bytes arrive: a clean truncation error, no OOM.
    PcapngFormatException e = readFailsAsStream(with(b, epb + 4, 0x0FFFFFF0));
    assertTrue(e.isTruncated(), e.getMessage());
  }

  private static byte[] with(ByteBuffer original, long at, int value) {
    byte[] copy = original.array().clone();
    ByteBuffer.wrap(copy).order(original.order()).putInt((int) at, value);
    return copy;
  }

  private static void assertMessage(byte[] bytes, String expected) {
    PcapngFormatException e = readFails(bytes);
    assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
  }

  @Test
  void zeroAndTinyInputs() {
    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
      assertEquals(List.of(), new PcapngReader(new ByteArrayInputStream(new byte[0])).readAll());
      assertTrue(readFails(new byte[3]).isTruncated());
      assertFalse(readFails(new byte[16]).isTruncated(), "zeros are not a Section Header Block");
      assertTrue(readFails(Arrays.copyOf(valid, 10)).isTruncated());
    });
  }

  @Test
  void randomDamageNeverEscapesAsAnythingButAFormatError() throws Exception {
    Random random = new Random(42);
    for (int round = 0; round < 3000; round++) {
      byte[] damaged = valid.clone();
      for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
        damaged[random.nextInt(damaged.length)] = (byte) random.nextInt(256);
      }
      int length = random.nextInt(8) == 0 ? random.nextInt(damaged.length) : damaged.length;
      byte[] input = Arrays.copyOf(damaged, length);
      assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
        try (PcapngReader r = new PcapngReader(new ByteArrayInputStream(input), random.nextBoolean() ? input.length : -1)) {
          r.readAll();
        } catch (PcapngFormatException expected) {
          // the only acceptable failure
        }
      });
    }
  }

  @Test
  void readsBigEndianSectionsAndPassesUnknownBlocksThrough() throws Exception {
    ByteOrder be = ByteOrder.BIG_ENDIAN;
    byte[] packet = TestPackets.udp(60, 9, 1).array();
    List<ByteBuffer> blocks = List.of(
        new BlockBuilder(SectionHeaderBlock.BLOCK_TYPE, be).u32(SectionHeaderBlock.BYTE_ORDER_MAGIC).u16(1).u16(0)
            .u64(-1).option(SectionHeaderBlock.OPT_USER_APPLICATION, "big endian test").finish(),
        new BlockBuilder(InterfaceDescriptionBlock.BLOCK_TYPE, be).u16(LinkType.ETHERNET).u16(0).u32(65535)
            .option(InterfaceDescriptionBlock.OPT_NAME, "be0").option(InterfaceDescriptionBlock.OPT_TSRESOL, new byte[] {6})
            .finish(),
        new BlockBuilder(0x0BAD, be).u32(0x0000_7ED9).padded(new byte[] {1, 2, 3}).finish(),
        new BlockBuilder(EnhancedPacketBlock.BLOCK_TYPE, be).u32(0).timestamp(1_714_564_800_000_001L).u32(60).u32(60)
            .padded(packet).option(EnhancedPacketBlock.OPT_FLAGS, new byte[] {0, 0, 0, 2})
            .option(PcapngOptions.OPT_COMMENT, "PID: 1\nCmd: init").finish());
    Path file = dir.resolve("be.pcapng");
    Path beOnly = dir.resolve("be-only.pcapng");
    try (var out = Files.newOutputStream(file); var only = Files.newOutputStream(beOnly)) {
      for (ByteBuffer b : blocks) {
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        out.write(bytes);
        if (b.getInt(0) != 0x0BAD) {
          only.write(bytes);
        }
      }
      out.write(valid); // a second, native-order section
    }
    List<PcapngBlock> read = PcapngReader.readAll(file);
    assertEquals(List.of("SHB", "IDB", "0xbad", "EPB", "SHB", "IDB", "DSB", "EPB", "EPB", "EPB", "ISB"),
        read.stream().map(PcapngBlock::typeName).toList());
    assertEquals(ByteOrder.BIG_ENDIAN, ((SectionHeaderBlock) read.get(0)).byteOrder());
    assertEquals(ByteOrder.LITTLE_ENDIAN, ((SectionHeaderBlock) read.get(4)).byteOrder());
    assertEquals("be0", ((InterfaceDescriptionBlock) read.get(1)).name().orElseThrow());
    assertEquals(8, ((UnknownBlock) read.get(2)).body().length);
    EnhancedPacketBlock epb = (EnhancedPacketBlock) read.get(3);
    assertEquals(1_714_564_800_000_001_000L, epb.timestampNanos(), "microseconds converted to nanoseconds");
    assertEquals(Direction.OUTBOUND, epb.direction());
    assertEquals(List.of("PID: 1\nCmd: init"), epb.comments());
    assertEquals(ByteBuffer.wrap(packet), ByteBuffer.wrap(epb.data()));
    Requirements.requireCommand("tshark", "tshark");
    // tshark reads the big-endian section too (tshark 4.0 shows custom blocks as frames and mixes up
    // interfaces across sections, so it gets the single big-endian section).
    assertEquals(List.of(List.of("be0", "0x00000002", "PID: 1\\nCmd: init", "1714564800.000001000")),
        Tshark.fields(beOnly, null, "frame.interface_name", "frame.packet_flags_direction", "frame.comment",
            "frame.time_epoch"));
  }

  @Test
  void opensCompressedFilesByExtension() throws Exception {
    for (Compression c : List.of(Compression.ZSTD, Compression.GZIP, Compression.XZ)) {
      Path file = dir.resolve("f.pcapng" + c.extension());
      try (var out = c.compressing(Files.newOutputStream(file))) {
        out.write(valid);
      }
      assertEquals(7, PcapngReader.readAll(file).size(), c.name());
      try (InputStream in = Files.newInputStream(file)) {
        assertFalse(Arrays.equals(valid, in.readAllBytes()));
      }
    }
  }
}
