// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Encodes the {@link PcapngWriter}'s blocks into its {@link BlockOutput}, in native byte order: the
 * Section Header Block and one Interface Description Block per interface at the start of each file,
 * Enhanced Packet Blocks and Decryption Secrets Blocks (without allocating), and Interface Statistics
 * Blocks at the end of each file. Holds what belongs to the interfaces across files: their IDBs, snap
 * lengths, drops not yet reported and packets delivered. Not thread-safe.
 */
final class BlockEncoder {
  private static final int EPB_HEADER = 28;
  private static final int DSB_OVERHEAD = 20;

  private final ByteBuffer sectionHeader;
  private final List<ByteBuffer> interfaceBlocks = new ArrayList<>();
  private int interfaceCount;
  private int[] snapLengths = new int[4];
  private long[] pendingDrops = new long[4];
  private long[] deliveredTotal = new long[4];
  /** The last buffers written into and copied from, and their addresses ({@link RawMemory#address}). */
  private ByteBuffer target;
  private long targetAddress;
  private ByteBuffer source;
  private long sourceAddress;

  BlockEncoder(String hardware, String os, String application) {
    this.sectionHeader = new BlockBuilder(SectionHeaderBlock.BLOCK_TYPE, ByteOrder.nativeOrder())
        .u32(SectionHeaderBlock.BYTE_ORDER_MAGIC).u16(1).u16(0).u64(-1)
        .option(SectionHeaderBlock.OPT_HARDWARE, hardware)
        .option(SectionHeaderBlock.OPT_OS, os)
        .option(SectionHeaderBlock.OPT_USER_APPLICATION, application)
        .finish();
  }

  /** Encodes the IDB of a new interface and returns its id (0, 1, 2, ...). */
  int addInterface(InterfaceDescription description) {
    BlockBuilder idb = new BlockBuilder(InterfaceDescriptionBlock.BLOCK_TYPE, ByteOrder.nativeOrder())
        .u16(description.linkType()).u16(0).u32(description.snapLength())
        .option(InterfaceDescriptionBlock.OPT_NAME, description.name())
        .option(InterfaceDescriptionBlock.OPT_DESCRIPTION, description.description())
        .option(InterfaceDescriptionBlock.OPT_TSRESOL, new byte[] {InterfaceDescriptionBlock.TSRESOL_NANOSECONDS});
    if (description.filter() != null && !description.filter().isEmpty()) {
      byte[] text = description.filter().getBytes(StandardCharsets.UTF_8);
      byte[] value = new byte[text.length + 1];
      value[0] = InterfaceDescriptionBlock.FILTER_LIBPCAP_STRING;
      System.arraycopy(text, 0, value, 1, text.length);
      idb.option(InterfaceDescriptionBlock.OPT_FILTER, value);
    }
    idb.option(InterfaceDescriptionBlock.OPT_OS, description.os());
    ByteBuffer block = idb.finish();
    int id = interfaceCount++;
    if (id == snapLengths.length) {
      snapLengths = Arrays.copyOf(snapLengths, id * 2);
      pendingDrops = Arrays.copyOf(pendingDrops, id * 2);
      deliveredTotal = Arrays.copyOf(deliveredTotal, id * 2);
    }
    snapLengths[id] = description.snapLength() == 0 ? Integer.MAX_VALUE : description.snapLength();
    interfaceBlocks.add(block);
    return id;
  }

  /** The IDB of interface {@code id}. */
  ByteBuffer interfaceBlock(int id) {
    return interfaceBlocks.get(id);
  }

  int interfaceCount() {
    return interfaceCount;
  }

  void checkInterface(int interfaceId) {
    if (interfaceId < 0 || interfaceId >= interfaceCount) {
      throw new IllegalArgumentException("unknown interface id " + interfaceId + " (" + interfaceCount
          + " interface(s) added)");
    }
  }

  /** Adds {@code count} drops to what the next EPB of {@code interfaceId} reports. */
  void reportDrops(int interfaceId, long count) {
    pendingDrops[interfaceId] += count;
  }

  /** The start of a file: the SHB, then every interface's IDB in id order. */
  void appendSectionStart(BlockOutput out) throws IOException {
    out.append(sectionHeader);
    for (ByteBuffer idb : interfaceBlocks) {
      out.append(idb);
    }
  }

  /** One EPB (lengths checked by the caller); allocates nothing. */
  void appendPacket(BlockOutput out, int interfaceId, long ts, ByteBuffer data, int offset, int capturedLength,
      int originalLength, Direction direction, ProcessAnnotation process, int threadId) throws IOException {
    appendPacket(out, interfaceId, ts, data, offset, capturedLength, originalLength, direction, process, threadId, null);
  }

  /** {@link #appendPacket(BlockOutput, int, long, ByteBuffer, int, int, int, Direction, ProcessAnnotation, int)} with one more comment option ({@code mark}, encoded, or null). */
  void appendPacket(BlockOutput out, int interfaceId, long ts, ByteBuffer data, int offset, int capturedLength,
      int originalLength, Direction direction, ProcessAnnotation process, int threadId, byte[] mark) throws IOException {
    int captured = Math.min(capturedLength, snapLengths[interfaceId]);
    int padded = (captured + 3) & ~3;
    int flags = direction == null ? 0 : direction.epbFlags();
    long drops = pendingDrops[interfaceId];
    int comment = process == null ? 0 : process.commentOptionLength();
    int options = (flags != 0 ? 8 : 0) + (drops != 0 ? 12 : 0) + (process != null ? comment + 12 : 0)
        + (mark != null ? mark.length : 0);
    if (options != 0) {
      options += 4; // opt_endofopt
    }
    int length = EPB_HEADER + padded + options + 4;
    ByteBuffer b = out.reserve(length);
    int p = b.position();
    if (b != target) {
      target = b;
      targetAddress = RawMemory.address(b);
    }
    long a = targetAddress; // 0: through the buffer's own methods
    putInt(b, a, p, EnhancedPacketBlock.BLOCK_TYPE);
    putInt(b, a, p + 4, length);
    putInt(b, a, p + 8, interfaceId);
    putInt(b, a, p + 12, (int) (ts >>> 32));
    putInt(b, a, p + 16, (int) ts);
    putInt(b, a, p + 20, captured);
    putInt(b, a, p + 24, originalLength);
    int q = p + EPB_HEADER;
    if (padded != captured) {
      putInt(b, a, q + padded - 4, 0); // zero the padding; the data overwrites the front of this word
    }
    if (data != source) {
      source = data;
      sourceAddress = RawMemory.address(data);
    }
    if (a != 0 && sourceAddress != 0) {
      RawMemory.copy(sourceAddress + offset, a + q, captured);
    } else {
      b.put(q, data, offset, captured);
    }
    q += padded;
    if (flags != 0) {
      putInt(b, a, q, optionHeader(EnhancedPacketBlock.OPT_FLAGS, 4));
      putInt(b, a, q + 4, flags);
      q += 8;
    }
    if (drops != 0) {
      putInt(b, a, q, optionHeader(EnhancedPacketBlock.OPT_DROPCOUNT, 8));
      b.putLong(q + 4, drops);
      q += 12;
      pendingDrops[interfaceId] = 0;
    }
    if (mark != null) {
      b.put(q, mark);
      q += mark.length;
    }
    if (process != null) {
      putWords(b, a, q, process.commentWords(), comment);
      q += comment;
      putInt(b, a, q, optionHeader(EnhancedPacketBlock.OPT_PROCESSID_THREADID, 8));
      putInt(b, a, q + 4, process.pid());
      putInt(b, a, q + 8, threadId);
      q += 12;
    }
    if (options != 0) {
      putInt(b, a, q, 0);
      q += 4;
    }
    putInt(b, a, q, length);
    b.position(q + 4);
    out.commit(b, true);
    deliveredTotal[interfaceId]++;
  }

  /**
   * The first {@code length} bytes (a multiple of 4) of {@code words} (native order) at {@code at}: a
   * packet's process comment, every packet. Under C1, as tlscap runs, a bulk put of its two dozen
   * bytes cost four times as much (the array checks and a native copy).
   */
  private static void putWords(ByteBuffer b, long address, int at, long[] words, int length) {
    int i = 0;
    for (; i + 8 <= length; i += 8) {
      if (address != 0) {
        RawMemory.putLong(address + at + i, words[i >> 3]);
      } else {
        b.putLong(at + i, words[i >> 3]);
      }
    }
    if (i < length) { // the last 4 bytes: the first half of the word in memory
      long last = words[i >> 3];
      putInt(b, address, at + i, (int) (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? last : last >>> 32));
    }
  }

  /** An option's code and length (two native-order u16s) as one native-order int. */
  private static int optionHeader(int code, int length) {
    return ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? code | length << 16 : code << 16 | length;
  }

  /** An int in native order at {@code at} of {@code b}, whose memory is at {@code address} unless that is 0. */
  private static void putInt(ByteBuffer b, long address, int at, int value) {
    if (address != 0) {
      RawMemory.putInt(address + at, value);
    } else {
      b.putInt(at, value);
    }
  }

  /** A DSB with the lines of {@code secrets} the file of {@code generation} lacks; allocates nothing. */
  void appendSecrets(BlockOutput out, FlowSecrets secrets, long generation) throws IOException {
    int from = secrets.writtenGeneration == generation ? secrets.writtenLength : 0;
    int n = secrets.length() - from;
    int length = DSB_OVERHEAD + ((n + 3) & ~3);
    ByteBuffer b = out.reserve(length);
    int p = b.position();
    b.putInt(p, DecryptionSecretsBlock.BLOCK_TYPE);
    b.putInt(p + 4, length);
    b.putInt(p + 8, DecryptionSecretsBlock.TLS_KEY_LOG);
    b.putInt(p + 12, n);
    b.putInt(p + length - 8, 0); // padding
    b.put(p + 16, secrets.bytes(), from, n);
    b.putInt(p + length - 4, length);
    b.position(p + length);
    out.commit(b, false);
    secrets.writtenGeneration = generation;
    secrets.writtenLength = secrets.length();
  }

  /** One ISB per interface for the file that spans {@code start} to {@code end}. */
  void appendStatistics(BlockOutput out, InterfaceStatistics.Source source, long start, long end)
      throws IOException {
    for (int id = 0; id < interfaceCount; id++) {
      InterfaceStatistics s = source == null ? null : source.statistics(id);
      if (s == null) {
        s = InterfaceStatistics.UNKNOWN;
      }
      ByteBuffer isb = new BlockBuilder(InterfaceStatisticsBlock.BLOCK_TYPE, ByteOrder.nativeOrder())
          .u32(id).timestamp(end)
          .option(PcapngOptions.OPT_COMMENT, s.comment())
          .optionTimestamp(InterfaceStatisticsBlock.OPT_STARTTIME, start)
          .optionTimestamp(InterfaceStatisticsBlock.OPT_ENDTIME, end)
          .optionU64(InterfaceStatisticsBlock.OPT_IFRECV, s.received())
          .optionU64(InterfaceStatisticsBlock.OPT_IFDROP, s.droppedByInterface())
          .optionU64(InterfaceStatisticsBlock.OPT_OSDROP, s.droppedByOs())
          .optionU64(InterfaceStatisticsBlock.OPT_USRDELIV,
              s.deliveredToUser() >= 0 ? s.deliveredToUser() : deliveredTotal[id])
          .finish();
      out.append(isb);
    }
  }
}
