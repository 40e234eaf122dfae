// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reports every program that starts (sched_process_exec), so tlscap can look at it for a TLS
 * library to trace (Go binaries, programs with OpenSSL linked in) before it does much TLS: a
 * uprobe attaches to the file, so later processes of the same program are covered at once.
 * One small event per exec, which wakes the reader if it waits (epoll); nothing is read from user
 * memory. Honours the same --pid/--comm filters as the secret probes.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "exec_abi.h"

const volatile __u32 target_pid = 0;                  /* 0: every process */
const volatile __u8 target_comm[EXEC_COMM_LEN] = {}; /* empty: every process */
const volatile __u32 own_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_counters);
} exec_stats SEC(".maps");

/* BTF for the Java layout test. */
const struct exec_event *unused_exec_event __attribute__((unused));

SEC("raw_tp/sched_process_exec")
int program_started(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (pid == own_pid || (target_pid && pid != target_pid))
		return 0;
	char comm[EXEC_COMM_LEN] = {};
	bpf_get_current_comm(comm, sizeof(comm)); /* already the new program's (set before the tracepoint) */
	if (target_comm[0]) {
#pragma unroll
		for (int i = 0; i < EXEC_COMM_LEN; i++) {
			if (comm[i] != target_comm[i])
				return 0;
			if (!comm[i])
				break;
		}
	}
	__u32 zero = 0;
	struct exec_counters *c = bpf_map_lookup_elem(&exec_stats, &zero);
	if (c)
		c->execs++;
	struct exec_event *e = bpf_ringbuf_reserve(&execs, sizeof(*e), 0);
	if (!e) {
		if (c)
			c->ring_full++;
		return 0;
	}
	e->timestamp_ns = bpf_ktime_get_boot_ns();
	e->pid = pid;
	e->pad = 0;
	__builtin_memcpy(e->comm, comm, EXEC_COMM_LEN);
	bpf_ringbuf_submit(e, 0); /* wakes the reader if it waits: the program is looked at before its TLS starts */
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
