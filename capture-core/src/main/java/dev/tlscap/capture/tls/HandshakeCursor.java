// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import java.util.Arrays;

/**
 * Reads TLS presentation-language fields (RFC 8446 3: big-endian integers, vectors with a 1- or
 * 2-byte length prefix) from a byte range, and throws {@link TlsFormatException} naming the message
 * instead of reading past the range. Not thread-safe; one parse.
 */
final class HandshakeCursor {
  private final byte[] b;
  private int at;
  private final int end;
  private final String what;

  HandshakeCursor(byte[] b, int offset, int length, String what) {
    this.b = b;
    this.at = offset;
    this.end = offset + length;
    this.what = what;
  }

  int remaining() {
    return end - at;
  }

  private void need(int n) throws TlsFormatException {
    if (n < 0 || n > end - at) {
      throw new TlsFormatException(what + " cut short: " + n + " bytes needed, " + (end - at) + " left");
    }
  }

  int u8() throws TlsFormatException {
    need(1);
    return b[at++] & 0xFF;
  }

  int u16() throws TlsFormatException {
    need(2);
    int v = (b[at] & 0xFF) << 8 | (b[at + 1] & 0xFF);
    at += 2;
    return v;
  }

  byte[] bytes(int n) throws TlsFormatException {
    need(n);
    byte[] v = Arrays.copyOfRange(b, at, at + n);
    at += n;
    return v;
  }

  void skip(int n) throws TlsFormatException {
    need(n);
    at += n;
  }

  /** A vector with a 1-byte length: a cursor over its contents. */
  HandshakeCursor vector8() throws TlsFormatException {
    int n = u8();
    need(n);
    HandshakeCursor v = new HandshakeCursor(b, at, n, what);
    at += n;
    return v;
  }

  /** A vector with a 2-byte length: a cursor over its contents. */
  HandshakeCursor vector16() throws TlsFormatException {
    int n = u16();
    need(n);
    HandshakeCursor v = new HandshakeCursor(b, at, n, what);
    at += n;
    return v;
  }
}
