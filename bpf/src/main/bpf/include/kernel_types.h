/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel types tlscap's BPF programs read, declared with only the fields they use.
 *
 * Every struct is marked preserve_access_index, so clang records each field access as a CO-RE
 * relocation and libbpf rewrites the offsets at load time from the running kernel's BTF
 * (/sys/kernel/btf/vmlinux). Field order and sizes of the surrounding struct therefore do not
 * matter; names and types of the fields listed here do. Kept minimal on purpose (instead of a
 * generated multi-megabyte vmlinux.h): this file is the whole kernel dependency surface of tlscap.
 *
 * Defining __VMLINUX_H__ tells bpf_tracing.h to use the kernel's names for pt_regs fields.
 */
#ifndef TLSCAP_KERNEL_TYPES_H
#define TLSCAP_KERNEL_TYPES_H

#define __VMLINUX_H__ 1

#include <linux/types.h>
#include <linux/bpf.h>

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

#if defined(__TARGET_ARCH_x86)
/* from 'struct pt_regs' in arch/x86/include/asm/ptrace.h (x86_64) */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};
#elif defined(__TARGET_ARCH_arm64)
/* from 'struct user_pt_regs' / 'struct pt_regs' in arch/arm64/include/asm/ptrace.h */
struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};
struct pt_regs {
	union {
		struct user_pt_regs user_regs;
		struct {
			__u64 regs[31];
			__u64 sp;
			__u64 pc;
			__u64 pstate;
		};
	};
	__u64 orig_x0;
	__s32 syscallno;
};
#else
#error "tlscap's BPF programs support x86_64 and arm64"
#endif

/* from include/linux/sched.h */
struct task_struct {
	struct task_struct *group_leader;
	struct files_struct *files;
	char comm[16];
};

/* from include/linux/fdtable.h */
struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

/* from include/linux/fs.h */
struct inode {
	unsigned short i_mode;
};

struct file {
	struct inode *f_inode;
	void *private_data;
};

/* from include/linux/net.h */
struct socket {
	struct sock *sk;
};

/* from include/linux/ns_common.h, include/net/net_namespace.h */
struct ns_common {
	unsigned int inum;
};

struct net {
	struct ns_common ns;
};

typedef struct {
	struct net *net;
} possible_net_t;

/* from include/uapi/linux/in6.h */
struct in6_addr {
	__u8 s6_addr[16];
};

/*
 * from 'struct sock_common' in include/net/sock.h; the kernel nests these fields in anonymous
 * unions and structs, which libbpf's CO-RE matching looks through.
 */
struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	possible_net_t skc_net;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
};

struct sock {
	struct sock_common __sk_common;
};

#pragma clang attribute pop

#define S_IFMT 00170000
#define S_IFSOCK 0140000

#endif /* TLSCAP_KERNEL_TYPES_H */
