// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

/** What the {@link SecretMatcher} remembers of one thread of a traced process. */
final class ThreadState {
  /** The thread's previous secret without random (EXPORTER_SECRET follows SERVER_TRAFFIC_SECRET_0). */
  Candidate last;
  /** An exporter secret that came before its connection's traffic secrets (GnuTLS): goes with the next one. */
  Candidate exporterFirst;
  /** Where the thread's last keyed secret went: its next secrets most likely go there too. */
  TlsStream lastStream;
  long lastSeen;
}
