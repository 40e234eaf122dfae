// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

/**
 * One block read by {@link PcapngReader}. Immutable and thread-safe.
 *
 * <p>Block types: {@link SectionHeaderBlock}, {@link InterfaceDescriptionBlock},
 * {@link EnhancedPacketBlock}, {@link DecryptionSecretsBlock}, {@link InterfaceStatisticsBlock}, and
 * {@link UnknownBlock} for every other type (passed through raw).
 */
public sealed interface PcapngBlock
    permits SectionHeaderBlock,
        InterfaceDescriptionBlock,
        EnhancedPacketBlock,
        DecryptionSecretsBlock,
        InterfaceStatisticsBlock,
        UnknownBlock {

  /** The block's offset in the (uncompressed) file. */
  long offset();

  /** The block type code, e.g. 6 for an EPB. */
  int blockType();

  /** The block's options (none for an unknown block). */
  PcapngOptions options();

  /** A short name for the block type: SHB, IDB, EPB, DSB, ISB or the hex type. */
  default String typeName() {
    return typeName(blockType());
  }

  /** A short name for a block type code. */
  static String typeName(int blockType) {
    switch (blockType) {
      case SectionHeaderBlock.BLOCK_TYPE:
        return "SHB";
      case InterfaceDescriptionBlock.BLOCK_TYPE:
        return "IDB";
      case EnhancedPacketBlock.BLOCK_TYPE:
        return "EPB";
      case DecryptionSecretsBlock.BLOCK_TYPE:
        return "DSB";
      case InterfaceStatisticsBlock.BLOCK_TYPE:
        return "ISB";
      default:
        return "0x" + Integer.toHexString(blockType);
    }
  }
}
