/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Events of exec_watch.bpf.c, defined once here; read in Java by dev.tlscap.secrets.ExecWatcher
 * (offsets checked against this object's BTF by ExecAbiLayoutTest). No bool, no implicit padding.
 */
#ifndef TLSCAP_EXEC_ABI_H
#define TLSCAP_EXEC_ABI_H

#include <linux/types.h>

#define EXEC_COMM_LEN 16
#define EXEC_PATH_LEN 256

enum exec_event_kind {
	EXEC_EVENT_EXEC = 0,    /* struct exec_event */
	EXEC_EVENT_LIBRARY = 1, /* struct exec_library_event */
};

/* A program started (execve): the process tlscap looks at for TLS libraries to trace. */
struct exec_event {
	__u64 timestamp_ns; /* bpf_ktime_get_boot_ns() */
	__u32 pid;          /* tgid */
	__u32 kind;         /* EXEC_EVENT_EXEC */
	__u8 comm[EXEC_COMM_LEN]; /* the new program's name */
};

/*
 * A process loads a library with dlopen (a JNI library such as netty-tcnative, extracted to a
 * temporary file, loaded and deleted at once): looked at before the library is used.
 */
struct exec_library_event {
	__u64 timestamp_ns;
	__u32 pid;
	__u32 kind;                /* EXEC_EVENT_LIBRARY */
	__u8 path[EXEC_PATH_LEN];  /* as given to dlopen, NUL-terminated */
};

/* struct exec_counters: one per CPU. */
struct exec_counters {
	__u64 execs;     /* execs seen (traced processes) */
	__u64 ring_full; /* execs not reported: the ring was full */
	__u64 libraries; /* dlopen calls (traced processes) */
};

#endif
