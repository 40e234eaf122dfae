// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.capture.tls.TlsStream.Side;
import dev.tlscap.capture.tls.TlsStream.Verdict;
import dev.tlscap.secrets.TlsLabel;
import org.junit.jupiter.api.Test;

/**
 * What {@link TlsStream#verify} found travels in its {@link SecretProof}: the stream keeps nothing
 * between verifying a secret and keying it, so other verifications in between change nothing, and
 * a proof is worth something only to the stream that made it. Measured by the records opened: the
 * proof spares exactly the one record verify opened, and the handshake key it names is followed
 * to where the traffic key starts (which the traffic secret then is tried on alone).
 */
class SecretProofTest {
  private static final TlsLabel SHTS = TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET;
  private static final TlsLabel CHTS = TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET;

  private static TlsStream stream(String fixture) {
    return new Replay(RecordedTraffic.load(fixture)).packets().streams[0];
  }

  private static byte[] secret(TlsStream s, String fixture, TlsLabel label) {
    return TlsStreamTest.secretOf(RecordedTraffic.load(fixture), s, label);
  }

  /** Records a stream opens to key {@code label} without a proof: verifying (one record) and following. */
  private static long keyingCostWithoutProof(String fixture, TlsLabel label) {
    TlsStream fresh = stream(fixture);
    long before = fresh.trialDecryptions();
    fresh.keyed(label, secret(fresh, fixture, label), null);
    return fresh.trialDecryptions() - before;
  }

  @Test
  void keyingWithItsProofFollowsTheRightKeyAfterOtherVerifications() {
    String fixture = "tls13-aes128-gcm";
    TlsStream s = stream(fixture);
    byte[] shts = secret(s, fixture, SHTS);
    byte[] chts = secret(s, fixture, CHTS);

    SecretProof server = s.verify(SHTS, shts);
    assertEquals(Verdict.MATCH, server.verdict());
    assertEquals(0, server.record(), "the server's handshake key protects its first encrypted record");
    // Between verifying and keying: a MATCH of another label on the same stream, and one on another stream.
    SecretProof client = s.verify(CHTS, chts);
    assertEquals(Verdict.MATCH, client.verdict());
    TlsStream other = stream("tls13-chacha20");
    assertEquals(Verdict.MATCH, other.verify(SHTS, secret(other, "tls13-chacha20", SHTS)).verdict());

    long before = s.trialDecryptions();
    s.keyed(SHTS, shts, server);
    long keying = s.trialDecryptions() - before;
    assertTrue(keying >= 4, "followed the server's handshake records: " + keying);
    assertEquals(keyingCostWithoutProof(fixture, SHTS) - 1, keying, "the proof spared the record verify opened");

    // The handshake key was followed to its end: the traffic secret is tried on that one record.
    before = s.trialDecryptions();
    TlsLabel sts0 = TlsLabel.SERVER_TRAFFIC_SECRET_0;
    SecretProof traffic = s.verify(sts0, secret(s, fixture, sts0));
    assertEquals(Verdict.MATCH, traffic.verdict());
    assertEquals(1, s.trialDecryptions() - before);
    assertEquals(keying, traffic.record(), "the handshake key opened records 0.." + (keying - 1));

    // The client's proof, made before the server's secret was keyed, still names its record.
    before = s.trialDecryptions();
    s.keyed(CHTS, chts, client);
    assertEquals(keyingCostWithoutProof(fixture, CHTS) - 1, s.trialDecryptions() - before);
    assertTrue(s.records(Side.CLIENT) > client.record());
  }

  @Test
  void followingAHandshakeKeyOpensOneOfItsRecordsWhole() {
    String fixture = "tls13-aes128-gcm";
    TlsStream s = stream(fixture);
    byte[] shts = secret(s, fixture, SHTS);
    SecretProof server = s.verify(SHTS, shts);
    TrialDecryption trial = TrialDecryption.forThisThread();
    long opens = trial.wholeOpens();
    long looked = s.trialDecryptions();
    s.keyed(SHTS, shts, server);
    long followed = s.trialDecryptions() - looked;
    assertTrue(followed >= 4, "records after the first looked at: " + followed);
    assertEquals(1, trial.wholeOpens() - opens, "the last that passed its last byte's check; the others by that byte");
    TlsLabel sts0 = TlsLabel.SERVER_TRAFFIC_SECRET_0;
    SecretProof traffic = s.verify(sts0, secret(s, fixture, sts0));
    assertEquals(Verdict.MATCH, traffic.verdict());
    assertEquals(followed, traffic.record(), "the traffic key starts where the handshake key's records end");
  }

  @Test
  void aProofIsWorthNothingToAnotherStreamOrLabel() {
    String fixture = "tls13-aes128-gcm";
    TlsStream s = stream(fixture);
    byte[] shts = secret(s, fixture, SHTS);
    SecretProof proof = s.verify(SHTS, shts);
    assertEquals(Verdict.MATCH, proof.verdict());
    long withoutProof = keyingCostWithoutProof(fixture, SHTS);

    // The same connection seen twice (two interfaces): its twin stream verifies for itself.
    TlsStream twin = stream(fixture);
    long before = twin.trialDecryptions();
    twin.keyed(SHTS, shts, proof);
    assertEquals(withoutProof, twin.trialDecryptions() - before, "another stream's proof");

    // The proof for the server's handshake secret does not key the client's.
    byte[] chts = secret(s, fixture, CHTS);
    before = s.trialDecryptions();
    s.keyed(CHTS, chts, proof);
    assertEquals(keyingCostWithoutProof(fixture, CHTS), s.trialDecryptions() - before, "another label's proof");
  }
}
