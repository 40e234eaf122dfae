/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Included by tls_secrets.bpf.c only: the NSS probes, compiled into the same object. */
#ifndef TLSCAP_NSS_BPF_H
#define TLSCAP_NSS_BPF_H

/*
 * NSS keeps its secrets inside softoken (PKCS#11 key objects); their bytes pass through freebl,
 * whose functions libfreeblpriv3 does not export: softoken reaches them through the table
 * FREEBL_GetVector returns (lib/freebl/loader.h, append-only). tlscap finds their addresses in that
 * table's relocations (ElfSymbols), so again no struct offset and no table per version:
 *
 * TLS 1.3: softoken's HKDF-Expand (sftk_HKDF) is one freebl HMAC per secret:
 *   SECStatus HMAC_Update(HMACContext *cx, const unsigned char *data, unsigned int data_len)
 *   with the HkdfLabel info (RFC 8446 7.1) that names the secret, then
 *   SECStatus HMAC_Finish(HMACContext *cx, unsigned char *result, unsigned int *result_len,
 *     unsigned int max_result_len)
 *   whose "result" holds the secret once it returns. That is a buffer on sftk_HKDF's stack, which
 *   it copies into the key object and clears before it returns: so the secret is read at the next
 *   freebl call, which is always
 *   void HMAC_Destroy(HMACContext *cx, PRBool freeit)
 *   (the pending path, as for OpenSSL's EVP_KDF_derive, flushed there).
 * TLS 1.2 and 1.0-1.1: softoken derives the key block (CKM_TLS*_KEY_AND_MAC_DERIVE) with
 *   SECStatus TLS_P_hash(HASH_HashType hash, const SECItem *secret, const char *label,
 *     SECItem *seed, SECItem *result, PRBool isFIPS)
 *   SECStatus TLS_PRF(const SECItem *secret, const char *label, SECItem *seed, SECItem *result,
 *     PRBool isFIPS)
 *   "key expansion" (RFC 5246 6.3): the master secret, and the seed server random + client random:
 *   the whole CLIENT_RANDOM line at the entry.
 */

/* The HkdfLabel a thread's HMAC was last given: its context, the secret it names, its length. */
struct nss_hmac {
	__u64 cx;
	__u32 label;
	__u32 length;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct nss_hmac);
} nss_hmac_label SEC(".maps");

/* lib/util/seccomon.h: SECItem { SECItemType type; unsigned char *data; unsigned int len; } */
struct nss_secitem {
	__u32 type;
	__u32 pad;
	__u64 data;
	__u32 len;
	__u32 pad2;
};

SEC("uprobe")
int nss_hmac_update(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	__u64 len = ctx->dx & 0xffffffff;
	/* length (2), label length (1), "tls13 " + label (16 to 18), context length (1), context (0 to 64) */
	if (len < 3 + 6 + 10 + 1 || len > 3 + 6 + 12 + 1 + 64 || !traced())
		return 0;
	__u32 label = hkdf_info_label(ctx->si, len);
	if (!label)
		return 0;
	__u8 length[2];
	if (bpf_probe_read_user(length, sizeof(length), (void *)ctx->si))
		return 0;
	struct nss_hmac h = {.cx = ctx->di, .label = label, .length = (__u32)length[0] << 8 | length[1]};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&nss_hmac_label, &tid, &h, BPF_ANY);
#endif
	return 0;
}

SEC("uprobe")
int nss_hmac_finish(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	if (!traced())
		return 0;
	__u64 id = kdf_entered();
	__u32 tid = (__u32)id;
	struct nss_hmac *h = bpf_map_lookup_elem(&nss_hmac_label, &tid);
	if (!h)
		return 0;
	if (h->cx == ctx->di && (h->length == 32 || h->length == 48))
		derive_later(h->label, id, ctx->si, h->length);
	bpf_map_delete_elem(&nss_hmac_label, &tid);
#endif
	return 0;
}

/* sftk_HKDF's HMAC is done: the secret HMAC_Finish wrote is still in its buffer. */
SEC("uprobe")
int nss_hmac_destroy(struct pt_regs *ctx)
{
	if (traced())
		kdf_entered();
	return 0;
}

/* A key block derivation: its label, master secret and seed (SECItem pointers in the traced process). */
static __always_inline void nss_key_block(__u64 id, __u64 secret, __u64 label, __u64 seed)
{
	__u8 text[13];
	if (bpf_probe_read_user(text, sizeof(text), (void *)label) || !equals(text, "key expansion", 13))
		return;
	struct nss_secitem s = {}, r = {};
	if (bpf_probe_read_user(&s, sizeof(s), (void *)secret) || bpf_probe_read_user(&r, sizeof(r), (void *)seed))
		return;
	if (s.len != 48 || r.len != 2 * TLS_RANDOM_LEN)
		return;
	send_master_secret(id, s.data, 48, r.data + TLS_RANDOM_LEN);
}

SEC("uprobe")
int nss_tls_p_hash(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	if (!traced())
		return 0;
	__u64 id = kdf_entered();
	nss_key_block(id, ctx->si, ctx->dx, ctx->cx);
#endif
	return 0;
}

SEC("uprobe")
int nss_tls_prf(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	if (!traced())
		return 0;
	__u64 id = kdf_entered();
	nss_key_block(id, ctx->di, ctx->si, ctx->dx);
#endif
	return 0;
}

#endif
