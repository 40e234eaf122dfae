// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class JvmTuningTest {
  private static final List<String> PLAIN = List.of("java", "-jar", "tlscap.jar", "-i", "lo", "-w", "out.pcapng");

  @Test
  void aPlainJavaJarGetsEveryOptionBeforeItsOwnWords() {
    assertEquals(List.of("java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmn24m", "-Xmx384m", "-Xms48m",
        JvmTuning.MARKER, "-jar", "tlscap.jar", "-i", "lo", "-w", "out.pcapng"), JvmTuning.tunedCommand(PLAIN, List.of(), 64));
  }

  @Test
  void theHeapBoundFollowsHoldMemory() {
    assertEquals(64, JvmTuning.holdMebibytes(new String[] {"-i", "lo"}));
    assertEquals(1024, JvmTuning.holdMebibytes(new String[] {"--hold-memory", "1024", "-i", "lo"}));
    assertEquals(300, JvmTuning.holdMebibytes(new String[] {"--hold-memory=300"}));
    assertEquals(64, JvmTuning.holdMebibytes(new String[] {"--hold-memory", "lots"}), "its own parsing reports that");
    assertEquals("-Xmx2304m", JvmTuning.tunedCommand(PLAIN, List.of(), 1024).get(4));
  }

  @Test
  void whatTheUserChoseWins() {
    List<String> given = List.of("java", "-XX:+UseG1GC", "-Xmx2g", "-cp", "-Xmn8m", "-jar", "tlscap.jar", "-Xint");
    // -Xmn8m is the class path's value and -Xint one of tlscap's words: neither is the user's JVM option
    assertEquals(List.of("java", "-XX:TieredStopAtLevel=1", "-Xmn24m", JvmTuning.MARKER, "-XX:+UseG1GC", "-Xmx2g", "-cp",
        "-Xmn8m", "-jar", "tlscap.jar", "-Xint"), JvmTuning.tunedCommand(given, List.of(), 64));
    assertEquals(List.of("java", "-XX:+UseSerialGC", "-Xmx384m", JvmTuning.MARKER, "-jar", "tlscap.jar", "-i", "lo", "-w",
        "out.pcapng"), JvmTuning.tunedCommand(PLAIN, List.of("-XX:-TieredCompilation", "-XX:NewSize=64m", "-Xms16m"), 64),
        "JAVA_TOOL_OPTIONS and JDK_JAVA_OPTIONS count as the user's");
    assertNull(JvmTuning.tunedCommand(List.of("java", "-XX:+UseParallelGC", "-Xint", "-Xmn1g", "-Xmx4g", "-jar", "t.jar"),
        List.of(), 64), "nothing to add: no relaunch");
  }

  @Test
  void everyWordOfTheCommandLineIsKeptEmptyOnesToo() {
    assertEquals(List.of("java", "-jar", "t.jar", "-w", "x", ""), JvmTuning.words("java\0-jar\0t.jar\0-w\0x\0\0"));
    assertEquals(List.of(), JvmTuning.words(""));
  }

  @Test
  void theRelaunchedJvmDoesNotRelaunchAgain() {
    assertNull(JvmTuning.tunedCommand(JvmTuning.tunedCommand(PLAIN, List.of(), 64), List.of(), 64));
    assertNull(JvmTuning.tunedCommand(List.of(), List.of(), 64));
  }
}
