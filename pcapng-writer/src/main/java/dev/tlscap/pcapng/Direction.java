// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.pcapng;

/**
 * The direction of a packet relative to the capturing host, written as bits 0-1 of the EPB's
 * {@code epb_flags} option (01 inbound, 10 outbound; unknown writes no flags option).
 *
 * <p>Immutable and thread-safe.
 */
public enum Direction {
  /** Direction not known: the EPB carries no {@code epb_flags} option. */
  UNKNOWN(0),
  /** Received by the host (TC ingress). */
  INBOUND(1),
  /** Sent by the host (TC egress). */
  OUTBOUND(2);

  private final int flags;

  Direction(int flags) {
    this.flags = flags;
  }

  /** The value of bits 0-1 of {@code epb_flags}. */
  public int epbFlags() {
    return flags;
  }

  /** The direction encoded in bits 0-1 of an {@code epb_flags} value (3, "invalid", reads as unknown). */
  public static Direction fromEpbFlags(int epbFlags) {
    switch (epbFlags & 3) {
      case 1:
        return INBOUND;
      case 2:
        return OUTBOUND;
      default:
        return UNKNOWN;
    }
  }
}
