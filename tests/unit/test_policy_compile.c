// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policy compiler (user/lib/policy_compile.h): the two keyword DFAs against
 * the parser's reference matcher (one buffer and every two-chunk split),
 * label strings, the shipped policies on real requests and command lines,
 * the path / IP / host label tables, and every limit with its message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "policy.h"
#include "policy_compile.h"

#define F "t.yaml"

static const char *srcdir(void)
{
	const char *d = getenv("SL_SRCDIR");

	return d && *d ? d : ".";
}

static struct sl_policy *load_buf(const char *text)
{
	struct sl_policy_errors errs;
	const struct sl_policy_error *e;
	struct sl_policy *p = NULL;
	char line[2048];
	int err;

	sl_policy_errors_init(&errs);
	err = sl_policy_load_buf(F, text, strlen(text), &p, &errs);
	sl_policy_errors_foreach(&errs, e)
	{
		sl_policy_error_format(e, line, sizeof(line));
		print_error("unexpected: %s\n", line);
	}
	sl_policy_errors_free(&errs);
	assert_int_equal(err, 0);
	assert_non_null(p);
	return p;
}

static struct sl_policy *load_path(const char *rel)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", srcdir(), rel);
	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_file(path, &p, &errs), 0);
	sl_policy_errors_free(&errs);
	return p;
}

static struct sl_compiled_policy *compile_ok(const struct sl_policy *p)
{
	struct sl_compiled_policy *c = NULL;
	char err[512] = "";
	int ret = sl_policy_compile(p, &c, err, sizeof(err));

	if (ret)
		print_error("compile: %d %s\n", ret, err);
	assert_int_equal(ret, 0);
	assert_non_null(c);
	return c;
}

/* compile, expect code and a message containing needle; *out stays NULL */
static void compile_fails(const struct sl_policy *p, int code, const char *needle)
{
	struct sl_compiled_policy *c = NULL;
	char err[512] = "";
	int ret = sl_policy_compile(p, &c, err, sizeof(err));

	if (ret != code || !strstr(err, needle))
		print_error("got %d '%s', wanted %d '%s'\n", ret, err, code, needle);
	assert_int_equal(ret, code);
	assert_null(c);
	assert_non_null(strstr(err, needle));
}

/* ---- scanning helpers ---- */

struct scan {
	uint64_t kw[SL_KW_WORDS];
	uint64_t env;
};

static struct scan dfa_scan(const struct sl_compiled_policy *c, const void *buf, size_t len)
{
	struct scan s = {0};
	uint16_t cs = 0, ci = 0;

	sl_compiled_scan(c, &cs, &ci, buf, len, s.kw, &s.env);
	return s;
}

static struct scan dfa_scan_s(const struct sl_compiled_policy *c, const char *str)
{
	return dfa_scan(c, str, strlen(str));
}

/* the same buffer fed in two chunks, split at each position */
static void check_splits(const struct sl_compiled_policy *c, const uint8_t *buf, size_t len,
			 const struct scan *whole)
{
	for (size_t cut = 0; cut <= len; cut++) {
		struct scan s = {0};
		uint16_t cs = 0, ci = 0;

		sl_compiled_scan(c, &cs, &ci, buf, cut, s.kw, &s.env);
		sl_compiled_scan(c, &cs, &ci, buf + cut, len - cut, s.kw, &s.env);
		assert_memory_equal(s.kw, whole->kw, sizeof(s.kw));
		assert_int_equal(s.env, whole->env);
	}
}

/* keywords of one channel, as a mask of the DFA's bits */
static void channel_mask(const struct sl_policy *p, uint32_t chan, uint64_t m[SL_KW_WORDS])
{
	memset(m, 0, SL_KW_WORDS * sizeof(*m));
	for (uint32_t i = 0; i < p->n_keywords; i++)
		if (p->keywords[i].channels & SL_CHAN_BIT(chan))
			m[i / 64] |= 1ULL << (i % 64);
}

/*
 * The DFA against the reference on one buffer: keyword bits of each channel
 * equal, every pattern's verdict equal, and every split gives the same.
 */
static void check_against_reference(const struct sl_policy *p, const struct sl_compiled_policy *c,
				    const void *buf, size_t len)
{
	struct scan whole = dfa_scan(c, buf, len);
	uint64_t pats[SL_PAT_WORDS];

	sl_compiled_patterns(c, whole.kw, pats);
	for (uint32_t chan = SL_CHAN_EXEC; chan <= SL_CHAN_TLS; chan++) {
		uint64_t ref[SL_POLICY_KW_WORDS] = {0}, m[SL_KW_WORDS];

		sl_policy_keywords_scan(p, chan, buf, len, ref);
		channel_mask(p, chan, m);
		for (int w = 0; w < SL_KW_WORDS; w++) {
			if ((whole.kw[w] & m[w]) != ref[w])
				print_error("channel %u word %d: dfa %#llx ref %#llx on '%.*s'\n",
					    chan, w, (unsigned long long)(whole.kw[w] & m[w]),
					    (unsigned long long)ref[w], (int)len,
					    (const char *)buf);
			assert_int_equal(whole.kw[w] & m[w], ref[w]);
		}
		for (uint32_t i = 0; i < p->n_patterns; i++) {
			bool dfa = (pats[i / 64] >> (i % 64)) & 1;

			if (!(p->patterns[i].channels & SL_CHAN_BIT(chan)))
				continue;
			assert_int_equal(dfa, sl_policy_pattern_match(p, i, chan, buf, len));
		}
	}
	check_splits(c, buf, len, &whole);
}

static bool kw_has(const struct scan *s, const struct sl_policy *p, const char *bytes, bool icase)
{
	for (uint32_t i = 0; i < p->n_keywords; i++)
		if (p->keywords[i].icase == icase && !strcmp((char *)p->keywords[i].bytes, bytes))
			return (s->kw[i / 64] >> (i % 64)) & 1;
	fail_msg("no keyword '%s'", bytes);
	return false;
}

static int pattern_index(const struct sl_policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->n_patterns; i++)
		if (!strcmp(p->patterns[i].name, name))
			return (int)i;
	fail_msg("no pattern '%s'", name);
	return -1;
}

static bool pattern_hit(const struct sl_compiled_policy *c, const struct sl_policy *p,
			const char *name, const void *buf, size_t len)
{
	struct scan s = dfa_scan(c, buf, len);
	uint64_t pats[SL_PAT_WORDS];
	int i = pattern_index(p, name);

	sl_compiled_patterns(c, s.kw, pats);
	return (pats[i / 64] >> (i % 64)) & 1;
}

static bool exec_hit(const struct sl_compiled_policy *c, const struct sl_policy *p,
		     const char *name, char *const argv[])
{
	size_t len;
	char *subj;
	bool hit;

	assert_int_equal(sl_policy_exec_subject(argv, &subj, &len), 0);
	hit = pattern_hit(c, p, name, subj, len);
	check_against_reference(p, c, subj, len);
	free(subj);
	return hit;
}

/* deterministic xorshift, so a failure reproduces */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/*
 * Random buffers built from keyword pieces (whole, cut, with letters in
 * random case), separators and random bytes, so that matches, near misses
 * and overlaps are frequent.
 */
static size_t random_input(const struct sl_policy *p, uint8_t *buf, size_t cap)
{
	static const char *const fill[] = {" ", "  ", "(", "{", "\"", "-", "/", "e", "De", "\n"};
	size_t n = 0, target = 1 + rnd() % (cap - 1);

	while (n < target) {
		uint64_t r = rnd() % 10;
		const uint8_t *src;
		size_t l;

		if (r < 5 && p->n_keywords) {
			const struct sl_policy_keyword *k = &p->keywords[rnd() % p->n_keywords];
			size_t from = rnd() % 3 == 0 ? rnd() % k->len : 0;

			src = k->bytes + from;
			l = rnd() % 4 == 0 ? 1 + rnd() % (k->len - from) : k->len - from;
		} else if (r < 8) {
			src = (const uint8_t *)fill[rnd() % 10];
			l = strlen((const char *)src);
		} else {
			uint8_t b = (uint8_t)rnd();

			src = &b;
			l = 1;
			if (n < cap)
				buf[n++] = b;
			continue;
		}
		for (size_t i = 0; i < l && n < cap; i++) {
			uint8_t b = src[i];

			if (rnd() % 3 == 0 && b >= 'a' && b <= 'z')
				b = (uint8_t)(b - 32);
			else if (rnd() % 3 == 0 && b >= 'A' && b <= 'Z')
				b = (uint8_t)(b + 32);
			buf[n++] = b;
		}
	}
	return n;
}

static void random_rounds(const struct sl_policy *p, const struct sl_compiled_policy *c, int n)
{
	uint8_t buf[160];

	for (int i = 0; i < n; i++) {
		size_t len = random_input(p, buf, sizeof(buf));

		check_against_reference(p, c, buf, len);
	}
}

/* ---- keyword automaton ---- */

static const char *const kw_policy =
    "version: 1\n"
    "environments:\n  prod: {}\n"
    "patterns:\n"
    "  gql:\n    channel: tls\n    all:\n      - mutation\n"
    "      - any: [volumeDelete, Delete, Delete(, eDel, ab, abc, bc, abcd]\n"
    "  sql:\n    channel: [exec, tls]\n    any:\n      - icase: drop table\n"
    "      - icase: DROP\n      - icase: table\n      - {literal: TABLE}\n"
    "  del:\n    channel: tls\n    all:\n      - icase: delete from\n    none:\n"
    "      - icase: where\n"
    "  bin:\n    channel: exec\n    any: [\"\\0\\x01\", \"\\t\\n\", \"aaa\", \"aa\"]\n";

static void test_keywords_reference(void **state)
{
	struct sl_policy *p = load_buf(kw_policy);
	struct sl_compiled_policy *c = compile_ok(p);
	static const char *const fixed[] = {
	    "",
	    "a",
	    "mutation { volumeDelete(volumeId: \"v1\") }",
	    "MUTATION { VOLUMEDELETE }",
	    "mutation{serviceDelete(id:1)}",
	    "abcd",
	    "xabcabcdbc",
	    "drop table x; DROP TABLE y; DrOp TaBlE",
	    "Drop\tTable",
	    "DELETE FROM t",
	    "delete from t where x",
	    "DELETE FROM t WHERE x",
	    "aaaa",
	    "eDeleDelete(",
	    "TABLE table Table",
	};

	(void)state;
	/* all keywords in one DFA or the other, once each: no state explosion */
	assert_true(c->hdr.cs_states > 1 && c->hdr.ci_states > 1);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_against_reference(p, c, fixed[i], strlen(fixed[i]));
	check_against_reference(p, c, "x\0\x01\t\ny", 6);
	random_rounds(p, c, 3000);
	sl_compiled_policy_free(c);
	sl_policy_free(p);
}

static void test_keywords_case_and_overlap(void **state)
{
	struct sl_policy *p = load_buf(kw_policy);
	struct sl_compiled_policy *c = compile_ok(p);
	struct scan s;

	(void)state;
	/* icase keywords: any letter case; literal ones: exactly */
	s = dfa_scan_s(c, "DrOp TaBlE");
	assert_true(kw_has(&s, p, "drop table", true));
	assert_true(kw_has(&s, p, "drop", true));
	assert_true(kw_has(&s, p, "table", true));
	assert_false(kw_has(&s, p, "TABLE", false));
	s = dfa_scan_s(c, "TABLE");
	assert_true(kw_has(&s, p, "TABLE", false));
	assert_true(kw_has(&s, p, "table", true));
	s = dfa_scan_s(c, "VOLUMEDELETE volumedelete");
	assert_false(kw_has(&s, p, "volumeDelete", false));
	assert_false(kw_has(&s, p, "Delete", false));

	/* overlapping: "volumeDelete" contains "Delete" and "eDel" */
	s = dfa_scan_s(c, "volumeDelete");
	assert_true(kw_has(&s, p, "volumeDelete", false));
	assert_true(kw_has(&s, p, "Delete", false));
	assert_true(kw_has(&s, p, "eDel", false));
	assert_false(kw_has(&s, p, "Delete(", false));
	/* prefixes and suffixes of each other: ab, abc, abcd, bc */
	s = dfa_scan_s(c, "abc");
	assert_true(kw_has(&s, p, "ab", false));
	assert_true(kw_has(&s, p, "abc", false));
	assert_true(kw_has(&s, p, "bc", false));
	assert_false(kw_has(&s, p, "abcd", false));
	s = dfa_scan_s(c, "aabd");
	assert_true(kw_has(&s, p, "ab", false));
	assert_false(kw_has(&s, p, "bc", false));
	/* failure to a longer suffix: "abab" + "cd" */
	s = dfa_scan_s(c, "ababcd");
	assert_true(kw_has(&s, p, "abcd", false));
	/* keyword ending at a failure target of another: "aaa" inside "aaaa" */
	s = dfa_scan_s(c, "xaaa");
	assert_true(kw_has(&s, p, "aaa", false));
	assert_true(kw_has(&s, p, "aa", false));
	/* none: delete from without where */
	assert_true(pattern_hit(c, p, "del", "DELETE FROM t", strlen("DELETE FROM t")));
	assert_false(pattern_hit(c, p, "del", "DELETE FROM t WHERE id=1",
				 strlen("DELETE FROM t WHERE id=1")));
	assert_true(pattern_hit(c, p, "gql", "mutation{ xDelete }", strlen("mutation{ xDelete }")));
	assert_false(
	    pattern_hit(c, p, "gql", "query{ volumeDelete }", strlen("query{ volumeDelete }")));
	sl_compiled_policy_free(c);
	sl_policy_free(p);
}

static void test_keyword_binary(void **state)
{
	struct sl_policy *p = load_buf(kw_policy);
	struct sl_compiled_policy *c = compile_ok(p);
	static const uint8_t in[] = {'x', 0, 1, 'y'};
	uint32_t idx = UINT32_MAX;
	struct scan s;

	(void)state;
	for (uint32_t i = 0; i < p->n_keywords; i++)
		if (p->keywords[i].len == 2 && p->keywords[i].bytes[0] == 0 &&
		    p->keywords[i].bytes[1] == 1)
			idx = i;
	assert_int_not_equal(idx, UINT32_MAX);
	s = dfa_scan(c, in, sizeof(in));
	assert_true((s.kw[idx / 64] >> (idx % 64)) & 1);
	s = dfa_scan(c, in, 2);
	assert_false((s.kw[idx / 64] >> (idx % 64)) & 1);
	sl_compiled_policy_free(c);
	sl_policy_free(p);
}

/* the DFA tables themselves: transitions in range, state 0 = root, no output at the root */
static void check_tables(const struct sl_ac_state *st, uint32_t n)
{
	for (uint32_t s = 0; s < n; s++)
		for (int b = 0; b < 256; b++)
			assert_true(st[s].next[b] < n);
	if (n) {
		assert_int_equal(st[0].env, 0);
		for (int w = 0; w < SL_KW_WORDS; w++)
			assert_int_equal(st[0].kw[w], 0);
	}
}

/* ---- label strings ---- */

static char tmpdir[] = "/tmp/sl-compile-test-XXXXXX";

static void write_file(const char *name, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void remove_file(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
}

#define TOKEN_PROD "rw_PROD_0123456789abcdef"
#define TOKEN_STAGING "rw_staging_fedcba9876543210"

static void test_labels_secrets_resources_hosts(void **state)
{
	struct sl_policy_errors errs;
	struct sl_compiled_policy *c;
	struct sl_policy *p;
	char text[2048];
	struct scan s;

	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	write_file("prod.token", TOKEN_PROD "\n");
	write_file("staging.env", "# comment\nRAILWAY_TOKEN=" TOKEN_STAGING "\nSHORT=abc\n");
	snprintf(text, sizeof(text),
		 "version: 1\n"
		 "environments:\n"
		 "  production:\n"
		 "    secrets:\n      - file: %s/prod.token\n        format: raw\n"
		 "      - fingerprint: "
		 "\"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\n"
		 "    resources: [vol_8d1e5c0a-prod-volume, prj_shop_production]\n"
		 "    hosts: [api.prod.example.com, \"*.prod.example.com\", "
		 "db.prod.example.internal:5432]\n"
		 "  staging:\n"
		 "    secrets:\n      - file: %s/staging.env\n"
		 "    resources: [vol_3f2a9b11-staging-volume]\n"
		 "    hosts: [staging.example.com]\n"
		 "patterns:\n  gql:\n    channel: tls\n    all: [mutation, volumeDelete]\n",
		 tmpdir, tmpdir);
	p = load_buf(text);
	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_secrets(p, &errs), 0);
	sl_policy_errors_free(&errs);
	remove_file("prod.token");
	remove_file("staging.env");
	rmdir(tmpdir);
	c = compile_ok(p);
	check_tables(c->cs, c->hdr.cs_states);
	check_tables(c->ci, c->hdr.ci_states);

	/* a secret value sets its environment; case-sensitive */
	s = dfa_scan_s(c, "Authorization: Bearer " TOKEN_PROD "\r\n");
	assert_int_equal(s.env, 1ULL << 1);
	s = dfa_scan_s(c, "Bearer RW_PROD_0123456789ABCDEF");
	assert_int_equal(s.env, 0);
	s = dfa_scan(c, "x" TOKEN_STAGING "y", strlen(TOKEN_STAGING) + 2);
	assert_int_equal(s.env, 1ULL << 2);
	/* a value shorter than secret_min_length is no label */
	s = dfa_scan_s(c, "SHORT=abc");
	assert_int_equal(s.env, 0);
	/* resource ids, case-sensitive */
	s = dfa_scan_s(c, "{\"volumeId\": \"vol_8d1e5c0a-prod-volume\"}");
	assert_int_equal(s.env, 1ULL << 1);
	s = dfa_scan_s(c, "VOL_8D1E5C0A-PROD-VOLUME");
	assert_int_equal(s.env, 0);
	s = dfa_scan_s(c, "vol_3f2a9b11-staging-volume prj_shop_production");
	assert_int_equal(s.env, (1ULL << 1) | (1ULL << 2));
	/* host names in any case; a wildcard as its suffix; a port does not matter */
	s = dfa_scan_s(c, "Host: API.Prod.Example.COM\r\n");
	assert_int_equal(s.env, 1ULL << 1);
	s = dfa_scan_s(c, "psql -h DB.prod.example.internal ");
	assert_int_equal(s.env, 1ULL << 1);
	s = dfa_scan_s(c, "curl https://x.Prod.example.com/");
	assert_int_equal(s.env, 1ULL << 1);
	s = dfa_scan_s(c, "curl https://staging.example.com/");
	assert_int_equal(s.env, 1ULL << 2);
	s = dfa_scan_s(c, "prod.example.com"); /* not the wildcard's own name */
	assert_int_equal(s.env, 0);
	/* streaming: a token cut anywhere still labels */
	{
		const char *req = "POST /graphql HTTP/1.1\r\nAuthorization: Bearer " TOKEN_PROD
				  "\r\n\r\n{\"query\":\"mutation { volumeDelete }\"}";
		struct scan w = dfa_scan(c, req, strlen(req));

		assert_int_equal(w.env, 1ULL << 1);
		assert_true(pattern_hit(c, p, "gql", req, strlen(req)));
		check_splits(c, (const uint8_t *)req, strlen(req), &w);
	}
	/* the fingerprint entry cannot be compiled: said in a warning */
	{
		bool found = false;

		for (uint32_t i = 0; i < c->n_warnings; i++)
			if (strstr(c->warnings[i],
				   "environments.production.secrets[1]: a fingerprint"))
				found = true;
		assert_true(found);
	}
	sl_compiled_policy_free(c);
	sl_policy_free(p);
}

/* ---- shipped policies ---- */

static void test_shipped_default(void **state)
{
	struct sl_policy *p = load_path("policies/default.yaml");
	struct sl_compiled_policy *c = compile_ok(p);
	static const char *const tls_in[] = {
	    "DELETE /v1/volumes/42 HTTP/1.1\r\nHost: api.prod.example.com\r\n\r\n",
	    "POST /q HTTP/1.1\r\n\r\nDROP TABLE users;",
	    "delete from users",
	    "DELETE FROM users WHERE id = 1",
	    "*1\r\n$8\r\nFLUSHALL\r\n",
	    "{\"query\":\"mutation { projectDelete(id: \\\"p\\\") }\"}",
	    "{\"query\":\"query { volumes { id } }\"}",
	};
	char *rm[] = {"rm", "-rf", "/srv/production/data", NULL};
	char *tf[] = {"terraform", "destroy", "-auto-approve", NULL};
	char *tfplan[] = {"terraform", "plan", NULL};
	char *rw[] = {"railway", "volume", "delete", NULL};
	char *kd[] = {"/usr/bin/kubectl", "delete", "ns", "prod", NULL};
	char *gp[] = {"git", "push", "--force", "origin", "main", NULL};
	char *gp2[] = {"git", "push", "origin", "main", NULL};
	char *psql[] = {"psql", "-c", "DROP DATABASE prod", NULL};
	const char *body = "{\"query\":\"mutation { volumeDelete(volumeId: \\\"v1\\\") }\"}";
	struct scan s;

	(void)state;
	print_message("default.yaml: cs %u states, ci %u states, %u patterns, %u rules, "
		      "%u paths, %u ips, %u hosts, %u warnings\n",
		      c->hdr.cs_states, c->hdr.ci_states, c->hdr.n_patterns, c->hdr.n_rules,
		      c->n_paths, c->n_ips, c->n_hosts, c->n_warnings);
	for (uint32_t i = 0; i < c->n_warnings; i++)
		print_message("  warning: %s\n", c->warnings[i]);
	check_tables(c->cs, c->hdr.cs_states);
	check_tables(c->ci, c->hdr.ci_states);
	assert_int_equal(c->hdr.n_patterns, p->n_patterns);
	assert_int_equal(c->hdr.n_rules, p->n_rules);
	assert_int_equal(c->hdr.mode, 0);
	assert_int_equal(c->hdr.generation, 0);
	assert_true(c->hdr.cs_states <= SL_AC_MAX_STATES && c->hdr.ci_states <= SL_AC_MAX_STATES);

	assert_true(pattern_hit(c, p, "graphql_destroy", body, strlen(body)));
	check_against_reference(p, c, body, strlen(body));
	for (size_t i = 0; i < sizeof(tls_in) / sizeof(tls_in[0]); i++)
		check_against_reference(p, c, tls_in[i], strlen(tls_in[i]));
	assert_true(pattern_hit(c, p, "http_delete", tls_in[0], strlen(tls_in[0])));
	assert_true(pattern_hit(c, p, "sql_drop", tls_in[1], strlen(tls_in[1])));
	assert_true(pattern_hit(c, p, "sql_delete_all", tls_in[2], strlen(tls_in[2])));
	assert_false(pattern_hit(c, p, "sql_delete_all", tls_in[3], strlen(tls_in[3])));
	assert_true(pattern_hit(c, p, "redis_flush", tls_in[4], strlen(tls_in[4])));
	assert_false(pattern_hit(c, p, "graphql_destroy", tls_in[6], strlen(tls_in[6])));
	/* the Host header labels the request production */
	s = dfa_scan(c, tls_in[0], strlen(tls_in[0]));
	assert_int_equal(s.env, 1ULL << 1);

	assert_true(exec_hit(c, p, "rm_recursive", rm));
	assert_true(exec_hit(c, p, "terraform_destroy", tf));
	assert_false(exec_hit(c, p, "terraform_destroy", tfplan));
	assert_true(exec_hit(c, p, "railway_destroy", rw));
	assert_true(exec_hit(c, p, "kubectl_delete", kd));
	assert_true(exec_hit(c, p, "git_force_push_protected", gp));
	assert_false(exec_hit(c, p, "git_force_push_protected", gp2));
	assert_true(exec_hit(c, p, "sql_drop", psql));
	/* a labelled path named in an argv labels the command */
	s = dfa_scan_s(c, "rm -rf /srv/production/data ");
	assert_int_equal(s.env, 1ULL << 1);
	s = dfa_scan_s(c, "rm -rf /srv/staging ");
	assert_int_equal(s.env, 1ULL << 2);

	/* rules: channel, target, action, patterns, flags */
	for (uint32_t i = 0; i < p->n_rules; i++) {
		const struct sl_policy_rule *r = &p->rules[i];
		const struct sl_krule *k = &c->rules[i];
		uint64_t want[SL_PAT_WORDS] = {0};

		for (uint32_t j = 0; j < r->n_patterns; j++)
			want[r->patterns[j] / 64] |= 1ULL << (r->patterns[j] % 64);
		assert_memory_equal(k->patterns, want, sizeof(want));
		assert_int_equal(k->channel, r->channel);
		assert_int_equal(k->target, r->target);
		assert_int_equal(k->action, r->action);
		/* the shipped default: no rule on trial; rm judged without taint */
		assert_int_equal(k->flags, r->taint ? 0 : SL_KRULE_NO_TAINT);
		assert_int_equal(!r->taint, !strcmp(r->name, "remove-outside-scope"));
	}
	/* patterns: groups and none as bit sets */
	for (uint32_t i = 0; i < p->n_patterns; i++) {
		const struct sl_policy_pattern *pt = &p->patterns[i];
		const struct sl_kpattern *k = &c->patterns[i];

		assert_int_equal(k->n_groups, pt->n_groups);
		assert_int_equal(k->channels, pt->channels);
		for (uint32_t g = 0; g < pt->n_groups; g++) {
			uint32_t bits = 0;

			for (int w = 0; w < SL_KW_WORDS; w++)
				bits += (uint32_t)__builtin_popcountll(k->groups[g][w]);
			assert_int_equal(bits, pt->groups[g].n_kw);
			for (uint32_t j = 0; j < pt->groups[g].n_kw; j++) {
				uint32_t kw = pt->groups[g].kw[j];

				assert_true((k->groups[g][kw / 64] >> (kw % 64)) & 1);
			}
		}
		for (uint32_t j = 0; j < pt->n_none; j++)
			assert_true((k->none[pt->none[j] / 64] >> (pt->none[j] % 64)) & 1);
	}
	random_rounds(p, c, 3000);
	sl_compiled_policy_free(c);
	sl_policy_free(p);
}

static void test_shipped_incident(void **state)
{
	struct sl_policy *p = load_path("policies/examples/incident.yaml");
	struct sl_compiled_policy *c = compile_ok(p);
	const char *hdr = "POST /graphql/v2 HTTP/1.1\r\nHost: backboard.railway.com\r\n"
			  "Content-Type: application/json\r\n\r\n";
	const char *body = "{\"query\":\"mutation { volumeDelete(volumeId: "
			   "\\\"vol_8d1e5c0a-prod-volume\\\") }\"}";
	char *rw[] = {"railway", "volume", "delete", NULL};
	char *rd[] = {"railway", "down", NULL};
	char *rs[] = {"railway", "status", NULL};
	struct scan s = {0};
	uint64_t pats[SL_PAT_WORDS];
	uint16_t cs = 0, ci = 0;
	int gi = pattern_index(p, "graphql_destroy");

	(void)state;
	print_message("incident.yaml (no secrets): cs %u states, ci %u states, %u warnings\n",
		      c->hdr.cs_states, c->hdr.ci_states, c->n_warnings);
	for (uint32_t i = 0; i < c->n_warnings; i++)
		print_message("  warning: %s\n", c->warnings[i]);
	assert_int_equal(c->n_warnings, 2); /* secrets not loaded, one per environment */
	/* headers and body in two writes on one connection */
	sl_compiled_scan(c, &cs, &ci, hdr, strlen(hdr), s.kw, &s.env);
	sl_compiled_patterns(c, s.kw, pats);
	assert_false((pats[gi / 64] >> (gi % 64)) & 1);
	sl_compiled_scan(c, &cs, &ci, body, strlen(body), s.kw, &s.env);
	sl_compiled_patterns(c, s.kw, pats);
	assert_true((pats[gi / 64] >> (gi % 64)) & 1);
	/* the production volume id; "mutation" is a decode marker (bit 0) */
	assert_int_equal(s.env, (1ULL << 1) | SL_AC_ENV_DECODE);
	check_against_reference(p, c, body, strlen(body));

	assert_true(exec_hit(c, p, "railway_cli_destroy", rw));
	assert_true(exec_hit(c, p, "railway_cli_destroy", rd));
	assert_false(exec_hit(c, p, "railway_cli_destroy", rs));
	random_rounds(p, c, 1000);
	sl_compiled_policy_free(c);
	sl_policy_free(p);
}

static uint64_t scan_env(const struct sl_compiled_policy *c, const char *text)
{
	uint64_t kw[SL_KW_WORDS] = {0}, env = 0;
	uint16_t cs = 0, ci = 0;

	sl_compiled_scan(c, &cs, &ci, text, strlen(text), kw, &env);
	return env;
}

/* decode markers (two-stage verdicts) and model-provider host labels */
static void test_decode_markers_and_providers(void **state)
{
	struct sl_policy *p =
	    load_buf("version: 1\nenvironments:\n  prod:\n    hosts: [api.prod.example]\n"
		     "    resources: [vol-prod-1]\n"
		     "destinations:\n  model_providers: [api.anthropic.com, \"*.gw.example\"]\n"
		     "patterns:\n  p:\n    channel: tls\n    any: [volumeDelete]\n"
		     "rules:\n  - name: r\n    channel: tls\n    pattern: p\n    target: any\n"
		     "    action: alert\n");
	struct sl_policy *q = load_buf("version: 1\nenvironments:\n  prod: {}\nrules:\n"
				       "  - name: r\n    channel: open\n    target: any\n"
				       "    action: alert\n");
	struct sl_compiled_policy *c = compile_ok(p), *d = compile_ok(q);
	bool provider = false, gw = false, env_host = false;

	(void)state;
	assert_int_equal(scan_env(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), SL_AC_ENV_DECODE);
	assert_int_equal(scan_env(c, "POST / HTTP/1.1\r\nContent-ENCODING: gzip\r\n"),
			 SL_AC_ENV_DECODE);
	assert_int_equal(scan_env(c, "transfer-encoding: chunked"), SL_AC_ENV_DECODE);
	assert_int_equal(scan_env(c, "Upgrade: websocket"), SL_AC_ENV_DECODE);
	assert_int_equal(scan_env(c, "{\"q\":\"volume\\u0044elete\"}"), SL_AC_ENV_DECODE);
	assert_int_equal(scan_env(c, "{\"query\":\"mutation { x }\"}"), SL_AC_ENV_DECODE);
	assert_int_equal(scan_env(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
	/* a marker is no environment; labels still are */
	assert_int_equal(scan_env(c, "upgrade: x vol-prod-1"), SL_AC_ENV_DECODE | (1ULL << 1));
	/* a provider's name in the text labels nothing */
	assert_int_equal(scan_env(c, "Host: api.anthropic.com"), 0);
	for (uint32_t i = 0; i < c->n_hosts; i++) {
		if (!strcmp(c->hosts[i].name, "api.anthropic.com"))
			provider =
			    c->hosts[i].env == SL_DEST_ROLE_PROVIDER && !c->hosts[i].wildcard;
		if (!strcmp(c->hosts[i].name, ".gw.example"))
			gw = c->hosts[i].env == SL_DEST_ROLE_PROVIDER && c->hosts[i].wildcard;
		if (!strcmp(c->hosts[i].name, "api.prod.example"))
			env_host = c->hosts[i].env == (1ULL << 1);
	}
	assert_true(provider && gw && env_host);
	/* no rule on the tls channel: no markers */
	assert_int_equal(d->hdr.cs_states, 0);
	assert_int_equal(d->hdr.ci_states, 0);
	sl_compiled_policy_free(c);
	sl_compiled_policy_free(d);
	sl_policy_free(p);
	sl_policy_free(q);
}

static void test_monitor_flags(void **state)
{
	struct sl_policy *p = load_buf("version: 1\nmode: monitor\nenvironments:\n  prod: {}\n"
				       "rules:\n  - name: r\n    channel: open\n"
				       "    target: outside_scope\n    action: alert\n");
	struct sl_compiled_policy *c = compile_ok(p);

	(void)state;
	assert_int_equal(c->hdr.mode, 1);
	assert_int_equal(c->hdr.n_rules, 1);
	assert_int_equal(c->rules[0].flags, SL_KRULE_MONITOR);
	assert_int_equal(c->rules[0].channel, SL_KCH_OPEN);
	assert_int_equal(c->rules[0].target, SL_KTGT_OUTSIDE);
	assert_int_equal(c->rules[0].action, SL_KACT_ALERT);
	/* nothing to match: both automata empty */
	assert_int_equal(c->hdr.cs_states, 0);
	assert_int_equal(c->hdr.ci_states, 0);
	assert_null(c->cs);
	{
		struct scan s = dfa_scan_s(c, "anything");

		assert_int_equal(s.env, 0);
	}
	sl_compiled_policy_free(c);
	sl_policy_free(p);
	sl_compiled_policy_free(NULL);
}

/* ---- path labels ---- */

static const struct sl_cpath *find_path(const struct sl_compiled_policy *c, const char *bytes,
					size_t len)
{
	for (uint32_t i = 0; i < c->n_paths; i++)
		if (c->paths[i].len == len && !memcmp(c->paths[i].bytes, bytes, len))
			return &c->paths[i];
	return NULL;
}

static void test_paths(void **state)
{
	struct sl_policy *p =
	    load_buf("version: 1\nenvironments:\n"
		     "  prod:\n    paths: [/srv/**, /srv/prod/**, /etc/prod.env, /home/*/prod.env,"
		     " /data/**/x.db]\n"
		     "  staging:\n    paths: [/srv/staging/**, /etc/prod.env, /srv/prod/**]\n");
	struct sl_compiled_policy *c = compile_ok(p);
	const struct sl_cpath *e;

	(void)state;
	/* prefix "dir/" + exact "dir\0" for each dir/ **, exact "path\0" */
	e = find_path(c, "/srv/", 5);
	assert_non_null(e);
	assert_int_equal(e->env, 1ULL << 1);
	e = find_path(c, "/srv\0", 5);
	assert_non_null(e);
	assert_int_equal(e->env, 1ULL << 1);
	/* the same bytes for two environments: ORed */
	e = find_path(c, "/etc/prod.env\0", 14);
	assert_non_null(e);
	assert_int_equal(e->env, (1ULL << 1) | (1ULL << 2));
	e = find_path(c, "/srv/prod/", 10);
	assert_non_null(e);
	assert_int_equal(e->env, (1ULL << 1) | (1ULL << 2));
	/* below /srv/ (production): the staging entries carry production too */
	e = find_path(c, "/srv/staging/", 13);
	assert_non_null(e);
	assert_int_equal(e->env, (1ULL << 1) | (1ULL << 2));
	e = find_path(c, "/srv/staging\0", 13);
	assert_non_null(e);
	assert_int_equal(e->env, (1ULL << 1) | (1ULL << 2));
	/* /etc/ is no label: /etc/prod.env stays as it is; no duplicates */
	assert_int_equal(c->n_paths, 7);
	/* wildcard globs: no LPM entry, no warning: the DFA decides them */
	assert_int_equal(c->n_warnings, 0);
	assert_true(c->hdr.glob_states > 2);
	assert_int_equal(c->hdr.glob_trunc_env, 1ULL << 1);
	assert_int_equal(sl_compiled_glob(c, "/home/u/prod.env", 16), 1ULL << 1);
	assert_int_equal(sl_compiled_glob(c, "/data/a/b/x.db", 14), 1ULL << 1);
	assert_int_equal(sl_compiled_glob(c, "/data/x.db", 10), 1ULL << 1);
	assert_int_equal(sl_compiled_glob(c, "/home/u/v/prod.env", 18), 0);
	assert_int_equal(sl_compiled_glob(c, "/srv/prod/x", 11), 0);
	sl_compiled_policy_free(c);
	sl_policy_free(p);
}

static void test_path_too_long(void **state)
{
	char text[1024], path[300];
	struct sl_policy *p;
	struct sl_compiled_policy *c;

	(void)state;
	/* 254 bytes: the longest that fits (with its NUL) */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[254] = '\0';
	snprintf(text, sizeof(text), "version: 1\nenvironments:\n  prod:\n    paths: [%s]\n", path);
	p = load_buf(text);
	c = compile_ok(p);
	assert_int_equal(c->n_paths, 1);
	assert_int_equal(c->paths[0].len, 255);
	assert_int_equal(c->paths[0].bytes[254], 0);
	sl_compiled_policy_free(c);
	sl_policy_free(p);

	path[254] = 'a';
	path[255] = '\0';
	snprintf(text, sizeof(text), "version: 1\nenvironments:\n  prod:\n    paths: [%s]\n", path);
	p = load_buf(text);
	compile_fails(p, -E2BIG, "environments.prod.paths[0]: '/aaaa");
	compile_fails(p, -E2BIG,
		      "has 255 bytes before any '/**', in-kernel path labels hold at "
		      "most 254");
	sl_policy_free(p);

	/* a directory label: "dir/" is what must fit */
	path[254] = '\0';
	snprintf(text, sizeof(text), "version: 1\nenvironments:\n  prod:\n    paths: [%s/**]\n",
		 path);
	p = load_buf(text);
	compile_fails(p, -E2BIG, "has 255 bytes before any '/**'");
	sl_policy_free(p);
}

/* ---- IP labels ---- */

static const struct sl_cip *find_ip(const struct sl_compiled_policy *c, const char *a4,
				    uint8_t plen)
{
	uint8_t addr[16] = {0};
	unsigned int x[4];

	assert_int_equal(sscanf(a4, "%u.%u.%u.%u", &x[0], &x[1], &x[2], &x[3]), 4);
	for (int i = 0; i < 4; i++)
		addr[i] = (uint8_t)x[i];
	for (uint32_t i = 0; i < c->n_ips; i++)
		if (c->ips[i].family == 4 && c->ips[i].prefix_len == plen &&
		    !memcmp(c->ips[i].addr, addr, 16))
			return &c->ips[i];
	return NULL;
}

static bool has_port(const struct sl_cip *e, uint16_t port)
{
	for (int i = 0; i < SL_LABEL_PORTS; i++)
		if (e->label.ports[i] == port)
			return true;
	return false;
}

static bool any_port(const struct sl_cip *e)
{
	for (int i = 0; i < SL_LABEL_PORTS; i++)
		if (e->label.ports[i])
			return false;
	return true;
}

static void test_ips(void **state)
{
	struct sl_policy *p = load_buf(
	    "version: 1\nenvironments:\n"
	    "  prod:\n    hosts: [10.1.0.0/16:5432, 10.1.0.0/16:6379, 10.1.0.0/16:5432,"
	    " 10.2.0.0/16:443, 10.2.0.0/16, 10.3.0.0/16, 10.4.0.0/16:22, \"[2001:db8::/32]:443\","
	    " 172.16.0.0/12, 172.16.5.0/24:8080]\n"
	    "  staging:\n    hosts: [10.3.0.0/16:80, 10.4.0.0/16, 10.9.0.1, 10.9.0.0/16]\n");
	struct sl_compiled_policy *c = compile_ok(p);
	const struct sl_cip *e;

	(void)state;
	for (uint32_t i = 0; i < c->n_warnings; i++)
		print_message("  warning: %s\n", c->warnings[i]);
	/* several ports of one network: one entry */
	e = find_ip(c, "10.1.0.0", 16);
	assert_non_null(e);
	assert_int_equal(e->label.env, 1ULL << 1);
	assert_true(has_port(e, 5432) && has_port(e, 6379));
	assert_int_equal(e->label.ports[2], 0);
	/* port 0 (any) subsumes the others */
	e = find_ip(c, "10.2.0.0", 16);
	assert_non_null(e);
	assert_true(any_port(e));
	/* two environments on one network: ORed, any port wins */
	e = find_ip(c, "10.3.0.0", 16);
	assert_non_null(e);
	assert_int_equal(e->label.env, (1ULL << 1) | (1ULL << 2));
	assert_true(any_port(e));
	e = find_ip(c, "10.4.0.0", 16);
	assert_non_null(e);
	assert_int_equal(e->label.env, (1ULL << 1) | (1ULL << 2));
	assert_true(any_port(e));
	/* nested, both any port: the narrower carries both environments */
	e = find_ip(c, "10.9.0.1", 32);
	assert_non_null(e);
	assert_int_equal(e->label.env, 1ULL << 2);
	e = find_ip(c, "10.9.0.0", 16);
	assert_non_null(e);
	/* a narrower entry with ports and nothing new under an any-port network: dropped */
	assert_null(find_ip(c, "172.16.5.0", 24));
	e = find_ip(c, "172.16.0.0", 12);
	assert_non_null(e);
	assert_true(any_port(e));
	/* IPv6 */
	{
		bool v6 = false;

		for (uint32_t i = 0; i < c->n_ips; i++)
			if (c->ips[i].family == 6) {
				v6 = true;
				assert_int_equal(c->ips[i].prefix_len, 32);
				assert_int_equal(c->ips[i].addr[0], 0x20);
				assert_int_equal(c->ips[i].addr[1], 0x01);
				assert_int_equal(c->ips[i].addr[2], 0x0d);
				assert_int_equal(c->ips[i].addr[3], 0xb8);
				assert_true(has_port(&c->ips[i], 443));
			}
		assert_true(v6);
	}
	assert_int_equal(c->n_ips, 8);
	assert_int_equal(c->n_warnings, 0);
	sl_compiled_policy_free(c);
	sl_policy_free(p);
}

static void test_ip_nesting_warning(void **state)
{
	struct sl_policy *p =
	    load_buf("version: 1\nenvironments:\n"
		     "  prod:\n    hosts: [10.0.0.0/8]\n"
		     "  staging:\n    hosts: [10.20.0.0/16:5432, 10.30.0.0/16]\n");
	struct sl_compiled_policy *c = compile_ok(p);
	const struct sl_cip *e;

	(void)state;
	e = find_ip(c, "10.20.0.0", 16);
	assert_non_null(e);
	assert_int_equal(e->label.env, (1ULL << 1) | (1ULL << 2));
	assert_true(has_port(e, 5432));
	e = find_ip(c, "10.30.0.0", 16);
	assert_non_null(e);
	assert_int_equal(e->label.env, (1ULL << 1) | (1ULL << 2));
	assert_int_equal(c->n_warnings, 1);
	assert_non_null(strstr(c->warnings[0], "environments.staging.hosts[0]: '10.20.0.0/16:5432' "
					       "lies inside '10.0.0.0/8' (environment 'prod')"));
	sl_compiled_policy_free(c);
	sl_policy_free(p);
}

static void test_ip_ports_limit(void **state)
{
	char text[1024];
	size_t o;
	struct sl_policy *p;
	struct sl_compiled_policy *c;

	(void)state;
	o = (size_t)snprintf(text, sizeof(text),
			     "version: 1\nenvironments:\n  prod:\n    hosts: [");
	for (int i = 0; i < SL_LABEL_PORTS; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "10.0.0.0/8:%d, ", 1000 + i);
	snprintf(text + o, sizeof(text) - o, "10.1.0.0/16:1]\n");
	p = load_buf(text);
	c = compile_ok(p);
	assert_int_equal(c->n_ips, 2);
	assert_int_equal(c->ips[0].label.ports[SL_LABEL_PORTS - 1], 1007);
	sl_compiled_policy_free(c);
	sl_policy_free(p);

	/* one more port: too many */
	snprintf(text + o, sizeof(text) - o, "10.0.0.0/8:2000]\n");
	p = load_buf(text);
	compile_fails(p, -E2BIG,
		      "environments.prod.hosts[8]: '10.0.0.0/8:2000': more than 8 "
		      "ports on one network");
	sl_policy_free(p);

	/* ... unless the network is also labelled on any port */
	snprintf(text + o, sizeof(text) - o, "10.0.0.0/8:2000, 10.0.0.0/8]\n");
	p = load_buf(text);
	c = compile_ok(p);
	assert_int_equal(c->n_ips, 1);
	assert_true(any_port(&c->ips[0]));
	sl_compiled_policy_free(c);
	sl_policy_free(p);
}

/* ---- host names ---- */

static const struct sl_chost *find_host(const struct sl_compiled_policy *c, const char *name,
					int wildcard)
{
	for (uint32_t i = 0; i < c->n_hosts; i++)
		if (c->hosts[i].wildcard == wildcard && !strcmp(c->hosts[i].name, name))
			return &c->hosts[i];
	return NULL;
}

static void test_hosts(void **state)
{
	struct sl_policy *p =
	    load_buf("version: 1\nenvironments:\n"
		     "  prod:\n    hosts: [API.Prod.Example.com, \"*.prod.example.com\", "
		     "db.prod.internal:5432,"
		     " \"*.example.com\"]\n"
		     "  staging:\n    hosts: [api.prod.example.com, staging.example.com, "
		     "\"*.x.prod.example.com\"]\n");
	struct sl_compiled_policy *c = compile_ok(p);
	const struct sl_chost *h;

	(void)state;
	assert_int_equal(c->n_hosts, 6);
	/* lowercase, duplicates ORed, the wildcards above folded in */
	h = find_host(c, "api.prod.example.com", 0);
	assert_non_null(h);
	assert_int_equal(h->env, (1ULL << 1) | (1ULL << 2));
	h = find_host(c, ".prod.example.com", 1);
	assert_non_null(h);
	assert_int_equal(h->env, 1ULL << 1);
	h = find_host(c, ".x.prod.example.com", 1);
	assert_non_null(h);
	assert_int_equal(h->env, (1ULL << 1) | (1ULL << 2));
	h = find_host(c, "staging.example.com", 0);
	assert_non_null(h);
	assert_int_equal(h->env, (1ULL << 1) | (1ULL << 2)); /* *.example.com is production */
	h = find_host(c, "db.prod.internal", 0);
	assert_non_null(h);
	assert_int_equal(h->env, 1ULL << 1);
	assert_non_null(find_host(c, ".example.com", 1));
	assert_null(find_host(c, "example.com", 0));
	/* the port of a named host is not kept: said in a warning */
	assert_int_equal(c->n_warnings, 1);
	assert_string_equal(c->warnings[0],
			    "environments.prod.hosts[2]: 'db.prod.internal:5432': in-kernel "
			    "verdicts match host names (SNI, Host, argv) on any port");
	sl_compiled_policy_free(c);
	sl_policy_free(p);
}

/* ---- automaton limits ---- */

/* n resource ids of len bytes with distinct first bytes: 1 + n * len states exactly */
static struct sl_policy *resources_policy(int n, int len)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	size_t cap = (size_t)n * ((size_t)len + 10) + 256, o;
	char *text = malloc(cap);
	struct sl_policy *p;

	assert_non_null(text);
	o = (size_t)snprintf(text, cap, "version: 1\nenvironments:\n  prod:\n    resources:\n");
	for (int i = 0; i < n; i++) {
		o += (size_t)sprintf(text + o, "      - ");
		text[o++] = alpha[i];
		for (int j = 1; j < len; j++)
			text[o++] = alpha[(i * 7 + j) % 62];
		text[o++] = '\n';
	}
	text[o] = '\0';
	p = load_buf(text);
	free(text);
	return p;
}

static void test_dfa_limit_cs(void **state)
{
	struct sl_policy *p;
	struct sl_compiled_policy *c;
	char want[200];

	(void)state;
	/* 1 + 16 * 255 = 4081 states: fits */
	p = resources_policy(16, 255);
	c = compile_ok(p);
	assert_int_equal(c->hdr.cs_states, 1 + 16 * 255);
	assert_int_equal(c->hdr.ci_states, 0);
	check_tables(c->cs, c->hdr.cs_states);
	{
		struct scan s = dfa_scan(c, p->envs[0].resources[3], 255);

		assert_int_equal(s.env, 1ULL << 1);
	}
	sl_compiled_policy_free(c);
	sl_policy_free(p);

	/* 1 + 20 * 256 = 5121 */
	p = resources_policy(20, 256);
	snprintf(want, sizeof(want),
		 "keyword automaton (case-sensitive) needs %d states, limit %d: reduce "
		 "secrets/resources",
		 1 + 20 * 256, SL_AC_MAX_STATES);
	compile_fails(p, -E2BIG, want);
	compile_fails(p, -E2BIG, "20 resource ids");
	sl_policy_free(p);
}

static void test_dfa_limit_ci(void **state)
{
	char *text = malloc(64 * 1024);
	struct sl_policy *p;
	size_t o;

	(void)state;
	assert_non_null(text);
	o = (size_t)sprintf(text, "version: 1\nenvironments:\n  prod:\n    hosts:\n");
	/* 20 names of 4 * 60 + 11 = 251 bytes, no common prefix: 1 + 20 * 251 states */
	for (int i = 0; i < 20; i++) {
		o += (size_t)sprintf(text + o, "      - ");
		for (int l = 0; l < 4; l++) {
			for (int j = 0; j < 59; j++)
				text[o++] =
				    (char)(l == 0 && j == 0 ? 'a' + i : 'a' + (i + j + l) % 26);
			text[o++] = '.';
		}
		o += (size_t)sprintf(text + o, "example.com\n");
	}
	text[o] = '\0';
	p = load_buf(text);
	free(text);
	compile_fails(p, -E2BIG,
		      "keyword automaton (case-insensitive) needs 5021 states, limit "
		      "4096: reduce icase keywords/host names");
	sl_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keywords_reference),
	    cmocka_unit_test(test_keywords_case_and_overlap),
	    cmocka_unit_test(test_keyword_binary),
	    cmocka_unit_test(test_labels_secrets_resources_hosts),
	    cmocka_unit_test(test_shipped_default),
	    cmocka_unit_test(test_shipped_incident),
	    cmocka_unit_test(test_monitor_flags),
	    cmocka_unit_test(test_decode_markers_and_providers),
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_path_too_long),
	    cmocka_unit_test(test_ips),
	    cmocka_unit_test(test_ip_nesting_warning),
	    cmocka_unit_test(test_ip_ports_limit),
	    cmocka_unit_test(test_hosts),
	    cmocka_unit_test(test_dfa_limit_cs),
	    cmocka_unit_test(test_dfa_limit_ci),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
