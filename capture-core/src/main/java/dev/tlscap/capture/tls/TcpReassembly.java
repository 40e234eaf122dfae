// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.tls;

import java.nio.ByteBuffer;

/**
 * The byte stream of one direction of a TCP connection, rebuilt from captured segments just well
 * enough to follow a TLS handshake: in-order data is handed on at once (no copy), retransmitted and
 * overlapping bytes are handed on once, and segments that arrive ahead of a gap wait, copied, in a
 * small bounded buffer. When the gap is not filled before that buffer overflows, the direction is
 * {@link #lost()} and hands on nothing more.
 *
 * <p>Sequence numbers are compared modulo 2^32 (RFC 9293 3.4), so streams that wrap around work.
 * Without {@link #start(long)} the first segment with data sets where the stream begins.
 * Not thread-safe.
 */
final class TcpReassembly {
  /** Receives the in-order bytes; {@code data} is only valid during the call. */
  interface Receiver {
    void receive(ByteBuffer data, int offset, int length);
  }

  static final int MAX_WAITING_SEGMENTS = 16;
  static final int MAX_WAITING_BYTES = 64 * 1024;
  /** A segment further than this ahead of the next expected byte is not from this stream. */
  static final int MAX_AHEAD = 1 << 24;

  private boolean started;
  /** The next expected sequence number (modulo 2^32). */
  private int next;
  /** Segments waiting ahead of a gap: allocated at the first such segment (most streams have none). */
  private int[] waitingSeq;
  private byte[][] waitingData;
  private int waitingCount;
  private int waitingBytes;
  private boolean lost;
  private long retransmittedBytes;

  /** The SYN's sequence number is known: the data starts one after it. */
  void start(long initialSequence) {
    if (!started) {
      started = true;
      next = (int) initialSequence + 1;
    }
  }

  boolean lost() {
    return lost;
  }

  /** Bytes received twice (retransmissions, overlaps) and handed on once. */
  long retransmittedBytes() {
    return retransmittedBytes;
  }

  /** Every byte before {@code sequence} (mod 2^32) was handed on: nothing is missing up to there. */
  boolean reached(long sequence) {
    return started && !lost && waitingBytes == 0 && next - (int) sequence >= 0;
  }

  /** Bytes held ahead of a gap. */
  int waitingBytes() {
    return waitingBytes;
  }

  /** Gives up on the direction: a gap that will not be filled. */
  void markLost() {
    lost = true;
    clear();
  }

  /** Drops the segments waiting ahead of a gap (the caller follows the direction no further). */
  void clear() {
    waitingSeq = null;
    waitingData = null;
    waitingCount = 0;
    waitingBytes = 0;
  }

  /** One captured segment's payload: hands on what is new and in order, keeps what is early. */
  void accept(long sequence, ByteBuffer data, int offset, int length, Receiver receiver) {
    if (lost || length <= 0) {
      return;
    }
    int seq = (int) sequence;
    if (!started) {
      started = true;
      next = seq;
    }
    int ahead = seq - next; // modulo 2^32
    if (ahead > 0) {
      if (ahead > MAX_AHEAD) {
        return; // not plausibly this stream's data: ignore rather than wait forever
      }
      wait(seq, data, offset, length);
      return;
    }
    if (ahead + length <= 0) {
      retransmittedBytes += length;
      return;
    }
    int skip = -ahead;
    retransmittedBytes += skip;
    next += length - skip;
    receiver.receive(data, offset + skip, length - skip);
    drainWaiting(receiver);
  }

  private void wait(int seq, ByteBuffer data, int offset, int length) {
    for (int i = 0; i < waitingCount; i++) {
      if (waitingSeq[i] == seq && waitingData[i].length >= length) {
        retransmittedBytes += length;
        return;
      }
    }
    if (waitingCount == MAX_WAITING_SEGMENTS || waitingBytes + length > MAX_WAITING_BYTES) {
      markLost();
      return;
    }
    if (waitingSeq == null) {
      waitingSeq = new int[MAX_WAITING_SEGMENTS];
      waitingData = new byte[MAX_WAITING_SEGMENTS][];
    }
    byte[] copy = new byte[length];
    data.get(offset, copy, 0, length);
    waitingSeq[waitingCount] = seq;
    waitingData[waitingCount] = copy;
    waitingCount++;
    waitingBytes += length;
  }

  /** Hands on waiting segments that now touch the stream, lowest first, until a gap remains. */
  private void drainWaiting(Receiver receiver) {
    while (waitingCount > 0 && !lost) {
      int best = -1;
      for (int i = 0; i < waitingCount; i++) {
        if (waitingSeq[i] - next <= 0 && (best < 0 || waitingSeq[i] - waitingSeq[best] < 0)) {
          best = i;
        }
      }
      if (best < 0) {
        return;
      }
      int seq = waitingSeq[best];
      byte[] bytes = waitingData[best];
      waitingCount--;
      waitingBytes -= bytes.length;
      waitingSeq[best] = waitingSeq[waitingCount];
      waitingData[best] = waitingData[waitingCount];
      waitingData[waitingCount] = null;
      int skip = next - seq;
      if (skip >= bytes.length) {
        retransmittedBytes += bytes.length;
        continue;
      }
      retransmittedBytes += skip;
      next += bytes.length - skip;
      receiver.receive(ByteBuffer.wrap(bytes), skip, bytes.length - skip);
    }
  }
}
