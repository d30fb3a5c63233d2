// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Wildcard path globs as one DFA (user/lib/policy_globs.h): the walk the
 * kernel does (sl_glob_dfa_walk, the same algorithm as bpf/label.bpf.h
 * sl_label_glob) against the reference sl_policy_glob_match() on
 * hand-picked, generated and adversarial globs and paths (many stars, long
 * paths, paths past the kernel's buffer), several globs in one DFA (the
 * union of environments), the state bound and its message with file, line
 * and glob, and the compiled policy's tables.
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

#include "policy.h"
#include "policy_compile.h"
#include "policy_globs.h"
#include "policy_internal.h"

/* a glob sl_parse_glob accepts (else NULL: skip it) */
static bool glob_ok(const char *g)
{
	struct sl_policy_path pth;
	char msg[256];

	return sl_parse_glob(g, strlen(g), &pth, msg, sizeof(msg)) == 0;
}

/* every glob of v alone, then all at once: the DFA says what the reference says */
static void check_paths(const char *const *globs, size_t ng, const char *const *paths, size_t np)
{
	struct sl_glob_src *src = calloc(ng, sizeof(*src));
	struct sl_glob_dfa all, one;
	char why[256];
	size_t n = 0;

	assert_non_null(src);
	for (size_t i = 0; i < ng; i++) {
		if (!glob_ok(globs[i])) {
			print_error("not a glob: %s\n", globs[i]);
			fail();
		}
		src[n].glob = globs[i];
		src[n].env = 1ULL << (1 + i % 62);
		assert_int_equal(
		    sl_glob_dfa_build(&src[n], 1, SL_GLOB_STATES_MAX, &one, why, sizeof(why)), 0);
		for (size_t j = 0; j < np; j++) {
			bool want = sl_policy_glob_match(globs[i], paths[j]);
			bool got = sl_glob_dfa_walk(&one, paths[j], strlen(paths[j])) != 0;

			if (want != got) {
				print_error("glob %s path %s: reference %d, DFA %d\n", globs[i],
					    paths[j], want, got);
				fail();
			}
		}
		sl_glob_dfa_free(&one);
		n++;
	}
	assert_int_equal(sl_glob_dfa_build(src, n, SL_GLOB_STATES_MAX, &all, why, sizeof(why)), 0);
	for (size_t j = 0; j < np; j++) {
		uint64_t want = 0, got = sl_glob_dfa_walk(&all, paths[j], strlen(paths[j]));

		for (size_t i = 0; i < n; i++)
			if (sl_policy_glob_match(src[i].glob, paths[j]))
				want |= src[i].env;
		if (want != got) {
			print_error("all globs, path %s: reference %#llx, DFA %#llx\n", paths[j],
				    (unsigned long long)want, (unsigned long long)got);
			fail();
		}
	}
	sl_glob_dfa_free(&all);
	free(src);
}

static void test_examples(void **state)
{
	static const char *const globs[] = {
	    "/home/*/.config/prod/*.json",
	    "/srv/prod-?/secrets.env",
	    "/etc/app/[pq]rod.yaml",
	    "/etc/prod-[0-9].conf",
	    "/etc/prod-[!0-9].conf",
	    "/a/**/key.pem",
	    "/home/*/.config/prod/**",
	    "/x/*.token",
	    "/x/\\*lit",
	    "/e/\\[a]",
	    "/c/[]a]x",
	    "/c/[!]a]y",
	    "/c/[a-]z",
	    "/c/[z-a]q",
	    "/c/[*?]w",
	    "/**/**/deep",
	    "/**/*.key",
	    "/s/**/**",
	    "/m/*a*b*c*",
	    "/n/??",
	    "/o/*/*/*",
	    "/p/a*/**/b*/c",
	};
	static const char *const paths[] = {
	    "/",
	    "//",
	    "/home/dev/.config/prod/a.json",
	    "/home/dev/.config/prod/.json",
	    "/home/dev/.config/prod/a.json/x",
	    "/home/dev/x/.config/prod/a.json",
	    "/home//dev/.config/prod/a.json",
	    "/home/dev/.config/prod/a.jso",
	    "/home/dev/.config/prod/t",
	    "/home/dev/.config/prod",
	    "/home/dev/.config/prod/",
	    "/srv/prod-1/secrets.env",
	    "/srv/prod-12/secrets.env",
	    "/srv/prod-/secrets.env",
	    "/srv/prod-/",
	    "/etc/app/prod.yaml",
	    "/etc/app/qrod.yaml",
	    "/etc/app/rrod.yaml",
	    "/etc/prod-7.conf",
	    "/etc/prod-x.conf",
	    "/a/key.pem",
	    "/a/x/y/key.pem",
	    "/a/x/y/key.pem2",
	    "/a/key.pem/",
	    "/akey.pem",
	    "/x/.hidden.token",
	    "/x/a.token",
	    "/x/*lit",
	    "/x/alit",
	    "/e/[a]",
	    "/e/a",
	    "/c/]x",
	    "/c/ax",
	    "/c/by",
	    "/c/]y",
	    "/c/-z",
	    "/c/az",
	    "/c/zq",
	    "/c/*w",
	    "/c/?w",
	    "/c/aw",
	    "/deep",
	    "/a/deep",
	    "/a/b/c/deep",
	    "/a.key",
	    "/a/b.key",
	    "/s",
	    "/s/",
	    "/s/x",
	    "/m/abc",
	    "/m/xaxbxcx",
	    "/m/acb",
	    "/n/ab",
	    "/n/a",
	    "/n/abc",
	    "/o/a/b/c",
	    "/o/a/b",
	    "/p/ax/b/c",
	    "/p/a/q/r/bb/c",
	    "/p/a/c",
	    "relative",
	    "",
	    "/srv/prod-1/secrets.env (deleted)",
	    "/home/dev/.config/prod/a.json (deleted)",
	    "/home/\xff\x80/.config/prod/\x01.json",
	};

	(void)state;
	check_paths(globs, sizeof(globs) / sizeof(globs[0]), paths,
		    sizeof(paths) / sizeof(paths[0]));
}

/* ---- generated ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static const char alpha[] = "ab.-";

static void gen_glob(char *out, size_t cap)
{
	size_t o = 0;
	uint32_t comps = 1 + rnd(4);

	for (uint32_t c = 0; c < comps && o + 16 < cap; c++) {
		out[o++] = '/';
		if (rnd(6) == 0) {
			out[o++] = '*';
			out[o++] = '*';
			continue;
		}
		for (uint32_t t = 0, nt = 1 + rnd(4); t < nt && o + 12 < cap; t++) {
			switch (rnd(7)) {
			case 0:
				out[o++] = '*';
				break;
			case 1:
				out[o++] = '?';
				break;
			case 2:
				o += (size_t)snprintf(out + o, cap - o, "[%s%c%s]",
						      rnd(3) ? "" : "!", alpha[rnd(4)],
						      rnd(2) ? "" : "-b");
				break;
			case 3:
				out[o++] = '\\';
				out[o++] = alpha[rnd(4)];
				break;
			default:
				out[o++] = alpha[rnd(4)];
				break;
			}
		}
	}
	out[o] = '\0';
}

static void gen_path(char *out, size_t cap)
{
	size_t o = 0;
	uint32_t comps = rnd(6);

	if (rnd(40) == 0) {
		snprintf(out, cap, "%s", rnd(2) ? "" : "a/b");
		return;
	}
	out[o++] = '/';
	for (uint32_t c = 0; c < comps && o + 8 < cap; c++) {
		if (c)
			out[o++] = '/';
		if (rnd(30) == 0)
			out[o++] = '/';
		for (uint32_t k = 0, nk = 1 + rnd(4); k < nk; k++)
			out[o++] = rnd(10) ? alpha[rnd(4)] : (char)"*?[]!\\x"[rnd(7)];
	}
	if (rnd(20) == 0)
		out[o++] = '/';
	out[o] = '\0';
}

static void test_generated(void **state)
{
	enum {
		GLOBS = 6,
		PATHS = 200,
		ROUNDS = 400
	};
	char gbuf[GLOBS][64], pbuf[PATHS][64];
	const char *g[GLOBS], *p[PATHS];

	(void)state;
	for (int r = 0; r < ROUNDS; r++) {
		size_t ng = 0;

		for (int i = 0; i < GLOBS; i++) {
			gen_glob(gbuf[i], sizeof(gbuf[i]));
			if (glob_ok(gbuf[i]) && strcmp(gbuf[i], "/**"))
				g[ng++] = gbuf[i];
		}
		for (int i = 0; i < PATHS; i++) {
			/* half of them near a glob: the glob with its wildcards filled in */
			if (ng && rnd(2)) {
				const char *s = g[rnd((uint32_t)ng)];
				size_t o = 0;

				for (; *s && o + 8 < sizeof(pbuf[i]); s++) {
					if (*s == '*' || *s == '?' || *s == '[' || *s == '\\' ||
					    *s == ']' || *s == '!')
						for (uint32_t k = rnd(3); k > 0; k--)
							pbuf[i][o++] = alpha[rnd(4)];
					else
						pbuf[i][o++] = *s;
					if (*s == '/' && rnd(8) == 0)
						pbuf[i][o++] = alpha[rnd(4)], pbuf[i][o++] = '/';
				}
				pbuf[i][o] = '\0';
			} else {
				gen_path(pbuf[i], sizeof(pbuf[i]));
			}
			p[i] = pbuf[i];
		}
		if (ng)
			check_paths(g, ng, p, PATHS);
	}
}

/* ---- adversarial ---- */

static void test_adversarial(void **state)
{
	static char many_stars[200], long_path[8200], long_match[8200], deep[800];
	const char *globs[4], *paths[6];
	size_t o = 0;

	(void)state;
	/* "/s/" then star-a-star-a...: backtracking fnmatch's worst case */
	o = (size_t)snprintf(many_stars, sizeof(many_stars), "/s/");
	for (int i = 0; i < 40; i++)
		many_stars[o++] = i & 1 ? 'a' : '*';
	many_stars[o++] = '*';
	many_stars[o] = '\0';
	globs[0] = many_stars;
	globs[1] = "/a/**/key.pem";
	globs[2] = "/**/*.key";
	globs[3] = "/s/*/**/x?";
	/* a path longer than the kernel's buffer (SL_PATH_MAX) */
	o = (size_t)snprintf(long_path, sizeof(long_path), "/s/");
	while (o < 8000)
		long_path[o++] = 'a';
	long_path[o] = '\0';
	o = (size_t)snprintf(long_match, sizeof(long_match), "/a");
	while (o < 8000)
		o += (size_t)snprintf(long_match + o, sizeof(long_match) - o, "/dir");
	snprintf(long_match + o, sizeof(long_match) - o, "/key.pem");
	o = 0;
	for (int i = 0; i < 150; i++)
		o += (size_t)snprintf(deep + o, sizeof(deep) - o, "/d");
	snprintf(deep + o, sizeof(deep) - o, "/k.key");
	paths[0] = long_path;
	paths[1] = long_match;
	paths[2] = deep;
	paths[3] = "/s/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";
	paths[4] = "/s/q/w/e/xy";
	paths[5] = "/s/q/xy";
	check_paths(globs, 4, paths, 6);
}

/* ---- the bound ---- */

static void test_state_bound(void **state)
{
	/* "*a?????????": remembering the last 10 bytes' 'a's needs 2^10 states */
	static const char *const g[] = {"/x/*a??????????????"};
	struct sl_glob_src src = {.glob = g[0], .env = 2};
	struct sl_glob_dfa d;
	char why[256] = "";

	(void)state;
	assert_int_equal(sl_glob_dfa_build(&src, 1, SL_GLOB_STATES_MAX, &d, why, sizeof(why)),
			 -E2BIG);
	assert_non_null(strstr(why, "more than 4096 DFA states"));
	assert_int_equal(d.n_states, 0);
	/* a small one fits */
	src.glob = "/x/*a???";
	assert_int_equal(sl_glob_dfa_build(&src, 1, SL_GLOB_STATES_MAX, &d, why, sizeof(why)), 0);
	assert_true(d.n_states > 2 && d.n_states < 100);
	assert_true(sl_glob_dfa_walk(&d, "/x/qqabcd", 9) == 2);
	assert_true(sl_glob_dfa_walk(&d, "/x/qqabcde", 10) == 0);
	sl_glob_dfa_free(&d);
}

static void test_bound_policy_error(void **state)
{
	static const char text[] = "version: 1\n"
				   "environments:\n"
				   "  production:\n"
				   "    paths:\n"
				   "      - /srv/prod/**\n"
				   "      - /x/*a??????????????\n";
	struct sl_policy_errors errs;
	const struct sl_policy_error *e;
	struct sl_policy *p = NULL;
	char line[1024] = "";
	int n = 0;

	(void)state;
	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_buf("t.yaml", text, strlen(text), &p, &errs), -EINVAL);
	sl_policy_errors_foreach(&errs, e)
	{
		sl_policy_error_format(e, line, sizeof(line));
		n++;
	}
	assert_int_equal(n, 1);
	print_message("%s\n", line);
	assert_non_null(strstr(line, "t.yaml:6:"));
	assert_non_null(strstr(line, "environments.production.paths[1]"));
	assert_non_null(strstr(line, "/x/*a??????????????"));
	assert_non_null(strstr(line, "4096"));
	sl_policy_errors_free(&errs);
	assert_null(p);
}

/* classes the kernel would read otherwise than fnmatch are refused */
static void test_refused_classes(void **state)
{
	static const char *const bad[] = {"/a/[[:alpha:]]", "/a/[\\]]x", "/a/[^a]", "/a/[[.a.]]",
					  "/a/[[=a=]]"};
	struct sl_policy_path pth;
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		assert_int_equal(sl_parse_glob(bad[i], strlen(bad[i]), &pth, msg, sizeof(msg)),
				 -EINVAL);
		print_message("%s: %s\n", bad[i], msg);
		assert_non_null(strstr(msg, "expected"));
	}
	assert_true(glob_ok("/a/[]a]"));
	assert_true(glob_ok("/a/[!a-z]"));
	assert_true(glob_ok("/a/[[a]"));
}

/* which globs can match a path the kernel cannot walk whole */
static void test_reaches_past_walk(void **state)
{
	char g[8192];
	size_t o = 0;

	(void)state;
	assert_false(sl_glob_reaches_past_walk("/home/*/.config/prod/*.json"));
	assert_true(sl_glob_reaches_past_walk("/a/**/key.pem"));
	assert_true(sl_glob_reaches_past_walk("/home/*/.config/prod/**"));
	/* 65 components */
	for (int i = 0; i < 65; i++)
		o += (size_t)snprintf(g + o, sizeof(g) - o, "/?");
	assert_true(sl_glob_reaches_past_walk(g));
	assert_false(sl_glob_reaches_past_walk(g + 2)); /* 64 */
	/* 15 stars: 15 * 256 = 3840 bytes at most; 16: 4096 */
	o = 0;
	for (int i = 0; i < 15; i++)
		o += (size_t)snprintf(g + o, sizeof(g) - o, "/*");
	assert_false(sl_glob_reaches_past_walk(g));
	snprintf(g + o, sizeof(g) - o, "/x*");
	assert_true(sl_glob_reaches_past_walk(g));
}

/* the compiled policy carries the DFA and the labels of a path not walked whole */
static void test_compiled(void **state)
{
	static const char text[] = "version: 1\n"
				   "environments:\n"
				   "  production:\n"
				   "    paths:\n"
				   "      - /home/*/.config/prod/*.json\n"
				   "      - /srv/prod/**\n"
				   "  staging:\n"
				   "    paths:\n"
				   "      - /srv/stag-?/**\n"
				   "      - /home/*/.config/prod/*.json\n";
	struct sl_policy_errors errs;
	struct sl_compiled_policy *c = NULL;
	struct sl_policy *p = NULL;
	char err[256];
	uint64_t prod, stag;

	(void)state;
	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_buf("t.yaml", text, strlen(text), &p, &errs), 0);
	sl_policy_errors_free(&errs);
	assert_int_equal(sl_policy_compile(p, &c, err, sizeof(err)), 0);
	prod = 1ULL << sl_policy_env_id(p, "production");
	stag = 1ULL << sl_policy_env_id(p, "staging");
	assert_true(c->hdr.glob_states > 2);
	/* only the '**' glob can match a path past the kernel's walk */
	assert_int_equal(c->hdr.glob_trunc_env, stag);
	assert_true(sl_compiled_glob(c, "/home/u/.config/prod/a.json", 27) == (prod | stag));
	assert_true(sl_compiled_glob(c, "/srv/stag-1/x/y", 15) == stag);
	assert_true(sl_compiled_glob(c, "/srv/stag-1", 11) == stag);
	assert_true(sl_compiled_glob(c, "/srv/stag-12", 12) == 0);
	/* prefix labels stay in the LPM trie: not in the DFA */
	assert_true(sl_compiled_glob(c, "/srv/prod/x", 11) == 0);
	/* the reference of an open: a tail is no path label's, a cut walk every glob's */
	assert_true(sl_policy_env_for_open(p, "/home/u/.config/prod/a.json", false, false) ==
		    (prod | stag));
	assert_true(sl_policy_env_for_open(p, "/home/u/.config/prod/a.json", true, false) == 0);
	assert_true(sl_policy_env_for_open(p, "/x/y", true, true) == stag);
	assert_true(sl_policy_env_for_open(p, "/srv/prod/x", false, false) == prod);
	/* no warning: every glob is decided in the kernel now */
	assert_int_equal(c->n_warnings, 0);
	sl_compiled_policy_free(c);
	sl_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_examples),	       cmocka_unit_test(test_generated),
	    cmocka_unit_test(test_adversarial),	       cmocka_unit_test(test_state_bound),
	    cmocka_unit_test(test_bound_policy_error), cmocka_unit_test(test_refused_classes),
	    cmocka_unit_test(test_compiled),	       cmocka_unit_test(test_reaches_past_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
