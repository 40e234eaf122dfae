// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.capture.tls.TrialDecryption.RecordKeys;
import dev.tlscap.secrets.TlsLabel;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The key schedule and the record checks against published test vectors and the recorded traffic. */
class TrialDecryptionTest {
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void tls13KeyAndIvFromRfc8448() {
    // RFC 8448 3 (Simple 1-RTT Handshake), {server} derive write traffic keys for handshake data.
    byte[] secret = HEX.parseHex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");
    RecordKeys keys = TrialDecryption.forThisThread().tls13Keys(CipherSuite.of(0x1301, true), secret);
    assertArrayEquals(HEX.parseHex("3fce516009c21727d0f2e4e86ee403bc"), keys.keyBytes());
    assertArrayEquals(HEX.parseHex("5d313eb2671276ee13000b30"), keys.iv());
  }

  @Test
  void chacha20BlockFromRfc8439() {
    // RFC 8439 2.3.2.
    byte[] key = new byte[32];
    for (int i = 0; i < 32; i++) {
      key[i] = (byte) i;
    }
    byte[] out = new byte[64];
    ChaCha20Block.keystream(key, 1, HEX.parseHex("000000090000004a00000000"), out);
    assertEquals("10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
        + "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e", HEX.formatHex(out));
  }

  @Test
  void secretsOfTheWrongLengthGiveNoKeys() {
    TrialDecryption t = TrialDecryption.forThisThread();
    assertNull(t.tls13Keys(CipherSuite.of(0x1302, true), new byte[32]));
    assertNull(t.tls13Keys(CipherSuite.of(0x1301, true), new byte[48]));
    assertNull(t.tls12Keys(CipherSuite.of(0xC02F, false), new byte[47], new byte[32], new byte[32]));
  }

  @Test
  void mostWrongKeysAreTurnedDownByTheInnerContentTypeBeforeTheTag() {
    for (String fixture : new String[] {"tls13-aes128-gcm", "tls13-chacha20"}) {
      TlsStream s = new Replay(RecordedTraffic.load(fixture)).packets().streams[0];
      TrialDecryption t = TrialDecryption.forThisThread();
      long attempts = t.attempts();
      long rejected = t.rejectedByContentType();
      Random random = new Random(5);
      byte[] wrong = new byte[32];
      for (int i = 0; i < 2000; i++) {
        random.nextBytes(wrong);
        s.verify(TlsLabel.SERVER_HANDSHAKE_TRAFFIC_SECRET, wrong);
      }
      assertEquals(2000, t.attempts() - attempts);
      long early = t.rejectedByContentType() - rejected;
      assertTrue(early > 1900, fixture + ": " + early + " of 2000 turned down early (4 in 256 pass)");
    }
  }
}
