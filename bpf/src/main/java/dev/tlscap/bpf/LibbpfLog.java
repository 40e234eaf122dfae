// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.bpf;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Receives libbpf's log (including the kernel verifier's log) so it never reaches the terminal
 * uncontrolled. In debug mode every line goes to stderr; otherwise the lines of the current
 * operation are kept so that a failure can be explained in one line ({@link #verifierReason}) with
 * the full log attached to the exception for {@code --debug-bpf}.
 *
 * <p>Thread-safe: libbpf calls the callback on the thread doing the operation; lines are collected
 * per thread.
 */
public final class LibbpfLog {
  private static final int MAX_LINES = 20_000;
  private static volatile boolean debug;
  private static volatile PrintStream debugOut = System.err;
  private static final ThreadLocal<List<String>> LINES = ThreadLocal.withInitial(ArrayList::new);
  private static final ThreadLocal<Memory> FORMAT_BUFFER = ThreadLocal.withInitial(() -> new Memory(8192));

  /** Held strongly: libbpf keeps only the native function pointer. */
  private static final LibBpf.PrintFn CALLBACK = LibbpfLog::print;
  private static boolean installed;

  private LibbpfLog() {}

  /** Installs the callback (once). Called by {@link BpfObject} before the first libbpf operation. */
  static synchronized void install() {
    if (!installed) {
      LibBpf.libbpf_set_print(CALLBACK);
      installed = true;
    }
  }

  /** When on, every libbpf line (level debug included) is printed to stderr as it arrives. */
  public static void setDebug(boolean on) {
    debug = on;
  }

  public static boolean debug() {
    return debug;
  }

  static void setDebugOut(PrintStream out) {
    debugOut = out;
  }

  /** Starts collecting this thread's lines afresh. */
  static void begin() {
    LINES.get().clear();
  }

  /** This thread's lines since {@link #begin()}. */
  static String collected() {
    return String.join("", LINES.get());
  }

  /** libbpf prints a whole verifier log (up to 16 MiB) through one "%s"; format those into a buffer that fits. */
  private static final long VERIFIER_LOG_BUFFER = (16L << 20) + 4096;

  private static int print(int level, Pointer format, Pointer vaList) {
    Memory buffer = FORMAT_BUFFER.get();
    if (format.getString(0).contains("PROG LOAD LOG")) {
      buffer = new Memory(VERIFIER_LOG_BUFFER);
    }
    int n = Libc.vsnprintf(buffer, buffer.size(), format, vaList);
    if (n < 0) {
      return 0;
    }
    String line = buffer.getString(0);
    if (debug) {
      debugOut.print(line);
    }
    List<String> lines = LINES.get();
    if (lines.size() < MAX_LINES) {
      lines.add(line);
    }
    return 0;
  }

  /**
   * The verifier's reason for rejecting a program: the last line of the program load log that is
   * not a summary ({@code processed N insns ...}, {@code verification time ...}), or null.
   */
  static String verifierReason(String log) {
    int begin = log.lastIndexOf("-- BEGIN PROG LOAD LOG --");
    int end = log.lastIndexOf("-- END PROG LOAD LOG --");
    if (begin < 0 || end < begin) {
      return null;
    }
    String[] lines = log.substring(begin, end).split("\n");
    for (int i = lines.length - 1; i > 0; i--) {
      String line = lines[i].trim();
      if (line.isEmpty() || line.startsWith("processed ") || line.startsWith("verification time")
          || line.startsWith("stack depth") || line.startsWith("libbpf:")) {
        continue;
      }
      return line;
    }
    return null;
  }

  /** The program named in libbpf's {@code prog 'NAME': ... failed} line, or null. */
  static String failedProgram(String log) {
    int at = log.indexOf("prog '");
    while (at >= 0) {
      int close = log.indexOf('\'', at + 6);
      if (close < 0) {
        return null;
      }
      String rest = log.substring(close, Math.min(log.length(), close + 80));
      if (rest.contains("failed")) {
        return log.substring(at + 6, close);
      }
      at = log.indexOf("prog '", close);
    }
    return null;
  }

  /** The last {@code libbpf:} line that says what failed, for errors without a verifier log. */
  static String lastLibbpfError(String log) {
    String[] lines = log.split("\n");
    for (int i = lines.length - 1; i >= 0; i--) {
      String line = lines[i].trim();
      if (line.startsWith("libbpf:") && (line.contains("fail") || line.contains("error") || line.contains("not found")
          || line.contains("invalid") || line.contains("unsupported") || line.contains("couldn't"))) {
        return line.substring("libbpf:".length()).trim();
      }
    }
    return null;
  }
}
