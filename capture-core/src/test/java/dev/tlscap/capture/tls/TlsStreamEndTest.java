// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.capture.tls.TlsStream.Side;
import dev.tlscap.secrets.TlsLabel;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A TLS 1.3 connection that ends right after the handshake (openssl s_time hangs up after its
 * Finished) sends nothing under its traffic secrets: they cannot be proven and are not needed, so
 * the handshake secrets complete it. Before, such connections waited the whole hold time and were
 * counted as released without their secrets.
 */
class TlsStreamEndTest {
  static final RecordedTraffic T = TlsStreamFuzzRegressionTest.AES128;

  /** Feeds connection 0 up to the client's Finished (its first encrypted record); returns the next TCP sequence of the client. */
  static long handshakeOnly(TlsStream s) {
    long clientEnd = 0;
    for (RecordedTraffic.Segment segment : TlsStreamFuzzRegressionTest.segments(T)) {
      TlsStreamFuzzRegressionTest.feed(s, segment);
      if (segment.side() == Side.CLIENT) {
        clientEnd = (segment.seq() + segment.payload().length) & 0xFFFFFFFFL;
      }
      if (s.records(Side.CLIENT) >= 1) {
        break;
      }
    }
    assertEquals(1, s.records(Side.CLIENT), "the client's Finished");
    return clientEnd;
  }

  static void keyHandshake(TlsStream s) {
    for (TlsLabel label : List.of(TlsLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET, TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET)) {
      s.keyed(label, RecordedTraffic.secret(TlsStreamFuzzRegressionTest.line(T, s.clientRandom(), label)), null);
    }
  }

  @Test
  void aResetAfterTheHandshakeNeedsOnlyTheHandshakeSecrets() {
    TlsStream s = new TlsStream();
    long end = handshakeOnly(s);
    keyHandshake(s);
    assertFalse(s.fullyKeyed(), "still open: traffic may follow");
    s.onReset(Side.CLIENT, end);
    assertTrue(s.fullyKeyed(), s.missingLabels().toString());
    assertEquals(EnumSet.noneOf(TlsLabel.class), s.missingLabels());
  }

  @Test
  void theResetMayComeBeforeTheSecrets() {
    TlsStream s = new TlsStream();
    long end = handshakeOnly(s);
    s.onReset(Side.CLIENT, end);
    assertFalse(s.fullyKeyed());
    keyHandshake(s);
    assertTrue(s.fullyKeyed(), s.missingLabels().toString());
  }

  @Test
  void aFinWhoseBytesAreNotAllInDecidesNothing() {
    TlsStream s = new TlsStream();
    long end = handshakeOnly(s);
    keyHandshake(s);
    s.onFin(Side.CLIENT, end + 100); // 100 bytes of the client not captured (yet)
    assertTrue(s.missingLabels().contains(TlsLabel.CLIENT_TRAFFIC_SECRET_0), s.missingLabels().toString());
    assertFalse(s.fullyKeyed());
  }

  @Test
  void aFinWithoutItsSequenceDecidesNothing() {
    TlsStream s = new TlsStream();
    handshakeOnly(s);
    keyHandshake(s);
    s.onFin(Side.CLIENT);
    s.onFin(Side.SERVER);
    assertEquals(EnumSet.of(TlsLabel.CLIENT_TRAFFIC_SECRET_0, TlsLabel.SERVER_TRAFFIC_SECRET_0), s.missingLabels());
  }

  @Test
  void aFullConnectionStillNeedsItsTrafficSecrets() {
    TlsStream s = new TlsStream();
    long clientEnd = 0;
    for (RecordedTraffic.Segment segment : TlsStreamFuzzRegressionTest.segments(T)) {
      TlsStreamFuzzRegressionTest.feed(s, segment);
      if (segment.side() == Side.CLIENT) {
        clientEnd = (segment.seq() + segment.payload().length) & 0xFFFFFFFFL;
      }
    }
    keyHandshake(s);
    s.onReset(Side.CLIENT, clientEnd);
    assertTrue(s.missingLabels().contains(TlsLabel.CLIENT_TRAFFIC_SECRET_0), s.missingLabels().toString());
    assertTrue(s.missingLabels().contains(TlsLabel.SERVER_TRAFFIC_SECRET_0), s.missingLabels().toString());
  }
}
