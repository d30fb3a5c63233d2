// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The credential finder (user/lib/credfind.h) on real-looking files: dotenv,
 * shell scripts, JSON, YAML (kubeconfig), ~/.aws/credentials, .netrc, PEM,
 * curl scripts; and what it must not find: UUIDs, lockfile hashes, base64
 * images, URLs without passwords, placeholders, prose. Adversarial sizes:
 * inputs past the limit, one huge line, a pathological backtracking input.
 * Tokens are generated at run time (no credential-shaped literal in the
 * repository).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "credfind.h"

static struct sl_credfind *cf;

/* prefix + n characters of the alphabet, deterministic */
static char *tok(const char *prefix, size_t n, const char *alphabet)
{
	static char bufs[16][8192];
	static unsigned int next, seed = 12345;
	char *b = bufs[next++ % 16];
	size_t pl = strlen(prefix), al = strlen(alphabet);

	memcpy(b, prefix, pl);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245 + 12345;
		b[pl + i] = alphabet[(seed >> 16) % al];
	}
	b[pl + n] = '\0';
	return b;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define UPNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define B64 ALNUM "+/"
#define HEX "0123456789abcdef"

static int setup(void **state)
{
	(void)state;
	return sl_credfind_new(&cf);
}

static int teardown(void **state)
{
	(void)state;
	sl_credfind_free(cf);
	return 0;
}

struct want {
	enum sl_cred_kind kind;
	const char *value;
	const char *key; /* NULL: any */
};

static void expect(const char *text, const struct want *w, size_t nw)
{
	struct sl_cred out[64];
	int n = sl_credfind_scan(cf, text, strlen(text), out, 64, NULL);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++)
		print_message("  found %s key='%s' value='%.*s'\n", sl_cred_kind_name(out[i].kind),
			      out[i].key, (int)out[i].len, text + out[i].off);
	assert_int_equal((size_t)n, nw);
	for (size_t j = 0; j < nw; j++) {
		bool hit = false;

		for (int i = 0; i < n && !hit; i++)
			hit = out[i].kind == w[j].kind && out[i].len == strlen(w[j].value) &&
			      !memcmp(text + out[i].off, w[j].value, out[i].len) &&
			      (!w[j].key || !strcmp(out[i].key, w[j].key));
		if (!hit)
			fail_msg("not found: %s '%s' (key %s)", sl_cred_kind_name(w[j].kind),
				 w[j].value, w[j].key ? w[j].key : "-");
	}
}

static void test_dotenv_and_shell(void **state)
{
	char text[4096];
	char *gh = tok("ghp_", 36, ALNUM), *rw = tok("", 32, HEX);
	char *pw = "s3cr3t-Pa55", *oa = tok("sk-proj-", 48, ALNUM "-_");
	char *an = tok("sk-ant-api03-", 40, ALNUM "-_");

	(void)state;
	snprintf(text, sizeof(text),
		 "# deploy settings\n"
		 "APP_ENV=staging\n"
		 "GITHUB_TOKEN=%s\n"
		 "export RAILWAY_TOKEN=\"%s\"\n"
		 "DB_PASSWORD='%s'\n"
		 "OPENAI_API_KEY=%s\n"
		 "ANTHROPIC_API_KEY=%s\n"
		 "SESSION_TOKEN=${SESSION_TOKEN}\n"
		 "API_KEY=<your key here>\n"
		 "SECRET_KEY=changeme\n"
		 "PATH=/usr/bin:/bin\n",
		 gh, rw, pw, oa, an);
	struct want w[] = {
	    {SL_CRED_GITHUB, gh, "GITHUB_TOKEN"},	  {SL_CRED_ASSIGNMENT, rw, "RAILWAY_TOKEN"},
	    {SL_CRED_ASSIGNMENT, pw, "DB_PASSWORD"},	  {SL_CRED_OPENAI, oa, "OPENAI_API_KEY"},
	    {SL_CRED_ANTHROPIC, an, "ANTHROPIC_API_KEY"},
	};
	expect(text, w, sizeof(w) / sizeof(w[0]));
}

static void test_json_yaml_kubeconfig(void **state)
{
	char text[8192];
	char *jwt_h = tok("eyJ", 20, ALNUM), *jwt_p = tok("eyJ", 60, ALNUM),
	     *jwt_s = tok("", 43, ALNUM "-_");
	char jwt[256], *kd = tok("LS0tLS1CRUdJTi", 120, B64), *st = tok("", 40, ALNUM);

	(void)state;
	snprintf(jwt, sizeof(jwt), "%s.%s.%s", jwt_h, jwt_p, jwt_s);
	snprintf(text, sizeof(text),
		 "{\n  \"name\": \"api\",\n  \"apiToken\": \"%s\",\n  \"retries\": 3\n}\n"
		 "apiVersion: v1\nkind: Config\nusers:\n- name: prod-admin\n  user:\n"
		 "    token: %s\n    client-key-data: %s\n",
		 st, jwt, kd);
	struct want w[] = {
	    {SL_CRED_ASSIGNMENT, st, "apiToken"},
	    {SL_CRED_JWT, jwt, "token"},
	    {SL_CRED_ASSIGNMENT, kd, "client-key-data"},
	};
	expect(text, w, sizeof(w) / sizeof(w[0]));
}

static void test_aws_netrc_pem_url_curl(void **state)
{
	char text[8192], pem[2048];
	char *kid = tok("AKIA", 16, UPNUM), *sec = tok("", 40, B64), *body = tok("", 256, B64);
	char *bearer = tok("", 40, ALNUM "._-"), *urlpw = "pg-S3cret!9";

	(void)state;
	snprintf(pem, sizeof(pem),
		 "-----BEGIN OPENSSH PRIVATE KEY-----\n%.64s\n%.64s\n%.64s\n"
		 "-----END OPENSSH PRIVATE KEY-----",
		 body, body + 64, body + 128);
	snprintf(text, sizeof(text),
		 "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n"
		 "machine api.example.com login deploy password hunter2x\n\n"
		 "%s\n\n"
		 "DATABASE_URL=postgres://app:%s@db.prod.internal:5432/app\n"
		 "curl -H 'Authorization: Bearer %s' https://api.example.com/graphql\n",
		 kid, sec, pem, urlpw, bearer);
	struct want w[] = {
	    {SL_CRED_AWS_KEY_ID, kid, NULL},
	    {SL_CRED_AWS_SECRET, sec, "aws_secret_access_key"},
	    {SL_CRED_NETRC_PASSWORD, "hunter2x", NULL},
	    {SL_CRED_PRIVATE_KEY, pem, NULL},
	    {SL_CRED_URL_PASSWORD, urlpw, NULL},
	    {SL_CRED_AUTH_HEADER, bearer, NULL},
	};
	expect(text, w, sizeof(w) / sizeof(w[0]));
}

static void test_not_credentials(void **state)
{
	char text[16384];
	char *sha = tok("sha512-", 86, B64), *img = tok("iVBORw0KGgo", 2000, B64);

	(void)state;
	snprintf(text, sizeof(text),
		 "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"node_modules/x\": {\n"
		 "      \"version\": \"1.2.3\",\n"
		 "      \"resolved\": \"https://registry.npmjs.org/x/-/x-1.2.3.tgz\",\n"
		 "      \"integrity\": \"%s\"\n    }\n  }\n}\n"
		 "request_id = 3f9a0c12-be7d-4411-9c2e-5b0a7e6d1f20\n"
		 "golang.org/x/net v0.17.0 h1:pVaXccu2ozPjCXewfr1S7xoxsl/tmvRRYbfYTK6dB4E=\n"
		 "<img src=\"data:image/png;base64,%s\">\n"
		 "The token is stored in the vault; the password policy is strict.\n"
		 "password: ${DB_PASSWORD}\n"
		 "token: <redacted>\n"
		 "api_key: \"\"\n"
		 "secret: development\n"
		 "auth_token = os.environ.get('AUTH_TOKEN')\n"
		 "see https://user@example.com/path and http://example.com:8080/x\n"
		 /* a session's environment: the shell's working directories */
		 "PWD=/home/dev/shop-2024/src\nOLDPWD=/tmp/sl-e2e-x7Qk29ab/home\n",
		 sha, img);
	expect(text, NULL, 0);
}

static void test_adversarial_sizes(void **state)
{
	size_t big = SL_CREDFIND_MAX_INPUT + 4096;
	char *buf = malloc(big + 1);
	struct sl_credfind_stats st;
	struct sl_cred out[8];
	struct timespec a, b;
	char *gh = tok("ghp_", 36, ALNUM);
	int n;

	(void)state;
	assert_non_null(buf);
	/* a credential past the limit is not read; one before it is */
	memset(buf, 'A', big);
	memcpy(buf + 100, gh, strlen(gh));
	buf[99] = ' ';
	buf[100 + strlen(gh)] = ' ';
	memcpy(buf + SL_CREDFIND_MAX_INPUT + 100, gh, strlen(gh));
	buf[big] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &a);
	n = sl_credfind_scan(cf, buf, big, out, 8, &st);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(n, 1);
	assert_true(st.truncated);
	assert_int_equal(st.scanned, SL_CREDFIND_MAX_INPUT);
	print_message("  4 MiB of one letter: %.1f ms\n",
		      (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);

	/* one line of assignments that never close, and a long key-like run */
	for (size_t i = 0; i + 10 < SL_CREDFIND_MAX_INPUT; i += 10)
		memcpy(buf + i, "password=\"", 10);
	n = sl_credfind_scan(cf, buf, SL_CREDFIND_MAX_INPUT, out, 8, &st);
	assert_true(n >= 0);

	/* many findings: max kept, all counted */
	size_t off = 0;
	for (int i = 0; i < 100; i++)
		off += (size_t)sprintf(buf + off, "T%d_TOKEN=%s\n", i, tok("ghp_", 36, ALNUM));
	n = sl_credfind_scan(cf, buf, off, out, 8, &st);
	assert_int_equal(n, 8);
	assert_int_equal(st.found, 100);
	assert_true(out[0].off < out[1].off);

	/* empty and NULL-with-zero inputs */
	assert_int_equal(sl_credfind_scan(cf, "", 0, out, 8, NULL), 0);
	assert_int_equal(sl_credfind_scan(cf, NULL, 0, out, 8, NULL), 0);
	assert_int_equal(sl_credfind_scan(cf, NULL, 3, out, 8, NULL), -EINVAL);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dotenv_and_shell),
	    cmocka_unit_test(test_json_yaml_kubeconfig),
	    cmocka_unit_test(test_aws_netrc_pem_url_curl),
	    cmocka_unit_test(test_not_credentials),
	    cmocka_unit_test(test_adversarial_sizes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
