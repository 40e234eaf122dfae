// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.pcapng.Direction;
import java.nio.ByteBuffer;

/**
 * A copy of a packet held back until its TLS flow's secrets are known (the ring's bytes are reused
 * as soon as the handler returns). Only TLS handshakes are held, so a copy per packet is fine.
 */
record HeldPacket(int interfaceId, long timestampNanos, byte[] bytes, int originalLength, Direction direction,
    boolean fromClient) {
  /** Memory a held packet costs, counted against {@code --hold-memory}: its bytes and the objects around them. */
  static final int OVERHEAD_BYTES = 64;

  long cost() {
    return bytes.length + OVERHEAD_BYTES;
  }

  /** {@code view} set to this packet. */
  CapturedPacket into(CapturedPacket view) {
    return view.set(interfaceId, timestampNanos, ByteBuffer.wrap(bytes), 0, bytes.length, originalLength, direction);
  }
}
