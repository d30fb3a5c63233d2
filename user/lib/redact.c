// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The redactor (redact.h): credential values replaced by their labels in
 * one pass over the data.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "credpos.h"
#include "redact.h"

#define BLOOM_BITS 16
#define START_BUCKETS 4096 /* power of two */
#define HASH_MULT 0x9E3779B1U

struct value {
	uint8_t *bytes;
	uint32_t len;
	uint32_t id;
	uint32_t next_start; /* the next value in the start bucket, index + 1 */
	char label[SL_REDACT_LABEL_MAX + 1];
};

/* a 4-byte window inside a value (offset >= 1): where a suffix can begin */
struct inner {
	uint32_t key;
	uint32_t value; /* index */
	uint32_t off;
	uint32_t next; /* index + 1 */
};

struct fingerprint {
	uint8_t sha256[32];
	uint32_t id;
	char label[SL_REDACT_LABEL_MAX + 1];
};

struct sl_redact {
	size_t min_len;
	struct value *v;
	size_t n, cap;
	uint64_t bloom[(1U << BLOOM_BITS) / 64]; /* by the first two bytes */
	uint32_t start[START_BUCKETS];		 /* index + 1 of the first value */
	struct inner *in;
	size_t n_in, cap_in;
	uint32_t *in_heads; /* n_in_heads buckets, index + 1 */
	size_t n_in_heads;
	struct fingerprint *fp;
	size_t n_fp, cap_fp;
	size_t bytes; /* of the values */
};

/* an interval of the data to replace */
struct cut {
	size_t a, b;
	const struct sl_redact *r; /* NULL: a credential position (fp: its value's SHA-256) */
	uint32_t value;		   /* index into r->v, or fingerprint index | FP_BIT */
	bool part;
	uint8_t fp[8];
};

#define FP_BIT 0x80000000U

static uint32_t load4(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, 4);
	return w;
}

static uint32_t mix(uint32_t w)
{
	return w * HASH_MULT;
}

int sl_redact_new(size_t min_len, struct sl_redact **out)
{
	struct sl_redact *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->min_len = min_len < SL_REDACT_MIN_LEN ? SL_REDACT_MIN_LEN : min_len;
	*out = r;
	return 0;
}

void sl_redact_free(struct sl_redact *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		OPENSSL_cleanse(r->v[i].bytes, r->v[i].len);
		free(r->v[i].bytes);
	}
	free(r->v);
	free(r->in);
	free(r->in_heads);
	free(r->fp);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}

size_t sl_redact_count(const struct sl_redact *r)
{
	return r ? r->n + r->n_fp : 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 8;
	void *np;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	np = realloc(*p, n * size);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = n;
	return 0;
}

static int label_ok(const char *label)
{
	size_t n = label ? strlen(label) : 0;

	return n && n <= SL_REDACT_LABEL_MAX && label[n - 1] == ']';
}

/*
 * The inner-window buckets (about one per window): the windows from first
 * on are put in; all of them again when there are more windows than
 * buckets (the bucket count doubles: adding is amortised linear).
 */
static int inner_rehash(struct sl_redact *r, size_t first)
{
	size_t nh = 64;
	uint32_t *h;

	if (r->n_in_heads && r->n_in <= r->n_in_heads) {
		for (size_t i = first; i < r->n_in; i++) {
			size_t b = mix(r->in[i].key) & (r->n_in_heads - 1);

			r->in[i].next = r->in_heads[b];
			r->in_heads[b] = (uint32_t)(i + 1);
		}
		return 0;
	}
	while (nh < r->n_in)
		nh *= 2;
	h = calloc(nh, sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_in; i++) {
		size_t b = mix(r->in[i].key) & (nh - 1);

		r->in[i].next = h[b];
		h[b] = (uint32_t)(i + 1);
	}
	free(r->in_heads);
	r->in_heads = h;
	r->n_in_heads = nh;
	return 0;
}

int sl_redact_add(struct sl_redact *r, const void *value, size_t len, uint32_t id,
		  const char *label)
{
	struct value *v;
	uint32_t w, idx;
	size_t first;
	int err;

	if (!r || !label_ok(label) || (len && !value) || len > UINT32_MAX / 2)
		return -EINVAL;
	if (len < r->min_len)
		return 0;
	if (r->n >= FP_BIT - 1)
		return -E2BIG;
	err = grow((void **)&r->v, &r->cap, r->n + 1, sizeof(*r->v));
	if (!err)
		err = grow((void **)&r->in, &r->cap_in, r->n_in + len - 4, sizeof(*r->in));
	if (err)
		return err;
	v = &r->v[r->n];
	memset(v, 0, sizeof(*v));
	v->bytes = malloc(len);
	if (!v->bytes)
		return -ENOMEM;
	memcpy(v->bytes, value, len);
	v->len = (uint32_t)len;
	r->bytes += len;
	v->id = id;
	strcpy(v->label, label);
	idx = (uint32_t)r->n;
	first = r->n_in;
	w = load4(v->bytes);
	r->bloom[(w & 0xffff) / 64] |= 1ULL << ((w & 0xffff) % 64);
	v->next_start = r->start[mix(w) & (START_BUCKETS - 1)];
	r->start[mix(w) & (START_BUCKETS - 1)] = idx + 1;
	for (size_t off = 1; off + 4 <= len; off++) {
		struct inner *in = &r->in[r->n_in++];

		in->key = load4(v->bytes + off);
		in->value = idx;
		in->off = (uint32_t)off;
	}
	r->n++;
	return inner_rehash(r, first);
}

int sl_redact_add_fingerprint(struct sl_redact *r, const uint8_t sha256[32], uint32_t id,
			      const char *label)
{
	struct fingerprint *f;
	int err;

	if (!r || !sha256 || !label_ok(label))
		return -EINVAL;
	err = grow((void **)&r->fp, &r->cap_fp, r->n_fp + 1, sizeof(*r->fp));
	if (err)
		return err;
	f = &r->fp[r->n_fp++];
	memcpy(f->sha256, sha256, 32);
	f->id = id;
	strcpy(f->label, label);
	return 0;
}

static inline bool bloom_has(const struct sl_redact *r, const uint8_t *p)
{
	uint32_t h = (uint32_t)p[0] | (uint32_t)p[1] << 8;

	return r->bloom[h / 64] & (1ULL << (h % 64));
}

static bool token_byte(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=' ||
	       c == ':';
}

/* the cuts of one value: a small growing array kept in the scratch's spare */
struct cuts {
	struct cut *v;
	size_t n, cap;
};

static int cut_add(struct cuts *c, const struct sl_redact *r, size_t a, size_t b, uint32_t value,
		   bool part)
{
	if (grow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v)))
		return -ENOMEM;
	c->v[c->n++] = (struct cut){.a = a, .b = b, .r = r, .value = value, .part = part};
	return 0;
}

/* a credential position's value [a, b): labelled with its own fingerprint */
static int cut_add_position(struct cuts *c, const uint8_t *d, size_t a, size_t b)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	if (grow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v)))
		return -ENOMEM;
	SHA256(d + a, b - a, md);
	c->v[c->n] = (struct cut){.a = a, .b = b};
	memcpy(c->v[c->n].fp, md, sizeof(c->v[c->n].fp));
	OPENSSL_cleanse(md, sizeof(md));
	c->n++;
	return 0;
}

/* by start, the longest first; a known value before a position (its id is reported) */
static int cut_cmp(const void *x, const void *y)
{
	const struct cut *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	if (a->b != b->b)
		return a->b > b->b ? -1 : 1;
	return (a->r == NULL) - (b->r == NULL);
}

/*
 * Data that begins with the end of a value (the value began in what came
 * before), or is all inside one.
 */
static int find_start_edge(const struct sl_redact *r, const uint8_t *d, size_t len, struct cuts *c)
{
	size_t best = 0;
	uint32_t bv = 0;

	if (len < SL_REDACT_EDGE_MIN || !r->n_in_heads)
		return 0;
	for (uint32_t i = r->in_heads[mix(load4(d)) & (r->n_in_heads - 1)]; i;
	     i = r->in[i - 1].next) {
		const struct inner *in = &r->in[i - 1];
		const struct value *v = &r->v[in->value];
		size_t k = v->len - in->off;

		if (in->key != load4(d))
			continue;
		if (k > len)
			k = len; /* all of the data is a piece of the value */
		if (k <= best || memcmp(d, v->bytes + in->off, k))
			continue;
		best = k;
		bv = in->value;
	}
	return best ? cut_add(c, r, 0, best, bv, true) : 0;
}

/* every whole value, left to right; and data that ends with a value's start */
static int find_values(const struct sl_redact *r, const uint8_t *d, size_t len, unsigned int flags,
		       struct cuts *c)
{
	size_t end_best = 0;
	uint32_t end_v = 0;

	for (size_t i = 0; i + 4 <= len;) {
		uint32_t w, bestv = 0;
		size_t best = 0;

		if (!bloom_has(r, d + i)) {
			i++;
			continue;
		}
		w = load4(d + i);
		for (uint32_t j = r->start[mix(w) & (START_BUCKETS - 1)]; j;
		     j = r->v[j - 1].next_start) {
			const struct value *v = &r->v[j - 1];

			if (load4(v->bytes) != w)
				continue;
			if (v->len <= len - i) {
				if (v->len > best && !memcmp(d + i, v->bytes, v->len)) {
					best = v->len;
					bestv = j - 1;
				}
			} else if ((flags & SL_REDACT_EDGES) && !end_best &&
				   !memcmp(d + i, v->bytes, len - i)) {
				/* the data ends inside this value: the earliest start wins */
				end_best = len - i;
				end_v = j - 1;
			}
		}
		if (best) {
			if (cut_add(c, r, i, i + best, bestv, false))
				return -ENOMEM;
			i += best;
		} else {
			i++;
		}
	}
	return end_best ? cut_add(c, r, len - end_best, len, end_v, true) : 0;
}

static int find_fingerprints(const struct sl_redact *r, const uint8_t *d, size_t len,
			     struct cuts *c)
{
	size_t i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && !token_byte(d[i]))
			i++;
		start = i;
		while (i < len && token_byte(d[i]))
			i++;
		end = i;
		/* the token, and the part after its first '=' or ':' */
		for (int pass = 0; pass < 2 && end > start; pass++) {
			size_t ts = start;
			uint8_t md[SHA256_DIGEST_LENGTH];

			if (pass == 1) {
				const uint8_t *eq = memchr(d + start, '=', end - start);

				if (!eq)
					eq = memchr(d + start, ':', end - start);
				if (!eq)
					break;
				ts = (size_t)(eq - d) + 1;
			}
			if (end - ts < r->min_len)
				continue;
			SHA256(d + ts, end - ts, md);
			for (size_t f = 0; f < r->n_fp; f++) {
				if (memcmp(md, r->fp[f].sha256, 32))
					continue;
				if (cut_add(c, r, ts, end, (uint32_t)f | FP_BIT, false))
					return -ENOMEM;
				pass = 2;
				break;
			}
		}
	}
	return 0;
}

static void found_add(struct sl_redact_scratch *s, uint32_t id)
{
	if (id == SL_REDACT_NO_ID)
		return;
	for (size_t i = 0; i < s->n_found; i++)
		if (s->found[i] == id)
			return;
	if (grow((void **)&s->found, &s->cap_found, s->n_found + 1, sizeof(*s->found)))
		return; /* the value is still replaced; only the list is short */
	s->found[s->n_found++] = id;
}

static uint32_t cut_id(const struct cut *c)
{
	if (!c->r)
		return SL_REDACT_NO_ID;
	if (c->value & FP_BIT)
		return c->r->fp[c->value & ~FP_BIT].id;
	return c->r->v[c->value].id;
}

static int put(struct sl_redact_scratch *s, size_t *n, const void *p, size_t len)
{
	if (grow((void **)&s->buf, &s->cap, *n + len + 1, 1))
		return -ENOMEM;
	memcpy(s->buf + *n, p, len);
	*n += len;
	return 0;
}

void sl_redact_fingerprint_label(const uint8_t sha256[8], char label[SL_REDACT_LABEL_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	char *p = label;

	/* as sl_policy_sha256_str: "sha256:" and the first 16 hex digits */
	memcpy(p, "[secret sha256:", 15);
	p += 15;
	for (int i = 0; i < 8; i++) {
		*p++ = hex[sha256[i] >> 4];
		*p++ = hex[sha256[i] & 15];
	}
	memcpy(p, "]", 2);
}

void sl_redact_label(const void *value, size_t len, char label[SL_REDACT_LABEL_MAX + 1])
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256(value, len, md);
	sl_redact_fingerprint_label(md, label);
	OPENSSL_cleanse(md, sizeof(md));
}

static int put_label(struct sl_redact_scratch *s, size_t *n, const struct cut *c)
{
	char own[SL_REDACT_LABEL_MAX + 1];
	const char *label;
	size_t ll;
	int err;

	if (!c->r) {
		sl_redact_fingerprint_label(c->fp, own);
		label = own;
	} else if (c->value & FP_BIT) {
		label = c->r->fp[c->value & ~FP_BIT].label;
	} else {
		label = c->r->v[c->value].label;
	}
	found_add(s, cut_id(c));
	ll = strlen(label);
	if (!c->part)
		return put(s, n, label, ll);
	err = put(s, n, label, ll - 1); /* without its ']' */
	return err ? err : put(s, n, " part]", 6);
}

static int find_positions(const uint8_t *d, size_t len, size_t min_len, unsigned int flags,
			  struct cuts *c)
{
	struct sl_credpos_spans sp = {0};
	int err = 0;

	if (flags & SL_REDACT_WHOLE) {
		if (len >= min_len && (len < 7 || memcmp(d, "[secret", 7)))
			err = cut_add_position(c, d, 0, len);
		return err;
	}
	err = sl_credpos_scan(d, len, min_len, &sp);
	for (size_t i = 0; i < sp.n && !err; i++)
		err = cut_add_position(c, d, sp.v[i].a, sp.v[i].b);
	sl_credpos_spans_free(&sp);
	return err;
}

int sl_redact_apply_set(const struct sl_redact *const *rs, size_t n_rs, size_t min_len,
			struct sl_redact_scratch *s, const void *in, size_t len, unsigned int flags,
			const void **out, size_t *outlen)
{
	const uint8_t *d = in;
	struct cuts c = {0};
	size_t n = 0, at = 0;
	int err = 0;

	*out = in;
	*outlen = len;
	if (!len)
		return 0;
	for (size_t k = 0; k < n_rs && !err; k++) {
		const struct sl_redact *r = rs[k];

		if (!r || (!r->n && !r->n_fp))
			continue;
		if (r->n && (flags & SL_REDACT_EDGES))
			err = find_start_edge(r, d, len, &c);
		if (!err && r->n)
			err = find_values(r, d, len, flags, &c);
		if (!err && r->n_fp)
			err = find_fingerprints(r, d, len, &c);
	}
	if (!err && (flags & (SL_REDACT_POSITIONS | SL_REDACT_WHOLE)))
		err = find_positions(
		    d, len, min_len < SL_REDACT_MIN_LEN ? SL_REDACT_MIN_LEN : min_len, flags, &c);
	if (err || !c.n)
		goto out;
	qsort(c.v, c.n, sizeof(*c.v), cut_cmp);
	/* overlapping cuts are one: the first one's label stands for them */
	for (size_t i = 0; i < c.n && !err;) {
		struct cut m = c.v[i];

		for (i++; i < c.n && c.v[i].a < m.b; i++) {
			if (c.v[i].b > m.b)
				m.b = c.v[i].b;
			found_add(s, cut_id(&c.v[i]));
		}
		err = put(s, &n, d + at, m.a - at);
		if (!err)
			err = put_label(s, &n, &m);
		at = m.b;
	}
	if (!err)
		err = put(s, &n, d + at, len - at);
	if (!err) {
		s->buf[n] = '\0';
		*out = s->buf;
		*outlen = n;
	}
out:
	free(c.v);
	return err;
}

int sl_redact_apply(const struct sl_redact *r, struct sl_redact_scratch *s, const void *in,
		    size_t len, unsigned int flags, const void **out, size_t *outlen)
{
	return sl_redact_apply_set(&r, 1, r ? r->min_len : SL_REDACT_MIN_LEN, s, in, len, flags,
				   out, outlen);
}

bool sl_redact_contains(const struct sl_redact *r, const void *value, size_t len)
{
	uint32_t w;

	if (!r || len < r->min_len)
		return false;
	w = load4(value);
	for (uint32_t j = r->start[mix(w) & (START_BUCKETS - 1)]; j; j = r->v[j - 1].next_start)
		if (r->v[j - 1].len == len && !memcmp(r->v[j - 1].bytes, value, len))
			return true;
	return false;
}

size_t sl_redact_bytes(const struct sl_redact *r)
{
	return r ? r->bytes : 0;
}

int sl_redact_learn(struct sl_redact_learned *l, const void *value, size_t len, const char *label)
{
	struct sl_redact *r = l->gen[0];
	int err;

	if (len < l->min_len || len > SL_REDACT_LEARN_VALUE_MAX)
		return 0;
	if (r && sl_redact_contains(r, value, len))
		return 0;
	if (!r || r->n >= l->max_values || r->bytes + len > l->max_bytes) {
		/* a new generation: the oldest one is forgotten */
		err = sl_redact_new(l->min_len, &r);
		if (err)
			return err;
		sl_redact_free(l->gen[1]);
		l->gen[1] = l->gen[0];
		l->gen[0] = r;
	}
	return sl_redact_add(r, value, len, SL_REDACT_NO_ID, label);
}

size_t sl_redact_learned_count(const struct sl_redact_learned *l)
{
	return sl_redact_count(l->gen[0]) + sl_redact_count(l->gen[1]);
}

void sl_redact_learned_free(struct sl_redact_learned *l)
{
	sl_redact_free(l->gen[0]);
	sl_redact_free(l->gen[1]);
	l->gen[0] = l->gen[1] = NULL;
}

void sl_redact_reset_found(struct sl_redact_scratch *s)
{
	s->n_found = 0;
}

void sl_redact_scratch_free(struct sl_redact_scratch *s)
{
	if (!s)
		return;
	if (s->buf)
		OPENSSL_cleanse(s->buf, s->cap);
	free(s->buf);
	free(s->found);
	memset(s, 0, sizeof(*s));
}
