// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: the policy parser and validator on arbitrary bytes.
 * Built and run by tests/fuzz/run.sh (clang -fsanitize=fuzzer,address,
 * undefined). Secret files are not read (no file system access here).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t v4[4] = {10, 1, 2, 3};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	const struct sl_policy_error *e;
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;
	char line[8192];

	sl_policy_errors_init(&errs);
	if (sl_policy_load_buf("fuzz.yaml", data, size, &p, &errs) == 0) {
		/* exercise the compiled layout as a consumer would */
		(void)sl_policy_env_for_path(p, "/srv/prod/data/x.db");
		(void)sl_policy_env_for_host(p, "api.prod.example.com", NULL, 0, 443);
		(void)sl_policy_env_for_host(p, NULL, v4, AF_INET, 5432);
		(void)sl_policy_env_for_host(p, NULL, v6, AF_INET6, 443);
		for (uint32_t i = 0; i < p->n_envs; i++) {
			const struct sl_policy_env *env = &p->envs[i];

			(void)sl_policy_env_id(p, env->name);
			for (uint32_t j = 0; j < env->n_paths; j++)
				(void)sl_policy_glob_match(env->paths[j].glob, env->paths[j].glob);
		}
		for (uint32_t i = 0; i < p->n_rules; i++)
			for (uint32_t j = 0; j < p->rules[i].n_patterns; j++)
				if (p->rules[i].patterns[j] >= p->n_patterns)
					__builtin_trap();
		for (uint32_t i = 0; i < p->n_patterns; i++)
			for (uint32_t g = 0; g < p->patterns[i].n_groups; g++)
				for (uint32_t k = 0; k < p->patterns[i].groups[g].n_kw; k++)
					if (p->patterns[i].groups[g].kw[k] >= p->n_keywords)
						__builtin_trap();
		if (sl_policy_errors_total(&errs) != 0 || p->n_envs > SL_POLICY_MAX_ENVS)
			__builtin_trap();
	} else if (sl_policy_errors_count(&errs) == 0) {
		/* a refused policy always says why */
		__builtin_trap();
	}
	sl_policy_errors_foreach(&errs, e)
	{
		sl_policy_error_format(e, line, sizeof(line));
		if (e->line == 0 || e->column == 0 || !e->field || !e->message)
			__builtin_trap();
	}
	sl_policy_free(p);
	sl_policy_errors_free(&errs);
	return 0;
}
