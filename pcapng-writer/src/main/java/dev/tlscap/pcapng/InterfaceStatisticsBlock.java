// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

import java.util.OptionalLong;

/**
 * An Interface Statistics Block as read. Times are in the interface's units (nanoseconds for files
 * this writer produces); counters are since the start of the capture.
 *
 * @param offset where the block starts in the file
 * @param interfaceId the interface the counters are for
 * @param timestamp when the counters were taken
 * @param options isb_starttime, isb_endtime, isb_ifrecv, isb_ifdrop, isb_osdrop, isb_usrdeliv, opt_comment
 */
public record InterfaceStatisticsBlock(long offset, int interfaceId, long timestamp, PcapngOptions options)
    implements PcapngBlock {
  public static final int BLOCK_TYPE = 5;
  public static final int OPT_STARTTIME = 2;
  public static final int OPT_ENDTIME = 3;
  public static final int OPT_IFRECV = 4;
  public static final int OPT_IFDROP = 5;
  public static final int OPT_FILTERACCEPT = 6;
  public static final int OPT_OSDROP = 7;
  public static final int OPT_USRDELIV = 8;

  @Override
  public int blockType() {
    return BLOCK_TYPE;
  }

  public OptionalLong startTime() {
    return options.timestamp(OPT_STARTTIME);
  }

  public OptionalLong endTime() {
    return options.timestamp(OPT_ENDTIME);
  }

  /** {@code isb_ifrecv}. */
  public OptionalLong received() {
    return options.number(OPT_IFRECV);
  }

  /** {@code isb_ifdrop}. */
  public OptionalLong droppedByInterface() {
    return options.number(OPT_IFDROP);
  }

  /** {@code isb_osdrop}. */
  public OptionalLong droppedByOs() {
    return options.number(OPT_OSDROP);
  }

  /** {@code isb_usrdeliv}. */
  public OptionalLong deliveredToUser() {
    return options.number(OPT_USRDELIV);
  }
}
