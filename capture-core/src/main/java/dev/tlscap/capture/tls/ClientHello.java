// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * What tlscap reads from a ClientHello (RFC 8446 4.1.2; RFC 5246 7.4.1.2 for TLS 1.2). Immutable
 * (the arrays are copies no one else holds; do not modify them).
 *
 * @param legacyVersion the version field of the message (0x0303 for TLS 1.2 and 1.3)
 * @param random the 32-byte client random that keys every key log line of the connection
 * @param sessionId the legacy session id (0 to 32 bytes)
 * @param serverName the host_name of the server_name extension (RFC 6066 3), or null
 * @param supportedVersions the supported_versions extension's list (RFC 8446 4.2.1), empty when absent
 * @param alpn the protocols of the application_layer_protocol_negotiation extension (RFC 7301 3.1)
 * @param offersEarlyData the early_data extension is present (RFC 8446 4.2.10): 0-RTT data may follow
 */
public record ClientHello(int legacyVersion, byte[] random, byte[] sessionId, String serverName,
    List<Integer> supportedVersions, List<String> alpn, boolean offersEarlyData) {

  /** The handshake message type of a ClientHello (RFC 8446 4). */
  static final int TYPE = 1;
  static final int EXT_SERVER_NAME = 0;
  static final int EXT_ALPN = 16;
  static final int EXT_EARLY_DATA = 42;
  static final int EXT_SUPPORTED_VERSIONS = 43;

  /** True when the client offers TLS 1.3 (then the server may choose it). */
  public boolean offersTls13() {
    return supportedVersions.contains(TlsStream.TLS_1_3);
  }

  /** The client random in lower-case hex, as a key log line has it. */
  public String randomHex() {
    return HexFormat.of().formatHex(random);
  }

  @Override
  public String toString() {
    return "ClientHello[random " + randomHex() + (serverName != null ? ", server name " + serverName : "")
        + ", versions " + supportedVersions + (alpn.isEmpty() ? "" : ", alpn " + alpn)
        + (offersEarlyData ? ", early data" : "") + "]";
  }

  /**
   * Parses a ClientHello body (after the 4-byte handshake header): legacy_version, random,
   * legacy_session_id&lt;0..32&gt;, cipher_suites&lt;2..2^16-2&gt;, legacy_compression_methods&lt;1..2^8-1&gt;,
   * extensions&lt;8..2^16-1&gt; (absent in old TLS 1.0-1.2 clients).
   */
  static ClientHello parse(byte[] b, int offset, int length) throws TlsFormatException {
    HandshakeCursor c = new HandshakeCursor(b, offset, length, "ClientHello");
    int version = c.u16();
    byte[] random = c.bytes(32);
    int sessionIdLength = c.u8();
    if (sessionIdLength > 32) {
      throw new TlsFormatException("ClientHello session id of " + sessionIdLength + " bytes (at most 32)");
    }
    byte[] sessionId = c.bytes(sessionIdLength);
    int suites = c.u16();
    if (suites < 2 || (suites & 1) != 0) {
      throw new TlsFormatException("ClientHello cipher suites of " + suites + " bytes");
    }
    c.skip(suites);
    int compression = c.u8();
    if (compression < 1) {
      throw new TlsFormatException("ClientHello without compression methods");
    }
    c.skip(compression);
    String serverName = null;
    List<Integer> versions = new ArrayList<>(4);
    List<String> alpn = new ArrayList<>(2);
    boolean earlyData = false;
    if (c.remaining() > 0) {
      HandshakeCursor extensions = c.vector16();
      while (extensions.remaining() > 0) {
        int type = extensions.u16();
        HandshakeCursor e = extensions.vector16();
        switch (type) {
          case EXT_SERVER_NAME -> serverName = serverName(e);
          case EXT_SUPPORTED_VERSIONS -> {
            HandshakeCursor list = e.vector8();
            while (list.remaining() >= 2) {
              versions.add(list.u16());
            }
          }
          case EXT_ALPN -> {
            HandshakeCursor list = e.vector16();
            while (list.remaining() > 0) {
              int n = list.u8();
              alpn.add(new String(list.bytes(n), StandardCharsets.ISO_8859_1));
            }
          }
          case EXT_EARLY_DATA -> earlyData = true;
          default -> { }
        }
      }
    }
    return new ClientHello(version, random, sessionId, serverName, List.copyOf(versions), List.copyOf(alpn),
        earlyData);
  }

  /** RFC 6066 3: ServerNameList { NameType name_type (0 = host_name); HostName name&lt;1..2^16-1&gt; }. */
  private static String serverName(HandshakeCursor e) throws TlsFormatException {
    HandshakeCursor list = e.vector16();
    while (list.remaining() > 0) {
      int nameType = list.u8();
      HandshakeCursor name = list.vector16();
      if (nameType == 0 && name.remaining() > 0 && name.remaining() <= 255) {
        return new String(name.bytes(name.remaining()), StandardCharsets.ISO_8859_1);
      }
    }
    return null;
  }
}
