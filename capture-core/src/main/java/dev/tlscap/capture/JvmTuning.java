// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.bpf.Posix;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The JVM tlscap runs in, chosen for it: {@code java -jar tlscap.jar} starts a JVM sized for a
 * server (G1, a heap of a quarter of the machine's memory, C2 compiling in the background), and
 * tlscap is one event loop. Measured with bench/tls-path.sh (openssl s_time against nginx, 7 s):
 * the C2 compiler took 60 % of tlscap's CPU (its inlined crypto methods, 0.3 to 1 s each), C1 alone
 * ran the loop as fast; G1 touched 260 MiB of heap. So {@link #relaunch} replaces the process's
 * program (execv: same process id, descriptors and signal dispositions) with the same command line
 * plus what the user did not choose: the serial collector, C1 only, a 24 MiB young generation, and a
 * heap that starts at 48 MiB (the old generation grows as it fills; G1 and serial start at a 64th of
 * the machine's memory, 384 MiB here: 296 MiB resident after 40 s of handshakes, 217 MiB so) with a
 * bound that follows {@code --hold-memory}.
 *
 * <p>Options the user gave (on the command line, in {@code JAVA_TOOL_OPTIONS} or
 * {@code JDK_JAVA_OPTIONS}) win: a kind the user set is not added. Nothing happens when tlscap is not
 * the JVM's main program (tests calling it), or when the command line cannot be read.
 */
final class JvmTuning {
  /** Set on the relaunched JVM: it does not relaunch again. */
  static final String MARKER = "-Dtlscap.jvm=tuned";

  private static final Pattern GC = Pattern.compile("-XX:[+-]Use\\w*GC");
  private static final Pattern COMPILER = Pattern.compile("-XX:TieredStopAtLevel=.*|-XX:[+-]TieredCompilation|-Xint|-Xcomp");
  private static final Pattern YOUNG = Pattern.compile("-Xmn.*|-XX:(Max)?NewSize=.*|-XX:NewRatio=.*");
  private static final Pattern HEAP = Pattern.compile("-Xmx.*|-XX:MaxHeapSize=.*|-XX:(Max|Initial|Min)RAM(Percentage|Fraction)?=.*");
  private static final Pattern INITIAL_HEAP = Pattern.compile("-Xms.*|-XX:InitialHeapSize=.*");
  /** Launcher options that take the next word as their value. */
  private static final Pattern WITH_VALUE = Pattern.compile("-cp|-classpath|--class-path|-p|--module-path|--upgrade-module-path"
      + "|--add-modules|--add-opens|--add-exports|--add-reads|--limit-modules|--patch-module|--enable-native-access");

  private JvmTuning() {}

  /**
   * Relaunches this JVM with tlscap's options when it is tlscap's own JVM and lacks some; returns
   * (having done nothing) otherwise. Called first thing in {@code main}.
   */
  static void relaunch(String[] args) {
    if (System.getProperty("tlscap.jvm") != null || !isMainProgram() || Extcap.isInfoCall(args)) {
      return; // Wireshark's questions (extcap) are answered at once: no capture, no tuning needed
    }
    List<String> command;
    try {
      command = words(new String(Files.readAllBytes(Path.of("/proc/self/cmdline")), StandardCharsets.UTF_8));
    } catch (IOException | RuntimeException e) {
      return;
    }
    List<String> tuned = tunedCommand(command, environmentOptions(), holdMebibytes(args));
    if (tuned == null) {
      return;
    }
    try {
      Posix.exec("/proc/self/exe", tuned);
    } catch (RuntimeException | LinkageError e) {
      // no libc through JNA, or the exec refused: run on in this JVM as it is
    }
  }

  /**
   * The command line with tlscap's options inserted after the program name, or null when the user
   * set every kind already. {@code command}: this process's argv; {@code environment}: the options
   * of {@code JAVA_TOOL_OPTIONS} and {@code JDK_JAVA_OPTIONS}.
   */
  static List<String> tunedCommand(List<String> command, List<String> environment, long holdMebibytes) {
    if (command.isEmpty()) {
      return null;
    }
    List<String> given = new ArrayList<>(environment);
    given.addAll(launcherOptions(command));
    if (given.contains(MARKER)) {
      return null;
    }
    List<String> add = new ArrayList<>();
    if (given.stream().noneMatch(o -> GC.matcher(o).matches())) {
      add.add("-XX:+UseSerialGC");
    }
    if (given.stream().noneMatch(o -> COMPILER.matcher(o).matches())) {
      add.add("-XX:TieredStopAtLevel=1");
    }
    if (given.stream().noneMatch(o -> YOUNG.matcher(o).matches())) {
      add.add("-Xmn24m");
    }
    if (given.stream().noneMatch(o -> HEAP.matcher(o).matches())) {
      add.add("-Xmx" + (256 + 2 * holdMebibytes) + "m");
      if (given.stream().noneMatch(o -> INITIAL_HEAP.matcher(o).matches())) {
        add.add("-Xms48m"); // the old generation grows as it fills (it starts at a 64th of the machine's memory)
      }
    }
    if (add.isEmpty()) {
      return null;
    }
    List<String> tuned = new ArrayList<>(command.size() + add.size() + 1);
    tuned.add(command.get(0));
    tuned.addAll(add);
    tuned.add(MARKER);
    tuned.addAll(command.subList(1, command.size()));
    return tuned;
  }

  /** The words of a /proc/PID/cmdline: each ends in a NUL; an empty one (an empty filter) stays a word. */
  static List<String> words(String cmdline) {
    return cmdline.isEmpty() ? List.of() : List.of(cmdline.substring(0, cmdline.length() - 1).split("\0", -1));
  }

  /** The JVM options of a java launcher command line: the words before {@code -jar} or the main class. */
  static List<String> launcherOptions(List<String> command) {
    List<String> options = new ArrayList<>();
    for (int i = 1; i < command.size(); i++) {
      String word = command.get(i);
      if (!word.startsWith("-") || word.equals("-jar") || word.equals("-m") || word.equals("--module")) {
        break;
      }
      options.add(word);
      if (WITH_VALUE.matcher(word).matches()) {
        i++;
      }
    }
    return options;
  }

  /** {@code --hold-memory}'s MiB in tlscap's arguments, or its default (64). */
  static long holdMebibytes(String[] args) {
    long hold = 64;
    for (int i = 0; i < args.length; i++) {
      String value = args[i].startsWith("--hold-memory=") ? args[i].substring("--hold-memory=".length())
          : args[i].equals("--hold-memory") && i + 1 < args.length ? args[i + 1] : null;
      if (value != null) {
        try {
          hold = Math.min(Math.max(Long.parseLong(value.trim()), 1), 65_536);
        } catch (NumberFormatException e) {
          // the option's own parsing says what is wrong
        }
      }
    }
    return hold;
  }

  private static List<String> environmentOptions() {
    List<String> options = new ArrayList<>();
    for (String variable : new String[] {"JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS"}) {
      String value = System.getenv(variable);
      if (value != null && !value.isBlank()) {
        options.addAll(List.of(value.trim().split("\\s+")));
      }
    }
    return options;
  }

  /** Whether the JVM was started to run tlscap: {@code java -jar} its jar, or its main class. */
  private static boolean isMainProgram() {
    String command = System.getProperty("sun.java.command", "");
    String first = command.isEmpty() ? "" : command.split(" ", 2)[0];
    if (first.equals(Tlscap.class.getName())) {
      return true;
    }
    if (!first.endsWith(".jar")) {
      return false;
    }
    try {
      Path ours = Path.of(Tlscap.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return Files.isSameFile(ours, Path.of(first));
    } catch (Exception e) {
      return false;
    }
  }
}
