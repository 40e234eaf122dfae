// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets.go;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Finding writeKeyLog in real Go binaries built here (plain, PIE, stripped PIE, static, and PIE
 * linked by gcc, where .gopclntab has no section of its own), checked against {@code go tool nm} of
 * the same build unstripped; and files that are not Go or are damaged. Needs {@code go}, no root.
 */
class GoTlsInspectionTest {
  @TempDir static Path dir;

  /** Each build, and the unstripped build with the same layout that {@code go tool nm} can read. */
  static Stream<Arguments> builds() {
    return Stream.of(
        Arguments.of(GoPrograms.PLAIN, GoPrograms.PLAIN),
        Arguments.of(GoPrograms.STATIC, GoPrograms.STATIC),
        Arguments.of(GoPrograms.PIE, GoPrograms.PIE),
        Arguments.of(GoPrograms.STRIPPED_PIE, GoPrograms.PIE),
        Arguments.of(GoPrograms.EXTERNAL_PIE_STRIPPED, GoPrograms.EXTERNAL_PIE));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("builds")
  void findsWriteKeyLogAndTheGoVersion(GoPrograms.Build build, GoPrograms.Build unstripped) throws Exception {
    GoPrograms.requireGo();
    if (build.name().startsWith("external")) {
      Requirements.requireCommand("gcc", "gcc");
    }
    Path binary = GoPrograms.tlspeer(dir, build);
    long expected = GoPrograms.nmAddress("go", GoPrograms.tlspeer(dir, unstripped), GoTlsTarget.FUNCTION);
    assertTrue(expected > 0, "go tool nm knows writeKeyLog");

    GoTlsInspection inspection = GoTlsInspection.of(binary);
    assertEquals(GoTlsInspection.Kind.TRACEABLE, inspection.kind(), () -> "inspection: " + inspection);
    GoTlsTarget target = inspection.target();
    assertEquals(expected, target.functionAddress(), "the entry address of " + GoTlsTarget.FUNCTION);
    String version = GoPrograms.goVersion("go");
    assertEquals(version, inspection.goVersion());
    int[] release = GoBuildInfo.release(version);
    assertEquals("Go " + release[0] + "." + release[1] + ", crypto/tls", target.description());
    // the register ABI's stack check at the file offset found: lea r12,[rsp-N]; cmp r12,[r14+0x10]; jbe
    assertEquals(GoPrologue.Abi.REGISTER, target.prologue().abi(), () -> "code at the offset: " + code(binary, target));
    assertTrue(target.prologue().atStackCheck(), () -> "code at the offset: " + code(binary, target));
    assertEquals(GoTlsTarget.COOKIE_AT_STACK_CHECK, target.cookie());
    byte[] site = Files.readAllBytes(binary);
    assertEquals(0x0f, site[(int) target.probeOffset()] & 0xff, "the probe sits on the jbe rel32");
    assertEquals(0x86, site[(int) target.probeOffset() + 1] & 0xff);
  }

  private static String code(Path binary, GoTlsTarget target) {
    byte[] all;
    try {
      all = Files.readAllBytes(binary);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return HexFormat.of().formatHex(all, (int) target.functionOffset(), (int) target.functionOffset() + 16);
  }

  @Test
  void aGoProgramWithoutTls(@TempDir Path src) throws Exception {
    GoPrograms.requireGo();
    Files.writeString(src.resolve("go.mod"), "module hello\n\ngo 1.15\n");
    Files.writeString(src.resolve("main.go"), "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n");
    Path out = src.resolve("hello");
    dev.tlscap.testing.Command.run(java.time.Duration.ofMinutes(2), src, Map.of("GOTOOLCHAIN", "local", "GOPROXY", "off"),
        "go", "build", "-ldflags=-s -w", "-o", out.toString(), ".").check();
    GoTlsInspection inspection = GoTlsInspection.of(out);
    assertEquals(GoTlsInspection.Kind.GO_WITHOUT_TLS, inspection.kind());
    assertEquals(GoPrograms.goVersion("go"), inspection.goVersion());
  }

  @Test
  void filesThatAreNotGo(@TempDir Path tmp) throws Exception {
    assertEquals(GoTlsInspection.Kind.NOT_GO, GoTlsInspection.of(Path.of("/bin/sh")).kind(), "a C program");
    Path text = Files.writeString(tmp.resolve("text"), "not an ELF file at all, just some words ".repeat(10));
    assertEquals(GoTlsInspection.Kind.NOT_GO, GoTlsInspection.of(text).kind());
    assertEquals(GoTlsInspection.Kind.NOT_GO, GoTlsInspection.of(tmp.resolve("missing")).kind());
    assertEquals(GoTlsInspection.Kind.NOT_GO, GoTlsInspection.of(tmp).kind(), "a directory");
  }

  @Test
  void damagedGoBinariesGiveAnAnswerNotAnException(@TempDir Path tmp) throws Exception {
    GoPrograms.requireGo();
    byte[] whole = Files.readAllBytes(GoPrograms.tlspeer(dir, GoPrograms.STRIPPED_PIE));
    java.util.Random random = new java.util.Random(13);
    for (int i = 0; i < 40; i++) {
      byte[] copy = whole.clone();
      if (i % 2 == 0) {
        copy = java.util.Arrays.copyOf(copy, random.nextInt(whole.length));
      } else {
        for (int k = 0; k < 2000; k++) {
          copy[random.nextInt(copy.length)] = (byte) random.nextInt();
        }
      }
      Path damaged = Files.write(tmp.resolve("damaged" + i), copy);
      GoTlsInspection inspection = GoTlsInspection.of(damaged);
      assertNotNull(inspection.kind());
      if (inspection.kind() == GoTlsInspection.Kind.TRACEABLE) {
        assertTrue(inspection.target().probeOffset() < copy.length);
      }
      Files.delete(damaged);
    }
  }

  /**
   * Other Go releases (TLSCAP_OTHER_GO): before 1.17 the stack ABI (and before 1.16 the old table),
   * from 1.20 the newest table.
   */
  @Test
  void otherGoReleases() throws Exception {
    for (String go : GoPrograms.otherToolchains()) {
      String version = GoPrograms.goVersion(go);
      int[] release = GoBuildInfo.release(version);
      Path out = Files.createDirectories(dir.resolve(version));
      for (GoPrograms.Build build : new GoPrograms.Build[] {GoPrograms.PLAIN, GoPrograms.STRIPPED_PIE}) {
        Path binary = GoPrograms.tlspeer(go, out, build);
        GoTlsInspection inspection = GoTlsInspection.of(binary);
        String what = version + " " + build.name();
        assertEquals(GoTlsInspection.Kind.TRACEABLE, inspection.kind(), () -> what + ": " + inspection);
        assertEquals(version, inspection.goVersion(), what);
        GoTlsTarget target = inspection.target();
        assertEquals(release[1] >= 17 ? GoPrologue.Abi.REGISTER : GoPrologue.Abi.STACK, target.prologue().abi(),
            () -> what + ": " + code(binary, target));
        assertTrue(target.prologue().atStackCheck(), () -> what + ": " + code(binary, target));
        assertEquals((release[1] >= 17 ? 0 : GoTlsTarget.COOKIE_STACK_ABI) | GoTlsTarget.COOKIE_AT_STACK_CHECK,
            target.cookie(), what);
      }
      long expected = GoPrograms.nmAddress(go, GoPrograms.tlspeer(go, out, GoPrograms.PLAIN), GoTlsTarget.FUNCTION);
      assertEquals(expected, GoTlsInspection.of(out.resolve("tlspeer-plain")).target().functionAddress(), version);
      int magic = GoPclntab.find(GoElf.open(out.resolve("tlspeer-stripped-pie"))).magic();
      int expectedMagic = release[1] >= 20 ? GoPclntab.GO_1_20 : release[1] >= 18 ? GoPclntab.GO_1_18
          : release[1] >= 16 ? GoPclntab.GO_1_16 : GoPclntab.GO_1_2;
      assertEquals(Integer.toHexString(expectedMagic), Integer.toHexString(magic), version + ": the table's layout");
    }
  }

  @Test
  void prologues() {
    HexFormat hex = HexFormat.of();
    // Go 1.19, a frame of 0x88 bytes: lea r12,[rsp-8]; cmp r12,[r14+0x10]; jbe rel32
    GoPrologue big = GoPrologue.decode(hex.parseHex("4c8d6424f84d3b66100f860d0200004881ec88000000"));
    assertEquals(new GoPrologue(9, GoPrologue.Abi.REGISTER, true), big);
    // a small frame: cmp rsp,[r14+0x10]; jbe rel8
    assertEquals(new GoPrologue(4, GoPrologue.Abi.REGISTER, true), GoPrologue.decode(hex.parseHex("493b66107645")));
    // Go 1.15: mov rcx,fs:[-8]; lea rax,[rsp-0x18]; cmp rax,[rcx+0x10]; jbe rel32
    assertEquals(new GoPrologue(18, GoPrologue.Abi.STACK, true),
        GoPrologue.decode(hex.parseHex("64488b0c25f8ffffff488d4424e8483b41100f866c020000")));
    // Go 1.15 PIE: mov rcx,-8; mov rcx,fs:[rcx]; lea rax,[rsp-0x18]; cmp rax,[rcx+0x10]; jbe
    assertEquals(new GoPrologue(20, GoPrologue.Abi.STACK, true),
        GoPrologue.decode(hex.parseHex("48c7c1f8ffffff64488b09488d4424e8483b41100f866c020000")));
    // something else: the entry, ABI unknown
    assertEquals(new GoPrologue(0, GoPrologue.Abi.UNKNOWN, false), GoPrologue.decode(hex.parseHex("f30f1efa4883ec08")));
    // cut short before the jbe: the entry
    assertEquals(new GoPrologue(0, GoPrologue.Abi.REGISTER, false), GoPrologue.decode(hex.parseHex("4c8d6424f84d3b6610")));
  }

  @Test
  void releases() {
    assertArrayEquals(new int[] {1, 19}, GoBuildInfo.release("go1.19.8"));
    assertArrayEquals(new int[] {1, 21}, GoBuildInfo.release("go1.21rc2"));
    assertArrayEquals(new int[] {1, 9}, GoBuildInfo.release("go1.9"));
    assertEquals(null, GoBuildInfo.release("devel +abc"));
    assertEquals(null, GoBuildInfo.release(null));
  }
}
