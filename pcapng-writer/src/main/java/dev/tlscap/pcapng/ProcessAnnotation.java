// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Which process a packet belongs to, written on each of its EPBs as an {@code opt_comment} (for
 * example {@code "PID: 1234\nCmd: curl"}, filterable with {@code frame.comment contains "curl"}) and
 * an {@code epb_processid_threadid} option (the pid here, the thread id passed per packet).
 *
 * <p>Create one per process and reuse it for every packet of the process: the comment is encoded
 * once, here, so writing a packet with it allocates nothing. Immutable and thread-safe.
 */
public final class ProcessAnnotation {
  /** An option value holds at most 65535 bytes; longer comments are cut on a character boundary. */
  static final int MAX_COMMENT_BYTES = 0xFFFF;

  private final int pid;
  private final String comment;
  /**
   * The opt_comment option, encoded in native byte order with its padding (no bytes: no comment), as
   * 8-byte words in native order, the last one padded with zeros; and its length in bytes (kept here:
   * the writer reads it for every packet, and an array's length is one more cache line).
   */
  private final long[] commentWords;
  private final int commentOptionLength;

  private ProcessAnnotation(int pid, String comment) {
    this.pid = pid;
    byte[] utf8 = cut(comment.getBytes(StandardCharsets.UTF_8));
    this.comment = new String(utf8, StandardCharsets.UTF_8);
    byte[] commentOption = utf8.length == 0 ? new byte[0] : PcapngOptions.commentOption(this.comment);
    this.commentOptionLength = commentOption.length;
    this.commentWords = new long[(commentOption.length + 7) / 8];
    java.nio.ByteBuffer.wrap(java.util.Arrays.copyOf(commentOption, commentWords.length * 8))
        .order(java.nio.ByteOrder.nativeOrder()).asLongBuffer().get(commentWords);
  }

  /**
   * An annotation with a free-form comment (UTF-8; empty: no comment, only the pid/tid option).
   *
   * @param pid the process id (tgid), 0 if unknown
   */
  public static ProcessAnnotation of(int pid, String comment) {
    return new ProcessAnnotation(pid, Objects.requireNonNull(comment, "comment"));
  }

  /** An annotation in the conventional form {@code "PID: 1234\nCmd: curl"}. */
  public static ProcessAnnotation forProcess(int pid, String command) {
    return of(pid, "PID: " + Integer.toUnsignedString(pid) + "\nCmd: " + Objects.requireNonNull(command, "command"));
  }

  public int pid() {
    return pid;
  }

  /** The comment as written (possibly cut to 65535 UTF-8 bytes). */
  public String comment() {
    return comment;
  }

  int commentOptionLength() {
    return commentOptionLength;
  }

  long[] commentWords() {
    return commentWords;
  }

  private static byte[] cut(byte[] utf8) {
    if (utf8.length <= MAX_COMMENT_BYTES) {
      return utf8;
    }
    int end = MAX_COMMENT_BYTES;
    while (end > 0 && (utf8[end] & 0xC0) == 0x80) {
      end--; // do not split a multi-byte character
    }
    return java.util.Arrays.copyOf(utf8, end);
  }

  @Override
  public String toString() {
    return "ProcessAnnotation[pid=" + Integer.toUnsignedString(pid) + ", comment=" + comment.replace("\n", "\\n") + "]";
  }
}
