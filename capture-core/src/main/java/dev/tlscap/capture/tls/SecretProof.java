// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.capture.tls.TlsStream.Verdict;
import dev.tlscap.capture.tls.TrialDecryption.RecordKeys;
import dev.tlscap.secrets.TlsLabel;
import java.util.Arrays;

/**
 * What {@link TlsStream#verify} found for one secret: its {@link #verdict()}, and for a MATCH that
 * opened a TLS 1.3 record, which of its direction's encrypted records the secret opened as its
 * key's record 0 ({@link #record()}) and the keys that opened it. The matcher hands it to the
 * keying of that secret ({@code TlsStream.keyed}), which then learns where the key's records run
 * without decrypting that record again: what verify found travels with the caller, the stream
 * keeps nothing between the two calls.
 *
 * <p>Immutable. It proves something only to the stream it was made by, for its label and secret
 * bytes; keying with anyone else's (or none) verifies again.
 */
public final class SecretProof {
  private static final SecretProof[] VERDICTS = new SecretProof[Verdict.values().length];

  static {
    for (Verdict v : Verdict.values()) {
      VERDICTS[v.ordinal()] = new SecretProof(v, null, null, null, null, -1);
    }
  }

  private final Verdict verdict;
  /** The verifier (one per stream) that opened the record, or null. */
  private final SecretVerifier by;
  private final TlsLabel label;
  private final byte[] secret;
  private final RecordKeys keys;
  private final int record;

  private SecretProof(Verdict verdict, SecretVerifier by, TlsLabel label, byte[] secret, RecordKeys keys,
      int record) {
    this.verdict = verdict;
    this.by = by;
    this.label = label;
    this.secret = secret;
    this.keys = keys;
    this.record = record;
  }

  /** A verdict that opened no record (NO_MATCH, NOT_YET, UNSUPPORTED; a TLS 1.2 or already keyed MATCH). */
  static SecretProof of(Verdict verdict) {
    return VERDICTS[verdict.ordinal()];
  }

  /** A MATCH: {@code keys}, derived from {@code label}'s {@code secret}, opened {@code record} as their record 0. */
  static SecretProof opened(SecretVerifier by, TlsLabel label, byte[] secret, RecordKeys keys, int record) {
    return new SecretProof(Verdict.MATCH, by, label, secret, keys, record);
  }

  public Verdict verdict() {
    return verdict;
  }

  /** The record (of the label's direction, counted from 0 among the encrypted ones) the secret opened, or -1. */
  public int record() {
    return record;
  }

  /** The keys that opened {@link #record()}, if {@code verifier} proved this label and secret; else null. */
  RecordKeys keysFor(SecretVerifier verifier, TlsLabel label, byte[] secret) {
    return keys != null && by == verifier && this.label == label && Arrays.equals(this.secret, secret) ? keys : null;
  }

  @Override
  public String toString() {
    return record >= 0 ? verdict + " (" + label + " opened record " + record + ")" : verdict.toString();
  }
}
