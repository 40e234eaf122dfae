// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;

/**
 * One thread's libcrypto contexts and native buffers for {@link TrialDecryption} ({@link LibCrypto}):
 * an AEAD open is a copy of the record into native memory and five calls, whatever its length; an
 * AES block and an HMAC, two and one. Each context keeps its key set while the calls in a row are
 * for one key (a trial's filter and open, then the records that follow it): a new record sets its
 * nonce only. Keys are told apart by identity ({@link TrialDecryption.RecordKeys#keyBytes()}, never
 * changed). Not thread-safe.
 */
final class NativeRecordCrypto {
  private static final Cleaner CLEANER = Cleaner.create();
  /** AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305, AES-128-ECB, AES-256-ECB; fetched once. */
  private static final Pointer[] CIPHERS = LibCrypto.AVAILABLE ? new Pointer[] {
      LibCrypto.cipher("AES-128-GCM", LibCrypto.EVP_aes_128_gcm()),
      LibCrypto.cipher("AES-256-GCM", LibCrypto.EVP_aes_256_gcm()),
      LibCrypto.cipher("ChaCha20-Poly1305", LibCrypto.EVP_chacha20_poly1305()),
      LibCrypto.cipher("AES-128-ECB", LibCrypto.EVP_aes_128_ecb()),
      LibCrypto.cipher("AES-256-ECB", LibCrypto.EVP_aes_256_ecb())} : null;
  /** SHA-256, SHA-384. */
  private static final Pointer[] DIGESTS = LibCrypto.AVAILABLE ? new Pointer[] {
      LibCrypto.digest("SHA256", LibCrypto.EVP_sha256()), LibCrypto.digest("SHA384", LibCrypto.EVP_sha384())} : null;

  /** One EVP_CIPHER_CTX, the cipher it is set up for and the key it holds. */
  private static final class Context {
    final Pointer ctx;
    Pointer cipher;
    byte[] key;

    Context(Pointer ctx) {
      this.ctx = ctx;
    }
  }

  private final Context gcm128;
  private final Context gcm256;
  private final Context chacha;
  private final Context ecb;
  private final Pointer hmac;
  private final Memory key = new Memory(64);
  private final Memory nonce = new Memory(12);
  private final Memory aad = new Memory(16);
  private final Memory length = new Memory(4);
  private final Memory block = new Memory(32);
  private final Memory digest = new Memory(64);
  private Memory in = new Memory(1 << 12);
  private Memory out = new Memory(1 << 12);
  /** Bytes of plaintext the last open wrote to {@link #out}. */
  private int plaintextLength;

  private NativeRecordCrypto() {
    gcm128 = context();
    gcm256 = context();
    chacha = context();
    ecb = context();
    Pointer h = LibCrypto.HMAC_CTX_new();
    if (h == null) {
      throw new IllegalStateException("HMAC_CTX_new failed");
    }
    CLEANER.register(this, () -> LibCrypto.HMAC_CTX_free(h));
    hmac = h;
  }

  /** This thread's, or null when libcrypto is not there (then the JDK's providers do it). */
  static NativeRecordCrypto create() {
    if (!LibCrypto.AVAILABLE) {
      return null;
    }
    try {
      return new NativeRecordCrypto();
    } catch (IllegalStateException e) {
      return null;
    }
  }

  private Context context() {
    Pointer ctx = LibCrypto.EVP_CIPHER_CTX_new();
    if (ctx == null) {
      throw new IllegalStateException("EVP_CIPHER_CTX_new failed");
    }
    CLEANER.register(this, () -> LibCrypto.EVP_CIPHER_CTX_free(ctx));
    return new Context(ctx);
  }

  /**
   * Opens an AEAD record: {@code aadLength} bytes of additional data at {@code aadOffset} of
   * {@code aadFrom}, then the ciphertext and its 16-byte tag, {@code bodyLength} bytes at
   * {@code bodyOffset} of {@code body}. True when the tag verifies; the plaintext is then
   * {@link #plaintext}.
   */
  boolean open(CipherSuite.Aead aead, byte[] keyBytes, byte[] nonceBytes, byte[] aadFrom, int aadOffset,
      int aadLength, byte[] body, int bodyOffset, int bodyLength) {
    int ciphertext = bodyLength - CipherSuite.TAG_LENGTH;
    if (ciphertext < 0) {
      return false;
    }
    Context c = switch (aead) {
      case AES_128_GCM -> gcm128;
      case AES_256_GCM -> gcm256;
      case CHACHA20_POLY1305 -> chacha;
      default -> null; // AES-CCM: not verified (see CipherSuite.Aead)
    };
    if (c == null) {
      return false;
    }
    if (c.key != keyBytes) {
      c.key = null;
      if (c.cipher == null) {
        c.cipher = switch (aead) {
          case AES_128_GCM -> CIPHERS[0];
          case AES_256_GCM -> CIPHERS[1];
          default -> CIPHERS[2];
        };
      }
      key.write(0, keyBytes, 0, keyBytes.length);
      if (LibCrypto.EVP_CipherInit_ex(c.ctx, c.cipher, null, key, null, 0) != 1) {
        return false;
      }
      c.key = keyBytes;
    }
    nonce.write(0, nonceBytes, 0, 12);
    if (LibCrypto.EVP_CipherInit_ex(c.ctx, null, null, null, nonce, 0) != 1) {
      c.key = null;
      return false;
    }
    Pointer additional;
    Pointer ciphertextAt;
    if (aadFrom == body && aadOffset + aadLength == bodyOffset) { // a TLS 1.3 record: its header, then its body
      in = capacity(in, aadLength + bodyLength);
      in.write(0, body, aadOffset, aadLength + bodyLength);
      additional = in;
      ciphertextAt = in.share(aadLength);
    } else {
      aad.write(0, aadFrom, aadOffset, aadLength);
      in = capacity(in, bodyLength);
      in.write(0, body, bodyOffset, bodyLength);
      additional = aad;
      ciphertextAt = in;
    }
    out = capacity(out, Math.max(ciphertext, 1));
    plaintextLength = 0;
    if (LibCrypto.EVP_CipherUpdate(c.ctx, null, length, additional, aadLength) != 1
        || ciphertext > 0 && LibCrypto.EVP_CipherUpdate(c.ctx, out, length, ciphertextAt, ciphertext) != 1
        || LibCrypto.EVP_CIPHER_CTX_ctrl(c.ctx, LibCrypto.EVP_CTRL_AEAD_SET_TAG, CipherSuite.TAG_LENGTH,
            ciphertextAt.share(ciphertext)) != 1) {
      return false;
    }
    if (LibCrypto.EVP_CipherFinal_ex(c.ctx, out.share(ciphertext), length) != 1) {
      return false;
    }
    plaintextLength = ciphertext;
    return true;
  }

  /** The plaintext of the last record that opened, up to {@code max} bytes (zeros past it). */
  byte[] plaintext(int max) {
    byte[] p = new byte[max];
    out.read(0, p, 0, Math.min(max, plaintextLength));
    return p;
  }

  /** AES-ECB encryption of one block with an AES key of 16 or 32 bytes: false on failure. */
  boolean aesBlock(byte[] keyBytes, byte[] input, byte[] output, int outputOffset) {
    if (ecb.key != keyBytes) {
      ecb.key = null;
      Pointer cipher = keyBytes.length == 32 ? CIPHERS[4] : CIPHERS[3];
      key.write(0, keyBytes, 0, keyBytes.length);
      if (LibCrypto.EVP_CipherInit_ex(ecb.ctx, cipher, null, key, null, 1) != 1
          || LibCrypto.EVP_CIPHER_CTX_set_padding(ecb.ctx, 0) != 1) {
        return false;
      }
      ecb.key = keyBytes;
    }
    block.write(0, input, 0, 16);
    if (LibCrypto.EVP_CipherUpdate(ecb.ctx, block.share(16), length, block, 16) != 1) {
      return false;
    }
    block.read(16, output, outputOffset, 16);
    return true;
  }

  /**
   * HMAC-SHA256 or HMAC-SHA384 under {@code keyBytes} of each of {@code data} (already in native
   * memory), in that order; null on failure.
   */
  byte[][] hmac(boolean sha384, byte[] keyBytes, Pointer[] data, int[] dataLength) {
    key.write(0, keyBytes, 0, keyBytes.length);
    byte[][] macs = new byte[data.length][];
    for (int i = 0; i < data.length; i++) {
      if (LibCrypto.HMAC_Init_ex(hmac, i == 0 ? key : null, keyBytes.length, i == 0 ? DIGESTS[sha384 ? 1 : 0] : null,
          null) != 1
          || LibCrypto.HMAC_Update(hmac, data[i], dataLength[i]) != 1
          || LibCrypto.HMAC_Final(hmac, digest, null) != 1) {
        return null;
      }
      macs[i] = digest.getByteArray(0, sha384 ? 48 : 32);
    }
    return macs;
  }

  private static Memory capacity(Memory m, long needed) {
    return m.size() >= needed ? m : new Memory(Math.max(needed, 2 * m.size()));
  }
}
