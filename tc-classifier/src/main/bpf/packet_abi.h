/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What tc_capture.bpf.c shares with Java: the ring-buffer record of one packet, the per-interface
 * counters and the in-kernel filter. Defined here once; the Java readers (dev.tlscap.tc.PacketEvent,
 * InterfaceCounters, PacketFilter) name this file and PacketAbiLayoutTest checks them against the
 * compiled object's BTF. No bool, no implicit padding: every field is sized and placed on purpose.
 */
#ifndef TLSCAP_PACKET_ABI_H
#define TLSCAP_PACKET_ABI_H

#include <linux/types.h>

/* packet_event.flags (enums, not #defines, so PacketAbiEnumTest finds them in the BTF) */
enum packet_flag {
	PACKET_INBOUND = 1U << 0,      /* seen at TC ingress */
	PACKET_OUTBOUND = 1U << 1,     /* seen at TC egress */
	PACKET_RECORD_LIMIT = 1U << 2, /* cut to the largest record (max_packet_bytes), below snap_length */
};

/*
 * One ring-buffer record: this header, then captured_length packet bytes starting at the link-layer
 * header (Ethernet on Ethernet, veth and lo; the IP header on raw-IP devices such as tun).
 * 32 bytes, so the packet bytes start 8-byte aligned after the ring's own 8-byte record header.
 */
struct packet_event {
	__u64 timestamp_ns;     /* CLOCK_BOOTTIME (bpf_ktime_get_boot_ns); Java adds the wall-clock offset */
	__u64 socket_cookie;    /* bpf_get_socket_cookie(skb): the owning socket, 0 when the skb has none */
	__u32 ifindex;          /* skb->ifindex */
	__u32 original_length;  /* skb->len: the whole packet (a GSO packet counts whole) */
	__u32 captured_length;  /* bytes that follow: min(original_length, snap_length, max_packet_bytes) */
	__u32 flags;            /* PACKET_* */
};

/*
 * Counters per interface and per CPU: a BPF_MAP_TYPE_PERCPU_ARRAY indexed by the interface's slot
 * (slot 0 collects packets of interfaces without one). Only the CPU running the program writes its
 * copy, so plain increments are exact; Java sums the copies.
 */
struct interface_counters {
	__u64 received;   /* matched the filter: captured + dropped (isb_ifrecv) */
	__u64 dropped;    /* matched, but the ring buffer had no room (isb_ifdrop) */
	__u64 filtered;   /* did not match the in-kernel filter: not copied */
	__u64 truncated;  /* captured shorter than min(length, snap_length): PACKET_RECORD_LIMIT */
};

/*
 * ifindex -> counter slot and link layer, in a BPF_MAP_TYPE_ARRAY of INTERFACE_SLOT_TABLE entries
 * indexed by ifindex % INTERFACE_SLOT_TABLE: array lookups are inlined by the verifier, a hash lookup
 * cost ~80 ns a packet. An ifindex whose entry another interface holds goes to a small hash instead
 * (same value).
 */
#define INTERFACE_SLOT_TABLE 4096

/* interface_slot.link: how the filter finds the network header in the frame, as libpcap does */
#define INTERFACE_LINK_ETHERNET 0 /* EtherType at 12, network header at 14 (Ethernet, veth, lo) */
#define INTERFACE_LINK_RAW      1 /* network header at 0, IPv4 or IPv6 by its version nibble (tun, WireGuard) */
#define INTERFACE_LINK_OTHER    2 /* neither (CAN, radiotap): no IP filter matches */

struct interface_slot {
	__u32 ifindex;  /* 0: free */
	__u32 slot;     /* index into the counters array, 1.. */
	__u32 link;     /* INTERFACE_LINK_* */
};

/* In-kernel filter: a disjunction of up to FILTER_MAX_CLAUSES conjunctive clauses (DNF). */
#define FILTER_MAX_CLAUSES 16

/* filter_host.direction and filter_port.direction; 0 = the condition is not used */
enum filter_direction {
	FILTER_SRC = 1U << 0,
	FILTER_DST = 1U << 1,
	FILTER_BOTH = 1U << 2, /* with SRC|DST: both must match ('src and dst host X') */
};

/* filter_clause.protocols: the IP payload protocol must be one of these (0: any packet) */
enum filter_protocol {
	FILTER_PROTO_TCP = 1U << 0,
	FILTER_PROTO_UDP = 1U << 1,
	FILTER_PROTO_SCTP = 1U << 2,
	FILTER_PROTO_ICMP = 1U << 3,
	FILTER_PROTO_ICMPV6 = 1U << 4,
};

/* filter_clause.families: the network protocol must be one of these (0: any) */
enum filter_family {
	FILTER_FAMILY_IPV4 = 1U << 0,
	FILTER_FAMILY_IPV6 = 1U << 1,
	FILTER_FAMILY_ARP = 1U << 2,   /* ARP: its sender/target IPv4 addresses match 'host' and 'net' */
	FILTER_FAMILY_RARP = 1U << 3,  /* RARP: the same */
	FILTER_FAMILY_NEVER = 1U << 31, /* no packet has it: a clause that never matches */
};

/* 'host A', 'src net 10.0.0.0/8', ... Addresses and masks in network byte order; IPv4 in addr[0]. */
struct filter_host {
	__u32 addr[4];
	__u32 mask[4];
	__u32 family;     /* 4 or 6 */
	__u32 direction;  /* FILTER_SRC/DST/BOTH; 0: unused */
};

/* 'port 443', 'dst portrange 8000-8080': an inclusive range in host byte order. */
struct filter_port {
	__u16 low;
	__u16 high;
	__u32 direction;  /* FILTER_SRC/DST/BOTH; 0: unused */
};

/* Every condition that is used must hold. */
struct filter_clause {
	__u32 protocols;
	__u32 families;
	struct filter_host hosts[2];
	struct filter_port ports[2];
};

/*
 * The full tcpdump filter syntax: libpcap's pcap_compile output (classic BPF, struct bpf_insn),
 * one program per link layer the classifier sees (INTERFACE_LINK_ETHERNET, INTERFACE_LINK_RAW),
 * run by the classifier's interpreter (cbpf_matches). The kernel's own cBPF limit.
 */
#define CBPF_MAX_INSNS 4096
#define CBPF_LINKS 2

struct cbpf_insn {
	__u16 code;
	__u8 jt;
	__u8 jf;
	__u32 k;
};

#endif /* TLSCAP_PACKET_ABI_H */
