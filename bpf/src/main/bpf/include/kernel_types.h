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

#pragma clang attribute pop

#endif /* TLSCAP_KERNEL_TYPES_H */
