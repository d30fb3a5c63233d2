// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Credential positions (user/lib/credpos.h) and their redaction
 * (redact.h, SL_REDACT_POSITIONS): curl argv, HTTP/1.1 requests, JSON
 * bodies, shell command lines and environment blocks, URLs; what must stay
 * (prose, token counts, UUIDs under harmless keys, "tokens": 123); labels
 * equal to a known value's; the learned set's bounds; the HPACK Huffman
 * form of a value is what an HTTP/2 client sends. The cost of the scan is
 * printed (no timed assertion).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <nghttp2/nghttp2.h>

#include "credpos.h"
#include "policy.h"
#include "redact.h"
#include "reqdec.h"

static struct sl_redact_scratch scr;

/* in redacted by position (and by r when not NULL): a malloc'd string */
static char *red_with(const struct sl_redact *r, const char *in, unsigned int flags)
{
	const struct sl_redact *rs[1] = {r};
	const void *out;
	size_t n;
	char *s;

	assert_int_equal(sl_redact_apply_set(rs, 1, 8, &scr, in, strlen(in),
					     flags | SL_REDACT_POSITIONS, &out, &n),
			 0);
	s = malloc(n + 1);
	assert_non_null(s);
	memcpy(s, out, n);
	s[n] = '\0';
	return s;
}

static char *red(const char *in)
{
	return red_with(NULL, in, 0);
}

static const char *lab(const char *v)
{
	static char l[16][SL_REDACT_LABEL_MAX + 1];
	static int k;

	k = (k + 1) % 16;
	sl_redact_label(v, strlen(v), l[k]);
	return l[k];
}

/* out equals the concatenation of the NULL-terminated pieces */
static void expect(const char *in, ...)
{
	char want[4096] = "", *got;
	va_list ap;
	const char *p;

	va_start(ap, in);
	while ((p = va_arg(ap, const char *)))
		strncat(want, p, sizeof(want) - strlen(want) - 1);
	va_end(ap);
	got = red(in);
	if (strcmp(got, want))
		fail_msg("in:   %s\ngot:  %s\nwant: %s", in, got, want);
	free(got);
}

static void unchanged(const char *in)
{
	expect(in, in, NULL);
}

static void test_curl_argv(void **state)
{
	(void)state;
	/* curl -H 'Authorization: Bearer ...' : the argv element */
	expect("Authorization: Bearer sk-live-4f9a8b7c6d5e3f21", "Authorization: Bearer ",
	       lab("sk-live-4f9a8b7c6d5e3f21"), NULL);
	expect("authorization:Basic dXNlcjpwYXNzd29yZA==", "authorization:Basic ",
	       lab("dXNlcjpwYXNzd29yZA=="), NULL);
	expect("X-Api-Key: 0123456789abcdef", "X-Api-Key: ", lab("0123456789abcdef"), NULL);
	expect("x-goog-api-key:AIzaSyA1234567890", "x-goog-api-key:", lab("AIzaSyA1234567890"),
	       NULL);
	/* no scheme word: all of it */
	expect("Authorization: ghp_abcdefghijklmnop",
	       "Authorization: ", lab("ghp_abcdefghijklmnop"), NULL);
	/* a shell command line: the header in quotes ends at its quote */
	expect("curl -sS -H 'Authorization: Bearer tok_1234567890' https://api.example.com/v1",
	       "curl -sS -H 'Authorization: Bearer ", lab("tok_1234567890"),
	       "' https://api.example.com/v1", NULL);
	expect("curl -H \"X-Auth-Token: abcdefgh12345\" -d x",
	       "curl -H \"X-Auth-Token: ", lab("abcdefgh12345"), "\" -d x", NULL);
}

static void test_http1_request(void **state)
{
	(void)state;
	expect("GET /v1/items?access_token=at_abcdefgh123&page=2 HTTP/1.1\r\n"
	       "Host: api.example.com\r\n"
	       "Authorization: Basic dXNlcjpwYXNzd29yZA==\r\n"
	       "Cookie: session=0123456789abcdef; theme=dark\r\n"
	       "Proxy-Authorization: Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag\r\n"
	       "X-Vault-Token: hvs.CAESIJabcdefgh\r\n"
	       "User-Agent: curl/8.5.0\r\n"
	       "Accept: */*\r\n\r\n",
	       "GET /v1/items?access_token=", lab("at_abcdefgh123"),
	       "&page=2 HTTP/1.1\r\n"
	       "Host: api.example.com\r\n"
	       "Authorization: Basic ",
	       lab("dXNlcjpwYXNzd29yZA=="),
	       "\r\nCookie: ", lab("session=0123456789abcdef; theme=dark"),
	       "\r\nProxy-Authorization: Negotiate ", lab("YIIBhgYGKwYBBQUCoIIBejCCAXag"),
	       "\r\nX-Vault-Token: ", lab("hvs.CAESIJabcdefgh"),
	       "\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n", NULL);
	/* a response-like header of numbers is short; a long one is a value */
	unchanged("X-RateLimit-Remaining-Tokens: 9000\r\n");
	/* a header line cut at the end of a write: what there is of it */
	expect("POST / HTTP/1.1\r\nAuthorization: Bearer abcdefghij",
	       "POST / HTTP/1.1\r\n"
	       "Authorization: Bearer ",
	       lab("abcdefghij"), NULL);
}

static void test_json(void **state)
{
	(void)state;
	expect("{\"model\":\"gpt-4o\",\"api_key\":\"sk-abcdef0123456789\",\"password\": "
	       "\"hunter2hunter2\",\"tokens\": 123,\"token_count\":\"55555555\","
	       "\"id\":\"550e8400-e29b-41d4-a716-446655440000\","
	       "\"clientSecret\":\"cs_0123456789\",\"max_tokens\":\"100000000\"}",
	       "{\"model\":\"gpt-4o\",\"api_key\":\"", lab("sk-abcdef0123456789"),
	       "\",\"password\": \"", lab("hunter2hunter2"),
	       "\",\"tokens\": 123,\"token_count\":\"55555555\","
	       "\"id\":\"550e8400-e29b-41d4-a716-446655440000\",\"clientSecret\":\"",
	       lab("cs_0123456789"), "\",\"max_tokens\":\"100000000\"}", NULL);
	/* "authorization" member, with an escaped quote inside the value */
	expect("{\"headers\":{\"Authorization\":\"Bearer ab\\\"cdefgh1\"}}",
	       "{\"headers\":{\"Authorization\":\"", lab("Bearer ab\\\"cdefgh1"), "\"}}", NULL);
	/* harmless keys, a secret key with a number or an object */
	unchanged("{\"request_id\":\"550e8400-e29b-41d4-a716-446655440000\",\"token\":12345678,"
		  "\"secret\":{\"a\":1},\"nextPageToken\":\"CAESBggBEAEYAQ\"}");
}

static void test_env_and_options(void **state)
{
	(void)state;
	expect("FOO_TOKEN=abcdefgh1234 PGPASSWORD='s3cr3t pass' psql -h db",
	       "FOO_TOKEN=", lab("abcdefgh1234"), " PGPASSWORD='", lab("s3cr3t pass"),
	       "' psql -h db", NULL);
	expect("env API_KEY=ak_0123456789 AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG cmd",
	       "env API_KEY=", lab("ak_0123456789"),
	       " AWS_SECRET_ACCESS_KEY=", lab("wJalrXUtnFEMI/K7MDENG"), " cmd", NULL);
	expect("deploy --token tok_abcdefghij --password=pw_1234567 --max-tokens 1000000000",
	       "deploy --token ", lab("tok_abcdefghij"), " --password=", lab("pw_1234567"),
	       " --max-tokens 1000000000", NULL);
	expect("STRIPE_KEY=rk_live_0123456789\nMYSQL_PWD=mysqlpass99\n",
	       "STRIPE_KEY=", lab("rk_live_0123456789"), "\nMYSQL_PWD=", lab("mysqlpass99"), "\n",
	       NULL);
	/* not secrets */
	unchanged(
	    "token_count=500000000 PWD=/home/user/project OLDPWD=/home/user sort_key=created_at "
	    "docker login --password-stdin registry.example.com --token-file /run/tok");
	/* a placeholder shorter than the minimum, a value that is already a label */
	unchanged("X_TOKEN=short");
	unchanged("Authorization: Bearer [secret sha256:0123456789abcdef]");
	unchanged("GITHUB_TOKEN=[secret sha256:0123456789abcdef] gh pr list");
}

static void test_urls(void **state)
{
	(void)state;
	expect("psql postgres://app:Sup3rS3cret@db.internal:5432/app",
	       "psql postgres://app:", lab("Sup3rS3cret"), "@db.internal:5432/app", NULL);
	expect("git clone https://x-access-token:ghs_abcdefgh12@github.com/o/r.git",
	       "git clone https://x-access-token:", lab("ghs_abcdefgh12"), "@github.com/o/r.git",
	       NULL);
	unchanged("https://example.com:8443/path?q=1 git clone https://user@host/repo "
		  "mailto:someone@example.com http://[::1]:8080/");
}

static void test_prose(void **state)
{
	(void)state;
	unchanged("The Authorization header carries a bearer token; see the docs.");
	unchanged("authorization required for this endpoint (401)");
	unchanged("Authorization: failed");
	unchanged("the password is stored in a vault; rotate the secret monthly");
	unchanged("open /home/user/project/src/token_bucket.c O_RDONLY");
}

static void test_names(void **state)
{
	static const char *const yes[] = {"GITHUB_TOKEN", "PGPASSWORD",	   "AWS_SECRET_ACCESS_KEY",
					  "api_key",	  "apiKey",	   "x-api-key",
					  "accessToken",  "client_secret", "MYSQL_PWD",
					  "password",	  "DB_PASS",	   "token",
					  "STRIPE_KEY",	  "x-auth-token"};
	static const char *const no[] = {"tokens",	"token_count", "max_tokens",	"PWD",
					 "OLDPWD",	"sort_key",    "nextPageToken", "id",
					 "no-password", "bypass",      "tokenizer",	"monkey"};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!sl_credpos_secret_name(yes[i], strlen(yes[i])))
			fail_msg("%s should be a secret name", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (sl_credpos_secret_name(no[i], strlen(no[i])))
			fail_msg("%s should not be a secret name", no[i]);
	assert_true(sl_credpos_option("--token", 7));
	assert_true(sl_credpos_option("--api-key", 9));
	assert_false(sl_credpos_option("--max-tokens", 12));
	assert_false(sl_credpos_option("--token-file", 12));
	assert_false(sl_credpos_option("--password-stdin", 16));
	assert_false(sl_credpos_option("-t", 2));
	assert_false(sl_credpos_option("--token=x", 9));
}

static void test_known_and_whole(void **state)
{
	struct sl_redact *r;
	char label[SL_REDACT_LABEL_MAX + 1], *s;

	(void)state;
	/* a known value at a position keeps its own label and is reported */
	assert_int_equal(sl_redact_new(8, &r), 0);
	snprintf(label, sizeof(label), "[secret sha256:known]");
	assert_int_equal(sl_redact_add(r, "sk-live-4f9a8b7c6d5e", 20, 7, label), 0);
	sl_redact_reset_found(&scr);
	s = red_with(r, "Authorization: Bearer sk-live-4f9a8b7c6d5e", 0);
	assert_string_equal(s, "Authorization: Bearer [secret sha256:known]");
	assert_int_equal(scr.n_found, 1);
	assert_int_equal(scr.found[0], 7);
	free(s);
	/* a known value inside a longer position value: the position's label */
	sl_redact_reset_found(&scr);
	s = red_with(r, "Cookie: a=sk-live-4f9a8b7c6d5e; b=1", 0);
	snprintf(label, sizeof(label), "Cookie: %s", lab("a=sk-live-4f9a8b7c6d5e; b=1"));
	assert_string_equal(s, label);
	free(s);
	assert_int_equal(scr.n_found, 1);
	/* the label is the policy's fingerprint of the value: they join */
	{
		char fp[SL_POLICY_FP_STR_SIZE];

		sl_policy_fingerprint_str("tok_abcdefghij", 14, fp);
		snprintf(label, sizeof(label), "[secret %s]", fp);
		assert_string_equal(lab("tok_abcdefghij"), label);
	}
	/* the whole value (the argument after --token) */
	s = red_with(NULL, "tok_abcdefghij", SL_REDACT_WHOLE);
	assert_string_equal(s, lab("tok_abcdefghij"));
	free(s);
	s = red_with(NULL, "short", SL_REDACT_WHOLE);
	assert_string_equal(s, "short");
	free(s);
	sl_redact_free(r);
}

static void test_learned(void **state)
{
	struct sl_redact_learned l = {.max_values = 4, .max_bytes = 1 << 20, .min_len = 8};
	char v[32];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(v, sizeof(v), "value-%04d", i);
		assert_int_equal(sl_redact_learn(&l, v, strlen(v), lab(v)), 0);
	}
	/* learned again: no copy */
	assert_int_equal(sl_redact_learn(&l, "value-0000", 10, lab("value-0000")), 0);
	assert_int_equal(sl_redact_learned_count(&l), 4);
	/* three generations' worth: the oldest forgotten, the count bounded */
	for (int i = 4; i < 12; i++) {
		snprintf(v, sizeof(v), "value-%04d", i);
		assert_int_equal(sl_redact_learn(&l, v, strlen(v), lab(v)), 0);
		assert_true(sl_redact_learned_count(&l) <= 8);
	}
	assert_false(sl_redact_contains(l.gen[0], "value-0000", 10) ||
		     sl_redact_contains(l.gen[1], "value-0000", 10));
	assert_true(sl_redact_contains(l.gen[0], "value-0011", 10));
	/* what is learned is redacted anywhere, with its label */
	{
		const void *out;
		size_t n;

		assert_int_equal(sl_redact_apply_set((const struct sl_redact *const *)l.gen, 2, 8,
						     &scr, "xx value-0009 yy", 16, 0, &out, &n),
				 0);
		assert_int_equal(n, 6 + strlen(lab("value-0009")));
		assert_memory_equal((const char *)out + 3, lab("value-0009"),
				    strlen(lab("value-0009")));
	}
	/* too short, too long */
	assert_int_equal(sl_redact_learn(&l, "short", 5, lab("short")), 0);
	assert_false(sl_redact_contains(l.gen[0], "short", 5));
	sl_redact_learned_free(&l);
}

/* the Huffman form is in the HEADERS block a real HPACK encoder writes */
static void test_hpack_huffman(void **state)
{
	const char *value = "Bearer zQ3xk9LmP0aB7vT2yW5nR8cE1dF4gH6j";
	nghttp2_nv nv[] = {
	    {(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
	    {(uint8_t *)"authorization", (uint8_t *)value, 13, strlen(value), 0},
	};
	nghttp2_hd_deflater *def;
	uint8_t block[512], *huff;
	size_t hlen;
	ssize_t n;

	(void)state;
	assert_int_equal(sl_rq_hpack_huffman(value, strlen(value), &huff, &hlen), 0);
	assert_true(hlen < strlen(value));
	/* an encoder with a dynamic table (indexing) writes the same value bytes */
	assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
	n = nghttp2_hd_deflate_hd(def, block, sizeof(block), nv, 2);
	assert_true(n > 0);
	assert_non_null(memmem(block, (size_t)n, huff, hlen));
	assert_null(memmem(block, (size_t)n, value + 7, strlen(value) - 7));
	nghttp2_hd_deflate_del(def);
	free(huff);
	/* a value whose Huffman code is longer is sent as it is */
	assert_int_equal(sl_rq_hpack_huffman("\x01\x02\x03\x04\x05\x06\x07\x08", 8, &huff, &hlen),
			 -ENOENT);
	assert_null(huff);
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* generated requests: no random credential at a position survives */
static void test_generated(void **state)
{
	static const char *const forms[] = {
	    "Authorization: Bearer %s\r\n",
	    "Cookie: sid=%s\r\n",
	    "X-Api-Key: %s\r\n",
	    "{\"api_key\": \"%s\"}",
	    "X_TOKEN=%s ",
	    "--token %s ",
	    "https://u:%s@h/",
	    "--password=%s ",
	    "\"password\":\"%s\",",
	};
	char buf[8192], tok[64], *out;

	(void)state;
	for (int iter = 0; iter < 2000; iter++) {
		size_t n = 0;
		const char *f = forms[rnd() % (sizeof(forms) / sizeof(forms[0]))];
		size_t tl = 8 + rnd() % 40;
		bool header;

		for (size_t i = 0; i < tl; i++)
			tok[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_."
			    [rnd() % 64];
		tok[tl] = '\0';
		/* noise before and after, on lines of their own */
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "GET /x?page=%d HTTP/1.1\r\n",
				      (int)(rnd() % 100));
		header = f[0] == 'A' || f[0] == 'C' || (f[0] == 'X' && f[1] == '-');
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", header ? "" : "cmd ");
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, f, tok);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", header ? "" : "\r\n");
		snprintf(buf + n, sizeof(buf) - n, "User-Agent: t/1\r\n\r\n");
		out = red(buf);
		if (strstr(out, tok))
			fail_msg("survived: %s\nin: %s\nout: %s", tok, buf, out);
		if (f[0] == 'C') {
			char v[80];

			snprintf(v, sizeof(v), "sid=%s", tok);
			if (!strstr(out, lab(v)))
				fail_msg("no label of %s in %s", v, out);
		} else if (!strstr(out, lab(tok))) {
			fail_msg("no label of %s in %s", tok, out);
		}
		free(out);
	}
}

/* the cost of the position scan, printed (not asserted) */
static void test_cost(void **state)
{
	static char body[64 << 10];
	const char *line = "Accept: */*\r\nX-Request-Id: 550e8400-e29b-41d4-a716-446655440000\r\n"
			   "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":"
			   "\"open /home/user/src/a-b/c_d.py --verbose key=value&x=y\"}]}\n";
	const char *path = "/home/user/project/node_modules/.pnpm/some-package@1.2.3/index.js";
	struct timespec t0, t1;
	size_t ll = strlen(line), n = 0;
	int rounds = 200;
	const void *out;
	size_t olen;
	double ns;

	(void)state;
	while (n + ll < sizeof(body)) {
		memcpy(body + n, line, ll);
		n += ll;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < rounds; i++)
		assert_int_equal(sl_redact_apply_set(NULL, 0, 8, &scr, body, n, SL_REDACT_POSITIONS,
						     &out, &olen),
				 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	printf("credpos: %zu-byte request text: %.2f ns/byte (%.1f us per value)\n", n,
	       ns / rounds / (double)n, ns / rounds / 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 200000; i++)
		assert_int_equal(sl_redact_apply_set(NULL, 0, 8, &scr, path, strlen(path),
						     SL_REDACT_POSITIONS, &out, &olen),
				 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	printf("credpos: a %zu-byte path: %.0f ns per value\n", strlen(path), ns / 200000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_curl_argv), cmocka_unit_test(test_http1_request),
	    cmocka_unit_test(test_json),      cmocka_unit_test(test_env_and_options),
	    cmocka_unit_test(test_urls),      cmocka_unit_test(test_prose),
	    cmocka_unit_test(test_names),     cmocka_unit_test(test_known_and_whole),
	    cmocka_unit_test(test_learned),   cmocka_unit_test(test_hpack_huffman),
	    cmocka_unit_test(test_generated), cmocka_unit_test(test_cost),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	sl_redact_scratch_free(&scr);
	return rc;
}
