// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The audit log when it cannot be written (user/lib/audit.h): records wait in
 * the buffer with their place in the chain, the file never keeps half a line,
 * rotation and compression survive the failure, records that do not fit are
 * counted and stated by a gap record, verify reports it. The writer's system
 * calls go through a seam (struct sl_audit_io) that fails them on demand:
 * short writes, ENOSPC, EIO, failed fdatasync, rename, create, truncate.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "audit.h"
#include "audit_priv.h"

struct fixture {
	char dir[64];
};

/* ---- the failing system calls ---- */

static struct {
	int write_err;	  /* fail writes with this errno */
	size_t partial;	  /* before failing: one short write of this many bytes */
	size_t writes_ok; /* let this many writes through before failing */
	int fdatasync_err;
	int ftruncate_err; /* once */
	int rename_err;
	int create_err;	  /* openat of audit.jsonl */
	int tmp_err;	  /* openat of a compression's .tmp */
	bool corrupt_zst; /* flip a byte of a compression's .zst.tmp before its fsync */
	unsigned int corrupted;
	unsigned int short_ok; /* let writes through in pieces of this many bytes */
	unsigned int writes, failed_writes;
} fk;

static ssize_t fk_write(int fd, const void *buf, size_t len)
{
	fk.writes++;
	if (fk.write_err && !fk.writes_ok) {
		if (fk.partial) {
			size_t n = fk.partial < len ? fk.partial : len - 1;

			fk.partial = 0;
			return write(fd, buf, n);
		}
		fk.failed_writes++;
		errno = fk.write_err;
		return -1;
	}
	if (fk.writes_ok)
		fk.writes_ok--;
	if (fk.short_ok && len > fk.short_ok)
		len = fk.short_ok;
	return write(fd, buf, len);
}

static int fk_fdatasync(int fd)
{
	if (fk.fdatasync_err) {
		errno = fk.fdatasync_err;
		return -1;
	}
	return fdatasync(fd);
}

static int fk_fsync(int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (fk.corrupt_zst && n > 8 && !memcmp(path + n - 8, ".zst.tmp", 8)) {
		struct stat st;
		char c;

		/* what the disk gave back is not what was written: one bit, mid-file
		 * (the compression thread: no cmocka assertion here) */
		int rw;

		path[n] = '\0';
		rw = open(path, O_RDWR | O_CLOEXEC);
		if (rw < 0 || fstat(rw, &st) || pread(rw, &c, 1, st.st_size / 2) != 1)
			abort();
		c ^= 0x10;
		if (pwrite(rw, &c, 1, st.st_size / 2) != 1)
			abort();
		close(rw);
		fk.corrupted++;
	}
	return fsync(fd);
}

static int fk_ftruncate(int fd, off_t len)
{
	if (fk.ftruncate_err) {
		errno = fk.ftruncate_err;
		fk.ftruncate_err = 0;
		return -1;
	}
	return ftruncate(fd, len);
}

static int fk_openat(int dirfd, const char *name, int flags, mode_t mode)
{
	size_t n = strlen(name);

	if (fk.create_err && !strcmp(name, "audit.jsonl")) {
		errno = fk.create_err;
		return -1;
	}
	if (fk.tmp_err && n > 4 && !strcmp(name + n - 4, ".tmp")) {
		errno = fk.tmp_err;
		return -1;
	}
	return openat(dirfd, name, flags, mode);
}

static int fk_renameat2(int od, const char *on, int nd, const char *nn, unsigned int flags)
{
	if (fk.rename_err) {
		errno = fk.rename_err;
		return -1;
	}
	return renameat2(od, on, nd, nn, flags);
}

static const struct sl_audit_io fk_io = {
    .write = fk_write,
    .fdatasync = fk_fdatasync,
    .fsync = fk_fsync,
    .ftruncate = fk_ftruncate,
    .openat = fk_openat,
    .renameat2 = fk_renameat2,
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
	snprintf(f->dir, sizeof(f->dir), "/tmp/sl-test-auditfail-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	memset(&fk, 0, sizeof(fk));
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

static struct sl_audit *open_log(const struct fixture *f, uint64_t rotate, enum sl_fsync_mode mode,
				 uint64_t buffer)
{
	struct sl_audit_opts o = {
	    .dir = f->dir,
	    .rotate_bytes = rotate,
	    .fsync_mode = mode,
	    .buffer_bytes = buffer,
	};
	struct sl_audit *a = NULL;

	assert_int_equal(sl_audit_open(&o, &a), 0);
	sl_audit_set_io(a, &fk_io);
	return a;
}

/* a record of `type` in `session` (NULL: none) with `pad` bytes of payload */
static json_t *rec(const char *type, const char *session, int i, size_t pad)
{
	char *data = malloc(pad + 1);
	json_t *r;

	memset(data, 'p', pad);
	data[pad] = '\0';
	r = json_pack("{s:s, s:s, s:s?, s:i, s:s}", "type", type, "time",
		      i % 2 ? "2026-01-01T00:00:02.000000000Z" : "2026-01-01T00:00:01.000000000Z",
		      "session", session, "i", i, "data", data);
	free(data);
	assert_non_null(r);
	return r;
}

static int append(struct sl_audit *a, const char *type, const char *session, int i, size_t pad,
		  uint64_t *seq)
{
	json_t *r = rec(type, session, i, pad);
	char *line = NULL;
	int err = sl_audit_append(a, r, &line, seq);

	/* a record in the chain comes back as its line; a dropped one does not */
	if (!err)
		assert_non_null(line);
	else
		assert_null(line);
	free(line);
	json_decref(r);
	return err;
}

static off_t file_size(const struct fixture *f, const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	if (stat(path, &st))
		return -1;
	return st.st_size;
}

/* every record of the directory's segments, in order (plain files only) */
static json_t *read_records(const struct fixture *f, const char *name)
{
	char path[128], *buf = NULL;
	json_t *arr = json_array();
	size_t cap = 0;
	ssize_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while ((n = getline(&buf, &cap, fp)) > 0) {
		json_error_t e;
		json_t *o;

		/* never half a line */
		assert_int_equal(buf[n - 1], '\n');
		o = json_loads(buf, 0, &e);
		assert_non_null(o);
		json_array_append_new(arr, o);
	}
	free(buf);
	fclose(fp);
	return arr;
}

static const char *type_of(json_t *arr, size_t i)
{
	return json_string_value(json_object_get(json_array_get(arr, i), "type"));
}

static json_int_t int_of(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static int verify(const struct fixture *f, struct sl_verify_result *res)
{
	const char *p[] = {f->dir};
	int ret = sl_audit_verify(p, 1, res);

	if (ret)
		print_message("verify: %d %s at %s:%llu: %s\n", ret,
			      sl_verify_status_name(res->status), res->file,
			      (unsigned long long)res->line, res->detail);
	return ret;
}

/* ---- tests ---- */

/*
 * ENOSPC after a short write: the partial line is cut off, the record and
 * every record after it wait with their seq; once the disk has room they are
 * written in order, whole, with an unbroken chain and no gap.
 */
static void test_buffered_in_order(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 0, SL_FSYNC_NONE, 0);
	struct sl_verify_result res;
	struct sl_audit_status st;
	off_t before;
	json_t *recs;
	uint64_t seq;

	for (int i = 0; i < 5; i++)
		assert_int_equal(append(a, "test", "s1", i, 10, NULL), 0);
	before = file_size(f, "audit.jsonl");
	fk.write_err = ENOSPC;
	fk.partial = 37;
	for (int i = 5; i < 25; i++) {
		assert_int_equal(append(a, "test", "s1", i, 10, &seq), 0);
		/* 1 segment_start + 5, then the first buffered one and its audit_failure */
		assert_int_equal(seq, i == 5 ? 7 : (uint64_t)i + 3);
	}
	/* the partial write was cut off: nothing of the failed records is in the file */
	assert_int_equal(file_size(f, "audit.jsonl"), before);
	sl_audit_get_status(a, &st);
	assert_true(st.failing);
	assert_int_equal(st.error, -ENOSPC);
	assert_string_equal(st.operation, "write");
	assert_int_equal(st.written_seq, 6);
	assert_int_equal(st.last_seq, 27);
	assert_int_equal(st.buffered_records, 21);
	assert_int_equal(st.dropped, 0);
	/* the timer's retries fail too, and change nothing on disk */
	assert_int_equal(sl_audit_retry(a), -ENOSPC);
	assert_int_equal(sl_audit_retry(a), -ENOSPC);
	sl_audit_get_status(a, &st);
	assert_int_equal(st.retries, 2);
	assert_int_equal(file_size(f, "audit.jsonl"), before);

	fk.write_err = 0;
	assert_int_equal(sl_audit_retry(a), 0);
	sl_audit_get_status(a, &st);
	assert_false(st.failing);
	assert_int_equal(st.buffered_records, 0);
	assert_int_equal(st.written_seq, 28);
	assert_int_equal(append(a, "test", "s1", 25, 10, &seq), 0);
	assert_int_equal(seq, 29);
	sl_audit_close(a);

	recs = read_records(f, "audit.jsonl");
	assert_int_equal(json_array_size(recs), 29);
	for (size_t i = 0; i < 29; i++)
		assert_int_equal(int_of(json_array_get(recs, i), "seq"), (json_int_t)i + 1);
	/* the caller's records in the order they were appended */
	for (int i = 0, k = 0; i < 29; i++) {
		json_t *r = json_array_get(recs, (size_t)i);

		if (!strcmp(type_of(recs, (size_t)i), "test"))
			assert_int_equal(int_of(r, "i"), k++);
	}
	assert_string_equal(type_of(recs, 6), "test");
	assert_string_equal(type_of(recs, 7), "audit_failure");
	assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 7), "errno")),
			    "ENOSPC");
	assert_int_equal(int_of(json_array_get(recs, 7), "written_seq"), 6);
	assert_string_equal(type_of(recs, 27), "audit_resumed");
	assert_int_equal(int_of(json_array_get(recs, 27), "records_buffered"), 20);
	assert_int_equal(int_of(json_array_get(recs, 27), "dropped"), 0);
	assert_int_equal(int_of(json_array_get(recs, 27), "retries"), 2);
	json_decref(recs);

	assert_int_equal(verify(f, &res), 0);
	assert_int_equal(res.records, 29);
	assert_int_equal(res.gaps, 0);
	assert_int_equal(res.lost_records, 0);
	assert_int_equal(res.audit_failures, 1);
	assert_int_equal(json_array_size(res.notes), 2);
	sl_verify_result_release(&res);
}

/* short writes that go on succeeding make one whole line, not a failure */
static void test_short_writes_complete(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 0, SL_FSYNC_NONE, 0);
	struct sl_verify_result res;
	struct sl_audit_status st;

	fk.short_ok = 7;
	for (int i = 0; i < 10; i++)
		assert_int_equal(append(a, "test", NULL, i, 100, NULL), 0);
	sl_audit_get_status(a, &st);
	assert_false(st.failing);
	assert_int_equal(st.written_seq, 11);
	sl_audit_close(a);
	assert_int_equal(verify(f, &res), 0);
	assert_int_equal(res.records, 11);
	assert_null(res.notes);
}

/*
 * EIO, and a failed fdatasync in mode always: the line that reached the page
 * cache is cut off again (it is not known to be on disk) and written once
 * later, never twice.
 */
static void test_eio_and_fdatasync(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 0, SL_FSYNC_ALWAYS, 0);
	struct sl_verify_result res;
	struct sl_audit_status st;
	off_t before;
	json_t *recs;

	assert_int_equal(append(a, "test", NULL, 0, 10, NULL), 0);
	before = file_size(f, "audit.jsonl");
	fk.fdatasync_err = EIO;
	assert_int_equal(append(a, "test", NULL, 1, 10, NULL), 0);
	assert_int_equal(file_size(f, "audit.jsonl"), before);
	sl_audit_get_status(a, &st);
	assert_true(st.failing);
	assert_int_equal(st.error, -EIO);
	assert_string_equal(st.operation, "fdatasync");
	fk.fdatasync_err = 0;
	fk.write_err = EIO;
	assert_int_equal(append(a, "test", NULL, 2, 10, NULL), 0);
	assert_int_equal(sl_audit_retry(a), -EIO);
	sl_audit_get_status(a, &st);
	assert_int_equal(st.last_error, -EIO);
	fk.write_err = 0;
	assert_int_equal(sl_audit_retry(a), 0);
	sl_audit_close(a);

	recs = read_records(f, "audit.jsonl");
	/* segment_start, 0, 1, audit_failure, 2, audit_resumed */
	assert_int_equal(json_array_size(recs), 6);
	assert_string_equal(type_of(recs, 3), "audit_failure");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(recs, 3), "operation")), "fdatasync");
	assert_int_equal(int_of(json_array_get(recs, 4), "i"), 2);
	assert_string_equal(type_of(recs, 5), "audit_resumed");
	json_decref(recs);
	assert_int_equal(verify(f, &res), 0);
	sl_verify_result_release(&res);
}

/*
 * The partial line cannot even be cut off (ftruncate fails): the next
 * attempt cuts it first; the file never ends up with half a record.
 */
static void test_truncate_fails_then_cut(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 0, SL_FSYNC_NONE, 0);
	struct sl_verify_result res;
	off_t before;

	assert_int_equal(append(a, "test", NULL, 0, 10, NULL), 0);
	before = file_size(f, "audit.jsonl");
	fk.write_err = ENOSPC;
	fk.partial = 20;
	fk.ftruncate_err = EIO;
	assert_int_equal(append(a, "test", NULL, 1, 10, NULL), 0);
	/* the partial line is there for now: the cut failed */
	assert_int_equal(file_size(f, "audit.jsonl"), before + 20);
	assert_int_equal(sl_audit_retry(a), -ENOSPC);
	assert_int_equal(file_size(f, "audit.jsonl"), before);
	fk.write_err = 0;
	assert_int_equal(sl_audit_retry(a), 0);
	sl_audit_close(a);
	assert_int_equal(verify(f, &res), 0);
	assert_int_equal(res.records, 5); /* start, 0, 1, audit_failure, audit_resumed */
	sl_verify_result_release(&res);
}

/*
 * The buffer fills: records that do not fit are dropped before they get a
 * seq and counted by type and session; the gap record, chained where they
 * would have been, says exactly what was lost; verify reports it.
 */
static void test_full_buffer_gap(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 0, SL_FSYNC_NONE, SL_AUDIT_BUFFER_MIN);
	struct sl_verify_result res;
	struct sl_audit_status st;
	json_t *recs, *gap = NULL, *note;
	uint64_t last_in = 0, seq;
	int i, kept = 0, dropped = 0, dropped_open = 0, dropped_exec_s2 = 0;
	bool high_seen = false;
	size_t k;

	assert_int_equal(append(a, "test", "s1", 0, 100, NULL), 0);
	fk.write_err = ENOSPC;
	for (i = 1; i < 200; i++) {
		const char *type = i % 3 ? "open" : "exec";
		const char *session = i % 2 ? "s1" : "s2";
		int err = append(a, type, session, i, 4000, &seq);

		sl_audit_get_status(a, &st);
		high_seen = high_seen || st.buffer_high;
		if (!err) {
			/* nothing gets in once something was dropped: no hole in the order */
			assert_int_equal(dropped, 0);
			kept++;
			last_in = seq;
			continue;
		}
		assert_int_equal(err, -ENOBUFS);
		assert_true(high_seen);
		dropped++;
		dropped_open += !strcmp(type, "open");
		dropped_exec_s2 += !strcmp(type, "exec") && !strcmp(session, "s2");
	}
	assert_true(dropped > 100);
	sl_audit_get_status(a, &st);
	assert_int_equal(st.dropped, (uint64_t)dropped);
	assert_int_equal(st.dropped_pending, (uint64_t)dropped);
	assert_true(st.buffered_bytes <= SL_AUDIT_BUFFER_MIN + 4096);
	/* the chain did not move for the dropped records */
	assert_int_equal(st.last_seq, last_in);

	fk.write_err = 0;
	assert_int_equal(sl_audit_retry(a), 0);
	assert_int_equal(append(a, "test", "s1", 999, 10, NULL), 0);
	sl_audit_get_status(a, &st);
	assert_false(st.failing);
	assert_int_equal(st.dropped_pending, 0);
	sl_audit_close(a);

	recs = read_records(f, "audit.jsonl");
	for (k = 0; k < json_array_size(recs); k++) {
		assert_int_equal(int_of(json_array_get(recs, k), "seq"), (json_int_t)k + 1);
		if (!strcmp(type_of(recs, k), "gap")) {
			assert_null(gap);
			gap = json_array_get(recs, k);
			/* right after the last record that got in */
			assert_int_equal(int_of(gap, "seq"), (json_int_t)last_in + 1);
			assert_string_equal(type_of(recs, k + 1), "audit_resumed");
			assert_string_equal(type_of(recs, k + 2), "test");
		}
	}
	assert_non_null(gap);
	assert_int_equal(int_of(gap, "records"), dropped);
	assert_int_equal(int_of(gap, "after_seq"), (json_int_t)last_in);
	assert_int_equal(int_of(json_object_get(gap, "types"), "open"), dropped_open);
	assert_int_equal(int_of(json_object_get(gap, "types"), "exec"), dropped - dropped_open);
	assert_int_equal(int_of(json_object_get(json_object_get(gap, "sessions"), "s2"), "exec"),
			 dropped_exec_s2);
	assert_string_equal(json_string_value(json_object_get(gap, "reason")), "buffer_full");
	assert_string_equal(json_string_value(json_object_get(gap, "errno")), "ENOSPC");
	assert_string_equal(json_string_value(json_object_get(gap, "first_time")),
			    "2026-01-01T00:00:01.000000000Z");
	assert_string_equal(json_string_value(json_object_get(gap, "last_time")),
			    "2026-01-01T00:00:02.000000000Z");
	assert_int_equal(int_of(gap, "buffer_limit"), (json_int_t)SL_AUDIT_BUFFER_MIN);
	/* 1 + kept caller records, segment_start, audit_failure, gap, resumed, the last one */
	assert_int_equal(json_array_size(recs), (size_t)(1 + kept + 5));
	json_decref(recs);

	/* verify: the chain is intact and says what was lost */
	assert_int_equal(verify(f, &res), 0);
	assert_int_equal(res.gaps, 1);
	assert_int_equal(res.lost_records, (uint64_t)dropped);
	assert_int_equal(res.audit_failures, 1);
	json_array_foreach (res.notes, k, note) {
		if (strcmp(json_string_value(json_object_get(note, "type")), "gap"))
			continue;
		assert_int_equal(int_of(note, "records"), dropped);
		assert_int_equal(int_of(note, "line"), (json_int_t)last_in + 1);
		assert_non_null(
		    strstr(json_string_value(json_object_get(note, "file")), "audit.jsonl"));
	}
	sl_verify_result_release(&res);
}

/*
 * A write that works again for a while: records drain; a record that fits
 * while the buffer is still over half full is dropped too (one loss window);
 * once it is below half a record gets in and the gap goes right before it;
 * a second loss gets its own gap.
 */
static void test_gap_before_next_record(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 0, SL_FSYNC_NONE, SL_AUDIT_BUFFER_MIN);
	struct sl_verify_result res;
	json_t *recs;
	int i, err, drops = 0;
	size_t k, gaps = 0;

	fk.write_err = ENOSPC;
	for (i = 0; drops < 3; i++) {
		err = append(a, "open", "s1", i, 4000, NULL);
		drops += err == -ENOBUFS;
	}
	/* ten lines get through, then it fails again: still over half full */
	fk.writes_ok = 10;
	assert_int_equal(sl_audit_retry(a), -ENOSPC);
	assert_int_equal(append(a, "open", "s1", i++, 4000, NULL), -ENOBUFS);
	drops++;
	/* thirty more: below half */
	fk.writes_ok = 30;
	assert_int_equal(sl_audit_retry(a), -ENOSPC);
	assert_int_equal(append(a, "open", "s1", i++, 4000, NULL), 0);
	while (append(a, "open", "s1", i, 4000, NULL) == 0)
		i++;
	fk.write_err = 0;
	assert_int_equal(sl_audit_retry(a), 0);
	sl_audit_close(a);
	recs = read_records(f, "audit.jsonl");
	for (k = 0; k < json_array_size(recs); k++) {
		if (strcmp(type_of(recs, k), "gap"))
			continue;
		gaps++;
		if (gaps == 1) {
			assert_int_equal(int_of(json_array_get(recs, k), "records"), 4);
			assert_string_equal(type_of(recs, k + 1), "open");
		} else {
			assert_int_equal(int_of(json_array_get(recs, k), "records"), 1);
		}
	}
	assert_int_equal(gaps, 2);
	json_decref(recs);
	assert_int_equal(verify(f, &res), 0);
	assert_int_equal(res.gaps, 2);
	assert_int_equal(res.lost_records, 5);
	assert_int_equal(res.audit_failures, 1); /* one period: the queue never emptied */
	sl_verify_result_release(&res);
}

/*
 * Rotation under failure: segment_end, the rename and the new segment wait
 * in the queue in their place; nothing is lost, every segment is closed
 * properly and compressed once it can be, the chain runs across them.
 */
static void test_rotation_under_failure(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 2000, SL_FSYNC_BATCH, 0);
	struct sl_verify_result res;
	struct sl_audit_status st;
	struct dirent **ents;
	int n, gz = 0, plain = 0;

	for (int i = 0; i < 10; i++)
		assert_int_equal(append(a, "test", NULL, i, 100, NULL), 0);
	/* writes fail, then renames, then creating audit.jsonl */
	fk.write_err = ENOSPC;
	for (int i = 10; i < 40; i++)
		assert_int_equal(append(a, "test", NULL, i, 100, NULL), 0);
	fk.write_err = 0;
	fk.rename_err = EIO;
	assert_int_equal(sl_audit_retry(a), -EIO);
	sl_audit_get_status(a, &st);
	assert_true(st.failing);
	assert_int_equal(st.last_error, -EIO);
	fk.rename_err = 0;
	fk.create_err = ENOSPC;
	assert_int_equal(sl_audit_retry(a), -ENOSPC);
	for (int i = 40; i < 50; i++)
		assert_int_equal(append(a, "test", NULL, i, 100, NULL), 0);
	fk.create_err = 0;
	assert_int_equal(sl_audit_retry(a), 0);
	for (int i = 50; i < 60; i++)
		assert_int_equal(append(a, "test", NULL, i, 100, NULL), 0);
	sl_audit_close(a);

	n = scandir(f->dir, &ents, NULL, alphasort);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(ents[i]->d_name);

		gz += l > 4 && !strcmp(ents[i]->d_name + l - 4, ".zst");
		plain += !strncmp(ents[i]->d_name, "audit-", 6) &&
			 !strcmp(ents[i]->d_name + l - 6, ".jsonl");
		assert_null(strstr(ents[i]->d_name, ".tmp"));
		assert_null(strstr(ents[i]->d_name, "damaged"));
		free(ents[i]);
	}
	free(ents);
	assert_true(gz >= 3);
	assert_int_equal(plain, 0);
	assert_int_equal(verify(f, &res), 0);
	/* 60 records, a segment_start and segment_end per segment, failure, resumed */
	assert_int_equal(res.records, 60 + 2 * (uint64_t)(gz + 1) - 1 + 2);
	assert_int_equal(res.segments, (uint64_t)gz + 1);
	assert_int_equal(res.gaps, 0);
	sl_verify_result_release(&res);
}

/*
 * Compression fails (no room for the .zst.tmp): the plain segment stays, no
 * .tmp is left, the failure is reported by the tick; it is compressed when
 * retried.
 */
static void test_compression_failure_keeps_segment(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 1000, SL_FSYNC_NONE, 0);
	struct sl_verify_result res;
	char name[64];
	int err = 0;

	fk.tmp_err = ENOSPC;
	for (int i = 0; i < 12; i++)
		assert_int_equal(append(a, "test", NULL, i, 100, NULL), 0);
	snprintf(name, sizeof(name), "audit-%020d.jsonl", 1);
	/* the worker reports the failure through the tick */
	for (int i = 0; i < 200 && !err; i++) {
		usleep(10000);
		err = sl_audit_tick(a);
	}
	assert_int_equal(err, -ENOSPC);
	assert_true(file_size(f, name) > 0);
	assert_int_equal(verify(f, &res), 0);
	sl_verify_result_release(&res);
	fk.tmp_err = 0;
	assert_int_equal(sl_audit_retry(a), 0);
	sl_audit_close(a); /* waits for the compressions */
	assert_int_equal(file_size(f, name), -1);
	snprintf(name, sizeof(name), "audit-%020d.jsonl.zst", 1);
	assert_true(file_size(f, name) > 0);
	assert_int_equal(verify(f, &res), 0);
	sl_verify_result_release(&res);
}

/*
 * A compressed segment that does not read back as the segment (one bit
 * flipped in the .zst before it is renamed in) is not kept: the plain
 * segment stays, the failure is reported, and the retry compresses it.
 */
static void test_compression_readback_refuses(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 20000, SL_FSYNC_NONE, 0);
	struct sl_verify_result res;
	char name[64];
	int err = 0;

	fk.corrupt_zst = true;
	/* varied records: a segment whose .zst is large enough to damage mid-frame */
	for (int i = 0; i < 200; i++)
		assert_int_equal(append(a, "test", NULL, i, 50 + (i * 37) % 300, NULL), 0);
	snprintf(name, sizeof(name), "audit-%020d.jsonl", 1);
	for (int i = 0; i < 200 && !err; i++) {
		usleep(10000);
		err = sl_audit_tick(a);
	}
	assert_int_equal(err, -EIO);
	assert_true(fk.corrupted > 0);
	assert_true(file_size(f, name) > 0);
	snprintf(name, sizeof(name), "audit-%020d.jsonl.zst", 1);
	assert_int_equal(file_size(f, name), -1);
	snprintf(name, sizeof(name), "audit-%020d.jsonl.zst.tmp", 1);
	assert_int_equal(file_size(f, name), -1);
	assert_int_equal(verify(f, &res), 0);
	sl_verify_result_release(&res);
	fk.corrupt_zst = false;
	assert_int_equal(sl_audit_retry(a), 0);
	sl_audit_close(a);
	snprintf(name, sizeof(name), "audit-%020d.jsonl", 1);
	assert_int_equal(file_size(f, name), -1);
	snprintf(name, sizeof(name), "audit-%020d.jsonl.zst", 1);
	assert_true(file_size(f, name) > 0);
	assert_int_equal(verify(f, &res), 0);
	sl_verify_result_release(&res);
}

/*
 * Closing while the log cannot be written: what waits is lost (drain says
 * how much); the file holds every record written before, whole, and the
 * next open continues the chain from the last record in the file.
 */
static void test_close_while_failing(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 0, SL_FSYNC_NONE, 0);
	struct sl_verify_result res;

	for (int i = 0; i < 3; i++)
		assert_int_equal(append(a, "test", NULL, i, 10, NULL), 0);
	fk.write_err = EIO;
	for (int i = 3; i < 6; i++)
		assert_int_equal(append(a, "test", NULL, i, 10, NULL), 0);
	assert_int_equal(sl_audit_drain(a, 120), 4); /* 3 + audit_failure */
	sl_audit_close(a);
	fk.write_err = 0;
	a = open_log(f, 0, SL_FSYNC_NONE, 0);
	assert_int_equal(sl_audit_last_seq(a), 4);
	assert_int_equal(append(a, "test", NULL, 6, 10, NULL), 0);
	sl_audit_close(a);
	assert_int_equal(verify(f, &res), 0);
	assert_int_equal(res.records, 5);
	sl_verify_result_release(&res);
}

/* the buffer's bound is clamped and can be changed on a running log */
static void test_buffer_limit(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_log(f, 0, SL_FSYNC_NONE, 0);
	struct sl_audit_status st;
	json_t *js;

	sl_audit_get_status(a, &st);
	assert_int_equal(st.buffer_limit, SL_AUDIT_BUFFER_DEFAULT);
	sl_audit_set_buffer_limit(a, 1);
	sl_audit_get_status(a, &st);
	assert_int_equal(st.buffer_limit, SL_AUDIT_BUFFER_MIN);
	sl_audit_set_buffer_limit(a, UINT64_MAX);
	sl_audit_get_status(a, &st);
	assert_int_equal(st.buffer_limit, SL_AUDIT_BUFFER_MAX);
	js = sl_audit_status_json(a);
	assert_string_equal(json_string_value(json_object_get(js, "state")), "writing");
	json_decref(js);
	fk.write_err = ENOSPC;
	assert_int_equal(append(a, "exec", NULL, 0, 10, NULL), 0);
	js = sl_audit_status_json(a);
	assert_string_equal(json_string_value(json_object_get(js, "state")), "failing");
	assert_string_equal(json_string_value(json_object_get(js, "errno")), "ENOSPC");
	assert_string_equal(json_string_value(json_object_get(js, "operation")), "write");
	assert_int_equal(int_of(js, "buffered_records"), 2);
	json_decref(js);
	fk.write_err = 0;
	sl_audit_close(a);
}

/* ---- batched writes (opts.batch) and the members fast path ---- */

static struct sl_audit *open_batch(const struct fixture *f, uint64_t rotate, uint64_t buffer)
{
	struct sl_audit_opts o = {
	    .dir = f->dir,
	    .rotate_bytes = rotate,
	    .fsync_mode = SL_FSYNC_NONE,
	    .buffer_bytes = buffer,
	    .batch = true,
	};
	struct sl_audit *a = NULL;

	assert_int_equal(sl_audit_open(&o, &a), 0);
	sl_audit_set_io(a, &fk_io);
	return a;
}

static int append_m(struct sl_audit *a, int i, size_t pad)
{
	struct sl_audit_meta m = {.type = "open", .session = "s1", .time = NULL};
	char buf[8192];
	int n;

	assert_true(pad < 4096);
	n = snprintf(buf, sizeof(buf),
		     "\"type\":\"open\",\"session\":\"s1\",\"i\":%d,\"pad\":\"%*s\"", i, (int)pad,
		     "");
	return sl_audit_append_members(a, buf, (size_t)n, &m, NULL, NULL, NULL);
}

/*
 * Records appended in batch mode wait until sl_audit_commit and go out in
 * one write(2); the chain continues across batches and across rotations
 * (with compression) and verifies.
 */
static void test_batch_chain_and_rotation(void **state)
{
	struct fixture *f = *state;
	struct sl_verify_result res;
	struct sl_audit *a = open_batch(f, 20000, 0);
	off_t before = file_size(f, "audit.jsonl");
	unsigned int w0;
	int i;

	w0 = fk.writes;
	for (i = 0; i < 50; i++)
		assert_int_equal(append_m(a, i, 100), 0);
	/* nothing written yet: one write for the 50 */
	assert_int_equal(file_size(f, "audit.jsonl"), before);
	assert_int_equal(fk.writes, w0);
	assert_int_equal(sl_audit_commit(a), 0);
	assert_int_equal(fk.writes, w0 + 1);
	assert_true(file_size(f, "audit.jsonl") > before);
	/* batches of varying size, across several rotations */
	for (; i < 2000; i++) {
		assert_int_equal(append_m(a, i, (size_t)(i * 7) % 300), 0);
		if (i % 37 == 0)
			assert_int_equal(sl_audit_commit(a), 0);
	}
	assert_int_equal(sl_audit_commit(a), 0);
	assert_true(sl_audit_writes(a) < 2000 / 10);
	sl_audit_close(a);
	assert_int_equal(verify(f, &res), 0);
	assert_true(res.segments >= 5);
	assert_int_equal(res.gaps, 0);
	/* 2000 records, the first segment_start, and segment_end + segment_start per rotation */
	assert_int_equal(res.records, 2000 + 1 + 2 * (res.segments - 1));
	sl_verify_result_release(&res);
}

/*
 * A write that fails part way through a batch (a short write, then ENOSPC):
 * the file is cut back to the last whole batch, nothing half-written stays,
 * the records wait in the buffer in order and are written when the disk has
 * room again; a buffer that fills meanwhile drops records, counted and
 * stated by a gap record; the chain verifies.
 */
static void test_batch_partial_write(void **state)
{
	struct fixture *f = *state;
	struct sl_verify_result res;
	struct sl_audit *a = open_batch(f, 0, SL_AUDIT_BUFFER_MIN);
	struct sl_audit_status st;
	off_t size;
	int i, err, drops = 0;

	for (i = 0; i < 10; i++)
		assert_int_equal(append_m(a, i, 50), 0);
	assert_int_equal(sl_audit_commit(a), 0);
	size = file_size(f, "audit.jsonl");
	/* half a batch gets out, then the disk is full */
	for (; i < 40; i++)
		assert_int_equal(append_m(a, i, 50), 0);
	fk.partial = 700;
	fk.write_err = ENOSPC;
	assert_int_equal(sl_audit_commit(a), -ENOSPC);
	assert_int_equal(file_size(f, "audit.jsonl"), size);
	sl_audit_get_status(a, &st);
	assert_true(st.failing);
	assert_true(st.buffered_records >= 30);
	/* records keep their place; once the buffer is full they are dropped, counted */
	for (; drops < 5; i++) {
		err = append_m(a, i, 3000);
		assert_true(err == 0 || err == -ENOBUFS);
		drops += err == -ENOBUFS;
	}
	assert_int_equal(file_size(f, "audit.jsonl"), size);
	sl_audit_get_status(a, &st);
	assert_int_equal(st.dropped, 5);
	/* room again */
	fk.write_err = 0;
	assert_int_equal(sl_audit_retry(a), 0);
	assert_int_equal(append_m(a, i, 10), 0);
	assert_int_equal(sl_audit_commit(a), 0);
	sl_audit_close(a);
	assert_int_equal(verify(f, &res), 0);
	assert_int_equal(res.gaps, 1);
	assert_int_equal(res.lost_records, 5);
	assert_int_equal(res.audit_failures, 1);
	sl_verify_result_release(&res);
}

/* the fast path refuses what is not members' text */
static void test_members_rejects(void **state)
{
	struct fixture *f = *state;
	struct sl_audit *a = open_batch(f, 0, 0);
	struct sl_audit_meta m = {.type = "x"};

	assert_int_equal(sl_audit_append_members(a, "", 0, &m, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(sl_audit_append_members(a, "{\"a\":1}", 7, &m, NULL, NULL, NULL), -EINVAL);
	sl_audit_close(a);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_batch_chain_and_rotation),
	    T(test_batch_partial_write),
	    T(test_members_rejects),
	    T(test_buffered_in_order),
	    T(test_short_writes_complete),
	    T(test_eio_and_fdatasync),
	    T(test_truncate_fails_then_cut),
	    T(test_full_buffer_gap),
	    T(test_gap_before_next_record),
	    T(test_rotation_under_failure),
	    T(test_compression_failure_keeps_segment),
	    T(test_compression_readback_refuses),
	    T(test_close_while_failing),
	    T(test_buffer_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
