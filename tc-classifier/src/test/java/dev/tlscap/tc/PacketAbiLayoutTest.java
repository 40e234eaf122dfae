// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tlscap.bpf.BpfObject;
import dev.tlscap.bpf.Btf;
import org.junit.jupiter.api.Test;

/**
 * The Java readers and writers of packet_abi.h (PacketEvent, InterfaceCounters, PacketFilter's
 * clause encoding) match what clang compiled into tc_capture.bpf.o (its BTF). Needs no privileges.
 */
class PacketAbiLayoutTest {
  private static BpfObject open() {
    return BpfObject.open(PacketCapture.class, PacketCapture.OBJECT);
  }

  @Test
  void packetEventMatchesBtf() {
    try (BpfObject object = open()) {
      Btf.StructLayout s = object.btf().struct("packet_event");
      assertEquals(PacketEvent.SIZE, s.size());
      assertEquals(PacketEvent.TIMESTAMP_NS, s.member("timestamp_ns").offset());
      assertEquals(PacketEvent.SOCKET_COOKIE, s.member("socket_cookie").offset());
      assertEquals(PacketEvent.IFINDEX, s.member("ifindex").offset());
      assertEquals(PacketEvent.ORIGINAL_LENGTH, s.member("original_length").offset());
      assertEquals(PacketEvent.CAPTURED_LENGTH, s.member("captured_length").offset());
      assertEquals(PacketEvent.FLAGS, s.member("flags").offset());
      assertEquals(8, s.member("timestamp_ns").size());
      assertEquals(4, s.member("flags").size());
    }
  }

  @Test
  void interfaceCountersMatchBtf() {
    try (BpfObject object = open()) {
      Btf.StructLayout s = object.btf().struct("interface_counters");
      assertEquals(InterfaceCounters.SIZE, s.size());
      assertEquals(InterfaceCounters.RECEIVED, s.member("received").offset());
      assertEquals(InterfaceCounters.DROPPED, s.member("dropped").offset());
      assertEquals(InterfaceCounters.FILTERED, s.member("filtered").offset());
      assertEquals(InterfaceCounters.TRUNCATED, s.member("truncated").offset());
    }
  }

  @Test
  void interfaceSlotMatchesBtf() {
    try (BpfObject object = open()) {
      Btf.StructLayout s = object.btf().struct("interface_slot");
      assertEquals(InterfaceSlots.ENTRY_SIZE, s.size());
      assertEquals(0, s.member("ifindex").offset());
      assertEquals(4, s.member("slot").offset());
      assertEquals(8, s.member("link").offset());
      assertEquals(4, s.member("link").size());
    }
  }

  @Test
  void filterClauseMatchesBtf() {
    try (BpfObject object = open()) {
      Btf btf = object.btf();
      Btf.StructLayout clause = btf.struct("filter_clause");
      assertEquals(PacketFilter.CLAUSE_SIZE, clause.size());
      assertEquals(PacketFilter.CLAUSE_PROTOCOLS, clause.member("protocols").offset());
      assertEquals(PacketFilter.CLAUSE_FAMILIES, clause.member("families").offset());
      assertEquals(PacketFilter.CLAUSE_HOSTS, clause.member("hosts").offset());
      assertEquals(2 * PacketFilter.HOST_SIZE, clause.member("hosts").size());
      assertEquals(PacketFilter.CLAUSE_PORTS, clause.member("ports").offset());
      assertEquals(2 * PacketFilter.PORT_SIZE, clause.member("ports").size());
      Btf.StructLayout host = btf.struct("filter_host");
      assertEquals(PacketFilter.HOST_SIZE, host.size());
      assertEquals(PacketFilter.HOST_ADDR, host.member("addr").offset());
      assertEquals(PacketFilter.HOST_MASK, host.member("mask").offset());
      assertEquals(PacketFilter.HOST_FAMILY, host.member("family").offset());
      assertEquals(PacketFilter.HOST_DIRECTION, host.member("direction").offset());
      Btf.StructLayout port = btf.struct("filter_port");
      assertEquals(PacketFilter.PORT_SIZE, port.size());
      assertEquals(PacketFilter.PORT_LOW, port.member("low").offset());
      assertEquals(PacketFilter.PORT_HIGH, port.member("high").offset());
      assertEquals(PacketFilter.PORT_DIRECTION, port.member("direction").offset());
    }
  }

  @Test
  void readOnlyGlobalsHaveTheSizesJavaWrites() {
    try (BpfObject object = open()) {
      Btf btf = object.btf();
      assertEquals(4, btf.variable(".rodata", "snap_length").size());
      assertEquals(4, btf.variable(".rodata", "max_packet_bytes").size());
      assertEquals(8, btf.variable(".rodata", "wakeup_interval_ns").size());
      assertEquals(4, btf.variable(".rodata", "filter_clause_count").size());
      assertEquals(PacketFilter.MAX_CLAUSES * PacketFilter.CLAUSE_SIZE, btf.variable(".rodata", "filter_clauses").size());
      assertEquals(PacketFilter.ALL.encodeClauses().length, btf.variable(".rodata", "filter_clauses").size());
    }
  }
}
