// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Tamper-evident audit log writer (docs/events.md, "The audit log").
 *
 * A record is serialized once, compactly, by jansson: {"seq":N, <the
 * caller's members in order>, "prev":"<16 hex>"}. That text is the body; the
 * hash is SHA-256(previous raw hash || body) and the line written is the body
 * with ,"hash":"<64 hex>" spliced in before its closing brace, plus '\n'.
 * Each line goes out in one write loop; a failed write is cut off again with
 * ftruncate, so the file never keeps half a record and the chain state only
 * moves once the line is in the file.
 *
 * Closed segments are compressed by one worker thread: write a .gz.tmp,
 * fsync, read it back and compare, rename to .jsonl.gz, unlink the plain file.
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
#include "log.h"
#include "util.h"

#define GZ_SUFFIX ".gz"
#define TMP_SUFFIX ".tmp"
#define IO_CHUNK (64U * 1024)
#define DEFAULT_INTERVAL_MS 200

/* ---- shared helpers (audit_priv.h) ---- */

void sl_audit_hex(const uint8_t *raw, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sl_audit_unhex(const char *hex, size_t n, uint8_t *raw)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		raw[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static EVP_MD *g_sha256;
static pthread_once_t g_sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int sl_audit_chain_hash(const uint8_t prev[SL_AUDIT_HASH_LEN], const char *body, size_t len,
			uint8_t out[SL_AUDIT_HASH_LEN])
{
	unsigned int outlen = 0;
	EVP_MD_CTX *ctx;
	int err = -ENOMEM;

	pthread_once(&g_sha256_once, sha256_fetch);
	if (!g_sha256)
		return -ENOMEM;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestInit_ex(ctx, g_sha256, NULL) &&
	    EVP_DigestUpdate(ctx, prev, SL_AUDIT_HASH_LEN) && EVP_DigestUpdate(ctx, body, len) &&
	    EVP_DigestFinal_ex(ctx, out, &outlen) && outlen == SL_AUDIT_HASH_LEN)
		err = 0;
	EVP_MD_CTX_free(ctx);
	return err;
}

int sl_audit_cut_hash(char *line, size_t len, size_t *body_len, uint8_t hash[SL_AUDIT_HASH_LEN],
		      const char **why)
{
	const size_t plen = sizeof(SL_AUDIT_HASH_PREFIX) - 1;
	char *tail;

	/* at least "{" before the suffix */
	if (len < SL_AUDIT_SUFFIX_LEN + 1 || line[0] != '{') {
		*why = "not a record: too short or not a JSON object";
		return -EINVAL;
	}
	tail = line + len - SL_AUDIT_SUFFIX_LEN;
	if (memcmp(tail, SL_AUDIT_HASH_PREFIX, plen) || line[len - 2] != '"' ||
	    line[len - 1] != '}') {
		*why = "the line does not end with a \"hash\" member";
		return -EINVAL;
	}
	if (sl_audit_unhex(tail + plen, SL_AUDIT_HASH_LEN, hash)) {
		*why = "\"hash\" is not 64 lowercase hex digits";
		return -EINVAL;
	}
	tail[0] = '}';
	tail[1] = '\0';
	*body_len = (size_t)(tail - line) + 1;
	return 0;
}

int sl_audit_parse_body(const char *body, size_t len, json_t **obj, uint64_t *seq, char *why,
			size_t whylen)
{
	json_error_t jerr;
	json_t *o, *s;
	void *it;

	o = json_loadb(body, len, SL_AUDIT_LOAD_FLAGS, &jerr);
	if (!o) {
		snprintf(why, whylen, "not valid JSON: %s (column %d)", jerr.text, jerr.column);
		return -EINVAL;
	}
	if (!json_is_object(o)) {
		snprintf(why, whylen, "not a JSON object");
		goto bad;
	}
	it = json_object_iter(o);
	if (!it || strcmp(json_object_iter_key(it), "seq")) {
		snprintf(why, whylen, "the first member is not \"seq\"");
		goto bad;
	}
	s = json_object_iter_value(it);
	if (!json_is_integer(s) || json_integer_value(s) < 1) {
		snprintf(why, whylen, "\"seq\" is not a positive integer");
		goto bad;
	}
	if (json_object_get(o, "hash")) {
		snprintf(why, whylen, "the record has a second \"hash\" member");
		goto bad;
	}
	*seq = (uint64_t)json_integer_value(s);
	*obj = o;
	return 0;
bad:
	json_decref(o);
	return -EINVAL;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

bool sl_audit_is_segment_name(const char *name)
{
	return !strncmp(name, "audit", 5) &&
	       (has_suffix(name, ".jsonl") || has_suffix(name, ".jsonl" GZ_SUFFIX));
}

bool sl_audit_is_gz_name(const char *name)
{
	return has_suffix(name, GZ_SUFFIX);
}

int sl_audit_name_seq(const char *name, uint64_t *seq)
{
	const char *p = name + 6;
	uint64_t v = 0;

	if (strncmp(name, "audit-", 6))
		return -EINVAL;
	for (int i = 0; i < SL_AUDIT_SEQ_DIGITS; i++, p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p != '.' && *p != '-')
		return -EINVAL;
	*seq = v;
	return 0;
}

/* closed, uncompressed, undamaged: exactly audit-<20 digits>.jsonl */
static bool is_closed_plain_name(const char *name)
{
	uint64_t seq;

	return !sl_audit_name_seq(name, &seq) && !strcmp(name + 6 + SL_AUDIT_SEQ_DIGITS, ".jsonl");
}

/* ---- line reader ---- */

struct sl_lines {
	gzFile gz;
	char *buf;
	size_t cap, start, end;
	bool eof;
};

int sl_lines_openat(int dirfd, const char *name, struct sl_lines **out)
{
	struct sl_lines *r;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		return -ENOMEM;
	}
	r->gz = gzdopen(fd, "rb");
	if (!r->gz) {
		close(fd);
		free(r);
		return -ENOMEM;
	}
	gzbuffer(r->gz, 128 * 1024);
	*out = r;
	return 0;
}

int sl_lines_open(const char *path, struct sl_lines **out)
{
	return sl_lines_openat(AT_FDCWD, path, out);
}

static int grow(struct sl_lines *r, size_t need)
{
	size_t cap = r->cap ? r->cap : IO_CHUNK * 2;
	char *p;

	while (cap < need)
		cap *= 2;
	if (cap == r->cap)
		return 0;
	p = realloc(r->buf, cap);
	if (!p)
		return -ENOMEM;
	r->buf = p;
	r->cap = cap;
	return 0;
}

int sl_lines_next(struct sl_lines *r, char **line, size_t *len, bool *nl)
{
	for (;;) {
		char *p = r->buf + r->start;
		size_t avail = r->end - r->start;
		char *eol = avail ? memchr(p, '\n', avail) : NULL;
		int n, err;

		if (eol) {
			*eol = '\0';
			*line = p;
			*len = (size_t)(eol - p);
			*nl = true;
			r->start += *len + 1;
			return 1;
		}
		if (avail > SL_AUDIT_LINE_MAX)
			return -EMSGSIZE;
		if (r->eof) {
			if (!avail)
				return 0;
			/* there is always room for the NUL (see grow below) */
			p[avail] = '\0';
			*line = p;
			*len = avail;
			*nl = false;
			r->start = r->end;
			return 1;
		}
		if (r->start) {
			memmove(r->buf, p, avail);
			r->start = 0;
			r->end = avail;
		}
		err = grow(r, r->end + IO_CHUNK + 1);
		if (err)
			return err;
		n = gzread(r->gz, r->buf + r->end, IO_CHUNK);
		if (n <= 0)
			r->eof = true; /* sl_lines_status() says why */
		else
			r->end += (size_t)n;
	}
}

int sl_lines_status(struct sl_lines *r, const char **msg)
{
	int errnum = Z_OK;
	const char *m = gzerror(r->gz, &errnum);

	/* gzerror() prefixes the file name, "<fd:N>" here: drop it */
	if (m && !strncmp(m, "<fd:", 4) && strstr(m, ": "))
		m = strstr(m, ": ") + 2;
	if (msg)
		*msg = m;
	switch (errnum) {
	case Z_OK:
		return 0;
	case Z_BUF_ERROR:
		return -EPIPE;
	case Z_DATA_ERROR:
		return -EBADMSG;
	case Z_MEM_ERROR:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

bool sl_lines_compressed(struct sl_lines *r)
{
	return !gzdirect(r->gz);
}

void sl_lines_close(struct sl_lines *r)
{
	if (!r)
		return;
	gzclose_r(r->gz);
	free(r->buf);
	free(r);
}

/* ---- the writer ---- */

struct compress_job {
	struct compress_job *next;
	char name[];
};

struct sl_audit {
	char *dir;
	char *path; /* dir/audit.jsonl */
	int dirfd;
	int fd;	       /* current segment, -1 between segments */
	uint64_t size; /* bytes in the current segment */
	uint64_t rotate_bytes;
	enum sl_fsync_mode fsync_mode;
	unsigned int interval_ms;
	uint64_t last_sync_ms;
	bool dirty;    /* written since the last fdatasync */
	bool tail_bad; /* a failed write could not be cut off yet */

	uint64_t seq;			 /* last seq written, 0 for none */
	uint8_t hash[SL_AUDIT_HASH_LEN]; /* its raw hash, zeros for none */
	uint64_t seg_first;		 /* first seq of the current segment */
	bool seg_closed;		 /* segment_end written, rename pending */
	json_t *begin_info;		 /* non-NULL: the next segment must be begun with this */

	/* compression worker */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t worker;
	bool worker_running, stopping;
	struct compress_job *jobs, **jobs_tail;
	int worker_err; /* first failure since the last tick */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static json_t *time_now(void)
{
	char buf[64];
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
	return json_string(buf);
}

static void seg_name(char *buf, size_t len, uint64_t first_seq, const char *tag)
{
	snprintf(buf, len, "audit-%0*llu%s.jsonl", SL_AUDIT_SEQ_DIGITS,
		 (unsigned long long)first_seq, tag);
}

static int sync_dir(const struct sl_audit *a)
{
	if (a->fsync_mode == SL_FSYNC_NONE)
		return 0;
	return fsync(a->dirfd) ? -errno : 0;
}

/*
 * Serialize {"seq", rec..., ["prev"]} and splice the hash in. *line is
 * malloc'd and ends with '\n'.
 */
static int build_line(const struct sl_audit *a, json_t *rec, uint64_t seq, bool with_prev,
		      char **line, size_t *len, uint8_t hash[SL_AUDIT_HASH_LEN])
{
	const size_t plen = sizeof(SL_AUDIT_HASH_PREFIX) - 1;
	char hex[SL_AUDIT_HEX_LEN + 1];
	json_t *obj = json_object(), *v;
	char *body = NULL, *out = NULL;
	const char *key;
	size_t blen, n;
	int err = -ENOMEM;

	if (!obj || json_object_set_new(obj, "seq", json_integer((json_int_t)seq)))
		goto out;
	json_object_foreach (rec, key, v) {
		if (!strcmp(key, "seq") || !strcmp(key, "hash") || !strcmp(key, "prev")) {
			err = -EINVAL;
			goto out;
		}
		if (json_object_set(obj, key, v))
			goto out;
	}
	if (with_prev) {
		sl_audit_hex(a->hash, SL_AUDIT_PREV_HEX / 2, hex);
		if (json_object_set_new(obj, "prev", json_string(hex)))
			goto out;
	}
	body = json_dumps(obj, JSON_COMPACT);
	if (!body)
		goto out;
	blen = strlen(body);
	if (blen < 2 || body[blen - 1] != '}') {
		err = -EINVAL;
		goto out;
	}
	err = sl_audit_chain_hash(a->hash, body, blen, hash);
	if (err)
		goto out;
	err = -ENOMEM;
	n = blen - 1 + SL_AUDIT_SUFFIX_LEN + 1;
	out = malloc(n + 1);
	if (!out)
		goto out;
	memcpy(out, body, blen - 1);
	memcpy(out + blen - 1, SL_AUDIT_HASH_PREFIX, plen);
	sl_audit_hex(hash, SL_AUDIT_HASH_LEN, out + blen - 1 + plen);
	memcpy(out + blen - 1 + plen + SL_AUDIT_HEX_LEN, "\"}\n", 4);
	*line = out;
	*len = n;
	err = 0;
out:
	free(body);
	json_decref(obj);
	return err;
}

/* write a whole line or nothing */
static int append_line(struct sl_audit *a, const char *line, size_t len)
{
	int err;

	if (a->fd < 0)
		return -EBADF;
	if (a->tail_bad) {
		if (ftruncate(a->fd, (off_t)a->size))
			return -errno;
		a->tail_bad = false;
	}
	err = sl_write_all(a->fd, line, len);
	if (!err && a->fsync_mode == SL_FSYNC_ALWAYS && fdatasync(a->fd))
		err = -errno;
	if (err) {
		if (ftruncate(a->fd, (off_t)a->size))
			a->tail_bad = true;
		log_debug("audit: write to '%s' failed: %s", a->path, strerror(-err));
		return err;
	}
	a->size += len;
	if (a->fsync_mode == SL_FSYNC_BATCH)
		a->dirty = true;
	return 0;
}

static int write_record(struct sl_audit *a, json_t *rec, bool with_prev, char **line_out,
			uint64_t *seq_out)
{
	uint8_t hash[SL_AUDIT_HASH_LEN];
	char *line = NULL;
	size_t len;
	int err;

	err = build_line(a, rec, a->seq + 1, with_prev, &line, &len, hash);
	if (err)
		return err;
	err = append_line(a, line, len);
	if (err) {
		free(line);
		return err;
	}
	a->seq++;
	memcpy(a->hash, hash, sizeof(hash));
	if (seq_out)
		*seq_out = a->seq;
	if (line_out)
		*line_out = line;
	else
		free(line);
	return 0;
}

/* ---- compression worker ---- */

static int copy_compress(int in, int out)
{
	char buf[IO_CHUNK];
	gzFile gz;
	int dupfd, err = 0;

	dupfd = dup(out);
	if (dupfd < 0)
		return -errno;
	gz = gzdopen(dupfd, "wb6");
	if (!gz) {
		close(dupfd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		if (gzwrite(gz, buf, (unsigned int)n) != (int)n) {
			err = -EIO;
			break;
		}
	}
	if (gzclose_w(gz) != Z_OK && !err)
		err = -EIO;
	return err;
}

/* read the .gz back and compare it with the plain file */
static int compare_compressed(int dirfd, const char *plain, const char *gzname)
{
	char a[IO_CHUNK], b[IO_CHUNK];
	_cleanup_close_ int in = -1;
	gzFile gz = NULL;
	int fd, err = 0;

	in = openat(dirfd, plain, O_RDONLY | O_CLOEXEC);
	fd = openat(dirfd, gzname, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fd < 0) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(in, a, sizeof(a));
		int m;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		m = gzread(gz, b, n ? (unsigned int)n : 1);
		if (m < 0 || m != n || memcmp(a, b, (size_t)n)) {
			err = -EIO;
			break;
		}
		if (n == 0)
			break;
	}
	gzclose_r(gz);
	return err;
}

static int compress_segment(int dirfd, const char *name)
{
	char gzname[NAME_MAX + 8], tmp[NAME_MAX + 8];
	_cleanup_close_ int in = -1, out = -1;
	int err;

	if ((size_t)snprintf(gzname, sizeof(gzname), "%s" GZ_SUFFIX, name) >= sizeof(gzname) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s" GZ_SUFFIX TMP_SUFFIX, name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	in = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	err = copy_compress(in, out);
	if (!err && fsync(out))
		err = -errno;
	if (!err)
		err = compare_compressed(dirfd, name, tmp);
	if (!err && renameat2(dirfd, tmp, dirfd, gzname, RENAME_NOREPLACE)) {
		err = -errno;
		/* an earlier run got as far as the rename: keep its .gz if it is this segment */
		if (err == -EEXIST && !compare_compressed(dirfd, name, gzname))
			err = 0;
		unlinkat(dirfd, tmp, 0);
		if (err)
			return err;
	} else if (err) {
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	if (fsync(dirfd) || unlinkat(dirfd, name, 0) || fsync(dirfd))
		return -errno;
	return 0;
}

static void *worker_main(void *arg)
{
	struct sl_audit *a = arg;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct compress_job *job = a->jobs;
		int err;

		if (!job) {
			if (a->stopping)
				break;
			pthread_cond_wait(&a->cond, &a->lock);
			continue;
		}
		a->jobs = job->next;
		if (!a->jobs)
			a->jobs_tail = &a->jobs;
		pthread_mutex_unlock(&a->lock);

		err = compress_segment(a->dirfd, job->name);
		if (err)
			log_debug("audit: compressing '%s': %s", job->name, strerror(-err));

		pthread_mutex_lock(&a->lock);
		if (err && !a->worker_err)
			a->worker_err = err;
		free(job);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static int queue_compress(struct sl_audit *a, const char *name)
{
	size_t n = strlen(name) + 1;
	struct compress_job *job = malloc(sizeof(*job) + n);
	sigset_t all, old;
	int err = 0;

	if (!job)
		return -ENOMEM;
	job->next = NULL;
	memcpy(job->name, name, n);
	pthread_mutex_lock(&a->lock);
	if (!a->worker_running) {
		/* signals belong to the caller's thread */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		err = -pthread_create(&a->worker, NULL, worker_main, a);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		a->worker_running = !err;
	}
	if (!err) {
		*a->jobs_tail = job;
		a->jobs_tail = &job->next;
		pthread_cond_signal(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	if (err)
		free(job);
	return err;
}

/* ---- segments ---- */

/* open (create) an empty audit.jsonl and write its segment_start */
static int begin_segment(struct sl_audit *a)
{
	char hex[SL_AUDIT_HEX_LEN + 1];
	json_t *rec = NULL;
	const char *key;
	struct stat st;
	json_t *v;
	int err;

	if (a->fd < 0) {
		int fd = openat(a->dirfd, SL_AUDIT_CURRENT,
				O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

		if (fd < 0)
			return -errno;
		if (fstat(fd, &st)) {
			err = -errno;
			close(fd);
			return err;
		}
		if (st.st_size != 0) {
			/* never write a segment_start into a non-empty file */
			close(fd);
			return -EEXIST;
		}
		a->fd = fd;
		a->size = 0;
		a->tail_bad = false;
		err = sync_dir(a);
		if (err)
			return err;
	}
	sl_audit_hex(a->hash, SL_AUDIT_HASH_LEN, hex);
	rec = json_object();
	if (!rec || json_object_set_new(rec, "type", json_string("segment_start")) ||
	    json_object_set_new(rec, "time", time_now()) ||
	    json_object_set_new(rec, "prev_seq", json_integer((json_int_t)a->seq)) ||
	    json_object_set_new(rec, "prev_hash", json_string(hex))) {
		err = -ENOMEM;
		goto out;
	}
	json_object_foreach (a->begin_info, key, v) {
		if (json_object_set(rec, key, v)) {
			err = -ENOMEM;
			goto out;
		}
	}
	a->seg_first = a->seq + 1;
	err = write_record(a, rec, false, NULL, NULL);
	if (err)
		goto out;
	json_decref(a->begin_info);
	a->begin_info = NULL;
out:
	json_decref(rec);
	return err;
}

static int set_begin_info(struct sl_audit *a, json_t *info)
{
	if (!info)
		return -ENOMEM;
	json_decref(a->begin_info);
	a->begin_info = info;
	return 0;
}

/* the current segment is closed: rename it, queue its compression */
static int rotate_out(struct sl_audit *a)
{
	char name[NAME_MAX + 1];
	int err;

	if (a->fd >= 0) {
		if (a->fsync_mode != SL_FSYNC_NONE && fdatasync(a->fd))
			return -errno;
		close(a->fd);
		a->fd = -1;
		a->dirty = false;
	}
	seg_name(name, sizeof(name), a->seg_first, "");
	if (renameat2(a->dirfd, SL_AUDIT_CURRENT, a->dirfd, name, RENAME_NOREPLACE))
		return -errno;
	a->seg_closed = false;
	err = set_begin_info(a, json_pack("{s:s, s:s}", "reason", "rotate", "prev_segment", name));
	if (err)
		return err;
	err = sync_dir(a);
	if (err)
		return err;
	err = queue_compress(a, name);
	if (err)
		log_debug("audit: cannot queue compression of '%s': %s", name, strerror(-err));
	return 0;
}

/* before a record: close, rotate and begin segments as needed */
static int prepare(struct sl_audit *a)
{
	int err;

	if (a->fd < 0 && !a->seg_closed && !a->begin_info) {
		/* an earlier rotation got as far as the rename */
		err = set_begin_info(a, json_pack("{s:s}", "reason", "continue"));
		if (err)
			return err;
	}
	if (!a->seg_closed && !a->begin_info && a->rotate_bytes && a->size >= a->rotate_bytes) {
		json_t *end = json_pack("{s:s, s:o, s:I, s:I}", "type", "segment_end", "time",
					time_now(), "first_seq", (json_int_t)a->seg_first,
					"records", (json_int_t)(a->seq + 2 - a->seg_first));

		if (!end)
			return -ENOMEM;
		err = write_record(a, end, true, NULL, NULL);
		json_decref(end);
		if (err)
			return err;
		a->seg_closed = true;
	}
	if (a->seg_closed) {
		err = rotate_out(a);
		if (err)
			return err;
	}
	if (a->begin_info)
		return begin_segment(a);
	return 0;
}

int sl_audit_append(struct sl_audit *a, json_t *rec, char **line_out, uint64_t *seq_out)
{
	int err;

	if (!a || !json_is_object(rec))
		return -EINVAL;
	err = prepare(a);
	if (err)
		return err;
	return write_record(a, rec, true, line_out, seq_out);
}

int sl_audit_flush(struct sl_audit *a)
{
	if (!a)
		return -EINVAL;
	if (a->fd >= 0 && fdatasync(a->fd))
		return -errno;
	a->dirty = false;
	a->last_sync_ms = mono_ms();
	return 0;
}

int sl_audit_tick(struct sl_audit *a)
{
	int err = 0, werr;

	if (!a)
		return -EINVAL;
	if (a->fsync_mode == SL_FSYNC_BATCH && a->dirty &&
	    mono_ms() - a->last_sync_ms >= a->interval_ms)
		err = sl_audit_flush(a);
	pthread_mutex_lock(&a->lock);
	werr = a->worker_err;
	a->worker_err = 0;
	pthread_mutex_unlock(&a->lock);
	return err ? err : werr;
}

uint64_t sl_audit_last_seq(const struct sl_audit *a)
{
	return a ? a->seq : 0;
}

const char *sl_audit_path(const struct sl_audit *a)
{
	return a ? a->path : NULL;
}

void sl_audit_close(struct sl_audit *a)
{
	if (!a)
		return;
	if (a->fd >= 0) {
		if (fdatasync(a->fd))
			log_debug("audit: fdatasync '%s': %s", a->path, strerror(errno));
		close(a->fd);
	}
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (a->worker_running)
		pthread_join(a->worker, NULL);
	while (a->jobs) {
		struct compress_job *j = a->jobs;

		a->jobs = j->next;
		free(j);
	}
	if (a->dirfd >= 0)
		close(a->dirfd);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	json_decref(a->begin_info);
	free(a->dir);
	free(a->path);
	free(a);
}

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
 * closed segments for compression (when its .gz exists too, an earlier run
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

		if (!strncmp(de->d_name, "audit-", 6) && has_suffix(de->d_name, TMP_SUFFIX)) {
			unlinkat(a->dirfd, de->d_name, 0);
			continue;
		}
		if (sl_audit_name_seq(de->d_name, &seq) || !sl_audit_is_segment_name(de->d_name))
			continue;
		if (is_closed_plain_name(de->d_name)) {
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
			err = queue_compress(a, todo[i]);
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
	if (err == -ENOENT && !sl_audit_is_gz_name(latest)) {
		/* compressed meanwhile: the .gz is renamed in before the unlink */
		char gzname[NAME_MAX + 8];

		snprintf(gzname, sizeof(gzname), "%s" GZ_SUFFIX, latest);
		err = scan_last_good(a->dirfd, gzname, &lr, NULL);
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
		seg_name(name, sizeof(name), first_seq, tag);
		if (!renameat2(a->dirfd, SL_AUDIT_CURRENT, a->dirfd, name, RENAME_NOREPLACE))
			break;
		if (errno != EEXIST || i >= 100)
			return -errno;
	}
	log_debug("audit: '%s/%s' is damaged (%s), kept as '%s'", a->dir, SL_AUDIT_CURRENT, damage,
		  name);
	err = sync_dir(a);
	if (err)
		return err;
	info = json_pack("{s:s, s:s, s:s, s:I}", "reason", "damaged", "damaged_segment", name,
			 "damage", damage, "last_good_seq", (json_int_t)a->seq);
	return set_begin_info(a, info);
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
			return set_begin_info(a, json_pack("{s:s, s:s}", "reason", "continue",
							   "prev_segment", latest));
		return set_begin_info(a, json_pack("{s:s}", "reason", "new"));
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
	if (last.is_end) {
		/* closed but not rotated yet */
		a->seg_closed = true;
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
	a->interval_ms = opts->fsync_interval_ms ? opts->fsync_interval_ms : DEFAULT_INTERVAL_MS;
	a->last_sync_ms = mono_ms();
	a->jobs_tail = &a->jobs;
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
	if (!err)
		err = prepare(a);
	if (err)
		goto fail;
	*out = a;
	return 0;
fail:
	log_debug("audit: open '%s': %s", opts->dir, strerror(-err));
	sl_audit_close(a);
	return err;
}
