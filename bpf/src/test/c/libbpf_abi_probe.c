// SPDX-License-Identifier: Apache-2.0
/*
 * Prints the libbpf and kernel UAPI layouts and values the Java binding hard-codes, as name=value
 * lines, from the installed headers (libbpf-dev, linux-libc-dev). LibbpfAbiTest asserts each line
 * against the Java constant and fails on a line it does not check.
 */
#include <stddef.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/btf.h>

#define P(s, f) printf("%s.%s=%zu\n", #s, #f, offsetof(struct s, f))
#define Z(s, f) printf("%s.%s.size=%zu\n", #s, #f, sizeof(((struct s *)0)->f))
#define S(s) printf("%s=%zu\n", #s, sizeof(struct s))
#define V(v) printf("%s=%llu\n", #v, (unsigned long long)(v))

int main(void)
{
	/* libbpf.h, bpf.h: the option structs Java fills by hand */
	S(bpf_object_open_opts);
	P(bpf_object_open_opts, object_name);
	S(bpf_uprobe_opts);
	P(bpf_uprobe_opts, bpf_cookie);
	P(bpf_uprobe_opts, retprobe);
	P(bpf_uprobe_opts, func_name);
	S(bpf_test_run_opts);
	P(bpf_test_run_opts, data_in);
	P(bpf_test_run_opts, data_size_in);
	P(bpf_test_run_opts, ctx_in);
	P(bpf_test_run_opts, ctx_size_in);
	P(bpf_test_run_opts, retval);
	P(bpf_test_run_opts, repeat);
	P(bpf_test_run_opts, duration);
	S(bpf_tc_hook);
	P(bpf_tc_hook, ifindex);
	P(bpf_tc_hook, attach_point);
	P(bpf_tc_hook, parent);
	S(bpf_tc_opts);
	P(bpf_tc_opts, prog_fd);
	P(bpf_tc_opts, flags);
	P(bpf_tc_opts, prog_id);
	P(bpf_tc_opts, handle);
	P(bpf_tc_opts, priority);
	V(BPF_TC_INGRESS);
	V(BPF_TC_EGRESS);
	S(bpf_link_create_opts);
	P(bpf_link_create_opts, flags);

	/* linux/bpf.h: what the kernel hands back */
	P(bpf_prog_info, name);
	Z(bpf_prog_info, name);
	V(BPF_MAP_TYPE_HASH);
	V(BPF_MAP_TYPE_ARRAY);
	V(BPF_MAP_TYPE_PERCPU_HASH);
	V(BPF_MAP_TYPE_PERCPU_ARRAY);
	V(BPF_MAP_TYPE_LRU_HASH);
	V(BPF_MAP_TYPE_RINGBUF);
	V(BPF_RINGBUF_BUSY_BIT);
	V(BPF_RINGBUF_DISCARD_BIT);
	V(BPF_RINGBUF_HDR_SZ);

	/* linux/btf.h: what Btf reads */
	S(btf_type);
	S(btf_member);
	S(btf_var_secinfo);
	S(btf_enum);
	S(btf_enum64);
	V(BTF_KIND_STRUCT);
	V(BTF_KIND_UNION);
	V(BTF_KIND_ENUM);
	V(BTF_KIND_VAR);
	V(BTF_KIND_DATASEC);
	V(BTF_KIND_ENUM64);
	return 0;
}
