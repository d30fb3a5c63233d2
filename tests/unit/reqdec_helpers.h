/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Helpers of the request decoder's unit tests (test_reqdec*.c). */
#ifndef SL_TEST_REQDEC_HELPERS_H
#define SL_TEST_REQDEC_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqdec.h"

#define RQ_MAX 64

struct rqs {
	struct sl_rq *r[RQ_MAX];
	size_t n;
};

static inline void rqs_free(struct rqs *s)
{
	for (size_t i = 0; i < s->n; i++)
		sl_rq_free(s->r[i]);
	s->n = 0;
}

static inline void rqs_take(struct sl_reqdec *d, struct rqs *s)
{
	struct sl_rq *r;

	while ((r = sl_reqdec_next(d))) {
		assert_true(s->n < RQ_MAX);
		s->r[s->n++] = r;
	}
}

/* feed buf in pieces of step bytes (0: whole), then end the connection if fin */
static inline void rq_run(const struct sl_reqdec_limits *lim, const void *buf, size_t len,
			  size_t step, bool fin, struct rqs *out)
{
	struct sl_reqdec *d;
	const char *p = buf;

	assert_int_equal(sl_reqdec_new(lim, &d), 0);
	assert_int_equal(sl_reqdec_set_origin(d, "https", "origin.test"), 0);
	if (!step)
		step = len ? len : 1;
	for (size_t i = 0; i < len; i += step) {
		assert_int_equal(sl_reqdec_feed(d, p + i, len - i < step ? len - i : step), 0);
		rqs_take(d, out);
	}
	if (fin)
		assert_int_equal(sl_reqdec_finish(d), 0);
	rqs_take(d, out);
	sl_reqdec_free(d);
}

static inline void *read_fixture(const char *name, size_t *len)
{
	char path[512];
	const char *dir = getenv("REQDEC_FIXTURES");
	FILE *f;
	void *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/unit/fixtures/reqdec", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("fixture %s: cannot open", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static inline const struct sl_rq_header *rq_hdr(const struct sl_rq *r, const char *name)
{
	for (uint32_t i = 0; i < r->n_headers; i++)
		if (strcmp(r->headers[i].name, name) == 0)
			return &r->headers[i];
	return NULL;
}

/* the request is undecidable for reason, and detail contains what */
#define assert_undecidable(r, why, what)                                                           \
	do {                                                                                       \
		if ((r)->status != SL_RQ_UNDECIDABLE || (r)->reason != (why) ||                    \
		    !strstr((r)->detail, (what)))                                                  \
			fail_msg("expected %s \"%s\", got status %d %s \"%s\"",                    \
				 sl_rq_reason_name(why), (what), (r)->status,                      \
				 sl_rq_reason_name((r)->reason), (r)->detail);                     \
	} while (0)

#define assert_decoded(r)                                                                          \
	do {                                                                                       \
		if ((r)->status != SL_RQ_DECODED)                                                  \
			fail_msg("expected decoded, got %s \"%s\"",                                \
				 sl_rq_reason_name((r)->reason), (r)->detail);                     \
	} while (0)

#define assert_text_has(r, s)                                                                      \
	do {                                                                                       \
		if (!strstr((r)->text, (s)))                                                       \
			fail_msg("text lacks \"%s\":\n%s", (s), (r)->text);                        \
	} while (0)

#endif
