// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Produces records as fast as the kernel can, from BPF_PROG_TEST_RUN: the producer side of the
 * ring-buffer tests and of the drain benchmark (bench/ringbuf-drain.sh). Every record starts with a
 * struct test_record whose seq counts up from 0 across runs; records that could not be reserved are
 * counted in 'dropped', records reserved and then discarded in 'discarded'.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include "ringbuf_test_abi.h"

#define MAX_RECORD 4096

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[MAX_RECORD]);
} scratch SEC(".maps");

/* Puts struct test_record into the object's BTF, where TestAbiLayoutTest checks the Java view. */
const struct test_record *unused_test_record __attribute__((unused));

__u64 next_seq = 0;
__u64 dropped = 0;
__u64 discarded = 0;

struct loop_ctx {
	__u8 *buffer;
	__u32 size;
	__u32 discard_every;
};

static long emit(__u32 index, void *data)
{
	struct loop_ctx *ctx = data;
	__u64 seq = __sync_fetch_and_add(&next_seq, 1);

	if (ctx->discard_every && seq % ctx->discard_every == ctx->discard_every - 1) {
		struct test_record *r = bpf_ringbuf_reserve(&ring, sizeof(*r), 0);
		if (!r) {
			__sync_fetch_and_add(&dropped, 1);
			return 0;
		}
		r->seq = seq;
		bpf_ringbuf_discard(r, 0);
		__sync_fetch_and_add(&discarded, 1);
		return 0;
	}
	struct test_record *r = (struct test_record *)ctx->buffer;
	r->seq = seq;
	r->value = ctx->size;
	r->kind = TEST_RECORD_STRESS;
	__u64 size = ctx->size;
	if (size < sizeof(struct test_record) || size >= MAX_RECORD)
		return 1;
	/* a bound the verifier sees on the very register passed (clang would drop a C mask as redundant) */
	__asm__ volatile("%[size] &= 4095" : [size] "+r"(size));
	if (bpf_ringbuf_output(&ring, ctx->buffer, size, 0))
		__sync_fetch_and_add(&dropped, 1);
	return 0;
}

SEC("syscall")
int produce(struct produce_args *args)
{
	__u32 zero = 0;
	__u8 *buffer = bpf_map_lookup_elem(&scratch, &zero);
	if (!buffer)
		return -1;
	__u64 id = bpf_get_current_pid_tgid();
	struct test_record *r = (struct test_record *)buffer;
	r->pid = id >> 32;
	r->tid = (__u32)id;
	r->pad = 0;
	struct loop_ctx ctx = {
		.buffer = buffer,
		.size = args->record_size,
		.discard_every = args->discard_every,
	};
	return bpf_loop(args->count, emit, &ctx, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
