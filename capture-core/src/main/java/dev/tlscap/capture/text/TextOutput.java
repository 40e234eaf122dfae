// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.text;

import java.io.Closeable;

/** Where {@code --text} messages go: the terminal's text or JSON lines. */
public interface TextOutput extends Closeable {
  void message(TextMessage message);

  /** Flushes what was printed (each message is flushed as it is printed). */
  @Override
  void close();
}
