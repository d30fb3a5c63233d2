/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The redactor: the set of credential values no record may carry, and the
 * filter every string and bytes value of a record passes on its way to the
 * journal (user/lib/jwriter.h's sl_jw_filter).
 *
 *	struct sl_redact *r;
 *	struct sl_redact_scratch s = {0};
 *
 *	sl_redact_new(8, &r);
 *	sl_redact_add(r, value, len, id, "[secret sha256:0123abcd...]");
 *	sl_redact_add_fingerprint(r, sha256, id, "[secret ...]");
 *	sl_redact_apply(r, &s, in, len, SL_REDACT_EDGES, &out, &outlen);
 *	... s.found[0 .. s.n_found) lists the ids seen since sl_redact_reset_found(&s)
 *	sl_redact_scratch_free(&s);
 *	sl_redact_free(r);
 *
 * A value is replaced by its label wherever it occurs. With SL_REDACT_EDGES
 * (a piece of a stream: one TLS write, a capture cut at its limit) a value's
 * edges count too: data that ends with the first bytes of a credential, or
 * begins with its last bytes (SL_REDACT_EDGE_MIN of them or more), has that
 * part replaced by the label and " part]": a credential split across two
 * writes is in neither record. Fingerprint entries (the policy has the
 * SHA-256, not the value) are found by hashing every token of the data (a
 * run of token bytes, and its tail after the first '=' or ':').
 *
 * The search is one pass over the data: a 64 Ki-bit filter on every 4-byte
 * window, then the values whose first 4 bytes hash to that window. Values
 * are copied and wiped when the redactor is freed.
 */
#ifndef SL_REDACT_H
#define SL_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_REDACT_EDGE_MIN 4
/* the shortest value a redactor accepts: the filter's window */
#define SL_REDACT_MIN_LEN 4
#define SL_REDACT_LABEL_MAX 96

/* sl_redact_apply flags */
#define SL_REDACT_EDGES (1U << 0)
/* values at credential positions too (credpos.h), labelled with their own fingerprint */
#define SL_REDACT_POSITIONS (1U << 1)
/* the whole value is a credential (the argument after "--token") */
#define SL_REDACT_WHOLE (1U << 2)

/* the id of a value that is not the caller's to report (a learned one) */
#define SL_REDACT_NO_ID UINT32_MAX
/* learned values: longer ones are not kept (the position redacts them in text) */
#define SL_REDACT_LEARN_VALUE_MAX 8192

struct sl_redact;

/* what one record's values found, and the output buffer (reused) */
struct sl_redact_scratch {
	char *buf;
	size_t cap;
	uint32_t *found; /* ids, each once, in the order first seen */
	size_t n_found, cap_found;
};

/* min_len: values shorter than this are ignored (at least SL_REDACT_MIN_LEN) */
int sl_redact_new(size_t min_len, struct sl_redact **out);
void sl_redact_free(struct sl_redact *r);
/*
 * A value (copied) replaced by label (at most SL_REDACT_LABEL_MAX bytes,
 * e.g. "[secret sha256:...]"); id is the caller's, reported when found.
 * 0; -EINVAL (empty label, label too long), -ENOMEM. A value shorter than
 * the redactor's min_len is accepted and never matched (returns 0).
 */
int sl_redact_add(struct sl_redact *r, const void *value, size_t len, uint32_t id,
		  const char *label);
/* a credential known by its SHA-256 only */
int sl_redact_add_fingerprint(struct sl_redact *r, const uint8_t sha256[32], uint32_t id,
			      const char *label);
size_t sl_redact_count(const struct sl_redact *r);

/*
 * Redact in (len bytes). *out is in itself when nothing was found, else
 * s->buf (valid until the next call with s). 0 or -ENOMEM. NULL r: nothing
 * to redact.
 */
int sl_redact_apply(const struct sl_redact *r, struct sl_redact_scratch *s, const void *in,
		    size_t len, unsigned int flags, const void **out, size_t *outlen);
/*
 * Redact with every redactor of rs (NULL entries skipped) in one output:
 * cuts that overlap are one, the first (longest) one's label stands. With
 * SL_REDACT_POSITIONS, values at credential positions of at least min_len
 * bytes (credpos.h) are replaced by "[secret sha256:<their fingerprint>]"
 * (the label a known value of the same bytes has: they join); with
 * SL_REDACT_WHOLE, the whole input is such a value. A known value at a
 * position keeps its own label and id (found).
 */
int sl_redact_apply_set(const struct sl_redact *const *rs, size_t n_rs, size_t min_len,
			struct sl_redact_scratch *s, const void *in, size_t len, unsigned int flags,
			const void **out, size_t *outlen);
void sl_redact_reset_found(struct sl_redact_scratch *s);
/* is this exact value one of r's */
bool sl_redact_contains(const struct sl_redact *r, const void *value, size_t len);
/* bytes of the values r holds */
size_t sl_redact_bytes(const struct sl_redact *r);
/* "[secret sha256:<16 hex>]" of value (as the policy's fingerprints: sl_policy_sha256_str) */
void sl_redact_label(const void *value, size_t len, char label[SL_REDACT_LABEL_MAX + 1]);
void sl_redact_fingerprint_label(const uint8_t sha256[8], char label[SL_REDACT_LABEL_MAX + 1]);

/*
 * Learned values: credentials seen at a position (a decoded request's
 * Authorization header, its HPACK Huffman form) that were in no file or
 * environment, kept so that their other forms in the same or a later record
 * are redacted too. Bounded: two generations of at most max_values values
 * and max_bytes bytes each; when the current one is full, the older one is
 * forgotten. A value learned again goes into the current generation.
 *
 *	struct sl_redact_learned l = {.max_values = 2048, .max_bytes = 256 << 10,
 *				      .min_len = 8};
 *	sl_redact_learn(&l, value, len, label);
 *	sl_redact_apply_set((const struct sl_redact *const *)l.gen, 2, ...);
 *	sl_redact_learned_free(&l);
 */
struct sl_redact_learned {
	struct sl_redact *gen[2]; /* [0]: the current generation */
	size_t max_values, max_bytes, min_len;
};
/* 0, -ENOMEM, -EINVAL (label); values shorter than min_len or over
 * SL_REDACT_LEARN_VALUE_MAX are not kept (0) */
int sl_redact_learn(struct sl_redact_learned *l, const void *value, size_t len, const char *label);
size_t sl_redact_learned_count(const struct sl_redact_learned *l);
void sl_redact_learned_free(struct sl_redact_learned *l);
void sl_redact_scratch_free(struct sl_redact_scratch *s);

#endif
