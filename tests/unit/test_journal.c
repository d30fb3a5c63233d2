// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The journal room (user/daemon/journal.h), linked from libscopelockd.a:
 * redaction of every record type (each decoder's records with a secret in
 * every bytes member, comm included), of nested values (evidence objects,
 * arrays, base64 bytes) on the jansson path, of a secret split across two
 * TLS writes (edges), fingerprint-only secrets; and the chain across write
 * batches and rotations (`scopelock verify`'s check).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "audit.h"
#include "ingest_decode.h"
#include "journal.h"
#include "jsonbytes.h"
#include "jwriter.h"
#include "policy_store.h"

#define SECRET "tok-journal-0123456789abcdef"
#define FP_SECRET "fpsecret-ABCDEFGH12345678"

struct fx {
	char dir[64];
	char audit[96];
	struct sl_policy_store *ps;
	struct sl_journal *j;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static struct sl_journal *open_journal(struct fx *f, uint64_t rotate)
{
	struct sl_audit_opts o = {
	    .dir = f->audit, .rotate_bytes = rotate, .fsync_mode = SL_FSYNC_NONE};
	struct sl_journal *j = NULL;

	assert_int_equal(sl_journal_open(&o, f->ps, &j), 0);
	return j;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char pol[160], text[1024];
	uint8_t md[32];
	char hex[65];
	FILE *fp;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/sl-test-journal-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->audit, sizeof(f->audit), "%s/audit", f->dir);
	snprintf(pol, sizeof(pol), "%s/policy.yaml", f->dir);
	SHA256((const unsigned char *)FP_SECRET, strlen(FP_SECRET), md);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	snprintf(text, sizeof(text),
		 "version: 1\n"
		 "environments:\n"
		 "  production:\n"
		 "    secrets:\n"
		 "      - env: SL_TEST_JOURNAL_TOKEN\n"
		 "      - fingerprint: \"sha256:%s\"\n",
		 hex);
	fp = fopen(pol, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	setenv("SL_TEST_JOURNAL_TOKEN", SECRET, 1);
	assert_int_equal(sl_policy_store_open(pol, &f->ps), 0);
	f->j = open_journal(f, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sl_journal_close(f->j);
	sl_policy_store_free(f->ps);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* every line of the log, as one text */
static char *log_text(const struct fx *f)
{
	char path[160], *buf;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/audit.jsonl", f->audit);
	fp = fopen(path, "r");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* the last record of the log */
static json_t *last_record(const struct fx *f)
{
	char *text = log_text(f), *last, *end;
	json_t *o;

	end = text + strlen(text) - 1; /* its '\n' */
	*end = '\0';
	last = strrchr(text, '\n');
	last = last ? last + 1 : text;
	o = json_loads(last, JSON_ALLOW_NUL, NULL);
	assert_non_null(o);
	free(text);
	return o;
}

/* no piece of the secret of 8 bytes or more anywhere in the log; the label is there */
static void assert_redacted(const struct fx *f)
{
	char *text = log_text(f);

	for (size_t i = 0; i + 8 <= strlen(SECRET); i++)
		assert_null(memmem(text, strlen(text), SECRET + i, 8));
	assert_null(strstr(text, FP_SECRET));
	assert_non_null(strstr(text, "[secret sha256:"));
	free(text);
}

static void common_header(struct sl_jw *w, const char *type)
{
	sl_jw_str(w, "type", type);
	sl_jw_str(w, "time", "2026-01-01T00:00:00.000000000Z");
	sl_jw_str(w, "session", "s1");
	sl_jw_int(w, "pid", 1);
	/* comm carries the secret's first 15 bytes: redacted as an edge piece? no: */
	sl_jw_bytes(w, "comm", "x" SECRET, 1 + strlen(SECRET));
}

static void end_rec(struct fx *f, const char *type)
{
	assert_int_equal(sl_journal_rec_end(f->j, type, "s1", NULL, NULL, NULL), 0);
	assert_int_equal(sl_journal_flush(f->j), 0);
}

/* a record of each decoder, a secret in each of its bytes members and in comm */
static void test_every_record_type(void **state)
{
	struct fx *f = *state;
	union {
		struct sl_open_event e;
		struct sl_exec_event x;
		struct sl_exec_failed_event xf;
		struct sl_tls_event t;
		char raw[8192];
	} u;
	const char *s = SECRET;
	size_t sl = strlen(SECRET);
	struct sl_jw *w;
	json_t *r;

	/* open: path and requested */
	memset(&u, 0, sizeof(u));
	u.e.hdr.op = SL_OP_OPEN;
	u.e.syscall = SL_SYS_OPENAT;
	u.e.path_len = (uint16_t)(sl + 5);
	memcpy(u.e.data, "/tmp/", 5);
	memcpy(u.e.data + 5, s, sl);
	u.e.req_len = (uint16_t)sl;
	memcpy(u.e.data + u.e.path_len, s, sl);
	w = sl_journal_rec_begin(f->j);
	common_header(w, "open");
	assert_int_equal(sl_decode_open(&u, sizeof(u.e) + u.e.path_len + u.e.req_len, w), 0);
	end_rec(f, "open");
	r = last_record(f);
	assert_non_null(json_object_get(r, "secrets"));
	assert_non_null(strstr(json_string_value(json_object_get(r, "path")), "[secret sha256:"));
	json_decref(r);

	/* exec: filename, cwd, argv */
	memset(&u, 0, sizeof(u));
	u.x.hdr.op = SL_OP_EXEC;
	u.x.filename_len = (uint16_t)sl;
	memcpy(u.x.data, s, sl);
	u.x.cwd_len = (uint16_t)sl;
	memcpy(u.x.data + sl, s, sl);
	memcpy(u.x.data + 2 * sl, "curl\0-H\0", 8);
	memcpy(u.x.data + 2 * sl + 8, s, sl);
	u.x.args_len = u.x.args_total = (uint32_t)(8 + sl);
	w = sl_journal_rec_begin(f->j);
	common_header(w, "exec");
	assert_int_equal(sl_decode_exec(&u, sizeof(u.x) + 2 * sl + u.x.args_len, w), 0);
	end_rec(f, "exec");

	/* exec_failed: filename */
	memset(&u, 0, sizeof(u));
	u.xf.hdr.op = SL_OP_EXEC_FAILED;
	u.xf.syscall = SL_SYS_EXECVE;
	u.xf.ret = -ENOENT;
	u.xf.filename_len = (uint16_t)sl;
	memcpy(u.xf.data, s, sl);
	w = sl_journal_rec_begin(f->j);
	common_header(w, "exec_failed");
	assert_int_equal(sl_decode_exec_failed(&u, sizeof(u.xf) + sl, w), 0);
	end_rec(f, "exec_failed");

	/* tls_write: sni and data */
	memset(&u, 0, sizeof(u));
	u.t.hdr.op = SL_OP_TLS_WRITE;
	u.t.sni_len = (uint8_t)sl;
	memcpy(u.t.sni, s, sl);
	u.t.data_len = u.t.len = (uint32_t)(sl + 20);
	memcpy(u.t.data, "Authorization: ", 15);
	memcpy(u.t.data + 15, s, sl);
	memcpy(u.t.data + 15 + sl, "\r\n\r\n\n", 5);
	w = sl_journal_rec_begin(f->j);
	common_header(w, "tls_write");
	assert_int_equal(sl_decode_tls(&u, sizeof(u.t) + u.t.data_len, w), 0);
	end_rec(f, "tls_write");
	assert_redacted(f);
}

/* the jansson path: nested objects, arrays, base64 bytes; rec becomes what the log holds */
static void test_nested_and_b64(void **state)
{
	struct fx *f = *state;
	char bin[64];
	json_t *rec, *b64;
	char *enc;

	/* not UTF-8: a bytes value in base64 that carries the secret */
	bin[0] = (char)0xff;
	memcpy(bin + 1, SECRET, strlen(SECRET));
	rec = json_pack("{s:s, s:{s:{s:s, s:[s, s]}}, s:s}", "type", "alert", "evidence", "capture",
			"data", "Bearer " SECRET, "argv", "x", SECRET, "comm", SECRET);
	enc = NULL;
	{
		/* {"b64": ...} of bin */
		static const char tbl[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		size_t n = 1 + strlen(SECRET), o = 0;

		enc = calloc(1, (n + 2) / 3 * 4 + 1);
		for (size_t i = 0; i < n; i += 3) {
			uint32_t v = (uint8_t)bin[i] << 16;

			v |= i + 1 < n ? (uint8_t)bin[i + 1] << 8 : 0;
			v |= i + 2 < n ? (uint8_t)bin[i + 2] : 0;
			enc[o++] = tbl[v >> 18 & 63];
			enc[o++] = tbl[v >> 12 & 63];
			enc[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
			enc[o++] = i + 2 < n ? tbl[v & 63] : '=';
		}
	}
	b64 = json_pack("{s:s}", "b64", enc);
	json_object_set_new(rec, "raw", b64);
	assert_int_equal(sl_journal_write(f->j, rec), 0);
	/* rec is what the log holds: redacted, with "secrets" */
	assert_non_null(json_object_get(rec, "secrets"));
	assert_null(strstr(json_string_value(json_object_get(rec, "comm")), SECRET));
	json_decref(rec);
	free(enc);
	assert_redacted(f);
	{
		/* the base64 value was decoded, redacted and encoded again */
		json_t *r = last_record(f);
		char *raw = NULL;
		size_t n;

		assert_int_equal(sl_json_bytes_decode(json_object_get(r, "raw"), &raw, &n), 0);
		assert_null(memmem(raw, n, SECRET, strlen(SECRET)));
		assert_non_null(memmem(raw, n, "[secret sha256:", 15));
		free(raw);
		json_decref(r);
	}
}

/* a credential split across two TLS writes of one stream is in neither record */
static void test_split_across_writes(void **state)
{
	struct fx *f = *state;
	const size_t cut = 11;
	struct sl_jw *w;
	char *text;

	w = sl_journal_rec_begin(f->j);
	sl_jw_str(w, "type", "tls_write");
	sl_journal_rec_stream(f->j);
	sl_jw_bytes(w, "data", "Authorization: Bearer " SECRET, 22 + cut);
	end_rec(f, "tls_write");
	w = sl_journal_rec_begin(f->j);
	sl_jw_str(w, "type", "tls_write");
	sl_journal_rec_stream(f->j);
	sl_jw_bytes(w, "data", SECRET + cut, strlen(SECRET) - cut);
	end_rec(f, "tls_write");
	text = log_text(f);
	assert_null(memmem(text, strlen(text), SECRET, cut));
	assert_null(strstr(text, SECRET + cut));
	assert_non_null(strstr(text, " part]"));
	free(text);
}

/* fingerprint-only secrets: the value is found by its SHA-256 in any value */
static void test_fingerprint(void **state)
{
	struct fx *f = *state;
	json_t *rec = json_pack("{s:s, s:s}", "type", "note", "text", "key=" FP_SECRET " end");
	char *text;

	assert_int_equal(sl_journal_write(f->j, rec), 0);
	json_decref(rec);
	text = log_text(f);
	assert_null(strstr(text, FP_SECRET));
	assert_non_null(strstr(text, "\"source\":\"fingerprint\""));
	free(text);
}

/* many batches and rotations through the journal: the chain verifies */
static void test_chain_batches_rotation(void **state)
{
	struct fx *f = *state;
	struct sl_verify_result res;
	const char *paths[1] = {f->audit};
	struct sl_journal_cpu cpu;

	sl_journal_close(f->j);
	f->j = open_journal(f, 16384);
	for (int i = 0; i < 3000; i++) {
		struct sl_jw *w = sl_journal_rec_begin(f->j);

		sl_jw_str(w, "type", "open");
		sl_jw_int(w, "i", i);
		sl_jw_bytes(w, "path", i % 10 ? "/etc/hostname" : "/x/" SECRET,
			    i % 10 ? 13 : 3 + strlen(SECRET));
		assert_int_equal(sl_journal_rec_end(f->j, "open", NULL, NULL, NULL, NULL), 0);
		if (i % 50 == 49)
			assert_int_equal(sl_journal_flush(f->j), 0);
	}
	assert_int_equal(sl_journal_flush(f->j), 0);
	sl_journal_cpu(f->j, &cpu);
	assert_true(cpu.writes > 0 && cpu.writes < 3000 / 10);
	sl_journal_close(f->j);
	f->j = NULL;
	assert_int_equal(sl_audit_verify(paths, 1, &res), 0);
	assert_true(res.segments >= 5);
	assert_true(res.records >= 3000);
	assert_int_equal(res.gaps, 0);
	sl_verify_result_release(&res);
	f->j = open_journal(f, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_every_record_type), T(test_nested_and_b64),	       T(test_split_across_writes),
	    T(test_fingerprint),       T(test_chain_batches_rotation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
