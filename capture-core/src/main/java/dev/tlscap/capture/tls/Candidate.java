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
