// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;

/**
 * A secret keyed within the time to live: another process's copy is keyed without decrypting.
 * {@link #stream} becomes {@link #CLOSED} when that stream closes ({@link RecentKeys#streamClosed}):
 * the copy is still keyed as to a closed stream (to nothing), and the closed stream, with all it
 * learnt, is not kept alive for it.
 */
final class RecentKey {
  /** Stands for every closed stream: an empty one, closed in the matcher. */
  static final TlsStream CLOSED = closed();

  private final Bytes secret;
  private final TlsLabel label;
  private TlsStream stream;
  private final long keyedNanos;

  RecentKey(Bytes secret, TlsLabel label, TlsStream stream, long keyedNanos) {
    this.secret = secret;
    this.label = label;
    this.stream = stream;
    this.keyedNanos = keyedNanos;
  }

  Bytes secret() {
    return secret;
  }

  TlsLabel label() {
    return label;
  }

  /** The stream it was keyed to, or {@link #CLOSED} once that stream closed. */
  TlsStream stream() {
    return stream;
  }

  long keyedNanos() {
    return keyedNanos;
  }

  void streamClosed() {
    stream = CLOSED;
  }

  private static TlsStream closed() {
    TlsStream s = new TlsStream();
    s.matcherEntry = new StreamEntry(s, new Bytes(new byte[32]), 0);
    s.matcherEntry.closed = true;
    return s;
  }
}
