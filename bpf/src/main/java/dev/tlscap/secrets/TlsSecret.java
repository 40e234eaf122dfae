// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import java.util.HexFormat;

/**
 * One TLS secret a traced process derived, as every {@link SecretSource} produces it: which secret,
 * its bytes, the client random that keys it (null when the library did not pass it, see
 * {@link OpenSslSecretSource}), the process and thread, when, in which library, and over which
 * socket (null when unknown). Bytes stay bytes: the key log line is formatted once, where the
 * pcapng Decryption Secrets Block (or the key log file) is written. Immutable; do not modify the
 * arrays.
 *
 * @param bootTimeNanos when it was derived, CLOCK_BOOTTIME nanoseconds
 * @param library the library family that derived it, as shown to users ({@code "OpenSSL 3"})
 */
public record TlsSecret(long bootTimeNanos, int pid, int tid, String comm, TlsSocket socket,
    byte[] clientRandom, TlsLabel label, byte[] secret, String library) {

  /** A secret whose library is not named (tests, fixtures). */
  public TlsSecret(long bootTimeNanos, int pid, int tid, String comm, TlsSocket socket, byte[] clientRandom,
      TlsLabel label, byte[] secret) {
    this(bootTimeNanos, pid, tid, comm, socket, clientRandom, label, secret, "OpenSSL 3");
  }

  /** Never prints the secret itself. */
  @Override
  public String toString() {
    return label + " pid " + pid + " (" + comm + ", " + library + ") "
        + (socket != null ? socket : "socket unknown") + " random "
        + (clientRandom != null ? HexFormat.of().formatHex(clientRandom) : "unknown");
  }
}
