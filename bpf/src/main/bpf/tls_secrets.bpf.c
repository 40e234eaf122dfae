// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS secrets from OpenSSL 3.x, with no per-version struct offsets.
 *
 * 1. Secrets: OpenSSL 3 derives every TLS secret through libcrypto's exported
 *    EVP_KDF_derive(ctx, out, outlen, params); params is an array of the public OSSL_PARAM struct.
 *    One uprobe at its entry (no uretprobe: a return probe doubled the cost per call) walks params:
 *    - TLS 1.0-1.2 (TLS1-PRF): the "key expansion" derivation carries the master secret in its
 *      "secret" parameter and the client random as its third "seed": a complete CLIENT_RANDOM line,
 *      for full handshakes, resumptions and extended master secrets alike; sent at once.
 *    - TLS 1.3 (TLS13-KDF): the "label" parameter names the secret that the call will write to
 *      "out". The event is prepared (process, socket, random as of now) and kept per thread; the
 *      secret is read from "out" when that thread next enters EVP_KDF_derive (OpenSSL derives the
 *      traffic key and iv from each new traffic secret at once, while the secret's buffer lives) or
 *      next does TLS socket I/O (the exporter secret, which stays in the SSL object).
 * 2. The client random of TLS 1.3 (which no KDF call carries) and the connection: a raw tracepoint
 *    on syscall exit looks at socket I/O that carries TLS records. It remembers, per thread, the
 *    last socket it did TLS I/O on, and per socket the random of the ClientHello written (client)
 *    or read (server, also when the record header and body arrive in two reads). A secret is
 *    attributed to the last TLS socket of the deriving thread: a TLS library derives a
 *    connection's secrets right after that connection's own I/O, also in event loops.
 * 3. BoringSSL, OpenSSL 1.1.1 and GnuTLS: their own probes (at the end), which end in the same
 *    pending secrets and events.
 * 4. Go crypto/tls (go_write_key_log, at the end): every secret of every handshake passes through
 *    (*Config).writeKeyLog(label, clientRandom, secret), key log writer set or not; complete events.
 */
#include "kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tls_abi.h"

#define AF_INET 2
#define AF_INET6 10
/*
 * OSSL_PARAMs read per call: OpenSSL 3.0-3.5 put the TLS 1.3 "label" at index 4 (after mode,
 * digest, key, prefix) and the TLS1-PRF "key expansion" seed at 2 with the client random at 4.
 */
#define MAX_PARAMS 6

/* Tunables, set by Java before load. */
const volatile __u32 target_pid = 0;            /* 0: every process */
const volatile __u8 target_comm[TLS_COMM_LEN] = {}; /* empty: every process */
const volatile __u32 own_pid = 0;               /* tlscap itself is never traced */
/* 0: wake the consumer when it waits for data; BPF_RB_NO_WAKEUP (1): never, it drains on a timer */
const volatile __u64 submit_flags = 0;

/* Syscall numbers of the running architecture, set by Java (they differ between x86_64 and arm64). */
const volatile __s32 nr_read = 0, nr_write = 1, nr_readv = 19, nr_writev = 20;
const volatile __s32 nr_sendto = 44, nr_recvfrom = 45, nr_sendmsg = 46, nr_recvmsg = 47;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tls_counters);
} counters SEC(".maps");

/* from 'struct ossl_param_st' in include/openssl/core.h (public, stable since 3.0) */
struct ossl_param {
	__u64 key;           /* const char * */
	__u32 data_type;
	__u32 pad;
	__u64 data;          /* void * */
	__u64 data_size;
	__u64 return_size;
};

/* A TLS 1.3 secret being derived: the event to send once its "out" buffer is written. */
struct pending_secret {
	struct tls_event event;
	__u64 out;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending_secret);
} pending_secrets SEC(".maps");

/* Where a pending secret is built (too big for the BPF stack next to the parameter walk). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pending_secret);
} scratch SEC(".maps");

/* The last socket each thread did TLS I/O on. */
struct thread_io {
	struct tls_socket socket;
	__s32 fd;
	__u32 pending_hello; /* a handshake record header was read alone: its body comes next */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct thread_io);
} thread_io SEC(".maps");

/* The client random of each socket's ClientHello. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8[TLS_RANDOM_LEN]);
} socket_random SEC(".maps");

/* Puts struct tls_event into BTF, where TlsAbiLayoutTest checks the Java view against it. */
const struct tls_event *unused_tls_event __attribute__((unused));
/* The same for the enums of tls_abi.h (TlsAbiEnumTest): a type reaches BTF only when something uses it. */
const enum tls_event_kind *unused_tls_event_kind __attribute__((unused));
const enum tls_secret_label *unused_tls_secret_label __attribute__((unused));
const enum tls_event_flag *unused_tls_event_flag __attribute__((unused));
const enum go_probe_cookie *unused_go_probe_cookie __attribute__((unused));

static __always_inline struct tls_counters *counter(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&counters, &zero);
}

#define COUNT(field)                                           \
	do {                                                   \
		struct tls_counters *c = counter();            \
		if (c)                                         \
			__sync_fetch_and_add(&c->field, 1);    \
	} while (0)

static __always_inline void process_comm(char comm[TLS_COMM_LEN])
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	if (bpf_core_read_str(comm, TLS_COMM_LEN, &leader->comm) < 0)
		bpf_get_current_comm(comm, TLS_COMM_LEN);
}

/* Is the current process one tlscap traces (--pid, --comm, never itself)? */
static __always_inline int traced(void)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	if (pid == own_pid)
		return 0;
	if (target_pid && pid != target_pid)
		return 0;
	if (target_comm[0]) {
		char comm[TLS_COMM_LEN] = {};
		process_comm(comm);
#pragma unroll
		for (int i = 0; i < TLS_COMM_LEN; i++) {
			if (comm[i] != target_comm[i])
				return 0;
			if (!comm[i])
				break;
		}
	}
	return 1;
}

static __always_inline int equals(const __u8 *a, const char *b, int n)
{
#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (i >= n)
			break;
		if (a[i] != (__u8)b[i])
			return 0;
	}
	return 1;
}

/* The TLS 1.3 secret a KDF label derives, or 0 for labels Wireshark does not need (key, iv, finished, derived...). */
static __always_inline __u32 tls13_label(const __u8 *label, __u64 length)
{
	if (length == 12 && equals(label + 4, " traffic", 8)) {
		if (equals(label, "c hs", 4))
			return TLS_LABEL_CLIENT_HANDSHAKE_TRAFFIC;
		if (equals(label, "s hs", 4))
			return TLS_LABEL_SERVER_HANDSHAKE_TRAFFIC;
		if (equals(label, "c ap", 4))
			return TLS_LABEL_CLIENT_TRAFFIC_0;
		if (equals(label, "s ap", 4))
			return TLS_LABEL_SERVER_TRAFFIC_0;
		return 0;
	}
	if (length == 11 && equals(label, "c e traffic", 11))
		return TLS_LABEL_CLIENT_EARLY_TRAFFIC;
	if (length == 10 && equals(label, "exp master", 10))
		return TLS_LABEL_EXPORTER;
	return 0;
}

/*
 * The TLS 1.3 secret an HKDF-Expand-Label info names (RFC 8446 7.1: uint16 length, uint8 label
 * length, "tls13 " + label, context), or 0; for the libraries whose HKDF sees the whole info
 * (BoringSSL's HKDF_expand, OpenSSL 1.1's EVP_PKEY_CTRL_HKDF_INFO).
 */
static __always_inline __u32 hkdf_info_label(__u64 info, __u64 info_len)
{
	/* length (2), label length (1), "tls13 " (6), the label (10 to 12 bytes for the ones wanted) */
	__u8 text[3 + 6 + 12] = {};
	if (info_len < 3 + 6 + 10 || bpf_probe_read_user(text, sizeof(text), (void *)info))
		return 0;
	__u32 label_len = text[2];
	if (label_len < 6 + 10 || label_len > 6 + 12 || !equals(text + 3, "tls13 ", 6))
		return 0;
	return tls13_label(text + 9, label_len - 6);
}

/* Fills the socket and the random of an event from what the thread's I/O showed. */
static __always_inline void fill_connection(struct tls_event *e, __u32 tid)
{
	struct thread_io *io = bpf_map_lookup_elem(&thread_io, &tid);
	if (!io)
		return;
	e->socket = io->socket;
	e->flags |= TLS_FLAG_SOCKET_KNOWN;
	if (e->flags & TLS_FLAG_RANDOM_KNOWN)
		return;
	__u8 *random = bpf_map_lookup_elem(&socket_random, &io->socket.sock);
	if (random) {
		__builtin_memcpy(e->client_random, random, TLS_RANDOM_LEN);
		e->flags |= TLS_FLAG_RANDOM_KNOWN;
	}
}

/* Reads secret_len bytes of a secret with sizes the verifier can check (TLS: 32, 48, rarely 64); 0 or -errno. */
static __always_inline long read_secret(struct tls_event *e, __u64 secret, __u64 secret_len)
{
	if (secret_len > TLS_SECRET_MAX) {
		e->flags |= TLS_FLAG_SECRET_CUT;
		secret_len = TLS_SECRET_MAX;
	}
	e->secret_len = secret_len;
	if (secret_len == 32)
		return bpf_probe_read_user(e->secret, 32, (void *)secret);
	if (secret_len == 48)
		return bpf_probe_read_user(e->secret, 48, (void *)secret);
	if (secret_len == 64)
		return bpf_probe_read_user(e->secret, 64, (void *)secret);
	return bpf_probe_read_user(e->secret, secret_len & (TLS_SECRET_MAX - 1), (void *)secret);
}

static __always_inline void send(struct tls_event *e)
{
	__u32 kind = e->kind; /* the record is the consumer's once submitted */
	bpf_ringbuf_submit(e, submit_flags);
	if (kind == TLS_EVENT_SECRET)
		COUNT(secrets);
	else
		COUNT(client_hellos);
}

/* Sends the thread's pending TLS 1.3 secret, whose "out" buffer is complete by now. */
static __always_inline void flush_pending(__u32 tid)
{
	struct pending_secret *p = bpf_map_lookup_elem(&pending_secrets, &tid);
	if (!p)
		return;
	struct tls_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		COUNT(ring_full);
	} else {
		__builtin_memcpy(e, &p->event, sizeof(*e));
		read_secret(e, p->out, p->event.secret_len);
		send(e);
	}
	bpf_map_delete_elem(&pending_secrets, &tid);
}

/*
 * A traced thread enters a KDF: counted, and its pending secret (from its previous KDF call) is
 * complete now and sent. Returns bpf_get_current_pid_tgid().
 */
static __always_inline __u64 kdf_entered(void)
{
	COUNT(kdf_calls);
	__u64 id = bpf_get_current_pid_tgid();
	flush_pending((__u32)id);
	return id;
}

/* The event of a secret derived now: time, process, thread, and the thread's connection. */
static __always_inline void prepare(struct tls_event *e, __u32 label, __u64 id)
{
	__builtin_memset(e, 0, sizeof(*e));
	e->timestamp_ns = bpf_ktime_get_boot_ns();
	e->kind = TLS_EVENT_SECRET;
	e->label = label;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	process_comm((char *)e->comm);
}

/*
 * A TLS 1.3 secret is being derived into "out" by the current call: remembered for the thread, and
 * sent by flush_pending when the thread next enters (the call has written it by then). Every
 * library's KDF probe ends here.
 */
static __always_inline void derive_later(__u32 label, __u64 id, __u64 out, __u64 out_len)
{
	__u32 zero = 0;
	struct pending_secret *p = bpf_map_lookup_elem(&scratch, &zero);
	if (!p)
		return;
	prepare(&p->event, label, id);
	p->event.secret_len = out_len;
	p->out = out;
	__u32 tid = (__u32)id;
	fill_connection(&p->event, tid);
	bpf_map_update_elem(&pending_secrets, &tid, p, BPF_ANY);
}

/*
 * A TLS 1.0-1.2 master secret with its client random, both in the traced process's memory (the
 * "key expansion" PRF's inputs): one CLIENT_RANDOM line, sent at once.
 */
static __always_inline void send_master_secret(__u64 id, __u64 secret, __u64 secret_len, __u64 random)
{
	struct tls_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		COUNT(ring_full);
		return;
	}
	prepare(e, TLS_LABEL_MASTER_SECRET, id);
	read_secret(e, secret, secret_len);
	if (!bpf_probe_read_user(e->client_random, TLS_RANDOM_LEN, (void *)random))
		e->flags |= TLS_FLAG_RANDOM_KNOWN;
	fill_connection(e, (__u32)id);
	send(e);
}

#define OSSL_PARAM_OCTET_STRING 5 /* include/openssl/core.h */

/* A KDF call's OSSL_PARAM array, read with one probe read (cheaper than one per parameter). */
struct param_array {
	struct ossl_param p[MAX_PARAMS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct param_array);
} param_arrays SEC(".maps");

/*
 * Looks at one OSSL_PARAM: only octet strings of 10 to 13 bytes can be what tlscap wants (a TLS 1.3
 * label such as "c hs traffic", or TLS 1.2's "key expansion" seed); their content is compared,
 * everything else costs no read. Returns the label, or KEY_EXPANSION, or 0.
 */
#define KEY_EXPANSION 0x100
static __always_inline __u32 look_at(struct ossl_param *p)
{
	if (p->data_type != OSSL_PARAM_OCTET_STRING || p->data_size < 10 || p->data_size > 13)
		return 0;
	__u8 text[16] = {};
	if (bpf_probe_read_user(text, 13, (void *)p->data))
		return 0;
	if (p->data_size == 13)
		return equals(text, "key expansion", 13) ? KEY_EXPANSION : 0;
	return tls13_label(text, p->data_size);
}

/* Is the name of parameter p exactly `name` (n bytes with its NUL)? */
static __always_inline int param_named(struct ossl_param *p, const char *name, int n)
{
	char key[8] = {};
	return bpf_probe_read_user_str(key, sizeof(key), (void *)p->key) == n && equals((__u8 *)key, name, n);
}

SEC("uprobe")
int BPF_KPROBE(kdf_derive_entry, void *kdf_ctx, void *out, __u64 outlen, void *params)
{
	if (!params || !traced())
		return 0;
	__u64 id = kdf_entered();

	__u32 zero = 0;
	struct param_array *array = bpf_map_lookup_elem(&param_arrays, &zero);
	if (!array)
		return 0;
	/* The array lives on the caller's stack, so reading past a shorter array stays in mapped memory. */
	if (bpf_probe_read_user(array, sizeof(*array), params)) {
		COUNT(params_unreadable);
		return 0;
	}
	__u32 label = 0, key_expansion = 0;
#pragma unroll
	for (int i = 0; i < MAX_PARAMS; i++) {
		if (!array->p[i].key)
			break;
		__u32 found = look_at(&array->p[i]);
		if (found == KEY_EXPANSION) {
			key_expansion = i;
		} else if (found) {
			label = found;
			break;
		}
	}

	if (label) {
		derive_later(label, id, (__u64)out, outlen); /* TLS 1.3: "out" is written by this call */
		return 0;
	}
	/* TLS 1.0-1.2, tls1_PRF(): "digest", "secret" = master secret, "seed" = "key expansion",
	 * "seed" = server random, "seed" = client random */
	if (key_expansion != 2)
		return 0;
	struct ossl_param *secret = &array->p[1];
	struct ossl_param *random = &array->p[4];
	if (random->data_size != TLS_RANDOM_LEN || !param_named(secret, "secret", 7) || !param_named(random, "seed", 5))
		return 0;
	send_master_secret(id, secret->data, secret->data_size, random->data);
	return 0;
}

/* The socket behind file descriptor fd of the current process, or NULL. */
static __always_inline struct sock *socket_of(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;
	if (bpf_core_read(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

static __always_inline int describe_socket(struct sock *sk, struct tls_socket *s)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	s->sock = (__u64)sk;
	s->family = family;
	s->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	s->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	s->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	/* explicit sizes: the destinations are byte arrays, whatever the kernel field's type */
	if (family == AF_INET) {
		bpf_core_read(s->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(s->remote_addr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(s->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(s->remote_addr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	return 1;
}

static __always_inline void client_hello(struct thread_io *io, void *random, __u32 direction)
{
	__u8 value[TLS_RANDOM_LEN];
	if (bpf_probe_read_user(value, sizeof(value), random))
		return;
	bpf_map_update_elem(&socket_random, &io->socket.sock, value, BPF_ANY);
	struct tls_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		COUNT(ring_full);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	__u64 id = bpf_get_current_pid_tgid();
	e->timestamp_ns = bpf_ktime_get_boot_ns();
	e->kind = TLS_EVENT_CLIENT_HELLO;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->flags = TLS_FLAG_RANDOM_KNOWN | TLS_FLAG_SOCKET_KNOWN | direction;
	process_comm((char *)e->comm);
	e->socket = io->socket;
	__builtin_memcpy(e->client_random, value, TLS_RANDOM_LEN);
	send(e);
}

struct iovec_user {
	__u64 base;
	__u64 len;
};

SEC("raw_tp/sys_exit")
int tls_socket_io(struct bpf_raw_tracepoint_args *ctx)
{
	long ret = ctx->args[1];
	if (ret <= 0)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	/* every syscall of the host passes here: decide on the number alone first */
#if defined(__TARGET_ARCH_x86)
	long nr = BPF_CORE_READ(regs, orig_ax);
#else
	long nr = BPF_CORE_READ(regs, syscallno);
#endif
	if (nr != nr_write && nr != nr_sendto && nr != nr_read && nr != nr_recvfrom && nr != nr_writev &&
	    nr != nr_readv && nr != nr_sendmsg && nr != nr_recvmsg)
		return 0;
#if defined(__TARGET_ARCH_x86)
	int fd = BPF_CORE_READ(regs, di);
	__u64 arg2 = BPF_CORE_READ(regs, si);
#else
	int fd = BPF_CORE_READ(regs, orig_x0);
	__u64 arg2 = BPF_CORE_READ(regs, regs[1]);
#endif
	__u32 direction;
	__u64 buffer;
	if (nr == nr_write || nr == nr_sendto) {
		direction = TLS_FLAG_IO_WRITE;
		buffer = arg2;
	} else if (nr == nr_read || nr == nr_recvfrom) {
		direction = TLS_FLAG_IO_READ;
		buffer = arg2;
	} else if (nr == nr_writev || nr == nr_readv || nr == nr_sendmsg || nr == nr_recvmsg) {
		direction = (nr == nr_writev || nr == nr_sendmsg) ? TLS_FLAG_IO_WRITE : TLS_FLAG_IO_READ;
		__u64 iov = arg2;
		if (nr == nr_sendmsg || nr == nr_recvmsg) {
			/* struct user_msghdr: msg_iov at offset 16 */
			if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(arg2 + 16)))
				return 0;
		}
		struct iovec_user first;
		if (bpf_probe_read_user(&first, sizeof(first), (void *)iov) || first.len == 0)
			return 0;
		buffer = first.base;
		if ((long)first.len < ret)
			ret = first.len;
	} else {
		return 0;
	}
	__u8 head[6];
	if (bpf_probe_read_user(head, sizeof(head), (void *)buffer))
		return 0;

	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	int record = head[0] >= 0x14 && head[0] <= 0x18 && head[1] == 0x03 && head[2] <= 0x04;
	if (!record) {
		/* the body of a handshake record whose 5-byte header came alone: a ClientHello starts with 1 */
		if (head[0] != 0x01 || direction != TLS_FLAG_IO_READ || ret < 38)
			return 0;
		struct thread_io *io = bpf_map_lookup_elem(&thread_io, &tid);
		if (!io || !io->pending_hello || io->fd != fd)
			return 0;
		io->pending_hello = 0;
		if (traced())
			client_hello(io, (void *)(buffer + 6), direction);
		return 0;
	}
	if (!traced())
		return 0;
	/* a TLS 1.3 secret derived during the last TLS call of this thread is complete now */
	flush_pending(tid);
	struct sock *sk = socket_of(fd);
	if (!sk)
		return 0;
	struct thread_io io = {.fd = fd};
	if (!describe_socket(sk, &io.socket))
		return 0;
	if (head[0] == 0x16 && direction == TLS_FLAG_IO_READ && ret == 5)
		io.pending_hello = 1;
	bpf_map_update_elem(&thread_io, &tid, &io, BPF_ANY);
	if (head[0] == 0x16 && head[5] == 0x01 && ret >= 43)
		client_hello(&io, (void *)(buffer + 11), direction);
	return 0;
}

/* Go crypto/tls: its probe, in the same object (it shares traced(), prepare(), the ring and counters). */
#include "go_tls.bpf.h"
/* BoringSSL: HKDF_expand and CRYPTO_tls1_prf (the same pending secrets, ring and counters). */
#include "boringssl.bpf.h"
/* OpenSSL 1.1.1: EVP_PKEY_CTX_ctrl and EVP_PKEY_derive (the same pending secrets, ring and counters). */
#include "openssl11.bpf.h"
/* GnuTLS: Nettle's HKDF-Expand and _gnutls_prf_raw (the same pending secrets, ring and counters). */
#include "gnutls.bpf.h"
/* NSS: freebl's HMAC_Update/HMAC_Finish, TLS_P_hash and TLS_PRF, found through FREEBL_GetVector's table. */
#include "nss.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
