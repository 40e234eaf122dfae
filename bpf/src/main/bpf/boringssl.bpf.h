/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Included by tls_secrets.bpf.c only: the BoringSSL probes, compiled into the same object. */
#ifndef TLSCAP_BORINGSSL_BPF_H
#define TLSCAP_BORINGSSL_BPF_H

/*
 * BoringSSL derives every TLS secret through two functions of its public API (include/openssl/
 * hkdf.h, crypto/fipsmodule/tls/kdf.c), exported by a shared libcrypto and still in .symtab of a
 * static build (netty-tcnative): no struct offset is read, as for OpenSSL 3.
 *
 * TLS 1.3: int HKDF_expand(uint8_t *out, size_t out_len, const EVP_MD *digest, const uint8_t *prk,
 *   size_t prk_len, const uint8_t *info, size_t info_len); the info of HKDF-Expand-Label (RFC 8446
 *   7.1) is uint16 length, uint8 label length, "tls13 " + label, context: the label names the secret
 *   ("c hs traffic", ...), which "out" holds once the call returns: sent when the thread next enters
 *   (flush_pending), as for EVP_KDF_derive.
 * TLS 1.0-1.2: int CRYPTO_tls1_prf(const EVP_MD *digest, uint8_t *out, size_t out_len,
 *   const uint8_t *secret, size_t secret_len, const char *label, size_t label_len,
 *   const uint8_t *seed1, size_t seed1_len, const uint8_t *seed2, size_t seed2_len): the
 *   "key expansion" call (RFC 5246 6.3) has the master secret as its secret and the server and
 *   client randoms as its seeds: the whole CLIENT_RANDOM line at the entry.
 * x86_64 (System V): the first six arguments in rdi, rsi, rdx, rcx, r8, r9, the others on the
 * stack above the return address.
 */

SEC("uprobe")
int bssl_hkdf_expand(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	if (!traced())
		return 0;
	__u64 id = kdf_entered();
	__u64 out = ctx->di, out_len = ctx->si, info = ctx->r9, info_len = 0;
	if (bpf_probe_read_user(&info_len, sizeof(info_len), (void *)(ctx->sp + 8)) || out_len == 0 ||
	    out_len > TLS_SECRET_MAX)
		return 0;
	__u32 label = hkdf_info_label(info, info_len);
	if (label)
		derive_later(label, id, out, out_len);
#endif
	return 0;
}

/* CRYPTO_tls1_prf's arguments after the sixth, as they lie on the stack above the return address. */
struct bssl_prf_stack {
	__u64 ret;
	__u64 label_len;
	__u64 seed1, seed1_len;
	__u64 seed2, seed2_len;
};

SEC("uprobe")
int bssl_tls1_prf(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	if (!traced())
		return 0;
	__u64 id = kdf_entered();
	struct bssl_prf_stack s = {};
	if (bpf_probe_read_user(&s, sizeof(s), (void *)ctx->sp) || s.label_len != 13 ||
	    s.seed2_len != TLS_RANDOM_LEN || ctx->r8 != 48)
		return 0;
	__u8 text[13];
	if (bpf_probe_read_user(text, sizeof(text), (void *)ctx->r9) || !equals(text, "key expansion", 13))
		return 0;
	send_master_secret(id, ctx->cx, 48, s.seed2);
#endif
	return 0;
}

#endif
