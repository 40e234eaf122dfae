// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import java.nio.MappedByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * NSS's freebl functions that {@code libfreeblpriv3.so} does not export, found through the table
 * its one exported function returns: {@code FREEBL_GetVector} ends in {@code lea rax, [rip+X]},
 * the address of {@code FREEBLVector} (lib/freebl/loader.h: {@code unsigned short length, version}
 * then one function pointer per entry, 8 bytes from its start; NSS only appends to it, so an
 * entry's index never changes). In the file each pointer is an {@code R_X86_64_RELATIVE}
 * relocation whose addend is the function's address. No offset table, no debug information.
 * x86_64 only (arm64 builds the address with {@code adrp}/{@code add}: not decoded).
 */
final class FreeblVector {
  /** The exported function that returns the table. */
  static final String GET_VECTOR = "FREEBL_GetVector";
  /** What tlscap calls the functions it reads (never a real symbol name), by their index in FREEBLVector. */
  static final Map<String, Integer> FUNCTIONS = Map.of(
      "freebl:TLS_PRF", 136, "freebl:HMAC_Update", 141, "freebl:HMAC_Finish", 143, "freebl:HMAC_Destroy", 144,
      "freebl:TLS_P_hash", 174);
  private static final int SHT_RELA = 4;
  private static final int R_X86_64_RELATIVE = 8;
  /** The table's version (loader.h FREEBL_VERSION): major 3 since NSS 3. */
  private static final int MAJOR_VERSION = 3;

  private FreeblVector() {}

  /**
   * Adds to {@code code} and {@code offsets} the functions of {@link #FUNCTIONS} that the table
   * {@code FREEBL_GetVector} (at {@code address}, {@code size} bytes) returns holds; nothing when
   * the function or the table is not as described.
   */
  static void resolve(MappedByteBuffer elf, long shoff, int shentsize, int shnum, long address, long size,
      Map<String, byte[]> code, Map<String, Long> offsets) {
    long at = ElfSymbols.fileOffset(elf, shoff, shentsize, shnum, address);
    if (at < 0 || size < 7 || size > 4096 || at + size > elf.limit()) {
      return;
    }
    byte[] function = new byte[(int) size];
    elf.get((int) at, function);
    Map<Long, Long> relative = relativeRelocations(elf, shoff, shentsize, shnum);
    long vector = -1;
    int length = 0;
    for (int i = 0; i + 7 <= function.length; i++) {
      // lea r64, [rip + disp32]: REX.W (or REX.WR), 8d, ModRM with mod 00 and r/m 101
      if ((function[i] & 0xfb) == 0x48 && function[i + 1] == (byte) 0x8d && (function[i + 2] & 0xc7) == 0x05) {
        int disp = (function[i + 3] & 0xff) | (function[i + 4] & 0xff) << 8 | (function[i + 5] & 0xff) << 16
            | function[i + 6] << 24;
        long target = address + i + 7 + disp;
        long header = ElfSymbols.fileOffset(elf, shoff, shentsize, shnum, target);
        if (header >= 0 && header + 4 <= elf.limit() && relative.containsKey(target + 8)) {
          int version = Short.toUnsignedInt(elf.getShort((int) header + 2));
          if (version >> 8 == MAJOR_VERSION) {
            vector = target; // the last one: the function's return value
            length = Short.toUnsignedInt(elf.getShort((int) header));
          }
        }
      }
    }
    if (vector < 0) {
      return;
    }
    for (Map.Entry<String, Integer> f : FUNCTIONS.entrySet()) {
      long slot = vector + 8 + 8L * f.getValue();
      Long target = slot + 8 <= vector + length ? relative.get(slot) : null;
      if (target == null) {
        continue;
      }
      long offset = ElfSymbols.fileOffset(elf, shoff, shentsize, shnum, target);
      if (offset >= 0) {
        code.put(f.getKey(), ElfSymbols.code(elf, shoff, shentsize, shnum, target, elf.limit()));
        offsets.put(f.getKey(), offset);
      }
    }
  }

  /** Every R_X86_64_RELATIVE relocation of the file: where it writes, and the address it writes there. */
  private static Map<Long, Long> relativeRelocations(MappedByteBuffer elf, long shoff, int shentsize, int shnum) {
    Map<Long, Long> relative = new HashMap<>();
    for (int i = 0; i < shnum; i++) {
      int sh = (int) (shoff + (long) i * shentsize);
      if (elf.getInt(sh + 4) != SHT_RELA) {
        continue;
      }
      long offset = elf.getLong(sh + 0x18);
      long length = elf.getLong(sh + 0x20);
      long entsize = elf.getLong(sh + 0x38);
      if (entsize < 24 || offset < 0 || offset + length > elf.limit()) {
        continue;
      }
      for (long r = offset; r + 24 <= offset + length; r += entsize) {
        if ((int) elf.getLong((int) r + 8) == R_X86_64_RELATIVE) {
          relative.put(elf.getLong((int) r), elf.getLong((int) r + 16));
        }
      }
    }
    return relative;
  }
}
