// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.jsse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What /proc says about a process that may be a JVM: whether it maps {@code libjvm.so} (any
 * launcher, any name), whether it can be attached to yet (its SIGQUIT handler, the attach trigger,
 * is installed once the JVM is up) or never will ({@code -XX:+DisableAttachMechanism} on its
 * command line or in the environment the JVM reads options from), and the uid and gid the
 * attach socket must belong to.
 */
record JvmProcess(Path proc, int pid) {
  static final String DISABLE_ATTACH = "-XX:+DisableAttachMechanism";
  /** The environment variables whose contents the JVM reads as options. */
  private static final List<String> OPTION_VARIABLES = List.of("JAVA_TOOL_OPTIONS=", "JDK_JAVA_OPTIONS=", "_JAVA_OPTIONS=");
  private static final int SIGQUIT = 3;

  /** How lines name a JVM: {@code pid 4242 (java)}. */
  static String display(int pid, String comm) {
    return "pid " + pid + " (" + comm + ")";
  }

  Path dir() {
    return proc.resolve(Integer.toString(pid));
  }

  /** The pids of /proc, ascending. */
  static List<Integer> pids(Path proc) {
    List<Integer> pids = new ArrayList<>();
    try (Stream<Path> entries = Files.list(proc)) {
      entries.forEach(p -> {
        String name = p.getFileName().toString();
        if (!name.isEmpty() && name.chars().allMatch(Character::isDigit)) {
          pids.add(Integer.parseInt(name));
        }
      });
    } catch (IOException | UncheckedIOException e) {
      // an empty list: nothing to attach to
    }
    pids.sort(null);
    return pids;
  }

  /** True when it maps a HotSpot (or other) {@code libjvm.so}; false when it does not or is gone. */
  boolean isJvm() {
    try (Stream<String> maps = Files.lines(dir().resolve("maps"), StandardCharsets.ISO_8859_1)) {
      return maps.anyMatch(line -> line.endsWith("/libjvm.so"));
    } catch (IOException | UncheckedIOException e) {
      return false;
    }
  }

  boolean alive() {
    return Files.isDirectory(dir());
  }

  /** Its name ({@code /proc/PID/comm}), or "?" when it is gone. */
  String comm() {
    try {
      return Files.readString(dir().resolve("comm"), StandardCharsets.ISO_8859_1).strip();
    } catch (IOException e) {
      return "?";
    }
  }

  /**
   * True once the JVM handles SIGQUIT (the Attach API's signal then starts its attach listener
   * instead of killing it), or its attach listener runs already ({@code /tmp/.java_pid<pid in its
   * namespace>}: a JVM with {@code -Xrs} that a tool attached to before).
   */
  boolean readyForAttach() {
    String caught = statusField("SigCgt:");
    if (caught != null && (Long.parseUnsignedLong(caught, 16) & (1L << (SIGQUIT - 1))) != 0) {
      return true;
    }
    String nspids = statusField("NSpid:");
    String nspid = nspids == null ? null : nspids.substring(nspids.lastIndexOf('\t') + 1).strip();
    return nspid != null && Files.exists(dir().resolve("root/tmp/.java_pid" + nspid));
  }

  /** True when the JVM was told to refuse attach (command line, or an options variable of its environment). */
  boolean attachDisabled() {
    return contains(dir().resolve("cmdline"), DISABLE_ATTACH, null)
        || contains(dir().resolve("environ"), DISABLE_ATTACH, OPTION_VARIABLES);
  }

  /** Effective uid and gid ({@code /proc/PID/status}), or null when it is gone. */
  int[] owner() {
    String uid = statusField("Uid:");
    String gid = statusField("Gid:");
    if (uid == null || gid == null) {
      return null;
    }
    return new int[] {Integer.parseInt(uid.split("\\s+")[1]), Integer.parseInt(gid.split("\\s+")[1])};
  }

  private String statusField(String name) {
    try (Stream<String> lines = Files.lines(dir().resolve("status"), StandardCharsets.ISO_8859_1)) {
      return lines.filter(l -> l.startsWith(name)).map(l -> l.substring(name.length()).strip()).findFirst().orElse(null);
    } catch (IOException | UncheckedIOException e) {
      return null;
    }
  }

  /** Whether a NUL-separated /proc file holds {@code text} (in one of the entries starting with {@code prefixes}). */
  private static boolean contains(Path file, String text, List<String> prefixes) {
    try {
      for (String entry : new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1).split("\0")) {
        if ((prefixes == null || prefixes.stream().anyMatch(entry::startsWith)) && entry.contains(text)) {
          return true;
        }
      }
      return false;
    } catch (IOException e) {
      return false;
    }
  }
}
