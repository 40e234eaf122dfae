// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Copies packets at TC ingress and egress into a ring buffer, for tlscap's pcapng writer.
 *
 * Attached by dev.tlscap.tc.TcAttachment as a TCX link (kernel 6.6+) or a clsact/cls_bpf
 * direct-action filter. It never changes traffic: it always returns TC_ACT_UNSPEC (TCX_NEXT), so the
 * packet goes on to the next program or filter and then on its way, as if tlscap were not there.
 *
 * Per packet: optional in-kernel filter (rodata, set before load; packets that do not match are
 * counted and cost no copy), then a record = struct packet_event + the first captured_length bytes.
 *   - up to SCRATCH_BYTES: bpf_skb_load_bytes into a per-CPU scratch area, bpf_ringbuf_output
 *     (two helper calls; the record is exactly as long as the packet)
 *   - larger (GSO packets on lo, up to 64 KiB and more): bpf_ringbuf_reserve_dynptr with the exact
 *     size, filled chunk by chunk through the scratch area (bpf_ringbuf_reserve needs a constant size)
 * A full ring drops the packet and counts it (per CPU, per interface); a packet longer than the
 * largest record is cut and marked (captured_length < original_length, PACKET_RECORD_LIMIT), never
 * dropped for its size.
 */
#include "kernel_types.h"
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "packet_abi.h"

#define SCRATCH_BYTES 16384                 /* per-CPU array values are limited to 32 KiB */
#define MAX_PACKET_BYTES_LIMIT (1U << 18)   /* 262144: tcpdump's largest snap length */
#define MAX_CHUNKS (MAX_PACKET_BYTES_LIMIT / SCRATCH_BYTES)

#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_P_RARP 0x8035
#define ETH_P_IPV6 0x86DD

/* Set by Java before load (BpfObject.setRodata*). */
const volatile __u32 snap_length = 262144;       /* the user's snap length (-s) */
const volatile __u32 max_packet_bytes = 262144;  /* largest packet part one record holds, <= MAX_PACKET_BYTES_LIMIT */
const volatile __u64 wakeup_interval_ns = 0;     /* a CPU wakes the consumer when it has not for this long (0: never for time; 0 and wakeup_bytes 0: the kernel's adaptive wakeups) */
const volatile __u32 wakeup_bytes = 0;           /* and when a record lifts the unconsumed data past this many bytes (0: never) */
const volatile __u32 filter_clause_count = 0;    /* 0: capture everything */
const volatile struct filter_clause filter_clauses[FILTER_MAX_CLAUSES];

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* resized by Java */
} packets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 257);  /* resized by Java: slots 1..max interfaces, 0 = interfaces without a slot */
	__type(key, __u32);
	__type(value, struct interface_counters);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INTERFACE_SLOT_TABLE);
	__type(key, __u32);        /* ifindex % INTERFACE_SLOT_TABLE */
	__type(value, struct interface_slot);
} interface_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);  /* resized by Java */
	__type(key, __u32);        /* ifindex whose interface_slots entry another interface holds */
	__type(value, struct interface_slot);
} interface_slot_overflow SEC(".maps");

struct scratch {
	__u64 last_wakeup_ns;       /* this CPU's last forced wakeup */
	__u32 records;              /* records this CPU wrote, for sampling the ring's fill */
	__u32 unconsumed;           /* the ring's unconsumed bytes at the last sample */
	struct packet_event event;  /* record header, then the packet bytes */
	__u8 data[SCRATCH_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* Puts the ABI structs into the object's BTF, where PacketAbiLayoutTest checks the Java view. */
const struct packet_event *unused_packet_event __attribute__((unused));
/* The same for the enums of packet_abi.h (PacketAbiEnumTest): a type reaches BTF only when something uses it. */
const enum packet_flag *unused_packet_flag __attribute__((unused));
const enum filter_direction *unused_filter_direction __attribute__((unused));
const enum filter_protocol *unused_filter_protocol __attribute__((unused));
const enum filter_family *unused_filter_family __attribute__((unused));

/*
 * What the filter looks at. Addresses in network byte order, ports in host byte order. A frame cut
 * short may have only the first of a pair: libpcap's 'host X' tests the source first and accepts on
 * a match before it loads (past the end: rejects) the destination; so does 'port'.
 */
struct packet_summary {
	__u32 family;    /* FILTER_FAMILY_* or 0 */
	__u32 protocol;  /* FILTER_PROTO_* or 0 */
	__u32 src[4];
	__u32 dst[4];
	__u32 addresses; /* 0: none, 1: src, 2: src and dst */
	__u32 ports;     /* 0: none, 1: sport, 2: sport and dport */
	__u16 sport;
	__u16 dport;
};

/* n = min(n, max), on the very register later passed to a helper (clang drops a redundant C check) */
#define CLAMP(n, max) __asm__ volatile("if %[v] <= %[m] goto +1; %[v] = %[m]" : [v] "+r"(n) : [m] "i"(max))

/*
 * The frame bytes the filter reads with one helper call: an Ethernet header, then an IPv6 header and
 * the 4 bytes after it (ports, or a fragment header's next header), or an IPv4 header without options
 * and its ports. The network header sits at SUMMARY_NET in the buffer whatever the link layer.
 */
#define SUMMARY_BYTES 58
#define SUMMARY_NET 14

static __always_inline int has_ports(__u32 l4)
{
	return l4 == 6 || l4 == 17 || l4 == 132;
}

/*
 * Reads the headers the filter needs from the frame as libpcap's filter does: from the packet bytes
 * starting at the link-layer header (the EtherType at 12 on Ethernet, the version nibble on raw IP),
 * never from skb->protocol or the kernel's header offsets, and with bpf_skb_load_bytes, which reads
 * wherever the bytes sit (a packet socket's frame above a page keeps only its link header in the
 * linear area, and at egress its network header offset is the link header's). A field past the
 * frame's end stays unset, so a condition on it does not hold (libpcap: a load past the end rejects).
 * libpcap's semantics: IPv4 ports only in the first fragment (offset 0), right after the IP header;
 * IPv6 'tcp', 'udp', 'icmp6' match the fixed header's next header, or a fragment header's right after
 * it (any fragment); IPv6 ports only right after the fixed header (tcpdump walks no extension header).
 */
static __always_inline void summarize(struct __sk_buff *skb, __u32 link, struct packet_summary *p)
{
	__u8 b[SUMMARY_BYTES];
	__u32 have;        /* bytes of b that hold frame bytes */
	__u32 net_offset;  /* where the network header starts in the frame */
	__u32 proto;
	__u32 l4 = 0;
	__u64 n = skb->len;

	if (link == INTERFACE_LINK_ETHERNET) {
		CLAMP(n, SUMMARY_BYTES);
		if (n < SUMMARY_NET || bpf_skb_load_bytes(skb, 0, b, n))
			return;
		have = n;
		net_offset = SUMMARY_NET;
		proto = (b[12] << 8) | b[13];
	} else if (link == INTERFACE_LINK_RAW) {
		CLAMP(n, SUMMARY_BYTES - SUMMARY_NET);
		if (n < 1 || bpf_skb_load_bytes(skb, 0, b + SUMMARY_NET, n))
			return;
		have = SUMMARY_NET + n;
		net_offset = 0;
		proto = (b[SUMMARY_NET] >> 4) == 4 ? ETH_P_IP : (b[SUMMARY_NET] >> 4) == 6 ? ETH_P_IPV6 : 0;
	} else {
		return;
	}

	const __u8 *ip = b + SUMMARY_NET;
	__u32 ip_have = have - SUMMARY_NET;
	if (proto == ETH_P_IP) {
		p->family = FILTER_FAMILY_IPV4;
		if (ip_have < 10)
			return;
		l4 = ip[9];
		if (ip_have >= 16) {
			__builtin_memcpy(&p->src[0], &ip[12], 4);
			p->addresses = 1;
		}
		if (ip_have >= 20) {
			__builtin_memcpy(&p->dst[0], &ip[16], 4);
			p->addresses = 2;
		}
		/* like libpcap: no ports in fragments after the first */
		if (has_ports(l4) && ip_have >= 8 && ((ip[6] & 0x1f) | ip[7]) == 0) {
			__u32 ihl = (ip[0] & 0x0f) * 4;
			if (ihl == 20) {
				if (ip_have >= 22) {
					p->sport = (ip[20] << 8) | ip[21];
					p->ports = 1;
				}
				if (ip_have >= 24) {
					p->dport = (ip[22] << 8) | ip[23];
					p->ports = 2;
				}
			} else {
				__u8 ports[4] = {};
				if (bpf_skb_load_bytes(skb, net_offset + ihl, ports, 4) == 0) {
					p->ports = 2;
				} else if (bpf_skb_load_bytes(skb, net_offset + ihl, ports, 2) == 0) {
					p->ports = 1;
					ports[2] = ports[3] = 0;
				}
				p->sport = (ports[0] << 8) | ports[1];
				p->dport = (ports[2] << 8) | ports[3];
			}
		}
	} else if (proto == ETH_P_IPV6) {
		p->family = FILTER_FAMILY_IPV6;
		if (ip_have < 7)
			return;
		l4 = ip[6];
		if (ip_have >= 24) {
			__builtin_memcpy(p->src, &ip[8], 16);
			p->addresses = 1;
		}
		if (ip_have >= 40) {
			__builtin_memcpy(p->dst, &ip[24], 16);
			p->addresses = 2;
		}
		if (l4 == 44) {
			/* libpcap's 'tcp', 'udp', 'icmp6': also behind a fragment header (any fragment); no ports */
			l4 = ip_have >= 41 ? ip[40] : 0;
		} else if (has_ports(l4)) {
			if (ip_have >= 42) {
				p->sport = (ip[40] << 8) | ip[41];
				p->ports = 1;
			}
			if (ip_have >= 44) {
				p->dport = (ip[42] << 8) | ip[43];
				p->ports = 2;
			}
		}
	} else if (proto == ETH_P_ARP || proto == ETH_P_RARP) {
		/* like libpcap's 'arp host': sender protocol address at 14, target at 24 */
		p->family = proto == ETH_P_ARP ? FILTER_FAMILY_ARP : FILTER_FAMILY_RARP;
		if (ip_have >= 18) {
			__builtin_memcpy(&p->src[0], &ip[14], 4);
			p->addresses = 1;
		}
		if (ip_have >= 28) {
			__builtin_memcpy(&p->dst[0], &ip[24], 4);
			p->addresses = 2;
		}
		return;
	} else {
		return;
	}

	switch (l4) {
	case 6: p->protocol = FILTER_PROTO_TCP; break;
	case 17: p->protocol = FILTER_PROTO_UDP; break;
	case 132: p->protocol = FILTER_PROTO_SCTP; break;
	case 1: p->protocol = FILTER_PROTO_ICMP; break;
	case 58: p->protocol = FILTER_PROTO_ICMPV6; break;
	default: break;
	}
}

static __always_inline int address_matches(const volatile struct filter_host *h, const __u32 *a, __u32 words)
{
	if ((a[0] & h->mask[0]) != h->addr[0])
		return 0;
	if (words == 1)
		return 1;
	return (a[1] & h->mask[1]) == h->addr[1] && (a[2] & h->mask[2]) == h->addr[2]
	    && (a[3] & h->mask[3]) == h->addr[3];
}

static __always_inline int host_matches(const volatile struct filter_host *h, const struct packet_summary *p)
{
	__u32 dir = h->direction;
	__u32 words;

	if (!dir)
		return 1;
	if (h->family == 4) {
		if (!(p->family & (FILTER_FAMILY_IPV4 | FILTER_FAMILY_ARP | FILTER_FAMILY_RARP)))
			return 0;
		words = 1;
	} else {
		if (p->family != FILTER_FAMILY_IPV6)
			return 0;
		words = 4;
	}
	int s = (dir & FILTER_SRC) && p->addresses >= 1 && address_matches(h, p->src, words);
	int d = (dir & FILTER_DST) && p->addresses >= 2 && address_matches(h, p->dst, words);
	return (dir & FILTER_BOTH) ? (s && d) : (s || d);
}

static __always_inline int port_matches(const volatile struct filter_port *f, const struct packet_summary *p)
{
	__u32 dir = f->direction;

	if (!dir)
		return 1;
	int s = (dir & FILTER_SRC) && p->ports >= 1 && p->sport >= f->low && p->sport <= f->high;
	int d = (dir & FILTER_DST) && p->ports >= 2 && p->dport >= f->low && p->dport <= f->high;
	return (dir & FILTER_BOTH) ? (s && d) : (s || d);
}

static __always_inline int filter_matches(struct __sk_buff *skb, __u32 link)
{
	struct packet_summary p = {};

	summarize(skb, link, &p);
#pragma unroll
	for (__u32 i = 0; i < FILTER_MAX_CLAUSES; i++) {
		if (i >= filter_clause_count)
			break;
		const volatile struct filter_clause *c = &filter_clauses[i];
		if (c->families && !(c->families & p.family))
			continue;
		if (c->protocols && !(c->protocols & p.protocol))
			continue;
		if (host_matches(&c->hosts[0], &p) && host_matches(&c->hosts[1], &p)
		    && port_matches(&c->ports[0], &p) && port_matches(&c->ports[1], &p))
			return 1;
	}
	return 0;
}


#include "cbpf_interpreter.bpf.h"

#define FILL_SAMPLE_EVERY 32 /* records between two looks at the ring's fill (the consumer's position is a cache miss) */

/*
 * Whether this record wakes the consumer. A wakeup (irq_work, then waking the consumer thread,
 * i.e. inter-processor interrupts) costs the sending CPU tens of microseconds in a VM; the kernel's
 * adaptive default wakes on nearly every packet of a flood, whose consumer keeps catching up. So:
 * the first packet after a quiet wakeup_interval_ns wakes (low latency when traffic is sparse), and
 * so does a record after which this CPU sees the unconsumed data grown past wakeup_bytes (sampled
 * every FILL_SAMPLE_EVERY records: a consumer asleep on its timer gets up long before the ring
 * fills); the consumer drains on a timer too (PacketCapture's Javadoc). A consumer whose timer is
 * short enough for the latency it needs sets wakeup_interval_ns 0: only the fill wakes it.
 */
static __always_inline __u64 wakeup_flags(struct scratch *s, __u64 now)
{
	if (!wakeup_interval_ns && !wakeup_bytes)
		return 0;
	if (wakeup_interval_ns && now - s->last_wakeup_ns >= wakeup_interval_ns) {
		s->last_wakeup_ns = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	if (wakeup_bytes && ++s->records % FILL_SAMPLE_EVERY == 0) {
		__u64 unconsumed = bpf_ringbuf_query(&packets, BPF_RB_AVAIL_DATA);
		__u32 before = s->unconsumed;
		s->unconsumed = unconsumed;
		if (before < wakeup_bytes && unconsumed >= wakeup_bytes) {
			s->last_wakeup_ns = now;
			return BPF_RB_FORCE_WAKEUP;
		}
	}
	return BPF_RB_NO_WAKEUP;
}

/* Copies a packet longer than the scratch area into an exactly sized record, chunk by chunk. */
static __always_inline int output_large(struct __sk_buff *skb, struct scratch *s, __u32 caplen, __u64 flags)
{
	struct bpf_dynptr record;
	int failed = 0;

	if (bpf_ringbuf_reserve_dynptr(&packets, sizeof(struct packet_event) + caplen, 0, &record)) {
		bpf_ringbuf_discard_dynptr(&record, 0); /* required even when the reservation failed */
		return -1;
	}
	bpf_dynptr_write(&record, 0, &s->event, sizeof(struct packet_event), 0);
	for (__u32 i = 0; i < MAX_CHUNKS; i++) {
		__u32 offset = i * SCRATCH_BYTES;
		if (offset >= caplen)
			break;
		__u64 n = caplen - offset;
		/* a bound the verifier sees on the very register passed (clang drops a redundant C check) */
		CLAMP(n, SCRATCH_BYTES);
		if (n == 0 || bpf_skb_load_bytes(skb, offset, s->data, n)
		    || bpf_dynptr_write(&record, sizeof(struct packet_event) + offset, s->data, n, 0)) {
			failed = 1;
			break;
		}
	}
	if (failed) {
		bpf_ringbuf_discard_dynptr(&record, 0);
		return -1;
	}
	bpf_ringbuf_submit_dynptr(&record, flags);
	return 0;
}

/* The counters of an interface and its link layer (INTERFACE_LINK_*): two inlined array lookups on the fast path. */
static __always_inline struct interface_counters *counters_of(__u32 ifindex, __u32 *link)
{
	__u32 key = ifindex & (INTERFACE_SLOT_TABLE - 1);
	__u32 slot = 0;
	struct interface_slot *entry = bpf_map_lookup_elem(&interface_slots, &key);

	if (!entry || entry->ifindex != ifindex)
		entry = bpf_map_lookup_elem(&interface_slot_overflow, &ifindex);
	if (entry) {
		slot = entry->slot;
		*link = entry->link;
	}
	return bpf_map_lookup_elem(&counters, &slot);
}

static __always_inline int capture(struct __sk_buff *skb, __u32 direction)
{
	__u32 ifindex = skb->ifindex;
	__u32 link = INTERFACE_LINK_ETHERNET; /* an interface without a slot: the common case */
	struct interface_counters *count = counters_of(ifindex, &link);
	if (!count)
		return TC_ACT_UNSPEC;
	if (cbpf_enabled ? !cbpf_matches(skb, link) : filter_clause_count && !filter_matches(skb, link)) {
		count->filtered++;
		return TC_ACT_UNSPEC;
	}
	count->received++;

	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return TC_ACT_UNSPEC;

	__u32 len = skb->len;
	__u32 caplen = len;
	__u32 flags = direction;
	if (caplen > snap_length)
		caplen = snap_length;
	if (caplen > max_packet_bytes) {
		caplen = max_packet_bytes;
		flags |= PACKET_RECORD_LIMIT;
		count->truncated++;
	}
	__u64 now = bpf_ktime_get_boot_ns();
	s->event.timestamp_ns = now;
	/* most packets at ingress have no socket yet: skip the helper call then */
	s->event.socket_cookie = skb->sk ? bpf_get_socket_cookie(skb) : 0;
	s->event.ifindex = ifindex;
	s->event.original_length = len;
	s->event.captured_length = caplen;
	s->event.flags = flags;
	__u64 wake = wakeup_flags(s, now);

	if (caplen <= SCRATCH_BYTES) {
		__u64 n = caplen;
		CLAMP(n, SCRATCH_BYTES);
		if (n > 0 && bpf_skb_load_bytes(skb, 0, s->data, n)) {
			count->dropped++;
			return TC_ACT_UNSPEC;
		}
		if (bpf_ringbuf_output(&packets, &s->event, sizeof(struct packet_event) + n, wake))
			count->dropped++;
	} else if (output_large(skb, s, caplen, wake)) {
		count->dropped++;
	}
	return TC_ACT_UNSPEC;
}

SEC("tc")
int tlscap_ingress(struct __sk_buff *skb)
{
	return capture(skb, PACKET_INBOUND);
}

SEC("tc")
int tlscap_egress(struct __sk_buff *skb)
{
	return capture(skb, PACKET_OUTBOUND);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
