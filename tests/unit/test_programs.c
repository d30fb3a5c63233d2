// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Program words and their files (user/lib/policy_programs.h): which
 * keywords name programs, the program directories searched in order, files
 * that are not executable skipped, names of one file merged, symbolic links
 * resolved.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "policy_programs.h"

static char dir[64], dir2[64];

static struct sl_policy *load(const char *text)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;

	sl_policy_errors_init(&errs);
	if (sl_policy_load_buf("t.yaml", text, strlen(text), &p, &errs)) {
		sl_policy_errors_print(&errs, stderr);
		fail();
	}
	sl_policy_errors_free(&errs);
	return p;
}

static int kw_index(const struct sl_policy *p, const char *s)
{
	for (uint32_t i = 0; i < p->n_keywords; i++)
		if (p->keywords[i].len == strlen(s) && !memcmp(p->keywords[i].bytes, s, strlen(s)))
			return (int)i;
	return -1;
}

static void make_file(const char *d, const char *name, mode_t mode)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", d, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sl-test-prog-XXXXXX");
	snprintf(dir2, sizeof(dir2), "/tmp/sl-test-prog2-XXXXXX");
	if (!mkdtemp(dir) || !mkdtemp(dir2))
		return -1;
	make_file(dir, "railway", 0755);
	make_file(dir, "terraform", 0644); /* not executable: not a program */
	make_file(dir2, "terraform", 0755);
	make_file(dir2, "railway", 0755); /* shadowed by the first directory */
	make_file(dir2, "kubectl", 0755);
	{
		/* a multi-call file: kubectl is also "oc" (two links): not one program */
		char a[128], b[128];

		snprintf(a, sizeof(a), "%s/kubectl", dir2);
		snprintf(b, sizeof(b), "%s/oc", dir2);
		if (link(a, b))
			return -1;
	}
	{
		char target[128], link[128];

		snprintf(target, sizeof(target), "%s/railway", dir);
		snprintf(link, sizeof(link), "%s/tofu", dir);
		if (symlink(target, link))
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, dir2);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *policy_fmt =
    "version: 1\n"
    "settings:\n"
    "  program_paths: [%s, %s]\n"
    "environments:\n"
    "  production: {}\n"
    "patterns:\n"
    "  railway_destroy:\n"
    "    channel: exec\n"
    "    all: [\"railway \", {any: [\" delete \", \" down \"]}]\n"
    "  terraform_destroy:\n"
    "    channel: exec\n"
    "    all: [{any: [\"terraform \", \"tofu \"]}, \" destroy \"]\n"
    "  api:\n"
    "    channel: tls\n"
    "    any: [\"kubelet \"]\n"
    "  k8s:\n"
    "    channel: exec\n"
    "    all: [\"kubectl \", \" delete \"]\n"
    "  excluded:\n"
    "    channel: exec\n"
    "    all: [\" rm \"]\n"
    "    none: [\"dryrun \"]\n"
    "rules:\n"
    "  - {name: r, channel: exec, pattern: railway_destroy, target: any, action: alert}\n";

static void test_program_words(void **state)
{
	char text[2048], name[64];
	struct sl_policy *p;

	(void)state;
	snprintf(text, sizeof(text), policy_fmt, dir, dir2);
	p = load(text);
	assert_true(
	    sl_policy_program_word(p, (uint32_t)kw_index(p, "railway "), name, sizeof(name)));
	assert_string_equal(name, "railway");
	assert_true(sl_policy_program_word(p, (uint32_t)kw_index(p, "tofu "), name, sizeof(name)));
	/* a leading space, no trailing space: not a program word */
	assert_false(
	    sl_policy_program_word(p, (uint32_t)kw_index(p, " delete "), name, sizeof(name)));
	assert_false(sl_policy_program_word(p, (uint32_t)kw_index(p, " rm "), name, sizeof(name)));
	/* a TLS pattern's keyword, a "none" keyword: not program words */
	assert_false(
	    sl_policy_program_word(p, (uint32_t)kw_index(p, "kubelet "), name, sizeof(name)));
	assert_false(
	    sl_policy_program_word(p, (uint32_t)kw_index(p, "dryrun "), name, sizeof(name)));
	assert_false(sl_policy_program_word(p, 9999, name, sizeof(name)));
	sl_policy_free(p);
}

static void test_resolve(void **state)
{
	char text[2048], want[PATH_MAX];
	struct sl_cprogram *v = NULL;
	struct sl_policy *p;
	uint32_t n = 0;
	int rw, tofu, tf;

	(void)state;
	snprintf(text, sizeof(text), policy_fmt, dir, dir2);
	p = load(text);
	rw = kw_index(p, "railway ");
	tofu = kw_index(p, "tofu ");
	tf = kw_index(p, "terraform ");
	assert_int_equal(sl_policy_resolve_programs(p, &v, &n), 0);
	/* railway and terraform (from the second dir); kubectl has two links (a
	 * multi-call file); tofu is a link to railway:
	 * another name for a file is not that name's program (known by name only) */
	assert_int_equal(n, 2);
	for (uint32_t i = 0; i < n; i++) {
		if (!strcmp(v[i].name, "railway")) {
			snprintf(want, sizeof(want), "%s/railway", dir);
			assert_string_equal(v[i].path, want);
			assert_true(v[i].kw[rw / 64] & (1ULL << (rw % 64)));
			assert_false(v[i].kw[tofu / 64] & (1ULL << (tofu % 64)));
			assert_false(v[i].kw[tf / 64] & (1ULL << (tf % 64)));
		} else {
			assert_string_equal(v[i].name, "terraform");
			snprintf(want, sizeof(want), "%s/terraform", dir2);
			assert_string_equal(v[i].path, want);
			assert_true(v[i].size > 0);
		}
	}
	sl_cprograms_free(v, n);
	sl_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_program_words, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
