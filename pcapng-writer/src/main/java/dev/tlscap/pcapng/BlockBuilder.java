// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Encodes one pcapng block (header, body, options, trailing length) into a heap buffer. Used for the
 * blocks written once per file or per interface (SHB, IDB, ISB); the per-packet EPB and DSB are
 * encoded in place by {@link PcapngWriter}. The byte order is a parameter so tests can build
 * big-endian sections. Not thread-safe; allocates.
 */
final class BlockBuilder {
  private ByteBuffer b;
  private boolean hasOptions;

  BlockBuilder(int blockType, ByteOrder order) {
    b = ByteBuffer.allocate(256).order(order);
    b.putInt(blockType).putInt(0);
  }

  BlockBuilder u16(int v) {
    room(2).putShort((short) v);
    return this;
  }

  BlockBuilder u32(int v) {
    room(4).putInt(v);
    return this;
  }

  BlockBuilder u64(long v) {
    room(8).putLong(v);
    return this;
  }

  /** A pcapng timestamp: the high 32 bits, then the low 32 bits. */
  BlockBuilder timestamp(long v) {
    return u32((int) (v >>> 32)).u32((int) v);
  }

  /** Raw bytes padded with zeros to a multiple of 4. */
  BlockBuilder padded(byte[] v) {
    room(pad(v.length)).put(v);
    b.position(b.position() + pad(v.length) - v.length);
    return this;
  }

  BlockBuilder option(int code, byte[] value) {
    if (value.length > 0xFFFF) {
      throw new IllegalArgumentException("option " + code + " value of " + value.length + " bytes exceeds 65535");
    }
    hasOptions = true;
    u16(code).u16(value.length);
    return padded(value);
  }

  /** A UTF-8 string option; null or empty writes nothing. */
  BlockBuilder option(int code, String value) {
    return value == null || value.isEmpty() ? this : option(code, value.getBytes(StandardCharsets.UTF_8));
  }

  /** A 64-bit option; negative writes nothing. */
  BlockBuilder optionU64(int code, long value) {
    if (value < 0) {
      return this;
    }
    return option(code, ByteBuffer.allocate(8).order(b.order()).putLong(value).array());
  }

  /** A timestamp option (high then low 32 bits). */
  BlockBuilder optionTimestamp(int code, long value) {
    return option(code, ByteBuffer.allocate(8).order(b.order()).putInt((int) (value >>> 32)).putInt((int) value).array());
  }

  /** Ends the options (if any), appends the trailing length and returns the block, ready to read. */
  ByteBuffer finish() {
    if (hasOptions) {
      u32(0); // opt_endofopt
    }
    int length = b.position() + 4;
    u32(length);
    b.putInt(4, length);
    b.flip();
    return b.asReadOnlyBuffer().order(b.order());
  }

  static int pad(int n) {
    return (n + 3) & ~3;
  }

  private ByteBuffer room(int n) {
    if (b.remaining() < n) {
      ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + n)).order(b.order());
      b.flip();
      bigger.put(b);
      b = bigger;
    }
    return b;
  }
}
