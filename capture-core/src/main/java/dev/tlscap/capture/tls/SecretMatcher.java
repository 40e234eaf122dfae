// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
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
 *       A traffic secret is tried only on streams whose handshake secret of its side a process it
 *       came from derived before it ({@link StreamEntry#mayDeriveTraffic}): those of connections that
 *       never send under them wait their time to live untried, and leave the pool as not needed
 *       once nothing else may own them ({@link UnneededSecrets}).
 *   <li>EXPORTER_SECRET protects no record: it is keyed to the stream of the SERVER_TRAFFIC_SECRET_0
 *       its thread derived just before it (OpenSSL derives them in that order, as client and as
 *       server), once that one is keyed.
 *   <li>The same secret from two processes (both ends of the connection traced) is keyed once per
 *       stream; the second arrival is reported as a {@link MatchDecision.KeyedAgain} so the caller
 *       learns both processes. The second candidate is not decrypted again.
 * </ul>
 *
 * <p>Cost is bounded: candidates and waiting secrets are dropped after a time to live (counted as
 * unmatched) or, past {@code maxCandidates}, oldest first (counted); a stream is tried only while
 * it is incomplete and younger than the time to live.
 *
 * <p>Not thread-safe: every method runs on one thread (the capture event loop), which also
 * feeds the streams. {@link #onSecret}, {@link #onStream} and {@link #onRecords} return what they
 * decided ({@link MatchDecision}s, in order); the caller acts on them after the call.
 * Times ({@code nowNanos}) are any monotonic clock, the same for every call (System.nanoTime()).
 */
public final class SecretMatcher {
  /** How long a secret waits for its connection, and a connection for its secrets. */
  public static final long DEFAULT_TTL_NANOS = 10_000_000_000L;
  /** How many secrets may wait at once. */
  public static final int DEFAULT_MAX_CANDIDATES = 10_000;

  /** What the current call decided; handed out (and cleared) when it returns. */
  private final ArrayList<MatchDecision> decided = new ArrayList<>();
  private final long ttlNanos;
  private final int maxCandidates;
  /** The time of the last call that carried one; {@link #NO_TIME} before the first. */
  private long lastNow = NO_TIME;
  private static final long NO_TIME = Long.MIN_VALUE;

  /* Candidates (secrets without random), oldest first: primaries, twins and waiting exporters. */
  private final CandidatePool pool;

  /* Secrets that came with a client random no stream has (yet). */
  private final WaitingSecrets waiting;
  private final MatchCounts counts = new MatchCounts();

  /** Secrets keyed within the time to live: another process's copy is keyed without decrypting. */
  private final RecentKeys recentlyKeyed = new RecentKeys();

  private final Map<Long, ThreadState> threads = new HashMap<>();
  /** Secrets that reached the matcher so far: the arrival number of the latest ({@link Candidate#arrival}). */
  private long arrivals;

  /* Streams by client random, and incomplete young streams (the trial list), newest first. */
  private final Map<Bytes, List<StreamEntry>> streamsByRandom = new HashMap<>();
  private final TrialList trials = new TrialList();
  /** Traffic secrets of connections that sent nothing under them: out of the pool, counted. */
  private final UnneededSecrets unneeded;


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
    this.pool = new CandidatePool(maxCandidates);
    this.waiting = new WaitingSecrets(maxCandidates);
    this.unneeded = new UnneededSecrets(pool, trials, counts);
  }

  // ------------------------------------------------------------------ events

  /** A secret a traced process derived; returns what that decided. */
  public List<MatchDecision> onSecret(TlsSecret event, long nowNanos) {
    secret(event, nowNanos);
    return decisions();
  }

  /** Hands out what the current call decided. */
  private List<MatchDecision> decisions() {
    List<MatchDecision> out = decided.isEmpty() ? List.of() : List.copyOf(decided);
    decided.clear();
    return out;
  }

  private void secret(TlsSecret event, long nowNanos) {
    lastNow = nowNanos;
    if (event == null || event.label() == null || event.secret() == null || event.secret().length == 0) {
      return;
    }
    arrivals++;
    long threadKey = (long) event.pid() << 32 | (event.tid() & 0xFFFFFFFFL);
    ThreadState thread = threads.computeIfAbsent(threadKey, k -> new ThreadState());
    thread.lastSeen = nowNanos;
    Candidate previous = thread.last;
    Candidate exporterFirst = thread.exporterFirst;
    thread.exporterFirst = null;
    if (event.clientRandom() != null && event.clientRandom().length == 32) {
      thread.last = null;
      keyByRandom(event, nowNanos);
      if (exporterFirst != null) {
        counts.unmatched++; // nothing ties it to a connection
      }
      return;
    }
    Candidate c = new Candidate(event, nowNanos, threadKey, arrivals, arrivals);
    thread.last = c;
    candidate(c, thread, previous);
    if (exporterFirst != null) {
      exporterBefore(exporterFirst, c);
    }
  }

  /** A secret without client random, from {@code thread}, whose secret before it was {@code previous}. */
  private void candidate(Candidate c, ThreadState thread, Candidate previous) {
    TlsSecret event = c.event;
    RecentKey known = recentlyKeyed.get(c.secret);
    if (known != null && known.label() == c.label) {
      c.keyedTo = known.stream();
      thread.lastStream = known.stream();
      key(known.stream(), c.label, c.secret.bytes, event, c.arrival, How.AGAIN);
      return;
    }
    if (c.label == TlsLabel.EXPORTER_SECRET) {
      onExporter(c, previous, thread);
      return;
    }
    Candidate primary = pool.primaryOf(c.secret);
    if (primary != null && primary.label == c.label) {
      // The same secret from the other end: keyed when the first one is, without decrypting again.
      pool(c, false);
      if (primary.twins == null) {
        primary.twins = new ArrayList<>(1);
      }
      primary.twins.add(c);
      return;
    }
    pool(c, true);
    tryOnStreams(c, thread);
    StreamEntry hinted = thread.lastStream != null ? thread.lastStream.matcherEntry : null;
    if (c.keyedTo == null && hinted != null) {
      hinted.noteLikely(c); // most likely that stream's, if it still misses this label
      unneeded.onArrival(c, hinted);
    }
  }

  /**
   * Whether {@code stream} holds secrets that most likely are its own but that no record proved
   * yet (its connection went quiet after the handshake): the caller should go on following it.
   */
  public boolean hasLikelySecrets(TlsStream stream) {
    return stream != null && stream.matcherEntry != null && stream.matcherEntry.hasLikely();
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
    for (TlsStream.Side side : TlsStream.SIDES) {
      entry.likelyTried[side.ordinal()] = stream.recordsReady(side);
    }
    entry.likely.removeIf(c -> c.keyedTo != null || stream.keyedSecret(c.label) != null);
  }

  /**
   * A stream's ClientHello was read ({@link TlsStream#clientRandom()} is known); returns what that
   * decided (secrets that came first). Idempotent.
   */
  public List<MatchDecision> onStream(TlsStream stream) {
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
        keyOne(entry, line.label(), line.secret(), line.source(), 0, How.RANDOM, null);
      }
    }
    same.add(entry);
    if (!stream.fullyKeyed()) {
      trials.add(entry);
    }
    keyWaiting(entry);
    checkFullyKeyed(entry);
  }

  /** Keys to the stream the secrets that came with its client random before it. */
  private void keyWaiting(StreamEntry entry) {
    for (TlsSecret w : waiting.take(entry.random)) {
      key(entry.stream, w.label(), w.secret(), w, 0, How.RANDOM);
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
  public List<MatchDecision> onRecords(TlsStream stream, long nowNanos) {
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
    while (entry.renegotiationRandoms.size() < stream.renegotiations()) {
      indexRenegotiation(entry, new Bytes(stream.renegotiationRandom(entry.renegotiationRandoms.size())));
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
    for (TlsStream.Side side : TlsStream.SIDES) {
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
      TlsLabel[] labels = side == TlsStream.Side.CLIENT ? LabelOrder.CLIENT_LABELS : LabelOrder.SERVER_LABELS;
      for (TlsLabel label : labels) {
        if (entry.closed || !entry.inTrialList) {
          return;
        }
        if (stream.keyedSecret(label) == null && (label != TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET
            || stream.clientHello().offersEarlyData())
            && (!LabelOrder.isTraffic(label) || stream.keyedSecret(LabelOrder.handshakeLabelOf(side)) != null)) {
          tryPool(label, entry, from);
        }
      }
    }
  }

  /**
   * A keyed TLS 1.2 stream renegotiates: it is found under the new handshake's client random too, and
   * the secret with that random, once it comes, is keyed to it ({@link #keyRenegotiation}).
   */
  private void indexRenegotiation(StreamEntry entry, Bytes random) {
    entry.renegotiationRandoms.add(random);
    streamsByRandom.computeIfAbsent(random, k -> new ArrayList<>(1)).add(entry);
    for (TlsSecret w : waiting.take(random)) {
      keyRenegotiation(entry, random, w);
    }
  }

  /** A CLIENT_RANDOM line with the random of {@code entry}'s renegotiation: its master secret. */
  private void keyRenegotiation(StreamEntry entry, Bytes random, TlsSecret event) {
    TlsStream stream = entry.stream;
    Renegotiation renegotiation = stream.renegotiation();
    if (event.label() != TlsLabel.CLIENT_RANDOM || entry.closed || renegotiation == null) {
      counts.unmatched++; // a TLS 1.2 handshake has no other secret
      return;
    }
    byte[] had = renegotiation.secretOf(random.bytes);
    if (had != null) {
      if (Arrays.equals(had, event.secret())) {
        counts.keyedAgain++;
        decided.add(new MatchDecision.KeyedAgain(stream, event.label(), event));
      }
      return;
    }
    if (!renegotiation.key(random.bytes, event.secret())) {
      counts.rejected++; // not a master secret (48 bytes)
      return;
    }
    counts.keyedByRandom++;
    counts.renegotiationsKeyed++;
    decided.add(new MatchDecision.Keyed(stream, event.label(), event.secret(), event, random.bytes));
    if (!stream.renegotiating()) {
      decided.add(new MatchDecision.FullyKeyed(stream));
    }
  }

  /** The connection is gone: the matcher forgets the stream. */
  public void onStreamClosed(TlsStream stream) {
    if (stream == null || stream.matcherEntry == null || stream.matcherEntry.closed) {
      return;
    }
    StreamEntry entry = stream.matcherEntry;
    entry.closed = true;
    recentlyKeyed.streamClosed(stream, entry.lines);
    trials.remove(entry);
    unindex(entry, entry.random);
    for (Bytes random : entry.renegotiationRandoms) {
      unindex(entry, random);
    }
  }

  private void unindex(StreamEntry entry, Bytes random) {
    List<StreamEntry> same = streamsByRandom.get(random);
    if (same != null) {
      same.remove(entry);
      if (same.isEmpty()) {
        streamsByRandom.remove(random);
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
    while (pool.oldest() != null && pool.oldest().arrivedNanos - limit < 0) {
      Candidate c = pool.oldest();
      pool.remove(c);
      c.expired = true; // a stream may still hold it as likely, and key it later
      counts.unmatched++;
    }
    counts.unmatched += waiting.expire(limit);
    recentlyKeyed.expire(limit);
    threads.values().removeIf(t -> {
      if (t.lastSeen - limit >= 0) {
        return false;
      }
      if (t.exporterFirst != null) {
        counts.unmatched++; // its thread derived no traffic secret after it
      }
      return true;
    });
    for (StreamEntry e = trials.oldest(); e != null && e.addedNanos == NO_TIME; e = e.newer) {
      e.addedNanos = nowNanos; // indexed before any call carried the time
    }
    while (trials.oldest() != null && trials.oldest().addedNanos - limit < 0) {
      StreamEntry e = trials.oldest();
      trials.remove(e);
      if (!e.stream.fullyKeyed()) {
        counts.streamsGivenUp++;
      }
    }
  }

  // ------------------------------------------------------------------ what it did

  public MatcherCounters counters() {
    return counts.snapshot();
  }


  /** How long a secret waits for its connection, and a connection for its secrets. */
  public long ttlNanos() {
    return ttlNanos;
  }

  /** Secrets waiting for their connection (candidates and secrets with a random no stream has). */
  public int waitingSecrets() {
    int exporters = 0;
    for (ThreadState t : threads.values()) {
      exporters += t.exporterFirst != null ? 1 : 0;
    }
    return pool.size() + waiting.size() + exporters;
  }

  /** One line for the stats output and the pcapng ISB comment. */
  public String summary() {
    return counts.summary();
  }


  // ------------------------------------------------------------------ keying

  private enum How { RANDOM, TRIAL, THREAD, AGAIN }

  private void keyByRandom(TlsSecret event, long now) {
    Bytes random = new Bytes(event.clientRandom());
    List<StreamEntry> streams = streamsByRandom.get(random);
    if (streams != null && !streams.isEmpty()) {
      StreamEntry first = streams.get(0);
      if (!first.random.equals(random)) {
        for (StreamEntry e : List.copyOf(streams)) { // the connection seen on two interfaces: both
          keyRenegotiation(e, random, event);
        }
        return;
      }
      key(first.stream, event.label(), event.secret(), event, arrivals, How.RANDOM);
      return;
    }
    counts.droppedByCap += waiting.add(event, random, now);
  }

  /**
   * An exporter secret: it goes with the SERVER_TRAFFIC_SECRET_0 its thread derived just before
   * (OpenSSL, BoringSSL), or else with the traffic secret the thread derives next (GnuTLS derives
   * it between the handshake and the traffic secrets: {@link #exporterBefore}).
   */
  private void onExporter(Candidate c, Candidate previous, ThreadState thread) {
    if (previous == null || previous.label != TlsLabel.SERVER_TRAFFIC_SECRET_0) {
      thread.exporterFirst = c;
      return;
    }
    withTrafficSecret(c, previous);
  }

  /** An exporter secret came just before {@code next} from one thread: with it when it is a traffic secret. */
  private void exporterBefore(Candidate exporter, Candidate next) {
    if (next.label == TlsLabel.CLIENT_TRAFFIC_SECRET_0 || next.label == TlsLabel.SERVER_TRAFFIC_SECRET_0) {
      withTrafficSecret(exporter, next);
    } else {
      counts.unmatched++; // nothing ties it to a connection
    }
  }

  /** Exporter {@code c} belongs where traffic secret {@code previous} does: keyed with it, now or when it is. */
  private void withTrafficSecret(Candidate c, Candidate previous) {
    if (previous.keyedTo != null) {
      c.keyedTo = previous.keyedTo;
      key(previous.keyedTo, c.label, c.secret.bytes, c.event, c.arrival, How.THREAD);
    } else if (previous.pooled) {
      pool(c, false);
      previous.exporter = c;
    } else if (previous.retired) {
      previous.exporter = c; // not needed with it (and keyed with it, should a stream prove it after all)
      c.retired = true;
      counts.unneeded++;
    } else {
      counts.unmatched++; // its traffic secret expired unmatched
    }
  }

  private void tryOnStreams(Candidate c, ThreadState thread) {
    StreamEntry hint = thread.lastStream != null ? thread.lastStream.matcherEntry : null;
    if (hint != null && hint.inTrialList && tryOn(c, hint, 0)) {
      return;
    }
    for (StreamEntry e = trials.newest(); e != null; e = e.older) {
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
    long floor = LabelOrder.isTraffic(label) ? entry.trafficArrivalFloor(TlsStream.sideOf(label)) : 0;
    for (Candidate c = pool.newestOf(label); c != null; ) {
      if (bounded && entry.addedNanos - c.arrivedNanos > ARRIVAL_SLACK_NANOS || c.pooledAt < floor) {
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
        || (c.label == TlsLabel.CLIENT_RANDOM) == (s.version() == TlsStream.TLS_1_3)
        || (LabelOrder.isTraffic(c.label) && !entry.mayDeriveTraffic(TlsStream.sideOf(c.label), c))) {
      return false;
    }
    long before = s.trialDecryptions();
    SecretProof proof = s.verify(c.label, c.secret.bytes, from);
    counts.trialDecryptions += s.trialDecryptions() - before;
    if (proof.verdict() != TlsStream.Verdict.MATCH) {
      return false;
    }
    matched(c, s, proof);
    return true;
  }

  private void matched(Candidate c, TlsStream stream, SecretProof proof) {
    pool.remove(c);
    if (c.retired) { // a stream kept it as likely after all and proved it
      c.retired = false;
      counts.unneeded--;
      counts.keyedLate++;
    }
    if (c.expired) {
      c.expired = false;
      counts.unmatched--; // counted when it left the pool; a stream kept it (likely) and proved it after all
      counts.keyedLate++;
    }
    c.keyedTo = stream;
    ThreadState thread = threads.get(c.thread);
    if (thread != null) {
      thread.lastStream = stream;
    }
    key(stream, c.label, c.secret.bytes, c.event, c.arrival, How.TRIAL, proof);
    if (c.exporter != null) {
      keyExporter(c.exporter, stream);
    }
    if (c.twins != null) {
      for (Candidate twin : c.twins) {
        if (!twin.pooled) {
          continue;
        }
        pool.remove(twin);
        twin.keyedTo = stream;
        ThreadState t = threads.get(twin.thread);
        if (t != null) {
          t.lastStream = stream;
        }
        key(stream, twin.label, twin.secret.bytes, twin.event, twin.arrival, How.AGAIN);
        if (twin.exporter != null) {
          keyExporter(twin.exporter, stream);
        }
      }
    }
  }

  private void keyExporter(Candidate exporter, TlsStream stream) {
    if (!exporter.pooled && !exporter.expired && !exporter.retired) {
      return;
    }
    pool.remove(exporter);
    if (exporter.retired) {
      exporter.retired = false;
      counts.unneeded--;
      counts.keyedLate++;
    }
    if (exporter.expired) { // its traffic secret was proven late: it goes with it
      exporter.expired = false;
      counts.unmatched--;
      counts.keyedLate++;
    }
    exporter.keyedTo = stream;
    key(stream, exporter.label, exporter.secret.bytes, exporter.event, exporter.arrival, How.THREAD);
  }

  /** Keys a secret to {@code stream} and to the other open streams with its client random. */
  private void key(TlsStream stream, TlsLabel label, byte[] secret, TlsSecret source, long arrival, How how) {
    key(stream, label, secret, source, arrival, how, null);
  }

  /** {@link #key(TlsStream, TlsLabel, byte[], TlsSecret, How)} with what verifying it on {@code stream} found. */
  private void key(TlsStream stream, TlsLabel label, byte[] secret, TlsSecret source, long arrival, How how,
      SecretProof proof) {
    StreamEntry entry = stream.matcherEntry;
    if (entry == null) {
      return;
    }
    recentlyKeyed.remember(new Bytes(secret), label, stream, lastNow);
    List<StreamEntry> same = streamsByRandom.get(entry.random);
    if (same == null || same.size() <= 1 || !same.contains(entry)) {
      keyOne(entry, label, secret, source, arrival, how, proof);
      return;
    }
    for (StreamEntry e : List.copyOf(same)) {
      keyOne(e, label, secret, source, arrival, how, proof);
    }
  }

  private void keyOne(StreamEntry entry, TlsLabel label, byte[] secret, TlsSecret source, long arrival, How how,
      SecretProof proof) {
    if (entry.closed) {
      return;
    }
    TlsStream stream = entry.stream;
    byte[] had = stream.keyedSecret(label);
    if (had != null) {
      if (Arrays.equals(had, secret)) {
        counts.keyedAgain++;
        noteOrigin(entry, label, source, arrival);
        decided.add(new MatchDecision.KeyedAgain(stream, label, source));
      }
      return; // a different secret for a label this stream has: the proven one stays
    }
    if (how == How.RANDOM && proof == null && label.isTls13() && label != TlsLabel.EXPORTER_SECRET) {
      // Joined by its client random (socket tracing's guess, Go): proven here like any other secret,
      // so a wrong one is never stored and never blocks the right one.
      long tried = stream.trialDecryptions();
      proof = stream.verify(label, secret);
      counts.trialDecryptions += stream.trialDecryptions() - tried;
      if (proof.verdict() == TlsStream.Verdict.NO_MATCH) {
        counts.rejected++;
        return;
      }
      if (proof.verdict() == TlsStream.Verdict.NOT_YET) {
        waitAsCandidate(source, arrival); // proven on the record it protects, when that comes
        return;
      }
    }
    noteOrigin(entry, label, source, arrival);
    long before = stream.trialDecryptions();
    stream.keyed(label, secret, proof); // opens the records after a handshake key's first to find where it ends
    counts.trialDecryptions += stream.trialDecryptions() - before;
    entry.lines.add(new KeyedLine(label, secret, source));
    switch (how) {
      case RANDOM -> counts.keyedByRandom++;
      case THREAD -> counts.keyedByThread++;
      default -> counts.keyedByTrial++;
    }
    decided.add(new MatchDecision.Keyed(stream, label, secret, source, stream.clientRandom()));
    checkFullyKeyed(entry);
    TlsStream.Side side = TlsStream.sideOf(label);
    if (side != null && label == LabelOrder.handshakeLabelOf(side) && entry.inTrialList && !entry.closed) {
      TlsLabel traffic = LabelOrder.trafficLabelOf(side);
      if (stream.keyedSecret(traffic) == null) {
        tryPool(traffic, entry, 0); // the waiting traffic secrets, where this key's records end
      }
    }
  }

  /** A handshake secret keyed to the stream: where its traffic secret can come from ({@link StreamEntry#mayDeriveTraffic}). */
  private static void noteOrigin(StreamEntry entry, TlsLabel label, TlsSecret source, long arrival) {
    TlsStream.Side side = TlsStream.sideOf(label);
    if (side != null && label == LabelOrder.handshakeLabelOf(side) && source != null) {
      entry.noteHandshakeOrigin(side, source.pid(), source.bootTimeNanos(), arrival);
    }
  }

  /** A secret with its client random whose record is not there yet: it waits in the pool, as one without. */
  private void waitAsCandidate(TlsSecret source, long arrival) {
    Candidate c = new Candidate(source, lastNow, (long) source.pid() << 32 | (source.tid() & 0xFFFFFFFFL), arrival, arrivals);
    if (pool.primaryOf(c.secret) == null) { // unless the same secret waits already
      pool(c, true);
    }
  }

  /** Puts {@code c} in the pool (as its secret's primary, or a twin or exporter waiting with one); counts what the cap dropped. */
  private void pool(Candidate c, boolean primary) {
    if (primary ? pool.addPrimary(c) : pool.add(c)) {
      counts.droppedByCap++;
    }
  }

  private void checkFullyKeyed(StreamEntry entry) {
    if (entry.fullyKeyedNotified || entry.closed || !entry.stream.fullyKeyed()) {
      return;
    }
    entry.fullyKeyedNotified = true;
    counts.streamsFullyKeyed++;
    trials.remove(entry);
    decided.add(new MatchDecision.FullyKeyed(entry.stream));
    unneeded.onFullyKeyed(entry);
  }
}
