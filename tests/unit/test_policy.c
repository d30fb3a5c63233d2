// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policy parser and validator (user/lib/policy.h): one test per error class,
 * each asserting the exact FILE:LINE:COLUMN and field of the message; the
 * shipped policies; the compiled layout; secrets (never printed); label
 * matching. Run under ASan as well: every error path must free everything.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>

#include "policy.h"

#define F "t.yaml"

/* a valid policy that each error test breaks in one place */
#define HEAD "version: 1\nenvironments:\n  prod:\n    paths: [/srv/prod/**]\n  staging: {}\n"

static const char *srcdir(void)
{
	const char *d = getenv("SL_SRCDIR");

	return d && *d ? d : ".";
}

/*
 * Load text, expect -EINVAL and an error whose formatted line starts with
 * prefix ("t.yaml:L:C: field 'X': ") and whose message contains needle.
 */
static void expect_error_len(const char *text, size_t len, const char *prefix, const char *needle)
{
	struct sl_policy_errors errs;
	const struct sl_policy_error *e;
	struct sl_policy *p = NULL;
	bool found = false;
	char line[2048];

	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_buf(F, text, len, &p, &errs), -EINVAL);
	assert_null(p);
	assert_true(sl_policy_errors_count(&errs) >= 1);
	sl_policy_errors_foreach(&errs, e)
	{
		sl_policy_error_format(e, line, sizeof(line));
		if (!strncmp(line, prefix, strlen(prefix)) && (!needle || strstr(line, needle)))
			found = true;
	}
	if (!found) {
		print_error("wanted: %s ... %s\ngot:\n", prefix, needle ? needle : "");
		sl_policy_errors_foreach(&errs, e)
		{
			sl_policy_error_format(e, line, sizeof(line));
			print_error("  %s\n", line);
		}
	}
	sl_policy_errors_free(&errs);
	assert_true(found);
}

static void expect_error(const char *text, const char *prefix, const char *needle)
{
	expect_error_len(text, strlen(text), prefix, needle);
}

static struct sl_policy *load_ok(const char *text)
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
	assert_int_equal(err, 0);
	assert_int_equal(sl_policy_errors_total(&errs), 0);
	sl_policy_errors_free(&errs);
	assert_non_null(p);
	return p;
}

/* ---- shipped policies ---- */

static void check_file_ok(const char *path)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;
	int err;

	sl_policy_errors_init(&errs);
	err = sl_policy_load_file(path, &p, &errs);
	if (err)
		sl_policy_errors_print(&errs, stderr);
	assert_int_equal(err, 0);
	assert_non_null(p);
	assert_true(p->n_envs >= 2);
	assert_true(p->n_rules >= 1);
	sl_policy_free(p);
	sl_policy_errors_free(&errs);
}

static void test_shipped_default(void **state)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;
	char path[4096];

	(void)state;
	snprintf(path, sizeof(path), "%s/policies/default.yaml", srcdir());
	check_file_ok(path);

	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_file(path, &p, &errs), 0);
	assert_int_equal(sl_policy_env_id(p, "production"), 1);
	assert_int_equal(sl_policy_env_id(p, "staging"), 2);
	assert_int_equal(p->mode, SL_POLICY_ENFORCE);
	/* the default covers each destructive family the issue names */
	{
		static const char *const need[] = {
		    "graphql_destroy", "http_delete",
		    "sql_drop",	       "sql_delete_all",
		    "rm_recursive",    "terraform_destroy",
		    "kubectl_delete",  "railway_destroy",
		    "aws_delete",      "gcloud_delete",
		    "az_delete",       "dropdb",
		    "redis_flush",     "git_force_push_protected",
		    "sql_drop_cli",    "sql_delete_all_cli",
		    "redis_flush_cli",
		};
		for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
			bool have = false;

			for (uint32_t j = 0; j < p->n_patterns; j++)
				have |= !strcmp(p->patterns[j].name, need[i]);
			if (!have)
				print_error("default policy lacks pattern %s\n", need[i]);
			assert_true(have);
		}
	}
	sl_policy_free(p);
	sl_policy_errors_free(&errs);
}

static void test_shipped_examples(void **state)
{
	char pat[4096];
	glob_t g;

	(void)state;
	snprintf(pat, sizeof(pat), "%s/policies/examples/*.yaml", srcdir());
	assert_int_equal(glob(pat, 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 1);
	for (size_t i = 0; i < g.gl_pathc; i++)
		check_file_ok(g.gl_pathv[i]);
	globfree(&g);
}

/* ---- layout of a valid policy ---- */

static void test_layout(void **state)
{
	struct sl_policy *p;

	(void)state;
	p = load_ok("version: 1\n"
		    "mode: monitor\n"
		    "settings: {hold_timeout: 2m, secret_min_length: 12, syslog: false,\n"
		    "           alert_file: /var/log/a.jsonl, admin_group: sec-ops, "
		    "audit_buffer: 8M, on_audit_failure: continue, "
		    "daemon_absent: continue, daemon_absent_grace: 30s}\n"
		    "environments:\n"
		    "  production:\n"
		    "    description: live\n"
		    "    paths: [/srv/prod/**, /etc/prod.conf, /home/*/.prod/*.token]\n"
		    "    hosts: [api.Prod.example.com, \"*.prod.example.com\", 10.1.0.0/16,\n"
		    "            \"[2001:db8::1]:443\", 2001:db8:1::/48, db:5432]\n"
		    "    secrets:\n"
		    "      - fingerprint: "
		    "\"sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\"\n"
		    "      - {file: /etc/x.env, keys: [TOKEN]}\n"
		    "      - env: PROD_TOKEN\n"
		    "    resources: [vol-1234, proj_abcd]\n"
		    "  staging:\n"
		    "patterns:\n"
		    "  gql:\n"
		    "    channel: tls\n"
		    "    all: [{icase: MUTATION}, {any: [volumeDelete, serviceDelete]}]\n"
		    "    any: [\"{ \"]\n"
		    "  sql:\n"
		    "    channel: [exec, tls]\n"
		    "    all: [{icase: Delete From}]\n"
		    "    none: [{icase: where}, volumeDelete]\n"
		    "rules:\n"
		    "  - {name: a, channel: tls, pattern: [gql, sql], target: outside_scope, "
		    "action: kill}\n"
		    "  - {name: b, channel: exec, pattern: sql, target: [unknown, in_scope],\n"
		    "     action: freeze, monitor: true}\n"
		    "  - {name: c, channel: connect, target: outside_scope, action: deny}\n"
		    "  - {name: d, channel: open, target: any, action: alert}\n");

	assert_int_equal(p->version, 1);
	assert_int_equal(p->mode, SL_POLICY_MONITOR);
	assert_int_equal(p->settings.hold_timeout_s, 120);
	assert_int_equal(p->settings.secret_min_len, 12);
	assert_false(p->settings.syslog);
	assert_string_equal(p->settings.alert_file, "/var/log/a.jsonl");
	assert_string_equal(p->settings.admin_group, "sec-ops");
	assert_int_equal(p->settings.audit_buffer, 8 << 20);
	assert_int_equal(p->settings.on_audit_failure, SL_AUDIT_FAIL_CONTINUE);
	assert_int_equal(p->settings.daemon_absent, SL_DAEMON_ABSENT_CONTINUE);
	assert_int_equal(p->settings.daemon_grace_s, 30);

	assert_int_equal(p->n_envs, 2);
	assert_int_equal(p->envs[0].id, 1);
	assert_string_equal(p->envs[0].name, "production");
	assert_string_equal(p->envs[0].description, "live");
	assert_int_equal(p->envs[1].id, 2);
	assert_int_equal(p->envs[1].n_paths, 0);
	assert_string_equal(sl_policy_env_name(p, 0), "unknown");
	assert_string_equal(sl_policy_env_name(p, 2), "staging");
	assert_null(sl_policy_env_name(p, 3));
	assert_int_equal(sl_policy_env_id(p, "nope"), -ENOENT);

	/* paths */
	assert_int_equal(p->envs[0].n_paths, 3);
	assert_int_equal(p->envs[0].paths[0].kind, SL_PATH_PREFIX);
	assert_int_equal(p->envs[0].paths[0].prefix_len, strlen("/srv/prod/"));
	assert_int_equal(p->envs[0].paths[1].kind, SL_PATH_EXACT);
	assert_int_equal(p->envs[0].paths[2].kind, SL_PATH_GLOB);
	assert_int_equal(p->envs[0].paths[2].prefix_len, strlen("/home/"));

	/* hosts */
	{
		const struct sl_policy_host *h = p->envs[0].hosts;
		uint8_t a6[16];

		assert_int_equal(p->envs[0].n_hosts, 6);
		assert_int_equal(h[0].kind, SL_HOST_NAME);
		assert_string_equal(h[0].name, "api.prod.example.com");
		assert_string_equal(h[0].text, "api.Prod.example.com");
		assert_int_equal(h[1].kind, SL_HOST_WILDCARD);
		assert_string_equal(h[1].name, ".prod.example.com");
		assert_int_equal(h[2].kind, SL_HOST_IPV4);
		assert_int_equal(h[2].prefix_len, 16);
		assert_memory_equal(h[2].addr, "\x0a\x01\x00\x00", 4);
		assert_int_equal(h[3].kind, SL_HOST_IPV6);
		assert_int_equal(h[3].port, 443);
		assert_int_equal(h[3].prefix_len, 128);
		inet_pton(AF_INET6, "2001:db8::1", a6);
		assert_memory_equal(h[3].addr, a6, 16);
		assert_int_equal(h[4].kind, SL_HOST_IPV6);
		assert_int_equal(h[4].prefix_len, 48);
		assert_int_equal(h[5].kind, SL_HOST_NAME);
		assert_int_equal(h[5].port, 5432);
	}

	/* secrets (sources only: nothing read yet) */
	{
		const struct sl_policy_secret_src *s = p->envs[0].secrets;

		assert_int_equal(p->envs[0].n_secrets, 3);
		assert_int_equal(s[0].kind, SL_SECRET_FINGERPRINT);
		assert_int_equal(s[0].sha256[0], 0xba);
		assert_int_equal(s[0].sha256[31], 0xad);
		assert_int_equal(s[1].kind, SL_SECRET_FILE);
		assert_int_equal(s[1].format, SL_SECFMT_AUTO);
		assert_int_equal(s[1].n_keys, 1);
		assert_string_equal(s[1].keys[0], "TOKEN");
		assert_int_equal(s[1].loc.line, 13);
		assert_int_equal(s[1].loc.column, 9);
		assert_int_equal(s[2].kind, SL_SECRET_ENV);
		assert_string_equal(s[2].env_var, "PROD_TOKEN");
		assert_false(p->secrets_loaded);
		assert_int_equal(p->envs[0].n_resources, 2);
		assert_string_equal(p->envs[0].resources[1], "proj_abcd");
	}

	/* keywords: one table, deduplicated, icase folded */
	assert_int_equal(p->n_keywords,
			 6); /* mutation volumeDelete serviceDelete { delete from where */
	assert_string_equal((char *)p->keywords[0].bytes, "mutation");
	assert_true(p->keywords[0].icase);
	assert_int_equal(p->keywords[0].channels, SL_CHAN_BIT(SL_CHAN_TLS));
	assert_string_equal((char *)p->keywords[1].bytes, "volumeDelete");
	assert_false(p->keywords[1].icase);
	/* volumeDelete is used by gql (tls) and sql (exec, tls) */
	assert_int_equal(p->keywords[1].channels,
			 SL_CHAN_BIT(SL_CHAN_TLS) | SL_CHAN_BIT(SL_CHAN_EXEC));
	assert_string_equal((char *)p->keywords[4].bytes, "delete from");

	/* patterns: CNF over keyword indices */
	assert_int_equal(p->n_patterns, 2);
	assert_int_equal(p->patterns[0].channels, SL_CHAN_BIT(SL_CHAN_TLS));
	assert_int_equal(p->patterns[0].n_groups, 3);
	assert_int_equal(p->patterns[0].groups[0].n_kw, 1);
	assert_int_equal(p->patterns[0].groups[0].kw[0], 0);
	assert_int_equal(p->patterns[0].groups[1].n_kw, 2);
	assert_int_equal(p->patterns[0].groups[1].kw[0], 1);
	assert_int_equal(p->patterns[0].groups[1].kw[1], 2);
	assert_int_equal(p->patterns[0].groups[2].kw[0], 3);
	assert_int_equal(p->patterns[0].n_none, 0);
	assert_int_equal(p->patterns[1].channels,
			 SL_CHAN_BIT(SL_CHAN_EXEC) | SL_CHAN_BIT(SL_CHAN_TLS));
	assert_int_equal(p->patterns[1].n_groups, 1);
	assert_int_equal(p->patterns[1].n_none, 2);
	assert_int_equal(p->patterns[1].none[0], 5);
	assert_int_equal(p->patterns[1].none[1], 1);

	/* rules */
	assert_int_equal(p->n_rules, 4);
	assert_int_equal(p->rules[0].channel, SL_CHAN_TLS);
	assert_int_equal(p->rules[0].n_patterns, 2);
	assert_int_equal(p->rules[0].patterns[0], 0);
	assert_int_equal(p->rules[0].patterns[1], 1);
	assert_int_equal(p->rules[0].target, SL_TARGET_OUTSIDE);
	assert_int_equal(p->rules[0].action, SL_ACT_KILL);
	assert_false(p->rules[0].monitor);
	assert_true(p->rules[0].effective_monitor); /* mode: monitor */
	assert_int_equal(p->rules[1].target, SL_TARGET_UNKNOWN | SL_TARGET_IN_SCOPE);
	assert_int_equal(p->rules[1].action, SL_ACT_FREEZE);
	assert_true(p->rules[1].monitor);
	assert_int_equal(p->rules[2].channel, SL_CHAN_CONNECT);
	assert_int_equal(p->rules[2].n_patterns, 0);
	assert_null(p->rules[2].patterns);
	assert_int_equal(p->rules[2].action, SL_ACT_DENY);
	assert_int_equal(p->rules[3].target, SL_TARGET_ANY);
	assert_int_equal(p->rules[3].loc.line, 31);

	sl_policy_free(p);
}

static void test_defaults(void **state)
{
	struct sl_policy *p;

	(void)state;
	p = load_ok(HEAD);
	assert_int_equal(p->mode, SL_POLICY_ENFORCE);
	assert_int_equal(p->settings.hold_timeout_s, SL_POLICY_HOLD_TIMEOUT_DEFAULT);
	assert_int_equal(p->settings.secret_min_len, SL_POLICY_SECRET_MIN_DEFAULT);
	assert_true(p->settings.syslog);
	assert_null(p->settings.alert_file);
	assert_int_equal(p->settings.audit_buffer, SL_POLICY_AUDIT_BUFFER_DEFAULT);
	assert_int_equal(p->settings.on_audit_failure, SL_AUDIT_FAIL_FREEZE);
	assert_int_equal(p->settings.daemon_absent, SL_DAEMON_ABSENT_FREEZE);
	assert_int_equal(p->settings.daemon_grace_s, SL_POLICY_DAEMON_GRACE_DEFAULT);
	assert_int_equal(p->n_patterns, 0);
	assert_int_equal(p->n_rules, 0);
	sl_policy_free(p);
	sl_policy_free(NULL);
}

/* environments.<name>.confine: both confined unless the policy opts out */
static void test_confine_keys(void **state)
{
	struct sl_policy *p;

	(void)state;
	p = load_ok(HEAD);
	for (uint32_t i = 0; i < p->n_envs; i++) {
		assert_true(p->envs[i].confine_ptrace);
		assert_true(p->envs[i].confine_userns);
	}
	sl_policy_free(p);

	p = load_ok("version: 1\nenvironments:\n  prod:\n    confine: {ptrace: false}\n"
		    "  staging:\n    paths: [/srv/s/**]\n    confine:\n      userns: false\n"
		    "  dev:\n  lab:\n    confine: {ptrace: false, userns: false}\n");
	assert_int_equal(p->n_envs, 4);
	assert_false(p->envs[0].confine_ptrace);
	assert_true(p->envs[0].confine_userns);
	assert_true(p->envs[1].confine_ptrace);
	assert_false(p->envs[1].confine_userns);
	assert_int_equal(p->envs[1].n_paths, 1);
	assert_true(p->envs[2].confine_ptrace); /* "dev:" with nothing */
	assert_true(p->envs[2].confine_userns);
	assert_false(p->envs[3].confine_ptrace);
	assert_false(p->envs[3].confine_userns);
	sl_policy_free(p);

	expect_error(
	    "version: 1\nenvironments:\n  prod:\n    confine: {ptrace: false, mount: no}\n",
	    F ":4:30: field 'environments.prod.confine.mount': ",
	    "expected one of ptrace, userns, found unknown key");
	expect_error(
	    "version: 1\nenvironments:\n  prod:\n    confine: {ptrace: \"false\"}\n",
	    F ":4:23: field 'environments.prod.confine.ptrace': ", "expected true or false, found");
	expect_error(
	    "version: 1\nenvironments:\n  prod:\n    confine:\n      userns: no\n",
	    F ":5:15: field 'environments.prod.confine.userns': ", "expected true or false");
	expect_error(
	    "version: 1\nenvironments:\n  prod:\n    confine: {}\n",
	    F ":4:14: field 'environments.prod.confine': ",
	    "at least one of ptrace, userns (omit the key instead), found an empty mapping");
	expect_error(
	    "version: 1\nenvironments:\n  prod:\n    confine: false\n",
	    F ":4:14: field 'environments.prod.confine': ", "expected a mapping (ptrace, userns)");
	expect_error(
	    "version: 1\nenvironments:\n  prod:\n    confine: {ptrace: false, ptrace: true}\n",
	    F ":4:30: field 'environments.prod.confine.ptrace': ", "duplicate");
}

/* environments.<name>.blind_tls: deny unless the policy says alert */
static void test_blind_tls_key(void **state)
{
	struct sl_policy *p;

	(void)state;
	p = load_ok(HEAD);
	for (uint32_t i = 0; i < p->n_envs; i++)
		assert_int_equal(p->envs[i].blind_tls, SL_BLIND_TLS_DENY);
	sl_policy_free(p);

	p = load_ok("version: 1\nenvironments:\n  prod:\n    blind_tls: deny\n"
		    "  staging:\n    blind_tls: alert\n  dev:\n  lab:\n    blind_tls: proxy\n");
	assert_int_equal(p->envs[0].blind_tls, SL_BLIND_TLS_DENY);
	assert_int_equal(p->envs[1].blind_tls, SL_BLIND_TLS_ALERT);
	assert_int_equal(p->envs[2].blind_tls, SL_BLIND_TLS_DENY);
	assert_int_equal(p->envs[3].blind_tls, SL_BLIND_TLS_PROXY);
	sl_policy_free(p);

	expect_error("version: 1\nenvironments:\n  prod:\n    blind_tls: mitm\n",
		     F ":4:16: field 'environments.prod.blind_tls': ",
		     "expected one of deny, alert or proxy, found 'mitm'");
	expect_error("version: 1\nenvironments:\n  prod:\n    blind_tls: [deny]\n",
		     F ":4:16: field 'environments.prod.blind_tls': ",
		     "expected one of deny, alert or proxy");
}

/* environments.<name>.loss: throttle unless the policy says drop */
static void test_loss_key(void **state)
{
	struct sl_policy *p;

	(void)state;
	p = load_ok(HEAD);
	for (uint32_t i = 0; i < p->n_envs; i++)
		assert_int_equal(p->envs[i].loss, SL_LOSS_MODE_THROTTLE);
	sl_policy_free(p);

	p = load_ok("version: 1\nenvironments:\n  prod:\n    loss: throttle\n"
		    "  bench:\n    loss: drop\n  dev:\n");
	assert_int_equal(p->envs[0].loss, SL_LOSS_MODE_THROTTLE);
	assert_int_equal(p->envs[1].loss, SL_LOSS_MODE_DROP);
	assert_int_equal(p->envs[2].loss, SL_LOSS_MODE_THROTTLE);
	sl_policy_free(p);

	expect_error("version: 1\nenvironments:\n  prod:\n    loss: block\n",
		     F ":4:11: field 'environments.prod.loss': ",
		     "expected one of throttle or drop, found 'block'");
}

/* ---- error classes: exact position and field ---- */

static void test_err_syntax(void **state)
{
	(void)state;
	expect_error(HEAD "patterns:\n  p:\n    channel: tls\n   any: [x]\n",
		     F ":9:4: field 'patterns': ", "expected valid YAML, found a syntax error");
	expect_error("version: 1\nenvironments: [a, b\n",
		     F ":3:1: field 'environments[2]': ", "syntax error");
	expect_error("version: 1\nenvironments:\n\tprod: {}\n",
		     F ":3:1: field 'environments': ", "YAML is indented with spaces, not tabs");
	expect_error("version: 1\nenvironments:\n  prod:\n    description: a: b\n",
		     F ":4:19: field 'environments.prod': ",
		     "mapping values are not allowed in this context");
}

static void test_err_non_utf8(void **state)
{
	(void)state;
	expect_error("version: 1\nenvironments:\n  prod:\n    paths: [\"/\xc3\xa9\xff\"]\n",
		     F ":4:16: field '(document)': ", "expected UTF-8 text, found invalid");
	/* UTF-16 is not guessed from a byte order mark */
	expect_error_len("\xff\xfev\0e\0", 6,
			 F ":1:1: field '(document)': ", "expected UTF-8 text");
}

static void test_err_nul_byte(void **state)
{
	static const char text[] = "version: 1\nenvironments:\n  p\0rod: {}\n";

	(void)state;
	expect_error_len(text, sizeof(text) - 1,
			 F ":3:4: field '(document)': ", "expected UTF-8 text, found a NUL byte");
	/* a NUL from an escape in a quoted string */
	expect_error("version: 1\nenvironments:\n  prod:\n    paths: [\"/a\\0b\"]\n",
		     F ":4:13: field 'environments.prod.paths[0]': ",
		     "without NUL bytes, found a NUL byte at byte 3");
}

static void test_err_too_large(void **state)
{
	size_t len = SL_POLICY_MAX_BYTES + 1;
	char *buf = malloc(len);

	(void)state;
	assert_non_null(buf);
	memset(buf, '#', len);
	expect_error_len(
	    buf, len, F ":1:1: field '(document)': ", "at most 1048576 bytes, found 1048577 bytes");
	free(buf);
}

static void test_err_too_deep(void **state)
{
	char text[256];

	(void)state;
	snprintf(text, sizeof(text), "version: 1\nenvironments: %s%s\n", "[[[[[[[[[[[[[[[[[[[[",
		 "]]]]]]]]]]]]]]]]]]]]");
	expect_error(text,
		     F ":2:30: field 'environments[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]': ",
		     "at most 16 levels of nested lists and mappings");
}

static void test_err_unknown_key(void **state)
{
	(void)state;
	expect_error(HEAD "colour: blue\n", F ":6:1: field 'colour': ",
		     "expected one of version, mode, settings, environments, patterns, rules, "
		     "destinations, outputs, found unknown key 'colour'");
	expect_error("version: 1\nenvironments:\n  prod:\n    pathz: [/a]\n",
		     F ":4:5: field 'environments.prod.pathz': ", "unknown key 'pathz'");
}

static void test_destinations(void **state)
{
	struct sl_policy *p = NULL;
	const char *ok = HEAD "destinations:\n  model_providers:\n    - API.Example.ai\n"
			      "    - \"*.gw.example.com\"\n";

	(void)state;
	assert_int_equal(sl_policy_load_buf("t.yaml", ok, strlen(ok), &p, NULL), 0);
	assert_int_equal(p->n_providers, 2);
	assert_true(sl_policy_provider_match(p, "api.example.ai"));
	assert_true(sl_policy_provider_match(p, "llm.gw.example.com"));
	assert_false(sl_policy_provider_match(p, "gw.example.com.evil"));
	assert_false(sl_policy_provider_match(p, "example.ai"));
	sl_policy_free(p);
	expect_error(HEAD "destinations:\n  model_providers:\n    - 10.1.2.3\n",
		     F ":8:7: field 'destinations.model_providers[0]': ",
		     "expected a host name or *.domain");
	expect_error(HEAD "destinations:\n  model_providers:\n    - a.b:443\n",
		     F ":8:7: field 'destinations.model_providers[0]': ", "without a port");
	expect_error(HEAD "destinations:\n  gateways: []\n",
		     F ":7:3: field 'destinations.gateways': ", "unknown key 'gateways'");
}

static void test_outputs(void **state)
{
	struct sl_policy *p;

	(void)state;
	p = load_ok(HEAD
		    "outputs:\n  webhook:\n    url: https://h.example/a\n"
		    "    timeout: 250ms\n    backoff: 2s\n    backoff_max: 1m\n"
		    "  program: {command: \"cat\", queue: 7}\n  syslog: {}\n  journald: true\n");
	assert_string_equal(p->outputs.webhook_url, "https://h.example/a");
	assert_int_equal(p->outputs.webhook_timeout_ms, 250);
	assert_int_equal(p->outputs.webhook_backoff_ms, 2000);
	assert_int_equal(p->outputs.webhook_backoff_max, 60000);
	assert_int_equal(p->outputs.webhook_retries, 20);
	assert_int_equal(p->outputs.webhook_queue, SL_OUTPUT_QUEUE_DEFAULT);
	assert_string_equal(p->outputs.program, "cat");
	assert_int_equal(p->outputs.program_queue, 7);
	assert_string_equal(p->outputs.syslog_socket, "/dev/log");
	assert_true(p->outputs.journald);
	sl_policy_free(p);
	p = load_ok(HEAD "outputs:\n");
	assert_null(p->outputs.webhook_url);
	assert_null(p->outputs.program);
	sl_policy_free(p);
	expect_error(HEAD "outputs:\n  webhook: {url: \"http://\"}\n",
		     F ":7:18: field 'outputs.webhook.url': ", "with a host");
	expect_error(HEAD "outputs:\n  webhook: {url: \"http://a b\"}\n",
		     F ":7:18: field 'outputs.webhook.url': ", "no spaces");
	expect_error(HEAD "outputs:\n  webhook: {url: \"http://a\", timeout: 50ms}\n",
		     F ":7:39: field 'outputs.webhook.timeout': ", "from 100 ms");
	expect_error(HEAD "outputs:\n  program: {command: \"  \"}\n",
		     F ":7:22: field 'outputs.program.command': ", "a shell command");
	expect_error(HEAD "outputs:\n  program: {command: x, queue: 0}\n",
		     F ":7:32: field 'outputs.program.queue': ", "from 1 to 100000");
	expect_error(HEAD "outputs:\n  syslog: {socket: log}\n",
		     F ":7:20: field 'outputs.syslog.socket': ", "absolute file path");
	expect_error(HEAD "outputs: []\n", F ":6:10: field 'outputs': ", "expected a mapping");
}

static void test_err_duplicate_key(void **state)
{
	(void)state;
	expect_error(HEAD "version: 1\n", F ":6:1: field 'version': ",
		     "expected each key once, found a duplicate (first at line 1)");
	expect_error("version: 1\nenvironments:\n  prod: {}\n  prod: {}\n",
		     F ":4:3: field 'environments.prod': ",
		     "expected each environment name once, found a duplicate (first at line 3)");
}

static void test_err_missing_key(void **state)
{
	(void)state;
	expect_error("version: 1\n", F ":1:1: field 'environments': ", "(required), found no");
	expect_error(HEAD "rules:\n  - {name: r, channel: open, target: any}\n",
		     F ":7:5: field 'rules[0].action': ",
		     "expected one of log, alert, deny, freeze or kill (required), found no "
		     "'action' key");
}

static void test_err_wrong_type(void **state)
{
	(void)state;
	expect_error("version: \"1\"\nenvironments: {prod: {}}\n", F ":1:10: field 'version': ",
		     "expected 1 (the only version of the policy language), found '1' (a quoted "
		     "string)");
	expect_error("version: 1\nenvironments:\n  prod:\n    hosts: api.example.com\n",
		     F ":4:12: field 'environments.prod.hosts': ",
		     "expected a list of hosts, found 'api.example.com'");
	expect_error(HEAD "settings:\n  syslog: yes\n",
		     F ":7:11: field 'settings.syslog': ", "expected true or false, found 'yes'");
	expect_error("version: 1\nenvironments: [prod]\n", F ":2:15: field 'environments': ",
		     "expected a mapping of environment names, found a list");
	expect_error(HEAD "patterns:\n  p:\n    channel: tls\n    any: [[a, b]]\n",
		     F ":9:11: field 'patterns.p.any[0]': ", "expected a keyword");
}

static void test_err_empty(void **state)
{
	(void)state;
	expect_error("version: 1\nenvironments:\n  prod:\n    paths: []\n",
		     F ":4:12: field 'environments.prod.paths': ",
		     "with at least one item (omit the key instead), found an empty list");
	expect_error("version: 1\nenvironments: {}\n",
		     F ":2:15: field 'environments': ", "with at least one entry");
	expect_error("", F ":1:1: field '(document)': ", "found an empty document");
	expect_error("# nothing\n", F ":1:1: field '(document)': ", "found an empty document");
}

static void test_err_unknown_pattern(void **state)
{
	(void)state;
	expect_error(HEAD "rules:\n  - {name: r, channel: tls, pattern: nope, target: any, action: "
			  "log}\n",
		     F ":7:38: field 'rules[0].pattern': ",
		     "expected the name of a pattern defined under 'patterns', found 'nope'");
	expect_error(HEAD "patterns:\n  p: {channel: exec, any: [xx]}\n"
			  "rules:\n  - name: r\n    channel: tls\n    pattern: [p]\n"
			  "    target: any\n    action: log\n",
		     F ":11:15: field 'rules[0].pattern[0]': ",
		     "expected a pattern for channel tls, found 'p' (a pattern for channel exec)");
}

static void test_err_rule_combination(void **state)
{
	(void)state;
	expect_error(HEAD "patterns:\n  p: {channel: exec, any: [xx]}\n"
			  "rules:\n  - {name: r, channel: exec, pattern: p, target: any, action: "
			  "deny}\n",
		     F ":9:63: field 'rules[0].action': ", "deny refuses a connect with EPERM");
	expect_error(HEAD "rules:\n  - {name: r, channel: connect, target: outside_scope, action: "
			  "kill}\n",
		     F ":7:64: field 'rules[0].action': ",
		     "expected log, alert or deny for channel connect, found 'kill'");
	expect_error(HEAD "patterns:\n  p: {channel: exec, any: [xx]}\n"
			  "rules:\n  - {name: r, channel: open, pattern: p, target: any, action: "
			  "log}\n",
		     F ":9:39: field 'rules[0].pattern': ", "expected no pattern for channel open");
	expect_error(HEAD "rules:\n  - {name: r, channel: open, target: any, action: freeze}\n",
		     F ":7:51: field 'rules[0].action': ",
		     "expected log or alert for a rule without pattern and with target any");
	expect_error(HEAD "rules:\n  - {name: r, channel: open, target: any, action: log}\n"
			  "  - {name: r, channel: open, target: any, action: log}\n",
		     F ":8:12: field 'rules[1].name': ",
		     "expected each rule name once, found a duplicate of rules[0] (line 7)");
	expect_error(HEAD "patterns:\n  p: {channel: exec, none: [xx]}\n",
		     F ":7:6: field 'patterns.p': ",
		     "expected 'all' or 'any' (or both) in a pattern, found only 'none'");
}

static void test_err_glob(void **state)
{
	(void)state;
	expect_error("version: 1\nenvironments:\n  prod:\n    paths: [/srv, srv/prod]\n",
		     F ":4:19: field 'environments.prod.paths[1]': ",
		     "expected an absolute path glob (starting with '/'), found 'srv/prod'");
	expect_error("version: 1\nenvironments:\n  prod:\n    paths:\n      - /srv/[ab\n",
		     F ":5:9: field 'environments.prod.paths[0]': ", "expected a ']' closing");
	expect_error(
	    "version: 1\nenvironments:\n  prod:\n    paths:\n      - /srv/a**\n",
	    F ":5:9: field 'environments.prod.paths[0]': ", "'**' only as a whole path component");
	expect_error("version: 1\nenvironments:\n  prod:\n    paths:\n      - /srv/../etc\n",
		     F ":5:9: field 'environments.prod.paths[0]': ", "normalised path");
	expect_error("version: 1\nenvironments:\n  prod:\n    paths:\n      - /srv/\n",
		     F ":5:9: field 'environments.prod.paths[0]': ", "no trailing '/'");
	expect_error("version: 1\nenvironments:\n  prod:\n    paths:\n      - /**\n",
		     F ":5:9: field 'environments.prod.paths[0]': ", "narrower than '/**'");
}

static void test_err_host(void **state)
{
#define HOSTS(h) "version: 1\nenvironments:\n  prod:\n    hosts:\n      - " h "\n"
#define AT F ":5:9: field 'environments.prod.hosts[0]': "
	(void)state;
	expect_error(HOSTS("10.0.0.0/33"), AT,
		     "expected an IPv4 prefix length from 0 to 32 after '/', found '10.0.0.0/33'");
	expect_error(HOSTS("10.1.2.3/8"), AT,
		     "expected a network address with no bits set after the /8 prefix "
		     "('10.0.0.0/8'), found '10.1.2.3/8'");
	expect_error(HOSTS("300.1.1.1"), AT, "expected an IPv4 address, found '300.1.1.1'");
	expect_error(HOSTS("2001:db8::/129"), AT, "IPv6 prefix length from 0 to 128");
	expect_error(HOSTS("2001:zz8::1"), AT, "expected an IPv6 address");
	expect_error(HOSTS("db.example.com:0"), AT, "expected a port from 1 to 65535 after ':'");
	expect_error(HOSTS("db.example.com:65536"), AT, "expected a port from 1 to 65535");
	expect_error(HOSTS("\"[::1]:99999\""), AT, "after ']:'");
	expect_error(HOSTS("a..b"), AT, "expected a DNS name");
	expect_error(HOSTS("x.*.example.com"), AT, "'*' only as a leading '*.' label");
	expect_error(HOSTS("\"*.\""), AT, "expected '*.' followed by a DNS name");
#undef HOSTS
#undef AT
}

static void test_err_fingerprint(void **state)
{
	(void)state;
	expect_error("version: 1\nenvironments:\n  prod:\n    secrets:\n"
		     "      - fingerprint: sha256:abc\n",
		     F ":5:22: field 'environments.prod.secrets[0].fingerprint': ",
		     "expected 'sha256:' followed by 64 hex digits");
	expect_error("version: 1\nenvironments:\n  prod:\n    secrets:\n"
		     "      - fingerprint: sha256:"
		     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aX\n",
		     F ":5:22: field 'environments.prod.secrets[0].fingerprint': ",
		     "not a hex digit at character 71");
	expect_error("version: 1\nenvironments:\n  prod:\n    secrets:\n"
		     "      - {file: /a, env: B}\n",
		     F ":5:9: field 'environments.prod.secrets[0]': ",
		     "expected exactly one of 'file', 'fingerprint' or 'env', found several");
	expect_error(
	    "version: 1\nenvironments:\n  prod:\n    secrets:\n"
	    "      - {file: /a, format: json}\n",
	    F ":5:9: field 'environments.prod.secrets[0]': ", "expected 'keys' with format json");
	expect_error("version: 1\nenvironments:\n  prod:\n    secrets:\n      - env: 1X\n",
		     F ":5:14: field 'environments.prod.secrets[0].env': ",
		     "expected an environment variable name");
}

static void test_err_names(void **state)
{
	(void)state;
	expect_error(
	    "version: 1\nenvironments:\n  Prod: {}\n",
	    F ":3:3: field 'environments.Prod': ", "expected a name made of a lowercase letter");
	expect_error("version: 1\nenvironments:\n  unknown: {}\n",
		     F ":3:3: field 'environments.unknown': ", "reserved");
	expect_error(HEAD "mode: enforcing\n", F ":6:7: field 'mode': ",
		     "expected one of enforce or monitor, found 'enforcing'");
	expect_error(HEAD "settings: {hold_timeout: 2d}\n",
		     F ":6:26: field 'settings.hold_timeout': ",
		     "expected a duration from 1 to 86400 seconds");
	expect_error(HEAD "settings:\n  audit_buffer: 100K\n",
		     F ":7:17: field 'settings.audit_buffer': ",
		     "expected a size from 256K to 1024M bytes (a number with an optional K, M or "
		     "G suffix), found '100K'");
	expect_error(HEAD "settings:\n  audit_buffer: 2G\n",
		     F ":7:17: field 'settings.audit_buffer': ", "found '2G'");
	expect_error(HEAD "settings:\n  audit_buffer: \"64M\"\n",
		     F ":7:17: field 'settings.audit_buffer': ", "(a quoted string)");
	expect_error(HEAD "settings:\n  audit_buffer: lots\n",
		     F ":7:17: field 'settings.audit_buffer': ", "found 'lots'");
	expect_error(HEAD "settings:\n  on_audit_failure: kill\n",
		     F ":7:21: field 'settings.on_audit_failure': ",
		     "expected one of freeze or continue, found 'kill'");
	expect_error(HEAD "settings:\n  daemon_absent: kill\n",
		     F ":7:18: field 'settings.daemon_absent': ",
		     "expected one of freeze or continue, found 'kill'");
	expect_error(HEAD "settings:\n  daemon_absent_grace: 10m\n",
		     F ":7:24: field 'settings.daemon_absent_grace': ", "found '10m'");
}

static void test_err_yaml_features(void **state)
{
	(void)state;
	expect_error("version: 1\nenvironments: &e\n  prod: {}\n",
		     F ":2:15: field 'environments': ",
		     "found anchor '&e' (anchors and aliases are not supported)");
	expect_error("version: 1\nenvironments:\n  prod: {}\n  staging: *x\n", F ":4:12: ", NULL);
	expect_error("version: !!int 1\nenvironments: {prod: {}}\n",
		     F ":1:10: field 'version': ", "found tag 'tag:yaml.org,2002:int'");
	expect_error(HEAD "---\nversion: 1\n", F ":6:1: field '(document)': ",
		     "expected a single YAML document, found a second one");
}

/* ---- limits: each message names its limit ---- */

static char *build_many(const char *head, const char *fmt, size_t n, const char *tail)
{
	size_t cap = strlen(head) + strlen(tail) + n * (strlen(fmt) + 24) + 1;
	char *buf = malloc(cap), *o = buf;

	assert_non_null(buf);
	o += sprintf(o, "%s", head);
	for (size_t i = 0; i < n; i++)
		o += sprintf(o, fmt, i);
	sprintf(o, "%s", tail);
	return buf;
}

static void test_settings_unreadable_programs(void **state)
{
	struct sl_policy *p;

	(void)state;
	p = load_ok(HEAD);
	assert_int_equal(p->settings.unreadable_suspicious, SL_ACT_FREEZE);
	assert_int_equal(p->settings.unreadable_otherwise, SL_ACT_ALERT);
	assert_int_equal(p->settings.n_program_paths, 0);
	sl_policy_free(p);
	p = load_ok(HEAD "settings:\n  unreadable: {suspicious: kill, otherwise: log}\n"
			 "  program_paths: [/opt/bin, /usr/bin]\n");
	assert_int_equal(p->settings.unreadable_suspicious, SL_ACT_KILL);
	assert_int_equal(p->settings.unreadable_otherwise, SL_ACT_LOG);
	assert_int_equal(p->settings.n_program_paths, 2);
	assert_string_equal(p->settings.program_paths[1], "/usr/bin");
	sl_policy_free(p);
	expect_error(HEAD "settings:\n  unreadable: {suspicious: deny}\n",
		     "t.yaml:7:28: field 'settings.unreadable.suspicious': ", "found 'deny'");
	expect_error(HEAD "settings:\n  unreadable: {sometimes: alert}\n",
		     "t.yaml:7:16: field 'settings.unreadable", "sometimes");
	expect_error(HEAD "rules:\n  - {name: c, channel: connect, target: any, action: log, "
			  "taint: false}\n",
		     "t.yaml:7:", "expected taint only on channels exec and tls");
	p = load_ok(HEAD
		    "patterns:\n  p: {channel: exec, any: [x1]}\n"
		    "rules:\n  - {name: r, channel: exec, pattern: p, target: any, action: log, "
		    "taint: false}\n  - {name: s, channel: exec, pattern: p, target: any, "
		    "action: log}\n");
	assert_false(p->rules[0].taint);
	assert_true(p->rules[1].taint);
	sl_policy_free(p);
	expect_error(HEAD "settings:\n  program_paths: [relative/bin]\n",
		     "t.yaml:7:19: field 'settings.program_paths[0]': ", "absolute directory");
	expect_error(HEAD "settings:\n  program_paths: [\"/opt/*/bin\"]\n",
		     "t.yaml:7:19: field 'settings.program_paths[0]': ", "without wildcards");
}

static void test_err_limits(void **state)
{
	char *t;

	(void)state;
	/* 64 environments */
	t = build_many("version: 1\nenvironments:\n", "  e%zu: {}\n", 63, "");
	expect_error(
	    t, F ":3:3: field 'environments': ", "expected at most 62 environments, found 63");
	free(t);
	/* 1025 items in a list */
	t = build_many("version: 1\nenvironments:\n  prod:\n    resources: [", "res%04zu, ", 1025,
		       "]\n");
	expect_error(t, F ":4:16: field 'environments.prod.resources': ",
		     "expected at most 1024 items in a list, found 1025");
	free(t);
	/* a value of 4097 bytes */
	t = build_many("version: 1\nenvironments:\n  prod:\n    resources: [", "a", 4097, "]\n");
	expect_error(t, F ":4:17: field 'environments.prod.resources[0]': ",
		     "expected a value of at most 4096 bytes, found 4097 bytes");
	free(t);
	/* a keyword of 257 bytes */
	t = build_many(HEAD "patterns:\n  p:\n    channel: tls\n    any: [", "k", 257, "]\n");
	expect_error(t, F ":9:11: field 'patterns.p.any[0]': ",
		     "expected a keyword of at most 256 bytes, found 257 bytes");
	free(t);
	/* 257 distinct keywords */
	{
		char *b = malloc(64 * 1024), *o = b;

		o += sprintf(o, HEAD "patterns:\n");
		for (int i = 0; i < 5; i++) {
			o += sprintf(o, "  p%d:\n    channel: tls\n    any: [", i);
			for (int j = 0; j < 60; j++)
				o += sprintf(o, "k%d_%d, ", i, j);
			o += sprintf(o, "]\n");
		}
		/* 5 * 60 = 300 keywords: the 257th is p4's 17th item (index 16) */
		expect_error(b, F ":21:", "expected at most 256 distinct keywords in a policy");
		free(b);
	}
	/* 65 keywords in one pattern */
	t = build_many(HEAD "patterns:\n  p:\n    channel: tls\n    any: [", "kw%zu, ", 65, "]\n");
	expect_error(t, F ":9:10: field 'patterns.p.any': ", "expected at most 64 items, found 65");
	free(t);
}

static void test_err_cap(void **state)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;
	char *t;

	(void)state;
	t = build_many("version: 1\nenvironments:\n  prod:\n    resources: [", "ab, ", 150, "]\n");
	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_buf(F, t, strlen(t), &p, &errs), -EINVAL);
	assert_int_equal(sl_policy_errors_count(&errs), SL_POLICY_MAX_ERRORS);
	assert_int_equal(sl_policy_errors_total(&errs), 150);
	/* sorted by position */
	assert_true(sl_policy_errors_get(&errs, 0)->column <
		    sl_policy_errors_get(&errs, 1)->column);
	assert_null(sl_policy_errors_get(&errs, SL_POLICY_MAX_ERRORS));
	sl_policy_errors_free(&errs);
	sl_policy_errors_free(&errs); /* idempotent */
	sl_policy_errors_free(NULL);
	/* no error list: still refused */
	assert_int_equal(sl_policy_load_buf(F, t, strlen(t), &p, NULL), -EINVAL);
	assert_null(p);
	free(t);
}

static void test_collects_all(void **state)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;

	(void)state;
	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_buf(F,
					    "version: 2\nmode: x\nenvironments:\n  prod:\n"
					    "    paths: [a]\n    hosts: [\"::1/200\"]\n",
					    strlen("version: 2\nmode: x\nenvironments:\n  prod:\n"
						   "    paths: [a]\n    hosts: [\"::1/200\"]\n"),
					    &p, &errs),
			 -EINVAL);
	assert_int_equal(sl_policy_errors_total(&errs), 4);
	assert_int_equal(sl_policy_errors_get(&errs, 0)->line, 1);
	assert_string_equal(sl_policy_errors_get(&errs, 0)->field, "version");
	assert_string_equal(sl_policy_errors_get(&errs, 3)->field, "environments.prod.hosts[0]");
	sl_policy_errors_free(&errs);
}

static void test_load_file_errors(void **state)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;

	(void)state;
	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_file("/nonexistent/policy.yaml", &p, &errs), -ENOENT);
	assert_int_equal(sl_policy_errors_total(&errs), 0);
	assert_int_equal(sl_policy_load_file("/", &p, &errs), -EISDIR);
	assert_null(p);
	sl_policy_errors_free(&errs);
}

/* ---- secrets ---- */

static char tmpdir[64];

static void write_file(const char *name, const char *content, char *path, size_t sz)
{
	FILE *f;

	snprintf(path, sz, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int secrets_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sl-test-policy-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int secrets_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_fingerprint(void **state)
{
	char fp[SL_POLICY_FP_STR_SIZE];
	uint8_t sha[32];

	(void)state;
	sl_policy_fingerprint("abc", 3, sha);
	assert_int_equal(sha[0], 0xba);
	assert_int_equal(sha[31], 0xad);
	sl_policy_fingerprint_str("abc", 3, fp);
	assert_string_equal(fp, "sha256:ba7816bf8f01cfea");
}

#define PROD_TOKEN "prod-9f8e7d6c5b4a39281706"
#define STAGING_TOKEN "stag-1a2b3c4d5e6f7a8b9c0d"

static void test_secrets_load(void **state)
{
	char envf[256], rawf[256], jsonf[256], text[2048];
	struct sl_policy_errors errs;
	struct sl_policy *p;
	char fp[SL_POLICY_FP_STR_SIZE];

	(void)state;
	write_file("staging.env",
		   "# staging\nexport RAILWAY_TOKEN=\"" STAGING_TOKEN "\"\nPORT=8080\n"
		   "OTHER=ignored-because-of-keys-filter\n",
		   envf, sizeof(envf));
	write_file("prod.token", PROD_TOKEN "\n", rawf, sizeof(rawf));
	write_file("prod.json",
		   "{\"user\": {\"token\": \"json-token-0123456789\", \"name\": \"x\"}}", jsonf,
		   sizeof(jsonf));
	setenv("SL_TEST_PROD_VAR", "env-token-abcdefghijk", 1);
	snprintf(text, sizeof(text),
		 "version: 1\nenvironments:\n"
		 "  production:\n    secrets:\n"
		 "      - {file: %s, format: raw}\n"
		 "      - {file: %s, format: json, keys: [token]}\n"
		 "      - env: SL_TEST_PROD_VAR\n"
		 "      - fingerprint: "
		 "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
		 "  staging:\n    secrets:\n      - {file: %s, keys: [RAILWAY_TOKEN]}\n",
		 rawf, jsonf, envf);
	p = load_ok(text);
	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_secrets(p, &errs), 0);
	assert_int_equal(sl_policy_errors_total(&errs), 0);
	assert_true(p->secrets_loaded);
	assert_int_equal(p->n_secrets, 5);
	assert_int_equal(p->secrets[0].env_id, 1);
	assert_int_equal(p->secrets[0].len, strlen(PROD_TOKEN));
	assert_memory_equal(p->secrets[0].value, PROD_TOKEN, strlen(PROD_TOKEN));
	assert_memory_equal(p->secrets[1].value, "json-token-0123456789", 21);
	assert_int_equal(p->secrets[1].src, 1);
	assert_memory_equal(p->secrets[2].value, "env-token-abcdefghijk", 21);
	assert_null(p->secrets[3].value);
	assert_int_equal(p->secrets[3].sha256[0], 0xba);
	assert_int_equal(p->secrets[4].env_id, 2);
	assert_int_equal(p->secrets[4].len, strlen(STAGING_TOKEN));
	assert_memory_equal(p->secrets[4].value, STAGING_TOKEN, strlen(STAGING_TOKEN));
	sl_policy_fingerprint_str(PROD_TOKEN, strlen(PROD_TOKEN), fp);
	sl_policy_sha256_str(p->secrets[0].sha256, text);
	assert_string_equal(text, fp);
	/* loading again replaces, no leak */
	assert_int_equal(sl_policy_load_secrets(p, &errs), 0);
	assert_int_equal(p->n_secrets, 5);
	sl_policy_errors_free(&errs);
	sl_policy_free(p);
	unsetenv("SL_TEST_PROD_VAR");
}

static void assert_no_secret_in_errors(const struct sl_policy_errors *errs)
{
	const struct sl_policy_error *e;
	char line[2048];

	sl_policy_errors_foreach(errs, e)
	{
		sl_policy_error_format(e, line, sizeof(line));
		assert_null(strstr(line, PROD_TOKEN));
		assert_null(strstr(line, "prod-9f8e"));
		assert_null(strstr(line, "shortval"));
	}
}

static void test_secrets_errors(void **state)
{
	char dup[256], shortf[256], badjson[256], text[2048], line[2048];
	struct sl_policy_errors errs;
	struct sl_policy *p;

	(void)state;
	write_file("dup.token", PROD_TOKEN "\n", dup, sizeof(dup));
	write_file("short.env", "A=shortval\n", shortf, sizeof(shortf));
	write_file("bad.json", "{\"token\": " PROD_TOKEN "}", badjson, sizeof(badjson));
	unsetenv("SL_TEST_UNSET_VAR");
	snprintf(text, sizeof(text),
		 "version: 1\nenvironments:\n"
		 "  production:\n    secrets:\n"
		 "      - file: %s\n"
		 "      - file: /nonexistent/secret\n"
		 "      - env: SL_TEST_UNSET_VAR\n"
		 "      - {file: %s, format: json, keys: [token]}\n"
		 "      - {file: %s, keys: [MISSING]}\n"
		 "  staging:\n    secrets:\n      - file: %s\n",
		 dup, badjson, shortf, dup);
	p = load_ok(text);
	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_secrets(p, &errs), -EINVAL);
	assert_false(p->secrets_loaded);
	assert_int_equal(p->n_secrets, 0);
	assert_no_secret_in_errors(&errs);
	sl_policy_errors_print(&errs, stderr);
	assert_int_equal(sl_policy_errors_total(&errs), 6);
	sl_policy_error_format(sl_policy_errors_get(&errs, 0), line, sizeof(line));
	assert_string_equal(line,
			    F ":6:9: field 'environments.production.secrets[1].file': expected "
			      "a readable secret file at '/nonexistent/secret', found: No such "
			      "file or directory");
	sl_policy_error_format(sl_policy_errors_get(&errs, 1), line, sizeof(line));
	assert_non_null(strstr(line,
			       F ":7:9: field 'environments.production.secrets[2].env': "
				 "expected environment variable 'SL_TEST_UNSET_VAR' to be set"));
	sl_policy_error_format(sl_policy_errors_get(&errs, 2), line, sizeof(line));
	assert_non_null(strstr(line, ":8:9: field 'environments.production.secrets[3].file': "
				     "expected a JSON document in"));
	sl_policy_error_format(sl_policy_errors_get(&errs, 3), line, sizeof(line));
	assert_non_null(strstr(line, ":9:9: field 'environments.production.secrets[4].file': "
				     "expected key 'MISSING'"));
	sl_policy_error_format(sl_policy_errors_get(&errs, 4), line, sizeof(line));
	assert_non_null(strstr(line, "expected at least one credential value of at least 8 bytes"));
	sl_policy_error_format(sl_policy_errors_get(&errs, 5), line, sizeof(line));
	assert_non_null(strstr(line,
			       ":12:9: field 'environments.staging.secrets[0].file': expected "
			       "a credential labelled with one environment only, found "
			       "sha256:"));
	assert_non_null(strstr(line, "already labelled 'production'"));
	sl_policy_errors_free(&errs);
	/* errors dropped without a list: still refused */
	assert_int_equal(sl_policy_load_secrets(p, NULL), -EINVAL);
	sl_policy_free(p);
}

/* ---- label matching ---- */

static void test_glob_match(void **state)
{
	(void)state;
	assert_true(sl_policy_glob_match("/srv/prod/**", "/srv/prod/a/b/c"));
	assert_true(sl_policy_glob_match("/srv/prod/**", "/srv/prod"));
	assert_false(sl_policy_glob_match("/srv/prod/**", "/srv/production/x"));
	assert_true(sl_policy_glob_match("/home/*/.config/prod/**", "/home/dev/.config/prod/t"));
	assert_false(sl_policy_glob_match("/home/*/.config", "/home/a/b/.config"));
	assert_true(sl_policy_glob_match("/a/**/key.pem", "/a/key.pem"));
	assert_true(sl_policy_glob_match("/a/**/key.pem", "/a/x/y/key.pem"));
	assert_false(sl_policy_glob_match("/a/**/key.pem", "/a/x/y/key.pem2"));
	assert_true(sl_policy_glob_match("/etc/prod-[0-9].conf", "/etc/prod-7.conf"));
	assert_false(sl_policy_glob_match("/etc/prod-[0-9].conf", "/etc/prod-x.conf"));
	assert_true(sl_policy_glob_match("/etc/prod.conf", "/etc/prod.conf"));
	assert_false(sl_policy_glob_match("/etc/prod.conf", "/etc/prod.conf/x"));
	assert_true(sl_policy_glob_match("/x/*.token", "/x/.hidden.token"));
	assert_false(sl_policy_glob_match("relative", "relative"));
}

static void test_host_match(void **state)
{
	struct sl_policy *p;
	uint8_t a4[4], a6[16], m6[16];

	(void)state;
	p = load_ok("version: 1\nenvironments:\n"
		    "  production:\n    hosts: [api.prod.example.com, \"*.db.example.com\", "
		    "10.1.0.0/16, \"[2001:db8::/32]:443\", cache:6379]\n"
		    "  staging:\n    hosts: [staging.example.com, 10.0.0.0/8]\n");
	assert_int_equal(sl_policy_env_for_host(p, "API.prod.example.com", NULL, 0, 443),
			 1ULL << 1);
	assert_int_equal(sl_policy_env_for_host(p, "a.db.example.com", NULL, 0, 5432), 1ULL << 1);
	assert_int_equal(sl_policy_env_for_host(p, "db.example.com", NULL, 0, 5432), 0);
	assert_int_equal(sl_policy_env_for_host(p, "cache", NULL, 0, 6379), 1ULL << 1);
	assert_int_equal(sl_policy_env_for_host(p, "cache", NULL, 0, 6380), 0);
	assert_int_equal(sl_policy_env_for_host(p, "staging.example.com", NULL, 0, 80), 1ULL << 2);
	inet_pton(AF_INET, "10.2.2.3", a4);
	assert_int_equal(sl_policy_env_for_host(p, NULL, a4, AF_INET, 22), 1ULL << 2);
	/* nested labels: the union of every label that matches (as the kernel) */
	inet_pton(AF_INET, "10.1.2.3", a4);
	assert_int_equal(sl_policy_env_for_host(p, NULL, a4, AF_INET, 22),
			 (1ULL << 1) | (1ULL << 2));
	inet_pton(AF_INET6, "::ffff:10.1.9.9", m6);
	assert_int_equal(sl_policy_env_for_host(p, NULL, m6, AF_INET6, 22),
			 (1ULL << 1) | (1ULL << 2));
	inet_pton(AF_INET6, "2001:db8:5::7", a6);
	assert_int_equal(sl_policy_env_for_host(p, NULL, a6, AF_INET6, 443), 1ULL << 1);
	assert_int_equal(sl_policy_env_for_host(p, NULL, a6, AF_INET6, 80), 0);
	assert_int_equal(sl_policy_env_for_path(p, "/srv/x"), 0);
	sl_policy_free(p);

	p = load_ok(HEAD);
	assert_int_equal(sl_policy_env_for_path(p, "/srv/prod/data.db"), 1ULL << 1);
	assert_int_equal(sl_policy_env_for_path(p, "/srv/staging/data.db"), 0);
	sl_policy_free(p);
}

/* ---- the shipped default policy on real command lines and requests ---- */

static int pattern_idx(const struct sl_policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->n_patterns; i++)
		if (!strcmp(p->patterns[i].name, name))
			return (int)i;
	fail_msg("no pattern %s", name);
	return -1;
}

/* argv given as one string split on '|' */
static bool exec_matches(const struct sl_policy *p, const char *pattern, const char *args)
{
	char *copy = strdup(args), *argv[32], *subject = NULL, *save = NULL;
	size_t n = 0, len = 0;
	bool m;

	assert_non_null(copy);
	for (char *t = strtok_r(copy, "|", &save); t && n < 31; t = strtok_r(NULL, "|", &save))
		argv[n++] = t;
	argv[n] = NULL;
	assert_int_equal(sl_policy_exec_subject(argv, &subject, &len), 0);
	m = sl_policy_pattern_match(p, (uint32_t)pattern_idx(p, pattern), SL_CHAN_EXEC, subject,
				    len);
	free(subject);
	free(copy);
	return m;
}

static bool tls_matches(const struct sl_policy *p, const char *pattern, const void *buf, size_t len)
{
	return sl_policy_pattern_match(p, (uint32_t)pattern_idx(p, pattern), SL_CHAN_TLS, buf, len);
}

static void test_default_patterns(void **state)
{
	static const char *const hit[][2] = {
	    {"railway_destroy", "railway|volume|delete|--volume|vol_1"},
	    {"railway_destroy", "/usr/local/bin/railway|down|-y"},
	    {"sql_drop_cli", "psql|-c|DROP DATABASE prod"},
	    {"sql_drop_cli", "mysql|-e|truncate table users"},
	    {"sql_drop_cli", "bash|-c|psql -h db -c 'drop table users'"},
	    {"sql_delete_all_cli", "psql|-c|DELETE FROM users"},
	    {"terraform_destroy", "terraform|destroy|-auto-approve"},
	    {"terraform_destroy", "terraform|-chdir=prod|destroy"},
	    {"terraform_destroy", "/usr/bin/terraform|apply|-destroy"},
	    {"terraform_destroy", "tofu|destroy"},
	    {"kubectl_delete", "kubectl|-n|prod|delete|pod|web-1"},
	    {"aws_delete", "aws|rds|delete-db-instance|--db-instance-identifier|prod"},
	    {"aws_delete", "aws|s3|rm|s3://bucket|--recursive"},
	    {"aws_delete", "aws|ec2|terminate-instances|--instance-ids|i-1"},
	    {"gcloud_delete", "gcloud|sql|instances|delete|prod"},
	    {"gcloud_delete", "gsutil|rm|-r|gs://bucket"},
	    {"az_delete", "az|group|delete|-n|prod"},
	    {"dropdb", "dropdb|prod"},
	    {"redis_flush_cli", "redis-cli|-h|cache|FLUSHALL"},
	    {"redis_flush_cli", "redis-cli|flushdb"},
	    {"rm_recursive", "rm|-rf|/srv/production/data"},
	    {"rm_recursive", "/bin/rm|-r|-f|/srv/production"},
	    {"rm_recursive", "sh|-c|rm -rf /srv/production"},
	    {"git_force_push_protected", "git|push|--force|origin|main"},
	    {"git_force_push_protected", "git|push|origin|+master"},
	    {"git_force_push_protected", "git|push|-f|origin|HEAD:main"},
	};
	static const char *const miss[][2] = {
	    {"railway_destroy", "railway|up"},
	    {"railway_destroy", "railway|logs|--deployment"},
	    {"sql_drop_cli", "psql|-c|SELECT 1"},
	    {"sql_delete_all_cli", "psql|-c|DELETE FROM users WHERE id = 1"},
	    /* a SQL statement in the argv of a program that is not a SQL client */
	    {"sql_drop_cli", "grep|-rn|DROP TABLE|migrations/"},
	    {"sql_drop_cli", "vim|0003_drop_table.sql"},
	    {"redis_flush_cli", "grep|FLUSHALL|notes.md"},
	    {"terraform_destroy", "terraform|plan"},
	    {"terraform_destroy", "terraform|plan|-destroy"},
	    {"kubectl_delete", "kubectl|get|pods"},
	    {"aws_delete", "aws|s3|ls"},
	    {"gcloud_delete", "gcloud|sql|instances|list"},
	    {"az_delete", "az|vm|list"},
	    {"redis_flush", "redis-cli|get|key"},
	    {"rm_recursive", "rm|notes.txt"},
	    {"git_force_push_protected", "git|push|origin|main"},
	    {"git_force_push_protected", "git|push|--force|origin|feature-x"},
	};
	static const char gql[] =
	    "{\"query\":\"mutation { volumeDelete(volumeId: \\\"vol_1\\\") }\"}";
	static const char gql2[] = "{\"query\":\"mutation Drop($id: String!) { "
				   "serviceDelete(id: $id) }\",\"variables\":{}}";
	static const char gql_query[] = "{\"query\":\"query { volumes { edges { id } } }\"}";
	static const char gql_create[] =
	    "{\"query\":\"mutation { volumeCreate(input: {}) { id } }\"}";
	static const char http_del[] = "DELETE /v1/volumes/123 HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char http_get[] = "GET /v1/volumes HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char pg[] = "Q\0\0\0\x17"
				 "DROP TABLE users;";
	char path[4096];
	struct sl_policy *p = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/policies/default.yaml", srcdir());
	assert_int_equal(sl_policy_load_file(path, &p, NULL), 0);
	for (size_t i = 0; i < sizeof(hit) / sizeof(hit[0]); i++) {
		if (!exec_matches(p, hit[i][0], hit[i][1]))
			fail_msg("%s should match '%s'", hit[i][0], hit[i][1]);
	}
	for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++) {
		if (exec_matches(p, miss[i][0], miss[i][1]))
			fail_msg("%s should not match '%s'", miss[i][0], miss[i][1]);
	}
	assert_true(tls_matches(p, "graphql_destroy", gql, sizeof(gql) - 1));
	assert_true(tls_matches(p, "graphql_destroy", gql2, sizeof(gql2) - 1));
	assert_false(tls_matches(p, "graphql_destroy", gql_query, sizeof(gql_query) - 1));
	assert_false(tls_matches(p, "graphql_destroy", gql_create, sizeof(gql_create) - 1));
	assert_true(tls_matches(p, "http_delete", http_del, sizeof(http_del) - 1));
	assert_false(tls_matches(p, "http_delete", http_get, sizeof(http_get) - 1));
	assert_true(tls_matches(p, "sql_drop", pg, sizeof(pg) - 1));
	/* a pattern of another channel never matches */
	assert_false(sl_policy_pattern_match(p, (uint32_t)pattern_idx(p, "graphql_destroy"),
					     SL_CHAN_EXEC, gql, sizeof(gql) - 1));
	sl_policy_free(p);
}

/* one table of names (policy_names.c): the parser's words are the records' words */
static void test_names(void **state)
{
	(void)state;
	assert_string_equal(sl_policy_mode_name(SL_POLICY_ENFORCE), "enforce");
	assert_string_equal(sl_policy_mode_name(SL_POLICY_MONITOR), "monitor");
	assert_string_equal(sl_policy_mode_name(2), "?");
	assert_string_equal(sl_policy_channel_name(SL_CHAN_EXEC), "exec");
	assert_string_equal(sl_policy_channel_name(SL_CHAN_TLS), "tls");
	assert_string_equal(sl_policy_channel_name(SL_CHAN_CONNECT), "connect");
	assert_string_equal(sl_policy_channel_name(SL_CHAN_OPEN), "open");
	assert_string_equal(sl_policy_channel_name(SL_CHAN_MAX), "?");
	assert_string_equal(sl_policy_action_name(SL_ACT_LOG), "log");
	assert_string_equal(sl_policy_action_name(SL_ACT_ALERT), "alert");
	assert_string_equal(sl_policy_action_name(SL_ACT_DENY), "deny");
	assert_string_equal(sl_policy_action_name(SL_ACT_FREEZE), "freeze");
	assert_string_equal(sl_policy_action_name(SL_ACT_KILL), "kill");
	assert_string_equal(sl_policy_action_name(SL_ACT_MAX), "?");
	assert_string_equal(sl_policy_target_class_name(SL_TARGET_IN_SCOPE), "in_scope");
	assert_string_equal(sl_policy_target_class_name(SL_TARGET_OUTSIDE), "outside_scope");
	assert_string_equal(sl_policy_target_class_name(SL_TARGET_UNKNOWN), "unknown");
	/* a class is one bit: "any" is a rule's target, never an action's */
	assert_string_equal(sl_policy_target_class_name(SL_TARGET_ANY), "?");
	assert_string_equal(sl_policy_target_class_name(0), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_shipped_default),
	    cmocka_unit_test(test_shipped_examples),
	    cmocka_unit_test(test_layout),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_confine_keys),
	    cmocka_unit_test(test_blind_tls_key),
	    cmocka_unit_test(test_loss_key),
	    cmocka_unit_test(test_err_syntax),
	    cmocka_unit_test(test_err_non_utf8),
	    cmocka_unit_test(test_err_nul_byte),
	    cmocka_unit_test(test_err_too_large),
	    cmocka_unit_test(test_err_too_deep),
	    cmocka_unit_test(test_err_unknown_key),
	    cmocka_unit_test(test_destinations),
	    cmocka_unit_test(test_outputs),
	    cmocka_unit_test(test_err_duplicate_key),
	    cmocka_unit_test(test_err_missing_key),
	    cmocka_unit_test(test_err_wrong_type),
	    cmocka_unit_test(test_err_empty),
	    cmocka_unit_test(test_err_unknown_pattern),
	    cmocka_unit_test(test_err_rule_combination),
	    cmocka_unit_test(test_err_glob),
	    cmocka_unit_test(test_err_host),
	    cmocka_unit_test(test_err_fingerprint),
	    cmocka_unit_test(test_err_names),
	    cmocka_unit_test(test_err_yaml_features),
	    cmocka_unit_test(test_err_limits),
	    cmocka_unit_test(test_settings_unreadable_programs),
	    cmocka_unit_test(test_err_cap),
	    cmocka_unit_test(test_collects_all),
	    cmocka_unit_test(test_load_file_errors),
	    cmocka_unit_test(test_fingerprint),
	    cmocka_unit_test_setup_teardown(test_secrets_load, secrets_setup, secrets_teardown),
	    cmocka_unit_test_setup_teardown(test_secrets_errors, secrets_setup, secrets_teardown),
	    cmocka_unit_test(test_glob_match),
	    cmocka_unit_test(test_host_match),
	    cmocka_unit_test(test_default_patterns),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
