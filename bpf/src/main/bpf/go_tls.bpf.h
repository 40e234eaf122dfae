/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Included by tls_secrets.bpf.c only: the Go crypto/tls probe, compiled into the same object. */
#ifndef TLSCAP_GO_TLS_BPF_H
#define TLSCAP_GO_TLS_BPF_H

/*
 * Go crypto/tls: func (c *Config) writeKeyLog(label string, clientRandom, secret []byte) error runs
 * for every secret of every handshake, client and server, and returns at once when KeyLogWriter is
 * nil; its entry sees the whole key log line. Go 1.17+ on amd64 passes the arguments in registers
 * (src/cmd/compile/abi-internal.md: c AX, label BX CX, clientRandom DI SI R8, secret R9 R10 R11),
 * older Go on the stack above the return address. Goroutine stacks move, so no uretprobe, and the
 * secret is read with bpf_probe_read_user (it holds zero bytes). The cookie says which ABI and where
 * the probe sits (GO_PROBE_*); Java finds the function in .gopclntab (stripped binaries too).
 */

/* The label's code: its length and first 8 bytes tell the key log labels apart (Go's are constants). */
static __always_inline __u32 go_label(__u64 label, __u64 length)
{
	__u8 text[8];
	if (length < 8 || bpf_probe_read_user(text, sizeof(text), (void *)label))
		return 0;
	if (length == 13 && equals(text, "CLIENT_R", 8))
		return TLS_LABEL_MASTER_SECRET; /* CLIENT_RANDOM */
	if (length == 31 && equals(text, "CLIENT_H", 8))
		return TLS_LABEL_CLIENT_HANDSHAKE_TRAFFIC;
	if (length == 31 && equals(text, "SERVER_H", 8))
		return TLS_LABEL_SERVER_HANDSHAKE_TRAFFIC;
	if (length == 23 && equals(text, "CLIENT_T", 8))
		return TLS_LABEL_CLIENT_TRAFFIC_0;
	if (length == 23 && equals(text, "SERVER_T", 8))
		return TLS_LABEL_SERVER_TRAFFIC_0;
	if (length == 27 && equals(text, "CLIENT_E", 8))
		return TLS_LABEL_CLIENT_EARLY_TRAFFIC;
	if (length == 15 && equals(text, "EXPORTER", 8))
		return TLS_LABEL_EXPORTER;
	return 0;
}

/* writeKeyLog's arguments, in the order of the Go stack ABI (receiver first). */
struct go_key_log_args {
	__u64 config;
	__u64 label, label_len;
	__u64 random, random_len, random_cap;
	__u64 secret, secret_len;
};

#define X86_EFLAGS_CF (1u << 0)
#define X86_EFLAGS_ZF (1u << 6)

SEC("uprobe")
int go_write_key_log(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	__u64 how = bpf_get_attach_cookie(ctx);
	/* At "jbe morestack" the flags of the stack check are set: when the branch is taken, the
	 * goroutine's stack grows and the function starts again from its entry, so this probe fires
	 * again; counting this pass too would send every such secret twice. */
	if ((how & GO_PROBE_AT_STACK_CHECK) && (ctx->flags & (X86_EFLAGS_CF | X86_EFLAGS_ZF)))
		return 0;
	if (!traced())
		return 0;
	COUNT(go_key_logs);
	struct go_key_log_args a = {};
	if (how & GO_PROBE_STACK_ABI) {
		/* before the frame is set up: the return address at sp, the arguments above it */
		if (bpf_probe_read_user(&a, sizeof(a), (void *)(ctx->sp + 8))) {
			COUNT(go_unreadable);
			return 0;
		}
	} else {
		a.label = ctx->bx;
		a.label_len = ctx->cx;
		a.random = ctx->di;
		a.random_len = ctx->si;
		a.secret = ctx->r9;
		a.secret_len = ctx->r10;
	}
	__u32 label = go_label(a.label, a.label_len);
	if (!label || a.random_len != TLS_RANDOM_LEN || a.secret_len == 0) {
		COUNT(go_unreadable);
		return 0;
	}
	struct tls_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		COUNT(ring_full);
		return 0;
	}
	__u64 id = bpf_get_current_pid_tgid();
	prepare(e, label, id);
	if (read_secret(e, a.secret, a.secret_len) ||
	    bpf_probe_read_user(e->client_random, TLS_RANDOM_LEN, (void *)a.random)) {
		bpf_ringbuf_discard(e, 0);
		COUNT(go_unreadable);
		return 0;
	}
	e->flags |= TLS_FLAG_RANDOM_KNOWN;
	send(e);
#endif
	return 0;
}

#endif
