// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.text;

/**
 * The bytes {@code --text} holds in message bodies that are still arriving, for all connections
 * together: a body that would take more than the budget stops growing (shown cut, with a note), so
 * hostile traffic (many connections with many half-sent HTTP/2 streams) cannot fill the heap.
 * Not thread-safe.
 */
public final class TextBudget {
  private final long max;
  private long held;
  private long refused;

  public TextBudget(long maxBytes) {
    this.max = maxBytes;
  }

  /** Takes up to {@code n} bytes; returns how many were granted. */
  int take(int n) {
    int granted = (int) Math.max(0, Math.min(n, max - held));
    held += granted;
    if (granted < n) {
      refused++;
    }
    return granted;
  }

  void release(long n) {
    held -= n;
  }

  long max() {
    return max;
  }

  /** Bytes held now. */
  public long held() {
    return held;
  }

  /** How many times a body was cut because the budget was spent. */
  public long refused() {
    return refused;
  }
}
