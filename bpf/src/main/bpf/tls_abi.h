/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Events of tls_secrets.bpf.c, defined once here; read in Java by dev.tlscap.secrets.TlsEventView
 * (whose offsets TlsAbiLayoutTest checks against this object's BTF). No bool, no implicit padding.
 * Codes and flags are enums, not #defines, so they reach the BTF too: TlsAbiEnumTest checks the
 * Java constants against them. Struct fields stay __u32 (an enum's size is the compiler's choice).
 */
#ifndef TLSCAP_TLS_ABI_H
#define TLSCAP_TLS_ABI_H

#include <linux/types.h>

#define TLS_COMM_LEN 16
#define TLS_RANDOM_LEN 32
#define TLS_SECRET_MAX 64

enum tls_event_kind {
	TLS_EVENT_SECRET = 1,       /* a secret derived by EVP_KDF_derive */
	TLS_EVENT_CLIENT_HELLO = 2, /* a ClientHello written or read on a socket: its client random */
};

/* Which secret; the NSS key log label is chosen in Java (TlsLabel). */
enum tls_secret_label {
	TLS_LABEL_CLIENT_EARLY_TRAFFIC = 1,     /* TLS 1.3 "c e traffic" */
	TLS_LABEL_CLIENT_HANDSHAKE_TRAFFIC = 2, /* TLS 1.3 "c hs traffic" */
	TLS_LABEL_SERVER_HANDSHAKE_TRAFFIC = 3, /* TLS 1.3 "s hs traffic" */
	TLS_LABEL_CLIENT_TRAFFIC_0 = 4,         /* TLS 1.3 "c ap traffic" */
	TLS_LABEL_SERVER_TRAFFIC_0 = 5,         /* TLS 1.3 "s ap traffic" */
	TLS_LABEL_EXPORTER = 6,                 /* TLS 1.3 "exp master" */
	TLS_LABEL_MASTER_SECRET = 7,            /* TLS 1.0-1.2: the master secret of "key expansion" */
};

/* tls_event.flags: a set of these bits */
enum tls_event_flag {
	TLS_FLAG_RANDOM_KNOWN = 1 << 0, /* client_random is set */
	TLS_FLAG_SOCKET_KNOWN = 1 << 1, /* socket is set (the thread's last TLS socket I/O) */
	TLS_FLAG_IO_WRITE = 1 << 2,     /* CLIENT_HELLO: written (the client side) */
	TLS_FLAG_IO_READ = 1 << 3,      /* CLIENT_HELLO: read (the server side) */
	TLS_FLAG_SECRET_CUT = 1 << 4,   /* the secret was longer than TLS_SECRET_MAX */
};

/* The socket a thread did TLS I/O on, from the kernel's struct sock. */
struct tls_socket {
	__u64 sock;          /* address of the kernel's struct sock: identifies the socket while it lives */
	__u32 netns;         /* inode number of its network namespace */
	__u16 family;        /* AF_INET (2) or AF_INET6 (10) */
	__u16 local_port;    /* host byte order */
	__u16 remote_port;   /* host byte order */
	__u16 pad;
	__u32 pad2;
	__u8 local_addr[16]; /* IPv4: the first 4 bytes */
	__u8 remote_addr[16];
};

struct tls_event {
	__u64 timestamp_ns;  /* bpf_ktime_get_boot_ns() */
	__u32 kind;          /* enum tls_event_kind */
	__u32 label;         /* enum tls_secret_label (TLS_EVENT_SECRET) */
	__u32 pid;           /* tgid */
	__u32 tid;
	__u32 flags;         /* TLS_FLAG_* */
	__u32 secret_len;
	__u8 comm[TLS_COMM_LEN]; /* the process's (thread group leader's) comm */
	struct tls_socket socket;
	__u8 client_random[TLS_RANDOM_LEN];
	__u8 secret[TLS_SECRET_MAX];
};

/* struct tls_counters: one per CPU (a per-CPU array of one entry), read by Java for the stats line. */
struct tls_counters {
	__u64 secrets;           /* secret events emitted */
	__u64 client_hellos;     /* client hello events emitted */
	__u64 ring_full;         /* events lost because the ring buffer was full */
	__u64 params_unreadable; /* KDF parameters that could not be read (paged out, bad pointer) */
	__u64 kdf_calls;         /* EVP_KDF_derive calls seen (traced processes) */
	__u64 go_key_logs;       /* Go crypto/tls writeKeyLog calls seen (traced processes) */
	__u64 go_unreadable;     /* writeKeyLog calls whose arguments could not be read or made no sense */
};

/*
 * The attach cookie of go_write_key_log (a uprobe in a Go binary, dev.tlscap.secrets.go.GoTlsTarget):
 * how to read the arguments of crypto/tls.(*Config).writeKeyLog(label string, clientRandom, secret []byte).
 */
enum go_probe_cookie {
	GO_PROBE_STACK_ABI = 1 << 0,      /* Go < 1.17: arguments on the stack (else the amd64 register ABI) */
	GO_PROBE_AT_STACK_CHECK = 1 << 1, /* at the prologue's "jbe morestack": skip when it is taken */
};

#endif
