// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

/**
 * A block of a type the reader does not interpret, passed through raw.
 *
 * @param offset where the block starts in the file
 * @param blockType its type code
 * @param body the bytes between the leading length and the trailing length
 */
public record UnknownBlock(long offset, int blockType, byte[] body) implements PcapngBlock {
  @Override
  public PcapngOptions options() {
    return PcapngOptions.NONE;
  }
}
