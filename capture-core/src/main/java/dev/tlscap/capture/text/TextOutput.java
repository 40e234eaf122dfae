// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.text;

import java.io.Closeable;

/** Where {@code --text} messages go: the terminal's text or JSON lines. */
public interface TextOutput extends Closeable {
  /** Prints {@code message} into the output's buffer. */
  void message(TextMessage message);

  /**
   * Hands what was printed to the output (whole messages): a live capture calls it after each batch
   * of packets (every 10 ms at the latest), so a pipe sees each message as soon as it is read.
   *
   * @throws java.io.UncheckedIOException when the output is closed (a reader that went away)
   */
  void flush();

  /** Flushes. */
  @Override
  void close();
}
