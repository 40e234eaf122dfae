// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;

/**
 * Takes out of the {@link SecretMatcher}'s pool the traffic secrets of connections that sent nothing
 * under them (openssl s_time hangs up after every handshake), counted as not needed. No record can
 * ever prove such a secret: it would wait its time to live and, under a handshake load, fill the
 * pool (the cap then drops secrets that are needed: 7 000-19 000 a 7 s bench run). A secret leaves
 * only when nothing else can own it: no incomplete stream whose handshake secret of that side its
 * process derived before it ({@link StreamEntry#mayDeriveTraffic}), and no handshake secret of its
 * process, derived before it, still waiting for its stream. A stream that keeps it as likely and
 * proves it later still keys it (counted late). Not thread-safe (the matcher's thread).
 */
final class UnneededSecrets {
  private final CandidatePool pool;
  private final TrialList trials;
  private final MatchCounts counts;

  UnneededSecrets(CandidatePool pool, TrialList trials, MatchCounts counts) {
    this.pool = pool;
    this.trials = trials;
    this.counts = counts;
  }

  /** {@code entry} became fully keyed: the traffic secrets it did not need that are its own go. */
  void onFullyKeyed(StreamEntry entry) {
    for (TlsStream.Side side : TlsStream.SIDES) {
      TlsLabel label = LabelOrder.trafficLabelOf(side);
      long floor = entry.trafficArrivalFloor(side);
      if (entry.stream.keyedSecret(label) != null || floor == 0) {
        continue; // needed and keyed, or where its traffic secrets start is not known
      }
      for (Candidate c = pool.newestOf(label); c != null && c.pooledAt >= floor; ) {
        Candidate older = c.olderOfLabel;
        if (c.primary && entry.mayDeriveTraffic(side, c) && !mayBeOwnedElsewhere(c, side)) {
          retire(c);
          if (c.twins != null) {
            c.twins.forEach(this::retire);
          }
        }
        c = older;
      }
    }
  }

  /**
   * A traffic secret that came after its connection (its thread's last keyed stream,
   * {@code hinted}) was fully keyed without it: the packets are often drained before the secrets.
   */
  void onArrival(Candidate c, StreamEntry hinted) {
    TlsStream.Side side = TlsStream.sideOf(c.label);
    if (LabelOrder.isTraffic(c.label) && c.pooled && hinted.stream.fullyKeyed()
        && hinted.stream.keyedSecret(c.label) == null && hinted.mayDeriveTraffic(side, c)
        && !mayBeOwnedElsewhere(c, side)) {
      retire(c);
    }
  }

  private boolean mayBeOwnedElsewhere(Candidate c, TlsStream.Side side) {
    for (StreamEntry e = trials.newest(); e != null; e = e.older) {
      if (!e.closed && e.stream.keyedSecret(c.label) == null && e.mayDeriveTraffic(side, c)) {
        return true;
      }
    }
    for (Candidate h = pool.newestOf(LabelOrder.handshakeLabelOf(side)); h != null; h = h.olderOfLabel) {
      if (h.arrival == 0 || h.arrival < c.arrival && sameProcess(h, c)) {
        return true;
      }
    }
    return false;
  }

  /** Whether a process that sent {@code a} (or a copy) also sent {@code b} (or a copy). */
  private static boolean sameProcess(Candidate a, Candidate b) {
    return a.anyCopy(x -> b.anyCopy(y -> x.pid() == y.pid()));
  }

  private void retire(Candidate c) {
    if (!c.pooled) {
      return;
    }
    pool.remove(c);
    c.retired = true;
    counts.unneeded++;
    if (c.exporter != null) {
      retire(c.exporter);
    }
  }
}
