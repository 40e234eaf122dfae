// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads pcapng blocks one at a time, in file order: every block and option {@link PcapngWriter}
 * produces, sections of either byte order, and any other block type as {@link UnknownBlock}.
 *
 * <p>Corrupt input ends in a {@link PcapngFormatException} naming the offset and the problem, never
 * in an endless loop or an allocation sized by an unchecked length: a block may be at most
 * {@link #MAX_BLOCK_LENGTH} bytes and, for an uncompressed file, no longer than what remains of the
 * file; over a stream, memory grows only as bytes actually arrive. A file cut off inside a block (a
 * crash of the writer) yields every whole block, then an exception with
 * {@link PcapngFormatException#isTruncated()} true. After an exception, {@link #next()} throws it
 * again.
 *
 * <p>Not thread-safe.
 */
public final class PcapngReader implements Closeable {
  /** The largest block accepted: 256 MiB. */
  public static final int MAX_BLOCK_LENGTH = 256 << 20;

  private static final int CHUNK = 1 << 20;

  private final InputStream in;
  private final long size;
  private long offset;
  private ByteOrder order;
  private final List<InterfaceDescriptionBlock> interfaces = new ArrayList<>();
  private PcapngFormatException failure;

  /**
   * A reader over {@code in}; {@code size} is the total number of bytes if known (then lengths are
   * checked against it), or -1.
   */
  public PcapngReader(InputStream in, long size) {
    this.in = in instanceof BufferedInputStream ? in : new BufferedInputStream(in, 1 << 16);
    this.size = size;
  }

  /** A reader over a stream of unknown length. */
  public PcapngReader(InputStream in) {
    this(in, -1);
  }

  /**
   * Opens a file; {@code .gz}, {@code .zst} and {@code .xz} files are decompressed on the fly.
   *
   * @throws IOException if the file cannot be opened
   */
  public static PcapngReader open(Path file) throws IOException {
    Compression compression = Compression.ofFileName(file);
    InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    try {
      long size = compression == Compression.NONE ? Files.size(file) : -1;
      return new PcapngReader(compression.decompressing(raw), size);
    } catch (IOException e) {
      raw.close();
      throw e;
    }
  }

  /** Every block of a file (see {@link #open}). */
  public static List<PcapngBlock> readAll(Path file) throws IOException {
    try (PcapngReader reader = open(file)) {
      return reader.readAll();
    }
  }

  /** Every remaining block. */
  public List<PcapngBlock> readAll() throws IOException {
    List<PcapngBlock> blocks = new ArrayList<>();
    for (PcapngBlock b = next(); b != null; b = next()) {
      blocks.add(b);
    }
    return blocks;
  }

  /** The offset of the next block. */
  public long offset() {
    return offset;
  }

  /** The interfaces of the current section so far, in id order. */
  public List<InterfaceDescriptionBlock> interfaces() {
    return List.copyOf(interfaces);
  }

  /**
   * The next block, or null at the end of the input (which must fall on a block boundary).
   *
   * @throws PcapngFormatException if the input is corrupt or ends inside a block
   * @throws IOException if reading fails
   */
  public PcapngBlock next() throws IOException {
    if (failure != null) {
      throw failure;
    }
    try {
      return readBlock();
    } catch (PcapngFormatException e) {
      failure = e;
      throw e;
    }
  }

  private PcapngBlock readBlock() throws IOException {
    long start = offset;
    byte[] head = new byte[8];
    int got = readUpTo(head, 0, 8);
    if (got == 0) {
      return null;
    }
    if (got < 8) {
      throw truncated(start, "the input ends " + got + " byte(s) into a block header");
    }
    int type = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt(0); // SHB type is a palindrome
    if (type == SectionHeaderBlock.BLOCK_TYPE) {
      byte[] magic = new byte[4];
      if (readUpTo(magic, 0, 4) < 4) {
        throw truncated(start, "the input ends inside a Section Header Block");
      }
      int le = ByteBuffer.wrap(magic).order(ByteOrder.LITTLE_ENDIAN).getInt();
      if (le == SectionHeaderBlock.BYTE_ORDER_MAGIC) {
        order = ByteOrder.LITTLE_ENDIAN;
      } else if (Integer.reverseBytes(le) == SectionHeaderBlock.BYTE_ORDER_MAGIC) {
        order = ByteOrder.BIG_ENDIAN;
      } else {
        throw corrupt(start + 8, String.format("bad byte-order magic 0x%08x in a Section Header Block", le));
      }
      interfaces.clear();
    } else if (order == null) {
      throw corrupt(start, String.format("not a pcapng file: the first block has type 0x%08x,"
          + " not a Section Header Block (0x0a0d0d0a)", type));
    }
    ByteBuffer h = ByteBuffer.wrap(head).order(order);
    type = h.getInt(0);
    long length = h.getInt(4) & 0xFFFFFFFFL;
    checkLength(start, type, length);
    int bodyStart = type == SectionHeaderBlock.BLOCK_TYPE ? 12 : 8;
    byte[] body = readExactly((int) length - bodyStart - 4, start, length);
    byte[] tail = readExactly(4, start, length);
    long trailing = ByteBuffer.wrap(tail).order(order).getInt() & 0xFFFFFFFFL;
    if (trailing != length) {
      throw corrupt(start, "the trailing block length " + trailing + " differs from the leading " + length);
    }
    ByteBuffer b = ByteBuffer.wrap(body).order(order);
    switch (type) {
      case SectionHeaderBlock.BLOCK_TYPE:
        return sectionHeader(start, b);
      case InterfaceDescriptionBlock.BLOCK_TYPE: {
        InterfaceDescriptionBlock idb = new InterfaceDescriptionBlock(
            start, b.getShort(0) & 0xFFFF, b.getInt(4), options(start, b, 8));
        interfaces.add(idb);
        return idb;
      }
      case EnhancedPacketBlock.BLOCK_TYPE:
        return enhancedPacket(start, b);
      case DecryptionSecretsBlock.BLOCK_TYPE: {
        long secretsLength = b.getInt(4) & 0xFFFFFFFFL;
        if (secretsLength > body.length - 8) {
          throw corrupt(start, "the DSB's secrets length " + secretsLength + " exceeds its block ("
              + (body.length - 8) + " bytes available)");
        }
        byte[] secrets = Arrays.copyOfRange(body, 8, 8 + (int) secretsLength);
        return new DecryptionSecretsBlock(start, b.getInt(0), secrets,
            options(start, b, 8 + BlockBuilder.pad((int) secretsLength)));
      }
      case InterfaceStatisticsBlock.BLOCK_TYPE: {
        int interfaceId = b.getInt(0);
        checkInterface(start, "ISB", interfaceId);
        long ts = ((b.getInt(4) & 0xFFFFFFFFL) << 32) | (b.getInt(8) & 0xFFFFFFFFL);
        return new InterfaceStatisticsBlock(start, interfaceId, ts, options(start, b, 12));
      }
      default:
        return new UnknownBlock(start, type, body);
    }
  }

  private SectionHeaderBlock sectionHeader(long start, ByteBuffer b) throws PcapngFormatException {
    int major = b.getShort(0) & 0xFFFF;
    int minor = b.getShort(2) & 0xFFFF;
    if (major != 1) {
      throw corrupt(start, "unsupported pcapng version " + major + "." + minor + " (only 1.x is defined)");
    }
    return new SectionHeaderBlock(start, order, major, minor, b.getLong(4), options(start, b, 12));
  }

  private EnhancedPacketBlock enhancedPacket(long start, ByteBuffer b) throws PcapngFormatException {
    int interfaceId = b.getInt(0);
    InterfaceDescriptionBlock idb = checkInterface(start, "EPB", interfaceId);
    long ts = ((b.getInt(4) & 0xFFFFFFFFL) << 32) | (b.getInt(8) & 0xFFFFFFFFL);
    long captured = b.getInt(12) & 0xFFFFFFFFL;
    long original = b.getInt(16) & 0xFFFFFFFFL;
    if (captured > b.capacity() - 20) {
      throw corrupt(start, "the EPB's captured length " + captured + " exceeds its block ("
          + (b.capacity() - 20) + " bytes available)");
    }
    byte[] data = Arrays.copyOfRange(b.array(), 20, 20 + (int) captured);
    PcapngOptions options = options(start, b, 20 + BlockBuilder.pad((int) captured));
    return new EnhancedPacketBlock(start, interfaceId, ts, idb.toNanos(ts), (int) captured,
        (int) Math.min(original, Integer.MAX_VALUE), data, options);
  }

  private InterfaceDescriptionBlock checkInterface(long start, String block, int interfaceId)
      throws PcapngFormatException {
    if (interfaceId < 0 || interfaceId >= interfaces.size()) {
      throw corrupt(start, "the " + block + " refers to interface " + Integer.toUnsignedString(interfaceId)
          + ", but the section defines " + interfaces.size() + " interface(s)");
    }
    return interfaces.get(interfaceId);
  }

  private PcapngOptions options(long start, ByteBuffer b, int from) throws PcapngFormatException {
    List<PcapngOptions.Option> options = new ArrayList<>();
    int p = from;
    int end = b.capacity();
    while (p + 4 <= end) {
      int code = b.getShort(p) & 0xFFFF;
      int length = b.getShort(p + 2) & 0xFFFF;
      if (code == PcapngOptions.OPT_END_OF_OPTIONS) {
        return new PcapngOptions(options, order);
      }
      if (p + 4 + BlockBuilder.pad(length) > end) {
        throw corrupt(start, "option " + code + " with a " + length + "-byte value at block offset " + (p + 8)
            + " runs past the end of the block");
      }
      options.add(new PcapngOptions.Option(code, Arrays.copyOfRange(b.array(), p + 4, p + 4 + length)));
      p += 4 + BlockBuilder.pad(length);
    }
    return new PcapngOptions(options, order);
  }

  private void checkLength(long start, int type, long length) throws PcapngFormatException {
    int minimum = minimumLength(type);
    if (length < minimum) {
      throw corrupt(start, "block length " + length + " is smaller than the smallest "
          + PcapngBlock.typeName(type) + " (" + minimum + " bytes)");
    }
    if (length % 4 != 0) {
      throw corrupt(start, "block length " + length + " is not a multiple of 4");
    }
    if (length > MAX_BLOCK_LENGTH) {
      throw corrupt(start, "block length " + length + " exceeds the " + MAX_BLOCK_LENGTH + "-byte limit");
    }
    if (size >= 0 && start + length > size) {
      throw truncated(start, "a block of " + length + " bytes would end past the end of the file ("
          + (size - start) + " bytes remain)");
    }
  }

  private static int minimumLength(int type) {
    switch (type) {
      case SectionHeaderBlock.BLOCK_TYPE:
        return 28;
      case InterfaceDescriptionBlock.BLOCK_TYPE:
      case DecryptionSecretsBlock.BLOCK_TYPE:
        return 20;
      case InterfaceStatisticsBlock.BLOCK_TYPE:
        return 24;
      case EnhancedPacketBlock.BLOCK_TYPE:
        return 32;
      default:
        return 12;
    }
  }

  /** Reads {@code n} bytes of the block at {@code start}, growing the array only as bytes arrive. */
  private byte[] readExactly(int n, long start, long length) throws IOException {
    byte[] out = new byte[Math.min(n, CHUNK)];
    int got = 0;
    while (got < n) {
      if (got == out.length) {
        out = Arrays.copyOf(out, (int) Math.min(n, (long) out.length * 2));
      }
      int r = in.read(out, got, out.length - got);
      if (r < 0) {
        throw truncated(start, "the input ends inside a block of " + length + " bytes");
      }
      got += r;
      offset += r;
    }
    return out;
  }

  private int readUpTo(byte[] buf, int from, int n) throws IOException {
    int got = 0;
    while (got < n) {
      int r = in.read(buf, from + got, n - got);
      if (r < 0) {
        break;
      }
      got += r;
      offset += r;
    }
    return got;
  }

  private static PcapngFormatException corrupt(long at, String problem) {
    return new PcapngFormatException(at, problem, false);
  }

  private static PcapngFormatException truncated(long at, String problem) {
    return new PcapngFormatException(at, problem, true);
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
