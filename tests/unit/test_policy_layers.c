// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policies built on others (user/lib/policy_layers.c): extends chains and
 * drop-ins merged (labels added, settings and rules overridden, a pattern
 * replaced whole, rules disabled), the digest over every layer; and errors
 * that name the file they are in (a drop-in's bad rule, an unknown rule to
 * disable, a cycle, a missing base, extends in a drop-in).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "policy.h"

static char dir[] = "/tmp/sl-test-layers-XXXXXX";

static void put(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *path_of(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static const struct sl_policy_env *env(const struct sl_policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->n_envs; i++)
		if (!strcmp(p->envs[i].name, name))
			return &p->envs[i];
	return NULL;
}

static const struct sl_policy_rule *rule(const struct sl_policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->n_rules; i++)
		if (!strcmp(p->rules[i].name, name))
			return &p->rules[i];
	return NULL;
}

static const char base[] =
    "version: 1\n"
    "settings: {hold_timeout: 1m}\n"
    "environments:\n"
    "  production:\n"
    "    paths: [/srv/prod/**]\n"
    "  staging:\n"
    "    paths: [/srv/stg/**]\n"
    "patterns:\n"
    "  gql:\n"
    "    channel: tls\n"
    "    all: [volumeDelete, mutation]\n"
    "rules:\n"
    "  - {name: r1, channel: tls, pattern: gql, target: outside_scope, "
    "action: kill}\n"
    "  - {name: r2, channel: connect, target: outside_scope, action: alert}\n";

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	put("base.yaml", base);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_layers_merge(void **state)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL, *b = NULL;
	char d[600];

	(void)state;
	put("site.yaml", "extends: base.yaml\n"
			 "settings: {hold_timeout: 2m}\n"
			 "environments:\n"
			 "  production:\n"
			 "    hosts: [api.prod.example.com]\n"
			 "patterns:\n"
			 "  gql:\n"
			 "    channel: tls\n"
			 "    all: [deleteVolume]\n"
			 "rules:\n"
			 "  - {name: r1, channel: tls, pattern: gql, target: outside_scope, "
			 "action: freeze}\n");
	snprintf(d, sizeof(d), "%s/site.d", dir);
	assert_int_equal(mkdir(d, 0755), 0);
	put("site.d/10-labels.yaml", "environments:\n  staging:\n    paths: [/home/*/stg/**]\n");
	put("site.d/20-quiet.yaml", "disable_rules: [r2]\n");
	put("site.d/README", "not a layer\n");

	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_file(path_of("site.yaml"), &p, &errs), 0);
	assert_int_equal(p->n_layers, 4);
	assert_int_equal(p->settings.hold_timeout_s, 120);
	assert_int_equal(env(p, "production")->n_paths, 1);
	assert_int_equal(env(p, "production")->n_hosts, 1);
	assert_int_equal(env(p, "staging")->n_paths, 2);
	assert_non_null(rule(p, "r1"));
	assert_int_equal(rule(p, "r1")->action, SL_ACT_FREEZE);
	assert_null(rule(p, "r2"));
	assert_int_equal(p->n_patterns, 1);
	assert_int_equal(p->patterns[0].n_groups, 1); /* replaced whole, not merged */

	/* one file: its digest is the file's own SHA-256, as before layers */
	assert_int_equal(sl_policy_load_file(path_of("base.yaml"), &b, &errs), 0);
	assert_int_equal(b->n_layers, 1);
	assert_int_equal(strlen(b->sha256), 64);
	assert_string_not_equal(b->sha256, p->sha256);
	sl_policy_free(b);
	sl_policy_free(p);
	sl_policy_errors_free(&errs);
}

static bool has_error(const struct sl_policy_errors *errs, const char *file, const char *what)
{
	for (size_t i = 0; i < sl_policy_errors_count(errs); i++) {
		const struct sl_policy_error *e = sl_policy_errors_get(errs, i);

		if (strstr(e->file, file) && strstr(e->message, what))
			return true;
	}
	for (size_t i = 0; i < sl_policy_errors_count(errs); i++) {
		const struct sl_policy_error *e = sl_policy_errors_get(errs, i);

		print_message("  %s:%u: %s: %s\n", e->file, e->line, e->field ? e->field : "",
			      e->message);
	}
	return false;
}

static void expect_error(const char *file, const char *in, const char *what)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;

	sl_policy_errors_init(&errs);
	assert_int_equal(sl_policy_load_file(path_of(file), &p, &errs), -EINVAL);
	assert_null(p);
	assert_true(has_error(&errs, in, what));
	sl_policy_errors_free(&errs);
}

static void test_layers_errors(void **state)
{
	char d[600];

	(void)state;
	/* a drop-in's bad rule: the error names the drop-in and its line */
	put("e1.yaml", "extends: base.yaml\n");
	snprintf(d, sizeof(d), "%s/e1.d", dir);
	assert_int_equal(mkdir(d, 0755), 0);
	put("e1.d/50-bad.yaml",
	    "rules:\n  - {name: r9, channel: bogus, target: any, action: alert}\n");
	expect_error("e1.yaml", "e1.d/50-bad.yaml", "expected one of exec, tls, connect or open");

	put("e2.yaml", "extends: base.yaml\ndisable_rules: [no-such-rule]\n");
	expect_error("e2.yaml", "e2.yaml", "found 'no-such-rule'");

	put("c1.yaml", "extends: c2.yaml\n");
	put("c2.yaml", "extends: c1.yaml\n");
	expect_error("c1.yaml", "c", "without a cycle");

	put("e3.yaml", "extends: missing.yaml\n");
	expect_error("e3.yaml", "e3.yaml", "expected a policy file to build on");

	put("e4.yaml", "extends: base.yaml\n");
	snprintf(d, sizeof(d), "%s/e4.d", dir);
	assert_int_equal(mkdir(d, 0755), 0);
	put("e4.d/1.yaml", "extends: base.yaml\n");
	expect_error("e4.yaml", "e4.d/1.yaml", "expected no extends in a drop-in");

	put("e5.yaml", "version: 1\nenvironments: {a: {}}\ndisable_rules: [r1]\n");
	expect_error("e5.yaml", "e5.yaml", "only in a policy that extends another");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layers_merge),
	    cmocka_unit_test(test_layers_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
