// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.capture.tls.TrialDecryption.RecordKeys;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The empty records of a rotated file's prologue: the fast AES-GCM run is byte for byte what the
 * JCA seals record by record, and every record opens, as the record number it is meant to be, with
 * the decryption trial decryption uses (which Wireshark's matches: RFC 8446 5.2-5.3, RFC 5288).
 */
class RecordSealerTest {
  private static RecordKeys keys(int code, boolean tls13, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    CipherSuite suite = CipherSuite.of(code, tls13);
    TrialDecryption trial = TrialDecryption.forThisThread();
    if (tls13) {
      byte[] secret = new byte[suite.hashLength()];
      random.nextBytes(secret);
      return trial.tls13Keys(suite, secret);
    }
    byte[] master = new byte[48];
    byte[] clientRandom = new byte[32];
    byte[] serverRandom = new byte[32];
    random.nextBytes(master);
    random.nextBytes(clientRandom);
    random.nextBytes(serverRandom);
    return trial.tls12Keys(suite, master, clientRandom, serverRandom).client();
  }

  @ParameterizedTest
  @CsvSource({"0x1301, true", "0x1302, true", "0x1303, true", "0xc02f, false", "0xc030, false", "0xcca8, false"})
  void aRunIsWhatTheJcaSealsRecordByRecordAndEveryRecordOpensAsItsNumber(String code, boolean tls13) {
    for (long seed = 1; seed <= 3; seed++) {
      RecordKeys keys = keys(Integer.decode(code), tls13, seed);
      long first = seed == 3 ? 70_000 : tls13 ? 0 : 1; // (past 2^16: more sequence bits)
      int count = 300;
      int length = RecordSealer.emptyRecordLength(keys.suite());
      RecordSealer sealer = RecordSealer.forThisThread();
      byte[] one = new byte[count * length];
      for (int i = 0; i < count; i++) {
        assertEquals(length, sealer.sealEmpty(keys, first + i, one, i * length));
      }
      byte[] run = new byte[count * length + 7];
      assertEquals(count * length, sealer.sealEmptyRun(keys, first, count, run, 7));
      assertArrayEquals(one, Arrays.copyOfRange(run, 7, run.length));
      if (keys.suite().aead() != CipherSuite.Aead.CHACHA20_POLY1305) {
        byte[] fast = new byte[count * length];
        assertEquals(count * length, EmptyGcmRun.seal(keys, first, count, fast, 0), "the fast path itself");
        assertArrayEquals(one, fast, "the fast path itself, byte for byte");
      }
      TrialDecryption trial = TrialDecryption.forThisThread();
      for (int i = 0; i < count; i += 37) {
        byte[] record = Arrays.copyOfRange(one, i * length, (i + 1) * length);
        assertTrue(tls13 ? trial.opensTls13(keys, record, first + i) : trial.opensTls12(keys, record, first + i),
            "record " + (first + i));
        assertTrue(!(tls13 ? trial.opensTls13(keys, record, first + i + 1)
            : trial.opensTls12(keys, record, first + i + 1)), "not as record " + (first + i + 1));
      }
    }
  }
}
