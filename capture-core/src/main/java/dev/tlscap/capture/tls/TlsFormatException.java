// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

/**
 * Bytes that break the TLS record or handshake format. Internal to the parser: {@link TlsStream}
 * catches it and turns it into a state and a {@link TlsStream#problem() problem}. Without a stack
 * trace, since hostile input makes it common.
 */
final class TlsFormatException extends Exception {
  TlsFormatException(String message) {
    super(message, null, false, false);
  }
}
