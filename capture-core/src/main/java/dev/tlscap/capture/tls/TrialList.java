// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

/**
 * The streams the {@link SecretMatcher} tries new secrets on: incomplete and younger than its time
 * to live, newest first (a secret most likely belongs to a recent connection). Not thread-safe.
 */
final class TrialList {
  private StreamEntry newest;
  private StreamEntry oldest;

  StreamEntry newest() {
    return newest;
  }

  StreamEntry oldest() {
    return oldest;
  }

  void add(StreamEntry e) {
    e.inTrialList = true;
    e.older = newest;
    if (newest != null) {
      newest.newer = e;
    } else {
      oldest = e;
    }
    newest = e;
  }

  /** Takes {@code e} out (a no-op when it is not in). */
  void remove(StreamEntry e) {
    if (!e.inTrialList) {
      return;
    }
    e.inTrialList = false;
    if (e.older != null) {
      e.older.newer = e.newer;
    } else {
      oldest = e.newer;
    }
    if (e.newer != null) {
      e.newer.older = e.older;
    } else {
      newest = e.older;
    }
    e.newer = null;
    e.older = null;
  }
}
