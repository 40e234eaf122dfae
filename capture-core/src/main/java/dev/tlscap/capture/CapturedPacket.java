// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture;

import dev.tlscap.pcapng.Direction;
import java.nio.ByteBuffer;

/**
 * One packet on its way from the packet ring (or a held copy) to the file: a reusable view, valid
 * until the next {@link #set}; allocates nothing. The bytes are {@link #capturedLength} bytes at
 * {@link #offset} of {@link #data} (absolute reads only). Not thread-safe.
 */
final class CapturedPacket {
  int interfaceId;
  long timestampNanos;
  ByteBuffer data;
  int offset;
  int capturedLength;
  int originalLength;
  Direction direction;

  CapturedPacket set(int interfaceId, long timestampNanos, ByteBuffer data, int offset, int capturedLength,
      int originalLength, Direction direction) {
    this.interfaceId = interfaceId;
    this.timestampNanos = timestampNanos;
    this.data = data;
    this.offset = offset;
    this.capturedLength = capturedLength;
    this.originalLength = originalLength;
    this.direction = direction;
    return this;
  }

  /** A copy of the packet's bytes, to hold it past the ring record's life. */
  HeldPacket copy(boolean fromClient) {
    byte[] bytes = new byte[capturedLength];
    data.get(offset, bytes);
    return new HeldPacket(interfaceId, timestampNanos, bytes, originalLength, direction, fromClient);
  }
}
