// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The Go version a binary was built with, from its build info ({@code .go.buildinfo}, Go 1.13+; see
 * src/debug/buildinfo/buildinfo.go): a 32-byte header {@code "\xff Go buildinf:"}, pointer size,
 * flags; with flag 2 (Go 1.18+) the version follows inline as a varint-prefixed string, before it
 * the header holds a pointer to the {@code runtime.buildVersion} string header. Stripped binaries
 * keep it. Found by section name, else by its 16-byte aligned header in the writable segments.
 */
final class GoBuildInfo {
  private static final byte[] MAGIC = "\u00ff Go buildinf:".getBytes(StandardCharsets.ISO_8859_1);
  private static final int HEADER = 32;

  private GoBuildInfo() {}

  /** E.g. {@code go1.19.8}, or null when the binary carries none that tlscap can read. */
  static String version(GoElf elf) {
    ByteBuffer b = elf.buffer();
    GoElf.Section s = elf.section(".go.buildinfo");
    if (s != null && magicAt(b, s.offset())) {
      return parse(elf, s.offset());
    }
    if (!elf.mayScanForGo()) {
      return null;
    }
    for (GoElf.Segment seg : elf.segments()) {
      long end = Math.min(b.limit() - HEADER, seg.offset() + seg.fileSize());
      for (long at = (seg.offset() + 15) & ~15L; at < end; at += 16) {
        if (magicAt(b, at)) {
          return parse(elf, at);
        }
      }
    }
    return null;
  }

  private static boolean magicAt(ByteBuffer b, long at) {
    if (at < 0 || at + HEADER > b.limit()) {
      return false;
    }
    for (int k = 0; k < MAGIC.length; k++) {
      if (b.get((int) at + k) != MAGIC[k]) {
        return false;
      }
    }
    return true;
  }

  private static String parse(GoElf elf, long at) {
    ByteBuffer b = elf.buffer();
    int ptrSize = b.get((int) at + 14);
    int flags = b.get((int) at + 15);
    if ((flags & 1) != 0 || ptrSize != 8) {
      return null; // big-endian or 32-bit: not a binary tlscap traces
    }
    if ((flags & 2) != 0) {
      long p = at + HEADER;
      long length = 0;
      for (int shift = 0; shift < 35 && p < b.limit(); shift += 7) {
        int x = b.get((int) p++);
        length |= (long) (x & 0x7f) << shift;
        if ((x & 0x80) == 0) {
          return text(b, p, length);
        }
      }
      return null;
    }
    long header = elf.fileOffset(b.getLong((int) at + 16)); // &runtime.buildVersion: {ptr, len}
    if (header < 0 || header + 16 > b.limit()) {
      return null;
    }
    long data = elf.fileOffset(b.getLong((int) header));
    return text(b, data, b.getLong((int) header + 8));
  }

  private static String text(ByteBuffer b, long at, long length) {
    if (at < 0 || length <= 0 || length > 64 || at + length > b.limit()) {
      return null;
    }
    byte[] raw = new byte[(int) length];
    b.get((int) at, raw);
    String version = new String(raw, StandardCharsets.ISO_8859_1);
    return version.startsWith("go") || version.startsWith("devel") ? version : null;
  }

  /** {@code go1.19.8} -> {1, 19}; {@code go1.21rc2} -> {1, 21}; null when it is not a release version. */
  static int[] release(String version) {
    if (version == null || !version.startsWith("go1.")) {
      return null;
    }
    int i = 4;
    int minor = 0;
    while (i < version.length() && Character.isDigit(version.charAt(i))) {
      minor = minor * 10 + (version.charAt(i++) - '0');
    }
    return i > 4 ? new int[] {1, minor} : null;
  }
}
