// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import dev.tlscap.capture.tls.TrialDecryption.RecordKeys;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.InvalidKeyException;
import java.security.spec.AlgorithmParameterSpec;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Makes the small records a rotated file's prologue needs, under a connection's real traffic keys
 * (so that Wireshark's record numbers, which advance only on records that authenticate, reach the
 * real stream's): empty application data records, and TLS 1.3 KeyUpdate records. Also derives the
 * next TLS 1.3 traffic secret (RFC 8446 7.2). One per thread ({@link #forThisThread()}); not
 * thread-safe.
 */
final class RecordSealer {
  private static final ThreadLocal<RecordSealer> PER_THREAD = ThreadLocal.withInitial(RecordSealer::new);

  static final int CONTENT_HANDSHAKE = 22;
  static final int CONTENT_APPLICATION_DATA = 23;
  /** RFC 8446 4.6.3: KeyUpdate (type 24, length 1, update_not_requested). */
  private static final byte[] KEY_UPDATE = {24, 0, 0, 1, 0};
  /** The bytes of an empty TLS 1.3 application data record: header, the content type, the tag. */
  static final int TLS13_EMPTY_RECORD = 5 + 1 + CipherSuite.TAG_LENGTH;
  /** A TLS 1.3 KeyUpdate record: header, the message, the content type, the tag. */
  static final int TLS13_KEY_UPDATE_RECORD = 5 + KEY_UPDATE.length + 1 + CipherSuite.TAG_LENGTH;

  private Cipher gcm;
  private Cipher chacha;
  private Mac sha256;
  private Mac sha384;
  private final byte[] nonce = new byte[12];
  private final byte[] aad = new byte[13];
  private final byte[] inner = new byte[KEY_UPDATE.length + 1];

  private RecordSealer() {}

  static RecordSealer forThisThread() {
    return PER_THREAD.get();
  }

  /** The length of an empty application data record of {@code suite}. */
  static int emptyRecordLength(CipherSuite suite) {
    return suite.tls13() ? TLS13_EMPTY_RECORD : 5 + suite.aead().tls12ExplicitNonceLength + CipherSuite.TAG_LENGTH;
  }

  /**
   * Writes into {@code out} at {@code at} an empty application data record sealed as record
   * {@code seq} of {@code keys} (TLS 1.3: RFC 8446 5.2, its inner plaintext only the content type;
   * TLS 1.2: RFC 5246 6.2.3.3 with no content, the GCM explicit nonce being the sequence number).
   *
   * @return the record's length, or -1 when the JDK cannot seal it
   */
  int sealEmpty(RecordKeys keys, long seq, byte[] out, int at) {
    CipherSuite suite = keys.suite();
    if (suite.tls13()) {
      inner[0] = CONTENT_APPLICATION_DATA;
      return sealTls13(keys, seq, 1, out, at);
    }
    CipherSuite.Aead aead = suite.aead();
    int explicit = aead.tls12ExplicitNonceLength;
    int length = explicit + CipherSuite.TAG_LENGTH;
    header(out, at, CONTENT_APPLICATION_DATA, length);
    if (explicit > 0) {
      System.arraycopy(keys.iv(), 0, nonce, 0, 4);
      for (int i = 0; i < 8; i++) {
        nonce[4 + i] = (byte) (seq >>> (56 - 8 * i));
      }
      System.arraycopy(nonce, 4, out, at + 5, 8);
    } else {
      System.arraycopy(keys.iv(), 0, nonce, 0, 12);
      xorSequence(seq);
    }
    for (int i = 0; i < 8; i++) {
      aad[i] = (byte) (seq >>> (56 - 8 * i));
    }
    aad[8] = CONTENT_APPLICATION_DATA;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = 0;
    aad[12] = 0;
    return seal(aead, keys.key(), aad, 13, inner, 0, out, at + 5 + explicit) ? 5 + length : -1;
  }

  /** A run shorter than this is sealed record by record (the fast path's set-up costs about that much). */
  static final int FAST_RUN = 64;

  /**
   * {@code count} empty records sealed as records {@code firstSeq}, {@code firstSeq + 1}, ... of
   * {@code keys}, one after the other into {@code out} at {@code at}; the bytes written, or -1.
   * AES-GCM runs of {@link #FAST_RUN} or more take a fast path ({@link EmptyGcmRun}) whose first
   * record is checked against the JCA's; any other run, or a failed check, goes record by record.
   */
  int sealEmptyRun(RecordKeys keys, long firstSeq, int count, byte[] out, int at) {
    if (count >= FAST_RUN && keys.suite().aead() != CipherSuite.Aead.CHACHA20_POLY1305) {
      int n = EmptyGcmRun.seal(keys, firstSeq, count, out, at);
      byte[] check = new byte[emptyRecordLength(keys.suite())];
      if (n > 0 && sealEmpty(keys, firstSeq, check, 0) == check.length
          && Arrays.equals(check, 0, check.length, out, at, at + check.length)) {
        return n;
      }
    }
    int fill = at;
    for (int i = 0; i < count; i++) {
      int r = sealEmpty(keys, firstSeq + i, out, fill);
      if (r < 0) {
        return -1;
      }
      fill += r;
    }
    return fill - at;
  }

  /** A TLS 1.3 KeyUpdate record sealed as record {@code seq} of {@code keys}; its length, or -1. */
  int sealKeyUpdate(RecordKeys keys, long seq, byte[] out, int at) {
    System.arraycopy(KEY_UPDATE, 0, inner, 0, KEY_UPDATE.length);
    inner[KEY_UPDATE.length] = CONTENT_HANDSHAKE;
    return sealTls13(keys, seq, KEY_UPDATE.length + 1, out, at);
  }

  private int sealTls13(RecordKeys keys, long seq, int innerLength, byte[] out, int at) {
    int length = innerLength + CipherSuite.TAG_LENGTH;
    header(out, at, CONTENT_APPLICATION_DATA, length);
    System.arraycopy(keys.iv(), 0, nonce, 0, 12);
    xorSequence(seq);
    System.arraycopy(out, at, aad, 0, 5);
    return seal(keys.suite().aead(), keys.key(), aad, 5, inner, innerLength, out, at + 5) ? 5 + length : -1;
  }

  /**
   * RFC 8446 7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(application_traffic_secret_N,
   * "traffic upd", "", Hash.length); null when the JDK lacks the HMAC.
   */
  byte[] nextTrafficSecret(CipherSuite suite, byte[] secret) {
    byte[] info = TrialDecryption.hkdfLabelBlock1("traffic upd", suite.hashLength()); // one block: the hash length
    try {
      Mac mac = suite.hmac().equals("HmacSHA256")
          ? (sha256 != null ? sha256 : (sha256 = Mac.getInstance("HmacSHA256")))
          : (sha384 != null ? sha384 : (sha384 = Mac.getInstance("HmacSHA384")));
      mac.init(new SecretKeySpec(secret, suite.hmac()));
      return mac.doFinal(info);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return null;
    }
  }

  private static void header(byte[] out, int at, int type, int length) {
    out[at] = (byte) type;
    out[at + 1] = 3;
    out[at + 2] = 3;
    out[at + 3] = (byte) (length >>> 8);
    out[at + 4] = (byte) length;
  }

  private void xorSequence(long seq) {
    for (int i = 0; i < 8; i++) {
      nonce[4 + i] ^= (byte) (seq >>> (56 - 8 * i));
    }
  }

  private boolean seal(CipherSuite.Aead aead, SecretKeySpec key, byte[] aadBytes, int aadLength, byte[] plaintext,
      int plaintextLength, byte[] out, int at) {
    try {
      Cipher cipher = aead == CipherSuite.Aead.CHACHA20_POLY1305
          ? (chacha != null ? chacha : (chacha = Cipher.getInstance(aead.transformation)))
          : (gcm != null ? gcm : (gcm = Cipher.getInstance(aead.transformation)));
      try {
        cipher.init(Cipher.ENCRYPT_MODE, key, params(aead));
      } catch (InvalidKeyException | InvalidAlgorithmParameterException sameKeyAndNonce) {
        // The JDK refuses to encrypt twice in a row under one key and nonce; sealing the same
        // record again for a later file does that (the same bytes, no harm): init with another first.
        nonce[0] ^= 1;
        cipher.init(Cipher.ENCRYPT_MODE, key, params(aead));
        nonce[0] ^= 1;
        cipher.init(Cipher.ENCRYPT_MODE, key, params(aead));
      }
      cipher.updateAAD(aadBytes, 0, aadLength);
      cipher.doFinal(plaintext, 0, plaintextLength, out, at);
      return true;
    } catch (GeneralSecurityException | IllegalArgumentException | IllegalStateException e) {
      return false;
    }
  }

  private AlgorithmParameterSpec params(CipherSuite.Aead aead) {
    return aead == CipherSuite.Aead.CHACHA20_POLY1305
        ? new IvParameterSpec(nonce) : new GCMParameterSpec(CipherSuite.TAG_LENGTH * 8, nonce);
  }
}
