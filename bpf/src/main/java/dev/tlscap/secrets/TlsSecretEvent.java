// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.secrets;

import java.util.HexFormat;

/**
 * A TLS secret derived by a traced process: which secret, for which client random (null when it
 * could not be found, see {@link TlsSecretSource}), by which process and thread, over which socket
 * (null when unknown). Immutable.
 *
 * @param bootTimeNanos when it was derived, CLOCK_BOOTTIME nanoseconds
 */
public record TlsSecretEvent(long bootTimeNanos, int pid, int tid, String comm, TlsSocket socket,
    byte[] clientRandom, TlsLabel label, byte[] secret) {

  /** The NSS key log line (no newline), or null when the client random is unknown. */
  public String keyLogLine() {
    return clientRandom == null ? null : KeyLogLine.format(label, clientRandom, secret);
  }

  @Override
  public String toString() {
    return label + " pid " + pid + " (" + comm + ") " + (socket != null ? socket : "socket unknown") + " random "
        + (clientRandom != null ? HexFormat.of().formatHex(clientRandom) : "unknown");
  }
}
