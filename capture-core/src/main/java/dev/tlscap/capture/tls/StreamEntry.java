// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The matcher's bookkeeping of one stream; kept in {@link TlsStream#matcherEntry}. */
final class StreamEntry {
  final TlsStream stream;
  /** The stream's client random (it changes with a second ClientHello that has another). */
  Bytes random;
  /** The client randoms of its TLS 1.2 renegotiations, indexed too (see {@link TlsStream#renegotiations()}). */
  final List<Bytes> renegotiationRandoms = new ArrayList<>(0);
  /** When {@link SecretMatcher#onStream} saw it ({@code NO_TIME} until a call carried the time). */
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
  /**
   * Per side, the processes whose handshake secret of that side was keyed here: triples of pid, when
   * it derived it (kernel boot time) and its arrival number at the matcher. A process derives a
   * connection's traffic secret after its handshake secret. Null until one is; {@code ANY_ORIGIN}
   * when too many processes did.
   */
  private final long[][] handshakeOrigins = new long[2][];
  StreamEntry newer;
  StreamEntry older;

  /** How many secrets a stream keeps that its thread derived after keying it (see {@link #noteLikely}). */
  static final int MAX_LIKELY = 4;

  /**
   * A secret that no record proves yet, from a thread whose previous secret was keyed to this
   * stream, and this stream still misses its label: most likely its own (a TLS 1.3 client derives its
   * traffic secret right after its handshake secret, then may stay quiet for minutes). The stream
   * keeps it past the time to live, until its connection ends, and tries it on its later records; a
   * few per stream, so cost and memory stay bounded.
   */
  void noteLikely(Candidate c) {
    if (closed || stream.fullyKeyed() || stream.keyedSecret(c.label) != null
        || c.label == TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET || c.label == TlsLabel.CLIENT_RANDOM) {
      return;
    }
    if (likely == null) {
      likely = new ArrayList<>(2);
    }
    if (likely.size() < MAX_LIKELY) {
      likely.add(c);
    }
  }

  /** Whether it holds likely secrets not keyed yet (dropping those that were). */
  boolean hasLikely() {
    if (closed || likely == null) {
      return false;
    }
    likely.removeIf(c -> c.keyedTo != null || stream.keyedSecret(c.label) != null);
    return !likely.isEmpty();
  }

  /** More processes than this keyed one side's handshake secret: any process may be a traffic secret's. */
  private static final int MAX_ORIGINS = 4;
  private static final long[] ANY_ORIGIN = new long[0];

  /**
   * Process {@code pid} derived this stream's handshake secret of {@code side} at {@code bootNanos};
   * it reached the matcher as arrival number {@code arrival} (0: unknown).
   */
  void noteHandshakeOrigin(TlsStream.Side side, int pid, long bootNanos, long arrival) {
    long[] o = handshakeOrigins[side.ordinal()];
    if (o == ANY_ORIGIN) {
      return;
    }
    if (o == null) {
      handshakeOrigins[side.ordinal()] = new long[] {pid, bootNanos, arrival};
      return;
    }
    for (int i = 0; i < o.length; i += 3) {
      if (o[i] == pid) {
        o[i + 1] = Math.min(o[i + 1], bootNanos);
        o[i + 2] = Math.min(o[i + 2], arrival);
        return;
      }
    }
    if (o.length >= 3 * MAX_ORIGINS) {
      handshakeOrigins[side.ordinal()] = ANY_ORIGIN;
      return;
    }
    long[] more = Arrays.copyOf(o, o.length + 3);
    more[o.length] = pid;
    more[o.length + 1] = bootNanos;
    more[o.length + 2] = arrival;
    handshakeOrigins[side.ordinal()] = more;
  }

  /**
   * Whether {@code c}, a traffic secret of {@code side}, can be this stream's: it (or a copy from
   * another process) comes from a process that keyed this stream's handshake secret of that side, and
   * was derived after it. Openssl s_time's connections end without sending under their traffic keys:
   * those secrets wait their whole time to live, and every later connection would try them all.
   */
  boolean mayDeriveTraffic(TlsStream.Side side, Candidate c) {
    long[] o = handshakeOrigins[side.ordinal()];
    if (o == ANY_ORIGIN) {
      return true;
    }
    return o != null && c.anyCopy(s -> derivedAfter(o, s));
  }

  /**
   * The first arrival number a traffic secret of {@code side} for this stream can have: each
   * process's secrets arrive in the order it derived them, so candidates that arrived before every
   * keyed handshake secret of that side came from earlier handshakes (0 when unknown). A pool scan,
   * newest first, stops there.
   */
  long trafficArrivalFloor(TlsStream.Side side) {
    long[] o = handshakeOrigins[side.ordinal()];
    if (o == null || o == ANY_ORIGIN) {
      return 0;
    }
    long floor = Long.MAX_VALUE;
    for (int i = 2; i < o.length; i += 3) {
      floor = Math.min(floor, o[i]);
    }
    return floor;
  }

  private static boolean derivedAfter(long[] origins, TlsSecret s) {
    for (int i = 0; i < origins.length; i += 3) {
      if (origins[i] == s.pid() && s.bootTimeNanos() >= origins[i + 1]) {
        return true;
      }
    }
    return false;
  }

  StreamEntry(TlsStream stream, Bytes random, long addedNanos) {
    this.stream = stream;
    this.random = random;
    this.addedNanos = addedNanos;
  }
}

/** A secret keyed to a stream, kept for a twin stream (the same connection on another interface). */
record KeyedLine(TlsLabel label, byte[] secret, TlsSecret source) {}
