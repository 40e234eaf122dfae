// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The TLS key log of one flow (one TCP connection), as a handle the capture passes with each of the
 * flow's packets to {@link PcapngWriter#writePacket}.
 *
 * <p>The writer remembers, per handle, which lines are already in the current file. Before it writes
 * a packet with this handle it writes a Decryption Secrets Block with the lines the current file
 * lacks: every line in a file the flow has not appeared in yet (for example right after a
 * rotation), only the newly added lines otherwise. So each file carries the secrets of exactly the
 * flows it holds packets of, before their packets, and nothing twice.
 *
 * <p>Created by {@link PcapngWriter#newFlowSecrets()}; bound to that writer. Not thread-safe: use
 * it on the writer's thread. {@link #release()} it when the flow is finished.
 */
public final class FlowSecrets {
  private final PcapngWriter owner;
  /** Allocated at the first line: a flow whose secrets never come (most flows of a capture are not TLS) holds none. */
  private byte[] keyLog = NONE;
  private static final byte[] NONE = new byte[0];
  /** Six TLS 1.3 lines of SHA-384 secrets, about. */
  private static final int FIRST_CAPACITY = 6 * 180;
  private int length;
  private int lineCount;
  private boolean released;

  /** The file (writer generation) the first {@link #writtenLength} bytes were written into. */
  long writtenGeneration = -1;

  int writtenLength;

  FlowSecrets(PcapngWriter owner) {
    this.owner = owner;
  }

  /**
   * Adds one NSS key log line (validated, see {@link KeyLogLine#parse}); a line already present is
   * ignored.
   *
   * @throws IllegalArgumentException if the line is malformed (the message says what is wrong)
   * @throws IllegalStateException if the handle was released
   */
  public FlowSecrets add(CharSequence line) {
    return add(KeyLogLine.parse(line));
  }

  /** Adds one key log line; a line already present is ignored. */
  public FlowSecrets add(KeyLogLine line) {
    checkNotReleased();
    byte[] encoded = line.lineBytes();
    if (contains(encoded)) {
      return this;
    }
    if (length + encoded.length > keyLog.length) {
      keyLog = Arrays.copyOf(keyLog, Math.max(Math.max(keyLog.length * 2, FIRST_CAPACITY), length + encoded.length));
    }
    System.arraycopy(encoded, 0, keyLog, length, encoded.length);
    length += encoded.length;
    lineCount++;
    return this;
  }

  /**
   * Adds every non-empty line of a key log text (for example the contents of an
   * {@code SSLKEYLOGFILE}); lines starting with {@code #} are comments and skipped.
   *
   * @throws IllegalArgumentException naming the first malformed line's number and what is wrong
   */
  public FlowSecrets addAll(CharSequence keyLogText) {
    String[] lines = keyLogText.toString().split("\r?\n");
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].isBlank() || lines[i].startsWith("#")) {
        continue;
      }
      try {
        add(lines[i]);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("line " + (i + 1) + ": " + e.getMessage(), e);
      }
    }
    return this;
  }

  /** How many distinct lines this flow has. */
  public int lineCount() {
    return lineCount;
  }

  /** The key log text (lines ending in {@code \n}). */
  public String keyLog() {
    return new String(keyLog, 0, length, StandardCharsets.US_ASCII);
  }

  /** True after {@link #release()}. */
  public boolean isReleased() {
    return released;
  }

  /**
   * Says the flow is finished: frees the key log. The handle must not be used with later packets
   * (they would be refused with an {@link IllegalStateException}).
   */
  public void release() {
    released = true;
    keyLog = NONE;
    length = 0;
    writtenLength = 0;
  }

  PcapngWriter owner() {
    return owner;
  }

  /** True when the file of {@code generation} lacks some of this flow's lines. */
  boolean hasPending(long generation) {
    return length > 0 && (writtenGeneration != generation || writtenLength < length);
  }

  byte[] bytes() {
    return keyLog;
  }

  int length() {
    return length;
  }

  void checkNotReleased() {
    if (released) {
      throw new IllegalStateException("this flow's secrets were released (the flow was finished); "
          + "create a new FlowSecrets for a new flow");
    }
  }

  private boolean contains(byte[] line) {
    int start = 0;
    while (start < length) {
      int end = start;
      while (keyLog[end] != '\n') {
        end++;
      }
      if (end + 1 - start == line.length && Arrays.equals(keyLog, start, end + 1, line, 0, line.length)) {
        return true;
      }
      start = end + 1;
    }
    return false;
  }
}
