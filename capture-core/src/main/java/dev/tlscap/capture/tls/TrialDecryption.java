// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.spec.AlgorithmParameterSpec;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Derives record keys from TLS secrets and checks whether a key opens a record (its AEAD tag
 * verifies). One instance per thread ({@link #forThisThread()}): the JCA {@code Mac} and
 * {@code Cipher} objects and the scratch buffer are reused from call to call, which keeps an
 * attempt at a few microseconds. Where the system's libcrypto loads ({@link LibCrypto}), it opens
 * the records, encrypts the filter's block and computes the TLS 1.3 key schedule's HMACs instead
 * (the JDK's AES-GCM and SHA-384 run as plain Java under tlscap's C1-only JIT). Not thread-safe.
 *
 * <p>Methods return a result and never throw for bad input (a wrong key is the common case); a
 * JDK without one of the algorithms shows as "does not open".
 */
final class TrialDecryption {
  private static final ThreadLocal<TrialDecryption> PER_THREAD = ThreadLocal.withInitial(TrialDecryption::new);

  /**
   * The key and IV protecting one direction's records under one secret. The content-type filter
   * of every trial encrypts one counter block with the key ({@link #ecb()}).
   */
  static final class RecordKeys {
    private final CipherSuite suite;
    private final SecretKeySpec key;
    private final byte[] keyBytes;
    private final byte[] iv;

    RecordKeys(CipherSuite suite, SecretKeySpec key, byte[] keyBytes, byte[] iv) {
      this.suite = suite;
      this.key = key;
      this.keyBytes = keyBytes;
      this.iv = iv;
    }

    CipherSuite suite() {
      return suite;
    }

    SecretKeySpec key() {
      return key;
    }

    byte[] keyBytes() {
      return keyBytes;
    }

    byte[] iv() {
      return iv;
    }

    /**
     * AES-ECB encrypting with this key: this thread's one ECB cipher, set to the key unless it
     * already is. A cipher per key cost a provider lookup per key (Cipher.getInstance, 9 % of the
     * event loop under a handshake load, every handshake brings four to six keys); most calls in a
     * row are for one key (a trial's filter, then the records that follow it).
     */
    Cipher ecb() throws GeneralSecurityException {
      Ecb e = ECB.get();
      if (e.cipher == null) {
        e.cipher = Cipher.getInstance("AES/ECB/NoPadding");
      }
      if (e.key != key) {
        e.key = null;
        e.cipher.init(Cipher.ENCRYPT_MODE, key);
        e.key = key;
      }
      return e.cipher;
    }
  }

  /** One thread's AES-ECB cipher and the key it is set to. */
  private static final class Ecb {
    Cipher cipher;
    SecretKeySpec key;
  }

  private static final ThreadLocal<Ecb> ECB = ThreadLocal.withInitial(Ecb::new);

  /** TLS 1.2: both directions' keys from one master secret. */
  record Tls12Keys(RecordKeys client, RecordKeys server) {}

  /*
   * RFC 8446 7.1: HkdfLabel = uint16 length || opaque label<7..255> ("tls13 " + Label) ||
   * opaque context<0..255> (empty here). HKDF-Expand (RFC 5869 2.3) appends the block counter 0x01;
   * every key and IV here fits in the first block T(1) = HMAC(secret, HkdfLabel || 0x01).
   */
  private static final byte[] IV_LABEL = hkdfLabelBlock1("iv", 12);
  private static final byte[] KEY_LABEL_16 = hkdfLabelBlock1("key", 16);
  private static final byte[] KEY_LABEL_32 = hkdfLabelBlock1("key", 32);
  /** The three labels in native memory for libcrypto's HMAC, or null. */
  private static final com.sun.jna.Memory[] NATIVE_LABELS = LibCrypto.AVAILABLE
      ? new com.sun.jna.Memory[] {nativeCopy(IV_LABEL), nativeCopy(KEY_LABEL_16), nativeCopy(KEY_LABEL_32)} : null;
  /** RFC 5246 6.3: the PRF label of the key block. */
  private static final byte[] KEY_EXPANSION = "key expansion".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private Mac sha256;
  private Mac sha384;
  private Cipher gcm;
  private Cipher chacha;
  private final byte[] counterBlock = new byte[16];
  private final byte[] block64 = new byte[64];
  /** Attempts a wrong inner content type turned down before the tag check. */
  private long rejectedByContentType;
  private byte[] scratch = new byte[1 << 12];
  private final byte[] nonce = new byte[12];
  /** Keys derived from TLS 1.3 secrets, by a hash of the secret and suite (a collision replaces). */
  private static final int KEY_CACHE_SLOTS = 4096;
  private final RecordKeys[] cachedKeys = new RecordKeys[KEY_CACHE_SLOTS];
  private final byte[][] cachedSecrets = new byte[KEY_CACHE_SLOTS][];
  private final byte[] aad12 = new byte[13];
  /** How many records this thread tried to open. */
  private long attempts;

  /** libcrypto's AEAD, AES and HMAC for this thread, or null: the JDK's ({@link LibCrypto}). */
  private final NativeRecordCrypto nativeCrypto;

  private TrialDecryption(boolean useLibCrypto) {
    nativeCrypto = useLibCrypto ? NativeRecordCrypto.create() : null;
  }

  private TrialDecryption() {
    this(true);
  }

  static TrialDecryption forThisThread() {
    return PER_THREAD.get();
  }

  /** A new instance with the JDK's providers only, or with libcrypto where it loads; for tests. */
  static TrialDecryption create(boolean useLibCrypto) {
    return new TrialDecryption(useLibCrypto);
  }

  /** This instance opens records with libcrypto. */
  boolean usesLibCrypto() {
    return nativeCrypto != null;
  }

  long attempts() {
    return attempts;
  }

  long rejectedByContentType() {
    return rejectedByContentType;
  }

  /** Records opened whole (their tag checked). */
  private long wholeOpens;

  long wholeOpens() {
    return wholeOpens;
  }

  /** RFC 8446 7.1: the HkdfLabel of {@code label} with an empty context, and HKDF-Expand's first block counter. */
  static byte[] hkdfLabelBlock1(String label, int length) {
    byte[] l = ("tls13 " + label).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    byte[] info = new byte[2 + 1 + l.length + 1 + 1];
    info[0] = (byte) (length >>> 8);
    info[1] = (byte) length;
    info[2] = (byte) l.length;
    System.arraycopy(l, 0, info, 3, l.length);
    info[3 + l.length] = 0; // empty context
    info[4 + l.length] = 1; // HKDF-Expand block counter
    return info;
  }

  private static com.sun.jna.Memory nativeCopy(byte[] bytes) {
    com.sun.jna.Memory m = new com.sun.jna.Memory(bytes.length);
    m.write(0, bytes, 0, bytes.length);
    return m;
  }

  private Mac mac(String algorithm) {
    try {
      if (algorithm.equals("HmacSHA256")) {
        return sha256 != null ? sha256 : (sha256 = Mac.getInstance(algorithm));
      }
      return sha384 != null ? sha384 : (sha384 = Mac.getInstance(algorithm));
    } catch (GeneralSecurityException e) {
      return null;
    }
  }

  private Cipher cipher(CipherSuite.Aead aead) {
    try {
      if (aead == CipherSuite.Aead.CHACHA20_POLY1305) {
        return chacha != null ? chacha : (chacha = Cipher.getInstance(aead.transformation));
      }
      return gcm != null ? gcm : (gcm = Cipher.getInstance(aead.transformation));
    } catch (GeneralSecurityException e) {
      return null;
    }
  }

  /**
   * RFC 8446 7.3: [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length) and
   * [sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length), with the suite's hash.
   * Null when the secret does not have the hash's length or the JDK lacks the HMAC.
   */
  RecordKeys tls13Keys(CipherSuite suite, byte[] secret) {
    if (secret == null || secret.length != suite.hashLength()) {
      return null;
    }
    // A candidate is tried on stream after stream, and many candidates are in the pool at once:
    // derive each one's keys once (by content, as a caller may reuse its array). Without this,
    // HMAC-SHA384 took two thirds of tlscap's CPU under a handshake load (SHA-512 in Java until C2
    // compiled it; C1 only, as tlscap runs now, never uses the intrinsic).
    int slot = (Arrays.hashCode(secret) * 31 + suite.code()) & (KEY_CACHE_SLOTS - 1);
    RecordKeys cached = cachedKeys[slot];
    if (cached != null && cached.suite().code() == suite.code() && Arrays.equals(cachedSecrets[slot], secret)) {
      return cached;
    }
    if (nativeCrypto != null) {
      boolean key16 = suite.aead().keyLength == 16;
      byte[][] t1 = nativeCrypto.hmac(suite.hashLength() == 48, secret,
          new com.sun.jna.Pointer[] {NATIVE_LABELS[key16 ? 1 : 2], NATIVE_LABELS[0]},
          new int[] {key16 ? KEY_LABEL_16.length : KEY_LABEL_32.length, IV_LABEL.length});
      if (t1 != null) {
        byte[] keyBytes = Arrays.copyOf(t1[0], suite.aead().keyLength);
        RecordKeys keys = new RecordKeys(suite, new SecretKeySpec(keyBytes, suite.aead().keyAlgorithm), keyBytes,
            Arrays.copyOf(t1[1], 12));
        cachedKeys[slot] = keys;
        cachedSecrets[slot] = secret.clone();
        return keys;
      }
    }
    Mac mac = mac(suite.hmac());
    if (mac == null) {
      return null;
    }
    try {
      mac.init(new SecretKeySpec(secret, suite.hmac()));
      mac.update(suite.aead().keyLength == 16 ? KEY_LABEL_16 : KEY_LABEL_32);
      byte[] t1 = mac.doFinal();
      byte[] keyBytes = Arrays.copyOf(t1, suite.aead().keyLength);
      SecretKeySpec key = new SecretKeySpec(keyBytes, suite.aead().keyAlgorithm);
      mac.update(IV_LABEL);
      byte[] iv = Arrays.copyOf(mac.doFinal(), 12);
      RecordKeys keys = new RecordKeys(suite, key, keyBytes, iv);
      cachedKeys[slot] = keys;
      cachedSecrets[slot] = secret.clone();
      return keys;
    } catch (InvalidKeyException | IllegalArgumentException e) {
      return null;
    }
  }

  /**
   * RFC 5246 6.3: key_block = PRF(master_secret, "key expansion", server_random + client_random),
   * cut into client_write_MAC_key, server_write_MAC_key (none for AEAD suites), client_write_key,
   * server_write_key, client_write_IV, server_write_IV. Null when the master secret does not have
   * 48 bytes or the JDK lacks the HMAC.
   */
  Tls12Keys tls12Keys(CipherSuite suite, byte[] masterSecret, byte[] clientRandom, byte[] serverRandom) {
    if (masterSecret == null || masterSecret.length != 48 || clientRandom == null || serverRandom == null) {
      return null;
    }
    CipherSuite.Aead aead = suite.aead();
    int keyLength = aead.keyLength;
    int ivLength = aead.tls12FixedIvLength;
    byte[] block = prf(suite.hmac(), masterSecret, KEY_EXPANSION, serverRandom, clientRandom, 2 * (keyLength + ivLength));
    if (block == null) {
      return null;
    }
    byte[] clientKey = Arrays.copyOfRange(block, 0, keyLength);
    byte[] serverKey = Arrays.copyOfRange(block, keyLength, 2 * keyLength);
    RecordKeys client = new RecordKeys(suite, new SecretKeySpec(clientKey, aead.keyAlgorithm), clientKey,
        Arrays.copyOfRange(block, 2 * keyLength, 2 * keyLength + ivLength));
    RecordKeys server = new RecordKeys(suite, new SecretKeySpec(serverKey, aead.keyAlgorithm), serverKey,
        Arrays.copyOfRange(block, 2 * keyLength + ivLength, 2 * keyLength + 2 * ivLength));
    return new Tls12Keys(client, server);
  }

  /**
   * RFC 5246 5: PRF(secret, label, seed) = P_hash(secret, label + seed), P_hash = HMAC(secret, A(1)
   * + seed) + HMAC(secret, A(2) + seed) + ..., A(0) = seed, A(i) = HMAC(secret, A(i-1)).
   */
  private byte[] prf(String hmac, byte[] secret, byte[] label, byte[] seed1, byte[] seed2, int length) {
    Mac mac = mac(hmac);
    if (mac == null) {
      return null;
    }
    try {
      mac.init(new SecretKeySpec(secret, hmac));
      byte[] out = new byte[length];
      mac.update(label);
      mac.update(seed1);
      mac.update(seed2);
      byte[] a = mac.doFinal(); // A(1)
      int filled = 0;
      while (filled < length) {
        mac.update(a);
        mac.update(label);
        mac.update(seed1);
        mac.update(seed2);
        byte[] block = mac.doFinal();
        int n = Math.min(block.length, length - filled);
        System.arraycopy(block, 0, out, filled, n);
        filled += n;
        a = mac.doFinal(a); // A(i+1)
      }
      return out;
    } catch (InvalidKeyException e) {
      return null;
    }
  }

  /**
   * True when {@code keys} open the TLS 1.3 record {@code record} (header included) as record
   * number {@code seq} of its key: RFC 8446 5.3, nonce = iv XOR the 64-bit sequence number
   * left-padded to 12 bytes; 5.2, additional data = the 5-byte record header.
   */
  boolean opensTls13(RecordKeys keys, byte[] record, long seq) {
    return opensTls13(keys, record, seq, true);
  }

  /**
   * As {@link #opensTls13(RecordKeys, byte[], long)}; {@code trial} false skips the content-type
   * filter (for a record whose key is known: {@link TlsPlaintext}).
   */
  boolean opensTls13(RecordKeys keys, byte[] record, long seq, boolean trial) {
    if (trial) {
      return mayOpenTls13(keys, record, seq) && open(keys, record, 0, 5, record, 5, record.length - 5);
    }
    if (!setTls13Nonce(keys, record, seq)) {
      return false;
    }
    return open(keys, record, 0, 5, record, 5, record.length - 5);
  }

  /** Sets the nonce of record {@code seq}; false when the record is too short to be one (RFC 8446 5.2). */
  private boolean setTls13Nonce(RecordKeys keys, byte[] record, long seq) {
    if (record.length - 5 < CipherSuite.TAG_LENGTH + 1) {
      return false; // TLSInnerPlaintext holds at least its content type
    }
    System.arraycopy(keys.iv(), 0, nonce, 0, 12);
    xorSequence(seq);
    return true;
  }

  /**
   * Whether the TLS 1.3 record {@code record} may be record number {@code seq} of {@code keys}:
   * its last plaintext byte decrypted alone ({@link #lastPlaintextByte}) is one a protected record
   * ends with. Always true under the right key; under a wrong one 4 times in 256 (the tag decides:
   * {@link #opensTls13}).
   */
  boolean mayOpenTls13(RecordKeys keys, byte[] record, long seq) {
    if (!setTls13Nonce(keys, record, seq)) {
      return false;
    }
    attempts++;
    int type = lastPlaintextByte(keys, record, record.length - 5 - CipherSuite.TAG_LENGTH);
    if (type > 0 && type != CONTENT_ALERT && type != CONTENT_HANDSHAKE && type != CONTENT_APPLICATION_DATA) {
      rejectedByContentType++;
      return false;
    }
    return true;
  }

  private static final int CONTENT_ALERT = 21;
  private static final int CONTENT_HANDSHAKE = 22;
  private static final int CONTENT_APPLICATION_DATA = 23;

  /**
   * The last byte of a TLS 1.3 record's plaintext, decrypting only the cipher block that holds
   * it (the nonce is set). RFC 8446 5.2/5.4: TLSInnerPlaintext is content, then the real content
   * type, then zero padding; so under the right key the last byte is 0 (padding) or a content type
   * a protected record can carry (alert, handshake, application data). Under a wrong key it is one
   * of those four values 4 times in 256: a cheap filter before the tag check, whose failure costs
   * an exception (a few microseconds with a deep stack). A MATCH still needs the tag.
   * -1 when the JDK lacks AES (then the tag decides).
   */
  private int lastPlaintextByte(RecordKeys keys, byte[] record, int ciphertextLength) {
    int last = ciphertextLength - 1; // offset of the last plaintext byte in the ciphertext
    int c = record[5 + last] & 0xFF;
    if (keys.suite().aead() == CipherSuite.Aead.CHACHA20_POLY1305) {
      // RFC 8439 2.8: the plaintext is encrypted from block counter 1.
      ChaCha20Block.keystream(keys.keyBytes(), 1 + last / 64, nonce, block64);
      return c ^ (block64[last % 64] & 0xFF);
    }
    // NIST SP 800-38D 7.2: J0 = nonce || 0^31 || 1; plaintext block i is XORed with E(K, J0 + 1 + i).
    try {
      int counter = 2 + last / 16;
      System.arraycopy(nonce, 0, counterBlock, 0, 12);
      counterBlock[12] = (byte) (counter >>> 24);
      counterBlock[13] = (byte) (counter >>> 16);
      counterBlock[14] = (byte) (counter >>> 8);
      counterBlock[15] = (byte) counter;
      if (nativeCrypto == null || !nativeCrypto.aesBlock(keys.keyBytes(), counterBlock, block64, 0)) {
        keys.ecb().doFinal(counterBlock, 0, 16, block64, 0);
      }
      return c ^ (block64[last % 16] & 0xFF);
    } catch (GeneralSecurityException e) {
      return -1;
    }
  }

  /**
   * True when {@code keys} open the TLS 1.2 record {@code record} as record number {@code seq} of
   * its direction's epoch. RFC 5246 6.2.3.3: additional_data = seq_num + type + version + length of
   * the plaintext. GCM (RFC 5288 3): nonce = salt (the 4-byte write IV) + the 8-byte explicit nonce
   * that starts the body. ChaCha20-Poly1305 (RFC 7905 2): nonce = write IV XOR padded seq_num.
   */
  boolean opensTls12(RecordKeys keys, byte[] record, long seq) {
    CipherSuite.Aead aead = keys.suite().aead();
    int explicit = aead.tls12ExplicitNonceLength;
    int ciphertext = record.length - 5 - explicit;
    int plaintext = ciphertext - CipherSuite.TAG_LENGTH;
    if (plaintext < 0) {
      return false;
    }
    if (explicit > 0) {
      System.arraycopy(keys.iv(), 0, nonce, 0, 4);
      System.arraycopy(record, 5, nonce, 4, 8);
    } else {
      System.arraycopy(keys.iv(), 0, nonce, 0, 12);
      xorSequence(seq);
    }
    for (int i = 0; i < 8; i++) {
      aad12[i] = (byte) (seq >>> (56 - 8 * i));
    }
    aad12[8] = record[0];
    aad12[9] = record[1];
    aad12[10] = record[2];
    aad12[11] = (byte) (plaintext >>> 8);
    aad12[12] = (byte) plaintext;
    attempts++;
    return open(keys, aad12, 0, 13, record, 5 + explicit, ciphertext);
  }

  private void xorSequence(long seq) {
    for (int i = 0; i < 8; i++) {
      nonce[4 + i] ^= (byte) (seq >>> (56 - 8 * i));
    }
  }

  private boolean open(RecordKeys keys, byte[] aad, int aadOffset, int aadLength, byte[] body, int bodyOffset,
      int bodyLength) {
    CipherSuite.Aead aead = keys.suite().aead();
    wholeOpens++;
    if (nativeCrypto != null) {
      return nativeCrypto.open(aead, keys.keyBytes(), nonce, aad, aadOffset, aadLength, body, bodyOffset, bodyLength);
    }
    SecretKeySpec key = keys.key();
    Cipher cipher = cipher(aead);
    if (cipher == null) {
      return false;
    }
    AlgorithmParameterSpec params = aead == CipherSuite.Aead.CHACHA20_POLY1305
        ? new IvParameterSpec(nonce) : new GCMParameterSpec(CipherSuite.TAG_LENGTH * 8, nonce);
    if (scratch.length < bodyLength) {
      scratch = new byte[Math.max(bodyLength, scratch.length * 2)];
    }
    try {
      try {
        cipher.init(Cipher.DECRYPT_MODE, key, params);
      } catch (InvalidKeyException sameKeyAndNonce) {
        // JDK 17's ChaCha20-Poly1305 refuses the key and nonce of its previous init, even to
        // decrypt (trying one secret on several records does that): init once with another nonce.
        nonce[0] ^= 1;
        cipher.init(Cipher.DECRYPT_MODE, key, new IvParameterSpec(nonce));
        nonce[0] ^= 1;
        cipher.init(Cipher.DECRYPT_MODE, key, params);
      }
      cipher.updateAAD(aad, aadOffset, aadLength);
      cipher.doFinal(body, bodyOffset, bodyLength, scratch, 0);
      return true;
    } catch (AEADBadTagException e) {
      return false;
    } catch (GeneralSecurityException | IllegalArgumentException | IllegalStateException e) {
      // ShortBufferException cannot happen (scratch is large enough); a bad key length or a JDK
      // without the cipher means "does not open" too.
      return false;
    }
  }

  /** The plaintext of the last record opened, its first {@code length} bytes. */
  byte[] lastPlaintext(int length) {
    return nativeCrypto != null ? nativeCrypto.plaintext(length) : Arrays.copyOf(scratch, length);
  }
}
