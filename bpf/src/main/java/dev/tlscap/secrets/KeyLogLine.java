// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import java.util.HexFormat;

/** NSS key log lines ({@code LABEL <client random hex> <secret hex>}), as SSLKEYLOGFILE writes them. */
public final class KeyLogLine {
  private static final HexFormat HEX = HexFormat.of();

  private KeyLogLine() {}

  /** The line without its newline, lower-case hex as OpenSSL and curl write it. */
  public static String format(TlsLabel label, byte[] clientRandom, byte[] secret) {
    if (clientRandom.length != 32) {
      throw new IllegalArgumentException("a client random has 32 bytes, not " + clientRandom.length);
    }
    return label.keyLogLabel() + " " + HEX.formatHex(clientRandom) + " " + HEX.formatHex(secret);
  }
}
