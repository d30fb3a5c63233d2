// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * rustls on ring (tls_locate.h): ring's seal functions, where each TLS
 * record's plaintext is, before it is encrypted in place.
 *
 * ring's AEAD algorithms are statics of
 *
 *   struct Algorithm { init, seal, open: fn pointers; key_len: usize; id: u8 }
 *
 * in .data.rel.ro, in that order (ring 0.17): AES_128_GCM {16, id 0} and
 * AES_256_GCM {32, id 1}, with different init functions and the same seal
 * and open; CHACHA20_POLY1305 {32, id 2} with its own.
 * rustls reaches seal through the pointer (LessSafeKey, the algorithm chosen
 * at run time): its entry is where a record is sealed. The pointers are the
 * program's as loaded (tl_read_relocated: RELR in place, or RELA addends).
 *
 * seal(key, nonce, aad, in_out, cpu) -> Result<Tag, Unspecified> in the Rust
 * ABI of these builds: the result by reference in rdi, key rsi, &nonce rdx,
 * aad in rcx (pointer) and r8 (length), in_out in r9 (pointer) and the
 * first stack slot (length). Not a stable ABI: what is checked here is that
 * each is a function (decoded, rdi and rsi read first); at each call the
 * kernel takes it as a record only when aad is that record's header
 * (bpf/tls.bpf.c, sl_ring_seal), and a record written with no seal behind
 * it makes the process blind (sl_tls_unseen_io): a wrong guess fails
 * closed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_locate_priv.h"

#define TL_RELRO_MAX (64u << 20) /* a larger .data.rel.ro is not searched */
#define TL_RING_ALG_WORDS 5	 /* init, seal, open, key_len, id (and padding) */
#define TL_RING_MAX 4

struct ring_alg {
	uint64_t va; /* of the static */
	uint64_t init, seal, open;
	uint64_t key_len;
	uint64_t id;
};

static bool in_text(const struct tl_ctx *c, uint64_t va)
{
	uint64_t off;

	return va && !tl_va2off(c, va, true, &off, NULL);
}

/* one seal function: validated, then added as abi */
static int add_seal(struct tl_ctx *c, enum sl_tls_abi abi, uint64_t va, const char *what)
{
	char ev[200], vev[120], why[160];
	uint64_t off;
	int ret;

	ret = tl_x86_validate_entry(c, va, 0x3 /* rdi, rsi */, vev, sizeof(vev), why, sizeof(why));
	if (ret < 0)
		return ret;
	if (!ret || tl_va2off(c, va, true, &off, NULL)) {
		tl_reject(c, abi, SL_TLS_HOW_SEARCH, va, "%s", ret ? "not in the file" : why);
		return 1;
	}
	snprintf(ev, sizeof(ev), "ring's %s seal, from its algorithm static; %s", what, vev);
	tl_add(c, abi, SL_TLS_HOW_SEARCH, va, off, false, ev);
	return 0;
}

int tl_ring_search(struct tl_ctx *c)
{
	struct ring_alg a128[TL_RING_MAX], a256[TL_RING_MAX], aes[TL_RING_MAX], cc[TL_RING_MAX];
	size_t n128 = 0, n256 = 0, naes = 0, ncc = 0, nwords;
	uint64_t *w;
	uint8_t *buf;
	int err, bad = 0;

	if (!c->relro_size || c->relro_size > TL_RELRO_MAX) {
		snprintf(c->out->reason, sizeof(c->out->reason),
			 "rustls on ring: no .data.rel.ro to search (%llu bytes): not located",
			 (unsigned long long)c->relro_size);
		return 0;
	}
	buf = malloc(c->relro_size);
	if (!buf)
		return -ENOMEM;
	err = tl_read_relocated(c, c->relro_vaddr, c->relro_off, buf, c->relro_size);
	if (err)
		goto out;
	/* .data.rel.ro is 8-aligned in these builds; its words */
	w = (uint64_t *)(void *)buf;
	nwords = (size_t)(c->relro_size / 8);
	for (size_t i = 0; i + TL_RING_ALG_WORDS <= nwords; i++) {
		struct ring_alg a = {.va = c->relro_vaddr + i * 8,
				     .init = w[i],
				     .seal = w[i + 1],
				     .open = w[i + 2],
				     .key_len = w[i + 3],
				     .id = w[i + 4]};

		if ((a.key_len != 16 && a.key_len != 32) || a.id > 2 || !in_text(c, a.init) ||
		    !in_text(c, a.seal) || !in_text(c, a.open) || a.init == a.seal ||
		    a.seal == a.open || a.init == a.open)
			continue;
		if (a.id == 0 && a.key_len == 16) {
			if (n128 < TL_RING_MAX)
				a128[n128] = a;
			n128++;
		} else if (a.id == 1 && a.key_len == 32) {
			if (n256 < TL_RING_MAX)
				a256[n256] = a;
			n256++;
		} else if (a.id == 2 && a.key_len == 32) {
			if (ncc < TL_RING_MAX)
				cc[ncc] = a;
			ncc++;
		}
	}
	/* AES_128_GCM and AES_256_GCM: the same seal and open, their own init */
	for (size_t i = 0; i < n128 && i < TL_RING_MAX; i++)
		for (size_t j = 0; j < n256 && j < TL_RING_MAX; j++)
			if (a128[i].seal == a256[j].seal && a128[i].open == a256[j].open &&
			    a128[i].init != a256[j].init) {
				if (naes < TL_RING_MAX)
					aes[naes] = a128[i];
				naes++;
			}
	/* each exactly once, and not sharing a function */
	if (naes != 1 || ncc != 1 || cc[0].seal == aes[0].seal || cc[0].seal == aes[0].open) {
		snprintf(
		    c->out->reason + strlen(c->out->reason),
		    sizeof(c->out->reason) - strlen(c->out->reason),
		    "%srustls on ring: its AES-GCM algorithms found %zu times, ChaCha20-Poly1305 "
		    "%zu times (each must be found once): not located",
		    c->out->reason[0] ? "; " : "", naes, ncc);
		goto out;
	}
	err = add_seal(c, SL_TLS_ABI_RING_SEAL_AES_GCM, aes[0].seal, "AES-GCM");
	if (err < 0)
		goto out;
	bad = err;
	err = add_seal(c, SL_TLS_ABI_RING_SEAL_CHACHA, cc[0].seal, "ChaCha20-Poly1305");
	if (err < 0)
		goto out;
	bad |= err;
	err = 0;
	if (bad) {
		/* both or neither: a record sealed by the other would go unread */
		for (size_t i = 0; i < c->out->nfuncs;)
			if (c->out->funcs[i].abi == SL_TLS_ABI_RING_SEAL_AES_GCM ||
			    c->out->funcs[i].abi == SL_TLS_ABI_RING_SEAL_CHACHA)
				c->out->funcs[i] = c->out->funcs[--c->out->nfuncs];
			else
				i++;
		snprintf(c->out->reason + strlen(c->out->reason),
			 sizeof(c->out->reason) - strlen(c->out->reason),
			 "%srustls on ring: a seal function failed validation: not located",
			 c->out->reason[0] ? "; " : "");
	}
out:
	free(buf);
	return err;
}
