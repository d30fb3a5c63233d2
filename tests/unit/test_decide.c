// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The decision model (include/scopelock_decide.h) and the reference decision
 * (sl_policy_decide): the target is the union of what the evidence names and
 * the taint, minus nothing; rule precedence; the incident's variants that
 * one mention of the scope used to cancel. The kernel's verdicts are checked
 * against the same model on generated cases by tests/kernel/test_decide_kernel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "policy.h"
#include "scopelock_decide.h"

#define PROD 1
#define STG 2
#define DEV 3
#define B(id) (1ULL << (id))

static __u32 target(__u32 ch, __u64 ev, __u64 taint, __u32 scope, __u64 *env)
{
	__u64 e = 0;
	__u32 cls = sl_decide_target(ch, ev, taint, scope, &e);

	if (env)
		*env = e;
	return cls;
}

static void test_target_union(void **state)
{
	__u64 env;

	(void)state;
	/* nothing named: unknown */
	assert_int_equal(target(SL_KCH_TLS, 0, 0, STG, &env), SL_KTGT_UNKNOWN);
	assert_int_equal(env, 0);
	/* only the scope: in scope */
	assert_int_equal(target(SL_KCH_TLS, B(STG), 0, STG, &env), SL_KTGT_IN_SCOPE);
	assert_int_equal(env, B(STG));
	/* another environment: outside */
	assert_int_equal(target(SL_KCH_TLS, B(PROD), 0, STG, NULL), SL_KTGT_OUTSIDE);
	/* a production credential in a request that also names a staging host */
	assert_int_equal(target(SL_KCH_TLS, B(PROD) | B(STG), 0, STG, &env), SL_KTGT_OUTSIDE);
	assert_int_equal(env, B(PROD) | B(STG));
	/* a tainted staging session running a command from its staging workspace:
	 * the cwd's label no longer cancels the taint */
	assert_int_equal(target(SL_KCH_EXEC, B(STG), B(PROD), STG, &env), SL_KTGT_OUTSIDE);
	assert_int_equal(env, B(PROD) | B(STG));
	/* taint alone decides when the evidence names nothing */
	assert_int_equal(target(SL_KCH_EXEC, 0, B(PROD), STG, &env), SL_KTGT_OUTSIDE);
	assert_int_equal(env, B(PROD));
	/* the scope's own bit in the taint does not make a target known */
	assert_int_equal(target(SL_KCH_TLS, 0, B(STG), STG, &env), SL_KTGT_UNKNOWN);
	assert_int_equal(env, 0);
	assert_int_equal(target(SL_KCH_TLS, B(STG), B(STG), STG, NULL), SL_KTGT_IN_SCOPE);
	/* several environments in the taint */
	assert_int_equal(target(SL_KCH_TLS, B(STG), B(STG) | B(DEV), STG, &env), SL_KTGT_OUTSIDE);
	assert_int_equal(env, B(STG) | B(DEV));
}

static void test_target_connect_open_no_taint(void **state)
{
	__u64 env;

	(void)state;
	/* a connect or an open is judged on its destination / file alone */
	assert_int_equal(target(SL_KCH_CONNECT, 0, B(PROD), STG, &env), SL_KTGT_UNKNOWN);
	assert_int_equal(env, 0);
	assert_int_equal(target(SL_KCH_CONNECT, B(STG), B(PROD), STG, NULL), SL_KTGT_IN_SCOPE);
	assert_int_equal(target(SL_KCH_OPEN, B(PROD), 0, STG, NULL), SL_KTGT_OUTSIDE);
	assert_int_equal(target(SL_KCH_OPEN, 0, B(PROD), STG, NULL), SL_KTGT_UNKNOWN);
	assert_true(sl_decide_taint_counts(SL_KCH_EXEC));
	assert_true(sl_decide_taint_counts(SL_KCH_TLS));
	assert_false(sl_decide_taint_counts(SL_KCH_CONNECT));
	assert_false(sl_decide_taint_counts(SL_KCH_OPEN));
}

static void test_target_scope_ids(void **state)
{
	__u64 env;

	(void)state;
	/* no scope (id 0) or an id out of range: every environment is outside */
	assert_int_equal(target(SL_KCH_TLS, B(STG), 0, 0, NULL), SL_KTGT_OUTSIDE);
	assert_int_equal(target(SL_KCH_TLS, B(STG), 0, SL_ENV_MAX + 1, NULL), SL_KTGT_OUTSIDE);
	assert_int_equal(sl_decide_env_bit(0), 0);
	assert_int_equal(sl_decide_env_bit(SL_ENV_MAX), 1ULL << SL_ENV_MAX);
	assert_int_equal(sl_decide_env_bit(SL_ENV_MAX + 1), 0);
	/* the highest id a policy names works as a scope */
	assert_int_equal(target(SL_KCH_TLS, B(62), B(62), 62, &env), SL_KTGT_IN_SCOPE);
	assert_int_equal(env, B(62));
	/* foreign (a credential found outside the session's): its own class ... */
	assert_int_equal(target(SL_KCH_TLS, B(SL_ENV_FOREIGN), 0, 1, &env), SL_KTGT_FOREIGN);
	assert_int_equal(target(SL_KCH_TLS, B(SL_ENV_FOREIGN) | B(1), 0, 1, NULL), SL_KTGT_FOREIGN);
	assert_int_equal(target(SL_KCH_EXEC, 0, B(SL_ENV_FOREIGN), 1, NULL), SL_KTGT_FOREIGN);
	/* ... unless another environment than the scope is named too: outside */
	assert_int_equal(target(SL_KCH_TLS, B(SL_ENV_FOREIGN) | B(2), 0, 1, NULL), SL_KTGT_OUTSIDE);
	/* exhaustive over 4 environments: in scope iff the union is exactly the scope */
	for (__u32 scope = 1; scope <= 4; scope++)
		for (__u64 ev = 0; ev < 32; ev += 2)
			for (__u64 t = 0; t < 32; t += 2) {
				__u64 u = ev | (t & ~B(scope));
				__u32 want = !u		     ? SL_KTGT_UNKNOWN
					     : u == B(scope) ? SL_KTGT_IN_SCOPE
							     : SL_KTGT_OUTSIDE;

				assert_int_equal(target(SL_KCH_EXEC, ev, t, scope, &env), want);
				assert_int_equal(env, u);
			}
}

static void test_rule_precedence(void **state)
{
	(void)state;
	/* the first matching rule is taken */
	assert_true(sl_decide_rule_wins(0, 0, 0, SL_KACT_LOG, 0));
	assert_true(sl_decide_rule_wins(0, 0, 0, SL_KACT_ALERT, 1));
	/* a stronger enforcing rule takes over, an equal or weaker one does not */
	assert_true(sl_decide_rule_wins(1, SL_KACT_ALERT, 0, SL_KACT_KILL, 0));
	assert_false(sl_decide_rule_wins(1, SL_KACT_KILL, 0, SL_KACT_KILL, 0));
	assert_false(sl_decide_rule_wins(1, SL_KACT_KILL, 0, SL_KACT_ALERT, 0));
	/* an enforcing rule beats any monitor rule, a monitor rule never an enforcing one */
	assert_true(sl_decide_rule_wins(1, SL_KACT_KILL, 1, SL_KACT_LOG, 0));
	assert_false(sl_decide_rule_wins(1, SL_KACT_LOG, 0, SL_KACT_KILL, 1));
	/* among monitor rules the strongest */
	assert_true(sl_decide_rule_wins(1, SL_KACT_ALERT, 1, SL_KACT_FREEZE, 1));
}

/* ---- the reference decision on a policy ---- */

static const char policy_text[] = "version: 1\n"
				  "environments:\n"
				  "  production:\n"
				  "    paths: [/srv/prod/**]\n"
				  "  staging:\n"
				  "    paths: [/srv/staging/**]\n"
				  "patterns:\n"
				  "  railway_destroy:\n"
				  "    channel: exec\n"
				  "    all: [\"railway \", {any: [\" delete \", \" down \"]}]\n"
				  "  rm_recursive:\n"
				  "    channel: exec\n"
				  "    all: [\"rm \", \" -rf \"]\n"
				  "  graphql_destroy:\n"
				  "    channel: tls\n"
				  "    all: [mutation, {any: [volumeDelete]}]\n"
				  "rules:\n"
				  "  - name: trial\n"
				  "    channel: exec\n"
				  "    pattern: railway_destroy\n"
				  "    target: any\n"
				  "    action: kill\n"
				  "    monitor: true\n"
				  "  - name: cli-outside\n"
				  "    channel: exec\n"
				  "    pattern: railway_destroy\n"
				  "    target: outside_scope\n"
				  "    action: kill\n"
				  "  - name: cli-unknown\n"
				  "    channel: exec\n"
				  "    pattern: railway_destroy\n"
				  "    target: unknown\n"
				  "    action: alert\n"
				  "  - name: api-outside\n"
				  "    channel: tls\n"
				  "    pattern: graphql_destroy\n"
				  "    target: outside_scope\n"
				  "    action: freeze\n"
				  "  - name: rm-evidence-only\n"
				  "    channel: exec\n"
				  "    pattern: rm_recursive\n"
				  "    target: outside_scope\n"
				  "    taint: false\n"
				  "    action: kill\n";

static struct sl_policy *load(void)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;

	sl_policy_errors_init(&errs);
	if (sl_policy_load_buf("decide.yaml", policy_text, strlen(policy_text), &p, &errs)) {
		sl_policy_errors_print(&errs, stderr);
		fail();
	}
	sl_policy_errors_free(&errs);
	return p;
}

static void decide(const struct sl_policy *p, uint32_t ch, const char *subject, uint64_t ev,
		   uint64_t taint, uint32_t scope, bool mon, struct sl_policy_decision *d)
{
	uint64_t seen[SL_POLICY_KW_WORDS] = {0};

	sl_policy_keywords_scan(p, ch, subject, strlen(subject), seen);
	sl_policy_decide(p, ch, seen, ev, taint, scope, mon, false, d);
}

static void test_reference_decision(void **state)
{
	struct sl_policy *p = load();
	struct sl_policy_decision d;
	uint32_t prod = (uint32_t)sl_policy_env_id(p, "production");
	uint32_t stg = (uint32_t)sl_policy_env_id(p, "staging");

	(void)state;
	/* a tainted staging session deletes from its staging workspace: killed */
	decide(p, SL_CHAN_EXEC, "railway volume delete ", B(stg), B(prod), stg, false, &d);
	assert_int_equal(d.rule, 1);
	assert_int_equal(d.action, SL_ACT_KILL);
	assert_false(d.monitor);
	assert_int_equal(d.target_class, SL_TARGET_OUTSIDE);
	assert_int_equal(d.target_env, B(stg) | B(prod));
	/* untainted, from the workspace: in scope; only the monitor rule matches */
	decide(p, SL_CHAN_EXEC, "railway volume delete ", B(stg), 0, stg, false, &d);
	assert_int_equal(d.rule, 0);
	assert_true(d.monitor);
	assert_int_equal(d.target_class, SL_TARGET_IN_SCOPE);
	/* no evidence at all: unknown -> the alert rule beats the monitor rule */
	decide(p, SL_CHAN_EXEC, "railway volume delete ", 0, 0, stg, false, &d);
	assert_int_equal(d.rule, 2);
	assert_int_equal(d.action, SL_ACT_ALERT);
	assert_false(d.monitor);
	/* a session in monitor mode only ever gets monitor decisions */
	decide(p, SL_CHAN_EXEC, "railway volume delete ", B(prod), 0, stg, true, &d);
	assert_int_equal(d.rule, 1);
	assert_true(d.monitor);
	/* no pattern: no rule */
	decide(p, SL_CHAN_EXEC, "railway status ", B(prod), 0, stg, false, &d);
	assert_int_equal(d.rule, -1);
	/* a production credential in a request that also names staging */
	decide(p, SL_CHAN_TLS, "mutation { volumeDelete(id: \"x\") }", B(prod) | B(stg), 0, stg,
	       false, &d);
	assert_int_equal(d.rule, 3);
	assert_int_equal(d.action, SL_ACT_FREEZE);
	/* taint: false: rm -rf of a build dir in a tainted session is not outside */
	decide(p, SL_CHAN_EXEC, "rm -rf build ", B(stg), B(prod), stg, false, &d);
	assert_int_equal(d.rule, -1);
	/* ... while a path of another environment is */
	decide(p, SL_CHAN_EXEC, "rm -rf /srv/prod/db ", B(prod), B(prod), stg, false, &d);
	assert_int_equal(d.rule, 4);
	assert_int_equal(d.target_class, SL_TARGET_OUTSIDE);
	assert_int_equal(d.target_env, B(prod));
	/* a pattern of another channel does not match */
	decide(p, SL_CHAN_TLS, "railway volume delete ", B(prod), 0, stg, false, &d);
	assert_int_equal(d.rule, -1);
	assert_int_equal(d.patterns[0], 0);
	sl_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_target_union),
	    cmocka_unit_test(test_target_connect_open_no_taint),
	    cmocka_unit_test(test_target_scope_ids),
	    cmocka_unit_test(test_rule_precedence),
	    cmocka_unit_test(test_reference_decision),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
