// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.Flushable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;

/**
 * The {@link PcapngWriter}'s large direct write buffer (native byte order) and the file or stream it
 * drains to. The buffer always holds whole blocks; a block larger than the buffer gets a heap buffer
 * of its own and goes out at once. If the channel fails part way, a seekable file is cut back to the
 * end of its last whole block, so it stays readable. Not thread-safe.
 */
final class BlockOutput {
  private final ByteBuffer buffer;
  /** The stream to flush after the buffer, or null when writing files. */
  private final Flushable stream;
  private WritableByteChannel channel;
  private FileChannel file;
  /** False for a FIFO or character device: nothing to truncate after a failed write. */
  private boolean fileSeekable;
  /** Bytes of the current file or stream on disk. */
  private long written;
  /** EPBs in {@link #buffer}, not yet on disk. */
  private int packetsBuffered;

  /** Writing files ({@link #attach} each), or a stream when {@code streamChannel} is not null. */
  BlockOutput(int bufferSize, WritableByteChannel streamChannel, Flushable stream) {
    this.buffer = ByteBuffer.allocateDirect(bufferSize).order(ByteOrder.nativeOrder());
    this.channel = streamChannel;
    this.stream = stream;
  }

  /** Drains to {@code opened} from now on. */
  void attach(FileChannel opened, boolean seekable) {
    this.file = opened;
    this.channel = opened;
    this.fileSeekable = seekable;
  }

  /** Stops draining to the current file and returns it (null on a stream or with none attached). */
  FileChannel detach() {
    FileChannel f = file;
    file = null;
    channel = null;
    return f;
  }

  /** True while there is a file or stream to write into. */
  boolean attached() {
    return channel != null;
  }

  /** A new section (file) starts: its size counts from zero. */
  void startSection() {
    written = 0;
  }

  /** Bytes of the current file or stream on disk, buffered bytes not included. */
  long written() {
    return written;
  }

  /** The size of the current file or stream so far, buffered bytes included. */
  long size() {
    return written + buffer.position();
  }

  /** Drops what is buffered (after a write error) and returns how many packets that was. */
  int discard() {
    buffer.clear();
    int lost = packetsBuffered;
    packetsBuffered = 0;
    return lost;
  }

  /** Room for one block: the write buffer, or for a block larger than the buffer a heap buffer of its own. */
  ByteBuffer reserve(int length) throws IOException {
    if (length <= buffer.remaining()) {
      return buffer;
    }
    flush();
    if (length <= buffer.capacity()) {
      return buffer;
    }
    return ByteBuffer.allocate(length).order(ByteOrder.nativeOrder());
  }

  /**
   * Ends a block put into {@code b} from {@link #reserve} (its position after the block): writes an
   * oversized block out now, or counts a buffered packet.
   */
  void commit(ByteBuffer b, boolean packet) throws IOException {
    if (b != buffer) {
      b.flip();
      writeFully(b);
    } else if (packet) {
      packetsBuffered++;
    }
  }

  /** Appends a finished block (SHB, IDB, ISB). */
  void append(ByteBuffer block) throws IOException {
    ByteBuffer b = reserve(block.remaining());
    b.put(block.duplicate());
    commit(b, false);
  }

  /** Writes the buffered blocks to the file or stream (a stream is not flushed here). */
  void flush() throws IOException {
    if (buffer.position() == 0 || channel == null) {
      return;
    }
    buffer.flip();
    try {
      writeFully(buffer);
      packetsBuffered = 0;
    } finally {
      buffer.clear();
    }
  }

  /** {@link #flush()}, then flushes the stream (a file needs nothing more). */
  void flushAll() throws IOException {
    flush();
    if (stream != null) {
      stream.flush();
    }
  }

  /**
   * Writes whole blocks; if the channel fails part way, cuts the file back to the end of the last
   * block that was written whole, so the file stays readable.
   */
  private void writeFully(ByteBuffer blocks) throws IOException {
    int start = blocks.position();
    long before = written;
    try {
      while (blocks.hasRemaining()) {
        written += channel.write(blocks);
      }
    } catch (IOException e) {
      int done = blocks.position() - start;
      int whole = 0;
      while (whole + 8 <= done) {
        int length = blocks.getInt(start + whole + 4);
        if (length <= 0 || whole + length > done) {
          break;
        }
        if (blocks == buffer && blocks.getInt(start + whole) == EnhancedPacketBlock.BLOCK_TYPE) {
          packetsBuffered--; // on disk after all
        }
        whole += length;
      }
      if (file != null && fileSeekable && whole < done) {
        try {
          file.truncate(before + whole);
        } catch (IOException ignored) {
          // the reader stops at the partial block; nothing more can be done on a failing disk
        }
      }
      written = before + whole;
      throw e;
    }
  }
}
