// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.capture.text;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Whether bytes are shown as text. */
final class Bodies {
  private Bodies() {}

  /**
   * True for UTF-8 (a character cut at the end allowed: bodies are cut at {@code --text-max}) with
   * no control characters but tab, CR, LF and form feed.
   */
  static boolean isText(byte[] b) {
    int end = b.length;
    // a multi-byte character cut by the cap: look at the complete ones only
    int back = 0;
    while (back < 3 && end - back - 1 >= 0 && (b[end - back - 1] & 0xC0) == 0x80) {
      back++;
    }
    if (end - back - 1 >= 0 && (b[end - back - 1] & 0xC0) == 0xC0) {
      end = end - back - 1;
    }
    for (int i = 0; i < end; i++) {
      int c = b[i] & 0xFF;
      if (c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != '\f' || c == 0x7F) {
        return false;
      }
    }
    try {
      StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b, 0, end));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }
}
