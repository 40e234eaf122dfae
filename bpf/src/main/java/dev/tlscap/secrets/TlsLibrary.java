// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import java.nio.file.Path;

/**
 * An ELF file tlscap reads TLS secrets from: a shared libcrypto, or an executable that links
 * OpenSSL statically. {@code path} is how tlscap reaches it (for a library seen only inside a
 * container: through {@code /proc/PID/root}); {@code device}/{@code inode} identify the file, since
 * uprobes apply to the file whatever path maps it. Immutable.
 *
 * @param origin how it was found, e.g. "ld.so", "pid 1234", "--libssl"
 */
public record TlsLibrary(Path path, long device, long inode, String opensslVersion, String origin) {
  @Override
  public String toString() {
    return path + (opensslVersion != null ? " (OpenSSL " + opensslVersion + ")" : "");
  }
}
