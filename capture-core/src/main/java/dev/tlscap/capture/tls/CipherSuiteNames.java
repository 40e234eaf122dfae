// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import java.util.Map;

/** The IANA names of the cipher suites tlscap meets most (TLS Cipher Suites registry); others by number. */
final class CipherSuiteNames {
  private static final Map<Integer, String> NAMES = Map.ofEntries(
      Map.entry(0x1301, "TLS_AES_128_GCM_SHA256"),
      Map.entry(0x1302, "TLS_AES_256_GCM_SHA384"),
      Map.entry(0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
      Map.entry(0x1304, "TLS_AES_128_CCM_SHA256"),
      Map.entry(0x1305, "TLS_AES_128_CCM_8_SHA256"),
      Map.entry(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256"),
      Map.entry(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384"),
      Map.entry(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
      Map.entry(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
      Map.entry(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
      Map.entry(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
      Map.entry(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
      Map.entry(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
      Map.entry(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
      Map.entry(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
      Map.entry(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
      Map.entry(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
      Map.entry(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"),
      Map.entry(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA"),
      Map.entry(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"));

  private CipherSuiteNames() {}

  static String name(int code) {
    String name = NAMES.get(code);
    return name != null ? name : String.format("cipher suite 0x%04x", code);
  }
}
