// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plays a {@link RecordedTraffic} into one {@link TlsStream} per connection and a
 * {@link SecretMatcher}, the way the pipeline does, and records what the matcher keys.
 */
final class Replay implements MatcherListener {
  final RecordedTraffic traffic;
  final TlsStream[] streams;
  final SecretMatcher matcher;
  /** Key log lines per stream, in the order they were keyed. */
  final Map<TlsStream, List<String>> lines = new IdentityHashMap<>();
  /** Every onKeyed line, in order. */
  final List<String> allLines = new ArrayList<>();
  final Map<TlsStream, List<TlsSecret>> sources = new IdentityHashMap<>();
  final List<String> keyedAgain = new ArrayList<>();
  final List<TlsStream> fullyKeyed = new ArrayList<>();
  private int next;
  long now = 1_000_000_000L;

  Replay(RecordedTraffic traffic) {
    this(traffic, SecretMatcher.DEFAULT_TTL_NANOS, SecretMatcher.DEFAULT_MAX_CANDIDATES);
  }

  Replay(RecordedTraffic traffic, long ttlNanos, int maxCandidates) {
    this.traffic = traffic;
    this.streams = new TlsStream[traffic.connections];
    for (int i = 0; i < streams.length; i++) {
      streams[i] = new TlsStream();
    }
    this.matcher = new SecretMatcher(ttlNanos, maxCandidates);
  }

  @Override
  public void onKeyed(TlsStream stream, TlsLabel label, String keyLogLine, TlsSecret source) {
    lines.computeIfAbsent(stream, s -> new ArrayList<>()).add(keyLogLine);
    sources.computeIfAbsent(stream, s -> new ArrayList<>()).add(source);
    allLines.add(keyLogLine);
  }

  @Override
  public void onKeyedAgain(TlsStream stream, TlsLabel label, TlsSecret source) {
    keyedAgain.add(label + " pid " + source.pid());
    sources.computeIfAbsent(stream, s -> new ArrayList<>()).add(source);
  }

  @Override
  public void onFullyKeyed(TlsStream stream) {
    fullyKeyed.add(stream);
  }

  /** Feeds every remaining packet. */
  Replay packets() {
    return packets(traffic.segments.size());
  }

  /** Feeds packets up to (not including) index {@code end}. */
  Replay packets(int end) {
    for (; next < end; next++) {
      feed(traffic.segments.get(next));
    }
    return this;
  }

  /** Feeds packets until connection {@code connection}'s stream has its client random. */
  Replay untilClientHello(int connection) {
    while (streams[connection].clientRandom() == null && next < traffic.segments.size()) {
      feed(traffic.segments.get(next++));
    }
    return this;
  }

  private void feed(RecordedTraffic.Segment s) {
    now += 100_000;
    TlsStream stream = streams[s.connection()];
    if (s.syn()) {
      stream.onSyn(s.side(), s.seq());
    }
    boolean news = s.payload().length > 0
        && stream.onSegment(s.side(), s.seq(), ByteBuffer.wrap(s.payload()).asReadOnlyBuffer(), 0, s.payload().length);
    if (s.fin()) {
      stream.onFin(s.side());
      news = true;
    }
    if (news) {
      accept(matcher.onRecords(stream, now));
    }
  }

  Replay secrets(List<TlsSecret> events) {
    for (TlsSecret e : events) {
      now += 10_000;
      accept(matcher.onSecret(e, now));
    }
    return this;
  }

  /** Key log lines of connection {@code connection} in the fixture's key log. */
  List<String> expectedLines(int connection) {
    return traffic.linesOf(streams[connection].clientRandom());
  }

  /** What the matcher keyed to connection {@code connection}, in order. */
  List<String> keyedLines(int connection) {
    return lines.getOrDefault(streams[connection], List.of());
  }

  /** The client randoms of the streams, as hex. */
  Map<Integer, String> randoms() {
    Map<Integer, String> r = new LinkedHashMap<>();
    for (int i = 0; i < streams.length; i++) {
      r.put(i, streams[i].clientRandom() == null ? null : HexFormat.of().formatHex(streams[i].clientRandom()));
    }
    return r;
  }
}
