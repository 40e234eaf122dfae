// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The probe site decoder moves only past instructions it decodes completely, and only on x86_64. */
class UprobeSiteTest {
  private static int site(String hex) {
    return UprobeSite.entryOffset(HexFormat.of().parseHex(hex.replace(" ", "")), "amd64");
  }

  @Test
  void opensslEvpKdfDeriveSkipsItsTestToTheEmulatedJcc() {
    // libcrypto.so.3 3.0.x: test %rdi,%rdi; je ...; mov (%rdi),%rax
    assertEquals(3, site("48 85 ff 74 13 48 8b 07"));
  }

  @Test
  void emulatedFirstInstructionsStayAtZero() {
    assertEquals(0, site("55 48 89 e5"));      // push %rbp
    assertEquals(0, site("41 57 41 56"));      // push %r15
    assertEquals(0, site("90 48 89 f8"));      // nop
    assertEquals(0, site("e9 10 00 00 00"));   // jmp rel32
  }

  @Test
  void endbr64ThenPushMovesPastEndbr() {
    assertEquals(4, site("f3 0f 1e fa 55 48 89 e5"));
    assertEquals(6, site("f3 0f 1e fa 85 c0 74 05")); // endbr64; test %eax,%eax; je
  }

  @Test
  void anythingUnknownKeepsTheFunctionStart() {
    assertEquals(0, site("48 8b 07 74 13"));      // mov first: single-stepped, but never skipped
    assertEquals(0, site("f3 0f 1e fa 48 8b 07")); // endbr64 then mov: nothing emulated nearby
    assertEquals(0, site("48 85 07 74 13"));      // test with a memory operand: not skipped
    assertEquals(0, site("48 85"));               // cut short
    assertEquals(0, site(""));
    assertEquals(0, UprobeSite.entryOffset(HexFormat.of().parseHex("4885ff7413"), "aarch64"));
  }
}
