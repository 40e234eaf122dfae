// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.jsse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** /proc as a JVM shows itself (values copied from this machine's /proc): JVM or not, ready, refusing. */
class JvmProcessTest {
  @TempDir Path proc;

  private JvmProcess process(int pid, String maps, String sigCgt, String cmdline, String environ) throws IOException {
    Path dir = Files.createDirectories(proc.resolve(Integer.toString(pid)));
    Files.writeString(dir.resolve("maps"), maps);
    Files.writeString(dir.resolve("status"), "Name:\tjava\nUid:\t0\t65534\t65534\t65534\nGid:\t0\t65533\t65533\t65533\n"
        + "SigCgt:\t" + sigCgt + "\n");
    Files.writeString(dir.resolve("cmdline"), cmdline);
    Files.writeString(dir.resolve("environ"), environ);
    Files.writeString(dir.resolve("comm"), "java\n");
    return new JvmProcess(proc, pid);
  }

  static final String JVM_MAPS = "7f00-7f01 r-xp 00000000 08:01 1234 /usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so\n";

  @Test
  void aReadyJvm() throws IOException {
    JvmProcess jvm = process(101, JVM_MAPS, "0000000101005ccd", "java\0-cp\0.\0Main\0", "HOME=/root\0");
    assertTrue(jvm.isJvm());
    assertTrue(jvm.readyForAttach());
    assertFalse(jvm.attachDisabled());
    assertArrayEquals(new int[] {65534, 65533}, jvm.owner(), "the effective ids");
    assertEquals("java", jvm.comm());
  }

  @Test
  void aJvmStillStartingHasNoSigquitHandler() throws IOException {
    assertFalse(process(102, JVM_MAPS, "0000000000000000", "java\0", "").readyForAttach());
  }

  @Test
  void aJvmWithoutSignalHandlersIsReadyOnceItsAttachListenerRuns() throws IOException {
    JvmProcess jvm = process(107, JVM_MAPS, "0000000000000000", "java\0-Xrs\0Main\0", "");
    Files.writeString(jvm.dir().resolve("status"), "NSpid:\t107\t1\nSigCgt:\t0000000000000000\n");
    assertFalse(jvm.readyForAttach());
    Files.createDirectories(jvm.dir().resolve("root/tmp"));
    Files.writeString(jvm.dir().resolve("root/tmp/.java_pid1"), ""); // its pid in its own namespace
    assertTrue(jvm.readyForAttach());
  }

  @Test
  void notAJvm() throws IOException {
    assertFalse(process(103, "7f00-7f01 r-xp 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n", "0", "", "").isJvm());
  }

  @Test
  void refusalOnTheCommandLineOrInAnOptionsVariable() throws IOException {
    assertTrue(process(104, JVM_MAPS, "4", "java\0-XX:+DisableAttachMechanism\0Main\0", "").attachDisabled());
    assertTrue(process(105, JVM_MAPS, "4", "java\0Main\0", "JAVA_TOOL_OPTIONS=-Xmx1g -XX:+DisableAttachMechanism\0")
        .attachDisabled());
    assertFalse(process(106, JVM_MAPS, "4", "java\0Main\0", "NOTES=-XX:+DisableAttachMechanism\0").attachDisabled(),
        "other variables are not JVM options");
  }

  @Test
  void aProcessGoneIsNoJvmAndHasNoOwner() {
    JvmProcess gone = new JvmProcess(proc, 999);
    assertFalse(gone.isJvm());
    assertFalse(gone.alive());
    assertNull(gone.owner());
    assertFalse(gone.readyForAttach());
  }

  @Test
  void pidsAreTheNumericEntries() throws IOException {
    Files.createDirectories(proc.resolve("12"));
    Files.createDirectories(proc.resolve("3"));
    Files.createDirectories(proc.resolve("self"));
    assertEquals(List.of(3, 12), JvmProcess.pids(proc));
  }
}
