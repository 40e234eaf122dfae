// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import java.util.Arrays;

/**
 * What tlscap reads from a ServerHello (RFC 8446 4.1.3; RFC 5246 7.4.1.3). Immutable.
 *
 * @param legacyVersion the version field (0x0303 for TLS 1.3, which says 1.3 in supported_versions)
 * @param random the server random (TLS 1.2 key block seed)
 * @param cipherSuite the chosen cipher suite
 * @param selectedVersion the supported_versions extension's version, 0 when absent
 * @param helloRetryRequest the random is the HelloRetryRequest value (RFC 8446 4.1.3): the client
 *     sends a second ClientHello and the real ServerHello follows
 */
record ServerHello(int legacyVersion, byte[] random, int cipherSuite, int selectedVersion, boolean helloRetryRequest,
    String alpn) {
  static final int TYPE = 2;

  /** RFC 8446 4.1.3: SHA-256("HelloRetryRequest"), the random of a HelloRetryRequest. */
  private static final byte[] HELLO_RETRY_REQUEST_RANDOM = java.util.HexFormat.of()
      .parseHex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c");

  /** The version the handshake continues with. */
  int version() {
    return selectedVersion != 0 ? selectedVersion : legacyVersion;
  }

  /**
   * Parses a ServerHello body: legacy_version, random, legacy_session_id_echo&lt;0..32&gt;,
   * cipher_suite, legacy_compression_method, extensions&lt;6..2^16-1&gt; (may be absent before TLS 1.3).
   */
  static ServerHello parse(byte[] b, int offset, int length) throws TlsFormatException {
    HandshakeCursor c = new HandshakeCursor(b, offset, length, "ServerHello");
    int version = c.u16();
    byte[] random = c.bytes(32);
    int sessionIdLength = c.u8();
    if (sessionIdLength > 32) {
      throw new TlsFormatException("ServerHello session id of " + sessionIdLength + " bytes (at most 32)");
    }
    c.skip(sessionIdLength);
    int suite = c.u16();
    c.u8(); // compression
    int selected = 0;
    String alpn = null;
    if (c.remaining() > 0) {
      HandshakeCursor extensions = c.vector16();
      while (extensions.remaining() > 0) {
        int type = extensions.u16();
        HandshakeCursor e = extensions.vector16();
        if (type == ClientHello.EXT_SUPPORTED_VERSIONS) {
          selected = e.u16(); // RFC 8446 4.2.1: ServerHello carries one selected_version
        } else if (type == ClientHello.EXT_ALPN) {
          HandshakeCursor name = e.vector16().vector8(); // RFC 7301 3.1: TLS 1.2 names the protocol here
          alpn = new String(name.bytes(name.remaining()), java.nio.charset.StandardCharsets.US_ASCII);
        }
      }
    }
    return new ServerHello(version, random, suite, selected, Arrays.equals(random, HELLO_RETRY_REQUEST_RANDOM), alpn);
  }
}
