// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Lossless JSON encoding of arbitrary bytes (user/lib/jsonbytes.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "jsonbytes.h"

/* a string literal and its length without the final NUL */
#define LIT(s) s, sizeof(s) - 1

/* encode, serialize, parse back, decode: the exact bytes must come back */
static void round_trip(const void *buf, size_t len)
{
	json_t *v = sl_json_bytes(buf, len), *w;
	json_error_t jerr;
	char *text, *out = NULL;
	size_t outlen = 0;

	assert_non_null(v);
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(text);
	w = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	assert_non_null(w);
	assert_int_equal(sl_json_bytes_decode(w, &out, &outlen), 0);
	assert_int_equal(outlen, len);
	if (len)
		assert_memory_equal(out, buf, len);
	assert_int_equal(out[len], '\0');
	free(out);
	free(text);
	json_decref(v);
	json_decref(w);
}

/* the compact JSON text of sl_json_bytes(buf, len) */
static char *encode_text(const void *buf, size_t len)
{
	json_t *v = sl_json_bytes(buf, len);
	char *text;

	assert_non_null(v);
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(text);
	json_decref(v);
	return text;
}

static void expect_text(const void *buf, size_t len, const char *want)
{
	char *text = encode_text(buf, len);

	assert_string_equal(text, want);
	free(text);
}

static void test_valid_utf8_is_a_string(void **state)
{
	const char s[] = "h\xc3\xa9llo /tmp/w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x94\x92";
	json_t *v = sl_json_bytes(s, strlen(s));

	assert_true(json_is_string(v));
	assert_int_equal(json_string_length(v), strlen(s));
	json_decref(v);
	/* UTF-8 is written as is, '/' is not escaped */
	expect_text(s, strlen(s),
		    "\"h\xc3\xa9llo /tmp/w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x94\x92\"");
	round_trip(s, strlen(s));
}

static void test_invalid_utf8_is_base64(void **state)
{
	/* lone continuation, overlong NUL, surrogate, cut sequence, 0xff */
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
	    {"\xff\xfe", 2, "{\"b64\":\"//4=\"}"},     {"\xc0\x80", 2, "{\"b64\":\"wIA=\"}"},
	    {"\xed\xa0\x80", 3, "{\"b64\":\"7aCA\"}"}, {"ab\xe2\x82", 4, "{\"b64\":\"YWLigg==\"}"},
	    {"\x80", 1, "{\"b64\":\"gA==\"}"},	       {"caf\xe9", 4, "{\"b64\":\"Y2Fm6Q==\"}"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = sl_json_bytes(cases[i].in, cases[i].len);

		assert_true(json_is_object(v));
		assert_int_equal(json_object_size(v), 1);
		json_decref(v);
		expect_text(cases[i].in, cases[i].len, cases[i].want);
		round_trip(cases[i].in, cases[i].len);
	}
}

static void test_nul_and_control_bytes(void **state)
{
	/* NUL stays a string (\u0000), control bytes are escaped */
	expect_text("a\0b", 3, "\"a\\u0000b\"");
	expect_text("\x01\x1f\x7f", 3, "\"\\u0001\\u001F\x7f\"");
	expect_text(LIT("tab\there\nnl\r\"q\"\\"), "\"tab\\there\\nnl\\r\\\"q\\\"\\\\\"");
	round_trip("a\0b", 3);
	round_trip("\0", 1);
	round_trip("\0\0\x01\x02\x1b[0m", 8);
	/* NUL next to invalid UTF-8: base64 keeps it */
	expect_text("\0\xff", 2, "{\"b64\":\"AP8=\"}");
	round_trip("\0\xff", 2);
}

static void test_empty(void **state)
{
	json_t *v = sl_json_bytes("", 0);
	char *out = NULL;
	size_t len = 1;

	assert_true(json_is_string(v));
	assert_int_equal(json_string_length(v), 0);
	assert_int_equal(sl_json_bytes_decode(v, &out, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	free(out);
	json_decref(v);
	v = sl_json_bytes(NULL, 0);
	assert_true(json_is_string(v));
	json_decref(v);
	round_trip("", 0);
}

static void test_random_round_trip(void **state)
{
	unsigned char buf[512];
	unsigned int seed = 12345;

	for (int i = 0; i < 5000; i++) {
		size_t len = (size_t)rand_r(&seed) % sizeof(buf);
		int kind = i % 4;

		for (size_t j = 0; j < len; j++) {
			unsigned int r = (unsigned int)rand_r(&seed);

			if (kind == 0) /* printable ASCII: always a string */
				buf[j] = (unsigned char)(' ' + r % 95);
			else if (kind == 1) /* ASCII with controls and NUL */
				buf[j] = (unsigned char)(r % 128);
			else /* anything */
				buf[j] = (unsigned char)r;
		}
		if (kind == 3 && len >= 4) {
			/* mostly text with a multi-byte character inside */
			memset(buf, 'x', len);
			memcpy(buf + len / 2 - 2, "\xe2\x82\xac", 3);
		}
		round_trip(buf, len);
		if (kind <= 1 || (kind == 3 && len >= 4)) {
			json_t *v = sl_json_bytes(buf, len);

			assert_true(json_is_string(v));
			json_decref(v);
		}
	}
}

static void test_set_bytes(void **state)
{
	json_t *o = json_object();
	char *text;

	assert_int_equal(sl_json_set_bytes(o, "path", "/etc/passwd", 11), 0);
	assert_int_equal(sl_json_set_bytes(o, "raw", "\xff", 1), 0);
	text = json_dumps(o, JSON_COMPACT);
	assert_string_equal(text, "{\"path\":\"/etc/passwd\",\"raw\":{\"b64\":\"/w==\"}}");
	free(text);
	json_decref(o);
}

static void expect_decode_einval(const char *json)
{
	json_error_t jerr;
	json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);
	char *out = (char *)0x1;
	size_t len = 7;

	assert_non_null(v);
	assert_int_equal(sl_json_bytes_decode(v, &out, &len), -EINVAL);
	/* outputs untouched */
	assert_ptr_equal(out, (char *)0x1);
	assert_int_equal(len, 7);
	json_decref(v);
}

static void test_decode_rejects(void **state)
{
	expect_decode_einval("42");
	expect_decode_einval("null");
	expect_decode_einval("[\"a\"]");
	expect_decode_einval("{}");
	expect_decode_einval("{\"b64\":1}");
	expect_decode_einval("{\"B64\":\"YQ==\"}");
	expect_decode_einval("{\"b64\":\"YQ==\",\"x\":1}");
	expect_decode_einval("{\"b64\":\"YQ\"}");    /* unpadded */
	expect_decode_einval("{\"b64\":\"YR==\"}");  /* non-zero padding bits */
	expect_decode_einval("{\"b64\":\" YQ==\"}"); /* blanks */
	expect_decode_einval("{\"b64\":\"Y Q=\"}");
	expect_decode_einval("{\"b64\":\"YQ=a\"}");
	expect_decode_einval("{\"b64\":\"!!!!\"}");
	expect_decode_einval("{\"b64\":\"YQ==YQ==\"}");
}

static void test_decode_b64(void **state)
{
	json_t *v = json_pack("{s:s}", "b64", "AP8=");
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(sl_json_bytes_decode(v, &out, &len), 0);
	assert_int_equal(len, 2);
	assert_memory_equal(out, "\0\xff", 2);
	free(out);
	json_decref(v);
}

/* compare an argv array's elements with the expected compact JSON */
static void expect_argv(const void *buf, size_t len, const char *want)
{
	json_t *arr = sl_json_argv(buf, len);
	char *text;

	assert_non_null(arr);
	assert_true(json_is_array(arr));
	text = json_dumps(arr, JSON_COMPACT);
	assert_string_equal(text, want);
	free(text);
	json_decref(arr);
}

static void test_argv_split(void **state)
{
	expect_argv("ls\0-l\0/tmp\0", 11, "[\"ls\",\"-l\",\"/tmp\"]");
	/* no trailing NUL: the last string still counts */
	expect_argv("ls\0-l", 5, "[\"ls\",\"-l\"]");
	/* empty arguments are kept */
	expect_argv("a\0\0b\0", 5, "[\"a\",\"\",\"b\"]");
	expect_argv("a\0\0", 3, "[\"a\",\"\"]");
	expect_argv("\0", 1, "[\"\"]");
	expect_argv("", 0, "[]");
	/* spaces, quotes, newlines, non-UTF-8 */
	expect_argv(LIT("sh\0-c\0echo \"a b\"\n'c'\0\xff\xfe\0"),
		    "[\"sh\",\"-c\",\"echo \\\"a b\\\"\\n'c'\",{\"b64\":\"//4=\"}]");
}

static void test_argv_round_trip(void **state)
{
	const char raw[] = "python3\0-c\0print(1)\0\xc3\x28\0";
	json_t *arr = sl_json_argv(raw, sizeof(raw) - 1);
	size_t i, off = 0;
	json_t *v;

	assert_int_equal(json_array_size(arr), 4);
	json_array_foreach (arr, i, v) {
		char *out;
		size_t len;

		assert_int_equal(sl_json_bytes_decode(v, &out, &len), 0);
		assert_memory_equal(out, raw + off, len);
		assert_int_equal(raw[off + len], '\0');
		off += len + 1;
		free(out);
	}
	assert_int_equal(off, sizeof(raw) - 1);
	json_decref(arr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_utf8_is_a_string),
	    cmocka_unit_test(test_invalid_utf8_is_base64),
	    cmocka_unit_test(test_nul_and_control_bytes),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_random_round_trip),
	    cmocka_unit_test(test_set_bytes),
	    cmocka_unit_test(test_decode_rejects),
	    cmocka_unit_test(test_decode_b64),
	    cmocka_unit_test(test_argv_split),
	    cmocka_unit_test(test_argv_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
