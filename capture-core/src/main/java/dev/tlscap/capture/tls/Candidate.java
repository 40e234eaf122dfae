// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import java.util.List;

/** A secret without random, waiting to be proven. */
final class Candidate {
  final TlsSecret event;
  final TlsLabel label;
  final Bytes secret;
  final long arrivedNanos;
  final long thread;
  /**
   * Its arrival number at the matcher (0: unknown). One process's secrets arrive in the order it
   * derived them (one ring buffer per library, filled in order).
   */
  final long arrival;
  /** The arrival number of the secret whose handling put it in the pool: the pool's order. */
  final long pooledAt;
  Candidate newer;
  Candidate older;
  Candidate newerOfLabel;
  Candidate olderOfLabel;
  boolean pooled;
  boolean primary;
  /** It left the pool by its time to live (counted unmatched). */
  boolean expired;
  /** It left the pool as not needed: its connection sent nothing under it (counted as such). */
  boolean retired;
  /** The same secret from other processes, keyed when this one is. */
  List<Candidate> twins;
  /** The EXPORTER_SECRET the thread derived right after this SERVER_TRAFFIC_SECRET_0. */
  Candidate exporter;
  TlsStream keyedTo;

  /** Whether this secret or a copy of it from another process (a twin) passes {@code test}. */
  boolean anyCopy(java.util.function.Predicate<TlsSecret> test) {
    if (test.test(event)) {
      return true;
    }
    if (twins != null) {
      for (Candidate twin : twins) {
        if (test.test(twin.event)) {
          return true;
        }
      }
    }
    return false;
  }

  Candidate(TlsSecret event, long arrivedNanos, long thread, long arrival, long pooledAt) {
    this.event = event;
    this.label = event.label();
    this.secret = new Bytes(event.secret());
    this.arrivedNanos = arrivedNanos;
    this.thread = thread;
    this.arrival = arrival;
    this.pooledAt = pooledAt;
  }
}
