// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.capture.tls.MatchDecision;
import dev.tlscap.capture.tls.SecretMatcher;
import dev.tlscap.capture.tls.TlsStream;
import dev.tlscap.pcapng.KeyLogLine;
import dev.tlscap.secrets.TlsSecret;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The connection table: follows every TCP connection it sees, recognises TLS by the client's first
 * bytes, feeds TLS connections to their {@link TlsStream}, holds their packets back until the
 * {@link SecretMatcher} proved the secrets that decrypt them, and hands packets and secrets to a
 * {@link PacketSink} in the order they are to be written. The one place that owns the link between
 * a flow and its TLS stream.
 *
 * <p>A flow leaves hold-back in one of these ways, each counted in {@link CaptureStats}: fully keyed
 * ({@link #applyDecisions}); its secrets not in time ({@code --hold}); the memory bound
 * ({@code --hold-memory}); not TLS after all; the table full; the capture stopping
 * ({@link #releaseAll}).
 *
 * <p>Everything runs on the capture's event-loop thread; the table never calls back into its
 * caller. Times are {@code System.nanoTime()}.
 */
final class ConnectionTable {
  /** A connection without packets for this long leaves the table. */
  static final long IDLE_NANOS = 120_000_000_000L;
  /** A connection that sent a FIN or RST leaves the table after this long without packets... */
  static final long CLOSED_NANOS = 5_000_000_000L;
  /**
   * ...and one that ended both ways (a FIN from each end, or an RST) after this long: only its last
   * ACK is still to come, and under a handshake load the flows waiting out 5 s were a third of the
   * live heap (bench/tls-path.sh).
   */
  static final long ENDED_NANOS = 1_000_000_000L;
  static final int MAX_FLOWS = 262_144;
  /**
   * How stale the table's order may be: a connection moves to the end of {@link #flows} when it
   * was last moved longer ago than this, not on every packet (each move rewrites its two neighbours
   * in the list, cold cache lines of other connections).
   */
  static final long REORDER_NANOS = 1_000_000_000L;
  /**
   * On lo both ends of a connection are on this host: a fully keyed flow waits this long for the
   * second process's copy of its secrets, so each packet is annotated with the process that sent it.
   */
  static final long PEER_PROCESS_GRACE_NANOS = 50_000_000L;
  /**
   * How many client payload segments of a plain connection are watched for a ClientHello that
   * upgrades it (STARTTLS and its kin come after a few commands; a longer plain exchange is taken
   * as plain for good).
   */
  static final int STARTTLS_WATCHED_SEGMENTS = 32;

  /** What the table needs to know of the capture: {@code --hold}, {@code --hold-memory}, {@code -c} (or Long.MAX_VALUE). */
  record Limits(long holdNanos, long holdBytes, long packetLimit) {}

  private final PacketSink sink;
  private final CaptureStats stats;
  private final Limits limits;
  private final SecretMatcher matcher;
  /** Told the two ports of each TLS session released without its secrets (the {@code --java} hint), or null. */
  PortsListener releasedWithoutSecrets;
  /** With rotation: carries keyed sessions into later files; else null. */
  CarryOver carryOver;
  private final ProcessAttribution attribution = new ProcessAttribution();
  private final PacketHeaders headers = new PacketHeaders();
  private final FlowKey probe = new FlowKey();
  private final CapturedPacket released = new CapturedPacket();
  /** The connections, least recently moved first: least recently seen to within {@link #REORDER_NANOS}. */
  private final LinkedHashMap<FlowKey, TcpFlow> flows = new LinkedHashMap<>(1024, 0.75f, false);
  private final Map<TlsStream, TcpFlow> flowOfStream = new IdentityHashMap<>();
  /** Held connections whose 4-tuple a new connection took ({@link #retire}): they wait outside the table. */
  private final List<TcpFlow> retired = new ArrayList<>();
  /** The flows that were held since {@link #releaseExpired} last looked (held ones stay). */
  private final List<TcpFlow> heldFlows = new ArrayList<>();
  private long heldBytes;
  /** Bytes the TLS parsers of the flows hold (records kept for trial decryption, reassembly); bounded with the held packets. */
  private long parserBytes;

  ConnectionTable(PacketSink sink, CaptureStats stats, Limits limits, SecretMatcher matcher) {
    this.sink = sink;
    this.stats = stats;
    this.limits = limits;
    this.matcher = matcher;
  }

  // ------------------------------------------------------------------ packets

  /**
   * One captured packet of an interface with link type {@code linkType} ({@code loopback}: both
   * ends are on this host): written at once, or held with its TLS flow.
   */
  void onPacket(CapturedPacket p, int linkType, boolean loopback, long now) {
    PacketHeaders h = headers;
    h.parse(p.data, p.offset, p.capturedLength, linkType);
    if (h.protocol != PacketHeaders.TCP || stats.packetsWritten >= limits.packetLimit()) {
      sink.write(p, null, 0, null);
      return;
    }
    boolean fromA = probe.set(h.ipVersion, h.srcHigh, h.srcLow, h.srcPort, h.dstHigh, h.dstLow, h.dstPort);
    TcpFlow flow = flows.get(probe);
    boolean syn = (h.tcpFlags & PacketHeaders.SYN) != 0;
    boolean ack = (h.tcpFlags & PacketHeaders.ACK) != 0;
    TcpFlow before = null;
    if (flow != null && syn && !ack && flow.startsNewConnection(fromA, h.tcpSeq)) {
      // the 4-tuple was reused: short-lived clients get the same port again within seconds
      before = retire(flow);
      flow = null;
    }
    if (flow == null) {
      if (h.payloadLength == 0 && !syn) {
        sink.write(p, null, 0, null); // an ACK or FIN of a connection not in the table: nothing to follow
        return;
      }
      flow = new TcpFlow(probe.copy(), now);
      flow.linkType = linkType;
      if (flows.size() >= MAX_FLOWS) {
        evictOldest();
      }
      flows.put(flow.key, flow);
      flow.movedNanos = now;
      if (before != null) {
        flow.behind = before;
        before.successor = flow;
      }
    } else if (now - flow.movedNanos >= REORDER_NANOS) {
      flows.remove(flow.key); // to the end: eviction and the memory bound take the front first
      flows.put(flow.key, flow);
      flow.movedNanos = now;
    }
    flow.lastSeenNanos = now;
    if (syn) {
      flow.onSyn(fromA, h.tcpSeq, ack);
    }
    if (h.payloadLength > 0 && flow.state == TcpFlow.State.NEW) {
      classify(flow, fromA, p.data, h, loopback, now);
    } else if (h.payloadLength > 0 && flow.state == TcpFlow.State.PLAIN && fromA == flow.clientIsA
        && flow.plainSegmentsWatched < STARTTLS_WATCHED_SEGMENTS) {
      flow.plainSegmentsWatched++;
      if (h.startsClientHello(p.data)) {
        stats.tlsUpgrades++;
        followTls(flow, loopback, now, false); // STARTTLS: TLS from this segment on
      }
    }
    boolean fromClient = fromA == flow.clientIsA;
    if (flow.followLate && h.payloadLength > 0 && flow.state == TcpFlow.State.RELEASED) {
      holdAgain(flow, now);
    }
    if (flow.waits()) {
      hold(flow, p.copy(fromClient));
    } else {
      write(flow, p, fromClient, h);
    }
    if (flow.tls != null && (flow.isHeld() || flow.followLate || flow.state == TcpFlow.State.KEYED
        && flow.tls.readsOn())) { // keyed: a TLS 1.2 stream reads on for renegotiations
      if (h.payloadLength > 0) {
        follow(flow, fromClient, p.data, h, now);
      }
      if ((h.tcpFlags & (PacketHeaders.FIN | PacketHeaders.RST)) != 0 && flow.tls != null && flow.isHeld()) {
        TlsStream.Side side = fromClient ? TlsStream.Side.CLIENT : TlsStream.Side.SERVER;
        long end = (h.payloadSequence() + h.payloadLength) & 0xFFFFFFFFL;
        if ((h.tcpFlags & PacketHeaders.RST) != 0) {
          flow.tls.onReset(side, end);
        } else {
          flow.tls.onFin(side, end);
        }
        // an ended side may need no more secrets: the flow may be complete
        applyDecisions(matcher.onRecords(flow.tls, now), now);
      }
    }
    if ((h.tcpFlags & (PacketHeaders.FIN | PacketHeaders.RST)) != 0) {
      flow.sawEnd(fromClient, (h.tcpFlags & PacketHeaders.RST) != 0);
      if (flow.state == TcpFlow.State.KEYED) {
        closeStream(flow);
      }
    }
  }

  /**
   * A keyed connection ended both ways: no record will come that needs its parser, so the stream
   * leaves the matcher now, not when the flow leaves the table ({@link #CLOSED_NANOS} later). Under
   * a handshake load that is most of what stays alive: 5 s of connections' parsers, copied by every
   * young collection (bench/tls-path.sh: 14.7 MiB live, 2 600 streams at 500 handshakes/s).
   */
  private void closeStream(TcpFlow flow) {
    if (flow.ended() && flow.tls != null && !flow.tls.renegotiating()) {
      forgetStream(flow);
      flow.tls = null;
      countParser(flow);
    }
  }

  /**
   * A quiet TLS connection speaks again while its stream holds secrets that most likely are its own:
   * its packets wait again (at most {@code --hold}) so that, once a secret is proven on this
   * record, its DSB goes before the record.
   */
  private void holdAgain(TcpFlow flow, long now) {
    startHolding(flow, TcpFlow.State.HELD, now);
    stats.tlsFlowsHeldAgain++;
  }

  /** A flow's first payload: a TLS client's handshake record starts it, or it is followed no further. */
  private void classify(TcpFlow flow, boolean fromA, ByteBuffer data, PacketHeaders h, boolean loopback, long now) {
    if (!flow.clientKnown) {
      flow.clientIsA = fromA; // joined without the SYN: the first to speak is taken as the client
      flow.clientKnown = true;
    }
    int at = h.payloadOffset;
    boolean tlsHandshake = fromA == flow.clientIsA && data.get(at) == 0x16
        && (h.payloadLength < 2 || data.get(at + 1) == 0x03);
    if (!tlsHandshake) {
      flow.state = TcpFlow.State.PLAIN; // watched for a later ClientHello (STARTTLS)
      return;
    }
    followTls(flow, loopback, now, true);
  }

  /**
   * Starts following a flow's TLS from the current segment (the client's first TLS bytes): its
   * packets are held from here on. {@code fromSyn}: TLS from the connection's first byte (the SYNs
   * tell where each direction starts); else (STARTTLS) each direction starts at its next segment.
   */
  private void followTls(TcpFlow flow, boolean loopback, long now, boolean fromSyn) {
    flow.tls = new TlsStream();
    flow.onLoopback = loopback;
    flow.upgraded = !fromSyn;
    if (fromSyn && flow.synSeenA) {
      flow.tls.onSyn(flow.clientIsA ? TlsStream.Side.CLIENT : TlsStream.Side.SERVER, flow.synA);
    }
    if (fromSyn && flow.synSeenB) {
      flow.tls.onSyn(flow.clientIsA ? TlsStream.Side.SERVER : TlsStream.Side.CLIENT, flow.synB);
    }
    startHolding(flow, TcpFlow.State.UNDECIDED, now);
    flowOfStream.put(flow.tls, flow);
  }

  /** Feeds a held TLS flow's segment to its stream, and acts on what the stream and the matcher learnt. */
  private void follow(TcpFlow flow, boolean fromClient, ByteBuffer data, PacketHeaders h, long now) {
    TlsStream tls = flow.tls;
    boolean hadRandom = tls.clientRandom() != null;
    boolean learnt = tls.onSegment(fromClient ? TlsStream.Side.CLIENT : TlsStream.Side.SERVER, h.payloadSequence(),
        data, h.payloadOffset, h.payloadLength);
    countParser(flow);
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
      flow.secrets = sink.newFlowSecrets();
      stats.tlsFlows++;
    }
    if (!hadRandom) {
      applyDecisions(matcher.onStream(tls), now); // may key secrets that came first (TLS 1.2, or socket tracing)
    }
    if (learnt && (flow.isHeld() || tls.readsOn())) {
      applyDecisions(matcher.onRecords(tls, now), now);
    }
    if (flow.state == TcpFlow.State.KEYED && tls.renegotiating()) {
      holdForRenegotiation(flow, now);
    }
  }

  /**
   * A keyed TLS 1.2 connection renegotiates (its encrypted ClientHello was read): its packets wait
   * (at most {@code --hold}) for the new handshake's secret, whose DSB must come before the records
   * under the new keys.
   */
  private void holdForRenegotiation(TcpFlow flow, long now) {
    startHolding(flow, TcpFlow.State.HELD, now);
    flow.fullyKeyedNanos = 0;
    stats.tlsRenegotiations++;
    if (flow.carry != null) {
      carryOver.forget(flow);
      flow.notCarried = "a TLS 1.2 renegotiation";
    }
  }

  /** The flow's packets wait from now on (at most {@code --hold}); {@link #releaseExpired} looks at it. */
  private void startHolding(TcpFlow flow, TcpFlow.State state, long now) {
    flow.state = state;
    flow.holdStartedNanos = now;
    if (!flow.inHeldList) {
      flow.inHeldList = true;
      heldFlows.add(flow);
    }
  }

  private void hold(TcpFlow flow, HeldPacket packet) {
    heldBytes += flow.hold(packet);
    if (heldBytes + parserBytes > limits.holdBytes()) {
      releaseForMemory(flow);
    }
  }

  /** Counts what the flow's TLS parser holds now against the memory bound. */
  private void countParser(TcpFlow flow) {
    long now = flow.tls != null ? flow.tls.memoryBytes() : 0;
    parserBytes += now - flow.parserBytes;
    flow.parserBytes = now;
  }

  // ------------------------------------------------------------------ secrets

  /** A secret a traced process derived: proven on the flows (now, or when their records come). */
  void onSecret(TlsSecret secret, long now) {
    stats.secretsReceived++;
    if (secret.clientRandom() != null) {
      stats.secretsWithRandom++;
      sink.keyLogLine(new KeyLogLine(secret.label().keyLogLabel(), secret.clientRandom(), secret.secret()));
    }
    applyDecisions(matcher.onSecret(secret, now), now);
  }

  /** Acts on what the matcher decided: key log lines into the flows' DSBs, processes, releases. */
  private void applyDecisions(List<MatchDecision> decisions, long now) {
    for (MatchDecision d : decisions) {
      TcpFlow flow = flowOfStream.get(d.stream());
      if (d instanceof MatchDecision.Keyed keyed) {
        keyed(flow, keyed);
      } else if (d instanceof MatchDecision.KeyedAgain again) {
        keyedAgain(flow, again);
      } else if (d instanceof MatchDecision.FullyKeyed) {
        fullyKeyed(flow, now);
      }
    }
  }

  /** A proven secret: into the key log file and the flow's DSB; its process annotates the flow. */
  private void keyed(TcpFlow flow, MatchDecision.Keyed keyed) {
    KeyLogLine line = new KeyLogLine(keyed.label().keyLogLabel(), keyed.clientRandom(), keyed.secret());
    sink.keyLogLine(line);
    if (flow == null) {
      return;
    }
    if (flow.secrets == null) {
      flow.secrets = sink.newFlowSecrets();
    }
    flow.secrets.add(line);
    learn(flow, keyed.source());
  }

  /** The same secret from another process (both ends on this host): once both are known, no need to wait. */
  private void keyedAgain(TcpFlow flow, MatchDecision.KeyedAgain again) {
    if (flow == null) {
      return;
    }
    learn(flow, again.source());
    if (flow.fullyKeyedNanos != 0 && flow.isHeld() && flow.processes.bothEndsKnown()) {
      releaseKeyed(flow);
    }
  }

  /** {@code source}'s process derived one of the flow's secrets: it may annotate the flow's packets from now on. */
  private void learn(TcpFlow flow, TlsSecret source) {
    attribution.learn(flow.processes(), source);
    flow.sendersChanged();
  }

  private void fullyKeyed(TcpFlow flow, long now) {
    if (flow == null || !flow.isHeld()) {
      return;
    }
    flow.fullyKeyedNanos = now;
    if (!flow.onLoopback || flow.processes().bothEndsKnown()) {
      releaseKeyed(flow);
    } // else: released when the peer's copy of the secrets comes, or by releaseExpired after the grace
  }

  // ------------------------------------------------------------------ releases

  /** Writes a flow's held packets in their order (its DSB first, if it has secrets) and stops holding. */
  private void release(TcpFlow flow) {
    TcpFlow before = flow.behind;
    if (before != null) { // the old connection on its 4-tuple goes first, as it is
      flow.behind = null;
      before.successor = null;
      if (before.isHeld()) {
        releaseNow(before, false);
      }
    }
    for (HeldPacket held : flow.held) {
      write(flow, held.into(released), held.fromClient(), null);
    }
    heldBytes -= flow.heldBytes;
    flow.heldBytes = 0;
    flow.held.clear();
    TcpFlow next = flow.successor;
    if (next != null) { // the new connection that waited behind this one: its packets follow now
      flow.successor = null;
      next.behind = null;
      if (!next.isHeld()) {
        release(next);
      }
    }
  }

  /** Writes a flow's packet ({@code parsed}: its headers, or null); in a new file a carried flow's prologue first. */
  private void write(TcpFlow flow, CapturedPacket p, boolean fromClient, PacketHeaders parsed) {
    boolean followed = carryOver != null && flow.fileNumber != 0;
    if (followed) {
      carryOver.beforeWrite(flow, p, parsed);
    }
    if (fromClient) {
      sink.write(p, flow.clientProcess, flow.clientTid, flow.secrets);
    } else {
      sink.write(p, flow.serverProcess, flow.serverTid, flow.secrets);
    }
    if (followed) {
      carryOver.written(flow, p, fromClient, parsed);
    }
  }

  private void releaseKeyed(TcpFlow flow) {
    if (carryOver != null && !flow.keyedOnce) {
      carryOver.start(flow);
    }
    flow.state = TcpFlow.State.KEYED;
    flow.followLate = false;
    if (!flow.keyedOnce) { // (a renegotiation keys it again)
      flow.keyedOnce = true;
      stats.tlsFlowsKeyed++;
    }
    if (flow.releasedIncomplete) { // keyed late: no longer a session without secrets
      flow.releasedIncomplete = false;
      stats.tlsFlowsKeyedLate++;
      stats.flowsReleasedWithoutSecrets--;
      stats.packetsReleasedWithoutSecrets -= flow.packetsReleasedIncomplete;
    }
    release(flow);
    countParser(flow); // a fully keyed stream dropped the records it kept
    closeStream(flow); // keyed after the connection ended
  }

  /**
   * The memory bound (held packets and the TLS parsers together): the longest-held flows go first
   * (retired ones before all), counted; a flow released for memory is followed no further, so its
   * parser's memory goes too.
   */
  private void releaseForMemory(TcpFlow current) {
    List<TcpFlow> oldestFirst = new ArrayList<>(retired);
    oldestFirst.addAll(flows.values());
    long target = limits.holdBytes() * 3 / 4;
    for (TcpFlow f : oldestFirst) {
      if (heldBytes + parserBytes <= target) {
        break;
      }
      if (f == current) {
        continue;
      }
      if (f.waits()) {
        releaseNow(f, true);
      }
      if (!f.isHeld() && f.tls != null && f.state != TcpFlow.State.KEYED) {
        stopFollowing(f);
      }
    }
    if (heldBytes + parserBytes > limits.holdBytes()) {
      releaseNow(current, true);
      if (current.tls != null && current.state != TcpFlow.State.KEYED) {
        stopFollowing(current);
      }
    }
  }

  /** Follows a TLS flow no further: its stream leaves the matcher and its parser's memory is freed. */
  private void stopFollowing(TcpFlow flow) {
    forget(flow);
    flow.tls = null;
    flow.followLate = false;
    countParser(flow);
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
        if (!flow.releasedIncomplete) {
          flow.releasedIncomplete = true;
          stats.flowsReleasedWithoutSecrets++;
          if (releasedWithoutSecrets != null) {
            releasedWithoutSecrets.ports(flow.key.aPort, flow.key.bPort);
          }
        }
        flow.packetsReleasedIncomplete += packets;
        stats.packetsReleasedWithoutSecrets += packets;
      } else {
        stats.flowsNotTls++; // began like TLS; its ClientHello never came whole
        stats.packetsNotTls += packets;
      }
      flow.state = flow.state == TcpFlow.State.HELD ? TcpFlow.State.RELEASED : TcpFlow.State.PLAIN;
    }
    // quiet after its handshake, with secrets that most likely are its own: followed on
    flow.followLate = flow.state == TcpFlow.State.RELEASED && flow.tls != null && matcher.hasLikelySecrets(flow.tls);
    if (flow.followLate && carryOver != null && flow.fileNumber == 0) {
      carryOver.startUnkeyed(flow); // its handshake is kept, should it be keyed later
    }
    release(flow);
    flow.releasedNanos = flow.lastSeenNanos;
  }

  /** Every 10 ms or so: flows whose hold time ran out, or whose peer's grace ended, are written. */
  void releaseExpired(long now) {
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
    for (int i = 0; i < heldFlows.size(); ) { // only the held flows, not the whole table every 10 ms
      TcpFlow flow = heldFlows.get(i);
      releaseIfDue(flow, now);
      if (flow.isHeld()) {
        i++;
      } else {
        flow.inHeldList = false;
        heldFlows.set(i, heldFlows.get(heldFlows.size() - 1));
        heldFlows.remove(heldFlows.size() - 1);
      }
    }
  }

  private void releaseIfDue(TcpFlow flow, long now) {
    if (!flow.isHeld()) {
      return;
    }
    if (flow.fullyKeyedNanos != 0 && now - flow.fullyKeyedNanos >= PEER_PROCESS_GRACE_NANOS) {
      releaseKeyed(flow);
    } else if (now - flow.holdStartedNanos >= limits.holdNanos()) {
      releaseIncomplete(flow, false);
    }
  }

  /** The capture stops: every held flow is written now (keyed if its secrets are all in). */
  void releaseAll() {
    for (TcpFlow flow : new ArrayList<>(flows.values())) {
      if (flow.waits()) {
        releaseNow(flow, false);
      }
    }
    for (TcpFlow flow : retired) {
      if (flow.isHeld()) {
        releaseNow(flow, false);
      }
    }
  }

  // ------------------------------------------------------------------ leaving the table

  /**
   * Once a second: the matcher's time to live; flows released without their secrets and followed
   * no further lose their parser when the matcher would no longer key them; idle and closed
   * connections leave.
   */
  void everySecond(long now) {
    matcher.expire(now);
    for (Iterator<TcpFlow> it = flows.values().iterator(); it.hasNext(); ) {
      TcpFlow flow = it.next();
      if (flow.tls != null && flow.state == TcpFlow.State.RELEASED && !flow.followLate
          && now - flow.releasedNanos > matcher.ttlNanos()) {
        stopFollowing(flow);
      }
      long idle = now - flow.lastSeenNanos;
      if (flow.waits() || idle < (flow.ended() ? ENDED_NANOS : flow.closing() ? CLOSED_NANOS : IDLE_NANOS)) {
        continue;
      }
      drop(flow);
      it.remove();
    }
  }

  /**
   * Takes a connection out of the table for a new one on its 4-tuple. A held one waits outside for
   * its secrets, which may still be on their way (the secret ring is drained every 10 ms, and a
   * short-lived client can be done and gone by then), and is returned: the new connection's packets
   * wait behind it. Written now instead: one keyed and only waiting for its peer's secrets (on lo),
   * and one that itself waits behind an older connection (a third on the 4-tuple within the hold
   * time: the two go out, oldest first, so that no chain of connections grows behind a held one).
   */
  private TcpFlow retire(TcpFlow flow) {
    flows.remove(flow.key);
    if (flow.isHeld() && flow.fullyKeyedNanos != 0 || flow.behind != null) {
      releaseNow(flow, false);
    }
    if (flow.isHeld()) {
      retired.add(flow);
      return flow;
    }
    drop(flow);
    return null;
  }

  private void evictOldest() {
    TcpFlow flow = oldest();
    if (flow != null) {
      if (flow.waits()) {
        releaseNow(flow, true);
      }
      forget(flow);
      flows.remove(flow.key);
    }
  }

  /** The connection a full table lets go of first: the least recently seen, to within {@link #REORDER_NANOS}; or null. */
  TcpFlow oldest() {
    Iterator<TcpFlow> it = flows.values().iterator();
    return it.hasNext() ? it.next() : null;
  }

  /** Forgets a connection that left the table: the matcher's stream and the key log. */
  private void drop(TcpFlow flow) {
    forget(flow);
    if (flow.secrets != null) {
      flow.secrets.release();
    }
  }

  private void forget(TcpFlow flow) {
    if (carryOver != null) {
      carryOver.forget(flow);
    }
    forgetStream(flow);
    parserBytes -= flow.parserBytes;
    flow.parserBytes = 0;
  }

  /** The flow's stream leaves the matcher; what it buffered is freed (the matcher may still name it). */
  private void forgetStream(TcpFlow flow) {
    if (flow.tls != null) {
      matcher.onStreamClosed(flow.tls);
      flowOfStream.remove(flow.tls);
      flow.tls.discard();
    }
  }

  // ------------------------------------------------------------------ state, for the loop and tests

  /** Bytes of packets held back now. */
  long heldBytes() {
    return heldBytes;
  }

  /** Connections in the table now (held ones waiting outside it for their secrets not counted). */
  int flowCount() {
    return flows.size();
  }

  /** Connections whose TLS stream is followed now. */
  int streamCount() {
    return flowOfStream.size();
  }

  /** Bytes the TLS parsers hold now. */
  long parserBytes() {
    return parserBytes;
  }

  SecretMatcher matcher() {
    return matcher;
  }
}
