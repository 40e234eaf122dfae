// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.io.IOException;

/**
 * The input is not a well-formed pcapng file. The message names the byte offset and what is wrong,
 * e.g. {@code "corrupt pcapng at offset 1024: block length 12 is smaller than an EPB (32 bytes)"}.
 */
public final class PcapngFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  private final long offset;
  private final boolean truncated;

  PcapngFormatException(long offset, String problem, boolean truncated) {
    super((truncated ? "truncated pcapng at offset " : "corrupt pcapng at offset ") + offset + ": " + problem);
    this.offset = offset;
    this.truncated = truncated;
  }

  /** The offset of the block (or field) that is wrong. */
  public long offset() {
    return offset;
  }

  /**
   * True when the input simply ends inside a block (e.g. a file cut off by a crash): every block
   * before {@link #offset()} was whole.
   */
  public boolean isTruncated() {
    return truncated;
  }
}
