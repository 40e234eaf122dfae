// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

/**
 * The secrets tlscap collects, with their NSS key log labels (the labels Wireshark reads). Codes are
 * {@code enum tls_secret_label} of bpf/src/main/bpf/tls_abi.h.
 */
public enum TlsLabel {
  CLIENT_EARLY_TRAFFIC_SECRET(1),
  CLIENT_HANDSHAKE_TRAFFIC_SECRET(2),
  SERVER_HANDSHAKE_TRAFFIC_SECRET(3),
  CLIENT_TRAFFIC_SECRET_0(4),
  SERVER_TRAFFIC_SECRET_0(5),
  EXPORTER_SECRET(6),
  /** TLS 1.0-1.2: the master secret; its key log label is {@code CLIENT_RANDOM}. */
  CLIENT_RANDOM(7);

  private final int code;

  TlsLabel(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }

  /** The label as written in a key log line. */
  public String keyLogLabel() {
    return name();
  }

  /** True for the TLS 1.3 secrets (false for the TLS 1.2 master secret). */
  public boolean isTls13() {
    return this != CLIENT_RANDOM;
  }

  private static final TlsLabel[] BY_CODE = new TlsLabel[8];

  static {
    for (TlsLabel l : values()) {
      BY_CODE[l.code] = l;
    }
  }

  /** The label of a BPF event code, or null for an unknown code. */
  public static TlsLabel ofCode(int code) {
    return code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
  }
}
