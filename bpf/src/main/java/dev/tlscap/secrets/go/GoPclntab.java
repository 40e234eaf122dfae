// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Go's function table ({@code runtime.pclntab}), which every Go binary keeps for stack traces and
 * the garbage collector, stripped ({@code -ldflags=-s -w}) or not: function names and entry
 * addresses without a symbol table. Layouts, from src/runtime/symtab.go and src/debug/gosym/pclntab.go:
 *
 * <pre>
 * magic       Go        header after magic, pad(2), minLC(1), ptrSize(1)         functab entry       _func
 * 0xfffffffb  1.2-1.15  nfunc                                                   (entry, funcoff) ptr  entry ptr, nameoff i32 (from the table)
 * 0xfffffffa  1.16-1.17 nfunc nfiles funcnameOff cuOff filetabOff pctabOff pclnOff (entry, funcoff) ptr  entry ptr, nameoff i32 (from funcnametab)
 * 0xfffffff0  1.18-1.19 nfunc nfiles textStart funcnameOff cuOff filetabOff pctabOff pclnOff
 * 0xfffffff1  1.20+     (as 1.18)                                                 (entryoff, funcoff) u32 entryoff u32, nameoff i32
 * </pre>
 *
 * Found as the section {@code .gopclntab} (non-PIE), {@code .data.rel.ro.gopclntab} (PIE, Go's
 * linker), or, when the external linker merged it into {@code .data.rel.ro} or the file has no
 * section headers, by its header in the file. Every offset is checked against the file; a table
 * that does not check out is not used. Immutable.
 */
final class GoPclntab {
  static final int GO_1_2 = 0xfffffffb;
  static final int GO_1_16 = 0xfffffffa;
  static final int GO_1_18 = 0xfffffff0;
  static final int GO_1_20 = 0xfffffff1;

  private final ByteBuffer b;
  private final long base;
  private final int magic;
  private final int ptrSize;
  private final long nfunc;
  private final long textStart;
  private final long funcnametab;
  private final long functab;

  private GoPclntab(ByteBuffer b, long base, int magic, int ptrSize, long nfunc, long textStart, long funcnametab,
      long functab) {
    this.b = b;
    this.base = base;
    this.magic = magic;
    this.ptrSize = ptrSize;
    this.nfunc = nfunc;
    this.textStart = textStart;
    this.funcnametab = funcnametab;
    this.functab = functab;
  }

  /** The binary's table, or null when it has none (not a Go binary, or one tlscap cannot read). */
  static GoPclntab find(GoElf elf) {
    GoElf.Section s = elf.section(".gopclntab", ".data.rel.ro.gopclntab");
    if (s != null) {
      GoPclntab table = at(elf.buffer(), s.offset());
      if (table != null) {
        return table;
      }
    }
    // merged into .data.rel.ro (external linking), or no section headers: look for a header that checks out
    if (!elf.mayScanForGo()) {
      return null;
    }
    ByteBuffer b = elf.buffer();
    for (GoElf.Segment seg : elf.segments()) {
      long end = Math.min(b.limit() - 64L, seg.offset() + seg.fileSize());
      for (long at = (seg.offset() + 7) & ~7L; at < end; at += 8) {
        int m = b.getInt((int) at);
        if ((m == GO_1_20 || m == GO_1_18 || m == GO_1_16 || m == GO_1_2) && b.getShort((int) at + 4) == 0) {
          GoPclntab table = at(b, at);
          if (table != null && table.entry("runtime.main") >= 0) {
            return table;
          }
        }
      }
    }
    return null;
  }

  /** Parses the header at file offset {@code base}; null unless it is a consistent table. */
  static GoPclntab at(ByteBuffer b, long base) {
    if (base < 0 || base + 72 > b.limit()) {
      return null;
    }
    int magic = b.getInt((int) base);
    int minLc = b.get((int) base + 6);
    int ptrSize = b.get((int) base + 7);
    if (b.getShort((int) base + 4) != 0 || (minLc != 1 && minLc != 2 && minLc != 4) || ptrSize != 8) {
      return null; // tlscap reads 64-bit binaries only
    }
    long nfunc = b.getLong((int) base + 8);
    long textStart = 0;
    long funcnametab;
    long functab;
    switch (magic) {
      case GO_1_2 -> {
        funcnametab = base;
        functab = base + 8 + ptrSize;
      }
      case GO_1_16 -> {
        funcnametab = base + b.getLong((int) base + 8 + 2 * ptrSize);
        functab = base + b.getLong((int) base + 8 + 6 * ptrSize);
      }
      case GO_1_18, GO_1_20 -> {
        textStart = b.getLong((int) base + 8 + 2 * ptrSize);
        funcnametab = base + b.getLong((int) base + 8 + 3 * ptrSize);
        functab = base + b.getLong((int) base + 8 + 7 * ptrSize);
      }
      default -> {
        return null;
      }
    }
    long entrySize = magic == GO_1_18 || magic == GO_1_20 ? 8 : 2L * ptrSize;
    if (nfunc <= 0 || nfunc > 10_000_000 || funcnametab < base || funcnametab >= b.limit() || functab <= base
        || functab + nfunc * entrySize > b.limit()) {
      return null;
    }
    if ((magic == GO_1_18 || magic == GO_1_20) && textStart == 0) {
      return null; // left to a dynamic relocation: not seen from Go's or GNU ld's PIE output, not handled
    }
    return new GoPclntab(b, base, magic, ptrSize, nfunc, textStart, funcnametab, functab);
  }

  int magic() {
    return magic;
  }

  /** Which Go releases write this layout, for messages and tests. */
  String format() {
    return switch (magic) {
      case GO_1_2 -> "Go 1.2-1.15";
      case GO_1_16 -> "Go 1.16-1.17";
      case GO_1_18 -> "Go 1.18-1.19";
      default -> "Go 1.20+";
    };
  }

  long functionCount() {
    return nfunc;
  }

  /** The entry address of function {@code name} (e.g. {@code crypto/tls.(*Config).writeKeyLog}), or -1. */
  long entry(String name) {
    byte[] wanted = name.getBytes(StandardCharsets.UTF_8);
    for (long i = 0; i < nfunc; i++) {
      long func = funcAt(i);
      if (func >= 0 && nameEquals(func, wanted, false)) {
        return entryOf(i);
      }
    }
    return -1;
  }

  /** True when some function's name starts with {@code prefix} (e.g. {@code crypto/tls.}). */
  boolean hasFunctionWithPrefix(String prefix) {
    byte[] wanted = prefix.getBytes(StandardCharsets.UTF_8);
    for (long i = 0; i < nfunc; i++) {
      long func = funcAt(i);
      if (func >= 0 && nameEquals(func, wanted, true)) {
        return true;
      }
    }
    return false;
  }

  private boolean small() {
    return magic == GO_1_18 || magic == GO_1_20;
  }

  /** The file offset of function i's {@code _func}, or -1 when it points outside the file. */
  private long funcAt(long i) {
    long at;
    if (small()) {
      at = functab + Integer.toUnsignedLong(b.getInt((int) (functab + i * 8 + 4)));
    } else {
      long funcoff = b.getLong((int) (functab + i * 16 + 8));
      at = (magic == GO_1_2 ? base : functab) + funcoff;
    }
    return at >= base && at + 16 <= b.limit() ? at : -1;
  }

  private long entryOf(long i) {
    if (small()) {
      return textStart + Integer.toUnsignedLong(b.getInt((int) (functab + i * 8)));
    }
    return b.getLong((int) (functab + i * 16));
  }

  private boolean nameEquals(long func, byte[] wanted, boolean prefix) {
    int nameoff = b.getInt((int) func + (small() ? 4 : ptrSize));
    long at = funcnametab + nameoff;
    if (nameoff < 0 || at + wanted.length + 1 > b.limit()) {
      return false;
    }
    for (int k = 0; k < wanted.length; k++) {
      if (b.get((int) at + k) != wanted[k]) {
        return false;
      }
    }
    return prefix || b.get((int) at + wanted.length) == 0;
  }
}
