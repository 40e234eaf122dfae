// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

/**
 * The kernel's counters of one interface since the capture started, summed over CPUs. Mirrors
 * {@code struct interface_counters} of {@code tc-classifier/src/main/bpf/packet_abi.h} (four u64
 * per CPU, offsets {@link #RECEIVED}, {@link #DROPPED}, {@link #FILTERED}, {@link #TRUNCATED},
 * checked against the object's BTF by {@code PacketAbiLayoutTest}).
 *
 * <p>For the pcapng Interface Statistics Block: {@code isb_ifrecv} = {@link #received()},
 * {@code isb_ifdrop} = {@link #dropped()}. Immutable.
 *
 * @param received packets that matched the filter: copied into the ring, or dropped for lack of room
 * @param dropped packets that matched but found the ring buffer full (the consumer fell behind)
 * @param filteredOut packets the in-kernel filter rejected (not copied, cost almost nothing)
 * @param truncated packets cut to the largest ring record below the snap length (caplen &lt; origlen)
 */
public record InterfaceCounters(long received, long dropped, long filteredOut, long truncated) {
  /** Size of {@code struct interface_counters}. */
  static final int SIZE = 32;
  static final int RECEIVED = 0;
  static final int DROPPED = 8;
  static final int FILTERED = 16;
  static final int TRUNCATED = 24;

  public static final InterfaceCounters ZERO = new InterfaceCounters(0, 0, 0, 0);

  /** Packets captured into the ring (received minus dropped). */
  public long captured() {
    return received - dropped;
  }

  /** The sum of two counters (e.g. every interface). */
  public InterfaceCounters plus(InterfaceCounters other) {
    return new InterfaceCounters(received + other.received, dropped + other.dropped,
        filteredOut + other.filteredOut, truncated + other.truncated);
  }
}
