// SPDX-License-Identifier: Apache-2.0
package dev.tlscap.tc;

import dev.tlscap.bpf.AbiEnums;
import dev.tlscap.bpf.BpfObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The flags and codes Java shares with tc_capture.bpf.c (PacketEvent's record flags, PacketFilter's
 * clause encoding) are the enums of packet_abi.h as clang compiled them into tc_capture.bpf.o (its
 * BTF). Needs no privileges.
 */
class PacketAbiEnumTest {
  private static BpfObject open() {
    return BpfObject.open(PacketCapture.class, PacketCapture.OBJECT);
  }

  @Test
  void packetFlagsMatchBtf() {
    try (BpfObject object = open()) {
      AbiEnums.assertMatch(object.btf(), "packet_flag", Map.of(
          "PACKET_INBOUND", PacketEvent.FLAG_INBOUND,
          "PACKET_OUTBOUND", PacketEvent.FLAG_OUTBOUND,
          "PACKET_RECORD_LIMIT", PacketEvent.FLAG_RECORD_LIMIT));
    }
  }

  @Test
  void filterDirectionsMatchBtf() {
    try (BpfObject object = open()) {
      AbiEnums.assertMatch(object.btf(), "filter_direction", Map.of(
          "FILTER_SRC", PacketFilter.DIR_SRC,
          "FILTER_DST", PacketFilter.DIR_DST,
          "FILTER_BOTH", PacketFilter.DIR_BOTH));
    }
  }

  @Test
  void filterProtocolsMatchBtf() {
    try (BpfObject object = open()) {
      AbiEnums.assertMatch(object.btf(), "filter_protocol", Map.of(
          "FILTER_PROTO_TCP", PacketFilter.PROTO_TCP,
          "FILTER_PROTO_UDP", PacketFilter.PROTO_UDP,
          "FILTER_PROTO_SCTP", PacketFilter.PROTO_SCTP,
          "FILTER_PROTO_ICMP", PacketFilter.PROTO_ICMP,
          "FILTER_PROTO_ICMPV6", PacketFilter.PROTO_ICMPV6));
    }
  }

  @Test
  void filterFamiliesMatchBtf() {
    try (BpfObject object = open()) {
      AbiEnums.assertMatch(object.btf(), "filter_family", Map.of(
          "FILTER_FAMILY_IPV4", PacketFilter.FAMILY_IPV4,
          "FILTER_FAMILY_IPV6", PacketFilter.FAMILY_IPV6,
          "FILTER_FAMILY_ARP", PacketFilter.FAMILY_ARP,
          "FILTER_FAMILY_RARP", PacketFilter.FAMILY_RARP,
          "FILTER_FAMILY_NEVER", PacketFilter.FAMILY_NEVER));
    }
  }
}
