// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What tlscap does NOT do, for bench/tls-path.sh to measure: eCapture-style plaintext hooks.
 * A uprobe on SSL_write/SSL_read entry remembers the caller's buffer; a uretprobe on their return
 * copies the bytes the call moved (up to MAX_DATA, as eCapture's 4 KiB) into a ring buffer that
 * plaintext_hooks.c drains. Every SSL_read/SSL_write of every process using the library pays two
 * traps and one copy; tlscap's one uprobe (EVP_KDF_derive) fires a few times per handshake only.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_DATA 4096

struct event {
	__u64 timestamp_ns;
	__u32 pid;
	__u32 tid;
	__u32 length;
	__u32 direction; /* 0: SSL_write, 1: SSL_read */
	__u8 data[MAX_DATA];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);   /* pid_tgid */
	__type(value, __u64); /* the caller's buffer */
} buffers SEC(".maps");

/* read by plaintext_hooks.c from the .bss map: keep the order */
struct {
	__u64 calls;
	__u64 bytes;
	__u64 lost;
	__u64 hits;
} stats = {};

static __always_inline int enter(const void *buf)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 b = (__u64)buf;
	bpf_map_update_elem(&buffers, &id, &b, BPF_ANY);
	return 0;
}

static __always_inline int leave(int ret, __u32 direction)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *buf = bpf_map_lookup_elem(&buffers, &id);
	if (!buf)
		return 0;
	__u64 from = *buf;
	bpf_map_delete_elem(&buffers, &id);
	__sync_fetch_and_add(&stats.calls, 1);
	if (ret <= 0)
		return 0;
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&stats.lost, 1);
		return 0;
	}
	__u64 n = (__u32)ret;
	/* n = min(n, MAX_DATA) in one register the verifier follows (clang would clamp a copy) */
	asm volatile("if %[n] <= %[max] goto +1\n%[n] = %[max]" : [n] "+r"(n) : [max] "i"(MAX_DATA));
	e->timestamp_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->length = n;
	e->direction = direction;
	bpf_probe_read_user(e->data, n, (void *)from);
	bpf_ringbuf_submit(e, 0);
	__sync_fetch_and_add(&stats.bytes, n);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_entry, void *ssl, const void *buf, int num)
{
	return enter(buf);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_return, int ret)
{
	return leave(ret, 0);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_entry, void *ssl, void *buf, int num)
{
	return enter(buf);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_return, int ret)
{
	return leave(ret, 1);
}

/* the cheapest possible hook: prices the trap itself (uprobe_cost.c), counts a function's calls (plaintext_hooks.c) */
SEC("uprobe")
int empty_entry(struct pt_regs *ctx)
{
	__sync_fetch_and_add(&stats.hits, 1);
	return 0;
}

SEC("uretprobe")
int empty_return(struct pt_regs *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
