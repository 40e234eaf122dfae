/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Included by tls_secrets.bpf.c only: the OpenSSL 1.1.1 probes, compiled into the same object. */
#ifndef TLSCAP_OPENSSL11_BPF_H
#define TLSCAP_OPENSSL11_BPF_H

/*
 * OpenSSL 1.1.1 has no EVP_KDF: its TLS key schedule (ssl/tls13_enc.c tls13_hkdf_expand, ssl/t1_enc.c
 * tls1_PRF) sets up an HKDF or TLS1-PRF EVP_PKEY_CTX with EVP_PKEY_CTX_ctrl calls (the public macros
 * EVP_PKEY_CTX_add1_hkdf_info, EVP_PKEY_CTX_set1_tls1_prf_secret, EVP_PKEY_CTX_add1_tls1_prf_seed)
 * and derives with EVP_PKEY_derive. Both functions are exported; their arguments are the public
 * API's, so again no struct offset:
 *   int EVP_PKEY_CTX_ctrl(EVP_PKEY_CTX *ctx, int keytype, int optype, int cmd, int p1, void *p2)
 *   int EVP_PKEY_derive(EVP_PKEY_CTX *ctx, unsigned char *key, size_t *keylen)
 * TLS 1.3: the HKDF info (uint16 length, uint8 label length, "tls13 " + label, context) names the
 *   secret; the thread's next EVP_PKEY_derive writes it to "key" (sent when the thread next enters).
 * TLS 1.2: "key expansion" (RFC 5246 6.3) is set up as secret = the master secret, then the seeds
 *   "key expansion", server random, client random: the whole CLIENT_RANDOM line, at the last seed.
 * x86_64 (System V): arguments in rdi, rsi, rdx, rcx, r8, r9.
 */
#define OSSL11_CTRL_TLS_SECRET 0x1001 /* EVP_PKEY_CTRL_TLS_SECRET = EVP_PKEY_ALG_CTRL + 1 */
#define OSSL11_CTRL_TLS_SEED 0x1002   /* EVP_PKEY_CTRL_TLS_SEED */
#define OSSL11_CTRL_HKDF_INFO 0x1006  /* EVP_PKEY_CTRL_HKDF_INFO */

/* One thread's context being set up: a TLS 1.3 label, or the steps of a TLS 1.2 key expansion. */
struct ossl11_state {
	__u64 ctx;      /* the EVP_PKEY_CTX being set up */
	__u32 label;    /* TLS 1.3: the secret the next derive makes */
	__u32 step;     /* TLS 1.2: 1 secret, 2 "key expansion", 3 server random */
	__u64 secret;   /* TLS 1.2: the master secret (the session's, alive through the PRF call) */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct ossl11_state);
} ossl11_states SEC(".maps");

SEC("uprobe")
int ossl11_ctrl(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	__u32 cmd = (__u32)ctx->cx;
	if (cmd != OSSL11_CTRL_HKDF_INFO && cmd != OSSL11_CTRL_TLS_SECRET && cmd != OSSL11_CTRL_TLS_SEED)
		return 0;
	if (!traced())
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__s32 p1 = (__s32)ctx->r8;
	__u64 p2 = ctx->r9, pctx = ctx->di;
	struct ossl11_state fresh = {};
	struct ossl11_state *s = bpf_map_lookup_elem(&ossl11_states, &tid);
	if (!s) {
		bpf_map_update_elem(&ossl11_states, &tid, &fresh, BPF_ANY);
		s = bpf_map_lookup_elem(&ossl11_states, &tid);
		if (!s)
			return 0;
	}
	if (s->ctx != pctx) {
		s->ctx = pctx;
		s->label = 0;
		s->step = 0;
	}
	if (cmd == OSSL11_CTRL_HKDF_INFO) {
		s->label = p1 > 0 ? hkdf_info_label(p2, p1) : 0;
		return 0;
	}
	if (cmd == OSSL11_CTRL_TLS_SECRET) {
		s->step = p1 == 48 ? 1 : 0;
		s->secret = p2;
		return 0;
	}
	/* a seed: "key expansion", then the server random, then the client random */
	if (s->step == 1 && p1 == 13) {
		__u8 text[13];
		s->step = !bpf_probe_read_user(text, sizeof(text), (void *)p2) && equals(text, "key expansion", 13) ? 2 : 0;
	} else if (s->step == 2 && p1 == TLS_RANDOM_LEN) {
		s->step = 3;
	} else if (s->step == 3 && p1 == TLS_RANDOM_LEN) {
		s->step = 0;
		send_master_secret(id, s->secret, 48, p2);
	} else if (p1 > 0) {
		s->step = 0;
	}
#endif
	return 0;
}

SEC("uprobe")
int ossl11_derive(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	if (!traced())
		return 0;
	__u64 id = kdf_entered();
	__u32 tid = (__u32)id;
	struct ossl11_state *s = bpf_map_lookup_elem(&ossl11_states, &tid);
	if (!s || !s->label || s->ctx != ctx->di || !ctx->si)
		return 0;
	__u32 label = s->label;
	s->label = 0;
	__u64 out_len = 0;
	if (bpf_probe_read_user(&out_len, sizeof(out_len), (void *)ctx->dx) || out_len == 0 || out_len > TLS_SECRET_MAX)
		return 0;
	derive_later(label, id, ctx->si, out_len);
#endif
	return 0;
}

#endif
