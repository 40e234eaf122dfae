// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.bpf.BpfMap;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Gives each captured interface a counter slot and tells the classifier which: the
 * {@code interface_slots} array (entry {@code ifindex % INTERFACE_SLOT_TABLE}, {@code struct
 * interface_slot { u32 ifindex; u32 slot; u32 link; }}), or the {@code interface_slot_overflow} hash
 * (same value) when another interface of this capture holds that entry; {@code link} tells the
 * in-kernel filter where the network header is ({@code INTERFACE_LINK_*}); counters in the per-CPU {@code counters}
 * array (packet_abi.h). Slot 0 counts packets of interfaces without a slot. Slots of interfaces
 * that went away are zeroed and reused. Internal; the capture's thread writes, reads may come from
 * any thread.
 */
final class InterfaceSlots {
  /** {@code INTERFACE_SLOT_TABLE} of packet_abi.h. */
  static final int TABLE = 4096;
  static final int ENTRY_SIZE = 12;
  /** {@code INTERFACE_LINK_*} of packet_abi.h. */
  static final int LINK_ETHERNET = 0;
  static final int LINK_RAW = 1;
  static final int LINK_OTHER = 2;

  private final BpfMap counters;
  private final BpfMap table;
  private final BpfMap overflow;
  private final int maxSlots;
  private final ArrayDeque<Integer> free = new ArrayDeque<>();
  private final Map<Integer, Integer> slotOf = new HashMap<>();
  private final Map<Integer, Boolean> direct = new HashMap<>();
  private int next = 1;

  InterfaceSlots(BpfMap counters, BpfMap table, BpfMap overflow, int maxSlots) {
    this.counters = counters;
    this.table = table;
    this.overflow = overflow;
    this.maxSlots = maxSlots;
  }

  /** The {@code INTERFACE_LINK_*} value of a link type. */
  static int link(LinkType type) {
    return switch (type) {
      case ETHERNET -> LINK_ETHERNET;
      case RAW -> LINK_RAW;
      default -> LINK_OTHER;
    };
  }

  /**
   * Assigns a zeroed slot to {@code ifindex} and publishes it, with the interface's link layer, to the
   * classifier (before attaching).
   */
  synchronized int assign(int ifindex, LinkType linkType) {
    Integer slot = free.poll();
    if (slot == null) {
      if (next > maxSlots) {
        throw new CaptureException("tlscap captures on at most " + maxSlots + " interfaces at once"
            + " (PacketCaptureOptions.maxInterfaces)");
      }
      slot = next++;
    }
    counters.update(BpfMap.u32Key(slot), new byte[valueBytes()]);
    byte[] key = BpfMap.u32Key(Integer.remainderUnsigned(ifindex, TABLE));
    ByteBuffer entry = ByteBuffer.wrap(table.lookup(key)).order(ByteOrder.nativeOrder());
    if (entry.getInt(0) == 0) {
      table.update(key, entry(ifindex, slot, link(linkType)));
      direct.put(ifindex, true);
    } else {
      overflow.update(BpfMap.u32Key(ifindex), entry(ifindex, slot, link(linkType)));
      direct.put(ifindex, false);
    }
    slotOf.put(ifindex, slot);
    return slot;
  }

  /** Stops counting {@code ifindex} and frees its slot for reuse. */
  synchronized void release(int ifindex) {
    Integer slot = slotOf.remove(ifindex);
    if (slot == null) {
      return;
    }
    if (Boolean.TRUE.equals(direct.remove(ifindex))) {
      table.update(BpfMap.u32Key(Integer.remainderUnsigned(ifindex, TABLE)), entry(0, 0, 0));
    } else {
      overflow.delete(BpfMap.u32Key(ifindex));
    }
    free.add(slot);
  }

  /** A {@code struct interface_slot}. */
  static byte[] entry(int ifindex, int slot, int link) {
    return ByteBuffer.allocate(ENTRY_SIZE).order(ByteOrder.nativeOrder()).putInt(ifindex).putInt(slot).putInt(link)
        .array();
  }

  private static int valueBytes() {
    return ((InterfaceCounters.SIZE + 7) & ~7) * BpfMap.possibleCpus();
  }

  /** The counters of {@code slot}, summed over CPUs. */
  InterfaceCounters read(int slot) {
    byte[] all = counters.lookup(BpfMap.u32Key(slot));
    if (all == null) {
      return InterfaceCounters.ZERO;
    }
    ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.nativeOrder());
    int stride = (InterfaceCounters.SIZE + 7) & ~7;
    long received = 0;
    long dropped = 0;
    long filtered = 0;
    long truncated = 0;
    for (int at = 0; at + stride <= all.length; at += stride) {
      received += b.getLong(at + InterfaceCounters.RECEIVED);
      dropped += b.getLong(at + InterfaceCounters.DROPPED);
      filtered += b.getLong(at + InterfaceCounters.FILTERED);
      truncated += b.getLong(at + InterfaceCounters.TRUNCATED);
    }
    return new InterfaceCounters(received, dropped, filtered, truncated);
  }

  /** Adds the ring-full drops of {@code slot} per CPU into {@code perCpu}. */
  void addDroppedPerCpu(int slot, long[] perCpu) {
    byte[] all = counters.lookup(BpfMap.u32Key(slot));
    if (all == null) {
      return;
    }
    ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.nativeOrder());
    int stride = (InterfaceCounters.SIZE + 7) & ~7;
    for (int cpu = 0; cpu < perCpu.length && (cpu + 1) * stride <= all.length; cpu++) {
      perCpu[cpu] += b.getLong(cpu * stride + InterfaceCounters.DROPPED);
    }
  }
}
