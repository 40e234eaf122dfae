// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;

/**
 * What a {@link SecretMatcher} call decided, in order: the caller applies these after the call
 * returns (the matcher never calls back into its caller mid-decision).
 */
public sealed interface MatchDecision {
  /** The stream it concerns. */
  TlsStream stream();

  /**
   * {@code secret} is {@code stream}'s {@code label} secret, keyed for the first time: its key log
   * line goes into the stream's Decryption Secrets Block.
   *
   * @param source the secret of the process that derived it (the first to be keyed)
   * @param clientRandom the line's key: the stream's client random, or a TLS 1.2 renegotiation's
   */
  public record Keyed(TlsStream stream, TlsLabel label, byte[] secret, TlsSecret source, byte[] clientRandom)
      implements MatchDecision {}

  /**
   * A secret already keyed to {@code stream} came again, from {@code source}: another process or
   * thread derived it too (client and server both on this host). No new line; the caller may note
   * the process.
   */
  public record KeyedAgain(TlsStream stream, TlsLabel label, TlsSecret source) implements MatchDecision {}

  /**
   * Every secret {@code stream} needs is keyed ({@link TlsStream#missingLabels()} is empty); once
   * per stream, and again when a TLS 1.2 renegotiation's secret is keyed
   * ({@link TlsStream#renegotiating()} turned false). Its packets held back can be written after
   * the lines' DSB. EXPORTER_SECRET may still follow as a {@link Keyed}.
   */
  public record FullyKeyed(TlsStream stream) implements MatchDecision {}
}
