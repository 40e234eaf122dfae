// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

/**
 * What trial decryption needs to know of a negotiated cipher suite: its record protection (AEAD,
 * key and IV lengths) and its hash (the TLS 1.3 HKDF hash, or the TLS 1.2 PRF hash). Only AEAD
 * suites are described; {@link #of} returns null for the others (CBC, stream ciphers, unknown
 * codes). Immutable.
 *
 * @param code the IANA cipher suite number
 * @param aead the record protection
 * @param hmac the JCA name of the HMAC of the suite's hash
 * @param hashLength the hash's output length: a TLS 1.3 secret of this suite has this length
 * @param tls13 a TLS 1.3 suite (0x13xx) rather than a TLS 1.2 one
 */
record CipherSuite(int code, Aead aead, String hmac, int hashLength, boolean tls13) {

  /** The AEAD algorithms of TLS records; CCM is named so the stream can say UNSUPPORTED. */
  enum Aead {
    AES_128_GCM("AES/GCM/NoPadding", "AES", 16, 4, 8),
    AES_256_GCM("AES/GCM/NoPadding", "AES", 32, 4, 8),
    CHACHA20_POLY1305("ChaCha20-Poly1305", "ChaCha20", 32, 12, 0),
    /** AES-CCM: the JDK has no CCM, so these suites cannot be verified. */
    AES_128_CCM(null, "AES", 16, 4, 8);

    /** The JCA transformation, or null when the JDK cannot do it. */
    final String transformation;
    final String keyAlgorithm;
    final int keyLength;
    /**
     * TLS 1.2 only (RFC 5246 6.3 client/server_write_IV): 4 bytes of salt for GCM (RFC 5288 3),
     * the whole 12-byte IV for ChaCha20-Poly1305 (RFC 7905 2). TLS 1.3 IVs always have 12 bytes.
     */
    final int tls12FixedIvLength;
    /** TLS 1.2 only: the explicit nonce that starts each record's body (GCM: 8 bytes, RFC 5288 3). */
    final int tls12ExplicitNonceLength;

    Aead(String transformation, String keyAlgorithm, int keyLength, int tls12FixedIvLength,
        int tls12ExplicitNonceLength) {
      this.transformation = transformation;
      this.keyAlgorithm = keyAlgorithm;
      this.keyLength = keyLength;
      this.tls12FixedIvLength = tls12FixedIvLength;
      this.tls12ExplicitNonceLength = tls12ExplicitNonceLength;
    }

    boolean supported() {
      return transformation != null;
    }
  }

  /** Every AEAD used by TLS has a 16-byte tag (CCM_8 is not described here). */
  static final int TAG_LENGTH = 16;

  private static final String SHA256 = "HmacSHA256";
  private static final String SHA384 = "HmacSHA384";

  /**
   * The suite {@code code} negotiated by a TLS 1.3 ({@code tls13}) or TLS 1.2 ServerHello, or null
   * when trial decryption does not know it.
   */
  static CipherSuite of(int code, boolean tls13) {
    if (tls13) {
      return switch (code) {
        // RFC 8446 B.4
        case 0x1301 -> new CipherSuite(code, Aead.AES_128_GCM, SHA256, 32, true);
        case 0x1302 -> new CipherSuite(code, Aead.AES_256_GCM, SHA384, 48, true);
        case 0x1303 -> new CipherSuite(code, Aead.CHACHA20_POLY1305, SHA256, 32, true);
        case 0x1304, 0x1305 -> new CipherSuite(code, Aead.AES_128_CCM, SHA256, 32, true);
        default -> null;
      };
    }
    return switch (code) {
      // RFC 5288 (RSA/DHE), RFC 5289 (ECDHE): the suite name's hash is the PRF hash.
      case 0x009C, 0x009E, 0x00A2, 0xC02B, 0xC02F -> new CipherSuite(code, Aead.AES_128_GCM, SHA256, 32, false);
      case 0x009D, 0x009F, 0x00A3, 0xC02C, 0xC030 -> new CipherSuite(code, Aead.AES_256_GCM, SHA384, 48, false);
      // RFC 7905
      case 0xCCA8, 0xCCA9, 0xCCAA -> new CipherSuite(code, Aead.CHACHA20_POLY1305, SHA256, 32, false);
      // RFC 6655 / RFC 7251
      case 0xC09C, 0xC0AC -> new CipherSuite(code, Aead.AES_128_CCM, SHA256, 32, false);
      default -> null;
    };
  }
}
