// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * An Interface Description Block as read. Interfaces are numbered from 0 in the order of their IDBs
 * within a section.
 *
 * @param offset where the block starts in the file
 * @param linkType the LINKTYPE_* value
 * @param snapLength the snap length (0: no limit)
 * @param options if_name, if_description, if_tsresol, if_filter, if_os, opt_comment
 */
public record InterfaceDescriptionBlock(long offset, int linkType, int snapLength, PcapngOptions options)
    implements PcapngBlock {
  public static final int BLOCK_TYPE = 1;
  public static final int OPT_NAME = 2;
  public static final int OPT_DESCRIPTION = 3;
  public static final int OPT_TSRESOL = 9;
  public static final int OPT_FILTER = 11;
  public static final int OPT_OS = 12;
  /** if_tsresol value for nanoseconds (10^-9), what the writer uses. */
  public static final int TSRESOL_NANOSECONDS = 9;
  /** The first byte of if_filter: a libpcap filter string follows. */
  public static final int FILTER_LIBPCAP_STRING = 0;

  @Override
  public int blockType() {
    return BLOCK_TYPE;
  }

  /** {@code if_name}. */
  public Optional<String> name() {
    return options.string(OPT_NAME);
  }

  /** {@code if_description}. */
  public Optional<String> description() {
    return options.string(OPT_DESCRIPTION);
  }

  /** {@code if_os}. */
  public Optional<String> os() {
    return options.string(OPT_OS);
  }

  /** The libpcap filter string of {@code if_filter}, if that option is present and of that kind. */
  public Optional<String> filter() {
    return options.first(OPT_FILTER)
        .filter(v -> v.length > 0 && v[0] == FILTER_LIBPCAP_STRING)
        .map(v -> new String(Arrays.copyOfRange(v, 1, v.length), StandardCharsets.UTF_8));
  }

  /** The raw {@code if_tsresol} byte; 6 (microseconds) when absent, as pcapng says. */
  public int timestampResolution() {
    return (int) options.number(OPT_TSRESOL).orElse(6);
  }

  /**
   * Converts a timestamp in this interface's units to nanoseconds (saturating); resolutions finer
   * than nanoseconds are truncated.
   */
  public long toNanos(long timestamp) {
    int resol = timestampResolution();
    int exp = resol & 0x7F;
    if ((resol & 0x80) != 0) { // 2^-exp seconds
      if (exp >= 64) {
        return 0;
      }
      java.math.BigInteger n = java.math.BigInteger.valueOf(timestamp).multiply(java.math.BigInteger.valueOf(1_000_000_000L)).shiftRight(exp);
      return n.bitLength() < 63 ? n.longValue() : Long.MAX_VALUE;
    }
    if (exp == 9) {
      return timestamp;
    }
    if (exp < 9) {
      long factor = 1;
      for (int i = exp; i < 9; i++) {
        factor *= 10;
      }
      return Math.abs(timestamp) > Long.MAX_VALUE / factor ? Long.MAX_VALUE : timestamp * factor;
    }
    long divisor = 1;
    for (int i = 9; i < exp && divisor < Long.MAX_VALUE / 10; i++) {
      divisor *= 10;
    }
    return timestamp / divisor;
  }
}
