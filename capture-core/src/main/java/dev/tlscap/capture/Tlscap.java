// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.bpf.BpfAvailability;
import dev.tlscap.bpf.BpfException;
import dev.tlscap.bpf.LibbpfLog;
import dev.tlscap.pcapng.Compression;
import dev.tlscap.pcapng.OutputFileKind;
import dev.tlscap.pcapng.PcapngWriter;
import dev.tlscap.pcapng.RotationPolicy;
import dev.tlscap.pcapng.KeyLogFile;
import dev.tlscap.tc.AttachMode;
import dev.tlscap.tc.CaptureException;
import dev.tlscap.tc.PacketFilter;
import dev.tlscap.capture.text.HumanText;
import dev.tlscap.capture.text.JsonText;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code java -jar tlscap.jar}: captures packets and the TLS secrets of the programs that send them
 * into self-decrypting pcapng files. Exit codes: 0 done, 1 the capture failed, 2 bad usage.
 */
@Command(name = "tlscap", mixinStandardHelpOptions = false, sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
        "Captures packets (eBPF TC) and the TLS secrets of the programs that send them",
        "(eBPF uprobes on their own OpenSSL, BoringSSL, GnuTLS, NSS or Go crypto/tls;",
        "JSSE with --java) into pcapng files that Wireshark decrypts with no key file,",
        "or prints their plaintext (--text). No CA certificate, no proxy, no change",
        "to the traced programs. Needs root."},
    footer = {"",
        "Examples:",
        "  tlscap -i eth0 -w out.pcapng                       capture eth0 until Ctrl-C",
        "  tlscap -i lo -w out.pcapng port 443                only port 443 (in-kernel filter)",
        "  tlscap -w cap.pcapng -C 100 -W 10 --compress zstd  a ring of ten 100 MB files, zstd",
        "  tlscap -G 3600 -w hourly.pcapng --comm nginx       hourly files, nginx's secrets only",
        "  tlscap -i any -w - | wireshark -k -i -             live, decrypted as it arrives",
        "  tlscap -w out.pcapng --libssl /opt/app/server      a program with OpenSSL linked in",
        "  tlscap -i lo --text port 443                       print the plaintext (HTTP/1.x, HTTP/2) as it passes",
        "  tlscap -r out.pcapng --text --text-format json     the same from a file, as JSON lines (no root)",
        "  tlscap --extcap-install                            add tlscap: lo, tlscap: any, ... to Wireshark's interfaces",
        "",
        "Scripts wait for the line starting with 'listening on' on stderr and stop tlscap with SIGINT,",
        "SIGTERM or SIGHUP (also as a background job: 'tlscap ... & kill -INT $!'). Files are created mode 0600:",
        "they hold secrets. Rotated files are named out-00001.pcapng, out-00002.pcapng, ...; each holds",
        "the secrets of the sessions it holds packets of, and each TLS connection that goes on from an",
        "earlier file gets its handshake again there (packets with the comment 'tlscap synthetic'), so",
        "that every file decrypts on its own."})
public final class Tlscap implements Callable<Integer> {
  @Option(names = {"-i", "--interface"}, paramLabel = "IFACE",
      description = "Interface to capture on (repeat for several; 'any' = all that are up, the default).")
  List<String> interfaces = new ArrayList<>();

  @Option(names = "-w", paramLabel = "FILE",
      description = "Write to FILE ('-': standard output, a live pcapng stream; an existing FIFO or device is written into).")
  String output;

  @Option(names = "--text",
      description = "Print each TLS connection's decrypted data on standard output (HTTP/1.x and HTTP/2 as text,"
          + " other data as a hex dump; plain HTTP too), with or without -w.")
  boolean text;

  @Option(names = "--text-max", paramLabel = "BYTES", description = "With --text: the most bytes shown of each message (default 4096).")
  int textMax = 4096;

  @Option(names = "--text-format", paramLabel = "FORMAT", description = "With --text: text (default) or json (one JSON object per line).")
  String textFormat = "text";

  @Option(names = "-r", paramLabel = "FILE",
      description = "With --text: read a pcapng file with TLS secrets (tlscap's, or any with DSBs; .zst/.gz/.xz too;"
          + " '-': standard input) instead of capturing. No root needed.")
  String readFile;

  @Option(names = "--extcap-install",
      description = "Install tlscap into Wireshark's interface list (a launcher in your personal extcap folder).")
  boolean extcapInstall;

  // The extcap protocol (extcap(4)): Wireshark and tshark call these, not people.
  @Option(names = "--extcap-interfaces", hidden = true)
  boolean extcapInterfaces;

  @Option(names = "--extcap-dlts", hidden = true)
  boolean extcapDlts;

  @Option(names = "--extcap-config", hidden = true)
  boolean extcapConfig;

  @Option(names = "--extcap-interface", hidden = true)
  String extcapInterface;

  @Option(names = "--extcap-version", hidden = true)
  String extcapVersion;

  @Option(names = "--capture", hidden = true)
  boolean extcapCapture;

  @Option(names = "--fifo", hidden = true)
  String fifo;

  @Option(names = "--extcap-capture-filter", hidden = true)
  String extcapCaptureFilter;

  @Option(names = {"--extcap-control-in", "--extcap-control-out"}, hidden = true)
  List<String> extcapControl = new ArrayList<>();

  @Option(names = "-c", paramLabel = "COUNT", description = "Stop after COUNT packets.")
  long count;

  @Option(names = "-s", paramLabel = "SNAPLEN", description = "Bytes kept per packet (default 262144, as tcpdump).")
  int snapLength;

  @Option(names = {"-B", "--buffer-size"}, paramLabel = "KIB",
      description = "The kernel's packet buffer in KiB, as tcpdump -B (rounded up to a power of two, 64 KiB to 512 MiB;"
          + " default 32768). Packets that find it full are dropped and counted.")
  Long bufferKibibytes;

  @Option(names = "--secrets-buffer-size", paramLabel = "KIB",
      description = "The kernel's TLS secret buffer in KiB (rounded up to a power of two, 4 KiB to 512 MiB; default 8192)."
          + " Secrets that find it full are lost and counted.")
  Long secretsBufferKibibytes;

  @Option(names = "-C", paramLabel = "SIZE",
      description = "Start a new file when this one is larger than SIZE million bytes (k, m, g suffixes: KiB, MiB, GiB).")
  String fileSize;

  @Option(names = "-G", paramLabel = "SECONDS", description = "Start a new file every SECONDS.")
  String rotateSeconds;

  @Option(names = "-W", paramLabel = "COUNT",
      description = "With -C: keep at most COUNT files (a ring). With -G only: stop after COUNT files.")
  String fileCount;

  @Option(names = "--compress", paramLabel = "ALGO", description = "Compress each completed file: zstd, gzip or xz.")
  String compression;

  @Option(names = "--keylog-file", paramLabel = "FILE", description = "Also write the TLS secrets as an NSS key log (SSLKEYLOGFILE format).")
  Path keyLog;

  @Option(names = "--pid", paramLabel = "PID", description = "Only this process's TLS secrets.")
  int pid;

  @Option(names = "--comm", paramLabel = "NAME", description = "Only the TLS secrets of processes named NAME.")
  String comm;

  @Option(names = "--libssl", paramLabel = "PATH",
      description = "Also read TLS secrets from this ELF file (a program linking OpenSSL 3 statically); repeatable.")
  List<Path> libssl = new ArrayList<>();

  @Option(names = "--duration", paramLabel = "SECONDS", description = "Stop after SECONDS.")
  long duration;

  @Option(names = "--hold", paramLabel = "SECONDS",
      description = "How long a TLS session's packets wait for its secrets (default 2).")
  double holdSeconds = 2;

  @Option(names = "--hold-memory", paramLabel = "MIB", description = "The most memory held-back packets use (default 64 MiB).")
  int holdMebibytes = 64;

  @Option(names = "--port", paramLabel = "PORT", description = "Only packets to or from PORT (repeatable; in-kernel).")
  List<Integer> ports = new ArrayList<>();

  @Option(names = "--host", paramLabel = "ADDR", description = "Only packets to or from ADDR (repeatable; in-kernel).")
  List<String> hosts = new ArrayList<>();

  @Option(names = "-q", description = "No status line while capturing.")
  boolean quiet;

  @Option(names = "--socket-tracing",
      description = "Also follow TLS socket I/O in the kernel to key secrets of traffic tlscap does not capture "
          + "(costs every syscall on the host).")
  boolean socketTracing;

  @Option(names = "--java",
      description = "Also key Java programs (JSSE): load tlscap's agent into running and new JVMs (all, or the "
          + "--pid/--comm ones) with the Attach API. Changes the running programs.")
  boolean java;

  @Option(names = "--tc-mode", paramLabel = "MODE", description = "How to attach to interfaces: auto (default), tcx, clsact.")
  String tcMode = "auto";

  @Option(names = "--debug-bpf", description = "Print libbpf's and the kernel verifier's log.")
  boolean debugBpf;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = {"-V", "--version"}, versionHelp = true, description = "Show the version and what this machine supports.")
  boolean version;

  @Parameters(paramLabel = "FILTER", description = "A filter in tcpdump's syntax (all of it: libpcap compiles what tlscap does not), run in the kernel.")
  List<String> filterWords = new ArrayList<>();

  private final PrintStream err;

  Tlscap(PrintStream err) {
    this.err = err;
  }

  public static void main(String[] args) {
    JvmTuning.relaunch(args); // returns only in a JVM already set for tlscap (or one it cannot relaunch)
    stopOnSigintInBackground();
    System.exit(run(args, System.err));
  }

  /**
   * Makes SIGINT stop tlscap also when it starts with SIGINT ignored, as a background job of a
   * non-interactive shell does ({@code tlscap ... & kill -INT $!}; POSIX shells ignore SIGINT in
   * such jobs): the JVM installs no handler for an ignored signal, so the capture's own handler
   * would never run. tcpdump catches SIGINT regardless; so does tlscap. Until the capture installs its
   * handler, SIGINT exits as the JVM's default handler does (status 130, shutdown hooks run).
   */
  @SuppressWarnings("restriction")
  static void stopOnSigintInBackground() {
    sun.misc.Signal interrupt = new sun.misc.Signal("INT");
    sun.misc.SignalHandler exit = signal -> System.exit(128 + signal.getNumber());
    try {
      sun.misc.SignalHandler previous = sun.misc.Signal.handle(interrupt, exit);
      if (previous == sun.misc.SignalHandler.SIG_IGN) {
        dev.tlscap.bpf.Posix.defaultSigint();
        sun.misc.Signal.handle(interrupt, exit); // not ignored any more: now the JVM installs it
      } else {
        sun.misc.Signal.handle(interrupt, previous); // the JVM's own handler, as it was
      }
    } catch (IllegalArgumentException | LinkageError ignored) {
      // the JVM reserves SIGINT (-Xrs), or no libc through JNA: keep the JVM's behaviour
    }
  }

  /** Runs the command line; returns the exit code. */
  static int run(String[] args, PrintStream err) {
    Tlscap command = new Tlscap(err);
    CommandLine line = new CommandLine(command)
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setParameterExceptionHandler((e, a) -> {
          err.println("tlscap: " + e.getMessage() + " (see tlscap --help)");
          return 2;
        })
        .setExecutionExceptionHandler((e, cl, parse) -> {
          err.println("tlscap: " + oneLine(e));
          return 1;
        });
    line.setErr(new java.io.PrintWriter(err, true));
    try {
      CommandLine.ParseResult parsed = line.parseArgs(args);
      if (parsed.isUsageHelpRequested()) {
        line.usage(System.out);
        return 0;
      }
      if (parsed.isVersionHelpRequested()) {
        System.out.println(PcapngWriter.DEFAULT_APPLICATION);
        for (String fact : BpfAvailability.report()) {
          System.out.println("  " + fact);
        }
        return 0;
      }
    } catch (CommandLine.ParameterException e) {
      err.println("tlscap: " + e.getMessage() + " (see tlscap --help)");
      return 2;
    }
    return line.execute(args);
  }

  @Override
  public Integer call() {
    Integer extcap = extcap();
    if (extcap != null) {
      return extcap;
    }
    if (readFile != null) {
      CaptureConfig.TextOptions options;
      try {
        options = textOptions();
      } catch (IllegalArgumentException e) {
        err.println("tlscap: " + e.getMessage());
        return 2;
      }
      return TextReader.run(readFile, textTap(options), err);
    }
    CaptureConfig config;
    try {
      config = config();
    } catch (IllegalArgumentException e) {
      err.println("tlscap: " + e.getMessage());
      return 2;
    }
    LibbpfLog.setDebug(config.debugBpf());
    if (extcapCapture) {
      Extcap.Stderr filtered = new Extcap.Stderr(err);
      return filtered.exitCode(CaptureLoop.runUntilStopped(config, new PrintStream(filtered, true, StandardCharsets.UTF_8)));
    }
    return CaptureLoop.runUntilStopped(config, err);
  }

  /**
   * The extcap calls (see {@link Extcap}): their exit code, or null when this is none of them or a
   * {@code --capture}, which goes on as a capture into the FIFO.
   */
  private Integer extcap() {
    if (extcapInstall) {
      return Extcap.install(System.out, err);
    }
    try {
      if (extcapInterfaces) {
        Extcap.interfaces().forEach(System.out::println);
        return 0;
      }
      if (extcapDlts) {
        Extcap.captureInterface(extcapInterface);
        Extcap.dlts(extcapInterface).forEach(System.out::println);
        return 0;
      }
      if (extcapConfig) {
        Extcap.captureInterface(extcapInterface);
        Extcap.config(extcapInterface).forEach(System.out::println);
        return 0;
      }
      if (extcapCaptureFilter != null && !extcapCapture) {
        // Wireshark checks a capture filter by calling without --capture: silence and 0 when valid
        try {
          PacketFilter.parse(extcapCaptureFilter);
          return 0;
        } catch (CaptureException e) {
          System.out.println(e.getMessage());
          return 1;
        }
      }
      if (extcapCapture) {
        if (fifo == null) {
          throw new IllegalArgumentException("--capture needs --fifo PATH (Wireshark gives it)");
        }
        interfaces = new ArrayList<>(List.of(Extcap.captureInterface(extcapInterface)));
        output = fifo;
        quiet = true;
        if (extcapCaptureFilter != null && !extcapCaptureFilter.isBlank()) {
          filterWords = new ArrayList<>(List.of(extcapCaptureFilter));
        }
      }
    } catch (IllegalArgumentException e) {
      err.println("tlscap: " + e.getMessage());
      return 2;
    }
    return null;
  }

  /** The {@code --text} printer on standard output. */
  static TextTap textTap(CaptureConfig.TextOptions options) {
    OutputStream stdout = new FileOutputStream(FileDescriptor.out);
    return new TextTap(options.json() ? new JsonText(stdout) : new HumanText(stdout), options.maxBytes());
  }

  /** {@code --text}, {@code --text-max}, {@code --text-format}, {@code -r}: checked; null without --text. */
  private CaptureConfig.TextOptions textOptions() {
    if (!text) {
      if (readFile != null) {
        throw new IllegalArgumentException("-r " + readFile + " reads a file for --text: add --text"
            + " (to look at the packets, open the file in Wireshark)");
      }
      return null;
    }
    if (textMax < 1 || textMax > (64 << 20)) {
      throw new IllegalArgumentException("--text-max " + textMax + ": give 1 to " + (64 << 20) + " bytes");
    }
    boolean json = switch (textFormat) {
      case "text" -> false;
      case "json" -> true;
      default -> throw new IllegalArgumentException("--text-format " + textFormat + ": use text or json");
    };
    if ("-".equals(output)) {
      throw new IllegalArgumentException("--text prints on standard output, and -w - writes the capture there:"
          + " give -w FILE");
    }
    if (readFile != null && output != null) {
      throw new IllegalArgumentException("-r reads a capture and -w writes one: give one of them");
    }
    return new CaptureConfig.TextOptions(json, textMax);
  }

  /** Validates the flags; throws IllegalArgumentException with the one line to print. */
  CaptureConfig config() {
    CaptureConfig.TextOptions textOptions = textOptions();
    if (output == null && textOptions == null) {
      throw new IllegalArgumentException("-w FILE is required: tlscap writes pcapng files ('-w -' streams to standard output;"
          + " --text prints the plaintext)");
    }
    if (output == null && (fileSize != null || rotateSeconds != null || fileCount != null || compression != null)) {
      throw new IllegalArgumentException("-C, -G, -W and --compress need a file (-w FILE)"); // --text alone
    }
    Path out = output == null || output.equals("-") ? null : Path.of(output);
    RotationPolicy rotation = RotationPolicy.fromFlags(fileSize, rotateSeconds, fileCount);
    Compression compress = compression == null ? Compression.NONE : Compression.parse(compression);
    OutputFileKind outKind = OutputFileKind.ABSENT;
    if (out != null) {
      try {
        outKind = OutputFileKind.target(out);
      } catch (java.io.IOException e) {
        outKind = OutputFileKind.ABSENT; // cannot even look: the directory checks below say why
      }
    }
    if (outKind.isStream()) {
      // a FIFO (a live reader), /dev/null, /dev/stdout: written into as it is, as tcpdump does
      if (rotation.rotates() || compress != Compression.NONE) {
        throw new IllegalArgumentException("-C, -G, -W and --compress need a regular file; " + output + " is "
            + outKind.description());
      }
    } else if (outKind == OutputFileKind.OTHER) {
      throw new IllegalArgumentException("cannot write " + output + ": it is " + outKind.description());
    } else if (out != null) {
      Path dir = out.toAbsolutePath().getParent();
      if (dir == null || !Files.isDirectory(dir)) {
        throw new IllegalArgumentException("cannot write " + output + ": directory " + dir + " does not exist");
      }
      if (!Files.isWritable(dir)) {
        throw new IllegalArgumentException("cannot write " + output + ": directory " + dir + " is not writable");
      }
      if (Files.isDirectory(out)) {
        throw new IllegalArgumentException("cannot write " + output + ": it is a directory (give a file name)");
      }
    }
    if (out == null && output != null && rotation.rotates()) {
      throw new IllegalArgumentException("-C, -G and -W need a file (-w FILE), not standard output");
    }
    if (out == null && output != null && compress != Compression.NONE) {
      throw new IllegalArgumentException("--compress needs a file (-w FILE); pipe standard output through a compressor instead");
    }
    if (count < 0) {
      throw new IllegalArgumentException("-c " + count + ": the packet count must be positive");
    }
    if (snapLength < 0 || snapLength > 262144) {
      throw new IllegalArgumentException("-s " + snapLength + ": the snap length must be 0 to 262144 (0 = 262144)");
    }
    if (duration < 0) {
      throw new IllegalArgumentException("--duration " + duration + ": seconds must be positive");
    }
    if (!(holdSeconds >= 0) || holdSeconds > 3600) {
      throw new IllegalArgumentException("--hold " + holdSeconds + ": seconds must be 0 to 3600");
    }
    if (holdMebibytes < 1 || holdMebibytes > 65536) {
      throw new IllegalArgumentException("--hold-memory " + holdMebibytes + ": MiB must be 1 to 65536");
    }
    if (pid < 0) {
      throw new IllegalArgumentException("--pid " + pid + ": not a process id");
    }
    if (pid > 0 && !Files.isDirectory(Path.of("/proc", Integer.toString(pid)))) {
      throw new IllegalArgumentException("--pid " + pid + ": no such process (see 'ps')");
    }
    if (comm != null && (comm.isEmpty() || comm.getBytes(StandardCharsets.UTF_8).length > 15)) {
      throw new IllegalArgumentException("--comm " + comm + ": give a process name of 1 to 15 bytes (the kernel keeps 15)");
    }
    for (Path p : libssl) {
      if (!Files.exists(p)) {
        throw new IllegalArgumentException("--libssl " + p + ": no such file");
      }
    }
    for (int port : ports) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("--port " + port + ": ports are 1 to 65535");
      }
    }
    if (keyLog != null) {
      // Before anything opens: a bad key log must not leave an empty capture where an earlier file was.
      KeyLogFile.check(keyLog);
    }
    AttachMode mode;
    try {
      mode = AttachMode.parse(tcMode);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("--tc-mode " + tcMode + ": use auto, tcx or clsact");
    }
    int packetRing = ringBytes("-B", bufferKibibytes, 64 << 10, CaptureConfig.DEFAULT_PACKET_RING_BYTES);
    int secretRing = ringBytes("--secrets-buffer-size", secretsBufferKibibytes, 4 << 10,
        CaptureConfig.DEFAULT_SECRET_RING_BYTES);
    PacketFilter filter = filter();
    List<String> ifaces = interfaces.isEmpty() ? List.of("any") : List.copyOf(interfaces);
    return new CaptureConfig(ifaces, out, count, snapLength, rotation, compress, keyLog, pid, comm, List.copyOf(libssl),
        duration, (long) (holdSeconds * 1e9), (long) holdMebibytes << 20, filter, quiet, socketTracing, java, mode, debugBpf, packetRing, secretRing, textOptions,
        output != null);
  }

  /** The largest ring buffer: 512 MiB. */
  static final int MAX_RING_BYTES = 512 << 20;

  /**
   * A ring buffer size given in KiB ({@code -B} and the like): rounded up to a power of two (the
   * kernel's BPF ring buffers need one, and a multiple of the page size) and up to {@code minBytes};
   * null gives {@code defaultBytes}.
   */
  static int ringBytes(String flag, Long kibibytes, int minBytes, int defaultBytes) {
    if (kibibytes == null) {
      return defaultBytes;
    }
    if (kibibytes < 1 || kibibytes > MAX_RING_BYTES >> 10) {
      throw new IllegalArgumentException(flag + " " + kibibytes + ": give a size in KiB from 1 to " + (MAX_RING_BYTES >> 10));
    }
    long bytes = Math.max(kibibytes << 10, minBytes);
    return (int) Long.highestOneBit(bytes - 1) << 1;
  }

  private PacketFilter filter() {
    String expression = String.join(" ", filterWords).trim();
    boolean flags = !ports.isEmpty() || !hosts.isEmpty();
    if (!expression.isEmpty() && flags) {
      throw new IllegalArgumentException("give a filter expression or --port/--host, not both");
    }
    try {
      if (flags) {
        return PacketFilter.forPortsAndHosts(ports, hosts);
      }
      return expression.isEmpty() ? PacketFilter.ALL : PacketFilter.parse(expression);
    } catch (CaptureException e) {
      throw new IllegalArgumentException(e.getMessage(), e); // a filter tlscap cannot run is bad usage: exit 2
    }
  }

  /** The message of an error a user can meet, as one line. */
  static String oneLine(Throwable e) {
    Throwable t = e;
    if (t instanceof UncheckedIOException && t.getMessage() != null) {
      return t.getMessage();
    }
    if (t instanceof BpfException || t instanceof CaptureException || t instanceof IllegalArgumentException
        || t instanceof IllegalStateException) {
      return t.getMessage();
    }
    String message = t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    return message.replace('\n', ' ');
  }
}
