// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.pcapng.KeyLogLine;
import dev.tlscap.secrets.TlsLabel;
import dev.tlscap.secrets.TlsSecret;
import java.util.List;

/** For tests: receives a {@link SecretMatcher}'s decisions one by one, with each key log line formatted. */
interface MatcherListener {
  void onKeyed(TlsStream stream, TlsLabel label, String keyLogLine, TlsSecret source);

  default void onKeyedAgain(TlsStream stream, TlsLabel label, TlsSecret source) {}

  default void onFullyKeyed(TlsStream stream) {}

  /** Hands {@code decisions} to the methods above, in order. */
  default void accept(List<MatchDecision> decisions) {
    for (MatchDecision d : decisions) {
      if (d instanceof MatchDecision.Keyed k) {
        onKeyed(k.stream(), k.label(),
            new KeyLogLine(k.label().keyLogLabel(), k.clientRandom(), k.secret()).toString(), k.source());
      } else if (d instanceof MatchDecision.KeyedAgain a) {
        onKeyedAgain(a.stream(), a.label(), a.source());
      } else if (d instanceof MatchDecision.FullyKeyed f) {
        onFullyKeyed(f.stream());
      }
    }
  }
}
