/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Included by tls_secrets.bpf.c only: the GnuTLS probes, compiled into the same object. */
#ifndef TLSCAP_GNUTLS_BPF_H
#define TLSCAP_GNUTLS_BPF_H

/*
 * GnuTLS 3.x derives its TLS secrets through two functions whose arguments carry them, both in a
 * library's dynamic symbols, so again no struct offset is read:
 *
 * TLS 1.3: lib/secrets.c _tls13_expand_secret2 (HKDF-Expand-Label) -> lib/nettle/mac.c
 *   wrap_nettle_hkdf_expand -> Nettle's exported
 *   void nettle_hkdf_expand(void *mac_ctx, nettle_hash_update_func *update,
 *     nettle_hash_digest_func *digest, size_t digest_size, size_t info_size, const uint8_t *info,
 *     size_t length, uint8_t *dst)
 *   in libnettle: the info (RFC 8446 7.1: uint16 length, uint8 label length, "tls13 " + label,
 *   context) names the secret, which "dst" holds once the call returns: sent when the thread next
 *   enters a KDF or does TLS socket I/O (flush_pending), as for OpenSSL's EVP_KDF_derive.
 * TLS 1.0-1.2: lib/constate.c derives the key block with lib/nettle/prf.c
 *   int _gnutls_prf_raw(gnutls_mac_algorithm_t mac, size_t master_size, const void *master,
 *     size_t label_size, const char *label, size_t seed_size, const uint8_t *seed,
 *     size_t outsize, char *out)
 *   (exported for its FIPS self-tests): the "key expansion" call (RFC 5246 6.3) has the master
 *   secret and the seed server random + client random: the whole CLIENT_RANDOM line at the entry,
 *   for full handshakes, resumptions and extended master secrets alike.
 * x86_64 (System V): the first six arguments in rdi, rsi, rdx, rcx, r8, r9, the others on the
 * stack above the return address (the probe site is one where the stack is as at the entry).
 */

/* nettle_hkdf_expand's arguments after the sixth. */
struct nettle_hkdf_stack {
	__u64 ret;
	__u64 length;
	__u64 dst;
};

SEC("uprobe")
int nettle_hkdf_expand(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	if (!traced())
		return 0;
	__u64 id = kdf_entered();
	struct nettle_hkdf_stack s = {};
	if (bpf_probe_read_user(&s, sizeof(s), (void *)ctx->sp) || s.length == 0 || s.length > TLS_SECRET_MAX)
		return 0;
	__u32 label = hkdf_info_label(ctx->r9, ctx->r8);
	if (label)
		derive_later(label, id, s.dst, s.length);
#endif
	return 0;
}

/* _gnutls_prf_raw's arguments after the sixth. */
struct gnutls_prf_stack {
	__u64 ret;
	__u64 seed;
	__u64 outsize;
	__u64 out;
};

SEC("uprobe")
int gnutls_prf_raw(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	if (!traced())
		return 0;
	__u64 id = kdf_entered();
	if (ctx->si != 48 || ctx->cx != 13 || ctx->r9 != 2 * TLS_RANDOM_LEN)
		return 0;
	__u8 text[13];
	if (bpf_probe_read_user(text, sizeof(text), (void *)ctx->r8) || !equals(text, "key expansion", 13))
		return 0;
	struct gnutls_prf_stack s = {};
	if (bpf_probe_read_user(&s, sizeof(s), (void *)ctx->sp))
		return 0;
	send_master_secret(id, ctx->dx, 48, s.seed + TLS_RANDOM_LEN);
#endif
	return 0;
}

#endif
