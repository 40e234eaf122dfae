// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

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
 * @param rejected secrets that came with a client random but did not open its connection's records
 *     (never stored, so a wrong one cannot block the right one)
 */
public record MatcherCounters(long keyedByRandom, long keyedByTrial, long keyedByThread, long keyedAgain, long unmatched,
    long droppedByCap, long trialDecryptions, long streamsFullyKeyed, long streamsGivenUp, long keyedLate, long rejected) {}
