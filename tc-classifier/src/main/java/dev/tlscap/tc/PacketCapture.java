// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.bpf.BpfAvailability;
import dev.tlscap.bpf.BpfException;
import dev.tlscap.bpf.BpfMap;
import dev.tlscap.bpf.BpfObject;
import dev.tlscap.bpf.BpfProgram;
import dev.tlscap.bpf.Errno;
import dev.tlscap.bpf.RecordHandler;
import dev.tlscap.bpf.RingBufferReader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Captures packets on one or more interfaces with the TC classifier ({@code tc_capture.bpf.o}):
 * open -> (drain on readiness and on a timer, maintain about once a second) -> close.
 *
 * <pre>{@code
 * try (PacketCapture capture = PacketCapture.open(PacketCaptureOptions.builder()
 *     .iface("any").filter(PacketFilter.compile("tcp port 443")).build())) {
 *   for (CaptureInterface i : capture.interfaces()) writer.addInterface(...);   // ids match i.id()
 *   // event loop: capture.fd() is readable -> capture.drain(handler); also drain every few ms
 *   capture.drain(p -> writer.writePacket(p.interfaceId(), p.timestampNanos(), p.data(), p.dataOffset(),
 *       p.capturedLength(), p.originalLength(), ...));
 *   capture.maintain();                                        // once a second
 *   InterfaceCounters c = capture.counters(id);                // isb_ifrecv, isb_ifdrop
 * }
 * }</pre>
 *
 * <p><b>Opening</b> resolves every interface first (an unknown one fails with {@code no such
 * interface 'eth7' (see 'ip link')} before anything is attached), loads the program with the
 * filter and snap length as read-only globals, removes clsact filters a killed tlscap run left on
 * those interfaces (one notice line), then attaches: ingress and egress, ingress only on {@code lo}
 * (TC sees each loopback packet at both; libpcap keeps the received copy, and so does tlscap: at
 * egress a GSO packet may still be whole that the kernel segments before lo receives it). If any attach fails,
 * everything attached so far is detached and the error names the interface.
 *
 * <p><b>Draining</b> allocates nothing per packet: {@link #drain(PacketHandler)} hands each record
 * to the handler through one reused {@link PacketEvent}. The kernel makes {@link #fd()} readable
 * for the first packet after a quiet period and when the ring fills past a threshold, not per
 * packet (a wakeup costs the sending CPU more than the copy); so also drain on a timer, every
 * {@link PacketCaptureOptions#DRAIN_INTERVAL_MILLIS} ms ({@link #poll} does both for a plain thread).
 *
 * <p><b>Interfaces that go away</b> (a deleted veth) are noticed by {@link #maintain()}: one warning
 * line, {@link CaptureListener#interfaceGone}, their entry and final counters stay; the others go on.
 * With {@code -i any}, {@link #maintain()} also attaches to interfaces that came up since.
 *
 * <p><b>Closing</b> detaches everything (TCX links; clsact filters, and the clsact qdisc if this
 * capture created it and nothing else uses it) and frees the BPF object. A JVM shutdown hook
 * detaches too if the process exits without closing (e.g. Ctrl-C); after {@code kill -9} TCX links
 * vanish with the process and clsact filters are removed by the next run.
 *
 * <p><b>Threads.</b> Open, drain, poll, maintain and close belong to one thread (the event loop);
 * {@link #counters} and {@link #interfaces()} may be called from any thread.
 */
public final class PacketCapture implements AutoCloseable {
  static final String OBJECT = "/bpf/tc_capture.bpf.o";
  /** System property that overrides {@link AttachMode#AUTO}: {@code tcx} or {@code clsact}. */
  public static final String MODE_PROPERTY = "tlscap.tc.mode";
  private static final AtomicLong CAPTURES = new AtomicLong();

  private final PacketCaptureOptions options;
  private final CaptureListener listener;
  private final BpfObject object;
  private final BpfProgram ingress;
  private final BpfProgram egress;
  private final InterfaceSlots slots;
  private final RingBufferReader reader;
  private final BootClock clock = new BootClock();
  private final InterfaceTable table = new InterfaceTable();
  private final PacketEvent event = new PacketEvent(table);
  private final RecordHandler adapter;
  private final List<Attached> attached = new ArrayList<>();
  private final Set<Integer> refused = new HashSet<>();
  private final String namespace = NetDevices.namespace();
  private final Thread shutdownHook;
  /** This capture's number in this process (1-1023, reused cyclically): part of its clsact filter handles. */
  private final int captureNumber = (int) (CAPTURES.getAndIncrement() % 1023) + 1;
  private volatile long wallClockOffset;
  private AttachMode mode;
  private PacketHandler handler;
  private long malformed;
  private boolean closed;
  private boolean detached;

  /** One interface: its public description, its counter slot and, while it exists, its attachment. */
  private static final class Attached {
    final CaptureInterface info;
    final int slot;
    TcAttachment attachment;
    InterfaceCounters finalCounters;

    Attached(CaptureInterface info, int slot, TcAttachment attachment) {
      this.info = info;
      this.slot = slot;
      this.attachment = attachment;
    }
  }

  private PacketCapture(PacketCaptureOptions options, BpfObject object) {
    this.options = options;
    this.listener = options.listener();
    this.object = object;
    this.ingress = object.program("tlscap_ingress");
    this.egress = object.program("tlscap_egress");
    this.slots = new InterfaceSlots(object.map("counters"), object.map("interface_slots"),
        object.map("interface_slot_overflow"), options.maxInterfaces());
    this.reader = new RingBufferReader(object.map("packets"));
    object.closeWith(reader);
    this.wallClockOffset = clock.measureOffset();
    this.adapter = (data, offset, length) -> {
      event.wrap(data, offset, length, wallClockOffset);
      if (event.malformed()) {
        malformed++;
        return;
      }
      handler.onPacket(event);
    };
    this.shutdownHook = new Thread(this::detachAll, "tlscap-tc-detach");
  }

  /**
   * Resolves the interfaces, loads the classifier and attaches it.
   *
   * @throws CaptureException an unknown interface ({@code no such interface 'eth7' (see 'ip link')})
   *     or an option the kernel cannot honour; nothing is attached then
   * @throws BpfException no privileges, no libbpf, or the kernel refused to load or attach (one line)
   */
  public static PacketCapture open(PacketCaptureOptions options) {
    List<NetDevices.Device> devices = resolve(options.interfaces());
    BpfAvailability.ensureLibbpf();
    BpfAvailability.ensurePrivileges();
    BpfObject object = BpfObject.open(PacketCapture.class, OBJECT);
    PacketCapture capture = null;
    try {
      PacketFilter filter = options.filter();
      object.setRodataU32("snap_length", options.snapLength())
          .setRodataU32("max_packet_bytes", options.effectivePacketBytes())
          .setRodataU64("wakeup_interval_ns", options.wakeupIntervalNanos())
          .setRodataU32("wakeup_bytes", options.wakeupBytes())
          .setRodataU32("filter_clause_count", filter.clauseCount())
          .setRodata("filter_clauses", filter.encodeClauses())
          .setRodataU32("cbpf_enabled", filter.usesLibpcap() ? 1 : 0)
          .setRodata("cbpf_length", filter.encodeCbpfLengths())
          .setRodata("cbpf_program", filter.encodeCbpfProgram())
          .setMaxEntries("packets", options.ringBytes())
          .setMaxEntries("counters", options.maxInterfaces() + 1)
          .setMaxEntries("interface_slot_overflow", options.maxInterfaces())
          .load();
      capture = new PacketCapture(options, object);
      capture.start(devices);
      return capture;
    } catch (RuntimeException e) {
      if (capture != null) {
        capture.close();
      } else {
        object.close();
      }
      throw e;
    }
  }

  /** Every requested interface, or a one-line error for the first that does not exist. */
  static List<NetDevices.Device> resolve(List<String> names) {
    Map<Integer, NetDevices.Device> devices = new LinkedHashMap<>();
    for (String name : names) {
      if (name.equals(PacketCaptureOptions.ANY)) {
        for (NetDevices.Device d : NetDevices.up()) {
          devices.putIfAbsent(d.ifindex(), d);
        }
        continue;
      }
      NetDevices.Device d = NetDevices.find(name);
      if (d == null) {
        throw new CaptureException("no such interface '" + name + "' (see 'ip link')");
      }
      devices.putIfAbsent(d.ifindex(), d);
    }
    if (devices.isEmpty()) {
      throw new CaptureException("no interface is up to capture on (see 'ip link')");
    }
    return new ArrayList<>(devices.values());
  }

  private void start(List<NetDevices.Device> devices) {
    mode = chooseMode(options.attachMode());
    removeLeftovers(devices);
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    for (NetDevices.Device d : devices) {
      attach(d);
    }
  }

  private static AttachMode chooseMode(AttachMode requested) {
    if (requested == AttachMode.AUTO) {
      String forced = System.getProperty(MODE_PROPERTY);
      if (forced != null && !forced.isBlank()) {
        requested = AttachMode.parse(forced);
      }
    }
    if (requested == AttachMode.AUTO) {
      return BpfAvailability.kernelAtLeast(6, 6) ? AttachMode.TCX : AttachMode.CLSACT;
    }
    if (requested == AttachMode.TCX && !BpfAvailability.kernelAtLeast(6, 6)) {
      throw new CaptureException("TCX links need Linux 6.6 or newer (this is " + BpfAvailability.kernelRelease()
          + "); use the clsact mode");
    }
    return requested;
  }

  private void removeLeftovers(List<NetDevices.Device> devices) {
    int removed = 0;
    List<String> where = new ArrayList<>();
    List<Integer> owners = new ArrayList<>();
    for (NetDevices.Device d : devices) {
      TcAttachment.Leftovers l = TcAttachment.removeLeftovers(d.name(), d.ifindex());
      if (l.removed() > 0) {
        removed += l.removed();
        where.add(d.name());
        for (int o : l.owners()) {
          if (!owners.contains(o)) {
            owners.add(o);
          }
        }
      }
    }
    if (removed > 0) {
      listener.notice("removed " + removed + " TC filter" + (removed == 1 ? "" : "s") + " left on "
          + String.join(", ", where) + " by a tlscap run that was killed (pid "
          + owners.stream().map(String::valueOf).reduce((a, b) -> a + ", " + b).orElse("?") + ")");
    }
  }

  /** Attaches to one device and registers it; rolls the device back on failure. */
  private CaptureInterface attach(NetDevices.Device d) {
    LinkType.Choice link = LinkType.forDevice(d.name(), d.arphrdType(), d.addressLength());
    if (link.warning() != null) {
      listener.notice(link.warning());
    }
    int slot = slots.assign(d.ifindex(), link.type());
    boolean loopback = d.loopback();
    TcAttachment attachment;
    try {
      attachment = TcAttachment.attach(d.name(), d.ifindex(), ingress, loopback ? null : egress, mode, captureNumber);
    } catch (BpfException e) {
      if (mode == AttachMode.TCX && options.attachMode() == AttachMode.AUTO
          && System.getProperty(MODE_PROPERTY) == null
          && (e.errno() == Errno.EINVAL || e.errno() == Errno.EOPNOTSUPP || e.errno() == 524 /* ENOTSUPP */)) {
        listener.notice("TCX attach failed on " + d.name() + " (" + e.getMessage() + "); using clsact filters");
        mode = AttachMode.CLSACT;
        attachment = TcAttachment.attach(d.name(), d.ifindex(), ingress, loopback ? null : egress, mode, captureNumber);
      } else {
        slots.release(d.ifindex());
        throw e;
      }
    }
    String description = "tlscap TC " + (loopback ? "ingress" : "ingress+egress") + " ("
        + attachment.mode().name().toLowerCase() + "), " + d.kind() + ", netns " + namespace;
    CaptureInterface info;
    synchronized (attached) {
      info = new CaptureInterface(attached.size(), d.name(), d.ifindex(), link.type(), d.arphrdType(), d.mtu(),
          description, attachment.mode(), loopback);
      attached.add(new Attached(info, slot, attachment));
      table.put(d.ifindex(), info.id());
    }
    listener.interfaceAdded(info);
    return info;
  }

  /** The interfaces captured on, by {@link CaptureInterface#id()} (gone ones included). */
  public List<CaptureInterface> interfaces() {
    synchronized (attached) {
      List<CaptureInterface> list = new ArrayList<>(attached.size());
      for (Attached a : attached) {
        list.add(a.info);
      }
      return List.copyOf(list);
    }
  }

  /** The interface with {@code id}. */
  public CaptureInterface iface(int id) {
    synchronized (attached) {
      return attached.get(id).info;
    }
  }

  /** True while the interface is attached (false once it went away or the capture closed). */
  public boolean isActive(int id) {
    synchronized (attached) {
      Attached a = attached.get(id);
      return a.attachment != null;
    }
  }

  /** The ring buffer's fd: pollable (EPOLLIN) for an event loop. */
  public int fd() {
    return reader.fd();
  }

  /** Delivers every packet in the ring to {@code packetHandler}; returns how many. */
  public int drain(PacketHandler packetHandler) {
    return drain(packetHandler, Integer.MAX_VALUE);
  }

  /** Delivers up to {@code max} packets in order; returns how many. */
  public int drain(PacketHandler packetHandler, int max) {
    handler = packetHandler;
    return reader.drain(adapter, max);
  }

  /** Drains; if nothing was there, waits up to {@code timeoutMs} for a wakeup and drains again (for a plain thread). */
  public int poll(PacketHandler packetHandler, int timeoutMs) {
    handler = packetHandler;
    return reader.poll(adapter, timeoutMs);
  }

  /** Bytes in the ring not consumed yet. */
  public long pendingBytes() {
    return reader.pendingBytes();
  }

  /** Packets delivered so far. */
  public long delivered() {
    return reader.records();
  }

  /** Packets whose handler threw (skipped; see {@link #firstHandlerFailure()}). */
  public long handlerFailures() {
    return reader.handlerFailures();
  }

  public RuntimeException firstHandlerFailure() {
    return reader.firstHandlerFailure();
  }

  /** Records too short for a packet header (none are expected; counted for diagnostics). */
  public long malformedRecords() {
    return malformed;
  }

  /** The wall-clock offset in use: wall clock = CLOCK_BOOTTIME + this. */
  public long wallClockOffsetNanos() {
    return wallClockOffset;
  }

  /** The options this capture was opened with. */
  public PacketCaptureOptions options() {
    return options;
  }

  /** The filter the kernel applies. */
  public PacketFilter filter() {
    return options.filter();
  }

  public int snapLength() {
    return options.snapLength();
  }

  /** The most packet bytes a record holds (longer packets are cut and marked). */
  public int maxPacketBytes() {
    return options.effectivePacketBytes();
  }

  /** The attach mode in use ({@link AttachMode#TCX} or {@link AttachMode#CLSACT}). */
  public AttachMode attachMode() {
    return mode;
  }

  /** The kernel's counters for interface {@code id} (final values once it went away). */
  public InterfaceCounters counters(int id) {
    Attached a;
    synchronized (attached) {
      a = attached.get(id);
      if (a.finalCounters != null) {
        return a.finalCounters;
      }
    }
    return slots.read(a.slot);
  }

  /** The sum over every interface (and packets of interfaces without an entry). */
  public InterfaceCounters totalCounters() {
    InterfaceCounters total = slots.read(0);
    for (int id = 0; id < interfaces().size(); id++) {
      total = total.plus(counters(id));
    }
    return total;
  }

  /** Packets dropped for a full ring on each CPU, over every interface. */
  public long[] droppedPerCpu() {
    long[] perCpu = new long[BpfMap.possibleCpus()];
    slots.addDroppedPerCpu(0, perCpu);
    for (Attached a : snapshot()) {
      if (a.finalCounters == null) {
        slots.addDroppedPerCpu(a.slot, perCpu);
      }
    }
    return perCpu; // interfaces that went away keep only their totals, in counters(id)
  }

  private List<Attached> snapshot() {
    synchronized (attached) {
      return new ArrayList<>(attached);
    }
  }

  /**
   * Periodic upkeep, about once a second on the draining thread: notices interfaces that went away
   * (one warning each; the others go on), attaches to interfaces that came up ({@code -i any}), and
   * follows a step of the wall clock (settimeofday, NTP step) in the timestamp offset.
   */
  public void maintain() {
    if (closed) {
      return;
    }
    long offset = clock.measureOffset();
    if (Math.abs(offset - wallClockOffset) > 1_000_000) {
      wallClockOffset = offset;
    }
    for (Attached a : snapshot()) {
      if (a.attachment != null && !NetDevices.present(a.info.name(), a.info.ifindex())) {
        interfaceGone(a);
      }
    }
    if (options.anyInterface()) {
      for (NetDevices.Device d : NetDevices.up()) {
        if (table.idOf(d.ifindex()) >= 0 || refused.contains(d.ifindex())) {
          continue;
        }
        try {
          attach(d);
        } catch (RuntimeException e) {
          if (NetDevices.present(d.name(), d.ifindex())) {
            listener.notice("cannot capture on " + d.name() + ", which came up: " + e.getMessage());
            refused.add(d.ifindex()); // do not try again on every maintain()
          }
        }
      }
    }
  }

  private void interfaceGone(Attached a) {
    InterfaceCounters last = slots.read(a.slot);
    synchronized (attached) {
      a.finalCounters = last;
    }
    TcAttachment attachment = a.attachment;
    a.attachment = null;
    try {
      attachment.close();
    } catch (RuntimeException e) {
      // the interface is gone: its filters or links went with it
    }
    slots.release(a.info.ifindex());
    boolean othersGoOn = options.anyInterface() || snapshot().stream().anyMatch(other -> other.attachment != null);
    listener.notice("interface " + a.info.name() + " went away; its capture stops here, "
        + (othersGoOn ? "the capture of the others goes on" : "no interface is left to capture on"));
    listener.interfaceGone(a.info);
  }

  /** Detaches from every interface (the shutdown hook's part of close; safe from any thread). */
  private void detachAll() {
    for (Attached a : snapshot()) {
      TcAttachment attachment = a.attachment;
      if (attachment != null) {
        try {
          attachment.close();
        } catch (RuntimeException e) {
          // go on with the others
        }
      }
    }
  }

  /**
   * Stops capturing: detaches from every interface and fixes their counters, but keeps the packet
   * ring readable, so that what the kernel already handed over can still be drained and the
   * counters then add up (received = delivered + dropped). Idempotent; {@link #close()} does it too.
   */
  public void detach() {
    if (detached) {
      return;
    }
    detached = true;
    for (Attached a : snapshot()) {
      if (a.attachment != null) {
        synchronized (attached) {
          a.finalCounters = slots.read(a.slot);
        }
      }
    }
    detachAll();
    synchronized (attached) {
      for (Attached a : attached) {
        a.attachment = null;
      }
    }
  }

  /** Detaches from every interface and frees the classifier and its ring. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException | IllegalArgumentException e) {
      // shutting down already, or the hook was never added
    }
    detach();
    object.close();
  }

  /**
   * ifindex -> interface id, open addressing over int arrays: read per packet by
   * {@link PacketEvent#interfaceId()} without allocation. Written by the capture's thread only.
   */
  static final class InterfaceTable {
    private int[] keys = new int[64];
    private int[] values = new int[64];
    private int size;

    int idOf(int ifindex) {
      int mask = keys.length - 1;
      int i = mix(ifindex) & mask;
      while (true) {
        int k = keys[i];
        if (k == ifindex) {
          return values[i];
        }
        if (k == 0) {
          return -1;
        }
        i = (i + 1) & mask;
      }
    }

    void put(int ifindex, int id) {
      if (ifindex == 0) {
        throw new IllegalArgumentException("ifindex 0");
      }
      if ((size + 1) * 2 > keys.length) {
        int[] oldKeys = keys;
        int[] oldValues = values;
        keys = new int[oldKeys.length * 2];
        values = new int[oldKeys.length * 2];
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
          if (oldKeys[i] != 0) {
            insert(oldKeys[i], oldValues[i]);
          }
        }
      }
      insert(ifindex, id);
    }

    private void insert(int ifindex, int id) {
      int mask = keys.length - 1;
      int i = mix(ifindex) & mask;
      while (keys[i] != 0 && keys[i] != ifindex) {
        i = (i + 1) & mask;
      }
      if (keys[i] == 0) {
        size++;
      }
      keys[i] = ifindex;
      values[i] = id;
    }

    private static int mix(int x) {
      return x * 0x9E3779B9 >>> 7 ^ x;
    }

    @Override
    public String toString() {
      return Arrays.toString(keys);
    }
  }
}
