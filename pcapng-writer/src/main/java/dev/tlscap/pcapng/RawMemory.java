// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.lang.reflect.Field;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads and writes of a direct buffer's memory by address, through {@code sun.misc.Unsafe}: what
 * every captured packet passes (the ring's record, its headers, its Enhanced Packet Block). tlscap's
 * JVM compiles with C1 only, and under C1 a {@code DirectByteBuffer}'s {@code getInt} or
 * {@code putInt} is a chain of calls (index check, memory scope, byte order) and its bulk
 * {@code put} a call into the VM: here 8 {@code putInt}s cost 33 ns against 7, 40 byte reads 114 ns
 * against 36, a copy of 200 bytes 30 ns against 13 (C1, in cache).
 *
 * <p>Only where the JDK lets it run without warnings (up to 23; JDK 24+ warn on its memory-access
 * methods, JEP 498) and unless {@code -Dtlscap.rawMemory=false}: elsewhere {@link #address} is 0 and
 * the callers use the buffers' own methods, as they do for heap buffers. Nothing here checks an
 * address: the caller checks the buffer's bounds first, and keeps the buffer reachable while it uses
 * the address. (The bpf module's {@code RingMemory} reads its rings' positions the same way; it does not
 * depend on this module.)
 */
public final class RawMemory {
  private static final sun.misc.Unsafe UNSAFE = unsafe();
  /** {@code java.nio.Buffer.address}: a direct buffer's element 0. */
  private static final long ADDRESS = UNSAFE == null ? 0 : addressField();
  private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
  /**
   * Up to this many bytes a copy goes word by word: the VM call of {@code copyMemory} costs more (C1,
   * 4 words a turn: 200 bytes 12 ns, 600 bytes 34 ns against 32 for the call).
   */
  private static final int WORD_COPY_MAX = 512;

  private RawMemory() {}

  private static sun.misc.Unsafe unsafe() {
    if (Runtime.version().feature() >= 24 || !Boolean.parseBoolean(System.getProperty("tlscap.rawMemory", "true"))) {
      return null;
    }
    try {
      Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
      f.setAccessible(true);
      return (sun.misc.Unsafe) f.get(null);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  @SuppressWarnings("deprecation") // objectFieldOffset: deprecated for removal from JDK 18 on, with the rest of these methods
  private static long addressField() {
    try {
      return UNSAFE.objectFieldOffset(Buffer.class.getDeclaredField("address"));
    } catch (ReflectiveOperationException | RuntimeException e) {
      return -1;
    }
  }

  /** True when addresses are in use (else {@link #address} is always 0). */
  public static boolean available() {
    return UNSAFE != null && ADDRESS > 0;
  }

  /** The address of element 0 of {@code b}, or 0 when {@code b} is not direct or raw access is off. */
  public static long address(ByteBuffer b) {
    return ADDRESS > 0 && b.isDirect() ? UNSAFE.getLong(b, ADDRESS) : 0; // (ADDRESS > 0: UNSAFE is there)
  }

  public static byte getByte(long address) {
    return UNSAFE.getByte(address);
  }

  /** The 2 bytes at {@code address} as an unsigned big-endian (network order) number. */
  public static int getU16BigEndian(long address) {
    return (UNSAFE.getByte(address) & 0xff) << 8 | (UNSAFE.getByte(address + 1) & 0xff);
  }

  /** In native byte order. */
  public static int getInt(long address) {
    return UNSAFE.getInt(address);
  }

  /** The 4 bytes at {@code address} read in big-endian (network) order. */
  public static int getIntBigEndian(long address) {
    int v = UNSAFE.getInt(address);
    return LITTLE_ENDIAN ? Integer.reverseBytes(v) : v;
  }

  /** In native byte order. */
  public static long getLong(long address) {
    return UNSAFE.getLong(address);
  }

  /** The 8 bytes at {@code address} read in big-endian (network) order. */
  public static long getLongBigEndian(long address) {
    long v = UNSAFE.getLong(address);
    return LITTLE_ENDIAN ? Long.reverseBytes(v) : v;
  }

  /** In native byte order. */
  public static void putInt(long address, int value) {
    UNSAFE.putInt(address, value);
  }

  /** In native byte order. */
  public static void putLong(long address, long value) {
    UNSAFE.putLong(address, value);
  }

  /** Copies {@code length} bytes; the two ranges do not overlap. */
  public static void copy(long from, long to, int length) {
    if (length > WORD_COPY_MAX) {
      UNSAFE.copyMemory(from, to, length);
      return;
    }
    int i = 0;
    for (; i + 32 <= length; i += 32) { // C1 does not unroll loops
      UNSAFE.putLong(to + i, UNSAFE.getLong(from + i));
      UNSAFE.putLong(to + i + 8, UNSAFE.getLong(from + i + 8));
      UNSAFE.putLong(to + i + 16, UNSAFE.getLong(from + i + 16));
      UNSAFE.putLong(to + i + 24, UNSAFE.getLong(from + i + 24));
    }
    for (; i + 8 <= length; i += 8) {
      UNSAFE.putLong(to + i, UNSAFE.getLong(from + i));
    }
    for (; i < length; i++) {
      UNSAFE.putByte(to + i, UNSAFE.getByte(from + i));
    }
  }
}
