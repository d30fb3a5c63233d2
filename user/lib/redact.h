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
void sl_redact_reset_found(struct sl_redact_scratch *s);
void sl_redact_scratch_free(struct sl_redact_scratch *s);

#endif
