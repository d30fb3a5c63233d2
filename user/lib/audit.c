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
 * Closed segments are compressed by one worker thread (audit_gzip.c): write
 * a .zst.tmp, fsync, read it back and compare, rename to .jsonl.zst, unlink
 * the plain file. Opening resumes an existing log (audit_resume.c). The writer's
 * state is shared by the three files through audit_writer_priv.h.
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
#include <zstd.h>

#include "audit.h"
#include "audit_priv.h"
#include "log.h"
#include "util.h"

#include "audit_writer_priv.h"

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

bool sl_aw_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

bool sl_audit_is_segment_name(const char *name)
{
	return !strncmp(name, "audit", 5) &&
	       (sl_aw_has_suffix(name, ".jsonl") || sl_aw_has_suffix(name, ".jsonl" GZ_SUFFIX) ||
		sl_aw_has_suffix(name, ".jsonl" ZST_SUFFIX));
}

bool sl_audit_is_gz_name(const char *name)
{
	return sl_aw_has_suffix(name, GZ_SUFFIX);
}

bool sl_audit_is_zst_name(const char *name)
{
	return sl_aw_has_suffix(name, ZST_SUFFIX);
}

bool sl_audit_is_compressed_name(const char *name)
{
	return sl_audit_is_gz_name(name) || sl_audit_is_zst_name(name);
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
bool sl_aw_is_closed_plain_name(const char *name)
{
	uint64_t seq;

	return !sl_audit_name_seq(name, &seq) && !strcmp(name + 6 + SL_AUDIT_SEQ_DIGITS, ".jsonl");
}

/* ---- line reader ---- */

/*
 * Plain and gzip files through zlib's gzread (which reads plain data as it
 * is), zstd files (magic 28 b5 2f fd) through libzstd's streaming decoder.
 */
struct sl_lines {
	gzFile gz;
	int fd;	       /* zstd: the file */
	ZSTD_DCtx *zd; /* zstd: the decoder, NULL for zlib */
	char *zin;     /* zstd: compressed input */
	ZSTD_inBuffer zb;
	size_t zlast; /* ZSTD_decompressStream's last hint: 0 at a frame's end */
	int zerr;     /* zstd: how the data ended (sl_lines_status) */
	const char *zmsg;
	char *buf;
	size_t cap, start, end;
	bool eof;
};

static bool is_zstd_magic(int fd)
{
	unsigned char m[4];

	return pread(fd, m, sizeof(m), 0) == (ssize_t)sizeof(m) && m[0] == 0x28 && m[1] == 0xb5 &&
	       m[2] == 0x2f && m[3] == 0xfd;
}

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
	r->fd = -1;
	if (is_zstd_magic(fd)) {
		r->fd = fd;
		r->zd = ZSTD_createDCtx();
		r->zin = malloc(ZSTD_DStreamInSize());
		if (!r->zd || !r->zin) {
			sl_lines_close(r);
			return -ENOMEM;
		}
		r->zb.src = r->zin;
		*out = r;
		return 0;
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

/* up to n decompressed bytes; 0 at the end or on an error (r->zerr says) */
static int zstd_read(struct sl_lines *r, char *dst, size_t n)
{
	ZSTD_outBuffer ob = {dst, n, 0};

	while (ob.pos == 0) {
		size_t ret;

		if (r->zb.pos == r->zb.size) {
			ssize_t got = read(r->fd, r->zin, ZSTD_DStreamInSize());

			if (got < 0) {
				if (errno == EINTR)
					continue;
				r->zerr = -EIO;
				r->zmsg = strerror(errno);
				return 0;
			}
			if (got == 0) {
				if (r->zlast) {
					r->zerr = -EPIPE;
					r->zmsg = "zstd data cut short";
				}
				return 0;
			}
			r->zb.size = (size_t)got;
			r->zb.pos = 0;
		}
		ret = ZSTD_decompressStream(r->zd, &ob, &r->zb);
		if (ZSTD_isError(ret)) {
			r->zerr = -EBADMSG;
			r->zmsg = ZSTD_getErrorName(ret);
			return 0;
		}
		r->zlast = ret;
	}
	return (int)ob.pos;
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
		/* nothing read yet: no buffer (NULL + 0 is undefined) */
		char *p = r->buf ? r->buf + r->start : NULL;
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
		if (r->zd)
			n = zstd_read(r, r->buf + r->end, IO_CHUNK);
		else
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
	const char *m;

	if (r->zd) {
		if (msg)
			*msg = r->zmsg;
		return r->zerr;
	}
	m = gzerror(r->gz, &errnum);
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
	return r->zd || !gzdirect(r->gz);
}

bool sl_lines_zstd(struct sl_lines *r)
{
	return r->zd != NULL;
}

void sl_lines_close(struct sl_lines *r)
{
	if (!r)
		return;
	if (r->gz)
		gzclose_r(r->gz);
	if (r->fd >= 0)
		close(r->fd);
	ZSTD_freeDCtx(r->zd);
	free(r->zin);
	free(r->buf);
	free(r);
}

/* ---- the writer (its state: audit_writer_priv.h) ---- */

uint64_t sl_aw_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void format_time(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	size_t n;

	gmtime_r(&ts->tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09ldZ", ts->tv_nsec);
}

static json_t *time_now(void)
{
	struct timespec ts;
	char buf[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	format_time(&ts, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *errno_name(int err)
{
	const char *n = err ? strerrorname_np(-err) : NULL;

	return n ? json_string(n) : json_null();
}

static json_t *errno_text(int err)
{
	return err ? json_string(strerror(-err)) : json_null();
}

void sl_aw_seg_name(char *buf, size_t len, uint64_t first_seq, const char *tag)
{
	snprintf(buf, len, "audit-%0*llu%s.jsonl", SL_AUDIT_SEQ_DIGITS,
		 (unsigned long long)first_seq, tag);
}

/* ---- system calls (the unit tests' seam) ---- */

static int real_openat(int dirfd, const char *name, int flags, mode_t mode)
{
	return openat(dirfd, name, flags, mode);
}

const struct sl_audit_io sl_aw_real_io = {
    .write = write,
    .fdatasync = fdatasync,
    .fsync = fsync,
    .ftruncate = ftruncate,
    .openat = real_openat,
    .renameat2 = renameat2,
};

void sl_audit_set_io(struct sl_audit *a, const struct sl_audit_io *io)
{
	pthread_mutex_lock(&a->lock);
	a->io = sl_aw_real_io;
	if (io) {
		if (io->write)
			a->io.write = io->write;
		if (io->fdatasync)
			a->io.fdatasync = io->fdatasync;
		if (io->fsync)
			a->io.fsync = io->fsync;
		if (io->ftruncate)
			a->io.ftruncate = io->ftruncate;
		if (io->openat)
			a->io.openat = io->openat;
		if (io->renameat2)
			a->io.renameat2 = io->renameat2;
	}
	pthread_mutex_unlock(&a->lock);
}

int sl_aw_sync_dir(const struct sl_audit *a)
{
	if (a->fsync_mode == SL_FSYNC_NONE)
		return 0;
	return a->io.fsync(a->dirfd) ? -errno : 0;
}

/* the whole buffer, through short writes; a write that makes no progress is an error */
static int write_all(const struct sl_audit *a, const char *p, size_t len)
{
	while (len) {
		ssize_t n = a->io.write(a->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- building records ---- */

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

static void item_free(struct item *it)
{
	if (it) {
		free(it->line);
		free(it);
	}
}

/* the next record of the chain, built but not yet in it (one line) */
static int build_item(const struct sl_audit *a, json_t *rec, bool with_prev, bool own,
		      struct item **out, uint8_t hash[SL_AUDIT_HASH_LEN])
{
	struct item *it = calloc(1, sizeof(*it));
	int err;

	if (!it)
		return -ENOMEM;
	err = build_line(a, rec, a->seq + 1, with_prev, &it->line, &it->len, hash);
	if (err) {
		free(it);
		return err;
	}
	it->kind = ITEM_LINE;
	it->nrec = 1;
	it->ncaller = !own;
	it->caller_bytes = own ? 0 : it->len;
	it->seq = a->seq + 1;
	*out = it;
	return 0;
}

static void enqueue(struct sl_audit *a, struct item *it)
{
	it->next = NULL;
	*a->tail = it;
	a->tail = &it->next;
	a->last = it;
}

/*
 * A batch is full at BATCH_MAX, or at a quarter of the buffer limit: what
 * waits for the end of a drain stays well within the bound of what may wait
 * while the log cannot be written (has_room).
 */
static uint64_t batch_max(const struct sl_audit *a)
{
	return a->limit / 4 < BATCH_MAX ? a->limit / 4 : BATCH_MAX;
}

/*
 * The batch the next line of need bytes goes into: the last item when it is
 * a batch with room (opts.batch), else a new one. NULL on ENOMEM (nothing changed but an
 * empty batch maybe queued).
 */
static struct item *batch_for(struct sl_audit *a, size_t need)
{
	struct item *t = a->last;

	/* not batched: one line per write, as before */
	if (!t || t->kind != ITEM_LINE || (t->len && (!a->batch || t->len + need > batch_max(a)))) {
		if (a->spare) {
			t = a->spare;
			a->spare = NULL;
		} else {
			t = calloc(1, sizeof(*t));
			if (!t)
				return NULL;
		}
		t->kind = ITEM_LINE;
		enqueue(a, t);
	}
	if (t->len + need > t->cap) {
		/* batched: room for a whole batch at once (the buffer is kept: a->spare) */
		size_t cap = t->cap ? t->cap : a->batch ? BATCH_MAX + 64 * 1024 : 1024;
		char *p;

		while (cap < t->len + need)
			cap *= 2;
		p = realloc(t->line, cap);
		if (!p)
			return NULL;
		t->line = p;
		t->cap = cap;
	}
	return t;
}

/* len bytes at the end of batch t are the line of record seq: count it */
static void batch_add(struct sl_audit *a, struct item *t, size_t len, uint64_t seq, bool own,
		      const uint8_t hash[SL_AUDIT_HASH_LEN])
{
	t->len += len;
	t->seq = seq;
	t->nrec++;
	a->q_records++;
	a->q_bytes += len;
	if (!own) {
		t->ncaller++;
		t->caller_bytes += len;
		a->q_caller_bytes += len;
	}
	if (a->failing) {
		a->period_records += !own;
		if (a->q_bytes > a->period_max_bytes)
			a->period_max_bytes = a->q_bytes;
	}
	a->seq = seq;
	memcpy(a->hash, hash, SL_AUDIT_HASH_LEN);
	a->seg_bytes += len;
}

/* the built record is now part of the chain (written later, in order); it is freed */
static int commit(struct sl_audit *a, struct item *it, const uint8_t hash[SL_AUDIT_HASH_LEN])
{
	struct item *t = batch_for(a, it->len);

	if (!t) {
		item_free(it);
		return -ENOMEM;
	}
	memcpy(t->line + t->len, it->line, it->len);
	batch_add(a, t, it->len, it->seq, !it->ncaller, hash);
	item_free(it);
	return 0;
}

/* a record of the log itself: chained whatever the buffer holds */
static int chain_own(struct sl_audit *a, json_t *rec, bool with_prev)
{
	uint8_t hash[SL_AUDIT_HASH_LEN];
	struct item *it;
	int err;

	if (!rec)
		return -ENOMEM;
	err = build_item(a, rec, with_prev, true, &it, hash);
	if (!err)
		err = commit(a, it, hash);
	json_decref(rec);
	return err;
}

/* ---- the disk side: one queued item at a time ---- */

/* write a whole line or nothing */
static int disk_write_line(struct sl_audit *a, const char *line, size_t len)
{
	int err;

	a->op = "write";
	if (a->fd < 0)
		return -EBADF;
	if (a->tail_bad) {
		a->op = "truncate";
		if (a->io.ftruncate(a->fd, (off_t)a->size))
			return -errno;
		a->tail_bad = false;
		a->op = "write";
	}
	err = write_all(a, line, len);
	if (!err && a->fsync_mode == SL_FSYNC_ALWAYS && a->io.fdatasync(a->fd)) {
		err = -errno;
		a->op = "fdatasync";
	}
	if (err) {
		/* never leave half a line: cut the file back to the last whole record */
		if (a->io.ftruncate(a->fd, (off_t)a->size))
			a->tail_bad = true;
		log_debug("audit: %s of '%s' failed: %s", a->op, a->path, strerror(-err));
		return err;
	}
	a->size += len;
	if (a->fsync_mode == SL_FSYNC_BATCH)
		a->dirty = true;
	return 0;
}

/* the current segment ends (its segment_end is written): rename it, compress it */
static int disk_close(struct sl_audit *a, uint64_t first_seq)
{
	char name[NAME_MAX + 1];
	int err;

	sl_aw_seg_name(name, sizeof(name), first_seq, "");
	if (a->fd >= 0) {
		a->op = "fdatasync";
		if (a->fsync_mode != SL_FSYNC_NONE && a->io.fdatasync(a->fd))
			return -errno;
		close(a->fd);
		a->fd = -1;
		a->dirty = false;
	}
	if (!a->close_renamed) {
		a->op = "rename";
		if (a->io.renameat2(a->dirfd, SL_AUDIT_CURRENT, a->dirfd, name, RENAME_NOREPLACE))
			return -errno;
		a->close_renamed = true;
	}
	a->op = "fsync directory";
	err = sl_aw_sync_dir(a);
	if (err)
		return err;
	a->close_renamed = false;
	err = sl_aw_queue_compress(
	    a, name, a->opened_ms && sl_aw_mono_ms() - a->opened_ms < BUSY_SEGMENT_MS);
	if (err)
		log_debug("audit: cannot queue compression of '%s': %s", name, strerror(-err));
	return 0;
}

/* create the new audit.jsonl; its segment_start is the next item */
static int disk_open(struct sl_audit *a)
{
	struct stat st;

	a->op = "create";
	if (a->fd < 0) {
		int fd = a->io.openat(a->dirfd, SL_AUDIT_CURRENT,
				      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		int err;

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
		a->opened_ms = sl_aw_mono_ms();
		a->tail_bad = false;
	}
	a->op = "fsync directory";
	return sl_aw_sync_dir(a);
}

/* write what waits, in order; stops at the first failure (a->op says where) */
int sl_aw_run_queue(struct sl_audit *a)
{
	while (a->head) {
		struct item *it = a->head;
		int err;

		switch (it->kind) {
		case ITEM_LINE:
			err = it->len ? disk_write_line(a, it->line, it->len) : 0;
			a->writes += it->len && !err;
			break;
		case ITEM_CLOSE:
			err = disk_close(a, it->seq);
			break;
		default:
			err = disk_open(a);
			break;
		}
		if (err)
			return err;
		a->head = it->next;
		if (!a->head) {
			a->tail = &a->head;
			a->last = NULL;
		}
		if (it->kind == ITEM_LINE && it->nrec) {
			a->written_seq = it->seq;
			a->q_records -= it->nrec;
			a->q_bytes -= it->len;
			a->q_caller_bytes -= it->caller_bytes;
		}
		if (a->batch && it->kind == ITEM_LINE && !a->spare && it->cap <= 2 * BATCH_MAX) {
			char *line = it->line;
			size_t cap = it->cap;

			memset(it, 0, sizeof(*it));
			it->line = line;
			it->cap = cap;
			a->spare = it;
		} else {
			item_free(it);
		}
	}
	return 0;
}

/* ---- failures, drops, gaps ---- */

/* a write failed: the first failure of a period is logged in the chain */
static void note_failure(struct sl_audit *a, int err)
{
	uint64_t now = sl_aw_mono_ms();

	a->last_err = err;
	a->last_op = a->op;
	if (a->failing) {
		a->retries++;
		a->backoff_ms = a->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : a->backoff_ms * 2;
		a->next_retry_ms = now + a->backoff_ms;
		return;
	}
	a->failing = true;
	a->fail_err = err;
	a->fail_op = a->op;
	clock_gettime(CLOCK_REALTIME, &a->fail_since);
	a->fail_since_ms = now;
	a->failures++;
	a->retries = 0;
	a->backoff_ms = RETRY_MIN_MS;
	a->next_retry_ms = now + a->backoff_ms;
	a->period_records = 0;
	for (struct item *it = a->head; it; it = it->next)
		a->period_records += it->kind == ITEM_LINE ? it->ncaller : 0;
	a->period_max_bytes = a->q_bytes;
	a->period_dropped = 0;
	a->period_gaps = 0;
	/* chained right after the record that could not be written */
	if (chain_own(a,
		      json_pack("{s:s, s:o, s:s, s:o, s:o, s:s, s:I, s:I}", "type", "audit_failure",
				"time", time_now(), "operation", a->op, "error", errno_text(err),
				"errno", errno_name(err), "file", a->path, "written_seq",
				(json_int_t)a->written_seq, "buffer_limit", (json_int_t)a->limit),
		      true))
		log_debug("audit: no memory for the audit_failure record");
}

/* count one into obj[key] ("other" once DROP_KEYS_MAX keys are there) */
static void count_in(json_t *obj, const char *key)
{
	json_t *v;

	if (!obj)
		return;
	v = json_object_get(obj, key);
	if (!v && json_object_size(obj) >= DROP_KEYS_MAX) {
		key = "other";
		v = json_object_get(obj, key);
	}
	json_object_set_new(obj, key, json_integer(json_integer_value(v) + 1));
}

static void drop_count_meta(struct sl_audit *a, const struct sl_audit_meta *m, size_t len, int why)
{
	struct drops *d = &a->drop;
	const char *type = m->type ?: "(no type)";
	const char *session = m->session;
	const char *t = m->time;
	char now[48];

	if (!t || strlen(t) >= sizeof(now)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		format_time(&ts, now, sizeof(now));
		t = now;
	}
	if (!d->records) {
		d->after_seq = a->seq;
		d->reason = why == -ENOBUFS ? "buffer_full" : "out_of_memory";
		d->error = a->failing ? a->last_err : 0;
		snprintf(d->first_time, sizeof(d->first_time), "%s", t);
		snprintf(d->last_time, sizeof(d->last_time), "%s", t);
		if (!d->types)
			d->types = json_object();
		if (!d->sessions)
			d->sessions = json_object();
	}
	/* records come with their event time: keep the span of what was lost */
	if (strcmp(t, d->first_time) < 0)
		snprintf(d->first_time, sizeof(d->first_time), "%s", t);
	if (strcmp(t, d->last_time) > 0)
		snprintf(d->last_time, sizeof(d->last_time), "%s", t);
	d->records++;
	d->bytes += len;
	a->dropped_total++;
	a->period_dropped += a->failing;
	count_in(d->types, type);
	count_in(a->dropped_types, type);
	if (session && d->sessions) {
		json_t *per = json_object_get(d->sessions, session);

		if (!per && json_object_size(d->sessions) >= DROP_KEYS_MAX) {
			session = "other";
			per = json_object_get(d->sessions, session);
		}
		if (!per) {
			per = json_object();
			if (per && json_object_set_new(d->sessions, session, per))
				per = NULL;
		}
		count_in(per, type);
	}
}

static void drop_count(struct sl_audit *a, json_t *rec, size_t len, int why)
{
	const struct sl_audit_meta m = {
	    .type = json_string_value(json_object_get(rec, "type")),
	    .session = json_string_value(json_object_get(rec, "session")),
	    .time = json_string_value(json_object_get(rec, "time")),
	};

	drop_count_meta(a, &m, len, why);
}

/* the loss window closes: a gap record, chained where the records were lost */
static int chain_gap(struct sl_audit *a)
{
	struct drops *d = &a->drop;
	json_t *rec;
	int err;

	rec = json_pack("{s:s, s:o, s:I, s:I, s:O, s:O, s:s, s:s, s:s, s:o, s:o, s:I, s:I}", "type",
			"gap", "time", time_now(), "records", (json_int_t)d->records, "bytes",
			(json_int_t)d->bytes, "types", d->types ?: json_null(), "sessions",
			d->sessions ?: json_null(), "first_time", d->first_time, "last_time",
			d->last_time, "reason", d->reason, "error", errno_text(d->error), "errno",
			errno_name(d->error), "after_seq", (json_int_t)d->after_seq, "buffer_limit",
			(json_int_t)a->limit);
	err = chain_own(a, rec, true);
	if (err)
		return err;
	json_decref(d->types);
	json_decref(d->sessions);
	memset(d, 0, sizeof(*d));
	a->period_gaps += a->failing;
	return 0;
}

/* the period ends: audit_resumed, written at once or not chained at all */
static int write_resumed(struct sl_audit *a)
{
	uint8_t hash[SL_AUDIT_HASH_LEN];
	char since[64];
	struct item *it;
	json_t *rec;
	int err;

	format_time(&a->fail_since, since, sizeof(since));
	rec = json_pack("{s:s, s:o, s:s, s:I, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I}", "type",
			"audit_resumed", "time", time_now(), "failed_since", since, "duration_ms",
			(json_int_t)(sl_aw_mono_ms() - a->fail_since_ms), "operation", a->fail_op,
			"error", errno_text(a->fail_err), "errno", errno_name(a->fail_err),
			"last_error", errno_text(a->last_err), "retries", (json_int_t)a->retries,
			"records_buffered", (json_int_t)a->period_records, "max_buffered_bytes",
			(json_int_t)a->period_max_bytes, "dropped", (json_int_t)a->period_dropped,
			"gaps", (json_int_t)a->period_gaps);
	if (!rec)
		return -ENOMEM;
	err = build_item(a, rec, true, true, &it, hash);
	json_decref(rec);
	if (err)
		return err;
	err = disk_write_line(a, it->line, it->len);
	if (!err) {
		a->seq = it->seq;
		memcpy(a->hash, hash, sizeof(hash));
		a->seg_bytes += it->len;
		a->written_seq = it->seq;
	}
	item_free(it);
	return err;
}

/*
 * Write what waits, state what was lost, end the failure period. 0 when the
 * log is written up to its last record; a write error starts or continues a
 * failure period.
 */
static int settle(struct sl_audit *a)
{
	int err;

	err = sl_aw_run_queue(a);
	if (err)
		goto fail;
	if (a->drop.records) {
		err = chain_gap(a);
		if (err)
			return err;
		err = sl_aw_run_queue(a);
		if (err)
			goto fail;
	}
	if (!a->failing)
		return 0;
	/* a rotation due before the record that ends the period */
	err = sl_aw_prepare(a);
	if (err)
		return err;
	err = sl_aw_run_queue(a);
	if (!err)
		err = write_resumed(a);
	if (err)
		goto fail;
	a->failing = false;
	a->retries = 0;
	sl_aw_compress_retry_now(a);
	return 0;
fail:
	note_failure(a, err);
	return err;
}

/* ---- segments ---- */

int sl_aw_set_begin_info(struct sl_audit *a, json_t *info)
{
	if (!info)
		return -ENOMEM;
	json_decref(a->begin_info);
	a->begin_info = info;
	return 0;
}

/* segment_end (unless the resumed segment has it already), then close and rename */
static int close_segment(struct sl_audit *a)
{
	uint8_t hash[SL_AUDIT_HASH_LEN];
	char name[NAME_MAX + 1];
	struct item *end = NULL, *close_it;
	json_t *info, *rec;
	int err;

	sl_aw_seg_name(name, sizeof(name), a->seg_first, "");
	info = json_pack("{s:s, s:s}", "reason", "rotate", "prev_segment", name);
	close_it = calloc(1, sizeof(*close_it));
	if (!info || !close_it) {
		err = -ENOMEM;
		goto fail;
	}
	if (!a->need_close) {
		rec = json_pack("{s:s, s:o, s:I, s:I}", "type", "segment_end", "time", time_now(),
				"first_seq", (json_int_t)a->seg_first, "records",
				(json_int_t)(a->seq + 2 - a->seg_first));
		if (!rec) {
			err = -ENOMEM;
			goto fail;
		}
		err = build_item(a, rec, true, true, &end, hash);
		json_decref(rec);
		if (!err)
			err = commit(a, end, hash);
		if (err)
			goto fail;
	}
	close_it->kind = ITEM_CLOSE;
	close_it->seq = a->seg_first;
	enqueue(a, close_it);
	a->need_close = false;
	a->seg_bytes = 0;
	return sl_aw_set_begin_info(a, info);
fail:
	json_decref(info);
	free(close_it);
	return err;
}

/* a new audit.jsonl with its segment_start */
static int open_segment(struct sl_audit *a)
{
	uint8_t hash[SL_AUDIT_HASH_LEN];
	char hex[SL_AUDIT_HEX_LEN + 1];
	struct item *open_it, *start = NULL;
	json_t *rec, *v;
	const char *key;
	int err = -ENOMEM;

	sl_audit_hex(a->hash, SL_AUDIT_HASH_LEN, hex);
	rec = json_pack("{s:s, s:o, s:I, s:s}", "type", "segment_start", "time", time_now(),
			"prev_seq", (json_int_t)a->seq, "prev_hash", hex);
	open_it = calloc(1, sizeof(*open_it));
	if (!rec || !open_it)
		goto out;
	json_object_foreach (a->begin_info, key, v) {
		if (json_object_set(rec, key, v))
			goto out;
	}
	err = build_item(a, rec, false, true, &start, hash);
	if (err)
		goto out;
	open_it->kind = ITEM_OPEN;
	enqueue(a, SL_TAKE_PTR(open_it));
	a->seg_first = start->seq;
	a->seg_bytes = 0;
	err = commit(a, start, hash);
	if (err)
		goto out;
	json_decref(a->begin_info);
	a->begin_info = NULL;
out:
	free(open_it);
	json_decref(rec);
	return err;
}

/* before a record: close, rotate and begin segments as needed (queued) */
int sl_aw_prepare(struct sl_audit *a)
{
	int err;

	if (a->need_close ||
	    (!a->begin_info && a->rotate_bytes && a->seg_bytes >= a->rotate_bytes)) {
		err = close_segment(a);
		if (err)
			return err;
	}
	if (a->begin_info)
		return open_segment(a);
	return 0;
}

/*
 * Does a caller record of len bytes fit in the buffer? Once records were
 * dropped, only when the buffer has drained to half: a loss is one window
 * (one gap record), not a record lost here and there as sizes vary.
 */
static bool has_room(const struct sl_audit *a, size_t len)
{
	/* with nothing waiting it is written at once (or is the one that waits) */
	if (!a->head)
		return true;
	return a->q_caller_bytes + len <= (a->drop.records ? a->limit / 2 : a->limit);
}

/* batched: a full batch is written before the next record is built */
static void write_full_batch(struct sl_audit *a)
{
	int err;

	if (!a->batch || a->failing || a->q_bytes < batch_max(a))
		return;
	err = sl_aw_run_queue(a);
	if (err)
		note_failure(a, err);
}

/* not batched: write now (while failing, sl_audit_tick() retries) */
static void write_now(struct sl_audit *a)
{
	int err;

	if (a->batch || a->failing)
		return;
	err = sl_aw_run_queue(a);
	if (err)
		note_failure(a, err);
}

int sl_audit_append(struct sl_audit *a, json_t *rec, char **line_out, uint64_t *seq_out)
{
	uint8_t hash[SL_AUDIT_HASH_LEN];
	struct item *it = NULL;
	char *copy = NULL;
	uint64_t seq;
	int err;

	if (!a || !json_is_object(rec))
		return -EINVAL;
	write_full_batch(a);
	err = sl_aw_prepare(a);
	if (!err)
		err = build_item(a, rec, true, false, &it, hash);
	if (err == -EINVAL)
		return err;
	if (!err && !has_room(a, it->len))
		err = -ENOBUFS;
	if (!err && a->drop.records) {
		/* the first record after a loss: the gap record goes before it */
		item_free(it);
		it = NULL;
		err = chain_gap(a);
		if (!err)
			err = build_item(a, rec, true, false, &it, hash);
	}
	if (!err && line_out && !(copy = strdup(it->line)))
		err = -ENOMEM;
	if (err) {
		drop_count(a, rec, it ? it->len : 0, err);
		item_free(it);
		return err;
	}
	seq = it->seq;
	err = commit(a, it, hash);
	if (err) {
		drop_count(a, rec, 0, err);
		free(copy);
		return err;
	}
	if (seq_out)
		*seq_out = seq;
	if (line_out)
		*line_out = copy;
	write_now(a);
	return 0;
}

/* decimal digits of v at p; returns the count */
static size_t put_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

int sl_audit_append_members(struct sl_audit *a, const char *members, size_t len,
			    const struct sl_audit_meta *m, const char **line_out, size_t *len_out,
			    uint64_t *seq_out)
{
	static const char seq_key[] = "{\"seq\":", prev_key[] = ",\"prev\":\"";
	/* {"seq":N, members ,"prev":"16hex" ,"hash":"64hex"}\n */
	const size_t need = sizeof(seq_key) + 20 + 1 + len + sizeof(prev_key) + SL_AUDIT_PREV_HEX +
			    1 + SL_AUDIT_SUFFIX_LEN + 1;
	const size_t plen = sizeof(SL_AUDIT_HASH_PREFIX) - 1;
	uint8_t hash[SL_AUDIT_HASH_LEN];
	unsigned int hlen = 0;
	struct item *t = NULL;
	size_t n = 0;
	char *p;
	int err = 0;

	if (!a || !members || !len || members[0] == '{')
		return -EINVAL;
	pthread_once(&g_sha256_once, sha256_fetch);
	if (!a->md && !(a->md = EVP_MD_CTX_new()))
		err = -ENOMEM;
	write_full_batch(a);
	if (!err)
		err = sl_aw_prepare(a);
	if (!err && !has_room(a, need))
		err = -ENOBUFS;
	/* the first record after a loss: the gap record goes before it */
	if (!err && a->drop.records)
		err = chain_gap(a);
	if (!err && !(t = batch_for(a, need)))
		err = -ENOMEM;
	if (!err && !g_sha256)
		err = -ENOMEM;
	if (err) {
		drop_count_meta(a, m, need, err);
		return err;
	}
	p = t->line + t->len;
	memcpy(p, seq_key, sizeof(seq_key) - 1);
	n = sizeof(seq_key) - 1;
	n += put_u64(p + n, a->seq + 1);
	p[n++] = ',';
	memcpy(p + n, members, len);
	n += len;
	memcpy(p + n, prev_key, sizeof(prev_key) - 1);
	n += sizeof(prev_key) - 1;
	sl_audit_hex(a->hash, SL_AUDIT_PREV_HEX / 2, p + n);
	n += SL_AUDIT_PREV_HEX;
	p[n++] = '"';
	/* the body is p[0, n) and its closing brace */
	if (!EVP_DigestInit_ex(a->md, g_sha256, NULL) ||
	    !EVP_DigestUpdate(a->md, a->hash, SL_AUDIT_HASH_LEN) ||
	    !EVP_DigestUpdate(a->md, p, n) || !EVP_DigestUpdate(a->md, "}", 1) ||
	    !EVP_DigestFinal_ex(a->md, hash, &hlen) || hlen != SL_AUDIT_HASH_LEN) {
		drop_count_meta(a, m, need, -ENOMEM);
		return -ENOMEM;
	}
	memcpy(p + n, SL_AUDIT_HASH_PREFIX, plen);
	n += plen;
	sl_audit_hex(hash, SL_AUDIT_HASH_LEN, p + n);
	n += SL_AUDIT_HEX_LEN;
	memcpy(p + n, "\"}\n", 3);
	n += 3;
	batch_add(a, t, n, a->seq + 1, false, hash);
	if (seq_out)
		*seq_out = a->seq;
	if (len_out)
		*len_out = n;
	if (line_out) {
		*line_out = p;
		if (!a->batch) {
			/* written (and freed) below: hand out a copy */
			if (n > a->copy_cap) {
				char *c = realloc(a->copy, n);

				if (!c) {
					*line_out = NULL;
					goto out;
				}
				a->copy = c;
				a->copy_cap = n;
			}
			memcpy(a->copy, p, n);
			*line_out = a->copy;
		}
	}
out:
	write_now(a);
	return 0;
}

int sl_audit_commit(struct sl_audit *a)
{
	int err;

	if (!a)
		return -EINVAL;
	if (a->failing || !a->head)
		return 0;
	err = sl_aw_run_queue(a);
	if (err)
		note_failure(a, err);
	return err;
}

bool sl_audit_batch_full(const struct sl_audit *a)
{
	return a && a->batch && !a->failing && a->q_bytes >= batch_max(a);
}

bool sl_audit_troubled(const struct sl_audit *a)
{
	return a && (a->failing || a->drop.records);
}

uint64_t sl_audit_writes(const struct sl_audit *a)
{
	return a ? a->writes : 0;
}

uint64_t sl_audit_compress_cpu_ns(struct sl_audit *a)
{
	struct timespec ts;
	clockid_t cid;
	uint64_t ns = 0;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->lock);
	if (a->worker_running && !pthread_getcpuclockid(a->worker, &cid) &&
	    !clock_gettime(cid, &ts))
		ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	pthread_mutex_unlock(&a->lock);
	return ns;
}

int sl_audit_retry(struct sl_audit *a)
{
	int err = 0;

	if (!a)
		return -EINVAL;
	if (a->head || a->drop.records || a->failing)
		err = settle(a);
	if (!err)
		sl_aw_compress_retry_now(a);
	return err;
}

uint64_t sl_audit_drain(struct sl_audit *a, unsigned int timeout_ms)
{
	uint64_t deadline = sl_aw_mono_ms() + timeout_ms;

	if (!a)
		return 0;
	while (sl_audit_retry(a) && sl_aw_mono_ms() < deadline) {
		struct timespec ts = {0, RETRY_MIN_MS * 1000000L};

		nanosleep(&ts, NULL);
	}
	return a->q_records + a->drop.records;
}

void sl_audit_set_buffer_limit(struct sl_audit *a, uint64_t bytes)
{
	if (!a)
		return;
	if (!bytes)
		bytes = SL_AUDIT_BUFFER_DEFAULT;
	if (bytes < SL_AUDIT_BUFFER_MIN)
		bytes = SL_AUDIT_BUFFER_MIN;
	if (bytes > SL_AUDIT_BUFFER_MAX)
		bytes = SL_AUDIT_BUFFER_MAX;
	a->limit = bytes;
}

void sl_audit_get_status(const struct sl_audit *a, struct sl_audit_status *st)
{
	memset(st, 0, sizeof(*st));
	if (!a)
		return;
	st->failing = a->failing;
	st->buffer_high = a->q_caller_bytes >= a->limit / 2;
	st->error = a->failing ? a->fail_err : 0;
	st->last_error = a->failing ? a->last_err : 0;
	st->operation = a->failing ? a->fail_op : NULL;
	st->failing_since = a->fail_since;
	st->buffered_records = a->q_records;
	st->buffered_bytes = a->q_bytes;
	st->buffer_limit = a->limit;
	st->last_seq = a->seq;
	st->written_seq = a->written_seq;
	st->retries = a->failing ? a->retries : 0;
	st->failures = a->failures;
	st->dropped = a->dropped_total;
	st->dropped_pending = a->drop.records;
}

json_t *sl_audit_status_json(const struct sl_audit *a)
{
	struct sl_audit_status st;
	char since[64];
	json_t *o;

	sl_audit_get_status(a, &st);
	o = json_pack("{s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:I, s:O}", "state",
		      st.failing ? "failing" : "writing", "file", a ? a->path : NULL, "last_seq",
		      (json_int_t)st.last_seq, "written_seq", (json_int_t)st.written_seq,
		      "buffered_records", (json_int_t)st.buffered_records, "buffered_bytes",
		      (json_int_t)st.buffered_bytes, "buffer_limit", (json_int_t)st.buffer_limit,
		      "buffer_high", st.buffer_high, "failures", (json_int_t)st.failures,
		      "dropped_records", (json_int_t)st.dropped, "dropped_pending",
		      (json_int_t)st.dropped_pending, "dropped_types",
		      a && a->dropped_types ? a->dropped_types : json_null());
	if (!o || !st.failing)
		return o;
	format_time(&st.failing_since, since, sizeof(since));
	if (json_object_set_new(o, "failing_since", json_string(since)) ||
	    json_object_set_new(o, "operation", json_string(st.operation)) ||
	    json_object_set_new(o, "error", errno_text(st.error)) ||
	    json_object_set_new(o, "errno", errno_name(st.error)) ||
	    json_object_set_new(o, "last_error", errno_text(st.last_error)) ||
	    json_object_set_new(o, "retries", json_integer((json_int_t)st.retries))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int sl_audit_flush(struct sl_audit *a)
{
	if (!a)
		return -EINVAL;
	if (a->fd >= 0 && a->io.fdatasync(a->fd))
		return -errno;
	a->dirty = false;
	a->last_sync_ms = sl_aw_mono_ms();
	return 0;
}

int sl_audit_tick(struct sl_audit *a)
{
	uint64_t now;
	int err = 0, werr;

	if (!a)
		return -EINVAL;
	now = sl_aw_mono_ms();
	if ((a->head || a->drop.records || a->failing) && now >= a->next_retry_ms)
		settle(a);
	if (a->fsync_mode == SL_FSYNC_BATCH && a->dirty && now - a->last_sync_ms >= a->interval_ms)
		err = sl_audit_flush(a);
	pthread_mutex_lock(&a->lock);
	werr = a->worker_err;
	a->worker_err = 0;
	pthread_mutex_unlock(&a->lock);
	if (!a->failing && now >= a->next_compress_retry_ms)
		sl_aw_compress_retry_now(a);
	return err ? err : werr;
}

uint64_t sl_audit_last_seq(const struct sl_audit *a)
{
	return a ? a->seq : 0;
}

int sl_audit_head(struct sl_audit *a, uint64_t *seq, uint8_t hash[SL_AUDIT_HASH_LEN])
{
	int err;

	if (!a)
		return -EINVAL;
	if (a->failing || a->q_records || !a->seq || a->written_seq != a->seq)
		return -EAGAIN;
	err = sl_audit_flush(a);
	if (err)
		return err;
	*seq = a->seq;
	memcpy(hash, a->hash, SL_AUDIT_HASH_LEN);
	return 0;
}

const char *sl_audit_path(const struct sl_audit *a)
{
	return a ? a->path : NULL;
}

void sl_audit_close(struct sl_audit *a)
{
	if (!a)
		return;
	if (a->head || a->drop.records || a->failing)
		sl_audit_retry(a);
	if (a->fd >= 0) {
		if (a->io.fdatasync(a->fd))
			log_debug("audit: fdatasync '%s': %s", a->path, strerror(errno));
		close(a->fd);
	}
	if (a->q_records)
		log_debug("audit: %llu records could not be written",
			  (unsigned long long)a->q_records);
	while (a->head) {
		struct item *it = a->head;

		a->head = it->next;
		item_free(it);
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
	while (a->failed_jobs) {
		struct compress_job *j = a->failed_jobs;

		a->failed_jobs = j->next;
		free(j);
	}
	if (a->dirfd >= 0)
		close(a->dirfd);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	EVP_MD_CTX_free(a->md);
	item_free(a->spare);
	free(a->copy);
	json_decref(a->begin_info);
	json_decref(a->drop.types);
	json_decref(a->drop.sessions);
	json_decref(a->dropped_types);
	free(a->dir);
	free(a->path);
	free(a);
}
