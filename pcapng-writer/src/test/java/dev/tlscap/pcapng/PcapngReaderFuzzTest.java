// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzzing (Jazzer) of {@link PcapngReader} on any bytes: the only exception that
 * may escape is {@link PcapngFormatException} with its "corrupt/truncated pcapng at offset" message
 * (for compressed input, any {@link IOException} of the decompressor); no other exception, no
 * endless loop, no allocation out of proportion to the input.
 *
 * <p>Each input is read three ways that must agree block for block: with its size known, as a
 * stream of unknown length, and as a stream that hands out one byte per read. Every typed getter
 * of every block is called. Inputs that start with a gzip, zstd or xz magic are also read through
 * that decompressor (at most 4 MiB of output).
 *
 * <p>Seeds: {@code PcapngReaderFuzzTestInputs/readsAnyBytes/} (written by {@link #main}); the same
 * files are replayed as regression inputs in every build. Fuzzing mode and its duration: see the
 * {@code fuzz} surefire execution in the parent pom.
 */
class PcapngReaderFuzzTest {
  private static final int MAX_DECOMPRESSED = 4 << 20;

  @FuzzTest(maxDuration = "40s")
  @Timeout(10) // per input, as libFuzzer's -timeout
  void readsAnyBytes(byte[] input) throws IOException {
    Outcome known = read(new ByteArrayInputStream(input), input.length);
    Outcome stream = read(new ByteArrayInputStream(input), -1);
    Outcome trickle = read(new OneByteAtATime(new ByteArrayInputStream(input)), -1);
    assertEquals(known, stream, "size known vs unknown");
    assertEquals(stream, trickle, "whole reads vs one byte per read");
    Compression compression = compressionOf(input);
    if (compression != Compression.NONE) {
      try (InputStream in = compression.decompressing(new ByteArrayInputStream(input))) {
        read(new AtMost(in, MAX_DECOMPRESSED), -1); // closed at once: the decompressors hold native memory
      } catch (IOException e) {
        // The decompressor's refusal of a corrupt stream (or a PcapngFormatException): documented.
      }
    }
  }

  /**
   * What reading gave: the blocks before the end or the first error, and where the error was (-1
   * for none). The message may differ (a known size finds a truncation before reading it).
   */
  record Outcome(List<String> blocks, long errorOffset, boolean truncated) {}

  static Outcome read(InputStream in, long size) throws IOException {
    List<String> blocks = new ArrayList<>();
    PcapngReader reader = new PcapngReader(in, size);
    try {
      for (PcapngBlock b = reader.next(); b != null; b = reader.next()) {
        blocks.add(b.typeName() + "@" + b.offset() + " " + describe(b));
        checkBlockLength(b, reader);
      }
      assertSame(null, reader.next(), "the end stays the end");
      return new Outcome(blocks, -1, false);
    } catch (PcapngFormatException e) {
      String m = e.getMessage();
      assertTrue(m.startsWith("corrupt pcapng at offset " + e.offset() + ": ")
          || m.startsWith("truncated pcapng at offset " + e.offset() + ": "), m);
      assertTrue(e.offset() >= 0 && (size < 0 || e.offset() <= size), m);
      try {
        reader.next();
        throw new AssertionError("next() after " + m + " returned");
      } catch (PcapngFormatException again) {
        assertSame(e, again, "next() after a failure throws it again");
      }
      return new Outcome(blocks, e.offset(), e.isTruncated());
    }
  }

  /** Reading {@code b} moved the reader by a whole block: its 12 bytes of framing and more, by 4s. */
  private static void checkBlockLength(PcapngBlock b, PcapngReader reader) {
    long n = reader.offset() - b.offset();
    assertTrue(n >= 12 && n % 4 == 0, b.typeName() + " of " + n + " bytes");
  }

  /** Every typed getter of a block, as a string (the getters must not throw on any option bytes). */
  static String describe(PcapngBlock b) {
    StringBuilder s = new StringBuilder();
    PcapngOptions o = b.options();
    for (PcapngOptions.Option opt : o.all()) {
      s.append(opt.code()).append(':').append(opt.value().length).append(' ');
      o.number(opt.code());
      o.timestamp(opt.code());
      o.string(opt.code());
    }
    s.append(o.comments()).append(o.codes()).append(o.byteOrder()).append(o);
    if (b instanceof SectionHeaderBlock shb) {
      s.append(shb.hardware()).append(shb.os()).append(shb.userApplication()).append(shb.byteOrder())
          .append(shb.sectionLength());
    } else if (b instanceof InterfaceDescriptionBlock idb) {
      s.append(idb.name()).append(idb.description()).append(idb.os()).append(idb.filter())
          .append(idb.timestampResolution()).append(idb.toNanos(Long.MAX_VALUE)).append(idb.toNanos(Long.MIN_VALUE))
          .append(idb.toNanos(1)).append(idb.linkType());
    } else if (b instanceof EnhancedPacketBlock epb) {
      s.append(epb.flags()).append(epb.direction()).append(epb.dropCount()).append(epb.comments())
          .append(epb.processId()).append(epb.threadId()).append(epb.timestampNanos());
      assertEquals(epb.capturedLength(), epb.data().length);
    } else if (b instanceof DecryptionSecretsBlock dsb) {
      s.append(dsb.secretsType()).append(dsb.keyLog().length());
    } else if (b instanceof InterfaceStatisticsBlock isb) {
      s.append(isb.startTime()).append(isb.endTime()).append(isb.received()).append(isb.droppedByInterface())
          .append(isb.droppedByOs()).append(isb.deliveredToUser());
    } else if (b instanceof UnknownBlock u) {
      s.append(u.body().length);
    }
    return s.toString();
  }

  static Compression compressionOf(byte[] b) {
    if (b.length >= 2 && (b[0] & 0xFF) == 0x1F && (b[1] & 0xFF) == 0x8B) {
      return Compression.GZIP;
    }
    if (b.length >= 4 && ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(0) == 0xFD2FB528) {
      return Compression.ZSTD;
    }
    if (b.length >= 6 && (b[0] & 0xFF) == 0xFD && b[1] == '7' && b[2] == 'z' && b[3] == 'X' && b[4] == 'Z'
        && b[5] == 0) {
      return Compression.XZ;
    }
    return Compression.NONE;
  }

  /** Hands out at most one byte per read, as a slow pipe would. */
  static final class OneByteAtATime extends FilterInputStream {
    OneByteAtATime(InputStream in) {
      super(in);
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return super.read(b, off, Math.min(len, 1));
    }
  }

  /** Ends after {@code limit} bytes (a decompression bomb is not the reader's problem). */
  static final class AtMost extends FilterInputStream {
    private long left;

    AtMost(InputStream in, long limit) {
      super(in);
      left = limit;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) {
        return -1;
      }
      int n = super.read(b, off, (int) Math.min(len, left));
      if (n > 0) {
        left -= n;
      }
      return n;
    }
  }

  /**
   * Writes the seed corpus: small files as the writer makes them (native order, with a DSB, EPBs
   * and ISBs), a big-endian section with an unknown block, and compressed copies.
   * {@code java -cp <test classpath> dev.tlscap.pcapng.PcapngReaderFuzzTest <inputs dir>}
   */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Files.createDirectories(dir);
    Path tmp = Files.createTempDirectory("seeds");
    Path file = tmp.resolve("w.pcapng");
    PcapngWriter w = PcapngWriter.builder().open(file);
    int id = w.addInterface(InterfaceDescription.ethernet("eth0"));
    FlowSecrets s = w.newFlowSecrets().add("CLIENT_RANDOM " + "01".repeat(32) + " " + "02".repeat(48));
    for (int i = 0; i < 2; i++) {
      w.writePacket(id, TestPackets.T0 + i, TestPackets.udp(61, 1, i), 0, 61, 61, Direction.INBOUND,
          ProcessAnnotation.forProcess(7, "x"), 8, s);
    }
    w.close();
    byte[] written = Files.readAllBytes(file);
    Files.write(dir.resolve("writer"), written);

    ByteOrder be = ByteOrder.BIG_ENDIAN;
    ByteArrayOutputStreamEx out = new ByteArrayOutputStreamEx();
    out.put(new BlockBuilder(SectionHeaderBlock.BLOCK_TYPE, be).u32(SectionHeaderBlock.BYTE_ORDER_MAGIC).u16(1).u16(0)
        .u64(-1).option(SectionHeaderBlock.OPT_USER_APPLICATION, "be").finish());
    out.put(new BlockBuilder(InterfaceDescriptionBlock.BLOCK_TYPE, be).u16(LinkType.ETHERNET).u16(0).u32(65535)
        .option(InterfaceDescriptionBlock.OPT_NAME, "be0").option(InterfaceDescriptionBlock.OPT_TSRESOL, new byte[] {6})
        .finish());
    out.put(new BlockBuilder(0x0BAD, be).u32(0x0000_7ED9).padded(new byte[] {1, 2, 3}).finish());
    out.put(new BlockBuilder(EnhancedPacketBlock.BLOCK_TYPE, be).u32(0).timestamp(1_714_564_800_000_001L).u32(8)
        .u32(60).padded(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}).option(EnhancedPacketBlock.OPT_FLAGS, new byte[] {0, 0, 0, 2})
        .option(PcapngOptions.OPT_COMMENT, "PID: 1\nCmd: init").finish());
    out.put(new BlockBuilder(InterfaceStatisticsBlock.BLOCK_TYPE, be).u32(0).timestamp(1_714_564_800_000_002L)
        .option(InterfaceStatisticsBlock.OPT_IFRECV, new byte[8]).finish());
    Files.write(dir.resolve("big-endian"), out.toByteArray());

    for (Compression c : List.of(Compression.GZIP, Compression.ZSTD, Compression.XZ)) {
      java.io.ByteArrayOutputStream compressed = new java.io.ByteArrayOutputStream();
      try (var z = c.compressing(compressed)) {
        z.write(written);
      }
      Files.write(dir.resolve("writer" + c.extension()), compressed.toByteArray());
    }
  }

  private static final class ByteArrayOutputStreamEx extends java.io.ByteArrayOutputStream {
    void put(ByteBuffer b) {
      byte[] bytes = new byte[b.remaining()];
      b.get(bytes);
      writeBytes(bytes);
    }
  }
}
