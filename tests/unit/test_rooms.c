// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Rooms of the daemon linked from .output/libscopelockd.a through their
 * doors (docs/architecture.md): the feature list, the clock of the records,
 * the journal's alert classes, the ingest room's names, the environment
 * names of the policy store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <jansson.h>

#include "clock.h"
#include "feature.h"
#include "ingest.h"
#include "journal.h"
#include "policy.h"
#include "policy_store.h"
#include "scopelock_abi.h"

static bool used_now;

static bool used_while(void *ctx)
{
	return *(bool *)ctx;
}

static void test_features(void **state)
{
	struct sl_features *f = NULL;
	json_t *arr, *o;

	(void)state;
	assert_int_equal(sl_features_new(&f), 0);
	sl_feature_add(f, "prog:tracepoint", true, true, "%s", "");
	sl_feature_add(f, "prog:lsm", false, false, "%s", "refused by this kernel");
	sl_feature_add(f, "helper:send_signal", true, false, "%s", "kill/freeze verdicts");
	sl_feature_used_while(f, used_while, &used_now);

	used_now = false;
	arr = sl_features_json(f);
	assert_int_equal(json_array_size(arr), 3);
	o = json_array_get(arr, 1);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "prog:lsm");
	assert_true(json_is_false(json_object_get(o, "available")));
	assert_string_equal(json_string_value(json_object_get(o, "detail")),
			    "refused by this kernel");
	/* the use of the last one follows its callback */
	assert_true(json_is_false(json_object_get(json_array_get(arr, 2), "used")));
	json_decref(arr);
	used_now = true;
	arr = sl_features_json(f);
	assert_true(json_is_true(json_object_get(json_array_get(arr, 2), "used")));
	assert_true(json_is_true(json_object_get(json_array_get(arr, 0), "used")));
	json_decref(arr);
	sl_features_free(f);
}

static void test_clock(void **state)
{
	struct timespec boot;
	json_t *now, *then;
	const char *a, *b;

	(void)state;
	sl_clock_refresh();
	clock_gettime(CLOCK_BOOTTIME, &boot);
	now = sl_clock_now_json();
	then = sl_clock_json((uint64_t)boot.tv_sec * 1000000000ULL + (uint64_t)boot.tv_nsec);
	a = json_string_value(now);
	b = json_string_value(then);
	/* "2026-04-01T12:00:00.123456789Z": RFC 3339, UTC, nanoseconds */
	assert_int_equal(strlen(a), 30);
	assert_int_equal(strlen(b), 30);
	assert_int_equal(a[10], 'T');
	assert_int_equal(a[29], 'Z');
	/* a boot-time stamp of now is now, to the second */
	assert_memory_equal(a, b, 19);
	json_decref(now);
	json_decref(then);
}

static void test_alert_classes(void **state)
{
	(void)state;
	assert_true(sl_journal_line_is_alert("{\"seq\":1,\"type\":\"alert\",\"rule\":\"x\"}"));
	assert_true(sl_journal_line_is_alert("{\"seq\":2,\"type\":\"hold_denied\"}"));
	assert_true(sl_journal_line_is_alert("{\"seq\":3,\"type\":\"session_killed\"}"));
	assert_true(sl_journal_line_is_alert("{\"seq\":4,\"type\":\"confine_refused\"}"));
	assert_true(sl_journal_line_is_alert("{\"seq\":5,\"type\":\"control_refused\"}"));
	assert_false(sl_journal_line_is_alert("{\"seq\":6,\"type\":\"exec\"}"));
	assert_false(sl_journal_line_is_alert("{\"seq\":7,\"type\":\"verdict\"}"));
	/* the type is the record's own, not a nested one nor a prefix */
	assert_false(sl_journal_line_is_alert(
	    "{\"seq\":8,\"type\":\"open\",\"evidence\":{\"type\":\"alert\"}}"));
	assert_false(sl_journal_line_is_alert("{\"seq\":9,\"type\":\"alerts\"}"));
	assert_false(sl_journal_line_is_alert("{\"seq\":9,\"type\":\"hold_\"}"));
	/* a line of another shape: found anywhere */
	assert_true(sl_journal_line_is_alert("{\"type\":\"alert\",\"seq\":1}"));
	assert_true(
	    sl_journal_line_type_is("{\"seq\":10,\"type\":\"session_end\"}", "session_end"));
	assert_false(
	    sl_journal_line_type_is("{\"seq\":11,\"type\":\"session_end_x\"}", "session_end"));
	assert_false(sl_journal_line_type_is("{\"seq\":12,\"type\":\"session\"}", "session_end"));
	assert_true(sl_journal_line_type_is("{\"x\":1,\"type\":\"session_end\"}", "session_end"));
}

static void test_ingest_names(void **state)
{
	(void)state;
	assert_string_equal(sl_op_type(SL_OP_EXEC), "exec");
	assert_string_equal(sl_op_type(SL_OP_TLS_WRITE), "tls_write");
	assert_string_equal(sl_op_type(SL_OP_PLAIN_WRITE), "plain_write");
	assert_string_equal(sl_op_type(SL_OP_VERDICT), "verdict");
	assert_null(sl_op_type(0));
	assert_null(sl_op_type(SL_OP_MAX));
	assert_string_equal(sl_loss_cause_name(SL_LOSS_RINGBUF_FULL), "ringbuf_full");
	assert_string_equal(sl_loss_cause_name(SL_LOSS_MAP_FULL), "map_full");
	assert_string_equal(sl_loss_cause_name(SL_LOSS_MAX), "unknown");
}

static void test_env_names(void **state)
{
	static const char pol[] = "version: 1\n"
				  "environments:\n"
				  "  staging: {}\n"
				  "  production: {}\n";
	struct sl_policy *p = NULL;
	json_t *arr;

	(void)state;
	assert_int_equal(sl_policy_load_buf("t.yaml", pol, sizeof(pol) - 1, &p, NULL), 0);
	arr = sl_env_names_json(p, (1ULL << 2) | (1ULL << 1) | (1ULL << 9));
	assert_int_equal(json_array_size(arr), 3);
	assert_string_equal(json_string_value(json_array_get(arr, 0)), "staging");
	assert_string_equal(json_string_value(json_array_get(arr, 1)), "production");
	/* an id the policy does not name */
	assert_string_equal(json_string_value(json_array_get(arr, 2)), "env#9");
	json_decref(arr);
	/* without a policy every id is a number */
	arr = sl_env_names_json(NULL, 1ULL << 1);
	assert_string_equal(json_string_value(json_array_get(arr, 0)), "env#1");
	json_decref(arr);
	sl_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_features),	  cmocka_unit_test(test_clock),
	    cmocka_unit_test(test_alert_classes), cmocka_unit_test(test_ingest_names),
	    cmocka_unit_test(test_env_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
