// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlscap.testing.PcapFile;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads the headers of captured frames, and compares a tlscap capture with tcpdump's. */
final class Packets {
  private Packets() {}

  /** Timestamps of the same packet in both captures may differ by this much (TC and the packet tap are µs apart). */
  static final long TIMESTAMP_TOLERANCE_NANOS = 20_000_000;

  /** E.g. {@code udp 127.0.0.1:5000 > 127.0.0.1:6000}: the flow and its direction. */
  static String describe(byte[] frame, boolean ethernet) {
    int at = 0;
    int etherType;
    if (ethernet) {
      if (frame.length < 14) {
        return "runt";
      }
      etherType = u16(frame, 12);
      at = 14;
    } else {
      if (frame.length < 1) {
        return "empty";
      }
      etherType = (frame[0] & 0xf0) == 0x60 ? 0x86dd : 0x0800;
    }
    if (etherType == 0x0806) {
      return "arp";
    }
    int protocol;
    String src;
    String dst;
    int l4;
    if (etherType == 0x0800 && frame.length >= at + 20) {
      protocol = frame[at + 9] & 0xff;
      src = address(Arrays.copyOfRange(frame, at + 12, at + 16));
      dst = address(Arrays.copyOfRange(frame, at + 16, at + 20));
      l4 = at + (frame[at] & 0x0f) * 4;
    } else if (etherType == 0x86dd && frame.length >= at + 40) {
      protocol = frame[at + 6] & 0xff;
      src = address(Arrays.copyOfRange(frame, at + 8, at + 24));
      dst = address(Arrays.copyOfRange(frame, at + 24, at + 40));
      l4 = at + 40;
    } else {
      return String.format("ethertype 0x%04x", etherType);
    }
    String name = protocol == 6 ? "tcp" : protocol == 17 ? "udp" : protocol == 1 ? "icmp" : protocol == 58 ? "icmp6"
        : "proto " + protocol;
    if ((protocol == 6 || protocol == 17) && frame.length >= l4 + 4) {
      return name + " " + src + ":" + u16(frame, l4) + " > " + dst + ":" + u16(frame, l4 + 2);
    }
    return name + " " + src + " > " + dst;
  }

  static int u16(byte[] b, int at) {
    return (b[at] & 0xff) << 8 | (b[at + 1] & 0xff);
  }

  private static String address(byte[] a) {
    try {
      return InetAddress.getByAddress(a).getHostAddress();
    } catch (UnknownHostException e) {
      return "?";
    }
  }

  /**
   * The same packets, byte for byte and with the same original lengths, in the same order per flow
   * direction (and the same multiset overall); timestamps within {@link #TIMESTAMP_TOLERANCE_NANOS}.
   */
  static void assertSameAsTcpdump(List<CapturedPacket> ours, List<PcapFile.Packet> theirs, boolean ethernet,
      String what) {
    Map<String, List<CapturedPacket>> oursByFlow = new LinkedHashMap<>();
    for (CapturedPacket p : ours) {
      oursByFlow.computeIfAbsent(describe(p.data(), ethernet), k -> new ArrayList<>()).add(p);
    }
    Map<String, List<PcapFile.Packet>> theirsByFlow = new LinkedHashMap<>();
    for (PcapFile.Packet p : theirs) {
      theirsByFlow.computeIfAbsent(describe(p.data(), ethernet), k -> new ArrayList<>()).add(p);
    }
    if (!summary(theirsByFlow).equals(summaryOurs(oursByFlow))) {
      StringBuilder detail = new StringBuilder();
      for (String flow : theirsByFlow.keySet()) {
        List<CapturedPacket> o = oursByFlow.getOrDefault(flow, List.of());
        if (o.size() != theirsByFlow.get(flow).size()) {
          detail.append("\n").append(flow).append("\n  tcpdump: ")
              .append(theirsByFlow.get(flow).stream().map(p -> String.valueOf(p.originalLength())).toList())
              .append("\n  tlscap:  ").append(o.stream().map(p -> String.valueOf(p.originalLength())).toList());
        }
      }
      assertEquals(summary(theirsByFlow), summaryOurs(oursByFlow), what + ": packets per flow (tcpdump vs tlscap)"
          + detail);
    }
    for (Map.Entry<String, List<PcapFile.Packet>> e : theirsByFlow.entrySet()) {
      List<PcapFile.Packet> t = e.getValue();
      List<CapturedPacket> o = oursByFlow.get(e.getKey());
      for (int i = 0; i < t.size(); i++) {
        String where = what + ", flow " + e.getKey() + ", packet " + (i + 1) + " of " + t.size();
        assertEquals(t.get(i).originalLength(), o.get(i).originalLength(), where + ": original length");
        if (!Arrays.equals(t.get(i).data(), o.get(i).data())) {
          throw new AssertionError(where + ": bytes differ (tcpdump " + t.get(i).data().length + " bytes, tlscap "
              + o.get(i).data().length + " bytes, first difference at "
              + Arrays.mismatch(t.get(i).data(), o.get(i).data()) + ")");
        }
        long delta = Math.abs(t.get(i).timestampNanos() - o.get(i).timestampNanos());
        assertTrue(delta < TIMESTAMP_TOLERANCE_NANOS, where + ": timestamps " + delta + " ns apart");
      }
    }
    assertEquals(theirs.size(), ours.size(), what + ": packet count");
  }

  /**
   * The same packets, byte for byte and with the same original lengths, per flow direction and
   * overall, in any order: where packets of one flow are received on two CPUs at once (a veth peer
   * whose sender moves between CPUs), the packet tap and TC may see them interleaved differently.
   * Equal packets pair up in time order; timestamps within {@link #TIMESTAMP_TOLERANCE_NANOS}.
   */
  static void assertSameSetAsTcpdump(List<CapturedPacket> ours, List<PcapFile.Packet> theirs, boolean ethernet,
      String what) {
    java.util.Comparator<byte[]> bytes = java.util.Arrays::compare;
    List<CapturedPacket> o = new ArrayList<>(ours);
    o.sort(java.util.Comparator.comparing(CapturedPacket::data, bytes).thenComparingLong(CapturedPacket::originalLength)
        .thenComparingLong(CapturedPacket::timestampNanos));
    List<PcapFile.Packet> t = new ArrayList<>(theirs);
    t.sort(java.util.Comparator.comparing(PcapFile.Packet::data, bytes).thenComparingLong(PcapFile.Packet::originalLength)
        .thenComparingLong(PcapFile.Packet::timestampNanos));
    Map<String, List<CapturedPacket>> oursByFlow = new LinkedHashMap<>();
    for (CapturedPacket p : o) {
      oursByFlow.computeIfAbsent(describe(p.data(), ethernet), k -> new ArrayList<>()).add(p);
    }
    Map<String, List<PcapFile.Packet>> theirsByFlow = new LinkedHashMap<>();
    for (PcapFile.Packet p : t) {
      theirsByFlow.computeIfAbsent(describe(p.data(), ethernet), k -> new ArrayList<>()).add(p);
    }
    assertEquals(summary(theirsByFlow), summaryOurs(oursByFlow), what + ": packets per flow (tcpdump vs tlscap)");
    for (Map.Entry<String, List<PcapFile.Packet>> e : theirsByFlow.entrySet()) {
      List<PcapFile.Packet> tf = e.getValue();
      List<CapturedPacket> of = oursByFlow.get(e.getKey());
      for (int i = 0; i < tf.size(); i++) {
        String where = what + ", flow " + e.getKey() + ", packet of " + tf.get(i).originalLength() + " bytes";
        assertEquals(tf.get(i).originalLength(), of.get(i).originalLength(), where + ": original length");
        if (!Arrays.equals(tf.get(i).data(), of.get(i).data())) {
          throw new AssertionError(where + ": no tlscap packet has its bytes (first difference at "
              + Arrays.mismatch(tf.get(i).data(), of.get(i).data()) + ")");
        }
        long delta = Math.abs(tf.get(i).timestampNanos() - of.get(i).timestampNanos());
        assertTrue(delta < TIMESTAMP_TOLERANCE_NANOS, where + ": timestamps " + delta + " ns apart");
      }
    }
    assertEquals(theirs.size(), ours.size(), what + ": packet count");
  }

  private static String summary(Map<String, List<PcapFile.Packet>> byFlow) {
    StringBuilder s = new StringBuilder();
    byFlow.keySet().stream().sorted().forEach(k -> s.append(k).append(": ").append(byFlow.get(k).size()).append('\n'));
    return s.toString();
  }

  private static String summaryOurs(Map<String, List<CapturedPacket>> byFlow) {
    StringBuilder s = new StringBuilder();
    byFlow.keySet().stream().sorted().forEach(k -> s.append(k).append(": ").append(byFlow.get(k).size()).append('\n'));
    return s.toString();
  }
}
