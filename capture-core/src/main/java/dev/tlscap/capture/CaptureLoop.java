// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.bpf.BpfException;
import dev.tlscap.bpf.Posix;
import dev.tlscap.capture.jsse.JavaHint;
import dev.tlscap.capture.jsse.JavaSecretSource;
import dev.tlscap.capture.tls.SecretMatcher;
import dev.tlscap.pcapng.CaptureFileListener;
import dev.tlscap.pcapng.Direction;
import dev.tlscap.pcapng.InterfaceDescription;
import dev.tlscap.pcapng.InterfaceStatistics;
import dev.tlscap.pcapng.PcapngWriteException;
import dev.tlscap.pcapng.PcapngWriter;
import dev.tlscap.pcapng.KeyLogFile;
import dev.tlscap.secrets.TlsSecret;
import dev.tlscap.tc.CaptureInterface;
import dev.tlscap.tc.CaptureListener;
import dev.tlscap.tc.InterfaceCounters;
import dev.tlscap.tc.PacketCapture;
import dev.tlscap.tc.PacketCaptureOptions;
import dev.tlscap.tc.PacketDirection;
import dev.tlscap.tc.PacketEvent;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The capture's event loop: one Netty epoll thread opens the secret sources, the packet capture and
 * the writer; drains the packet ring (on wakeups) and the secret rings (every 10 ms) into the
 * {@link ConnectionTable}, which decides what is written when; and on a signal, {@code -c},
 * {@code --duration} or the last {@code -G}/{@code -W} file, stops, completes the files, detaches
 * everything and prints the summary.
 *
 * <p>Everything but {@link #requestStop} runs on the event-loop thread, so the merge needs no
 * locks. {@link #runUntilStopped} is the whole command.
 */
final class CaptureLoop {
  /** How often the rings are drained without a wakeup (the secret ring never wakes anyone). */
  static final long DRAIN_MILLIS = 10;
  /** Packets drained between two looks at the clock (for the secrets chores). */
  static final int DRAIN_BATCH_BETWEEN_CHORES = 4_096;

  private final CaptureConfig config;
  private final PrintStream err;
  private final boolean statusLine;
  private final MultiThreadIoEventLoopGroup group;
  private final IoEventLoop loop;
  private final CompletableFuture<String> stopped = new CompletableFuture<>();
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final AtomicBoolean secondSignal = new AtomicBoolean();

  // Everything below: event-loop thread only.
  private PacketCapture capture;
  private SecretSources secrets;
  /** Set on the event loop, read by the signal thread (a second Ctrl-C). */
  private volatile PcapngWriter writer;
  private KeyLogFile keyLog;
  /** {@code --text}, or null. */
  private TextTap text;
  private CaptureFileSink sink;
  private ConnectionTable table;
  /** Without --java: whether sessions without secrets were a JVM's (the summary says so once). */
  private JavaHint javaHint;
  private IoRegistration packetRegistration;
  private IoRegistration execRegistration;
  private int[] linkTypes = new int[0];
  private boolean[] loopback = new boolean[0];
  private final CapturedPacket packet = new CapturedPacket();
  private final CaptureStats stats = new CaptureStats();
  private long startNanos;
  private long lastSecond;
  private long lastRescan;
  private long lastSecretsDrain;
  private int librariesTraced;
  private String statusShown = "";

  private CaptureLoop(CaptureConfig config, PrintStream err) {
    this.config = config;
    this.err = err;
    // --text prints on the terminal: a status line redrawn on it would cut through the messages
    this.statusLine = !config.quiet() && config.text() == null && Posix.isTerminal(2);
    this.group = new MultiThreadIoEventLoopGroup(1, r -> {
      Thread t = new Thread(() -> {
        raisePriority();
        r.run();
      }, "tlscap-loop");
      t.setDaemon(true);
      return t;
    }, EpollIoHandler.newFactory());
    this.loop = group.next();
  }

  /** The nice value of the event-loop thread. */
  static final int LOOP_NICE = -10;

  /**
   * Runs the event loop ahead of ordinary processes (nice -10): it is the only consumer of the packet
   * ring, and when the traced programs keep every CPU busy a consumer scheduled late lets the ring
   * overflow (measured: 3% of packets dropped at 250k packets/s with 2 CPUs saturated).
   */
  private static void raisePriority() {
    try {
      Posix.setThreadNice(LOOP_NICE);
    } catch (LinkageError ignored) {
      // an unusual libc: keep the default priority
    }
  }

  /** The command: runs the capture until it is stopped; returns the exit code. Errors are one line on {@code err}. */
  static int runUntilStopped(CaptureConfig config, PrintStream err) {
    CaptureLoop pipeline = new CaptureLoop(config, err);
    try {
      pipeline.start();
    } catch (StartFailure e) {
      err.println("tlscap: " + e.getMessage());
      pipeline.group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      return 1;
    }
    pipeline.onSignals();
    String reason;
    try {
      reason = pipeline.stopped.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      reason = "interrupted";
    } catch (ExecutionException e) {
      err.println("tlscap: " + Tlscap.oneLine(e.getCause()));
      reason = null;
    }
    pipeline.group.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    return reason == null || reason.startsWith("error") ? 1 : 0;
  }

  static final class StartFailure extends Exception {
    private static final long serialVersionUID = 1L;

    StartFailure(String message) {
      super(message, null, false, false);
    }
  }

  private void start() throws StartFailure {
    try {
      loop.submit(this::open).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartFailure("interrupted while starting");
    } catch (ExecutionException e) {
      throw new StartFailure(Tlscap.oneLine(e.getCause()));
    }
  }

  /** SIGINT and SIGTERM stop the capture cleanly (files complete, everything detached) with exit code 0. */
  @SuppressWarnings("restriction")
  private void onSignals() {
    sun.misc.SignalHandler handler = signal -> requestStop("signal " + signal.getName());
    for (String name : List.of("INT", "TERM", "HUP")) {
      try {
        sun.misc.Signal.handle(new sun.misc.Signal(name), handler);
      } catch (IllegalArgumentException ignored) {
        // the JVM reserves it (e.g. when run with -Xrs)
      }
    }
  }

  /** Asks the event loop to stop; callable from any thread, more than once. */
  void requestStop(String reason) {
    if (stopping.compareAndSet(false, true)) {
      loop.execute(() -> shutdown(reason));
    } else if (reason.startsWith("signal")) {
      PcapngWriter w = writer;
      if (w != null && secondSignal.compareAndSet(false, true)) {
        w.abandonCompression(); // the one thing that can take long: files stay complete, uncompressed, counted
        err.println("tlscap: stopping now; files not compressed yet stay uncompressed");
      } else {
        err.println("tlscap: stopping, please wait (files are being completed)");
      }
    }
  }

  // ------------------------------------------------------------------ start

  /**
   * What opening found (libraries traced, warnings), printed once the capture is listening: when
   * opening fails, the failure is the only line.
   */
  private final List<String> startupLines = new ArrayList<>();

  /** On the event loop: secrets, packets, writer, in that order; undo everything on failure. */
  private Void open() {
    try {
      openSecrets();
      openPackets();
      if (config.keyLog() != null) {
        keyLog = KeyLogFile.open(config.keyLog()); // before the writer: a failure here leaves no capture file behind
      }
      openWriter();
      long limit = config.packetCount() > 0 ? config.packetCount() : Long.MAX_VALUE;
      sink = new CaptureFileSink(writer, keyLog, stats, limit);
      if (config.text() != null) {
        text = Tlscap.textTap(config.text());
        sink.text(text, id -> linkTypes[id]);
      }
      table = new ConnectionTable(sink, stats, new ConnectionTable.Limits(config.holdNanos(), config.holdBytes(), limit),
          new SecretMatcher(matcherTtlNanos(config.holdNanos()), SecretMatcher.DEFAULT_MAX_CANDIDATES));
      if (config.rotation().rotates()) {
        table.carryOver = new CarryOver(sink, stats, config.holdBytes());
      }
      if (!config.java()) {
        javaHint = new JavaHint(Path.of("/proc"));
        table.releasedWithoutSecrets = javaHint::releasedWithoutSecrets;
      }
    } catch (RuntimeException e) {
      closeAll();
      throw e;
    }
    startNanos = System.nanoTime();
    lastSecond = startNanos;
    lastRescan = startNanos;
    packetRegistration = registerPacketRing();
    if (secrets.execRingFd() >= 0) {
      // a program that starts is looked at within a fraction of a millisecond, before most of its TLS
      execRegistration = watchRing(secrets.execRingFd(), secrets::drainPrograms, "the exec ring");
    }
    loop.scheduleAtFixedRate(this::tick, DRAIN_MILLIS, DRAIN_MILLIS, TimeUnit.MILLISECONDS);
    if (config.durationSeconds() > 0) {
      loop.schedule(() -> requestStop("duration"), config.durationSeconds(), TimeUnit.SECONDS);
    }
    startupLines.forEach(err::println);
    startupLines.clear();
    List<String> names = new ArrayList<>();
    for (CaptureInterface i : capture.interfaces()) {
      names.add(i.name());
    }
    err.println("listening on " + String.join(", ", names) + "; TLS secrets from " + librariesTraced
        + (librariesTraced == 1 ? " library" : " libraries")
        + (config.filter().expression().isEmpty() ? "" : "; filter '" + config.filter().expression() + "'"));
    return null;
  }

  /**
   * Secrets wait for their connection at least as long as a connection's packets wait for them
   * ({@code --hold}, up to an hour), and never less than the matcher's default.
   */
  static long matcherTtlNanos(long holdNanos) {
    return Math.max(SecretMatcher.DEFAULT_TTL_NANOS, holdNanos + 1_000_000_000L);
  }

  private void openSecrets() {
    secrets = SecretSources.open(config, this::secretSourceMessage, loop);
    if (librariesTraced == 0) {
      startupLines.add("tlscap: warning: no OpenSSL 3 library or Go program found yet; packets are captured, TLS"
          + " stays encrypted until one starts (name a program that links OpenSSL statically with --libssl)");
    }
  }

  /** A line from a secret source: a library it began to trace, or a warning. */
  private void secretSourceMessage(String line) {
    boolean library = line.startsWith("TLS secrets from");
    if (library) {
      librariesTraced++;
    }
    if (library && config.quiet()) {
      return;
    }
    if (packetRegistration == null) {
      startupLines.add("tlscap: " + line); // printed once listening
    } else {
      err.println("tlscap: " + line);
    }
  }

  private void openPackets() {
    PacketCaptureOptions options = PacketCaptureOptions.builder()
        .interfaces(config.interfaces())
        .snapLength(config.snapLength())
        .filter(config.filter())
        .attachMode(config.attachMode())
        .ringBytes(config.packetRingBytes())
        // the tick drains every DRAIN_MILLIS: a wakeup for the first packet after a quiet spell would
        // see it no sooner, and costs the sending CPU an interrupt (~50 per second under load)
        .wakeupIntervalNanos(0)
        .listener(new CaptureListener() {
          @Override
          public void interfaceAdded(CaptureInterface iface) {
            if (writer != null) {
              addInterface(iface);
            }
          }

          @Override
          public void interfaceGone(CaptureInterface iface) {
            // -i any waits for interfaces to come up; named ones that are all gone end the capture, as in tcpdump
            if (!config.interfaces().contains(PacketCaptureOptions.ANY) && !anyInterfaceActive()) {
              requestStop("error: no interface left");
            }
          }

          @Override
          public void notice(String line) {
            err.println("tlscap: " + line);
          }
        })
        .build();
    capture = PacketCapture.open(options);
  }

  private boolean anyInterfaceActive() {
    for (CaptureInterface i : capture.interfaces()) {
      if (capture.isActive(i.id())) {
        return true;
      }
    }
    return false;
  }

  private void openWriter() {
    PcapngWriter.Builder builder = PcapngWriter.builder()
        .rotation(config.rotation())
        .compression(config.compression())
        .statistics(this::interfaceStatistics)
        .listener(new CaptureFileListener() {
          @Override
          public void fileOpened(Path file) {
            stats.fileStarted();
          }

          @Override
          public void writeFailed(PcapngWriteException failure) {
            err.println("tlscap: " + failure.getMessage());
            requestStop("error: write failed");
          }

          @Override
          public void compressionFailed(Path file, String message) {
            err.println("tlscap: " + message);
          }

          @Override
          public void warning(String message) {
            err.println("tlscap: " + message);
          }

          @Override
          public void captureComplete(int files) {
            requestStop("the last file (-W) is complete");
          }
        });
    try {
      writer = !config.writesFile() ? builder.open(java.io.OutputStream.nullOutputStream()) // --text alone
          : config.toStdout() ? builder.open(new FileOutputStream(java.io.FileDescriptor.out))
          : builder.open(config.output());
    } catch (PcapngWriteException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
    for (CaptureInterface iface : capture.interfaces()) {
      addInterface(iface);
    }
  }

  private void addInterface(CaptureInterface iface) {
    int id = writer.addInterface(new InterfaceDescription(iface.name(), iface.description(), iface.linkType().value(),
        capture.snapLength(), config.filter().expression().isEmpty() ? null : config.filter().expression(),
        "Linux " + dev.tlscap.bpf.BpfAvailability.kernelRelease()));
    if (id != iface.id()) {
      throw new IllegalStateException("interface ids diverged: writer " + id + ", capture " + iface.id());
    }
    if (linkTypes.length <= id) {
      linkTypes = java.util.Arrays.copyOf(linkTypes, Math.max(id + 1, linkTypes.length * 2));
    }
    linkTypes[id] = iface.linkType().value();
    if (loopback.length <= id) {
      loopback = java.util.Arrays.copyOf(loopback, linkTypes.length);
    }
    loopback[id] = iface.loopback();
  }

  /** The packet ring's fd on the event loop: EPOLLIN when the classifier woke us up. */
  private IoRegistration registerPacketRing() {
    return watchRing(capture.fd(), this::drainPackets, "the packet ring");
  }

  /** A ring buffer's fd on the event loop: {@code drain} runs when the kernel side woke us up. */
  private IoRegistration watchRing(int ringFd, Runnable drain, String what) {
    FileDescriptor fd = new FileDescriptor(ringFd);
    EpollIoHandle handle = new EpollIoHandle() {
      @Override
      public FileDescriptor fd() {
        return fd;
      }

      @Override
      public void handle(IoRegistration registration, IoEvent event) {
        drain.run();
      }

      @Override
      public void close() {
        // the fd belongs to the BPF map, closed with its object
      }
    };
    try {
      IoRegistration registration = loop.register(handle).get();
      registration.submit(EpollIoOps.EPOLLIN);
      return registration;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot watch " + what + " on the event loop: " + e.getCause().getMessage(),
          e.getCause());
    }
  }

  // ------------------------------------------------------------------ the loop

  /** Every 10 ms: drain both rings; hold-back deadlines; once a second the slower chores. */
  private void tick() {
    if (stopping.get()) {
      return;
    }
    // Netty never runs a periodic task again once it threw: nothing may leave this method, an Error
    // included (the capture stops with the error's line, its files completed).
    try {
      drainPackets();
      secretsChores(System.nanoTime());
      long now = System.nanoTime();
      if (now - lastSecond >= 1_000_000_000L) {
        lastSecond = now;
        everySecond(now);
      }
      if (config.toStdout()) {
        writer.flush();
      }
      sink.flushText();
      if (sink.textFailure() != null) {
        requestStop(sink.textFailure());
      }
    } catch (Throwable e) {
      err.println("tlscap: " + Tlscap.oneLine(e));
      requestStop("error: " + e);
    }
  }

  /** Drains the secret rings and writes the flows whose hold time ran out; at least every {@link #DRAIN_MILLIS}. */
  private void secretsChores(long now) {
    lastSecretsDrain = now;
    drainSecrets();
    table.releaseExpired(System.nanoTime());
  }

  private void everySecond(long now) {
    capture.maintain();
    stats.secretsLost = secrets.counters().lost();
    writer.tick(System.currentTimeMillis() * 1_000_000L);
    table.everySecond(now);
    if (keyLog != null) {
      keyLog.flush();
    }
    if (now - lastRescan >= 5_000_000_000L) {
      lastRescan = now;
      secrets.scan(); // libraries of programs (containers) started since
    }
    if (statusLine) {
      showStatus();
    }
  }

  private final dev.tlscap.tc.PacketHandler packetHandler = this::onPacket;
  /**
   * The monotonic time of the packets of one drain (at most {@link #DRAIN_BATCH_BETWEEN_CHORES}, a few
   * ms at most): the table's clock for them. A clock read per packet was 2.5 % of the loop under
   * keep-alive HTTPS load; hold deadlines and quiet times are in tens of milliseconds and more.
   */
  private long batchNanos;

  /**
   * Drains the packet ring. Under overload the ring never empties: every {@link #DRAIN_MILLIS} the
   * secrets are drained and hold deadlines checked in between, so a packet flood cannot starve them.
   */
  private void drainPackets() {
    int n;
    do {
      batchNanos = System.nanoTime();
      n = capture.drain(packetHandler, DRAIN_BATCH_BETWEEN_CHORES);
      long now = System.nanoTime();
      if (n == DRAIN_BATCH_BETWEEN_CHORES && now - lastSecretsDrain >= DRAIN_MILLIS * 1_000_000L) {
        secretsChores(now);
      }
    } while (n == DRAIN_BATCH_BETWEEN_CHORES && !stopping.get());
    if (config.packetCount() > 0 && stats.packetsWritten >= config.packetCount()) {
      requestStop("-c");
    }
  }

  private final java.util.function.Consumer<TlsSecret> secretHandler = s -> table.onSecret(s, System.nanoTime());

  private void drainSecrets() {
    secrets.drain(secretHandler);
  }

  private void onPacket(PacketEvent p) {
    int id = p.interfaceId();
    if (id < 0 || id >= linkTypes.length) {
      stats.packetsNotWritten++;
      return;
    }
    Direction direction = p.direction() == PacketDirection.INBOUND ? Direction.INBOUND : Direction.OUTBOUND;
    packet.set(id, p.timestampNanos(), p.data(), p.dataOffset(), p.capturedLength(), p.originalLength(), direction);
    table.onPacket(packet, linkTypes[id], loopback[id], batchNanos);
  }

  // ------------------------------------------------------------------ statistics

  /** The ISB of interface {@code id}, written at the end of each file. */
  private InterfaceStatistics interfaceStatistics(int id) {
    InterfaceCounters c = capture.counters(id);
    long delivered = sink != null ? sink.written(id) : 0;
    return new InterfaceStatistics(c.received(), c.dropped(), 0, delivered, id == 0 ? stats.statisticsComment() : null);
  }

  private void showStatus() {
    Path file = writer.currentFile();
    String line = stats.statusLine(capture.totalCounters().dropped(),
        file == null ? null : file.getFileName() + " " + CaptureStats.humanBytes(writer.currentFileSize()));
    if (!line.equals(statusShown)) {
      err.print("\r" + line + "\033[K");
      err.flush();
      statusShown = line;
    }
  }

  // ------------------------------------------------------------------ stop

  /** On the event loop: the last packets and secrets, every held flow, the files, the kernel objects. */
  private void shutdown(String reason) {
    try {
      if (capture != null && table != null) {
        // Detach first, so nothing more arrives; then everything the kernel handed over is drained
        // and the counters read after add up (received = written + dropped).
        capture.detach();
        drainSecrets();
        do {
          batchNanos = System.nanoTime();
        } while (capture.drain(packetHandler, DRAIN_BATCH_BETWEEN_CHORES) > 0); // to empty
        drainSecrets();
        stats.secretsLost = secrets.counters().lost();
        table.releaseAll();
      }
      if (text != null) {
        text.close(); // the last messages of connections still open
      }
    } catch (RuntimeException e) {
      err.println("tlscap: " + Tlscap.oneLine(e));
    }
    InterfaceCounters total = capture != null ? capture.totalCounters() : InterfaceCounters.ZERO;
    closeAll();
    if (writer != null) {
      // packets the writer took but lost with its buffer when writing failed (a full disk)
      stats.packetsWritten -= writer.packetsDiscarded();
      stats.packetsNotWritten += writer.packetsDiscarded();
    }
    if (statusLine && !statusShown.isEmpty()) {
      err.println();
    }
    summary(total);
    stopped.complete(reason);
  }

  private void summary(InterfaceCounters total) {
    err.println(stats.packetsLine(total.dropped()) + (writer != null && writer.filesNotCompressed() > 0
        ? "; " + writer.filesNotCompressed() + " completed files not compressed" : ""));
    JavaSecretSource java = secrets != null ? secrets.java() : null;
    err.println(stats.secretsLine(keyLog != null, table != null ? table.matcher().summary() : null)
        + (java != null ? "; " + java.summary() : ""));
    if (text != null) {
      err.println(text.summary() + (sink.textFailure() != null ? "; stopped: " + sink.textFailure() : ""));
    }
    String hint = javaHint != null ? javaHint.summaryLine() : null;
    if (hint != null) {
      err.println("tlscap: " + hint);
    }
  }

  /** Closes whatever is open, in reverse order of opening; never throws. */
  private void closeAll() {
    if (packetRegistration != null) {
      packetRegistration.cancel();
      packetRegistration = null;
    }
    if (execRegistration != null) {
      execRegistration.cancel();
      execRegistration = null;
    }
    if (writer != null) {
      try {
        writer.close();
      } catch (RuntimeException e) {
        err.println("tlscap: " + Tlscap.oneLine(e));
      }
    }
    if (keyLog != null) {
      try {
        keyLog.close();
      } catch (RuntimeException e) {
        err.println("tlscap: " + Tlscap.oneLine(e));
      }
    }
    if (capture != null) {
      try {
        capture.close();
      } catch (RuntimeException e) {
        err.println("tlscap: " + Tlscap.oneLine(e));
      }
    }
    if (secrets != null) {
      secrets.close();
    }
  }
}
