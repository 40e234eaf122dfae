// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.Command;
import dev.tlscap.testing.Requirements;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input through the real jar: one line naming the cause and the fix, non-zero exit, nothing left behind. */
@Tag("e2e")
class CommandLineIT {
  @TempDir Path dir;

  @Test
  void anUnknownInterfaceAttachesNothingAndLeavesNoFile() {
    Requirements.requireRoot();
    String before = Command.run(Duration.ofSeconds(10), "bpftool", "link", "show").stdout();
    Path out = dir.resolve("never.pcapng");
    Command.Result r = TlscapProcess.run(Duration.ofSeconds(60), "-i", "nosuch7", "-w", out.toString());
    assertEquals(1, r.exitCode());
    assertEquals("tlscap: no such interface 'nosuch7' (see 'ip link')", r.stderr().strip(), "one line, nothing else");
    assertFalse(Files.exists(out), "no file left behind");
    assertEquals(before.lines().filter(l -> l.contains("tlscap")).count(),
        Command.run(Duration.ofSeconds(10), "bpftool", "link", "show").stdout().lines().filter(l -> l.contains("tlscap")).count(),
        "no probe or TC link left attached");
  }

  @Test
  void withoutPrivilegesOneLineAndExit1() {
    Requirements.requireRoot();
    Requirements.requireCommand("setpriv", "util-linux");
    Path out = dir.resolve("nopriv.pcapng");
    java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("setpriv", "--reuid=65534", "--regid=65534",
        "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"));
    argv.addAll(TlscapProcess.command("-i", "lo", "-w", "/tmp/tlscap-nopriv-" + ProcessHandle.current().pid() + ".pcapng"));
    Command.Result r = Command.run(Duration.ofSeconds(60), argv.toArray(new String[0]));
    assertEquals(1, r.exitCode(), r.stderr());
    assertEquals("tlscap: needs root or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (run it with sudo)", r.stderr().strip(),
        "one line, nothing else");
    assertFalse(Files.exists(out));
  }

  @Test
  void usageErrorsAreOneLineWithExit2() {
    assertUsage("tlscap: -w FILE is required: tlscap writes pcapng files ('-w -' streams to standard output;"
        + " --text prints the plaintext)", "-i", "lo");
    assertUsage("tlscap: --text prints on standard output, and -w - writes the capture there: give -w FILE",
        "--text", "-w", "-");
    assertUsage("tlscap: -r x.pcapng reads a file for --text: add --text (to look at the packets, open the file in"
        + " Wireshark)", "-r", "x.pcapng");
    assertUsage("tlscap: --text-format xml: use text or json", "--text", "--text-format", "xml");
    assertUsage("tlscap: --text-max 0: give 1 to 67108864 bytes", "--text", "--text-max", "0");
    assertUsage("tlscap: -C, -G, -W and --compress need a file (-w FILE)", "--text", "-G", "60");
    assertUsage("tlscap: cannot write /nonexistent/x.pcapng: directory /nonexistent does not exist",
        "-w", "/nonexistent/x.pcapng");
    assertUsage("tlscap: unknown compression 'lz4' for --compress: expected zstd, gzip or xz",
        "-w", dir.resolve("a.pcapng").toString(), "--compress", "lz4");
    Command.Result bad = TlscapProcess.run(Duration.ofSeconds(30), "-w", dir.resolve("b.pcapng").toString(), "-C", "ten");
    assertEquals(2, bad.exitCode());
    assertTrue(bad.stderr().startsWith("tlscap: invalid file size 'ten' for -C"), bad.stderr());
    assertEquals(1, bad.stderr().strip().lines().count(), bad.stderr());
    for (String filter : new String[] {"port 22 and (", "host no-such-host.invalid", "port foo"}) {
      Command.Result unsupported = TlscapProcess.run(Duration.ofSeconds(30), "-w", dir.resolve("f.pcapng").toString(), filter);
      assertEquals(2, unsupported.exitCode(), filter + ": " + unsupported.stderr());
      assertTrue(unsupported.stderr().startsWith("tlscap: the filter '" + filter + "' does not compile: "), unsupported.stderr());
      assertEquals(1, unsupported.stderr().strip().lines().count(), unsupported.stderr());
      assertFalse(Files.exists(dir.resolve("f.pcapng")));
    }
    Command.Result unknown = TlscapProcess.run(Duration.ofSeconds(30), "--frobnicate");
    assertEquals(2, unknown.exitCode());
    assertEquals(1, unknown.stderr().strip().lines().count(), unknown.stderr());
  }

  /** A bad --keylog-file fails before the capture file opens: an earlier capture at -w stays as it was. */
  @Test
  void aBadKeyLogFileLeavesAnEarlierCaptureAsItWas() throws Exception {
    Path out = dir.resolve("earlier.pcapng");
    Files.writeString(out, "an earlier capture");
    Path keyLogDir = Files.createDirectory(dir.resolve("keys"));
    Command.Result r = TlscapProcess.run(Duration.ofSeconds(60), "-i", "lo", "-w", out.toString(),
        "--keylog-file", keyLogDir.toString());
    assertEquals(2, r.exitCode(), r.stderr());
    assertEquals("tlscap: cannot write key log file " + keyLogDir + ": it is a directory (give a file name)",
        r.stderr().strip());
    assertEquals("an earlier capture", Files.readString(out));
  }

  private void assertUsage(String expected, String... args) {
    Command.Result r = TlscapProcess.run(Duration.ofSeconds(30), args);
    assertEquals(2, r.exitCode(), r.stderr());
    assertEquals(expected, r.stderr().strip());
  }

  @Test
  void helpAndVersion() {
    Command.Result help = TlscapProcess.run(Duration.ofSeconds(30), "--help");
    assertEquals(0, help.exitCode());
    assertTrue(help.stdout().contains("Examples:") && help.stdout().contains("-w=FILE"), help.stdout());
    Command.Result version = TlscapProcess.run(Duration.ofSeconds(30), "--version");
    assertEquals(0, version.exitCode());
    assertTrue(version.stdout().startsWith("tlscap "), version.stdout());
  }

  /**
   * A background job of a non-interactive shell starts with SIGINT ignored (POSIX); tcpdump still stops
   * on {@code kill -INT}, and so must tlscap: it completes its file and prints its summary.
   */
  @Test
  void aBackgroundJobOfAScriptStopsOnSigint() throws Exception {
    Requirements.requireRoot();
    Path out = dir.resolve("background.pcapng");
    Path err = dir.resolve("tlscap.err");
    String script = String.join("\n",
        "sleep 30 & probe=$!; echo \"probe SigIgn $(awk '/^SigIgn/ {print $2}' /proc/$probe/status)\"; kill $probe",
        "\"$@\" 2>\"$ERR\" &",
        "pid=$!",
        "for i in $(seq 600); do grep -q 'listening on' \"$ERR\" && break; kill -0 $pid 2>/dev/null || exit 90; sleep 0.1; done",
        "kill -INT $pid",
        "for i in $(seq 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done",
        "if kill -0 $pid 2>/dev/null; then kill -KILL $pid; echo 'still running 30 s after SIGINT'; exit 91; fi",
        "wait $pid");
    java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("bash", "-c", script, "bash"));
    argv.addAll(TlscapProcess.command("-q", "-i", "lo", "-w", out.toString(), "port", "9"));
    Command.Result r = Command.run(Duration.ofSeconds(120), null, java.util.Map.of("ERR", err.toString()),
        argv.toArray(new String[0]));
    String stderr = Files.exists(err) ? Files.readString(err) : "";
    java.util.regex.Matcher ignored = java.util.regex.Pattern.compile("probe SigIgn ([0-9a-f]+)").matcher(r.stdout());
    assertTrue(ignored.find() && (Long.parseLong(ignored.group(1), 16) & 2) != 0,
        "the premise: a background job of bash -c starts with SIGINT ignored: " + r.stdout());
    assertEquals(0, r.exitCode(), r.stdout() + stderr);
    ExitSummary.of(stderr); // the summary: it stopped through its own handler, not the default action
    CaptureFiles.assertComplete(out); // and completed its file (ISBs at the end)
  }

  /** {@code mkfifo f; tshark -r f & tlscap -w f}: the reader gets the capture, the FIFO stays (as tcpdump). */
  @Test
  void aFifosReaderGetsTheCapture() throws Exception {
    Requirements.requireRoot();
    Requirements.requireCommand("tshark", "tshark");
    Path fifo = dir.resolve("live");
    Command.run(Duration.ofSeconds(10), "mkfifo", fifo.toString()).check();
    int port = 20000 + (int) (ProcessHandle.current().pid() % 20000);
    try (Command.Background reader = Command.Background.start(dir, java.util.Map.of(), "tshark",
        "--disable-protocol", "pmproxy", "-r", fifo.toString(), "-T", "fields", "-e", "udp.dstport")) {
      try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", fifo.toString(), "udp", "dst", "port",
          Integer.toString(port))) {
        for (int i = 0; i < 5; i++) {
          Command.sh(Duration.ofSeconds(10), "echo hello > /dev/udp/127.0.0.1/" + port).check();
        }
        Thread.sleep(300);
        assertEquals(0, tlscap.interrupt(), tlscap.stderr());
        assertEquals(5, ExitSummary.of(tlscap.stderr()).captured(), tlscap.stderr());
      }
      assertTrue(reader.process().waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "tshark reads to the end");
      assertEquals(0, reader.process().exitValue(), reader.stderr());
      assertEquals(java.util.Collections.nCopies(5, Integer.toString(port)), reader.stdout().strip().lines().toList());
    }
    assertTrue(Files.readAttributes(fifo, java.nio.file.attribute.BasicFileAttributes.class,
        java.nio.file.LinkOption.NOFOLLOW_LINKS).isOther(), "the FIFO is still there");
    Command.Result rotating = TlscapProcess.run(Duration.ofSeconds(30), "-w", fifo.toString(), "-C", "10");
    assertEquals(2, rotating.exitCode(), rotating.stderr());
    assertEquals("tlscap: -C, -G, -W and --compress need a regular file; " + fifo + " is a FIFO", rotating.stderr().strip());
  }

  /**
   * {@code -w /dev/null} (here a private node of the same device: a regression must not delete the
   * machine's /dev/null) captures and leaves the device; a symbolic link is followed, not replaced.
   */
  @Test
  void aDeviceIsWrittenIntoAndASymbolicLinkFollowed() throws Exception {
    Requirements.requireRoot();
    Path devNull = dir.resolve("null");
    Command.run(Duration.ofSeconds(10), "mknod", "-m", "666", devNull.toString(), "c", "1", "3").check();
    try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", devNull.toString(), "udp", "dst", "port", "9")) {
      assertEquals(0, tlscap.interrupt(), tlscap.stderr());
    }
    assertEquals("c", Command.run(Duration.ofSeconds(10), "stat", "-c", "%F", devNull.toString()).check().stdout()
        .substring(0, 1), "still a character device");

    Path target = dir.resolve("real.pcapng");
    Path link = Files.createSymbolicLink(dir.resolve("link.pcapng"), target.getFileName());
    try (TlscapProcess tlscap = TlscapProcess.start(dir, "-i", "lo", "-w", link.toString(), "udp", "dst", "port", "9")) {
      assertEquals(0, tlscap.interrupt(), tlscap.stderr());
    }
    assertTrue(Files.isSymbolicLink(link), "the link is still a link");
    CaptureFiles.assertComplete(target);
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
  }
}
