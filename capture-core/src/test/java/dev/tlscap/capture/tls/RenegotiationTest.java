// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.secrets.TlsLabel;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * TLS 1.2 renegotiation, replayed from a real capture ({@code tls12-renegotiation}: openssl
 * s_client renegotiates twice, ChaCha20-Poly1305, then sends its request; see make-fixtures.sh):
 * each renegotiation's client random is read from its encrypted ClientHello and its CLIENT_RANDOM
 * line is keyed to the connection, in order, as the client derives them.
 */
class RenegotiationTest {
  private static final RecordedTraffic TRAFFIC = RecordedTraffic.load("tls12-renegotiation");

  /** Feeds the packets; whenever the stream waits for a renegotiation's secret, gives it the next line (with its random). */
  private static Replay replay(boolean giveRenegotiationSecrets) {
    Replay r = new Replay(TRAFFIC);
    List<String> lines = TRAFFIC.keyLog;
    TlsStream stream = r.streams[0];
    int given = 0;
    for (int i = 0; i < TRAFFIC.segments.size(); i++) {
      r.packets(i + 1);
      boolean wanted = given == 0 ? stream.clientRandom() != null : giveRenegotiationSecrets && stream.renegotiating();
      if (wanted && given < lines.size()) {
        r.secrets(RecordedTraffic.events(List.of(lines.get(given++)), List.of(TlsLabel.CLIENT_RANDOM), 2, 2, true));
      }
    }
    return r;
  }

  @Test
  void eachRenegotiationIsKeyedByTheRandomOfItsEncryptedClientHello() {
    assertEquals(3, TRAFFIC.keyLog.size(), "the fixture: a handshake and two renegotiations");
    Replay r = replay(true);
    TlsStream stream = r.streams[0];
    assertEquals(2, stream.renegotiations(), stream.toString());
    for (int i = 0; i < 2; i++) {
      assertEquals(RecordedTraffic.randomHex(TRAFFIC.keyLog.get(i + 1)),
          HexFormat.of().formatHex(stream.renegotiationRandom(i)), "renegotiation " + i);
    }
    assertFalse(stream.renegotiating());
    assertEquals(TRAFFIC.keyLog, r.keyedLines(0), "every line, in order, keyed to the connection");
    assertEquals(List.of(stream, stream, stream), r.fullyKeyed, "fully keyed again after each renegotiation");
    assertTrue(r.matcher.summary().contains("2 for TLS 1.2 renegotiations"), r.matcher.summary());
  }

  @Test
  void withoutTheFirstRenegotiationsSecretTheSecondCannotBeRead() {
    Replay r = replay(false);
    TlsStream stream = r.streams[0];
    assertEquals(1, stream.renegotiations(), "the second ClientHello is under keys no one gave");
    assertTrue(stream.renegotiating());
    assertEquals(List.of(TRAFFIC.keyLog.get(0)), r.keyedLines(0));
  }

  @Test
  void aLineWithARenegotiationsRandomBeforeItsClientHelloWaitsForIt() {
    Replay r = new Replay(TRAFFIC);
    // Every line first, with its random (as the key log callback hands them), then the packets.
    r.secrets(RecordedTraffic.events(TRAFFIC.keyLog, List.of(TlsLabel.CLIENT_RANDOM), 2, 2, true));
    r.packets();
    assertEquals(2, r.streams[0].renegotiations());
    assertEquals(TRAFFIC.keyLog, r.keyedLines(0));
  }
}
