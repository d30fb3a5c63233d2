// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The redactor (user/lib/redact.h): whole values anywhere, the longest of
 * overlapping ones, pieces at the edges of a stream's chunks (a credential
 * split across two writes is in neither), fingerprint-only entries, the ids
 * found; and on generated data: no value, and with edges no piece of one of
 * at least SL_REDACT_EDGE_MIN bytes at either end, survives.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "redact.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct fx {
	struct sl_redact *r;
	struct sl_redact_scratch s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(sl_redact_new(8, &f->r), 0);
	assert_int_equal(sl_redact_add(f->r, "sk-prod-0123456789abcdef", 24, 1, "[secret A]"), 0);
	assert_int_equal(sl_redact_add(f->r, "tok_staging_77777777", 20, 2, "[secret B]"), 0);
	/* a longer value with the same start as A */
	assert_int_equal(
	    sl_redact_add(f->r, "sk-prod-0123456789abcdef-EXTENDED", 33, 3, "[secret C]"), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sl_redact_scratch_free(&f->s);
	sl_redact_free(f->r);
	free(f);
	return 0;
}

/* redact text, return a NUL-terminated copy */
static char *red(struct fx *f, const char *text, unsigned int flags)
{
	const void *out;
	size_t n;
	char *c;

	assert_int_equal(sl_redact_apply(f->r, &f->s, text, strlen(text), flags, &out, &n), 0);
	c = malloc(n + 1);
	assert_non_null(c);
	memcpy(c, out, n);
	c[n] = '\0';
	return c;
}

#define EXPECT_RED(f, in, flags, want)                                                             \
	do {                                                                                       \
		char *got_ = red(f, in, flags);                                                    \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

static void test_whole_values(void **state)
{
	struct fx *f = *state;
	const void *out;
	size_t n;
	const char *clean = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	EXPECT_RED(f, "Authorization: Bearer sk-prod-0123456789abcdef\r\n", 0,
		   "Authorization: Bearer [secret A]\r\n");
	EXPECT_RED(f, "sk-prod-0123456789abcdef", 0, "[secret A]");
	EXPECT_RED(f, "a=tok_staging_77777777&b=sk-prod-0123456789abcdef;", 0,
		   "a=[secret B]&b=[secret A];");
	/* the longest value starting at a position wins */
	EXPECT_RED(f, "x sk-prod-0123456789abcdef-EXTENDED y", 0, "x [secret C] y");
	/* twice in a row */
	EXPECT_RED(f, "tok_staging_77777777tok_staging_77777777", 0, "[secret B][secret B]");
	/* ids found, each once, in order */
	sl_redact_reset_found(&f->s);
	free(red(f, "tok_staging_77777777 sk-prod-0123456789abcdef tok_staging_77777777", 0));
	assert_int_equal(f->s.n_found, 2);
	assert_int_equal(f->s.found[0], 2);
	assert_int_equal(f->s.found[1], 1);
	/* nothing found: the input itself comes back */
	sl_redact_reset_found(&f->s);
	assert_int_equal(
	    sl_redact_apply(f->r, &f->s, clean, strlen(clean), SL_REDACT_EDGES, &out, &n), 0);
	assert_ptr_equal(out, clean);
	assert_int_equal(n, strlen(clean));
	assert_int_equal(f->s.n_found, 0);
	/* a near miss is not a value */
	EXPECT_RED(f, "sk-prod-0123456789abcdeX", 0, "sk-prod-0123456789abcdeX");
}

static void test_edges(void **state)
{
	struct fx *f = *state;
	char *got;

	/* a write that ends inside a value (A's start is C's too: either
	 * label), then the next one that begins with the rest */
	got = red(f, "Authorization: Bearer sk-prod-01234", SL_REDACT_EDGES);
	assert_true(!strcmp(got, "Authorization: Bearer [secret A part]") ||
		    !strcmp(got, "Authorization: Bearer [secret C part]"));
	free(got);
	EXPECT_RED(f, "56789abcdef\r\nHost: x\r\n", SL_REDACT_EDGES,
		   "[secret A part]\r\nHost: x\r\n");
	/* a piece in the middle of a value, all of the data */
	EXPECT_RED(f, "_staging_7", SL_REDACT_EDGES, "[secret B part]");
	/* edges only when asked: other values are not streams */
	EXPECT_RED(f, "Authorization: Bearer sk-prod-01234", 0,
		   "Authorization: Bearer sk-prod-01234");
	/* fewer than SL_REDACT_EDGE_MIN bytes of a value at an edge stay */
	EXPECT_RED(f, "path/sk-", SL_REDACT_EDGES, "path/sk-");
	EXPECT_RED(f, "777 rest", SL_REDACT_EDGES, "777 rest");
	/* a whole value and an end piece in one chunk */
	EXPECT_RED(f, "tok_staging_77777777 then tok_stag", SL_REDACT_EDGES,
		   "[secret B] then [secret B part]");
}

static void test_min_len_and_bad_labels(void **state)
{
	struct sl_redact *r;
	struct sl_redact_scratch s = {0};
	const void *out;
	size_t n;

	(void)state;
	assert_int_equal(sl_redact_new(8, &r), 0);
	assert_int_equal(sl_redact_add(r, "short", 5, 1, "[x]"), 0); /* accepted, ignored */
	assert_int_equal(sl_redact_add(r, "longenough", 10, 1, ""), -EINVAL);
	assert_int_equal(sl_redact_add(r, "longenough", 10, 1, "no bracket"), -EINVAL);
	assert_int_equal(sl_redact_count(r), 0);
	assert_int_equal(sl_redact_apply(r, &s, "a short one", 11, 0, &out, &n), 0);
	assert_int_equal(n, 11);
	sl_redact_free(r);
	sl_redact_scratch_free(&s);
	/* no redactor: nothing to do */
	assert_int_equal(sl_redact_apply(NULL, &s, "x", 1, 0, &out, &n), 0);
	assert_int_equal(n, 1);
}

static void test_fingerprints(void **state)
{
	struct sl_redact *r;
	struct sl_redact_scratch s = {0};
	uint8_t md[SHA256_DIGEST_LENGTH];
	const char *tok = "ghp_ABCDEFGHIJKLMNOPQRST";
	const char *in = "curl -H 'Authorization: Bearer ghp_ABCDEFGHIJKLMNOPQRST' TOKEN=ghp_"
			 "ABCDEFGHIJKLMNOPQRST x";
	const void *out;
	size_t n;

	(void)state;
	SHA256((const uint8_t *)tok, strlen(tok), md);
	assert_int_equal(sl_redact_new(8, &r), 0);
	assert_int_equal(sl_redact_add_fingerprint(r, md, 9, "[fp T]"), 0);
	assert_int_equal(sl_redact_apply(r, &s, in, strlen(in), 0, &out, &n), 0);
	assert_int_equal(n, strlen("curl -H 'Authorization: Bearer [fp T]' TOKEN=[fp T] x"));
	assert_memory_equal(out, "curl -H 'Authorization: Bearer [fp T]' TOKEN=[fp T] x", n);
	assert_int_equal(s.n_found, 1);
	assert_int_equal(s.found[0], 9);
	sl_redact_free(r);
	sl_redact_scratch_free(&s);
}

static bool contains(const uint8_t *h, size_t hl, const uint8_t *n, size_t nl)
{
	return nl <= hl && memmem(h, hl, n, nl) != NULL;
}

/* generated: values inserted in random bytes, split at random points */
static void test_generated(void **state)
{
	enum {
		NV = 40,
		ROUNDS = 3000
	};
	static uint8_t vals[NV][64];
	size_t vlen[NV];
	struct sl_redact *r;
	struct sl_redact_scratch s = {0};

	(void)state;
	assert_int_equal(sl_redact_new(8, &r), 0);
	for (int v = 0; v < NV; v++) {
		vlen[v] = 8 + rnd() % 56;
		/* a small alphabet: values share starts and pieces with the data */
		for (size_t i = 0; i < vlen[v]; i++)
			vals[v][i] = (uint8_t)('a' + rnd() % 4);
		assert_int_equal(sl_redact_add(r, vals[v], vlen[v], (uint32_t)v, "[s]"), 0);
	}
	for (int round = 0; round < ROUNDS; round++) {
		uint8_t data[512];
		size_t len = 1 + rnd() % sizeof(data), cut;
		const void *out;
		size_t n;

		for (size_t i = 0; i < len; i++)
			data[i] = (uint8_t)('a' + rnd() % 5);
		for (int k = rnd() % 4; k > 0; k--) {
			int v = (int)(rnd() % NV);
			size_t at = rnd() % len;

			if (at + vlen[v] <= len)
				memcpy(data + at, vals[v], vlen[v]);
		}
		/* one chunk of the stream: from a random cut on */
		cut = rnd() % len;
		assert_int_equal(
		    sl_redact_apply(r, &s, data + cut, len - cut, SL_REDACT_EDGES, &out, &n), 0);
		for (int v = 0; v < NV; v++) {
			const uint8_t *o = out;

			assert_false(contains(o, n, vals[v], vlen[v]));
			/* no piece of a value at either end (the output's own
			 * labels are not made of the value alphabet) */
			for (size_t k = SL_REDACT_EDGE_MIN; k < vlen[v] && k <= n; k++) {
				assert_false(!memcmp(o + n - k, vals[v], k));
				assert_false(!memcmp(o, vals[v] + vlen[v] - k, k));
			}
		}
	}
	sl_redact_free(r);
	sl_redact_scratch_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_whole_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edges, setup, teardown),
	    cmocka_unit_test(test_min_len_and_bad_labels),
	    cmocka_unit_test(test_fingerprints),
	    cmocka_unit_test(test_generated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
