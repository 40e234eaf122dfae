// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Counts calls of a function in a test binary: one record per entry and one per return. */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "ringbuf_test_abi.h"

/* Only this process (tgid) is recorded; 0 records every process. Set before load. */
const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

__u64 next_seq = 0;
__u64 dropped = 0;

static __always_inline int record(__u32 kind, __s64 value)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;

	if (target_tgid && tgid != target_tgid)
		return 0;
	struct test_record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	r->seq = __sync_fetch_and_add(&next_seq, 1);
	r->pid = tgid;
	r->tid = (__u32)id;
	r->value = value;
	r->kind = kind;
	r->pad = 0;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(on_entry, int argument)
{
	return record(TEST_RECORD_ENTRY, argument);
}

SEC("uretprobe")
int BPF_KRETPROBE(on_return, int result)
{
	return record(TEST_RECORD_RETURN, result);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
