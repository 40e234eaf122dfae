// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import java.nio.file.Path;

/**
 * An ELF file tlscap reads TLS secrets from: a shared libcrypto, libgnutls, libnettle or NSS's
 * libfreeblpriv3, or an
 * executable (or JNI library) that links OpenSSL or BoringSSL statically. {@code path} is how tlscap reaches it (for a library seen only inside a
 * container: through {@code /proc/PID/root}); {@code device}/{@code inode} identify the file, since
 * uprobes apply to the file whatever path maps it. Immutable.
 *
 * @param origin how it was found, e.g. "ld.so", "pid 1234", "--libssl"
 * @param kind which library it is, which says where its secrets pass
 * @param sites where to attach, by function: the file offset of the cheapest equivalent entry-probe
 *     site ({@link dev.tlscap.bpf.UprobeSite}); empty for Go (its source finds its own)
 */
public record TlsLibrary(Path path, long device, long inode, String opensslVersion, String origin, Kind kind,
    java.util.Map<String, Long> sites) {
  public TlsLibrary {
    sites = java.util.Map.copyOf(sites);
  }

  /** The libraries tlscap reads, by the functions every secret passes through. */
  public enum Kind {
    /** OpenSSL 3.x: EVP_KDF_derive. */
    OPENSSL_3,
    /** BoringSSL (shared, or linked in with its .symtab): HKDF_expand (TLS 1.3) and CRYPTO_tls1_prf (1.2). */
    BORINGSSL,
    /** OpenSSL 1.1.x: EVP_PKEY_CTX_ctrl (the HKDF label, the PRF's secret and seeds) and EVP_PKEY_derive. */
    OPENSSL_1_1,
    /** GnuTLS: _gnutls_prf_raw (TLS 1.0-1.2 key block; its TLS 1.3 secrets pass through {@link #NETTLE}). */
    GNUTLS,
    /** Nettle, GnuTLS's crypto library: nettle_hkdf_expand (GnuTLS's TLS 1.3 HKDF-Expand-Label). */
    NETTLE,
    /**
     * NSS's freebl (libfreeblpriv3), through FREEBL_GetVector's table: HMAC_Update, HMAC_Finish and
     * HMAC_Destroy (softoken's TLS 1.3 HKDF), TLS_P_hash and TLS_PRF (the TLS 1.2 and 1.0-1.1 key block).
     */
    NSS,
    /** Go crypto/tls: writeKeyLog. */
    GO
  }

  /** How the library is named to users: "OpenSSL 3.0.13", "BoringSSL", "GnuTLS". */
  public String describe() {
    return switch (kind) {
      case BORINGSSL -> "BoringSSL";
      case GNUTLS -> "GnuTLS, TLS 1.0-1.2";
      case NETTLE -> "Nettle: GnuTLS's TLS 1.3";
      case NSS -> "NSS freebl";
      case GO -> "Go";
      default -> opensslVersion != null ? "OpenSSL " + opensslVersion
          : kind == Kind.OPENSSL_1_1 ? "OpenSSL 1.1" : "OpenSSL 3";
    };
  }

  @Override
  public String toString() {
    return path + " (" + describe() + ")";
  }
}
