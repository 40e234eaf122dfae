// SPDX-License-Identifier: Apache-2.0
/* Prints the offsets of the libbpf structs the Java binding fills by hand (LibbpfAbiTest). */
#include <stddef.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#define P(s, f) printf("%s.%s=%zu\n", #s, #f, offsetof(struct s, f))
#define S(s) printf("%s=%zu\n", #s, sizeof(struct s))

int main(void)
{
	S(bpf_object_open_opts);
	P(bpf_object_open_opts, object_name);
	S(bpf_uprobe_opts);
	P(bpf_uprobe_opts, bpf_cookie);
	P(bpf_uprobe_opts, retprobe);
	P(bpf_uprobe_opts, func_name);
	S(bpf_test_run_opts);
	P(bpf_test_run_opts, ctx_in);
	P(bpf_test_run_opts, ctx_size_in);
	P(bpf_test_run_opts, retval);
	P(bpf_test_run_opts, repeat);
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
	S(bpf_link_create_opts);
	return 0;
}
