// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reports every program that starts (sched_process_exec), so tlscap can look at it for a TLS
 * library to trace (Go binaries, programs with OpenSSL linked in) before it does much TLS: a
 * uprobe attaches to the file, so later processes of the same program are covered at once.
 * One small event per exec, which wakes the reader if it waits (epoll); nothing is read from user
 * memory there. Also reports the libraries processes load with dlopen (a uprobe on libc's: a JNI
 * library that links a TLS library statically), with their path.
 * Honours the same --pid/--comm filters as the secret probes.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
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
const struct exec_library_event *unused_exec_library_event __attribute__((unused));
const enum exec_event_kind *unused_exec_event_kind __attribute__((unused));

/* Is the current process one tlscap traces (--pid, --comm, never itself)? */
static __always_inline int traced(__u32 pid, char comm[EXEC_COMM_LEN])
{
	if (pid == own_pid || (target_pid && pid != target_pid))
		return 0;
	if (target_comm[0]) {
#pragma unroll
		for (int i = 0; i < EXEC_COMM_LEN; i++) {
			if (comm[i] != target_comm[i])
				return 0;
			if (!comm[i])
				break;
		}
	}
	return 1;
}

SEC("raw_tp/sched_process_exec")
int program_started(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	char comm[EXEC_COMM_LEN] = {};
	bpf_get_current_comm(comm, sizeof(comm)); /* already the new program's (set before the tracepoint) */
	if (!traced(pid, comm))
		return 0;
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
	e->kind = EXEC_EVENT_EXEC;
	__builtin_memcpy(e->comm, comm, EXEC_COMM_LEN);
	bpf_ringbuf_submit(e, 0); /* wakes the reader if it waits: the program is looked at before its TLS starts */
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_library_event);
} library_scratch SEC(".maps");

/*
 * dlopen(const char *filename, int flags), a uprobe on libc's: a library loaded at run time (a JVM's
 * JNI library, extracted to a temporary file and loaded at once). A uprobe costs only its callers,
 * where a syscall tracepoint (openat) would put every syscall of the host on the slow path.
 */
SEC("uprobe")
int BPF_KPROBE(library_opened, const char *filename)
{
	if (!filename)
		return 0;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	char comm[EXEC_COMM_LEN] = {};
	/* the process's name (its thread group leader's), as the secret probes filter: a JVM loads
	 * JNI libraries from threads of other names */
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	if (bpf_core_read_str(comm, EXEC_COMM_LEN, &leader->comm) < 0)
		bpf_get_current_comm(comm, sizeof(comm));
	if (!traced(pid, comm))
		return 0;
	__u32 zero = 0;
	struct exec_library_event *s = bpf_map_lookup_elem(&library_scratch, &zero);
	if (!s || bpf_probe_read_user_str(s->path, EXEC_PATH_LEN, filename) < 2)
		return 0;
	struct exec_counters *c = bpf_map_lookup_elem(&exec_stats, &zero);
	if (c)
		c->libraries++;
	struct exec_library_event *e = bpf_ringbuf_reserve(&execs, sizeof(*e), 0);
	if (!e) {
		if (c)
			c->ring_full++;
		return 0;
	}
	__builtin_memcpy(e, s, sizeof(*e));
	e->timestamp_ns = bpf_ktime_get_boot_ns();
	e->pid = pid;
	e->kind = EXEC_EVENT_LIBRARY;
	bpf_ringbuf_submit(e, 0); /* wakes the reader: the library is looked at while ld.so maps it */
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
