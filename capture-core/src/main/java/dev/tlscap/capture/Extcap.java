// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.pcapng.PcapngWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * tlscap as a Wireshark extcap (see extcap(4)): Wireshark and tshark run the launcher that
 * {@code --extcap-install} writes into the user's personal extcap folder, ask it for its interfaces
 * ({@code --extcap-interfaces}: "tlscap: any", "tlscap: lo", ...), their link type
 * ({@code --extcap-dlts}) and options ({@code --extcap-config}: the process filters, {@code --java},
 * {@code --libssl}, {@code --hold}, {@code --socket-tracing}), then run it with {@code --capture
 * --fifo PATH}: tlscap writes its pcapng stream, DSBs before the packets they open, into the FIFO
 * and the capture decrypts as it arrives.
 */
final class Extcap {
  /** The prefix of tlscap's extcap interface names: "tlscap-lo" captures lo. */
  static final String PREFIX = "tlscap-";

  private Extcap() {}

  /** {@code --extcap-interfaces}: the version line, then "any" and every interface of this host. */
  static List<String> interfaces() {
    List<String> lines = new ArrayList<>();
    lines.add("extcap {version=" + version() + "}"
        + "{display=tlscap: TLS captures that decrypt themselves}");
    for (String name : hostInterfaces()) {
      lines.add("interface {value=" + PREFIX + name + "}{display=tlscap: " + name + "}");
    }
    return lines;
  }

  /** "any" first, then the host's interfaces in name order. */
  static List<String> hostInterfaces() {
    List<String> names = new ArrayList<>();
    names.add("any");
    try (var dir = Files.list(Path.of("/sys/class/net"))) {
      dir.map(p -> p.getFileName().toString()).sorted().forEach(names::add);
    } catch (IOException e) {
      names.add("lo");
    }
    return names;
  }

  /** {@code --extcap-dlts}: tlscap writes Ethernet frames (loopback's too); its pcapng IDBs say so per interface. */
  static List<String> dlts(String extcapInterface) {
    return List.of("dlt {number=1}{name=EN10MB}{display=Ethernet (TLS decrypted by its DSBs)}");
  }

  /** {@code --extcap-config}: the options Wireshark shows in the interface's dialog. */
  static List<String> config(String extcapInterface) {
    return List.of(
        "arg {number=0}{call=--comm}{display=Only the TLS secrets of processes named}{type=string}"
            + "{tooltip=--comm NAME: a process name (15 bytes at most); empty: every process}{group=TLS secrets}",
        "arg {number=1}{call=--pid}{display=Only the TLS secrets of process id}{type=integer}{range=0,4194304}"
            + "{default=0}{tooltip=--pid PID; 0: every process}{group=TLS secrets}",
        "arg {number=2}{call=--java}{display=Also key Java programs (loads tlscap's agent into JVMs)}{type=boolflag}"
            + "{default=false}{tooltip=--java: changes the running Java programs}{group=TLS secrets}",
        "arg {number=3}{call=--libssl}{display=Also trace this program (OpenSSL linked in, or Go)}{type=fileselect}"
            + "{mustexist=true}{tooltip=--libssl PATH}{group=TLS secrets}",
        "arg {number=4}{call=--hold}{display=Seconds packets wait for their secrets}{type=double}{default=2}"
            + "{range=0,3600}{tooltip=--hold SECONDS}{group=Capture}",
        "arg {number=5}{call=--socket-tracing}{display=Also key TLS that tlscap does not capture (costs every syscall)}"
            + "{type=boolflag}{default=false}{tooltip=--socket-tracing}{group=Capture}");
  }

  /** The interface an extcap interface name captures: "tlscap-lo" is lo. */
  static String captureInterface(String extcapInterface) {
    if (extcapInterface == null || !extcapInterface.startsWith(PREFIX) || extcapInterface.length() == PREFIX.length()) {
      throw new IllegalArgumentException("--extcap-interface " + extcapInterface + ": tlscap's interfaces are named "
          + PREFIX + "IFACE (see --extcap-interfaces)");
    }
    return extcapInterface.substring(PREFIX.length());
  }

  private static String version() {
    String v = PcapngWriter.DEFAULT_APPLICATION; // "tlscap 0.1.0-SNAPSHOT"
    Matcher m = Pattern.compile("(\\d+\\.\\d+\\.\\d+)").matcher(v);
    return m.find() ? m.group(1) : "0.0.0";
  }

  // ------------------------------------------------------------------ install

  /**
   * {@code --extcap-install}: writes the launcher {@code tlscap} (a shell script that runs this jar
   * with this java) into the personal extcap folder of the user who runs it ({@code $HOME}): the one
   * the installed Wireshark reads, {@code ~/.config/wireshark/extcap} before 4.2,
   * {@code ~/.local/lib/wireshark/extcap} since. Prints where; returns the exit code.
   */
  static int install(PrintStream out, PrintStream err) {
    String home = System.getenv("HOME") != null && !System.getenv("HOME").isEmpty() ? System.getenv("HOME")
        : System.getProperty("user.home");
    int[] wireshark = wiresharkVersion();
    boolean newLayout = wireshark == null || wireshark[0] > 4 || wireshark[0] == 4 && wireshark[1] >= 2;
    Path dir = newLayout ? Path.of(home, ".local", "lib", "wireshark", "extcap") : Path.of(home, ".config", "wireshark", "extcap");
    Path jar;
    try {
      jar = Path.of(Tlscap.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath();
    } catch (URISyntaxException | RuntimeException e) {
      err.println("tlscap: cannot tell where tlscap.jar is; run --extcap-install with java -jar tlscap.jar");
      return 1;
    }
    if (!Files.isRegularFile(jar) || !jar.toString().endsWith(".jar")) {
      err.println("tlscap: --extcap-install needs tlscap run from its jar (java -jar tlscap.jar --extcap-install), not "
          + jar);
      return 1;
    }
    String javaBinary = ProcessHandle.current().info().command().orElse(
        Path.of(System.getProperty("java.home"), "bin", "java").toString());
    Path launcher = dir.resolve("tlscap");
    String script = "#!/bin/sh\n"
        + "# Wireshark extcap launcher for tlscap, written by 'java -jar tlscap.jar --extcap-install'\n"
        + "exec " + shellQuote(javaBinary) + " -jar " + shellQuote(jar.toString()) + " \"$@\"\n";
    try {
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, ".tlscap", ".tmp");
      Files.writeString(tmp, script, StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.move(tmp, launcher, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      err.println("tlscap: cannot write " + launcher + ": " + e.getMessage());
      return 1;
    }
    out.println("tlscap: extcap launcher written to " + launcher + " (for "
        + (wireshark == null ? "Wireshark 4.2 or later; no wireshark or tshark found" : "Wireshark " + wireshark[0] + "." + wireshark[1])
        + "); restart Wireshark: its interface list shows tlscap: any, tlscap: lo, ... ('tshark -D' lists them)."
        + " Capturing needs root: run Wireshark or tshark as root");
    return 0;
  }

  /** The installed Wireshark's (or tshark's) major and minor version, or null when neither runs. */
  static int[] wiresharkVersion() {
    for (String tool : new String[] {"tshark", "wireshark"}) {
      try {
        Process p = new ProcessBuilder(tool, "--version").redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        int[] v = parseVersion(text);
        if (v != null) {
          return v;
        }
      } catch (IOException e) {
        // not installed: try the next
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
    return null;
  }

  /** "TShark (Wireshark) 4.0.17 (...)" or "Wireshark 4.2.2 (...)" -> {4, 0}; null when absent. */
  static int[] parseVersion(String text) {
    Matcher m = Pattern.compile("(?:TShark \\(Wireshark\\)|Wireshark) (\\d+)\\.(\\d+)\\.\\d+").matcher(text);
    return m.find() ? new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))} : null;
  }

  static String shellQuote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }

  static boolean isInfoCall(String[] args) {
    for (String a : args) {
      String l = a.toLowerCase(Locale.ROOT);
      if (l.startsWith("--extcap-interfaces") || l.startsWith("--extcap-dlts") || l.startsWith("--extcap-config")
          || l.startsWith("--extcap-install")) {
        return true;
      }
    }
    return false;
  }

  /**
   * Standard error of an extcap capture: Wireshark shows whatever an extcap writes there as an error,
   * so only tlscap's warnings and errors pass ("tlscap: ..."), not "listening on" or the summary; and
   * the reader going away (Wireshark stopping the capture) is how an extcap capture ends, not an
   * error.
   */
  static final class Stderr extends java.io.OutputStream {
    private final PrintStream to;
    private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
    private boolean readerGone;
    private boolean errors;

    Stderr(PrintStream to) {
      this.to = to;
    }

    @Override
    public synchronized void write(int b) {
      if (b == '\n') {
        String text = line.toString(StandardCharsets.UTF_8);
        line.reset();
        if (text.contains("the reader of the stream went away")) {
          readerGone = true;
        } else if (text.startsWith("tlscap: ")) {
          errors = true;
          to.println(text);
          to.flush();
        }
      } else if (b != '\r') {
        line.write(b);
      }
    }

    /** The exit code: 0 for a capture that ended because Wireshark stopped reading. */
    synchronized int exitCode(int code) {
      return code == 1 && readerGone && !errors ? 0 : code;
    }
  }
}
