// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.file.Path;

/**
 * Events of a {@link PcapngWriter} that the command line prints. All methods have empty defaults.
 *
 * <p>Called on the writer's thread, except {@link #fileCompleted} and {@link #compressionFailed}
 * for compressed files, and {@link #warning} when compression is on: those come from the writer's
 * background compressor thread. Implementations must be quick and must not call back into
 * the writer.
 */
public interface CaptureFileListener {
  /** A listener that ignores everything. */
  CaptureFileListener NONE = new CaptureFileListener() {};

  /** A new capture file was created (its name before any compression). */
  default void fileOpened(Path file) {}

  /**
   * A file is complete: closed, and compressed if compression is on. {@code file} is its final name
   * (e.g. {@code out-00001.pcapng.zst}), {@code size} its size in bytes.
   */
  default void fileCompleted(Path file, long size) {}

  /** The ring ({@code -C} with {@code -W}) deleted an old file. */
  default void fileDeleted(Path file) {}

  /**
   * Writing failed; the writer has stopped and accepts no more packets. The exception's message is
   * one line fit for the user, like {@code "cannot write /data/out.pcapng: No space left on device"}.
   * Reported once.
   */
  default void writeFailed(PcapngWriteException failure) {}

  /** Compressing a completed file failed; the uncompressed file is kept. One line fit for the user. */
  default void compressionFailed(Path file, String message) {}

  /**
   * Something went wrong that does not stop the capture, e.g. an old ring file could not be
   * deleted. One line fit for the user.
   */
  default void warning(String message) {}

  /** {@code -G} with {@code -W}: the last file is complete and the capture should stop (tcpdump exits 0). */
  default void captureComplete(int files) {}
}
