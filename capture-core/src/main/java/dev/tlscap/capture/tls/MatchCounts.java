// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

/**
 * What the {@link SecretMatcher} did since it was created, as it counts it; {@link #snapshot()} is
 * the public view ({@link MatcherCounters}), {@link #summary()} its line in the exit summary
 * and the pcapng ISB comment. Not thread-safe (the matcher's thread).
 */
final class MatchCounts {
  long keyedByRandom;
  long keyedByTrial;
  long keyedByThread;
  long keyedAgain;
  long unmatched;
  long droppedByCap;
  /** Traffic secrets of connections that sent nothing under them: never proven, not needed. */
  long unneeded;
  long trialDecryptions;
  long streamsFullyKeyed;
  long streamsGivenUp;
  long keyedLate;
  /** Secrets that came with a client random but did not open its connection's records (never stored). */
  long rejected;
  /** TLS 1.2 renegotiations keyed (their secret found by the random of their encrypted ClientHello). */
  long renegotiationsKeyed;

  MatcherCounters snapshot() {
    return new MatcherCounters(keyedByRandom, keyedByTrial, keyedByThread, keyedAgain, unmatched, droppedByCap,
        trialDecryptions, streamsFullyKeyed, streamsGivenUp, keyedLate, rejected);
  }

  /** One line for the stats output and the pcapng ISB comment. */
  String summary() {
    StringBuilder s = new StringBuilder();
    s.append(keyedByTrial).append(" secrets keyed by trial decryption (").append(trialDecryptions)
        .append(" records tried), ").append(keyedByRandom).append(" by client random, ").append(keyedByThread)
        .append(" exporter by thread");
    if (keyedAgain > 0) {
      s.append(", ").append(keyedAgain).append(" from a second process");
    }
    if (renegotiationsKeyed > 0) {
      s.append(", ").append(renegotiationsKeyed).append(" for TLS 1.2 renegotiations");
    }
    if (keyedLate > 0) {
      s.append(", ").append(keyedLate).append(" late (a quiet connection's first records after the handshake)");
    }
    s.append("; ").append(unmatched).append(" unmatched");
    if (rejected > 0) {
      s.append(", ").append(rejected).append(" rejected (a client random's secret that did not open its records)");
    }
    if (unneeded > 0) {
      s.append(", ").append(unneeded).append(" not needed (their connection sent nothing under them)");
    }
    if (droppedByCap > 0) {
      s.append(", ").append(droppedByCap).append(" dropped (too many waiting)");
    }
    s.append("; ").append(streamsFullyKeyed).append(" TLS streams fully keyed");
    if (streamsGivenUp > 0) {
      s.append(", ").append(streamsGivenUp).append(" not in time");
    }
    return s.toString();
  }
}
