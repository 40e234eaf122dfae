// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * The system's OpenSSL libcrypto (3.x or 1.1), by JNA direct mapping: the AEAD opens, AES block
 * and HMAC of {@link TrialDecryption} with AES-NI and PCLMULQDQ. tlscap runs its JIT at C1 only
 * ({@code JvmTuning}), which never uses the JDK's AES and GHASH intrinsics: the JDK's AES-GCM then
 * runs as plain Java (GHASH and AES-CTR were 15 % of the event loop under a handshake load).
 * {@link #AVAILABLE} is false where no libcrypto loads or {@code -Dtlscap.crypto=jdk}: the JDK's
 * providers then do it all. Internal.
 */
final class LibCrypto {
  /** The library loaded, or null. */
  private static NativeLibrary AVAILABLE_LIBRARY;
  /** libcrypto loaded and every function here bound. */
  static final boolean AVAILABLE = load();

  /** {@code EVP_CTRL_AEAD_SET_TAG} (= {@code EVP_CTRL_GCM_SET_TAG}, evp.h). */
  static final int EVP_CTRL_AEAD_SET_TAG = 0x11;

  private LibCrypto() {}

  private static boolean load() {
    if ("jdk".equals(System.getProperty("tlscap.crypto"))) {
      return false;
    }
    for (String name : new String[] {"libcrypto.so.3", "libcrypto.so.1.1", "crypto"}) {
      try {
        NativeLibrary library = NativeLibrary.getInstance(name);
        Native.register(LibCrypto.class, library);
        AVAILABLE_LIBRARY = library;
        return EVP_aes_128_gcm() != null;
      } catch (UnsatisfiedLinkError | RuntimeException e) {
        // not this one (JNA throws UnsatisfiedLinkError for a library or symbol it cannot find)
      }
    }
    return false;
  }

  static native Pointer EVP_CIPHER_CTX_new();

  static native void EVP_CIPHER_CTX_free(Pointer ctx);

  static native Pointer EVP_aes_128_gcm();

  static native Pointer EVP_aes_256_gcm();

  static native Pointer EVP_chacha20_poly1305();

  static native Pointer EVP_aes_128_ecb();

  static native Pointer EVP_aes_256_ecb();

  /** {@code key}, {@code iv}: null keeps what the context has; {@code enc}: 1 encrypt, 0 decrypt, -1 unchanged. */
  static native int EVP_CipherInit_ex(Pointer ctx, Pointer cipher, Pointer engine, Pointer key, Pointer iv, int enc);

  /** {@code out} null: {@code in} is additional data (AEAD). */
  static native int EVP_CipherUpdate(Pointer ctx, Pointer out, Pointer outLength, Pointer in, int inLength);

  /** Decrypting an AEAD: 1 when the tag set before verifies. */
  static native int EVP_CipherFinal_ex(Pointer ctx, Pointer out, Pointer outLength);

  static native int EVP_CIPHER_CTX_ctrl(Pointer ctx, int type, int arg, Pointer ptr);

  static native int EVP_CIPHER_CTX_set_padding(Pointer ctx, int padding);

  static native Pointer EVP_sha256();

  static native Pointer EVP_sha384();

  static native Pointer HMAC_CTX_new();

  static native void HMAC_CTX_free(Pointer ctx);

  /** {@code key} null: the key set before, from the start again. */
  static native int HMAC_Init_ex(Pointer ctx, Pointer key, int keyLength, Pointer md, Pointer engine);

  static native int HMAC_Update(Pointer ctx, Pointer data, long dataLength);

  static native int HMAC_Final(Pointer ctx, Pointer out, Pointer outLength);

  /**
   * The cipher named {@code name} (OpenSSL 3: fetched once, as the EVP_aes_* getters make every
   * init fetch it again), or {@code legacy} (1.1).
   */
  static Pointer cipher(String name, Pointer legacy) {
    Pointer p = Fetch.AVAILABLE ? Fetch.EVP_CIPHER_fetch(null, name, null) : null;
    return p != null ? p : legacy;
  }

  /** The digest named {@code name}, fetched once (OpenSSL 3), or {@code legacy} (1.1). */
  static Pointer digest(String name, Pointer legacy) {
    Pointer p = Fetch.AVAILABLE ? Fetch.EVP_MD_fetch(null, name, null) : null;
    return p != null ? p : legacy;
  }

  /** OpenSSL 3's explicit fetching (none in 1.1). */
  private static final class Fetch {
    static final boolean AVAILABLE = AVAILABLE_LIBRARY != null && bind();

    private Fetch() {}

    private static boolean bind() {
      try {
        Native.register(Fetch.class, AVAILABLE_LIBRARY);
        return true;
      } catch (UnsatisfiedLinkError | RuntimeException e) {
        return false;
      }
    }

    static native Pointer EVP_CIPHER_fetch(Pointer libraryContext, String algorithm, String properties);

    static native Pointer EVP_MD_fetch(Pointer libraryContext, String algorithm, String properties);
  }
}
