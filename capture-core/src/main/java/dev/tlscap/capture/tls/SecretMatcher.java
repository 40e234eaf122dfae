// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Keys the TLS secrets traced processes derive to the captured connections ({@link TlsStream}s)
 * they belong to, and hands each key log line on once per connection.
 *
 * <ul>
 *   <li>A secret that comes with its client random (TLS 1.2's master secret; TLS 1.3 with socket
 *       tracing) is keyed at once to the streams with that random, or waits for such a stream.
 *   <li>A TLS 1.3 secret without it becomes a <em>candidate</em>: it is tried on the TLS 1.3 streams
 *       that still miss that label, the stream of the same thread's previous secret first, then the
 *       newest first, and is keyed where it opens the record it protects ({@link TlsStream#verify}).
 *       Candidates that cannot be proven yet wait; each is tried once on each new record of a stream
 *       ({@link #onRecords}). A CLIENT_RANDOM without random is tried the same way on TLS 1.2 streams.
 *   <li>EXPORTER_SECRET protects no record: it is keyed to the stream of the SERVER_TRAFFIC_SECRET_0
 *       its thread derived just before it (OpenSSL derives them in that order, as client and as
 *       server), once that one is keyed.
 *   <li>The same secret from two processes (both ends of the connection traced) is keyed once per
 *       stream; the second arrival is reported as a {@link KeyedAgain} so the caller
 *       learns both processes. The second candidate is not decrypted again.
 * </ul>
 *
 * <p>Cost is bounded: candidates and waiting secrets are dropped after a time to live (counted as
 * unmatched) or, past {@code maxCandidates}, oldest first (counted); a stream is tried only while
 * it is incomplete and younger than the time to live.
 *
 * <p>Not thread-safe: every method runs on one thread (the capture event loop), which also
 * feeds the streams. {@link #onSecret}, {@link #onStream} and {@link #onRecords} return what they
 * decided ({@link Decision}s, in order); the caller acts on them after the call.
 * Times ({@code nowNanos}) are any monotonic clock, the same for every call (System.nanoTime()).
 */
public final class SecretMatcher {
  /**
   * What a call decided, in order: the caller applies these after the call returns (the matcher
   * never calls back into its caller mid-decision).
   */
  public sealed interface Decision {
    TlsStream stream();
  }

  /**
   * {@code secret} is {@code stream}'s {@code label} secret, keyed for the first time: its key log
   * line goes into the stream's Decryption Secrets Block.
   *
   * @param source the secret of the process that derived it (the first to be keyed)
   */
  public record Keyed(TlsStream stream, TlsLabel label, byte[] secret, TlsSecret source) implements Decision {
    /** The stream's client random (the line's key). */
    public byte[] clientRandom() {
      return stream.clientRandom();
    }
  }

  /**
   * A secret already keyed to {@code stream} came again, from {@code source}: another process or
   * thread derived it too (client and server both on this host). No new line; the caller may note
   * the process.
   */
  public record KeyedAgain(TlsStream stream, TlsLabel label, TlsSecret source) implements Decision {}

  /**
   * Every secret {@code stream} needs is keyed ({@link TlsStream#missingLabels()} is empty); once
   * per stream. Its packets held back can be written after the lines' DSB. EXPORTER_SECRET may
   * still follow as a {@link Keyed}.
   */
  public record FullyKeyed(TlsStream stream) implements Decision {}

  /**
   * What the matcher did since it was created.
   *
   * @param keyedByRandom lines keyed by the client random that came with the secret
   * @param keyedByTrial lines keyed by trial decryption
   * @param keyedByThread EXPORTER_SECRET lines keyed after their thread's SERVER_TRAFFIC_SECRET_0
   * @param keyedAgain secrets that came again for a stream that had them (another process)
   * @param unmatched secrets never keyed: expired, or an EXPORTER_SECRET without a preceding
   *     SERVER_TRAFFIC_SECRET_0
   * @param droppedByCap secrets dropped because too many waited
   * @param trialDecryptions records opened (attempted) to prove secrets
   * @param streamsFullyKeyed streams that got every secret they need
   * @param streamsGivenUp streams tried no more because they stayed incomplete past the time to live
   * @param keyedLate secrets keyed after their time to live, kept by a quiet connection they most
   *     likely belonged to (and proven on its later records)
   */
  public record Counters(long keyedByRandom, long keyedByTrial, long keyedByThread, long keyedAgain, long unmatched,
      long droppedByCap, long trialDecryptions, long streamsFullyKeyed, long streamsGivenUp, long keyedLate) {}

  /** How long a secret waits for its connection, and a connection for its secrets. */
  public static final long DEFAULT_TTL_NANOS = 10_000_000_000L;
  /** How many secrets may wait at once. */
  public static final int DEFAULT_MAX_CANDIDATES = 10_000;

  /** What the current call decided; handed out (and cleared) when it returns. */
  private final ArrayList<Decision> decided = new ArrayList<>();
  private final long ttlNanos;
  private final int maxCandidates;
  /** The time of the last call that carried one; {@link #NO_TIME} before the first. */
  private long lastNow = NO_TIME;
  private static final long NO_TIME = Long.MIN_VALUE;

  /* Candidates (secrets without random), oldest first: primaries, twins and waiting exporters. */
  private Candidate oldest;
  private Candidate newest;
  private int pooled;
  /** Per label code, the newest primary candidate (the trial list runs to older ones). */
  private final Candidate[] newestOfLabel = new Candidate[8];
  /** Primary candidates by secret, to catch the same secret from another process. */
  private final Map<Bytes, Candidate> primaryBySecret = new HashMap<>();

  /* Secrets that came with a client random no stream has (yet). */
  private final Map<Bytes, List<WaitingForStream>> waitingByRandom = new HashMap<>();
  private final ArrayDeque<WaitingForStream> waitingOrder = new ArrayDeque<>();
  private int waiting;

  /** Secrets keyed within the time to live, by secret: another process's copy is keyed without decrypting. */
  private final Map<Bytes, RecentKey> recentlyKeyed = new HashMap<>();
  private final ArrayDeque<RecentKey> keyedOrder = new ArrayDeque<>();

  private final Map<Long, ThreadState> threads = new HashMap<>();

  /* Streams by client random, and incomplete young streams (the trial list), newest first. */
  private final Map<Bytes, List<StreamEntry>> streamsByRandom = new HashMap<>();
  private StreamEntry newestStream;
  private StreamEntry oldestStream;

  private long keyedByRandom;
  private long keyedByTrial;
  private long keyedByThread;
  private long keyedAgain;
  private long unmatched;
  private long droppedByCap;
  private long trialDecryptions;
  private long streamsFullyKeyed;
  private long streamsGivenUp;
  private long keyedLate;

  /** A matcher with the default time to live (10 s) and candidate cap (10 000). */
  public SecretMatcher() {
    this(DEFAULT_TTL_NANOS, DEFAULT_MAX_CANDIDATES);
  }

  public SecretMatcher(long ttlNanos, int maxCandidates) {
    if (ttlNanos <= 0 || maxCandidates < 1) {
      throw new IllegalArgumentException("a positive time to live and a positive candidate cap");
    }
    this.ttlNanos = ttlNanos;
    this.maxCandidates = maxCandidates;
  }

  // ------------------------------------------------------------------ events

  /** A secret a traced process derived; returns what that decided. */
  public List<Decision> onSecret(TlsSecret event, long nowNanos) {
    secret(event, nowNanos);
    return decisions();
  }

  /** Hands out what the current call decided. */
  private List<Decision> decisions() {
    if (decided.isEmpty()) {
      return List.of();
    }
    List<Decision> out = List.copyOf(decided);
    decided.clear();
    return out;
  }

  private void secret(TlsSecret event, long nowNanos) {
    lastNow = nowNanos;
    if (event == null || event.label() == null || event.secret() == null || event.secret().length == 0) {
      return;
    }
    long threadKey = (long) event.pid() << 32 | (event.tid() & 0xFFFFFFFFL);
    ThreadState thread = threads.computeIfAbsent(threadKey, k -> new ThreadState());
    thread.lastSeen = nowNanos;
    Candidate previous = thread.last;
    if (event.clientRandom() != null && event.clientRandom().length == 32) {
      thread.last = null;
      keyByRandom(event, nowNanos);
      return;
    }
    Candidate c = new Candidate(event, nowNanos, threadKey);
    thread.last = c;
    RecentKey known = recentlyKeyed.get(c.secret);
    if (known != null && known.label == c.label) {
      c.keyedTo = known.stream;
      thread.lastStream = known.stream;
      key(known.stream, c.label, c.secret.bytes, event, How.AGAIN);
      return;
    }
    if (c.label == TlsLabel.EXPORTER_SECRET) {
      onExporter(c, previous);
      return;
    }
    Candidate primary = primaryBySecret.get(c.secret);
    if (primary != null && primary.label == c.label) {
      // The same secret from the other end: keyed when the first one is, without decrypting again.
      addToPool(c);
      if (primary.twins == null) {
        primary.twins = new ArrayList<>(1);
      }
      primary.twins.add(c);
      return;
    }
    addToPool(c);
    addPrimary(c);
    tryOnStreams(c, thread);
    if (c.keyedTo == null) {
      noteLikely(c, thread);
    }
  }

  /** How many secrets a stream keeps that its thread derived after keying it (see {@link #noteLikely}). */
  static final int MAX_LIKELY = 4;

  /**
   * A secret that no record proves yet, from a thread whose previous secret was keyed to a stream
   * that still misses this label: most likely that stream's (a TLS 1.3 client derives its traffic
   * secret right after its handshake secret, then may stay quiet for minutes). The stream keeps it
   * past the time to live, until its connection ends, and tries it on its later records
   * ({@link #hasLikelySecrets}); a few per stream, so cost and memory stay bounded.
   */
  private void noteLikely(Candidate c, ThreadState thread) {
    TlsStream s = thread.lastStream;
    StreamEntry e = s != null ? s.matcherEntry : null;
    if (e == null || e.closed || s.fullyKeyed() || s.keyedSecret(c.label) != null
        || c.label == TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET || c.label == TlsLabel.CLIENT_RANDOM) {
      return;
    }
    if (e.likely == null) {
      e.likely = new ArrayList<>(2);
    }
    if (e.likely.size() < MAX_LIKELY) {
      e.likely.add(c);
    }
  }

  /**
   * Whether {@code stream} holds secrets that most likely are its own but that no record proved
   * yet (its connection went quiet after the handshake): the caller should go on following it.
   */
  public boolean hasLikelySecrets(TlsStream stream) {
    StreamEntry e = stream == null ? null : stream.matcherEntry;
    if (e == null || e.closed || e.likely == null) {
      return false;
    }
    e.likely.removeIf(c -> c.keyedTo != null || stream.keyedSecret(c.label) != null);
    return !e.likely.isEmpty();
  }

  /** Tries the stream's likely secrets on its records not tried with them yet. */
  private void tryLikely(StreamEntry entry) {
    TlsStream stream = entry.stream;
    for (Candidate c : List.copyOf(entry.likely)) {
      if (entry.closed) {
        return;
      }
      TlsStream.Side side = TlsStream.sideOf(c.label);
      int from = side == null ? 0 : entry.likelyTried[side.ordinal()];
      if (c.keyedTo == null && stream.keyedSecret(c.label) == null) {
        tryOn(c, entry, from);
      }
    }
    for (TlsStream.Side side : TlsStream.Side.values()) {
      entry.likelyTried[side.ordinal()] = stream.recordsReady(side);
    }
    entry.likely.removeIf(c -> c.keyedTo != null || stream.keyedSecret(c.label) != null);
  }

  /**
   * A stream's ClientHello was read ({@link TlsStream#clientRandom()} is known); returns what that
   * decided (secrets that came first). Idempotent.
   */
  public List<Decision> onStream(TlsStream stream) {
    stream(stream);
    return decisions();
  }

  private void stream(TlsStream stream) {
    if (stream == null || stream.clientRandom() == null || stream.matcherEntry != null) {
      return;
    }
    StreamEntry entry = new StreamEntry(stream, new Bytes(stream.clientRandom()), lastNow);
    stream.matcherEntry = entry;
    List<StreamEntry> same = streamsByRandom.computeIfAbsent(entry.random, k -> new ArrayList<>(1));
    if (!same.isEmpty()) {
      // The same connection seen twice (two interfaces): it gets what its twin has.
      for (KeyedLine line : same.get(0).lines) {
        keyOne(entry, line.label, line.secret, line.source, How.RANDOM, null);
      }
    }
    same.add(entry);
    if (!stream.fullyKeyed()) {
      addToTrialList(entry);
    }
    keyWaiting(entry);
    checkFullyKeyed(entry);
  }

  /** Keys to the stream the secrets that came with its client random before it. */
  private void keyWaiting(StreamEntry entry) {
    List<WaitingForStream> waiting = waitingByRandom.remove(entry.random);
    if (waiting != null) {
      for (WaitingForStream w : waiting) {
        w.done = true;
        this.waiting--;
        key(entry.stream, w.event.label(), w.event.secret(), w.event, How.RANDOM);
      }
    }
  }

  /**
   * The stream's client random changed (a second ClientHello after a HelloRetryRequest with another
   * random, see TlsStream): it is found under the new one from now on.
   */
  private void reindex(StreamEntry entry) {
    List<StreamEntry> old = streamsByRandom.get(entry.random);
    if (old != null && old.remove(entry) && old.isEmpty()) {
      streamsByRandom.remove(entry.random);
    }
    entry.random = new Bytes(entry.stream.clientRandom());
    streamsByRandom.computeIfAbsent(entry.random, k -> new ArrayList<>(1)).add(entry);
    keyWaiting(entry);
  }

  /**
   * {@code stream} learnt something (its ClientHello or ServerHello, new encrypted records): the
   * waiting candidates are tried on what is new. Call it after each {@link TlsStream#onSegment} that
   * returned true; calling it more often costs little. Indexes the stream if {@link #onStream} was
   * not called.
   */
  public List<Decision> onRecords(TlsStream stream, long nowNanos) {
    records(stream, nowNanos);
    return decisions();
  }

  private void records(TlsStream stream, long nowNanos) {
    lastNow = nowNanos;
    if (stream == null) {
      return;
    }
    StreamEntry entry = stream.matcherEntry;
    if (entry == null) {
      stream(stream);
      entry = stream.matcherEntry;
      if (entry == null) {
        return;
      }
    }
    if (entry.closed) {
      return;
    }
    if (!Arrays.equals(entry.random.bytes, stream.clientRandom())) {
      reindex(entry);
    }
    if (entry.addedNanos == NO_TIME) {
      entry.addedNanos = nowNanos;
    }
    checkFullyKeyed(entry);
    if (entry.likely != null && !entry.likely.isEmpty() && stream.negotiated()) {
      tryLikely(entry);
    }
    if (!entry.inTrialList || !stream.negotiated()) {
      return;
    }
    boolean tls13 = stream.version() == TlsStream.TLS_1_3;
    for (TlsStream.Side side : TlsStream.Side.values()) {
      int ready = stream.recordsReady(side);
      int from = entry.tried[side.ordinal()];
      if (ready <= from) {
        continue;
      }
      entry.tried[side.ordinal()] = ready;
      if (!tls13) {
        if (from == 0) { // TLS 1.2 master secrets prove themselves on record 0 of either side
          tryPool(TlsLabel.CLIENT_RANDOM, entry, 0);
        }
        continue;
      }
      TlsLabel[] labels = side == TlsStream.Side.CLIENT ? CLIENT_LABELS : SERVER_LABELS;
      for (TlsLabel label : labels) {
        if (entry.closed || !entry.inTrialList) {
          return;
        }
        if (stream.keyedSecret(label) == null && (label != TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET
            || stream.clientHello().offersEarlyData())
            && (!isTraffic(label) || stream.keyedSecret(handshakeLabelOf(side)) != null)) {
          tryPool(label, entry, from);
        }
      }
    }
  }

  /*
   * Waiting traffic secrets are tried on a side's new records only once that side's handshake
   * secret is keyed: before, every record after the first would be tried with every waiting traffic
   * secret of every connection (those of connections that never send application data wait their
   * whole time to live: openssl s_time, 560 connections in 5 s, made 360 000 trials). Keying the
   * handshake secret tells where the traffic key starts, and tries the waiting ones there (keyOne).
   * A traffic secret that arrives is still tried on every stream at once (tryOnStreams).
   */
  private static boolean isTraffic(TlsLabel label) {
    return label == TlsLabel.CLIENT_TRAFFIC_SECRET_0 || label == TlsLabel.SERVER_TRAFFIC_SECRET_0;
  }

  private static TlsLabel trafficLabelOf(TlsStream.Side side) {
    return side == TlsStream.Side.CLIENT ? TlsLabel.CLIENT_TRAFFIC_SECRET_0 : TlsLabel.SERVER_TRAFFIC_SECRET_0;
  }

  private static TlsLabel handshakeLabelOf(TlsStream.Side side) {
    return side == TlsStream.Side.CLIENT ? TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET
        : TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET;
  }

  /** Handshake labels before traffic labels: a keyed handshake key tells where the traffic key starts. */
  private static final TlsLabel[] CLIENT_LABELS = {TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET,
      TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.CLIENT_TRAFFIC_SECRET_0};
  private static final TlsLabel[] SERVER_LABELS = {TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET,
      TlsLabel.SERVER_TRAFFIC_SECRET_0};

  /** The connection is gone: the matcher forgets the stream. */
  public void onStreamClosed(TlsStream stream) {
    if (stream == null || stream.matcherEntry == null || stream.matcherEntry.closed) {
      return;
    }
    StreamEntry entry = stream.matcherEntry;
    entry.closed = true;
    removeFromTrialList(entry);
    List<StreamEntry> same = streamsByRandom.get(entry.random);
    if (same != null) {
      same.remove(entry);
      if (same.isEmpty()) {
        streamsByRandom.remove(entry.random);
      }
    }
  }

  /**
   * Drops what is older than the time to live: candidates and waiting secrets (counted as
   * unmatched), recently keyed secrets, idle threads; incomplete streams stop being tried. Call it
   * now and then (every second).
   */
  public void expire(long nowNanos) {
    lastNow = nowNanos;
    long limit = nowNanos - ttlNanos;
    while (oldest != null && oldest.arrivedNanos - limit < 0) {
      Candidate c = oldest;
      removeFromPool(c);
      c.expired = true; // a stream may still hold it as likely, and key it later
      unmatched++;
    }
    while (!waitingOrder.isEmpty() && waitingOrder.peekFirst().arrivedNanos - limit < 0) {
      WaitingForStream w = waitingOrder.pollFirst();
      if (!w.done) {
        w.done = true;
        waiting--;
        unmatched++;
        List<WaitingForStream> list = waitingByRandom.get(w.random);
        if (list != null && list.remove(w) && list.isEmpty()) {
          waitingByRandom.remove(w.random);
        }
      }
    }
    while (!keyedOrder.isEmpty() && keyedOrder.peekFirst().keyedNanos - limit < 0) {
      RecentKey k = keyedOrder.pollFirst();
      recentlyKeyed.remove(k.secret, k);
    }
    threads.values().removeIf(t -> t.lastSeen - limit < 0);
    for (StreamEntry e = oldestStream; e != null && e.addedNanos == NO_TIME; e = e.newer) {
      e.addedNanos = nowNanos; // indexed before any call carried the time
    }
    while (oldestStream != null && oldestStream.addedNanos - limit < 0) {
      StreamEntry e = oldestStream;
      removeFromTrialList(e);
      if (!e.stream.fullyKeyed()) {
        streamsGivenUp++;
      }
    }
  }

  // ------------------------------------------------------------------ what it did

  public Counters counters() {
    return new Counters(keyedByRandom, keyedByTrial, keyedByThread, keyedAgain, unmatched, droppedByCap,
        trialDecryptions, streamsFullyKeyed, streamsGivenUp, keyedLate);
  }

  /** How long a secret waits for its connection, and a connection for its secrets. */
  public long ttlNanos() {
    return ttlNanos;
  }

  /** Secrets waiting for their connection (candidates and secrets with a random no stream has). */
  public int waitingSecrets() {
    return pooled + waiting;
  }

  /** One line for the stats output and the pcapng ISB comment. */
  public String summary() {
    StringBuilder s = new StringBuilder();
    s.append(keyedByTrial).append(" secrets keyed by trial decryption (").append(trialDecryptions)
        .append(" records tried), ").append(keyedByRandom).append(" by client random, ").append(keyedByThread)
        .append(" exporter by thread");
    if (keyedAgain > 0) {
      s.append(", ").append(keyedAgain).append(" from a second process");
    }
    if (keyedLate > 0) {
      s.append(", ").append(keyedLate).append(" late (a quiet connection's first records after the handshake)");
    }
    s.append("; ").append(unmatched).append(" unmatched");
    if (droppedByCap > 0) {
      s.append(", ").append(droppedByCap).append(" dropped (too many waiting)");
    }
    s.append("; ").append(streamsFullyKeyed).append(" TLS streams fully keyed");
    if (streamsGivenUp > 0) {
      s.append(", ").append(streamsGivenUp).append(" not in time");
    }
    return s.toString();
  }

  // ------------------------------------------------------------------ keying

  private enum How { RANDOM, TRIAL, THREAD, AGAIN }

  private void keyByRandom(TlsSecret event, long now) {
    Bytes random = new Bytes(event.clientRandom());
    List<StreamEntry> streams = streamsByRandom.get(random);
    if (streams != null && !streams.isEmpty()) {
      key(streams.get(0).stream, event.label(), event.secret(), event, How.RANDOM);
      return;
    }
    while (waiting >= maxCandidates && !waitingOrder.isEmpty()) {
      WaitingForStream w = waitingOrder.pollFirst();
      if (!w.done) {
        w.done = true;
        waiting--;
        droppedByCap++;
        List<WaitingForStream> list = waitingByRandom.get(w.random);
        if (list != null && list.remove(w) && list.isEmpty()) {
          waitingByRandom.remove(w.random);
        }
      }
    }
    WaitingForStream w = new WaitingForStream(event, random, now);
    waitingOrder.addLast(w);
    waiting++;
    waitingByRandom.computeIfAbsent(random, k -> new ArrayList<>(2)).add(w);
  }

  private void onExporter(Candidate c, Candidate previous) {
    if (previous == null || previous.label != TlsLabel.SERVER_TRAFFIC_SECRET_0) {
      unmatched++; // nothing ties it to a connection
      return;
    }
    if (previous.keyedTo != null) {
      c.keyedTo = previous.keyedTo;
      key(previous.keyedTo, c.label, c.secret.bytes, c.event, How.THREAD);
    } else if (previous.pooled) {
      addToPool(c);
      previous.exporter = c;
    } else {
      unmatched++; // its SERVER_TRAFFIC_SECRET_0 expired unmatched
    }
  }

  private void tryOnStreams(Candidate c, ThreadState thread) {
    StreamEntry hint = thread.lastStream != null ? thread.lastStream.matcherEntry : null;
    if (hint != null && hint.inTrialList && tryOn(c, hint, 0)) {
      return;
    }
    for (StreamEntry e = newestStream; e != null; e = e.older) {
      if (e != hint && tryOn(c, e, 0)) {
        return;
      }
    }
  }

  /**
   * A secret is derived after its connection's ClientHello was sent (the server derives on reading
   * it, the client on reading the ServerHello), so it reaches the matcher after the stream, give or
   * take how late either ring is drained; only the early secret comes before. Candidates that
   * arrived more than this before a stream are not tried on it (the pool is newest first, so its
   * scan stops there): secrets no record proves (connections that ended without sending under them)
   * wait their time to live without being tried on every later connection.
   */
  static final long ARRIVAL_SLACK_NANOS = 2_000_000_000L;

  private void tryPool(TlsLabel label, StreamEntry entry, int from) {
    boolean bounded = label != TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET && entry.addedNanos != NO_TIME;
    for (Candidate c = newestOfLabel[label.code()]; c != null; ) {
      if (bounded && entry.addedNanos - c.arrivedNanos > ARRIVAL_SLACK_NANOS) {
        return;
      }
      Candidate older = c.olderOfLabel;
      if (c.primary && tryOn(c, entry, from)) {
        return;
      }
      c = older;
    }
  }

  /** Tries {@code c} on the stream's records numbered {@code from} on; keys it on a MATCH. */
  private boolean tryOn(Candidate c, StreamEntry entry, int from) {
    TlsStream s = entry.stream;
    if (!s.negotiated() || s.keyedSecret(c.label) != null
        || (c.label == TlsLabel.CLIENT_RANDOM) == (s.version() == TlsStream.TLS_1_3)) {
      return false;
    }
    long before = s.trialDecryptions();
    SecretProof proof = s.verify(c.label, c.secret.bytes, from);
    trialDecryptions += s.trialDecryptions() - before;
    if (proof.verdict() != TlsStream.Verdict.MATCH) {
      return false;
    }
    matched(c, s, proof);
    return true;
  }

  private void matched(Candidate c, TlsStream stream, SecretProof proof) {
    removeFromPool(c);
    if (c.expired) {
      c.expired = false;
      unmatched--; // counted when it left the pool; a stream kept it (likely) and proved it after all
      keyedLate++;
    }
    c.keyedTo = stream;
    ThreadState thread = threads.get(c.thread);
    if (thread != null) {
      thread.lastStream = stream;
    }
    key(stream, c.label, c.secret.bytes, c.event, How.TRIAL, proof);
    if (c.exporter != null) {
      keyExporter(c.exporter, stream);
    }
    if (c.twins != null) {
      for (Candidate twin : c.twins) {
        if (!twin.pooled) {
          continue;
        }
        removeFromPool(twin);
        twin.keyedTo = stream;
        ThreadState t = threads.get(twin.thread);
        if (t != null) {
          t.lastStream = stream;
        }
        key(stream, twin.label, twin.secret.bytes, twin.event, How.AGAIN);
        if (twin.exporter != null) {
          keyExporter(twin.exporter, stream);
        }
      }
    }
  }

  private void keyExporter(Candidate exporter, TlsStream stream) {
    if (!exporter.pooled && !exporter.expired) {
      return;
    }
    removeFromPool(exporter);
    if (exporter.expired) { // its SERVER_TRAFFIC_SECRET_0 was proven late: it goes with it
      exporter.expired = false;
      unmatched--;
      keyedLate++;
    }
    exporter.keyedTo = stream;
    key(stream, exporter.label, exporter.secret.bytes, exporter.event, How.THREAD);
  }

  /** Keys a secret to {@code stream} and to the other open streams with its client random. */
  private void key(TlsStream stream, TlsLabel label, byte[] secret, TlsSecret source, How how) {
    key(stream, label, secret, source, how, null);
  }

  /** {@link #key(TlsStream, TlsLabel, byte[], TlsSecret, How)} with what verifying it on {@code stream} found. */
  private void key(TlsStream stream, TlsLabel label, byte[] secret, TlsSecret source, How how,
      SecretProof proof) {
    StreamEntry entry = stream.matcherEntry;
    if (entry == null) {
      return;
    }
    Bytes key = new Bytes(secret);
    if (!recentlyKeyed.containsKey(key)) {
      RecentKey k = new RecentKey(key, label, stream, lastNow);
      recentlyKeyed.put(key, k);
      keyedOrder.addLast(k);
    }
    List<StreamEntry> same = streamsByRandom.get(entry.random);
    if (same == null || same.size() <= 1 || !same.contains(entry)) {
      keyOne(entry, label, secret, source, how, proof);
      return;
    }
    for (StreamEntry e : List.copyOf(same)) {
      keyOne(e, label, secret, source, how, proof);
    }
  }

  private void keyOne(StreamEntry entry, TlsLabel label, byte[] secret, TlsSecret source, How how,
      SecretProof proof) {
    if (entry.closed) {
      return;
    }
    TlsStream stream = entry.stream;
    byte[] had = stream.keyedSecret(label);
    if (had != null) {
      if (Arrays.equals(had, secret)) {
        keyedAgain++;
        decided.add(new KeyedAgain(stream, label, source));
      }
      return; // a different secret for a label this stream has: the first (proven or joined) stays
    }
    long before = stream.trialDecryptions();
    stream.keyed(label, secret, proof); // opens the records after a handshake key's first to find where it ends
    trialDecryptions += stream.trialDecryptions() - before;
    entry.lines.add(new KeyedLine(label, secret, source));
    switch (how) {
      case RANDOM -> keyedByRandom++;
      case THREAD -> keyedByThread++;
      default -> keyedByTrial++;
    }
    decided.add(new Keyed(stream, label, secret, source));
    checkFullyKeyed(entry);
    TlsStream.Side side = TlsStream.sideOf(label);
    if (side != null && label == handshakeLabelOf(side) && entry.inTrialList && !entry.closed) {
      TlsLabel traffic = trafficLabelOf(side);
      if (stream.keyedSecret(traffic) == null) {
        tryPool(traffic, entry, 0); // the waiting traffic secrets, where this key's records end
      }
    }
  }

  private void checkFullyKeyed(StreamEntry entry) {
    if (entry.fullyKeyedNotified || entry.closed || !entry.stream.fullyKeyed()) {
      return;
    }
    entry.fullyKeyedNotified = true;
    streamsFullyKeyed++;
    removeFromTrialList(entry);
    decided.add(new FullyKeyed(entry.stream));
  }

  // ------------------------------------------------------------------ lists

  private void addToPool(Candidate c) {
    if (pooled >= maxCandidates && oldest != null) {
      removeFromPool(oldest);
      droppedByCap++;
    }
    c.pooled = true;
    c.older = newest;
    if (newest != null) {
      newest.newer = c;
    } else {
      oldest = c;
    }
    newest = c;
    pooled++;
  }

  private void addPrimary(Candidate c) {
    c.primary = true;
    primaryBySecret.put(c.secret, c);
    int code = c.label.code();
    c.olderOfLabel = newestOfLabel[code];
    if (newestOfLabel[code] != null) {
      newestOfLabel[code].newerOfLabel = c;
    }
    newestOfLabel[code] = c;
  }

  private void removeFromPool(Candidate c) {
    if (!c.pooled) {
      return;
    }
    c.pooled = false;
    if (c.older != null) {
      c.older.newer = c.newer;
    } else {
      oldest = c.newer;
    }
    if (c.newer != null) {
      c.newer.older = c.older;
    } else {
      newest = c.older;
    }
    c.older = null;
    c.newer = null;
    pooled--;
    if (c.primary) {
      c.primary = false;
      primaryBySecret.remove(c.secret, c);
      int code = c.label.code();
      if (c.olderOfLabel != null) {
        c.olderOfLabel.newerOfLabel = c.newerOfLabel;
      }
      if (c.newerOfLabel != null) {
        c.newerOfLabel.olderOfLabel = c.olderOfLabel;
      } else {
        newestOfLabel[code] = c.olderOfLabel;
      }
      // c.olderOfLabel stays: tryPool may be walking past c right now.
      c.newerOfLabel = null;
    }
  }

  private void addToTrialList(StreamEntry e) {
    e.inTrialList = true;
    e.older = newestStream;
    if (newestStream != null) {
      newestStream.newer = e;
    } else {
      oldestStream = e;
    }
    newestStream = e;
  }

  private void removeFromTrialList(StreamEntry e) {
    if (!e.inTrialList) {
      return;
    }
    e.inTrialList = false;
    if (e.older != null) {
      e.older.newer = e.newer;
    } else {
      oldestStream = e.newer;
    }
    if (e.newer != null) {
      e.newer.older = e.older;
    } else {
      newestStream = e.older;
    }
    e.newer = null;
    e.older = null;
  }

  // ------------------------------------------------------------------ records

  /** The matcher's bookkeeping of one stream; kept in {@link TlsStream#matcherEntry}. */
  static final class StreamEntry {
    final TlsStream stream;
    /** The stream's client random (it changes with a second ClientHello that has another). */
    Bytes random;
    /** When {@link #onStream} saw it ({@link #NO_TIME} until a call carried the time). */
    long addedNanos;
    /** Per side, the records every candidate waiting then has been tried on. */
    final int[] tried = new int[2];
    /** What was keyed to it, for a twin stream that shows up later. */
    final List<KeyedLine> lines = new ArrayList<>(5);
    boolean closed;
    boolean fullyKeyedNotified;
    /** Secrets its threads derived after keying it, that no record proved yet (see noteLikely). */
    List<Candidate> likely;
    /** Per side, the records the likely secrets were tried on. */
    final int[] likelyTried = new int[2];
    boolean inTrialList;
    StreamEntry newer;
    StreamEntry older;

    StreamEntry(TlsStream stream, Bytes random, long addedNanos) {
      this.stream = stream;
      this.random = random;
      this.addedNanos = addedNanos;
    }
  }

  private record KeyedLine(TlsLabel label, byte[] secret, TlsSecret source) {}

  /** A secret without random, waiting to be proven. */
  private static final class Candidate {
    final TlsSecret event;
    final TlsLabel label;
    final Bytes secret;
    final long arrivedNanos;
    final long thread;
    Candidate newer;
    Candidate older;
    Candidate newerOfLabel;
    Candidate olderOfLabel;
    boolean pooled;
    boolean primary;
    /** It left the pool by its time to live (counted unmatched). */
    boolean expired;
    /** The same secret from other processes, keyed when this one is. */
    List<Candidate> twins;
    /** The EXPORTER_SECRET the thread derived right after this SERVER_TRAFFIC_SECRET_0. */
    Candidate exporter;
    TlsStream keyedTo;

    Candidate(TlsSecret event, long arrivedNanos, long thread) {
      this.event = event;
      this.label = event.label();
      this.secret = new Bytes(event.secret());
      this.arrivedNanos = arrivedNanos;
      this.thread = thread;
    }
  }

  private static final class WaitingForStream {
    final TlsSecret event;
    final Bytes random;
    final long arrivedNanos;
    boolean done;

    WaitingForStream(TlsSecret event, Bytes random, long arrivedNanos) {
      this.event = event;
      this.random = random;
      this.arrivedNanos = arrivedNanos;
    }
  }

  private record RecentKey(Bytes secret, TlsLabel label, TlsStream stream, long keyedNanos) {}

  private static final class ThreadState {
    /** The thread's previous secret without random (EXPORTER_SECRET follows SERVER_TRAFFIC_SECRET_0). */
    Candidate last;
    /** Where the thread's last keyed secret went: its next secrets most likely go there too. */
    TlsStream lastStream;
    long lastSeen;
  }

  /** A byte array as a map key, by content. */
  private static final class Bytes {
    final byte[] bytes;
    private final int hash;

    Bytes(byte[] bytes) {
      this.bytes = bytes;
      this.hash = Arrays.hashCode(bytes);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Bytes b && b.hash == hash && Arrays.equals(b.bytes, bytes);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }
}
