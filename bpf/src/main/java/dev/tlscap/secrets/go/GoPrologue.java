// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

/**
 * Where to put the entry probe of a Go function, and which calling convention it has, read from
 * its prologue (amd64). Every Go function with a frame starts with a stack check:
 *
 * <pre>
 * register ABI (Go 1.17+, g in R14):  [lea r12,[rsp-N]]  cmp rsp|r12,[r14+0x10]  jbe morestack
 * stack ABI (Go before 1.17):         mov rcx,fs:[-8] (or mov rcx,-8; mov rcx,fs:[rcx])
 *                                     [lea rax,[rsp-N]]  cmp rsp|rax,[rcx+0x10]   jbe morestack
 * </pre>
 *
 * None of these instructions changes an argument register or the stack pointer. The probe goes to
 * the {@code jbe}, which the kernel emulates (arch/x86/kernel/uprobes.c) instead of single-stepping
 * (the instruction at the entry is a {@code lea}/{@code cmp}/{@code mov}: single-stepped), and the
 * BPF program skips the hit when the flags say the branch is taken: morestack then grows the stack
 * and runs the function again from its entry, where the probe fires a second time. A prologue not
 * listed here gives the function's entry (always correct, slower, and a secret may then come twice
 * when the stack grows).
 */
public record GoPrologue(int siteOffset, Abi abi, boolean atStackCheck) {
  /** How the function takes its arguments. */
  enum Abi {
    REGISTER,
    STACK,
    UNKNOWN
  }

  static GoPrologue decode(byte[] c) {
    int at = 0;
    Abi abi = Abi.UNKNOWN;
    boolean compared = false;
    for (int step = 0; step < 5 && at < c.length; step++) {
      if (compared && u8(c, at) == 0x76 && at + 1 < c.length) {
        return new GoPrologue(at, abi, true); // jbe rel8
      }
      if (compared && u8(c, at) == 0x0f && u8(c, at + 1) == 0x86 && at + 5 < c.length) {
        return new GoPrologue(at, abi, true); // jbe rel32
      }
      if (compared) {
        break;
      }
      if (starts(c, at, 0x64, 0x48, 0x8b, 0x0c, 0x25, 0xf8, 0xff, 0xff, 0xff)) {
        at += 9; // mov rcx, fs:[-8]
        abi = Abi.STACK;
      } else if (starts(c, at, 0x48, 0xc7, 0xc1, 0xf8, 0xff, 0xff, 0xff)) {
        at += 7; // mov rcx, -8 (PIE)
        abi = Abi.STACK;
      } else if (starts(c, at, 0x64, 0x48, 0x8b, 0x09)) {
        at += 4; // mov rcx, fs:[rcx]
        abi = Abi.STACK;
      } else if (starts(c, at, 0x4c, 0x8d, 0x64, 0x24) || starts(c, at, 0x48, 0x8d, 0x44, 0x24)) {
        at += 5; // lea r12|rax, [rsp+disp8]
      } else if (starts(c, at, 0x4c, 0x8d, 0xa4, 0x24) || starts(c, at, 0x48, 0x8d, 0x84, 0x24)) {
        at += 8; // lea r12|rax, [rsp+disp32]
      } else if (starts(c, at, 0x49, 0x3b, 0x66, 0x10) || starts(c, at, 0x4d, 0x3b, 0x66, 0x10)) {
        at += 4; // cmp rsp|r12, [r14+0x10]
        abi = Abi.REGISTER;
        compared = true;
      } else if (abi == Abi.STACK && (starts(c, at, 0x48, 0x3b, 0x61, 0x10) || starts(c, at, 0x48, 0x3b, 0x41, 0x10))) {
        at += 4; // cmp rsp|rax, [rcx+0x10]
        compared = true;
      } else {
        break;
      }
    }
    return new GoPrologue(0, abi, false);
  }

  private static boolean starts(byte[] c, int at, int... pattern) {
    if (at + pattern.length > c.length) {
      return false;
    }
    for (int k = 0; k < pattern.length; k++) {
      if ((c[at + k] & 0xff) != pattern[k]) {
        return false;
      }
    }
    return true;
  }

  private static int u8(byte[] c, int at) {
    return at < c.length ? c[at] & 0xff : -1;
  }
}
