// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Opening the audit log (audit_writer_priv.h): resume an existing log from its
 * last good record, or begin a new one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "audit.h"
#include "audit_priv.h"
#include "audit_writer_priv.h"
#include "log.h"
#include "util.h"

/* ---- opening: resume an existing log ---- */

struct last_rec {
	bool found;
	uint64_t seq;
	uint8_t hash[SL_AUDIT_HASH_LEN];
	bool is_end; /* a segment_end */
};

/* parse a complete line into seq/hash/type; 0 or -EINVAL with why */
static int parse_line(char *line, size_t len, struct last_rec *lr, char *why, size_t whylen)
{
	const char *cut_why;
	json_t *obj = NULL;
	size_t blen;
	int err;

	err = sl_audit_cut_hash(line, len, &blen, lr->hash, &cut_why);
	if (err) {
		snprintf(why, whylen, "%s", cut_why);
		return err;
	}
	err = sl_audit_parse_body(line, blen, &obj, &lr->seq, why, whylen);
	if (err)
		return err;
	lr->is_end = !strcmp(json_string_value(json_object_get(obj, "type")) ?: "", "segment_end");
	lr->found = true;
	json_decref(obj);
	return 0;
}

/* the last complete, well-formed record of a (plain or gz) file */
static int scan_last_good(int dirfd, const char *name, struct last_rec *out, uint64_t *first_seq)
{
	struct sl_lines *r = NULL;
	struct last_rec lr = {0};
	char why[256];
	char *line;
	size_t len;
	bool nl;
	int err;

	err = sl_lines_openat(dirfd, name, &r);
	if (err)
		return err;
	while ((err = sl_lines_next(r, &line, &len, &nl)) == 1) {
		struct last_rec cur = {0};

		if (nl && !parse_line(line, len, &cur, why, sizeof(why))) {
			if (first_seq && !lr.found)
				*first_seq = cur.seq;
			lr = cur;
		}
	}
	sl_lines_close(r);
	if (err < 0 && err != -EMSGSIZE)
		return err;
	*out = lr;
	return 0;
}

/* read [off, off+len) fully */
static int pread_all(int fd, char *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* the last line of a plain file (size > 0), without reading all of it */
static int read_last_line(int fd, uint64_t size, char **out, size_t *out_len, bool *nl)
{
	uint64_t end, start, pos;
	char c, chunk[4096];
	char *buf;
	int err;

	err = pread_all(fd, &c, 1, (off_t)(size - 1));
	if (err)
		return err;
	*nl = c == '\n';
	end = *nl ? size - 1 : size;
	start = 0;
	for (pos = end; pos > 0 && start == 0;) {
		size_t n = pos > sizeof(chunk) ? sizeof(chunk) : (size_t)pos;

		if (end - pos > SL_AUDIT_LINE_MAX)
			return -EMSGSIZE;
		pos -= n;
		err = pread_all(fd, chunk, n, (off_t)pos);
		if (err)
			return err;
		for (size_t i = n; i > 0; i--) {
			if (chunk[i - 1] == '\n') {
				start = pos + i;
				break;
			}
		}
	}
	buf = malloc(end - start + 1);
	if (!buf)
		return -ENOMEM;
	err = pread_all(fd, buf, end - start, (off_t)start);
	if (err) {
		free(buf);
		return err;
	}
	buf[end - start] = '\0';
	*out = buf;
	*out_len = end - start;
	return 0;
}

/*
 * Clean up after an earlier run: remove stale .tmp files, queue the plain
 * closed segments for compression (when its .zst or .gz exists too, an earlier run
 * stopped between rename and unlink: the worker removes the plain file once
 * the two compare equal). Find the newest closed segment.
 */
static int scan_dir(struct sl_audit *a, char *latest, size_t latest_len)
{
	char **todo = NULL;
	size_t ntodo = 0;
	uint64_t best = 0;
	struct dirent *de;
	bool have = false;
	DIR *d;
	int fd, err = 0;

	fd = openat(a->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		err = -errno;
		close(fd);
		return err;
	}
	latest[0] = '\0';
	while ((de = readdir(d))) {
		uint64_t seq;

		if (!strncmp(de->d_name, "audit-", 6) && sl_aw_has_suffix(de->d_name, TMP_SUFFIX)) {
			unlinkat(a->dirfd, de->d_name, 0);
			continue;
		}
		if (sl_audit_name_seq(de->d_name, &seq) || !sl_audit_is_segment_name(de->d_name))
			continue;
		if (sl_aw_is_closed_plain_name(de->d_name)) {
			char **v = realloc(todo, (ntodo + 1) * sizeof(*todo));

			if (!v || !(v[ntodo] = strdup(de->d_name))) {
				todo = v ? v : todo;
				err = -ENOMEM;
				break;
			}
			todo = v;
			ntodo++;
		}
		if (!have || seq > best) {
			best = seq;
			have = true;
			snprintf(latest, latest_len, "%s", de->d_name);
		}
	}
	closedir(d);
	/* only now: the worker's .tmp files must not meet the clean-up above */
	for (size_t i = 0; i < ntodo; i++) {
		if (!err)
			err = sl_aw_queue_compress(a, todo[i], false);
		free(todo[i]);
	}
	free(todo);
	return err;
}

/* chain state from the newest closed segment (or a brand-new log) */
static int chain_from_closed(struct sl_audit *a, const char *latest)
{
	struct last_rec lr;
	int err;

	a->seq = 0;
	memset(a->hash, 0, sizeof(a->hash));
	if (!latest[0])
		return 0;
	err = scan_last_good(a->dirfd, latest, &lr, NULL);
	if (err == -ENOENT && !sl_audit_is_compressed_name(latest)) {
		/* compressed meanwhile: the .zst is renamed in before the unlink */
		char gzname[NAME_MAX + 8];

		snprintf(gzname, sizeof(gzname), "%s" ZST_SUFFIX, latest);
		err = scan_last_good(a->dirfd, gzname, &lr, NULL);
		if (err == -ENOENT) {
			snprintf(gzname, sizeof(gzname), "%s" GZ_SUFFIX, latest);
			err = scan_last_good(a->dirfd, gzname, &lr, NULL);
		}
	}
	if (err)
		return err;
	if (!lr.found) {
		log_debug("audit: no record in '%s' to continue the chain from", latest);
		return -EBADMSG;
	}
	a->seq = lr.seq;
	memcpy(a->hash, lr.hash, sizeof(a->hash));
	return 0;
}

/* audit.jsonl has a damaged tail: keep it as it is, under another name */
static int rotate_out_damaged(struct sl_audit *a, const char *latest, const char *damage,
			      uint64_t first_seq)
{
	char name[NAME_MAX + 1];
	struct last_rec lr;
	json_t *info;
	int err;

	err = scan_last_good(a->dirfd, SL_AUDIT_CURRENT, &lr, first_seq ? NULL : &first_seq);
	if (err)
		return err;
	if (lr.found) {
		a->seq = lr.seq;
		memcpy(a->hash, lr.hash, sizeof(a->hash));
	} else {
		err = chain_from_closed(a, latest);
		if (err)
			return err;
	}
	if (!first_seq)
		first_seq = a->seq + 1;
	for (int i = 0;; i++) {
		char tag[32];

		if (i)
			snprintf(tag, sizeof(tag), "%s-%d", SL_AUDIT_DAMAGED_TAG, i);
		else
			snprintf(tag, sizeof(tag), "%s", SL_AUDIT_DAMAGED_TAG);
		sl_aw_seg_name(name, sizeof(name), first_seq, tag);
		if (!renameat2(a->dirfd, SL_AUDIT_CURRENT, a->dirfd, name, RENAME_NOREPLACE))
			break;
		if (errno != EEXIST || i >= 100)
			return -errno;
	}
	log_debug("audit: '%s/%s' is damaged (%s), kept as '%s'", a->dir, SL_AUDIT_CURRENT, damage,
		  name);
	err = sl_aw_sync_dir(a);
	if (err)
		return err;
	info = json_pack("{s:s, s:s, s:s, s:I}", "reason", "damaged", "damaged_segment", name,
			 "damage", damage, "last_good_seq", (json_int_t)a->seq);
	return sl_aw_set_begin_info(a, info);
}

static int resume(struct sl_audit *a, const char *latest)
{
	_cleanup_close_ int fd = -1;
	struct last_rec first = {0}, last = {0};
	char damage[512] = "", why[256];
	struct sl_lines *r = NULL;
	char *line = NULL;
	struct stat st;
	size_t len;
	bool nl;
	int err;

	fd = openat(a->dirfd, SL_AUDIT_CURRENT, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return -errno;
	if (fd >= 0 && fstat(fd, &st))
		return -errno;
	if (fd < 0 || st.st_size == 0) {
		err = chain_from_closed(a, latest);
		if (err)
			return err;
		if (a->seq)
			return sl_aw_set_begin_info(a, json_pack("{s:s, s:s}", "reason", "continue",
								 "prev_segment", latest));
		return sl_aw_set_begin_info(a, json_pack("{s:s}", "reason", "new"));
	}

	/* the first record: the segment's first seq */
	err = sl_lines_openat(a->dirfd, SL_AUDIT_CURRENT, &r);
	if (err)
		return err;
	err = sl_lines_next(r, &line, &len, &nl);
	if (err == 1 && nl && !parse_line(line, len, &first, why, sizeof(why)))
		err = 0;
	else if (err >= 0 || err == -EMSGSIZE) {
		snprintf(damage, sizeof(damage), "line 1 is not a complete record");
		err = 0;
	}
	sl_lines_close(r);
	if (err < 0)
		return err;

	/* the last record: where the chain stands */
	if (!damage[0]) {
		err = read_last_line(fd, (uint64_t)st.st_size, &line, &len, &nl);
		if (err)
			return err;
		if (!nl)
			snprintf(damage, sizeof(damage),
				 "partial last line: %zu bytes without a newline", len);
		else if (parse_line(line, len, &last, why, sizeof(why)))
			snprintf(damage, sizeof(damage), "last line is not a record: %s", why);
		free(line);
	}
	if (damage[0])
		return rotate_out_damaged(a, latest, damage, first.found ? first.seq : 0);

	a->seq = last.seq;
	memcpy(a->hash, last.hash, sizeof(a->hash));
	a->seg_first = first.seq;
	a->seg_bytes = (uint64_t)st.st_size;
	if (last.is_end) {
		/* closed but not rotated yet */
		a->need_close = true;
		return 0;
	}
	a->fd = openat(a->dirfd, SL_AUDIT_CURRENT, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (a->fd < 0)
		return -errno;
	a->size = (uint64_t)st.st_size;
	return 0;
}

int sl_audit_open(const struct sl_audit_opts *opts, struct sl_audit **out)
{
	char latest[NAME_MAX + 1];
	struct sl_audit *a;
	int err;

	if (!opts || !opts->dir || !opts->dir[0] || !out || opts->fsync_mode < SL_FSYNC_ALWAYS ||
	    opts->fsync_mode > SL_FSYNC_NONE)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->fd = -1;
	a->dirfd = -1;
	a->rotate_bytes = opts->rotate_bytes;
	a->fsync_mode = opts->fsync_mode;
	a->batch = opts->batch;
	a->interval_ms = opts->fsync_interval_ms ? opts->fsync_interval_ms : DEFAULT_INTERVAL_MS;
	a->last_sync_ms = sl_aw_mono_ms();
	a->jobs_tail = &a->jobs;
	a->tail = &a->head;
	a->io = sl_aw_real_io;
	a->next_compress_retry_ms = sl_aw_mono_ms() + COMPRESS_RETRY_MS;
	sl_audit_set_buffer_limit(a, opts->buffer_bytes);
	a->dropped_types = json_object();
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->dir = strdup(opts->dir);
	if (!a->dir || asprintf(&a->path, "%s/%s", opts->dir, SL_AUDIT_CURRENT) < 0) {
		a->path = NULL;
		err = -ENOMEM;
		goto fail;
	}
	err = sl_mkdir_p(opts->dir, 0700);
	if (err)
		goto fail;
	a->dirfd = open(opts->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->dirfd < 0) {
		err = -errno;
		goto fail;
	}
	err = scan_dir(a, latest, sizeof(latest));
	if (!err)
		err = resume(a, latest);
	a->written_seq = a->seq;
	/* a new segment, a rotation left half done: written now or refused */
	if (!err)
		err = sl_aw_prepare(a);
	if (!err)
		err = sl_aw_run_queue(a);
	if (err)
		goto fail;
	*out = a;
	return 0;
fail:
	log_debug("audit: open '%s': %s", opts->dir, strerror(-err));
	sl_audit_close(a);
	return err;
}
