// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * What a test needs from the machine (root, a command, a kernel feature).
 *
 * <p>Outside CI a missing requirement skips the test with the reason. When the environment variable
 * {@code CI} is set, a missing requirement <b>fails</b> the test: CI runs as root on a machine where
 * every tier must really run, so a skip there would hide a broken test.
 */
public final class Requirements {
  private Requirements() {}

  /** True when running in CI (the {@code CI} environment variable is set and not empty). */
  public static boolean inCi() {
    String ci = System.getenv("CI");
    return ci != null && !ci.isEmpty() && !ci.equals("false");
  }

  /** Skips (outside CI) or fails (in CI) the calling test unless {@code ok}. */
  public static void require(boolean ok, String what) {
    if (ok) {
      return;
    }
    if (inCi()) {
      fail("CI requires this test to run, but: " + what);
    }
    Assumptions.abort(what);
  }

  /** Root (uid 0): kernel tests load BPF programs and attach uprobes and TC filters. */
  public static void requireRoot() {
    require(isRoot(), "needs root (it loads BPF programs); run as root or set up CAP_BPF etc.");
  }

  /** A command on PATH, e.g. {@code requireCommand("tshark", "tshark")}. */
  public static void requireCommand(String command, String debianPackage) {
    require(onPath(command), command + " not found (apt-get install -y " + debianPackage + ")");
  }

  public static boolean isRoot() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return line.split("\\s+")[2].equals("0");
        }
      }
    } catch (IOException e) {
      return false;
    }
    return false;
  }

  public static boolean onPath(String command) {
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String dir : path.split(":")) {
      if (Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    for (String dir : new String[] {"/usr/sbin", "/sbin"}) {
      if (Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }
}
