// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

/**
 * Where in a function to put an entry uprobe so that it costs least.
 *
 * <p>On x86_64 the kernel either emulates the probed instruction ({@code nop}, {@code push}, and
 * relative {@code jmp}/{@code jcc}/{@code call}), or copies it to a slot and single-steps it, which
 * takes a second exception. Measured on this project's machine (kernel 6.18 in a VM): 1.2 us a hit
 * for {@code nop}/{@code push}, 13.8 us for {@code endbr64} and 15.5 us for {@code mov}. Many
 * functions start with an instruction that must be single-stepped ({@code endbr64}, or OpenSSL's
 * {@code EVP_KDF_derive}: {@code test %rdi,%rdi; je ...}), so the probe goes to the first emulated
 * instruction instead, past leading instructions that change neither the argument registers nor
 * the stack nor memory ({@code endbr64}, {@code test}/{@code cmp} of registers), where the
 * function's arguments are still exactly as at its entry.
 *
 * <p>Conservative: only complete byte patterns listed here are decoded; anything else keeps the
 * probe at the function's first byte (always correct, only slower). Never for return probes.
 */
public final class UprobeSite {
  private static final int MAX_SKIPPED = 3;

  private UprobeSite() {}

  /** The offset in a function of the cheapest equivalent entry-probe site, given its first bytes. */
  public static int entryOffset(byte[] code, String arch) {
    if (!arch.equals("amd64") && !arch.equals("x86_64")) {
      return 0;
    }
    int at = 0;
    for (int skipped = 0; skipped <= MAX_SKIPPED && at < code.length; skipped++) {
      if (emulated(code, at)) {
        return at;
      }
      int length = harmlessLength(code, at);
      if (length == 0) {
        return 0;
      }
      at += length;
    }
    return 0;
  }

  /** Instructions arch/x86/kernel/uprobes.c emulates instead of single-stepping. */
  static boolean emulated(byte[] c, int at) {
    int b0 = u8(c, at);
    if (b0 == 0x90 /* nop */ || (b0 >= 0x50 && b0 <= 0x57) /* push r64 */) {
      return true;
    }
    if (b0 == 0x41 && u8(c, at + 1) >= 0x50 && u8(c, at + 1) <= 0x57) {
      return at + 1 < c.length; // push r8..r15
    }
    if ((b0 >= 0x70 && b0 <= 0x7f) || b0 == 0xeb) {
      return at + 1 < c.length; // jcc rel8, jmp rel8
    }
    if (b0 == 0xe8 || b0 == 0xe9) {
      return at + 4 < c.length; // call rel32, jmp rel32
    }
    if (b0 == 0x0f && u8(c, at + 1) >= 0x80 && u8(c, at + 1) <= 0x8f) {
      return at + 5 < c.length; // jcc rel32
    }
    return false;
  }

  /**
   * The length of an instruction that only sets flags or does nothing ({@code endbr64},
   * {@code test r,r}, {@code cmp r,r}, {@code cmp r,imm8}), or 0 for anything else.
   */
  static int harmlessLength(byte[] c, int at) {
    if (u8(c, at) == 0xf3 && u8(c, at + 1) == 0x0f && u8(c, at + 2) == 0x1e && u8(c, at + 3) == 0xfa) {
      return at + 3 < c.length ? 4 : 0; // endbr64
    }
    int rex = 0;
    if ((u8(c, at) & 0xf0) == 0x40) {
      rex = 1;
    }
    int opcode = u8(c, at + rex);
    int modrm = u8(c, at + rex + 1);
    boolean registers = (modrm & 0xc0) == 0xc0;
    if ((opcode == 0x85 || opcode == 0x39 || opcode == 0x3b) && registers) {
      return at + rex + 1 < c.length ? rex + 2 : 0; // test r,r / cmp r,r
    }
    if (opcode == 0x83 && registers && ((modrm >> 3) & 7) == 7) {
      return at + rex + 2 < c.length ? rex + 3 : 0; // cmp r, imm8
    }
    return 0;
  }

  private static int u8(byte[] c, int at) {
    return at < c.length ? c[at] & 0xff : -1;
  }
}
