// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * An Enhanced Packet Block as read.
 *
 * @param offset where the block starts in the file
 * @param interfaceId the index of the packet's interface in the section
 * @param timestamp the raw timestamp in the interface's units
 * @param timestampNanos the timestamp in nanoseconds (converted with the interface's if_tsresol)
 * @param capturedLength bytes stored
 * @param originalLength bytes on the wire
 * @param data the stored bytes (length {@code capturedLength})
 * @param options epb_flags, epb_dropcount, epb_processid_threadid, opt_comment, ...
 */
public record EnhancedPacketBlock(
    long offset,
    int interfaceId,
    long timestamp,
    long timestampNanos,
    int capturedLength,
    int originalLength,
    byte[] data,
    PcapngOptions options)
    implements PcapngBlock {
  public static final int BLOCK_TYPE = 6;
  public static final int OPT_FLAGS = 2;
  public static final int OPT_DROPCOUNT = 4;
  public static final int OPT_PROCESSID_THREADID = 8;

  @Override
  public int blockType() {
    return BLOCK_TYPE;
  }

  /** {@code epb_flags}, if present. */
  public OptionalLong flags() {
    return options.number(OPT_FLAGS);
  }

  /** The direction in {@code epb_flags} (unknown without the option). */
  public Direction direction() {
    return Direction.fromEpbFlags((int) flags().orElse(0));
  }

  /** {@code epb_dropcount}, if present. */
  public OptionalLong dropCount() {
    return options.number(OPT_DROPCOUNT);
  }

  /** Every {@code opt_comment}. */
  public List<String> comments() {
    return options.comments();
  }

  /** The process id of {@code epb_processid_threadid}, if present. */
  public OptionalInt processId() {
    return pidTid(0);
  }

  /** The thread id of {@code epb_processid_threadid}, if present. */
  public OptionalInt threadId() {
    return pidTid(4);
  }

  private OptionalInt pidTid(int at) {
    Optional<byte[]> v = options.first(OPT_PROCESSID_THREADID);
    if (v.isEmpty() || v.get().length != 8) {
      return OptionalInt.empty();
    }
    return OptionalInt.of(ByteBuffer.wrap(v.get()).order(options.byteOrder()).getInt(at));
  }
}
