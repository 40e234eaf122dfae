// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.secrets.TlsLabel;

/**
 * The TLS 1.3 labels as the {@link SecretMatcher} tries them. Waiting traffic secrets are tried on a
 * side's new records only once that side's handshake secret is keyed: before, every record after
 * the first would be tried with every waiting traffic secret of every connection (those of
 * connections that never send application data wait their whole time to live: openssl s_time, 560
 * connections in 5 s, made 360 000 trials). Keying the handshake secret tells where the traffic key
 * starts, and tries the waiting ones there. A traffic secret that arrives is still tried on every
 * stream at once.
 */
final class LabelOrder {
  private LabelOrder() {}

  /** Handshake labels before traffic labels: a keyed handshake key tells where the traffic key starts. */
  static final TlsLabel[] CLIENT_LABELS = {TlsLabel.CLIENT_EARLY_TRAFFIC_SECRET,
      TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.CLIENT_TRAFFIC_SECRET_0};
  static final TlsLabel[] SERVER_LABELS = {TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET,
      TlsLabel.SERVER_TRAFFIC_SECRET_0};

  static boolean isTraffic(TlsLabel label) {
    return label == TlsLabel.CLIENT_TRAFFIC_SECRET_0 || label == TlsLabel.SERVER_TRAFFIC_SECRET_0;
  }

  static TlsLabel trafficLabelOf(TlsStream.Side side) {
    return side == TlsStream.Side.CLIENT ? TlsLabel.CLIENT_TRAFFIC_SECRET_0 : TlsLabel.SERVER_TRAFFIC_SECRET_0;
  }

  static TlsLabel handshakeLabelOf(TlsStream.Side side) {
    return side == TlsStream.Side.CLIENT ? TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET
        : TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET;
  }
}
