// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The secrets the {@link SecretMatcher} keyed within the time to live, by content: the same secret
 * from another process (both ends traced) is keyed to the same stream without decrypting. The first
 * keying of a secret is the one kept. Not thread-safe (the matcher's thread).
 */
final class RecentKeys {
  private final Map<Bytes, RecentKey> bySecret = new HashMap<>();
  /** Oldest first, for {@link #expire}. */
  private final ArrayDeque<RecentKey> order = new ArrayDeque<>();

  /** The keying of this secret within the time to live, or null. */
  RecentKey get(Bytes secret) {
    return bySecret.get(secret);
  }

  /** {@code secret} was keyed to {@code stream} now (a secret keyed before keeps its first keying). */
  void remember(Bytes secret, TlsLabel label, TlsStream stream, long nowNanos) {
    if (!bySecret.containsKey(secret)) {
      RecentKey k = new RecentKey(secret, label, stream, nowNanos);
      bySecret.put(secret, k);
      order.addLast(k);
    }
  }

  /** {@code stream} closed: its secrets stay known as keyed, without the stream. */
  void streamClosed(TlsStream stream, Iterable<KeyedLine> lines) {
    for (KeyedLine line : lines) {
      RecentKey k = bySecret.get(new Bytes(line.secret()));
      if (k != null && k.stream() == stream) {
        k.streamClosed();
      }
    }
  }

  /** Forgets what was keyed before {@code limit} (a time of the matcher's clock). */
  void expire(long limit) {
    while (!order.isEmpty() && order.peekFirst().keyedNanos() - limit < 0) {
      RecentKey k = order.pollFirst();
      bySecret.remove(k.secret(), k);
    }
  }
}
