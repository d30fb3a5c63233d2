// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Audit log (user/lib/audit.h): hash chain, rotation and compression,
 * resume, verification and every kind of tampering it must find. Each test
 * works in its own mkdtemp directory, removed afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <zlib.h>
#include <zstd.h>

#include "audit.h"
#include "jsonbytes.h"

#define HASH_MEMBER_LEN 75 /* ,"hash":"<64 hex>"} minus the closing brace, plus it */

struct fixture {
	char dir[64];
};

/* ---- helpers ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sl-test-audit-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static char *path_in(const struct fixture *f, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", f->dir, name) > 0);
	return p;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* the whole content of a zstd file */
static char *slurp_zst(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	size_t cap = 1 << 16, n = 0, got;
	char *buf = malloc(cap + 1), in[4096];
	ZSTD_DCtx *d = ZSTD_createDCtx();

	assert_non_null(fp);
	assert_non_null(buf);
	while ((got = fread(in, 1, sizeof(in), fp)) > 0) {
		ZSTD_inBuffer ib = {in, got, 0};

		while (ib.pos < ib.size) {
			ZSTD_outBuffer ob;
			size_t r;

			if (cap - n < 4096) {
				cap *= 2;
				buf = realloc(buf, cap + 1);
				assert_non_null(buf);
			}
			ob = (ZSTD_outBuffer){buf + n, cap - n, 0};
			r = ZSTD_decompressStream(d, &ob, &ib);
			assert_false(ZSTD_isError(r));
			n += ob.pos;
		}
	}
	fclose(fp);
	ZSTD_freeDCtx(d);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* the whole content of a plain, gzip or zstd file */
static char *slurp(const char *path, size_t *len)
{
	gzFile gz;
	size_t cap = 1 << 16, n = 0;
	char *buf;
	int r;

	if (has_suffix(path, ".zst"))
		return slurp_zst(path, len);
	gz = gzopen(path, "rb");
	buf = malloc(cap + 1);
	assert_non_null(gz);
	assert_non_null(buf);
	while ((r = gzread(gz, buf + n, (unsigned int)(cap - n))) > 0) {
		n += (size_t)r;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
	}
	assert_int_equal(r, 0);
	gzclose(gz);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void spit(const char *path, const char *data, size_t len, bool gz)
{
	if (gz && has_suffix(path, ".zst")) {
		size_t cap = ZSTD_compressBound(len), n;
		char *out = malloc(cap);
		FILE *fp = fopen(path, "w");

		assert_non_null(out);
		assert_non_null(fp);
		n = ZSTD_compress(out, cap, data, len, 1);
		assert_false(ZSTD_isError(n));
		assert_int_equal(fwrite(out, 1, n, fp), n);
		assert_int_equal(fclose(fp), 0);
		free(out);
	} else if (gz) {
		gzFile g = gzopen(path, "wb");

		assert_non_null(g);
		assert_int_equal(gzwrite(g, data, (unsigned int)len), (int)len);
		assert_int_equal(gzclose(g), Z_OK);
	} else {
		FILE *fp = fopen(path, "w");

		assert_non_null(fp);
		assert_int_equal(fwrite(data, 1, len, fp), len);
		assert_int_equal(fclose(fp), 0);
	}
}

/* split a buffer into its lines (without '\n'); returns the count */
static size_t split_lines(char *buf, char ***lines)
{
	size_t n = 0, cap = 64;
	char **v = malloc(cap * sizeof(*v));

	for (char *p = buf, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		*nl = '\0';
		if (n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
		}
		v[n++] = p;
	}
	*lines = v;
	return n;
}

/* join lines back, each with its newline */
static char *join_lines(char **lines, size_t n, size_t *len)
{
	size_t total = 0, off = 0;
	char *out;

	for (size_t i = 0; i < n; i++)
		total += strlen(lines[i]) + 1;
	out = malloc(total + 1);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);

		memcpy(out + off, lines[i], l);
		out[off + l] = '\n';
		off += l + 1;
	}
	out[off] = '\0';
	*len = off;
	return out;
}

/* SHA-256 with libcrypto, independently of the library's code */
static void sha256_hex(const uint8_t prev[32], const char *body, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *buf = malloc(32 + len);

	memcpy(buf, prev, 32);
	memcpy(buf + 32, body, len);
	assert_int_equal(EVP_Digest(buf, 32 + len, md, &mdlen, EVP_sha256(), NULL), 1);
	assert_int_equal(mdlen, 32);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	free(buf);
}

static void unhex32(const char *hex, uint8_t out[32])
{
	for (int i = 0; i < 32; i++) {
		unsigned int b;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
}

/* the hash a line carries (points into the line) */
static const char *line_hash(const char *line)
{
	size_t n = strlen(line);

	assert_true(n > HASH_MEMBER_LEN);
	assert_memory_equal(line + n - HASH_MEMBER_LEN, ",\"hash\":\"", 9);
	return line + n - HASH_MEMBER_LEN + 9;
}

/* recompute a line's hash from the previous hash (raw) and store it in place */
static void rehash(char *line, const uint8_t prev[32])
{
	size_t n = strlen(line);
	char *body = strndup(line, n - HASH_MEMBER_LEN + 1);
	char hex[65];

	body[n - HASH_MEMBER_LEN] = '}';
	sha256_hex(prev, body, n - HASH_MEMBER_LEN + 1, hex);
	memcpy(line + n - HASH_MEMBER_LEN + 9, hex, 64);
	free(body);
}

static struct sl_audit *open_log(const struct fixture *f, uint64_t rotate, enum sl_fsync_mode mode)
{
	struct sl_audit_opts o = {
	    .dir = f->dir,
	    .rotate_bytes = rotate,
	    .fsync_mode = mode,
	};
	struct sl_audit *a = NULL;

	assert_int_equal(sl_audit_open(&o, &a), 0);
	assert_non_null(a);
	return a;
}

static json_t *make_rec(int i)
{
	char data[64];
	json_t *r = json_pack("{s:s, s:s, s:i}", "type", "test", "time",
			      "2026-01-01T00:00:00.000000000Z", "i", i);
	int n = snprintf(data, sizeof(data), "payload /%d/ \xff", i);

	assert_non_null(r);
	/* every third record carries non-UTF-8 bytes */
	assert_int_equal(sl_json_set_bytes(r, "data", data, (size_t)n - (i % 3 ? 2 : 0)), 0);
	return r;
}

static void append_n(struct sl_audit *a, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		json_t *r = make_rec(i);
		uint64_t seq = 0;

		assert_int_equal(sl_audit_append(a, r, NULL, &seq), 0);
		assert_int_equal(seq, sl_audit_last_seq(a));
		json_decref(r);
	}
}

static int verify_paths(const char **paths, int n, struct sl_verify_result *res)
{
	int ret = sl_audit_verify(paths, n, res);

	if (ret)
		print_message("verify: %d %s at %s:%llu (seq %llu): %s\n", ret,
			      sl_verify_status_name(res->status), res->file,
			      (unsigned long long)res->line, (unsigned long long)res->seq,
			      res->detail);
	return ret;
}

static int verify_dir(const struct fixture *f, struct sl_verify_result *res)
{
	const char *p[] = {f->dir};

	return verify_paths(p, 1, res);
}

/* sorted names of the files in the directory */
static size_t list_dir(const struct fixture *f, char names[][64], size_t max)
{
	struct dirent **ents;
	size_t k = 0;
	int n = scandir(f->dir, &ents, NULL, alphasort);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' && k < max) {
			assert_true(strlen(ents[i]->d_name) < 64);
			memcpy(names[k++], ents[i]->d_name, strlen(ents[i]->d_name) + 1);
		}
		free(ents[i]);
	}
	free(ents);
	return k;
}

static void expect_problem(const struct fixture *f, enum sl_verify_status status, const char *file,
			   uint64_t line, uint64_t seq)
{
	struct sl_verify_result res;
	char *want = path_in(f, file);

	assert_int_equal(verify_dir(f, &res), 1);
	assert_string_equal(sl_verify_status_name(res.status), sl_verify_status_name(status));
	assert_string_equal(res.file, want);
	assert_int_equal(res.line, line);
	if (seq)
		assert_int_equal(res.seq, seq);
	assert_true(res.detail[0] != '\0');
	free(want);
}

/*
 * A log of several segments: closed .gz ones, then the live audit.jsonl with
 * at least 12 records (written after a reopen without rotation).
 */
static void make_rotated_log(const struct fixture *f, int records)
{
	struct sl_audit *a = open_log(f, 1500, SL_FSYNC_NONE);

	append_n(a, 0, records);
	sl_audit_close(a);
	a = open_log(f, 0, SL_FSYNC_NONE);
	append_n(a, records, 12);
	sl_audit_close(a);
}

/* ---- the chain ---- */

static void test_chain_and_format(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 0, SL_FSYNC_ALWAYS);
	char *path = path_in(f, "audit.jsonl"), *buf, **lines;
	char *written[10];
	uint8_t prev[32] = {0};
	struct sl_verify_result res;
	size_t len, n;
	struct stat st;

	for (int i = 0; i < 10; i++) {
		json_t *r = make_rec(i);
		char *before = json_dumps(r, JSON_COMPACT);
		char *after;
		uint64_t seq;

		assert_int_equal(sl_audit_append(a, r, &written[i], &seq), 0);
		/* seq 1 is the segment_start of the new log */
		assert_int_equal(seq, (uint64_t)i + 2);
		after = json_dumps(r, JSON_COMPACT);
		assert_string_equal(before, after); /* rec is not modified */
		free(before);
		free(after);
		json_decref(r);
	}
	assert_int_equal(sl_audit_last_seq(a), 11);
	assert_string_equal(sl_audit_path(a), path);
	sl_audit_close(a);

	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	buf = slurp(path, &len);
	n = split_lines(buf, &lines);
	assert_int_equal(n, 11);
	for (size_t i = 0; i < n; i++) {
		const char *line = lines[i], *hash = line_hash(line);
		size_t blen = strlen(line) - HASH_MEMBER_LEN + 1;
		char *body = strndup(line, blen), hex[65], want[32];
		json_error_t jerr;
		json_t *o;
		void *it;

		/* compact, seq first, hash last */
		snprintf(want, sizeof(want), "{\"seq\":%zu,", i + 1);
		assert_memory_equal(line, want, strlen(want));
		assert_null(strstr(line, ": "));
		body[blen - 1] = '}';
		sha256_hex(prev, body, blen, hex);
		assert_memory_equal(hash, hex, 64);
		o = json_loads(line, 0, &jerr);
		assert_non_null(o);
		it = json_object_iter(o);
		assert_string_equal(json_object_iter_key(it), "seq");
		while (json_object_iter_next(o, it))
			it = json_object_iter_next(o, it);
		assert_string_equal(json_object_iter_key(it), "hash");
		if (i == 0) {
			assert_string_equal(json_string_value(json_object_get(o, "type")),
					    "segment_start");
			assert_int_equal(json_integer_value(json_object_get(o, "prev_seq")), 0);
			assert_string_equal(json_string_value(json_object_get(o, "prev_hash")),
					    "00000000000000000000000000000000"
					    "00000000000000000000000000000000");
		} else {
			char p16[17];

			/* "prev" names the hash the record was chained to */
			for (int k = 0; k < 8; k++)
				sprintf(p16 + 2 * k, "%02x", prev[k]);
			assert_string_equal(json_string_value(json_object_get(o, "prev")), p16);
			/* the line handed back is the line written */
			assert_int_equal(strlen(written[i - 1]), strlen(line) + 1);
			assert_memory_equal(written[i - 1], line, strlen(line));
			assert_int_equal(written[i - 1][strlen(line)], '\n');
			free(written[i - 1]);
		}
		/* '/' is not escaped (records 0, 3, ... carry non-UTF-8 bytes) */
		if (i > 0 && (i - 1) % 3)
			assert_non_null(strstr(line, "payload /"));
		unhex32(hash, prev);
		json_decref(o);
		free(body);
	}
	free(lines);
	free(buf);

	assert_int_equal(verify_dir(f, &res), 0);
	assert_int_equal(res.status, SL_VERIFY_OK);
	assert_int_equal(res.records, 11);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.last_seq, 11);
	assert_int_equal(res.segments, 1);
	free(path);
}

static void test_append_rejects(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 0, SL_FSYNC_BATCH);
	json_t *bad[] = {
	    json_pack("{s:i}", "seq", 5),
	    json_pack("{s:s}", "hash", "x"),
	    json_pack("{s:s}", "prev", "x"),
	    json_pack("[i]", 1),
	};
	char *path = path_in(f, "audit.jsonl");
	struct stat st1, st2;
	char *line = (char *)0x1;

	assert_int_equal(stat(path, &st1), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sl_audit_append(a, bad[i], &line, NULL), -EINVAL);
		json_decref(bad[i]);
	}
	assert_int_equal(sl_audit_append(a, NULL, NULL, NULL), -EINVAL);
	assert_ptr_equal(line, (char *)0x1);
	assert_int_equal(sl_audit_last_seq(a), 1);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_size, st2.st_size);
	append_n(a, 0, 3);
	assert_int_equal(sl_audit_tick(a), 0);
	assert_int_equal(sl_audit_flush(a), 0);
	sl_audit_close(a);
	sl_audit_close(NULL);
	free(path);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct sl_audit_opts o = {.dir = NULL};
	struct sl_audit *a = (struct sl_audit *)0x1;
	char *file = path_in(f, "plainfile");

	assert_int_equal(sl_audit_open(&o, &a), -EINVAL);
	o.dir = f->dir;
	o.fsync_mode = (enum sl_fsync_mode)7;
	assert_int_equal(sl_audit_open(&o, &a), -EINVAL);
	spit(file, "x", 1, false);
	o.dir = file;
	o.fsync_mode = SL_FSYNC_NONE;
	assert_true(sl_audit_open(&o, &a) < 0);
	assert_ptr_equal(a, (struct sl_audit *)0x1);
	free(file);
}

/*
 * A write that the kernel stops half-way (RLIMIT_FSIZE: a short write, then
 * EFBIG) leaves no half line: the record waits in the buffer with its seq and
 * is written whole once writing works (tests/unit/test_audit_failure.c has
 * the rest of the failure path).
 */
static void test_failed_write_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 0, SL_FSYNC_NONE);
	char *path = path_in(f, "audit.jsonl");
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_sa;
	struct rlimit old, lim;
	struct sl_verify_result res;
	struct sl_audit_status st;
	char big[4000];
	struct stat st1, st2;
	uint64_t seq = 0;
	int ret;
	json_t *r;

	append_n(a, 0, 5);
	assert_int_equal(stat(path, &st1), 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r = json_pack("{s:s, s:s}", "type", "big", "data", big);

	/* let the write stop 100 bytes into the line */
	assert_int_equal(sigaction(SIGXFSZ, &ign, &old_sa), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st1.st_size + 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ret = sl_audit_append(a, r, NULL, &seq);
	sl_audit_get_status(a, &st);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(sigaction(SIGXFSZ, &old_sa, NULL), 0);

	/* in the chain (seq 7), followed by audit_failure (seq 8), not in the file */
	assert_int_equal(ret, 0);
	assert_int_equal(seq, 7);
	assert_int_equal(sl_audit_last_seq(a), 8);
	assert_true(st.failing);
	assert_int_equal(st.error, -EFBIG);
	assert_int_equal(st.written_seq, 6);
	assert_int_equal(st.buffered_records, 2);
	assert_int_equal(st2.st_size, st1.st_size);
	/* written whole, in order, once the file can grow */
	assert_int_equal(sl_audit_retry(a), 0);
	sl_audit_get_status(a, &st);
	assert_false(st.failing);
	assert_int_equal(st.written_seq, 9); /* + audit_resumed */
	assert_int_equal(sl_audit_append(a, r, NULL, &seq), 0);
	assert_int_equal(seq, 10);
	json_decref(r);
	sl_audit_close(a);
	assert_int_equal(verify_dir(f, &res), 0);
	assert_int_equal(res.records, 10);
	assert_int_equal(res.audit_failures, 1);
	assert_int_equal(res.gaps, 0);
	sl_verify_result_release(&res);
	free(path);
}

/* ---- rotation and compression ---- */

static void test_rotation_compression(void **state)
{
	struct fixture *f = *state;
	char names[64][64], *buf, **lines;
	uint8_t prev[32] = {0};
	struct sl_verify_result res;
	uint64_t expect_seq = 1;
	size_t n, len, nl, gz = 0;

	make_rotated_log(f, 120);
	n = list_dir(f, names, 64);
	assert_true(n >= 4);
	/* closed segments are all compressed; the plain ones are gone */
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		struct stat st;
		char *p = path_in(f, names[i]);

		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		free(p);
		if (!strcmp(names[i], "audit.jsonl"))
			continue;
		assert_int_equal(l, strlen("audit-00000000000000000001.jsonl.zst"));
		assert_memory_equal(names[i], "audit-", 6);
		assert_string_equal(names[i] + l - 10, ".jsonl.zst");
		gz++;
	}
	assert_int_equal(gz, n - 1);
	assert_string_equal(names[n - 1], "audit.jsonl");
	assert_string_equal(names[0], "audit-00000000000000000001.jsonl.zst");

	/* the chain and seq continue across segments */
	for (size_t s = 0; s < n; s++) {
		char *p = path_in(f, names[s]);
		json_error_t jerr;
		json_t *o;

		buf = slurp(p, &len);
		nl = split_lines(buf, &lines);
		assert_true(nl >= 2);
		/* the name carries the first seq */
		if (s < n - 1)
			assert_int_equal(strtoull(names[s] + 6, NULL, 10), expect_seq);
		o = json_loads(lines[0], 0, &jerr);
		assert_string_equal(json_string_value(json_object_get(o, "type")), "segment_start");
		assert_int_equal(json_integer_value(json_object_get(o, "prev_seq")),
				 (json_int_t)expect_seq - 1);
		if (s > 0) {
			char hex[65];

			for (int k = 0; k < 32; k++)
				sprintf(hex + 2 * k, "%02x", prev[k]);
			assert_string_equal(json_string_value(json_object_get(o, "prev_hash")),
					    hex);
			assert_string_equal(json_string_value(json_object_get(o, "reason")),
					    "rotate");
		}
		json_decref(o);
		for (size_t i = 0; i < nl; i++) {
			size_t blen = strlen(lines[i]) - HASH_MEMBER_LEN + 1;
			char *body = strndup(lines[i], blen), hex[65];
			json_t *r = json_loads(lines[i], 0, &jerr);

			body[blen - 1] = '}';
			sha256_hex(prev, body, blen, hex);
			assert_memory_equal(line_hash(lines[i]), hex, 64);
			assert_int_equal(json_integer_value(json_object_get(r, "seq")),
					 (json_int_t)expect_seq);
			expect_seq++;
			unhex32(line_hash(lines[i]), prev);
			json_decref(r);
			free(body);
		}
		o = json_loads(lines[nl - 1], 0, &jerr);
		if (s < n - 1)
			assert_string_equal(json_string_value(json_object_get(o, "type")),
					    "segment_end");
		json_decref(o);
		free(lines);
		free(buf);
		free(p);
	}

	assert_int_equal(verify_dir(f, &res), 0);
	assert_int_equal(res.records, expect_seq - 1);
	assert_int_equal(res.first_seq, 1);
	assert_int_equal(res.last_seq, expect_seq - 1);
	assert_int_equal(res.segments, n);
}

/* files named in any order are put in order by their first seq */
static void test_verify_any_order(void **state)
{
	struct fixture *f = *state;
	char names[64][64];
	const char *paths[64];
	struct sl_verify_result res;
	size_t n;

	make_rotated_log(f, 60);
	n = list_dir(f, names, 64);
	assert_true(n >= 3);
	for (size_t i = 0; i < n; i++)
		paths[i] = path_in(f, names[n - 1 - i]);
	assert_int_equal(verify_paths(paths, (int)n, &res), 0);
	assert_int_equal(res.segments, n);
	assert_int_equal(res.first_seq, 1);
	/* the same directory twice counts once */
	paths[n] = f->dir;
	assert_int_equal(verify_paths(paths, (int)n + 1, &res), 0);
	assert_int_equal(res.segments, n);
	/* a later segment on its own verifies, anchored on its segment_start */
	assert_int_equal(verify_paths(paths + 1, 1, &res), 0);
	assert_true(res.first_seq > 1);
	assert_non_null(strstr(res.detail, "anchored"));
	for (size_t i = 0; i < n; i++)
		free((char *)paths[i]);
}

static void test_verify_errors(void **state)
{
	struct fixture *f = *state;
	struct sl_verify_result res;
	char *missing = path_in(f, "nope");
	const char *p[] = {missing};

	assert_int_equal(sl_audit_verify(p, 1, &res), -ENOENT);
	assert_int_equal(res.status, SL_VERIFY_IO);
	assert_non_null(strstr(res.detail, "nope"));
	/* a directory without segments */
	assert_int_equal(verify_dir(f, &res), -ENOENT);
	assert_int_equal(sl_audit_verify(p, 0, &res), -EINVAL);
	free(missing);
}

/* ---- resume ---- */

static void test_resume(void **state)
{
	struct fixture *f = *state;
	struct sl_verify_result res;
	struct sl_audit *a;

	a = open_log(f, 0, SL_FSYNC_ALWAYS);
	append_n(a, 0, 10);
	sl_audit_close(a);
	a = open_log(f, 0, SL_FSYNC_ALWAYS);
	/* no new segment: the same file goes on */
	assert_int_equal(sl_audit_last_seq(a), 11);
	append_n(a, 10, 10);
	assert_int_equal(sl_audit_last_seq(a), 21);
	sl_audit_close(a);
	assert_int_equal(verify_dir(f, &res), 0);
	assert_int_equal(res.records, 21);
	assert_int_equal(res.segments, 1);

	/* and with rotation: reopen several times in between */
	for (int i = 0; i < 5; i++) {
		a = open_log(f, 1200, SL_FSYNC_BATCH);
		append_n(a, i * 13, 13);
		assert_int_equal(sl_audit_tick(a), 0);
		sl_audit_close(a);
	}
	assert_int_equal(verify_dir(f, &res), 0);
	assert_true(res.segments > 2);
	assert_int_equal(res.first_seq, 1);
}

/* a damaged tail is kept untouched, the next segment says so */
static void test_resume_damaged_tail(void **state)
{
	struct fixture *f = *state;
	char *path = path_in(f, "audit.jsonl"), *before, *after, *buf, **lines, *dpath;
	char names[16][64];
	struct sl_verify_result res;
	struct sl_audit *a;
	size_t len, len2, n;
	const char *p[1];
	json_error_t jerr;
	json_t *o;
	FILE *fp;

	a = open_log(f, 0, SL_FSYNC_ALWAYS);
	append_n(a, 0, 10);
	sl_audit_close(a);
	fp = fopen(path, "a");
	fputs("{\"seq\":12,\"type\":\"te", fp);
	fclose(fp);
	before = slurp(path, &len);

	a = open_log(f, 0, SL_FSYNC_ALWAYS);
	assert_int_equal(sl_audit_last_seq(a), 12); /* 11 good ones, then a segment_start */
	append_n(a, 10, 3);
	sl_audit_close(a);

	n = list_dir(f, names, 16);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "audit-00000000000000000001-damaged.jsonl");
	dpath = path_in(f, names[0]);
	after = slurp(dpath, &len2);
	assert_int_equal(len, len2);
	assert_memory_equal(before, after, len);

	buf = slurp(path, &len);
	split_lines(buf, &lines);
	o = json_loads(lines[0], 0, &jerr);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "segment_start");
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "damaged");
	assert_string_equal(json_string_value(json_object_get(o, "damaged_segment")), names[0]);
	assert_int_equal(json_integer_value(json_object_get(o, "prev_seq")), 11);
	assert_non_null(strstr(json_string_value(json_object_get(o, "damage")), "partial"));
	json_decref(o);

	/* the whole log: the damage is reported */
	expect_problem(f, SL_VERIFY_TRUNCATED, names[0], 12, 12);
	/* the new segment on its own verifies */
	p[0] = path;
	assert_int_equal(verify_paths(p, 1, &res), 0);
	assert_int_equal(res.first_seq, 12);
	assert_int_equal(res.last_seq, 15);

	free(lines);
	free(buf);
	free(before);
	free(after);
	free(dpath);
	free(path);
}

/* close the live segment by hand as the writer would: append a segment_end */
static char *close_live_segment(const struct fixture *f, uint64_t *first_seq)
{
	char *path = path_in(f, "audit.jsonl"), *buf, **lines, *line;
	uint8_t prev[32];
	size_t len, n;
	FILE *fp;

	buf = slurp(path, &len);
	n = split_lines(buf, &lines);
	*first_seq = strtoull(lines[0] + 7, NULL, 10);
	unhex32(line_hash(lines[n - 1]), prev);
	assert_true(asprintf(&line,
			     "{\"seq\":%llu,\"type\":\"segment_end\",\"prev\":\"%.16s\","
			     "\"hash\":\"%064d\"}",
			     strtoull(lines[n - 1] + 7, NULL, 10) + 1, line_hash(lines[n - 1]),
			     0) > 0);
	rehash(line, prev);
	fp = fopen(path, "a");
	fprintf(fp, "%s\n", line);
	fclose(fp);
	free(line);
	free(lines);
	free(buf);
	return path;
}

static json_t *first_record(const struct fixture *f)
{
	char *path = path_in(f, "audit.jsonl"), *buf, **lines;
	json_error_t jerr;
	json_t *o;
	size_t len;

	buf = slurp(path, &len);
	split_lines(buf, &lines);
	o = json_loads(lines[0], 0, &jerr);
	assert_non_null(o);
	free(lines);
	free(buf);
	free(path);
	return o;
}

/* stopped after the segment_end, before the rename: rotated at open */
static void test_resume_closed_not_renamed(void **state)
{
	struct fixture *f = *state;
	struct sl_verify_result res;
	struct sl_audit *a;
	uint64_t first;
	char *path;
	json_t *o;

	make_rotated_log(f, 40);
	path = close_live_segment(f, &first);
	a = open_log(f, 0, SL_FSYNC_NONE);
	append_n(a, 0, 2);
	sl_audit_close(a);
	o = first_record(f);
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "rotate");
	json_decref(o);
	assert_int_equal(verify_dir(f, &res), 0);
	free(path);
}

/* stopped after the rename, before the new audit.jsonl: continued at open */
static void test_resume_after_rename(void **state)
{
	struct fixture *f = *state;
	struct sl_verify_result res;
	char name[64], *dst, *path;
	struct sl_audit *a;
	uint64_t first;
	json_t *o;

	make_rotated_log(f, 40);
	path = close_live_segment(f, &first);
	snprintf(name, sizeof(name), "audit-%020llu.jsonl", (unsigned long long)first);
	dst = path_in(f, name);
	assert_int_equal(rename(path, dst), 0);
	a = open_log(f, 0, SL_FSYNC_NONE);
	append_n(a, 0, 2);
	sl_audit_close(a);
	o = first_record(f);
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "continue");
	assert_string_equal(json_string_value(json_object_get(o, "prev_segment")), name);
	json_decref(o);
	/* the plain segment was compressed meanwhile */
	assert_int_equal(access(dst, F_OK), -1);
	strcat(name, ".zst");
	free(dst);
	dst = path_in(f, name);
	assert_int_equal(access(dst, F_OK), 0);
	assert_int_equal(verify_dir(f, &res), 0);
	free(dst);
	free(path);
}

/* stopped between the .gz rename and the unlink: both exist */
static void test_resume_plain_and_gz(void **state)
{
	struct fixture *f = *state;
	struct sl_verify_result res;
	char names[64][64], *gz, *plain, *buf;
	struct sl_audit *a;
	size_t len, n;

	make_rotated_log(f, 60);
	list_dir(f, names, 64);
	gz = path_in(f, names[0]);
	plain = strndup(gz, strlen(gz) - 4);
	buf = slurp(gz, &len);
	spit(plain, buf, len, false);
	/* verify reads the .gz only */
	assert_int_equal(verify_dir(f, &res), 0);
	n = res.segments;
	/* a start-up finishes the job */
	a = open_log(f, 0, SL_FSYNC_NONE);
	sl_audit_close(a);
	assert_int_equal(access(plain, F_OK), -1);
	assert_int_equal(access(gz, F_OK), 0);
	assert_int_equal(verify_dir(f, &res), 0);
	assert_int_equal(res.segments, n);

	/* a plain file that differs from its .gz is never removed */
	buf[10] ^= 1;
	spit(plain, buf, len, false);
	a = open_log(f, 0, SL_FSYNC_NONE);
	sl_audit_close(a);
	assert_int_equal(access(plain, F_OK), 0);
	assert_int_equal(access(gz, F_OK), 0);
	free(buf);
	free(plain);
	free(gz);
}

/* ---- tampering ---- */

struct edit {
	char *path;
	char *buf;
	char **lines;
	size_t n;
	bool gz;
};

static void edit_open(const struct fixture *f, const char *name, struct edit *e)
{
	size_t len;

	e->path = path_in(f, name);
	e->gz = strstr(name, ".gz") != NULL || strstr(name, ".zst") != NULL;
	e->buf = slurp(e->path, &len);
	e->n = split_lines(e->buf, &e->lines);
}

static void edit_save(struct edit *e)
{
	size_t len;
	char *out = join_lines(e->lines, e->n, &len);

	spit(e->path, out, len, e->gz);
	free(out);
	free(e->lines);
	free(e->buf);
	free(e->path);
}

static uint64_t seq_of(const char *line)
{
	return strtoull(line + strlen("{\"seq\":"), NULL, 10);
}

static void test_tamper_delete_line(void **state)
{
	struct fixture *f = *state;
	struct edit e;
	uint64_t seq;

	make_rotated_log(f, 100);
	edit_open(f, "audit.jsonl", &e);
	assert_true(e.n >= 8);
	seq = seq_of(e.lines[5]);
	memmove(&e.lines[4], &e.lines[5], (e.n - 5) * sizeof(char *));
	e.n--;
	edit_save(&e);
	expect_problem(f, SL_VERIFY_MISSING, "audit.jsonl", 5, seq);
}

static void test_tamper_swap_lines(void **state)
{
	struct fixture *f = *state;
	struct edit e;
	uint64_t seq;
	char *t;

	make_rotated_log(f, 100);
	edit_open(f, "audit.jsonl", &e);
	seq = seq_of(e.lines[5]);
	t = e.lines[4];
	e.lines[4] = e.lines[5];
	e.lines[5] = t;
	edit_save(&e);
	expect_problem(f, SL_VERIFY_REORDERED, "audit.jsonl", 5, seq);
}

static void test_tamper_duplicate_line(void **state)
{
	struct fixture *f = *state;
	struct edit e;
	uint64_t seq;

	make_rotated_log(f, 100);
	edit_open(f, "audit.jsonl", &e);
	seq = seq_of(e.lines[3]);
	e.lines[4] = e.lines[3];
	edit_save(&e);
	expect_problem(f, SL_VERIFY_REORDERED, "audit.jsonl", 5, seq);
}

static void test_tamper_edit_byte(void **state)
{
	struct fixture *f = *state;
	struct edit e;
	char *p;

	make_rotated_log(f, 100);
	edit_open(f, "audit.jsonl", &e);
	p = strstr(e.lines[6], "payload");
	assert_non_null(p);
	p[0] = 'P';
	edit_save(&e);
	expect_problem(f, SL_VERIFY_ALTERED, "audit.jsonl", 7, 0);
}

static void test_tamper_edit_seq(void **state)
{
	struct fixture *f = *state;
	struct edit e;
	char *p;

	make_rotated_log(f, 100);
	edit_open(f, "audit.jsonl", &e);
	/* {"seq":NN, -> change the last digit */
	p = strchr(e.lines[6], ',') - 1;
	*p = *p == '9' ? '0' : (char)(*p + 1);
	edit_save(&e);
	expect_problem(f, SL_VERIFY_ALTERED, "audit.jsonl", 7, 0);
}

static void test_tamper_edit_and_rehash(void **state)
{
	struct fixture *f = *state;
	uint8_t prev[32];
	struct edit e;
	uint64_t seq;
	char *p;

	make_rotated_log(f, 100);
	edit_open(f, "audit.jsonl", &e);
	p = strstr(e.lines[6], "payload");
	p[0] = 'P';
	unhex32(line_hash(e.lines[5]), prev);
	rehash(e.lines[6], prev);
	seq = seq_of(e.lines[7]);
	edit_save(&e);
	/* line 7 verifies on its own; line 8 no longer chains */
	expect_problem(f, SL_VERIFY_CHAIN, "audit.jsonl", 8, seq);
}

static void test_tamper_truncate_mid_line(void **state)
{
	struct fixture *f = *state;
	char *path = path_in(f, "audit.jsonl");
	struct stat st;
	struct edit e;
	size_t nlines;
	uint64_t seq;

	make_rotated_log(f, 100);
	edit_open(f, "audit.jsonl", &e);
	seq = seq_of(e.lines[e.n - 1]);
	nlines = e.n;
	edit_save(&e);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 30), 0);
	expect_problem(f, SL_VERIFY_TRUNCATED, "audit.jsonl", nlines, seq);
	free(path);
}

static void test_tamper_delete_segment_end(void **state)
{
	struct fixture *f = *state;
	char names[64][64];
	struct edit e;
	uint64_t seq;
	size_t n;

	make_rotated_log(f, 100);
	n = list_dir(f, names, 64);
	/* the newest closed segment */
	edit_open(f, names[n - 2], &e);
	assert_non_null(strstr(e.lines[e.n - 1], "\"segment_end\""));
	seq = seq_of(e.lines[e.n - 1]);
	e.n--;
	edit_save(&e);
	expect_problem(f, SL_VERIFY_TRUNCATED, names[n - 2], e.n + 1, seq);
}

static void test_tamper_delete_segment(void **state)
{
	struct fixture *f = *state;
	char names[64][64];
	char *p;
	size_t n;

	make_rotated_log(f, 100);
	n = list_dir(f, names, 64);
	assert_true(n >= 4);
	p = path_in(f, names[1]);
	assert_int_equal(unlink(p), 0);
	free(p);
	expect_problem(f, SL_VERIFY_MISSING, names[2], 1, strtoull(names[2] + 6, NULL, 10));
}

static void test_tamper_malformed(void **state)
{
	struct fixture *f = *state;
	struct edit e;
	char junk[] = "{\"seq\":\"hello\"}";

	make_rotated_log(f, 100);
	edit_open(f, "audit.jsonl", &e);
	e.lines[2] = junk;
	edit_save(&e);
	expect_problem(f, SL_VERIFY_MALFORMED, "audit.jsonl", 3, 0);
}

/* rewrite a file with one byte changed at offset from the end (or start) */
static void flip_byte(const char *path, long off)
{
	int fd = open(path, O_RDWR);
	struct stat st;
	unsigned char c;
	off_t at;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	at = off < 0 ? st.st_size + off : off;
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= 0x55;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

static void test_tamper_gz_truncated(void **state)
{
	struct fixture *f = *state;
	struct sl_verify_result res;
	char names[64][64], *p;
	struct stat st;

	make_rotated_log(f, 100);
	list_dir(f, names, 64);
	p = path_in(f, names[1]);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(truncate(p, st.st_size - 20), 0);
	assert_int_equal(verify_dir(f, &res), 1);
	assert_int_equal(res.status, SL_VERIFY_TRUNCATED);
	assert_string_equal(res.file, p);
	assert_non_null(strstr(res.detail, "compressed data ends early"));
	free(p);
}

static void test_tamper_gz_corrupt(void **state)
{
	struct fixture *f = *state;
	struct sl_verify_result res;
	char names[64][64], *p;

	make_rotated_log(f, 100);
	list_dir(f, names, 64);
	/* the XXH64 checksum at the end of the zstd frame */
	p = path_in(f, names[1]);
	flip_byte(p, -2);
	assert_int_equal(verify_dir(f, &res), 1);
	assert_int_equal(res.status, SL_VERIFY_IO);
	assert_string_equal(res.file, p);
	assert_non_null(strstr(res.detail, "corrupt compressed data"));
	free(p);

	/* a byte in the middle of the compressed data */
	p = path_in(f, names[0]);
	flip_byte(p, 200);
	assert_int_equal(verify_dir(f, &res), 1);
	assert_int_not_equal(res.status, SL_VERIFY_OK);
	assert_string_equal(res.file, p);
	free(p);
}

static void test_gz_not_gzip(void **state)
{
	struct fixture *f = *state;
	struct sl_verify_result res;
	char names[64][64], *p, *buf;
	size_t len;

	make_rotated_log(f, 60);
	list_dir(f, names, 64);
	p = path_in(f, names[0]);
	buf = slurp(p, &len);
	spit(p, buf, len, false);
	assert_int_equal(verify_dir(f, &res), 1);
	assert_int_equal(res.status, SL_VERIFY_MALFORMED);
	assert_string_equal(res.file, p);
	free(buf);
	free(p);
}

/*
 * Segments of older versions are .gz: a log whose first closed segments are
 * gzip and the later ones zstd verifies, resumes and rotates on; the .gz
 * files are kept as they are.
 */
static void test_old_gz_segments(void **state)
{
	struct fixture *f = *state;
	char names[64][64], *zst, *gzp, *buf;
	struct sl_verify_result res;
	struct sl_audit *a;
	size_t len, n;

	make_rotated_log(f, 80);
	n = list_dir(f, names, 64);
	assert_true(n >= 3);
	for (size_t i = 0; i < 2; i++) {
		zst = path_in(f, names[i]);
		buf = slurp(zst, &len);
		gzp = strndup(zst, strlen(zst) - 4);
		gzp = realloc(gzp, strlen(gzp) + 4);
		strcat(gzp, ".gz");
		spit(gzp, buf, len, true);
		assert_int_equal(unlink(zst), 0);
		free(buf);
		free(zst);
		free(gzp);
	}
	assert_int_equal(verify_dir(f, &res), 0);
	assert_int_equal(res.segments, n);
	a = open_log(f, 300, SL_FSYNC_NONE);
	append_n(a, 0, 30);
	sl_audit_close(a);
	assert_int_equal(verify_dir(f, &res), 0);
	assert_true(res.segments > n);
	n = list_dir(f, names, 64);
	assert_true(has_suffix(names[0], ".jsonl.gz"));
	assert_true(has_suffix(names[1], ".jsonl.gz"));
	assert_true(has_suffix(names[n - 2], ".jsonl.zst"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_chain_and_format),
	    T(test_append_rejects),
	    T(test_open_errors),
	    T(test_failed_write_leaves_nothing),
	    T(test_rotation_compression),
	    T(test_verify_any_order),
	    T(test_verify_errors),
	    T(test_resume),
	    T(test_resume_damaged_tail),
	    T(test_resume_closed_not_renamed),
	    T(test_resume_after_rename),
	    T(test_resume_plain_and_gz),
	    T(test_tamper_delete_line),
	    T(test_tamper_swap_lines),
	    T(test_tamper_duplicate_line),
	    T(test_tamper_edit_byte),
	    T(test_tamper_edit_seq),
	    T(test_tamper_edit_and_rehash),
	    T(test_tamper_truncate_mid_line),
	    T(test_tamper_delete_segment_end),
	    T(test_tamper_delete_segment),
	    T(test_tamper_malformed),
	    T(test_tamper_gz_truncated),
	    T(test_tamper_gz_corrupt),
	    T(test_gz_not_gzip),
	    T(test_old_gz_segments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
