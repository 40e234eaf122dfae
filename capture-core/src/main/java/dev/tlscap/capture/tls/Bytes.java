// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import java.util.Arrays;

/** A byte array as a map key, by content. */
final class Bytes {
  final byte[] bytes;
  private final int hash;

  Bytes(byte[] bytes) {
    this.bytes = bytes;
    this.hash = Arrays.hashCode(bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Bytes b && b.hash == hash && Arrays.equals(b.bytes, bytes);
  }

  @Override
  public int hashCode() {
    return hash;
  }
}
