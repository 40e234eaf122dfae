// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsSecret;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Secrets that came with their client random (TLS 1.2's master secret; TLS 1.3 with socket
 * tracing; Go) before any stream with that random: they wait, oldest first, until the stream's
 * ClientHello is read ({@link #take}), their time to live ends or the cap is reached (both counted
 * by the caller). Not thread-safe (the matcher's thread).
 */
final class WaitingSecrets {
  private final int max;
  private final Map<Bytes, List<Waiting>> byRandom = new HashMap<>();
  private final ArrayDeque<Waiting> order = new ArrayDeque<>();
  private int size;

  /** One waiting secret; {@code done} once keyed, expired or dropped. */
  private static final class Waiting {
    final TlsSecret event;
    final Bytes random;
    final long arrivedNanos;
    boolean done;

    Waiting(TlsSecret event, Bytes random, long arrivedNanos) {
      this.event = event;
      this.random = random;
      this.arrivedNanos = arrivedNanos;
    }
  }

  WaitingSecrets(int max) {
    this.max = max;
  }

  int size() {
    return size;
  }

  /** Adds a secret; returns how many older ones the cap dropped. */
  int add(TlsSecret event, Bytes random, long now) {
    int dropped = 0;
    while (size >= max && !order.isEmpty()) {
      if (forget(order.pollFirst())) {
        dropped++;
      }
    }
    Waiting w = new Waiting(event, random, now);
    order.addLast(w);
    size++;
    byRandom.computeIfAbsent(random, k -> new ArrayList<>(2)).add(w);
    return dropped;
  }

  /** The secrets waiting for {@code random}, in order of arrival; they wait no more. */
  List<TlsSecret> take(Bytes random) {
    List<Waiting> waiting = byRandom.remove(random);
    if (waiting == null) {
      return List.of();
    }
    List<TlsSecret> out = new ArrayList<>(waiting.size());
    for (Waiting w : waiting) {
      w.done = true;
      size--;
      out.add(w.event);
    }
    return out;
  }

  /** Drops those that arrived before {@code limit}; returns how many. */
  int expire(long limit) {
    int expired = 0;
    while (!order.isEmpty() && order.peekFirst().arrivedNanos - limit < 0) {
      if (forget(order.pollFirst())) {
        expired++;
      }
    }
    return expired;
  }

  private boolean forget(Waiting w) {
    if (w.done) {
      return false;
    }
    w.done = true;
    size--;
    List<Waiting> list = byRandom.get(w.random);
    if (list != null && list.remove(w) && list.isEmpty()) {
      byRandom.remove(w.random);
    }
    return true;
  }
}
