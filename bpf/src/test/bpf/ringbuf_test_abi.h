/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Records of the test programs (uprobe_test.bpf.c, ringbuf_stress.bpf.c); read in Java by TestRecord. */
#ifndef TLSCAP_RINGBUF_TEST_ABI_H
#define TLSCAP_RINGBUF_TEST_ABI_H

#include <linux/types.h>

enum test_record_kind {
	TEST_RECORD_ENTRY = 1,  /* uprobe at function entry: value = first argument */
	TEST_RECORD_RETURN = 2, /* uretprobe: value = return value */
	TEST_RECORD_STRESS = 3, /* ringbuf_stress: value = record size */
};

struct test_record {
	__u64 seq;   /* per program, from 0, never repeated */
	__u32 pid;   /* tgid */
	__u32 tid;
	__s64 value;
	__u32 kind;  /* enum test_record_kind */
	__u32 pad;
};

/* Context of ringbuf_stress's SEC("syscall") program, passed with BPF_PROG_TEST_RUN. */
struct produce_args {
	__u32 count;        /* records to attempt */
	__u32 record_size;  /* bytes per record, 32..4095 */
	__u32 discard_every;/* 0: none; n: reserve-and-discard every n-th record */
	__u32 pad;
};

#endif
