// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.capture.tls.TrialDecryption.RecordKeys;
import java.util.SplittableRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * libcrypto's record opens ({@link NativeRecordCrypto}) against the JDK's: the same keys from the
 * same secrets, and on records the JDK sealed, the same verdict and plaintext for the right record
 * number and for every kind of wrong one (number, key, a flipped bit in the header, the ciphertext
 * or the tag), one instance trying them in a row as trial decryption does.
 */
class TrialDecryptionLibCryptoTest {
  @ParameterizedTest
  @CsvSource({"0x1301, true", "0x1302, true", "0x1303, true", "0xc02f, false", "0xc030, false", "0xcca8, false"})
  void libCryptoAndTheJdkAgreeOnEveryRecord(String code, boolean tls13) throws Exception {
    TrialDecryption jdk = TrialDecryption.create(false);
    TrialDecryption lib = TrialDecryption.create(true);
    assertTrue(lib.usesLibCrypto(), "libcrypto (libssl3) is on this machine: it must load");
    CipherSuite suite = CipherSuite.of(Integer.decode(code), tls13);
    SplittableRandom random = new SplittableRandom(Integer.decode(code));
    int opened = 0;
    for (int k = 0; k < 20; k++) {
      RecordKeys keys;
      RecordKeys libKeys;
      if (tls13) {
        byte[] secret = new byte[suite.hashLength()];
        random.nextBytes(secret);
        keys = jdk.tls13Keys(suite, secret);
        libKeys = lib.tls13Keys(suite, secret);
        assertArrayEquals(keys.keyBytes(), libKeys.keyBytes());
        assertArrayEquals(keys.iv(), libKeys.iv());
      } else {
        byte[] master = new byte[48];
        random.nextBytes(master);
        keys = jdk.tls12Keys(suite, master, new byte[32], new byte[32]).client();
        libKeys = keys;
      }
      RecordKeys other = jdk.tls13Keys(CipherSuite.of(0x1303, true), new byte[32]);
      byte[] wrongKey = keys.keyBytes().clone();
      wrongKey[random.nextInt(wrongKey.length)] ^= 1;
      RecordKeys wrong = new RecordKeys(suite, new SecretKeySpec(wrongKey, suite.aead().keyAlgorithm), wrongKey,
          keys.iv());
      for (int r = 0; r < 8; r++) {
        long seq = random.nextInt(3) == 0 ? random.nextLong(1L << 40) : r;
        int length = r == 0 ? 0 : random.nextInt(r % 3 == 0 ? 6000 : 300);
        byte[] record = seal(keys, seq, length, random);
        // the right one, then each wrong one
        byte[][] records = {record, record, record, flip(record, 2), flip(record, 5 + random.nextInt(record.length - 5)),
            flip(record, record.length - 1 - random.nextInt(16))};
        long[] seqs = {seq, seq + 1, seq, seq, seq, seq};
        RecordKeys[] useKeys = {keys, keys, wrong, keys, keys, keys};
        for (int i = 0; i < records.length; i++) {
          boolean a = open(jdk, useKeys[i] == wrong ? wrong : keys, records[i], seqs[i]);
          boolean b = open(lib, useKeys[i] == wrong ? wrong : libKeys, records[i], seqs[i]);
          assertEquals(i == 0, a, "the JDK, case " + i + ", " + length + " bytes");
          assertEquals(a, b, "libcrypto, case " + i + ", " + length + " bytes, record " + seqs[i]);
          if (a) {
            int n = record.length - 5 - (tls13 ? 0 : suite.aead().tls12ExplicitNonceLength) - 16;
            assertArrayEquals(jdk.lastPlaintext(n), lib.lastPlaintext(n));
            opened++;
          }
        }
        if (suite.tls13() && other != null && suite.aead() == CipherSuite.Aead.CHACHA20_POLY1305) {
          assertEquals(false, open(lib, other, record, seq)); // another key of the same AEAD in between
        }
      }
    }
    assertEquals(160, opened);
  }

  private static boolean open(TrialDecryption t, RecordKeys keys, byte[] record, long seq) {
    return keys.suite().tls13() ? t.opensTls13(keys, record, seq) : t.opensTls12(keys, record, seq);
  }

  private static byte[] flip(byte[] record, int at) {
    byte[] r = record.clone();
    r[at] ^= (byte) 0x40;
    return r;
  }

  /** A record of {@code length} random content bytes sealed by the JDK as record {@code seq}. */
  private static byte[] seal(RecordKeys keys, long seq, int length, SplittableRandom random) throws Exception {
    CipherSuite suite = keys.suite();
    CipherSuite.Aead aead = suite.aead();
    boolean tls13 = suite.tls13();
    int explicit = tls13 ? 0 : aead.tls12ExplicitNonceLength;
    byte[] plaintext = new byte[length + (tls13 ? 1 : 0)];
    random.nextBytes(plaintext);
    if (tls13) {
      plaintext[length] = 23; // the inner content type
    }
    byte[] nonce = new byte[12];
    byte[] iv = keys.iv();
    if (explicit > 0) {
      System.arraycopy(iv, 0, nonce, 0, 4);
      for (int i = 0; i < 8; i++) {
        nonce[4 + i] = (byte) (seq >>> (56 - 8 * i));
      }
    } else {
      System.arraycopy(iv, 0, nonce, 0, 12);
      for (int i = 0; i < 8; i++) {
        nonce[4 + i] ^= (byte) (seq >>> (56 - 8 * i));
      }
    }
    int bodyLength = explicit + plaintext.length + 16;
    byte[] record = new byte[5 + bodyLength];
    record[0] = 23;
    record[1] = 3;
    record[2] = 3;
    record[3] = (byte) (bodyLength >>> 8);
    record[4] = (byte) bodyLength;
    System.arraycopy(nonce, 4, record, 5, explicit);
    byte[] aad;
    if (tls13) {
      aad = java.util.Arrays.copyOf(record, 5);
    } else {
      aad = new byte[13];
      for (int i = 0; i < 8; i++) {
        aad[i] = (byte) (seq >>> (56 - 8 * i));
      }
      aad[8] = 23;
      aad[9] = 3;
      aad[10] = 3;
      aad[11] = (byte) (plaintext.length >>> 8);
      aad[12] = (byte) plaintext.length;
    }
    Cipher c = Cipher.getInstance(aead.transformation);
    c.init(Cipher.ENCRYPT_MODE, keys.key(), aead == CipherSuite.Aead.CHACHA20_POLY1305
        ? new IvParameterSpec(nonce) : new GCMParameterSpec(128, nonce));
    c.updateAAD(aad);
    c.doFinal(plaintext, 0, plaintext.length, record, 5 + explicit);
    return record;
  }
}
