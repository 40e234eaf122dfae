/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The full tcpdump filter syntax in the TC classifier: libpcap's classic BPF (dev.tlscap.tc.PcapCompiler,
 * one program per link layer, set as .rodata before load) run by an interpreter. Included by
 * tc_capture.bpf.c after its CLAMP macro; cbpf_matches() is its one entry point.
 */
#ifndef TLSCAP_CBPF_INTERPRETER_BPF_H
#define TLSCAP_CBPF_INTERPRETER_BPF_H

const volatile __u32 cbpf_enabled = 0;           /* 1: the filter is the cBPF programs below */
const volatile __u32 cbpf_length[CBPF_LINKS];    /* instructions per link layer (0: no packet of that link matches) */
const volatile struct cbpf_insn cbpf_program[CBPF_LINKS][CBPF_MAX_INSNS];

/*
 * Classic BPF, as the kernel's own interpreter runs it for a packet socket (and so for tcpdump):
 * A and X, 16 words of scratch memory, absolute and indexed packet loads relative to the link-layer
 * header (big-endian; a load past the end ends the program with 0: no match), ALU, forward jumps,
 * RET. Run with bpf_loop, one instruction per step: the verifier checks the step once, and as cBPF
 * jumps only forward, a program of n instructions ends within n steps.
 */
#define CBPF_HEAD 128 /* the packet's first bytes, copied once: most loads are headers, read without a helper call */

struct cbpf_state {
	struct __sk_buff *skb;
	__u32 link;
	__u32 pc;
	__u32 a;
	__u32 x;
	__u32 mem[16];
	__u32 result;
	__u32 head_len;
	__u8 head[CBPF_HEAD];
};

/* struct bpf_insn code fields (linux/filter.h, classic) */
#define CBPF_CLASS(c) ((c) & 0x07)
#define CBPF_SIZE(c) ((c) & 0x18)
#define CBPF_MODE(c) ((c) & 0xe0)
#define CBPF_OP(c) ((c) & 0xf0)
#define CBPF_SRC(c) ((c) & 0x08)
#define CBPF_RVAL(c) ((c) & 0x18)
#define CBPF_MISCOP(c) ((c) & 0xf8)

static __always_inline int cbpf_load(struct cbpf_state *st, __u32 offset, __u32 size, __u32 *out)
{
	__u8 b[4] = {};
	struct __sk_buff *skb = st->skb;
	__u32 n = size == 0x00 ? 4 : size == 0x08 ? 2 : 1;

	if (offset < CBPF_HEAD - 4 && offset + n <= st->head_len) {
		__u64 o = offset;
		CLAMP(o, CBPF_HEAD - 4); /* a bound the verifier sees on the register that indexes */
		if (n == 4)
			*out = ((__u32)st->head[o] << 24) | ((__u32)st->head[o + 1] << 16) | ((__u32)st->head[o + 2] << 8)
			       | st->head[o + 3];
		else if (n == 2)
			*out = ((__u32)st->head[o] << 8) | st->head[o + 1];
		else
			*out = st->head[o];
		return 0;
	}

	if (size == 0x00) { /* BPF_W */
		if (bpf_skb_load_bytes(skb, offset, b, 4))
			return -1;
		*out = ((__u32)b[0] << 24) | ((__u32)b[1] << 16) | ((__u32)b[2] << 8) | b[3];
	} else if (size == 0x08) { /* BPF_H */
		if (bpf_skb_load_bytes(skb, offset, b, 2))
			return -1;
		*out = ((__u32)b[0] << 8) | b[1];
	} else if (size == 0x10) { /* BPF_B */
		if (bpf_skb_load_bytes(skb, offset, b, 1))
			return -1;
		*out = b[0];
	} else {
		return -1;
	}
	return 0;
}

static long cbpf_step(__u64 index, void *data)
{
	struct cbpf_state *st = data;
	__u32 pc = st->pc;
	__u32 link = st->link;

	if (pc >= CBPF_MAX_INSNS || link >= CBPF_LINKS || pc >= cbpf_length[link & 1]) {
		st->result = 0;
		return 1;
	}
	const volatile struct cbpf_insn *in = &cbpf_program[link & 1][pc & (CBPF_MAX_INSNS - 1)];
	__u16 code = in->code;
	__u32 k = in->k;
	__u32 v = 0;
	__u32 src;

	st->pc = pc + 1;
	switch (CBPF_CLASS(code)) {
	case 0x00: /* BPF_LD */
	case 0x01: /* BPF_LDX */
		switch (CBPF_MODE(code)) {
		case 0x00: /* BPF_IMM */
			v = k;
			break;
		case 0x20: /* BPF_ABS */
			if (k >= 0x10000000 || cbpf_load(st, k, CBPF_SIZE(code), &v))
				goto no_match; /* out of the packet, or a Linux ancillary load */
			break;
		case 0x40: /* BPF_IND */
			if (st->x + k < st->x || st->x + k >= 0x10000000 || cbpf_load(st, st->x + k, CBPF_SIZE(code), &v))
				goto no_match;
			break;
		case 0x60: /* BPF_MEM */
			v = st->mem[k & 15];
			break;
		case 0x80: /* BPF_LEN */
			v = st->skb->len;
			break;
		case 0xa0: /* BPF_MSH: X = 4 * (P[k] & 0xf) */
			if (k >= 0x10000000 || cbpf_load(st, k, 0x10, &v))
				goto no_match;
			v = (v & 0xf) << 2;
			break;
		default:
			goto no_match;
		}
		if (CBPF_CLASS(code) == 0x00)
			st->a = v;
		else
			st->x = v;
		return 0;
	case 0x02: /* BPF_ST */
		st->mem[k & 15] = st->a;
		return 0;
	case 0x03: /* BPF_STX */
		st->mem[k & 15] = st->x;
		return 0;
	case 0x04: /* BPF_ALU */
		src = CBPF_SRC(code) ? st->x : k;
		switch (CBPF_OP(code)) {
		case 0x00: st->a += src; break;
		case 0x10: st->a -= src; break;
		case 0x20: st->a *= src; break;
		case 0x30:
			if (!src)
				goto no_match; /* the kernel ends the program with 0 */
			st->a /= src;
			break;
		case 0x40: st->a |= src; break;
		case 0x50: st->a &= src; break;
		case 0x60: st->a = src >= 32 ? 0 : st->a << src; break;
		case 0x70: st->a = src >= 32 ? 0 : st->a >> src; break;
		case 0x80: st->a = -st->a; break;
		case 0x90:
			if (!src)
				goto no_match;
			st->a %= src;
			break;
		case 0xa0: st->a ^= src; break;
		default: goto no_match;
		}
		return 0;
	case 0x05: /* BPF_JMP */
		src = CBPF_SRC(code) ? st->x : k;
		switch (CBPF_OP(code)) {
		case 0x00: /* BPF_JA */
			st->pc = pc + 1 + k;
			return 0;
		case 0x10: v = st->a == src; break;
		case 0x20: v = st->a > src; break;
		case 0x30: v = st->a >= src; break;
		case 0x40: v = (st->a & src) != 0; break;
		default: goto no_match;
		}
		st->pc = pc + 1 + (v ? in->jt : in->jf);
		return 0;
	case 0x06: /* BPF_RET */
		st->result = CBPF_RVAL(code) == 0x10 ? st->a : k; /* BPF_A : BPF_K */
		return 1;
	case 0x07: /* BPF_MISC */
		if (CBPF_MISCOP(code) == 0x00)
			st->x = st->a; /* BPF_TAX */
		else
			st->a = st->x; /* BPF_TXA */
		return 0;
	}
no_match:
	st->result = 0;
	return 1;
}

static __always_inline int cbpf_matches(struct __sk_buff *skb, __u32 link)
{
	struct cbpf_state st = {};

	if (link >= CBPF_LINKS)
		return 0;
	st.skb = skb;
	st.link = link;
	__u64 head = skb->len;
	if (head > 0) {
		head -= 1;
		CLAMP(head, CBPF_HEAD - 1);
		head += 1; /* 1..CBPF_HEAD on the very register passed */
		if (!bpf_skb_load_bytes(skb, 0, st.head, head))
			st.head_len = head;
	}
	bpf_loop(CBPF_MAX_INSNS, cbpf_step, &st, 0);
	return st.result != 0;
}

#endif /* TLSCAP_CBPF_INTERPRETER_BPF_H */
