// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.bpf.BpfException;
import dev.tlscap.bpf.Libc;
import dev.tlscap.capture.tls.SecretMatcher;
import dev.tlscap.capture.tls.TlsStream;
import dev.tlscap.pcapng.CaptureFileListener;
import dev.tlscap.pcapng.Direction;
import dev.tlscap.pcapng.FlowSecrets;
import dev.tlscap.pcapng.InterfaceDescription;
import dev.tlscap.pcapng.InterfaceStatistics;
import dev.tlscap.pcapng.PcapngWriteException;
import dev.tlscap.pcapng.PcapngWriter;
import dev.tlscap.pcapng.ProcessAnnotation;
import dev.tlscap.secrets.KeyLogFile;
import dev.tlscap.secrets.TlsEventListener;
import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecretEvent;
import dev.tlscap.secrets.TlsSecretSource;
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
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The capture: one Netty event loop drains the packet ring and the TLS secret ring, joins them in a
 * connection table, holds each TLS session's packets back until the secrets that decrypt it are in,
 * and writes pcapng files whose DSBs precede the packets they decrypt.
 *
 * <p>Everything but {@link #requestStop} runs on the event-loop thread, so the merge needs no
 * locks. {@link #runUntilStopped} is the whole command: start, wait for a signal, {@code -c},
 * {@code --duration} or the last {@code -G}/{@code -W} file, stop, print the summary.
 */
final class CapturePipeline {
  /** How often the rings are drained without a wakeup (the secret ring never wakes anyone). */
  static final long DRAIN_MILLIS = 10;
  static final int DRAIN_BATCH = 65_536;
  /** A connection without packets for this long leaves the table. */
  static final long IDLE_NANOS = 120_000_000_000L;
  static final long CLOSED_NANOS = 5_000_000_000L;
  static final int MAX_FLOWS = 262_144;
  /**
   * On lo both ends of a connection are on this host: a fully keyed flow waits this long for the
   * second process's copy of its secrets, so each packet is annotated with the process that sent it.
   */
  static final long PEER_PROCESS_GRACE_NANOS = 50_000_000L;

  private final CaptureConfig config;
  private final PrintStream err;
  private final boolean statusLine;
  private final MultiThreadIoEventLoopGroup group;
  private final IoEventLoop loop;
  private final CompletableFuture<String> stopped = new CompletableFuture<>();
  private final AtomicBoolean stopping = new AtomicBoolean();

  // Everything below: event-loop thread only.
  private PacketCapture capture;
  private TlsSecretSource secrets;
  private PcapngWriter writer;
  private KeyLogFile keyLog;
  private IoRegistration packetRegistration;
  private int[] linkTypes = new int[0];
  private boolean[] loopback = new boolean[0];
  private int interfaceOfPacket;
  private final PacketHeaders headers = new PacketHeaders();
  private final FlowKey probe = new FlowKey();
  private final LinkedHashMap<FlowKey, TcpFlow> flows = new LinkedHashMap<>(1024, 0.75f, true);
  private final Map<TlsStream, TcpFlow> flowOfStream = new IdentityHashMap<>();
  /** Held connections whose 4-tuple a new connection took ({@link #retire}): they wait outside the table. */
  private final List<TcpFlow> retired = new ArrayList<>();
  private final Map<Integer, ProcessAnnotation> processes = new LinkedHashMap<>(64, 0.75f, true) {
    private static final long serialVersionUID = 1L;

    @Override
    protected boolean removeEldestEntry(Map.Entry<Integer, ProcessAnnotation> eldest) {
      return size() > 4096;
    }
  };
  private SecretMatcher matcher;
  private final CaptureStats stats = new CaptureStats();
  private long heldBytes;
  private long startNanos;
  private long lastSecond;
  private long lastRescan;
  private int librariesTraced;
  private String statusShown = "";

  private CapturePipeline(CaptureConfig config, PrintStream err) {
    this.config = config;
    this.err = err;
    this.statusLine = !config.quiet() && Libc.isatty(2) == 1;
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
      Libc.setpriority(0 /* PRIO_PROCESS: a thread id on Linux */, Libc.gettid(), LOOP_NICE);
    } catch (LinkageError ignored) {
      // an unusual libc: keep the default priority
    }
  }

  /** The command: runs the capture until it is stopped; returns the exit code. Errors are one line on {@code err}. */
  static int runUntilStopped(CaptureConfig config, PrintStream err) {
    CapturePipeline pipeline = new CapturePipeline(config, err);
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
      err.println("tlscap: stopping, please wait (files are being completed)");
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
      openWriter();
      if (config.keyLog() != null) {
        keyLog = KeyLogFile.open(config.keyLog());
      }
    } catch (RuntimeException e) {
      closeAll();
      throw e;
    }
    startNanos = System.nanoTime();
    lastSecond = startNanos;
    lastRescan = startNanos;
    packetRegistration = registerPacketRing();
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

  private void openSecrets() {
    TlsSecretSource.Options options = new TlsSecretSource.Options(config.pid(), config.comm(), config.libssl(),
        config.secretRingBytes(), true, config.socketTracing());
    secrets = TlsSecretSource.open(options, line -> {
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
    });
    if (librariesTraced == 0) {
      startupLines.add("tlscap: warning: no OpenSSL 3 library found; packets are captured, TLS stays encrypted"
          + " (name a program that links OpenSSL statically with --libssl)");
    }
    matcher = new SecretMatcher(new MatchedSecrets());
  }

  private void openPackets() {
    PacketCaptureOptions options = PacketCaptureOptions.builder()
        .interfaces(config.interfaces())
        .snapLength(config.snapLength())
        .filter(config.filter())
        .attachMode(config.attachMode())
        .ringBytes(config.packetRingBytes())
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
            if (writer != null) {
              markSessionsCutByRotation();
            }
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
      writer = config.toStdout()
          ? builder.open(new FileOutputStream(java.io.FileDescriptor.out))
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
    FileDescriptor fd = new FileDescriptor(capture.fd());
    EpollIoHandle handle = new EpollIoHandle() {
      @Override
      public FileDescriptor fd() {
        return fd;
      }

      @Override
      public void handle(IoRegistration registration, IoEvent event) {
        drainPackets();
      }

      @Override
      public void close() {
        // the fd belongs to the BPF map; PacketCapture closes it
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
      throw new IllegalStateException("cannot watch the packet ring on the event loop: " + e.getCause().getMessage(),
          e.getCause());
    }
  }

  // ------------------------------------------------------------------ the loop

  /** Every 10 ms: drain both rings; hold-back deadlines; once a second the slower chores. */
  private void tick() {
    if (stopping.get()) {
      return;
    }
    try {
      drainPackets();
      drainSecrets();
      long now = System.nanoTime();
      releaseExpired(now);
      if (now - lastSecond >= 1_000_000_000L) {
        lastSecond = now;
        everySecond(now);
      }
      if (config.toStdout()) {
        writer.flush();
      }
    } catch (RuntimeException e) {
      err.println("tlscap: " + Tlscap.oneLine(e));
      requestStop("error: " + e);
    }
  }

  private void everySecond(long now) {
    capture.maintain();
    stats.secretsLost = secrets.counters().ringFull();
    writer.tick(System.currentTimeMillis() * 1_000_000L);
    matcher.expire(now);
    evictFlows(now);
    if (keyLog != null) {
      keyLog.flush();
    }
    if (now - lastRescan >= 5_000_000_000L) {
      lastRescan = now;
      secrets.rescan(); // libraries of programs (containers) started since
    }
    if (statusLine) {
      showStatus();
    }
  }

  private final dev.tlscap.tc.PacketHandler packetHandler = this::onPacket;

  private void drainPackets() {
    int n;
    do {
      n = capture.drain(packetHandler, DRAIN_BATCH);
    } while (n == DRAIN_BATCH && !stopping.get());
    if (config.packetCount() > 0 && stats.packetsWritten >= config.packetCount()) {
      requestStop("-c");
    }
  }

  private final TlsEventListener secretListener = new TlsEventListener() {
    @Override
    public void onSecret(TlsSecretEvent event) {
      stats.secretsReceived++;
      if (event.clientRandom() != null) {
        stats.secretsWithRandom++;
        if (keyLog != null && keyLog.write(event.keyLogLine())) {
          stats.keyLogLines++;
        }
      }
      matcher.onSecret(event, System.nanoTime());
    }
  };

  private void drainSecrets() {
    secrets.drain(secretListener);
  }

  // ------------------------------------------------------------------ packets

  private void onPacket(PacketEvent p) {
    int id = p.interfaceId();
    if (id < 0 || id >= linkTypes.length) {
      stats.packetsNotWritten++;
      return;
    }
    ByteBuffer data = p.data();
    int at = p.dataOffset();
    int captured = p.capturedLength();
    Direction direction = p.direction() == PacketDirection.INBOUND ? Direction.INBOUND : Direction.OUTBOUND;
    PacketHeaders h = headers;
    h.parse(data, at, captured, linkTypes[id]);
    if (h.protocol != PacketHeaders.TCP || stats.packetsWritten >= limit()) {
      write(id, p.timestampNanos(), data, at, captured, p.originalLength(), direction, null, 0, null);
      return;
    }
    boolean fromA = probe.set(h.ipVersion, h.srcHigh, h.srcLow, h.srcPort, h.dstHigh, h.dstLow, h.dstPort);
    TcpFlow flow = flows.get(probe);
    long now = System.nanoTime();
    if (flow != null && (h.tcpFlags & (PacketHeaders.SYN | PacketHeaders.ACK)) == PacketHeaders.SYN
        && startsNewConnection(flow, fromA, h.tcpSeq)) {
      retire(flow); // the 4-tuple was reused: short-lived clients get the same port again within seconds
      flow = null;
    }
    if (flow == null) {
      if (h.payloadLength == 0 && (h.tcpFlags & PacketHeaders.SYN) == 0) {
        // an ACK or FIN of a connection not in the table: nothing to follow
        write(id, p.timestampNanos(), data, at, captured, p.originalLength(), direction, null, 0, null);
        return;
      }
      flow = new TcpFlow(probe.copy(), now);
      if (flows.size() >= MAX_FLOWS) {
        evictOldest();
      }
      flows.put(flow.key, flow);
    }
    flow.lastSeenNanos = now;
    if ((h.tcpFlags & PacketHeaders.SYN) != 0) {
      if ((h.tcpFlags & PacketHeaders.ACK) == 0) {
        flow.clientIsA = fromA; // the SYN's sender is the client
        flow.clientKnown = true;
      }
      if (fromA) {
        flow.synA = h.tcpSeq;
        flow.synSeenA = true;
      } else {
        flow.synB = h.tcpSeq;
        flow.synSeenB = true;
      }
    }
    if (h.payloadLength > 0 && flow.state == TcpFlow.State.NEW) {
      interfaceOfPacket = id;
      classify(flow, fromA, data, h);
    }
    boolean fromClient = fromA == flow.clientIsA;
    if (flow.isHeld()) {
      hold(flow, id, p, direction, fromClient);
    } else {
      write(id, p.timestampNanos(), data, at, captured, p.originalLength(), direction, flow.process(fromClient),
          flow.thread(fromClient), flow.secrets);
      if (flow.cutByRotation && h.payloadLength > 0 && !flow.countedAsCut) {
        flow.countedAsCut = true;
        stats.tlsSessionsCutByRotation++;
      }
    }
    if (flow.tls != null && flow.isHeld()) {
      if (h.payloadLength > 0) {
        follow(flow, fromClient, data, h, now);
      }
      if ((h.tcpFlags & (PacketHeaders.FIN | PacketHeaders.RST)) != 0 && flow.tls != null && flow.isHeld()) {
        TlsStream.Side side = fromClient ? TlsStream.Side.CLIENT : TlsStream.Side.SERVER;
        long end = (h.tcpSeq + h.payloadLength) & 0xFFFFFFFFL;
        if ((h.tcpFlags & PacketHeaders.RST) != 0) {
          flow.tls.onReset(side, end);
        } else {
          flow.tls.onFin(side, end);
        }
        matcher.onRecords(flow.tls, now); // an ended side may need no more secrets: the flow may be complete
      }
    }
    if ((h.tcpFlags & (PacketHeaders.FIN | PacketHeaders.RST)) != 0) {
      flow.closing = true;
    }
  }

  /**
   * Whether a SYN (without ACK) on a 4-tuple in the table opens a new connection: one that is not
   * the retransmission of the SYN that opened this one (a new connection has a new initial sequence
   * number), or a SYN on a connection joined without its SYN.
   */
  private static boolean startsNewConnection(TcpFlow flow, boolean fromA, long seq) {
    return fromA ? !flow.synSeenA || flow.synA != seq : !flow.synSeenB || flow.synB != seq;
  }

  /**
   * Takes a connection out of the table for a new one on its 4-tuple. A held one waits outside for
   * its secrets, which may still be on their way (the secret ring is drained every 10 ms, and a
   * short-lived client can be done and gone by then).
   */
  private void retire(TcpFlow flow) {
    flows.remove(flow.key);
    if (flow.isHeld()) {
      retired.add(flow);
    } else {
      drop(flow);
    }
  }

  /** Forgets a connection that left the table: the matcher's stream and the key log. */
  private void drop(TcpFlow flow) {
    forget(flow);
    if (flow.secrets != null) {
      flow.secrets.release();
    }
  }

  private long limit() {
    return config.packetCount() > 0 ? config.packetCount() : Long.MAX_VALUE;
  }

  /** A flow's first payload: a TLS client's handshake record starts it, or it is followed no further. */
  private void classify(TcpFlow flow, boolean fromA, ByteBuffer data, PacketHeaders h) {
    if (!flow.clientKnown) {
      flow.clientIsA = fromA; // joined without the SYN: the first to speak is taken as the client
      flow.clientKnown = true;
    }
    int at = h.payloadOffset;
    boolean tlsHandshake = fromA == flow.clientIsA && data.get(at) == 0x16
        && (h.payloadLength < 2 || data.get(at + 1) == 0x03);
    if (!tlsHandshake) {
      flow.state = TcpFlow.State.PLAIN;
      return;
    }
    flow.tls = new TlsStream();
    flow.onLoopback = loopback[interfaceOfPacket];
    if (flow.synSeenA) {
      flow.tls.onSyn(flow.clientIsA ? TlsStream.Side.CLIENT : TlsStream.Side.SERVER, flow.synA);
    }
    if (flow.synSeenB) {
      flow.tls.onSyn(flow.clientIsA ? TlsStream.Side.SERVER : TlsStream.Side.CLIENT, flow.synB);
    }
    flow.state = TcpFlow.State.UNDECIDED;
    flow.holdStartedNanos = System.nanoTime();
    flowOfStream.put(flow.tls, flow);
  }

  /** Feeds a held TLS flow's segment to its stream, and reacts to what the stream learnt. */
  private void follow(TcpFlow flow, boolean fromClient, ByteBuffer data, PacketHeaders h, long now) {
    TlsStream tls = flow.tls;
    boolean hadRandom = tls.clientRandom() != null;
    boolean learnt = tls.onSegment(fromClient ? TlsStream.Side.CLIENT : TlsStream.Side.SERVER, h.tcpSeq, data,
        h.payloadOffset, h.payloadLength);
    if (tls.state() == TlsStream.State.NOT_TLS) {
      stats.flowsNotTls++;
      stats.packetsNotTls += flow.held.size();
      flow.state = TcpFlow.State.PLAIN;
      forget(flow);
      release(flow);
      return;
    }
    if (tls.clientRandom() == null) {
      return; // no whole ClientHello yet
    }
    // TLS, or MALFORMED/LOST after the ClientHello (maybe in the same segment): a TLS session whose
    // records kept before the problem, and the other direction's, can still prove its secrets.
    if (flow.state == TcpFlow.State.UNDECIDED) {
      flow.state = TcpFlow.State.HELD;
      flow.secrets = writer.newFlowSecrets();
      stats.tlsFlows++;
    }
    if (!hadRandom && tls.clientRandom() != null) {
      matcher.onStream(tls); // may key secrets that came first (TLS 1.2, or socket tracing)
    }
    if (learnt && flow.isHeld()) {
      matcher.onRecords(tls, now);
    }
  }

  private void hold(TcpFlow flow, int id, PacketEvent p, Direction direction, boolean fromClient) {
    byte[] copy = new byte[p.capturedLength()];
    p.data().get(p.dataOffset(), copy);
    flow.held.add(new HeldPacket(id, p.timestampNanos(), copy, p.originalLength(), direction, fromClient));
    flow.heldBytes += copy.length + 64;
    heldBytes += copy.length + 64;
    if (heldBytes > config.holdBytes()) {
      releaseForMemory(flow);
    }
  }

  /** A new file: the keyed sessions whose handshake is in an earlier one go on where they do not decrypt. */
  private void markSessionsCutByRotation() {
    for (TcpFlow flow : flows.values()) {
      if (flow.state == TcpFlow.State.KEYED) {
        flow.cutByRotation = true;
      }
    }
  }

  /** Writes a flow's held packets in their order (its DSB first, if it has secrets) and stops holding. */
  private void release(TcpFlow flow) {
    for (HeldPacket held : flow.held) {
      ByteBuffer bytes = ByteBuffer.wrap(held.bytes());
      write(held.interfaceId(), held.timestampNanos(), bytes, 0, held.bytes().length, held.originalLength(),
          held.direction(), flow.process(held.fromClient()), flow.thread(held.fromClient()), flow.secrets);
    }
    heldBytes -= flow.heldBytes;
    flow.heldBytes = 0;
    flow.held.clear();
  }

  /** The memory bound: the longest-held flows go first, counted. */
  private void releaseForMemory(TcpFlow current) {
    for (TcpFlow f : new ArrayList<>(flows.values())) {
      if (heldBytes <= config.holdBytes() * 3 / 4) {
        break;
      }
      if (f.isHeld() && f != current) {
        releaseNow(f, true);
      }
    }
    if (heldBytes > config.holdBytes()) {
      releaseNow(current, true);
    }
  }

  /** Stops holding a flow early (memory bound, table full, shutdown): keyed if its secrets are all in. */
  private void releaseNow(TcpFlow flow, boolean memory) {
    if (flow.fullyKeyedNanos != 0) {
      releaseKeyed(flow);
    } else {
      releaseIncomplete(flow, memory);
    }
  }

  /** A TLS flow whose secrets did not all come in time (or memory): written as it is, counted. */
  private void releaseIncomplete(TcpFlow flow, boolean memory) {
    int packets = flow.held.size();
    if (flow.state == TcpFlow.State.HELD || flow.state == TcpFlow.State.UNDECIDED) {
      if (memory) {
        stats.flowsCutByMemory++;
        stats.packetsCutByMemory += packets;
      } else if (flow.state == TcpFlow.State.HELD) {
        stats.flowsReleasedWithoutSecrets++;
        stats.packetsReleasedWithoutSecrets += packets;
      } else {
        stats.flowsNotTls++; // began like TLS; its ClientHello never came whole
        stats.packetsNotTls += packets;
      }
      flow.state = flow.state == TcpFlow.State.HELD ? TcpFlow.State.RELEASED : TcpFlow.State.PLAIN;
    }
    release(flow);
  }

  private void releaseExpired(long now) {
    for (Iterator<TcpFlow> it = retired.iterator(); it.hasNext(); ) {
      TcpFlow flow = it.next();
      releaseIfDue(flow, now);
      if (!flow.isHeld()) {
        drop(flow);
        it.remove();
      }
    }
    if (heldBytes == 0) {
      return; // nothing held: no deadline to meet
    }
    for (TcpFlow flow : new ArrayList<>(flows.values())) {
      releaseIfDue(flow, now);
    }
  }

  private void releaseIfDue(TcpFlow flow, long now) {
    if (!flow.isHeld()) {
      return;
    }
    if (flow.fullyKeyedNanos != 0 && now - flow.fullyKeyedNanos >= PEER_PROCESS_GRACE_NANOS) {
      releaseKeyed(flow);
    } else if (now - flow.holdStartedNanos >= config.holdNanos()) {
      releaseIncomplete(flow, false);
    }
  }

  private void write(int id, long timestamp, ByteBuffer data, int at, int captured, int original, Direction direction,
      ProcessAnnotation process, int tid, FlowSecrets flowSecrets) {
    if (stats.packetsWritten >= limit()) {
      return;
    }
    if (writer.writePacket(id, timestamp, data, at, captured, original, direction, process, tid, flowSecrets)) {
      stats.packetsWritten++;
      writtenPerInterface(id);
    } else {
      stats.packetsNotWritten++;
    }
  }

  private long[] written = new long[8];

  private void writtenPerInterface(int id) {
    if (id >= written.length) {
      written = java.util.Arrays.copyOf(written, Math.max(id + 1, written.length * 2));
    }
    written[id]++;
  }

  private void forget(TcpFlow flow) {
    if (flow.tls != null) {
      matcher.onStreamClosed(flow.tls);
      flowOfStream.remove(flow.tls);
    }
  }

  private void evictFlows(long now) {
    for (Iterator<TcpFlow> it = flows.values().iterator(); it.hasNext(); ) {
      TcpFlow flow = it.next();
      long idle = now - flow.lastSeenNanos;
      if (flow.isHeld() || idle < (flow.closing ? CLOSED_NANOS : IDLE_NANOS)) {
        continue;
      }
      forget(flow);
      if (flow.secrets != null) {
        flow.secrets.release();
      }
      it.remove();
    }
  }

  private void evictOldest() {
    Iterator<TcpFlow> it = flows.values().iterator();
    if (it.hasNext()) {
      TcpFlow flow = it.next();
      if (flow.isHeld()) {
        releaseNow(flow, true);
      }
      forget(flow);
      it.remove();
    }
  }

  // ------------------------------------------------------------------ secrets

  /** What the matcher keyed: into the flow's key log (the writer's DSB), the key log file, and the flow's processes. */
  private final class MatchedSecrets implements SecretMatcher.Listener {
    @Override
    public void onKeyed(TlsStream stream, TlsLabel label, String keyLogLine, TlsSecretEvent source) {
      TcpFlow flow = flowOfStream.get(stream);
      if (keyLog != null && keyLog.write(keyLogLine)) {
        stats.keyLogLines++;
      }
      if (flow == null) {
        return;
      }
      if (flow.secrets == null) {
        flow.secrets = writer.newFlowSecrets();
      }
      flow.secrets.add(keyLogLine);
      learnProcess(flow, source);
    }

    @Override
    public void onKeyedAgain(TlsStream stream, TlsLabel label, TlsSecretEvent source) {
      TcpFlow flow = flowOfStream.get(stream);
      if (flow != null) {
        learnProcess(flow, source);
        if (flow.fullyKeyedNanos != 0 && flow.isHeld() && flow.clientProcess != null) {
          releaseKeyed(flow); // both ends known: no need to wait any longer
        }
      }
    }

    @Override
    public void onFullyKeyed(TlsStream stream) {
      TcpFlow flow = flowOfStream.get(stream);
      if (flow == null || !flow.isHeld()) {
        return;
      }
      flow.fullyKeyedNanos = System.nanoTime();
      if (!flow.onLoopback || flow.clientProcess != null) {
        releaseKeyed(flow);
      } // else: released when the peer's copy of the secrets comes, or by releaseExpired after the grace
    }
  }

  private void releaseKeyed(TcpFlow flow) {
    flow.state = TcpFlow.State.KEYED;
    stats.tlsFlowsKeyed++;
    release(flow);
  }

  /**
   * Annotates a flow with a process that derived its secrets. With one process, it is the local end
   * and annotates every packet of the flow. With two (both ends on this host), each annotates the
   * packets its end sends; which end a process is comes from the order OpenSSL derives secrets in
   * (measured: a client derives SERVER_TRAFFIC_SECRET_0 before CLIENT_HANDSHAKE_TRAFFIC_SECRET, a
   * server the other way round) or, for TLS 1.2, from which side derives its key block first (the
   * client, in a full handshake).
   */
  private void learnProcess(TcpFlow flow, TlsSecretEvent source) {
    ProcessAnnotation process = processes.computeIfAbsent(source.pid(),
        pid -> ProcessAnnotation.forProcess(pid, source.comm()));
    TlsLabel label = source.label();
    if (flow.someProcess == null) {
      flow.someProcess = process;
      flow.someTid = source.tid();
    }
    if (flow.clientProcess != null || label == TlsLabel.EXPORTER_SECRET || label == TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET) {
      return;
    }
    // The first of (CLIENT_HANDSHAKE, SERVER_TRAFFIC_0, CLIENT_RANDOM) a process delivers tells its end.
    boolean client;
    if (label == TlsLabel.SERVER_TRAFFIC_SECRET_0) {
      client = true;
    } else if (label == TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET) {
      client = false;
    } else if (label == TlsLabel.CLIENT_RANDOM) {
      client = flow.firstRoleProcess == null;
    } else {
      return;
    }
    if (flow.firstRoleProcess == null) {
      flow.firstRoleProcess = process;
      flow.firstRoleTid = source.tid();
      flow.firstRoleIsClient = client;
      return;
    }
    if (flow.firstRoleProcess == process) {
      return; // the same process again (its later secrets)
    }
    ProcessAnnotation other = flow.firstRoleProcess;
    boolean otherIsClient = flow.firstRoleIsClient;
    if (label == TlsLabel.CLIENT_RANDOM) {
      client = !otherIsClient;
    }
    if (client == otherIsClient) {
      return; // both claim the same end: no reliable split, keep annotating with the first
    }
    flow.clientProcess = client ? process : other;
    flow.clientTid = client ? source.tid() : flow.firstRoleTid;
    flow.serverProcess = client ? other : process;
    flow.serverTid = client ? flow.firstRoleTid : source.tid();
  }

  // ------------------------------------------------------------------ statistics

  /** The ISB of interface {@code id}, written at the end of each file. */
  private InterfaceStatistics interfaceStatistics(int id) {
    InterfaceCounters c = capture.counters(id);
    long delivered = id < written.length ? written[id] : 0;
    return new InterfaceStatistics(c.received(), c.dropped(), 0, delivered, id == 0 ? stats.statisticsComment() : null);
  }

  private void showStatus() {
    InterfaceCounters total = capture.totalCounters();
    Path file = writer.currentFile();
    String line = String.format("%d packets, %d dropped; %d TLS sessions, %d decrypted; %d secrets%s",
        stats.packetsWritten, total.dropped(), stats.tlsFlows, stats.tlsFlowsKeyed, stats.secretsReceived,
        file == null ? "" : "; " + file.getFileName() + " " + humanBytes(writer.currentFileSize()));
    if (!line.equals(statusShown)) {
      err.print("\r" + line + "\033[K");
      err.flush();
      statusShown = line;
    }
  }

  static String humanBytes(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    if (bytes < 1024 * 1024) {
      return String.format("%.1f KiB", bytes / 1024.0);
    }
    if (bytes < 1024L * 1024 * 1024) {
      return String.format("%.1f MiB", bytes / 1048576.0);
    }
    return String.format("%.2f GiB", bytes / 1073741824.0);
  }

  // ------------------------------------------------------------------ stop

  /** On the event loop: the last packets and secrets, every held flow, the files, the kernel objects. */
  private void shutdown(String reason) {
    try {
      if (capture != null && secrets != null && writer != null) {
        drainSecrets();
        drainPackets();
        drainSecrets();
        stats.secretsLost = secrets.counters().ringFull();
        for (TcpFlow flow : new ArrayList<>(flows.values())) {
          if (flow.isHeld()) {
            releaseNow(flow, false);
          }
        }
        for (TcpFlow flow : retired) {
          if (flow.isHeld()) {
            releaseNow(flow, false);
          }
        }
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
    err.println(stats.packetsWritten + " packets captured, " + total.dropped() + " dropped by the kernel"
        + (stats.packetsNotWritten > 0 ? ", " + stats.packetsNotWritten + " not written" : "") + "; "
        + stats.tlsSummary());
    err.println(stats.secretsReceived + " TLS secrets"
        + (stats.secretsLost > 0 ? " (" + stats.secretsLost + " more lost: the secrets buffer was full; raise"
            + " --secrets-buffer-size)" : "")
        + (keyLog != null ? ", " + stats.keyLogLines + " key log lines" : "")
        + (matcher != null ? "; " + matcher.summary() : ""));
  }

  /** Closes whatever is open, in reverse order of opening; never throws. */
  private void closeAll() {
    if (packetRegistration != null) {
      packetRegistration.cancel();
      packetRegistration = null;
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
      try {
        secrets.close();
      } catch (RuntimeException e) {
        err.println("tlscap: " + Tlscap.oneLine(e));
      }
    }
  }
}
