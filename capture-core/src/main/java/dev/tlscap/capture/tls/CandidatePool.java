// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;
import java.util.HashMap;
import java.util.Map;

/**
 * The {@link SecretMatcher}'s secrets without client random that wait to be proven on a record
 * ({@link Candidate}s): one list oldest first (for the time to live and the cap), and per label a
 * list of the primaries newest first (a secret's first copy; copies from another process are its
 * twins), indexed by secret to find such copies. Bounded: past the cap the oldest goes. Not
 * thread-safe (the matcher's thread).
 */
final class CandidatePool {
  private final int maxCandidates;
  private Candidate oldest;
  private Candidate newest;
  private int size;
  /** Per label code, the newest primary candidate (the trial list runs to older ones). */
  private final Candidate[] newestOfLabel = new Candidate[8];
  /** Primary candidates by secret, to catch the same secret from another process. */
  private final Map<Bytes, Candidate> primaryBySecret = new HashMap<>();

  CandidatePool(int maxCandidates) {
    this.maxCandidates = maxCandidates;
  }

  int size() {
    return size;
  }

  Candidate oldest() {
    return oldest;
  }

  /** The newest primary of {@code label}; older ones through {@link Candidate#olderOfLabel}. */
  Candidate newestOf(TlsLabel label) {
    return newestOfLabel[label.code()];
  }

  /** The primary with this secret, or null. */
  Candidate primaryOf(Bytes secret) {
    return primaryBySecret.get(secret);
  }

  /** Adds {@code c} as the newest; returns true when the cap made the oldest go (the caller counts it). */
  boolean add(Candidate c) {
    boolean dropped = false;
    if (size >= maxCandidates && oldest != null) {
      remove(oldest);
      dropped = true;
    }
    c.pooled = true;
    c.older = newest;
    if (newest != null) {
      newest.newer = c;
    } else {
      oldest = c;
    }
    newest = c;
    size++;
    return dropped;
  }

  /** Adds {@code c} as the newest and the primary of its secret; returns true when the cap dropped the oldest. */
  boolean addPrimary(Candidate c) {
    boolean dropped = add(c);
    makePrimary(c);
    return dropped;
  }

  /** Makes a pooled candidate the primary of its secret and the newest of its label. */
  private void makePrimary(Candidate c) {
    c.primary = true;
    primaryBySecret.put(c.secret, c);
    int code = c.label.code();
    c.olderOfLabel = newestOfLabel[code];
    if (newestOfLabel[code] != null) {
      newestOfLabel[code].newerOfLabel = c;
    }
    newestOfLabel[code] = c;
  }

  /** Takes {@code c} out (a no-op when it is not pooled). */
  void remove(Candidate c) {
    if (!c.pooled) {
      return;
    }
    c.pooled = false;
    if (c.older != null) {
      c.older.newer = c.newer;
    } else {
      oldest = c.newer;
    }
    if (c.newer != null) {
      c.newer.older = c.older;
    } else {
      newest = c.older;
    }
    c.older = null;
    c.newer = null;
    size--;
    if (c.primary) {
      c.primary = false;
      primaryBySecret.remove(c.secret, c);
      int code = c.label.code();
      if (c.olderOfLabel != null) {
        c.olderOfLabel.newerOfLabel = c.newerOfLabel;
      }
      if (c.newerOfLabel != null) {
        c.newerOfLabel.olderOfLabel = c.olderOfLabel;
      } else {
        newestOfLabel[code] = c.olderOfLabel;
      }
      // c.olderOfLabel stays: a scan may be walking past c right now.
      c.newerOfLabel = null;
    }
  }
}
