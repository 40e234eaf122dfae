// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.ByteOrder;
import java.util.Optional;

/**
 * A Section Header Block as read: the section's byte order, version and options.
 *
 * @param offset where the block starts in the file
 * @param byteOrder the byte order of every block in the section (from the byte-order magic)
 * @param majorVersion 1
 * @param minorVersion 0
 * @param sectionLength the section length, -1 when not given
 * @param options shb_hardware, shb_os, shb_userappl, opt_comment
 */
public record SectionHeaderBlock(
    long offset, ByteOrder byteOrder, int majorVersion, int minorVersion, long sectionLength, PcapngOptions options)
    implements PcapngBlock {
  public static final int BLOCK_TYPE = 0x0A0D0D0A;
  public static final int BYTE_ORDER_MAGIC = 0x1A2B3C4D;
  public static final int OPT_HARDWARE = 2;
  public static final int OPT_OS = 3;
  public static final int OPT_USER_APPLICATION = 4;

  @Override
  public int blockType() {
    return BLOCK_TYPE;
  }

  /** {@code shb_hardware}. */
  public Optional<String> hardware() {
    return options.string(OPT_HARDWARE);
  }

  /** {@code shb_os}. */
  public Optional<String> os() {
    return options.string(OPT_OS);
  }

  /** {@code shb_userappl}. */
  public Optional<String> userApplication() {
    return options.string(OPT_USER_APPLICATION);
  }
}
