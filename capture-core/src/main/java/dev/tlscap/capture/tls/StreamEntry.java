// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import java.util.ArrayList;
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

  StreamEntry(TlsStream stream, Bytes random, long addedNanos) {
    this.stream = stream;
    this.random = random;
    this.addedNanos = addedNanos;
  }
}

/** A secret keyed to a stream, kept for a twin stream (the same connection on another interface). */
record KeyedLine(TlsLabel label, byte[] secret, TlsSecret source) {}
