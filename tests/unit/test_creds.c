// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The credentials room's pure part (user/daemon/creds.h): the environment a
 * discovered credential gets from where it was found.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "creds.h"
#include "policy.h"

#define B(id) (1ULL << (id))
#define STG 1
#define PROD 2

static void test_label_wins(void **state)
{
	(void)state;
	/* a labelled file: its label, wherever it is */
	assert_int_equal(sl_creds_env_of(B(PROD), "/srv/prod/api.env", STG, "/home/u/stg", false),
			 PROD);
	assert_int_equal(sl_creds_env_of(B(STG), "/srv/stg/api.env", STG, NULL, false), STG);
	/* inside the workspace but labelled production: production */
	assert_int_equal(
	    sl_creds_env_of(B(PROD), "/home/u/stg/prod.env", STG, "/home/u/stg", false), PROD);
	/* labelled with the scope and another: the other (the strictest) */
	assert_int_equal(sl_creds_env_of(B(STG) | B(PROD), "/x/y", STG, NULL, false), PROD);
	/* several others: the lowest id */
	assert_int_equal(sl_creds_env_of(B(3) | B(PROD), "/x/y", STG, NULL, false), PROD);
	/* a session whose scope the policy does not name: a label still counts */
	assert_int_equal(sl_creds_env_of(B(STG), "/x", 0, NULL, false), STG);
}

static void test_workspace(void **state)
{
	(void)state;
	assert_int_equal(sl_creds_env_of(0, "/home/u/stg/.env", STG, "/home/u/stg", false), STG);
	assert_int_equal(sl_creds_env_of(0, "/home/u/stg", STG, "/home/u/stg", false), STG);
	assert_int_equal(sl_creds_env_of(0, "/home/u/stg/a/b/c.json", STG, "/home/u/stg/", false),
			 STG);
	/* a sibling sharing the prefix is not the workspace */
	assert_int_equal(sl_creds_env_of(0, "/home/u/stg2/.env", STG, "/home/u/stg", false),
			 SL_ENV_FOREIGN);
	assert_int_equal(sl_creds_env_of(0, "/home/u/.config/tok", STG, "/home/u/stg", false),
			 SL_ENV_FOREIGN);
	/* no workspace, or no scope: outside anything of the session's */
	assert_int_equal(sl_creds_env_of(0, "/home/u/stg/.env", STG, NULL, false), SL_ENV_FOREIGN);
	assert_int_equal(sl_creds_env_of(0, "/home/u/stg/.env", 0, "/home/u/stg", false),
			 SL_ENV_FOREIGN);
	/* a relative workspace is never matched */
	assert_int_equal(sl_creds_env_of(0, "/home/u/stg/.env", STG, "home/u/stg", false),
			 SL_ENV_FOREIGN);
	/* the root as workspace: everything is the session's */
	assert_int_equal(sl_creds_env_of(0, "/etc/x", STG, "/", false), STG);
}

static void test_moved(void **state)
{
	(void)state;
	/* renamed or hardlinked into the workspace, or written during the session */
	assert_int_equal(sl_creds_env_of(0, "/home/u/stg/.env", STG, "/home/u/stg", true),
			 SL_ENV_FOREIGN);
	/* into a directory labelled with the scope: the same */
	assert_int_equal(sl_creds_env_of(B(STG), "/srv/stg/x", STG, NULL, true), SL_ENV_FOREIGN);
	/* a label of another environment stays (the stricter) */
	assert_int_equal(sl_creds_env_of(B(PROD), "/srv/prod/x", STG, NULL, true), PROD);
	/* the environment is never "moved" */
	assert_int_equal(sl_creds_env_of(0, NULL, STG, NULL, true), STG);
}

static void test_environment(void **state)
{
	(void)state;
	/* the session's initial environment belongs to its scope */
	assert_int_equal(sl_creds_env_of(0, NULL, STG, NULL, false), STG);
	assert_int_equal(sl_creds_env_of(0, NULL, STG, "/home/u/stg", false), STG);
	/* no scope of the policy: foreign */
	assert_int_equal(sl_creds_env_of(0, NULL, 0, NULL, false), SL_ENV_FOREIGN);
	/* the foreign bit and bit 0 in a label are no label */
	assert_int_equal(sl_creds_env_of(B(SL_ENV_FOREIGN) | 1, "/x", STG, NULL, false),
			 SL_ENV_FOREIGN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_label_wins),
	    cmocka_unit_test(test_workspace),
	    cmocka_unit_test(test_moved),
	    cmocka_unit_test(test_environment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
