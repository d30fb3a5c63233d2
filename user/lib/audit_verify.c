// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Audit log verification (scopelock verify; docs/events.md, "Verifying").
 *
 * Segments (plain or gzip, read through zlib's gzread) are put in order by
 * the first seq they hold, then every line is checked in turn: the hash is
 * cut off textually, the body parsed by jansson, and the first problem wins.
 * Each record's "prev" member (the first 16 hex digits of the hash it was
 * chained to) tells an altered record (its content no longer matches its
 * hash) from a chain break (a record that was chained to something else
 * than the record before it: that one was edited and re-hashed, or lines
 * were spliced in from elsewhere).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "audit_priv.h"
#include "util.h"

struct seg {
	char *path;
	uint64_t order; /* first seq, or the best guess at it */
	dev_t dev;
	ino_t ino;
};

struct segs {
	struct seg *v;
	size_t n, cap;
};

struct vstate {
	bool have_prev;
	uint64_t prev_seq;
	uint8_t prev_hash[SL_AUDIT_HASH_LEN];
	const char *prev_file;
	uint64_t prev_line;
	bool anchored; /* the chain starts on an unverified segment_start */
	uint64_t anchor_seq;
	const char *anchor_file;
};

const char *sl_verify_status_name(enum sl_verify_status s)
{
	static const char *const names[] = {
	    [SL_VERIFY_OK] = "ok",
	    [SL_VERIFY_MISSING] = "missing",
	    [SL_VERIFY_REORDERED] = "reordered",
	    [SL_VERIFY_ALTERED] = "altered",
	    [SL_VERIFY_CHAIN] = "chain",
	    [SL_VERIFY_TRUNCATED] = "truncated",
	    [SL_VERIFY_MALFORMED] = "malformed",
	    [SL_VERIFY_IO] = "io",
	};

	if ((unsigned int)s >= SL_ARRAY_SIZE(names))
		return "unknown";
	return names[s];
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

__attribute__((format(printf, 6, 7))) static int report(struct sl_verify_result *res,
							enum sl_verify_status status,
							const char *file, uint64_t line,
							uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	snprintf(res->file, sizeof(res->file), "%s", file ? file : "");
	res->line = line;
	res->seq = seq;
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
	return 1;
}

/* an I/O or usage error: -errno, described in res as well */
__attribute__((format(printf, 4, 5))) static int io_error(struct sl_verify_result *res, int err,
							  const char *file, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	res->status = SL_VERIFY_IO;
	snprintf(res->file, sizeof(res->file), "%s", file ? file : "");
	va_start(ap, fmt);
	vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
	n = strlen(res->detail);
	if (err && n < sizeof(res->detail))
		snprintf(res->detail + n, sizeof(res->detail) - n, ": %s", strerror(-err));
	return err;
}

/* "{"seq":N," without parsing: for ordering guesses and look-ahead */
static bool peek_seq(const char *line, uint64_t *seq)
{
	unsigned long long v;
	char *end;

	if (strncmp(line, "{\"seq\":", 7) || line[7] < '0' || line[7] > '9')
		return false;
	errno = 0;
	v = strtoull(line + 7, &end, 10);
	if (errno || (*end != ',' && *end != '}'))
		return false;
	*seq = v;
	return true;
}

/* ---- collecting and ordering segments ---- */

static int add_seg(struct segs *s, const char *path, const struct stat *st)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].dev == st->st_dev && s->v[i].ino == st->st_ino)
			return 0; /* named twice */
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct seg *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].path = strdup(path);
	if (!s->v[s->n].path)
		return -ENOMEM;
	s->v[s->n].order = UINT64_MAX;
	s->v[s->n].dev = st->st_dev;
	s->v[s->n].ino = st->st_ino;
	s->n++;
	return 0;
}

static void free_segs(struct segs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
}

static int add_dir(struct segs *s, const char *dir, struct sl_verify_result *res)
{
	struct dirent **names = NULL;
	int n, err = 0, found = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return io_error(res, -errno, dir, "cannot read directory '%s'", dir);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char path[4096];
		struct stat st;

		if (err || !sl_audit_is_segment_name(name))
			continue;
		/* mid-compression: the .zst (.gz) is complete once it has its name */
		if (!sl_audit_is_compressed_name(name)) {
			snprintf(path, sizeof(path), "%s/%s.zst", dir, name);
			if (!stat(path, &st))
				continue;
			snprintf(path, sizeof(path), "%s/%s.gz", dir, name);
			if (!stat(path, &st))
				continue;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
			err = io_error(res, -ENAMETOOLONG, dir, "'%s/%s'", dir, name);
			continue;
		}
		if (stat(path, &st)) {
			err = io_error(res, -errno, path, "cannot open '%s'", path);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		err = add_seg(s, path, &st);
		found++;
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!err && !found)
		return io_error(res, -ENOENT, dir, "no audit*.jsonl[.zst|.gz] files in '%s'", dir);
	return err;
}

/* where a segment goes: its first record's seq, else its name's, else last */
static void guess_order(struct seg *g)
{
	struct sl_lines *r = NULL;
	uint8_t hash[SL_AUDIT_HASH_LEN];
	const char *why;
	char msg[256];
	json_t *obj;
	uint64_t seq;
	size_t len, blen;
	char *line;
	bool nl;

	if (!sl_audit_name_seq(base_name(g->path), &seq))
		g->order = seq;
	if (sl_lines_open(g->path, &r))
		return;
	if (sl_lines_next(r, &line, &len, &nl) == 1 && nl) {
		if (peek_seq(line, &seq))
			g->order = seq;
		if (!sl_audit_cut_hash(line, len, &blen, hash, &why) &&
		    !sl_audit_parse_body(line, blen, &obj, &seq, msg, sizeof(msg))) {
			g->order = seq;
			json_decref(obj);
		}
	}
	sl_lines_close(r);
}

/* a plain closed segment compressed (and removed) since it was listed */
static int follow_compression(struct seg *g)
{
	struct stat st;
	char *gz;

	if (!access(g->path, F_OK) || errno != ENOENT || sl_audit_is_compressed_name(g->path))
		return 0;
	for (int i = 0; i < 2; i++) {
		if (asprintf(&gz, "%s%s", g->path, i ? ".gz" : ".zst") < 0)
			return -ENOMEM;
		if (!stat(gz, &st)) {
			free(g->path);
			g->path = gz;
			return 0;
		}
		free(gz);
	}
	return 0; /* reported when it is opened */
}

static int cmp_seg(const void *pa, const void *pb)
{
	const struct seg *a = pa, *b = pb;

	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return strcmp(a->path, b->path);
}

static int collect(const char *const *paths, int npaths, struct segs *s,
		   struct sl_verify_result *res)
{
	int err;

	if (!paths || npaths <= 0)
		return io_error(res, -EINVAL, NULL, "no file or directory to verify");
	for (int i = 0; i < npaths; i++) {
		struct stat st;

		if (stat(paths[i], &st))
			return io_error(res, -errno, paths[i], "cannot open '%s'", paths[i]);
		if (S_ISDIR(st.st_mode))
			err = add_dir(s, paths[i], res);
		else if (S_ISREG(st.st_mode))
			err = add_seg(s, paths[i], &st);
		else
			err = io_error(res, -EINVAL, paths[i], "'%s' is not a file or directory",
				       paths[i]);
		if (err)
			return err == -ENOMEM ? io_error(res, err, paths[i], "verify") : err;
	}
	for (size_t i = 0; i < s->n; i++)
		guess_order(&s->v[i]);
	qsort(s->v, s->n, sizeof(*s->v), cmp_seg);
	return 0;
}

/* ---- checking ---- */

/* is `want` somewhere after the current position? (for reordered vs missing) */
static bool find_later(struct sl_lines *cur, const char *cur_path, uint64_t cur_line,
		       const struct segs *s, size_t next, uint64_t want, const char **file,
		       uint64_t *line)
{
	struct sl_lines *r = cur;
	const char *path = cur_path;
	uint64_t n = cur_line;
	size_t i = next;

	for (;;) {
		char *l;
		size_t len;
		bool nl;
		uint64_t seq;

		while (sl_lines_next(r, &l, &len, &nl) == 1) {
			n++;
			if (peek_seq(l, &seq) && seq == want) {
				*file = path;
				*line = n;
				if (r != cur)
					sl_lines_close(r);
				return true;
			}
		}
		if (r != cur)
			sl_lines_close(r);
		do {
			if (i >= s->n)
				return false;
			path = s->v[i++].path;
		} while (sl_lines_open(path, &r));
		n = 0;
	}
}

static bool prev_matches(const struct vstate *st, const char *ind)
{
	char hex[SL_AUDIT_HEX_LEN + 1];
	size_t n = strlen(ind);

	if (n < SL_AUDIT_PREV_HEX || n > SL_AUDIT_HEX_LEN)
		return false;
	sl_audit_hex(st->prev_hash, SL_AUDIT_HASH_LEN, hex);
	return !strncmp(hex, ind, n);
}

struct ctx {
	const struct segs *segs;
	size_t idx; /* current segment */
	const char *path;
	struct sl_lines *r;
	uint64_t line;
	bool saw_end;
	struct vstate st;
	struct sl_verify_result *res;
	sl_verify_record_fn record;
	void *record_ctx;
};

static int check_seq(struct ctx *c, uint64_t seq, bool content_ok, const char *ind)
{
	uint64_t expected = c->st.prev_seq + 1;
	const char *pf = c->st.prev_file ? base_name(c->st.prev_file) : "the anchor";
	const char *lf;
	uint64_t ll;

	if (seq == expected)
		return 0;
	if (!content_ok && ind && prev_matches(&c->st, ind))
		return report(
		    c->res, SL_VERIFY_ALTERED, c->path, c->line, seq,
		    "seq %llu where %llu was expected, in a record chained to the previous "
		    "one (seq %llu, %s:%llu): its seq was changed and it no longer matches "
		    "its hash",
		    (unsigned long long)seq, (unsigned long long)expected,
		    (unsigned long long)c->st.prev_seq, pf, (unsigned long long)c->st.prev_line);
	if (seq < expected)
		return report(
		    c->res, SL_VERIFY_REORDERED, c->path, c->line, seq,
		    "seq %llu comes after seq %llu (%s:%llu): a record repeated or out of "
		    "order",
		    (unsigned long long)seq, (unsigned long long)c->st.prev_seq, pf,
		    (unsigned long long)c->st.prev_line);
	if (find_later(c->r, c->path, c->line, c->segs, c->idx + 1, expected, &lf, &ll))
		return report(c->res, SL_VERIFY_REORDERED, c->path, c->line, seq,
			      "seq %llu where %llu was expected; seq %llu comes later, at %s:%llu: "
			      "records out of order",
			      (unsigned long long)seq, (unsigned long long)expected,
			      (unsigned long long)expected, base_name(lf), (unsigned long long)ll);
	if (seq - expected == 1)
		return report(c->res, SL_VERIFY_MISSING, c->path, c->line, seq,
			      "seq %llu follows seq %llu (%s:%llu): record seq %llu is missing",
			      (unsigned long long)seq, (unsigned long long)c->st.prev_seq, pf,
			      (unsigned long long)c->st.prev_line, (unsigned long long)expected);
	return report(c->res, SL_VERIFY_MISSING, c->path, c->line, seq,
		      "seq %llu follows seq %llu (%s:%llu): %llu records (seq %llu..%llu) are "
		      "missing",
		      (unsigned long long)seq, (unsigned long long)c->st.prev_seq, pf,
		      (unsigned long long)c->st.prev_line, (unsigned long long)(seq - expected),
		      (unsigned long long)expected, (unsigned long long)(seq - 1));
}

/* the first record of the first segment: where the chain is anchored */
static int anchor(struct ctx *c, json_t *obj, uint64_t seq, const char *type)
{
	static const uint8_t zero[SL_AUDIT_HASH_LEN];
	json_t *ps = json_object_get(obj, "prev_seq"), *ph = json_object_get(obj, "prev_hash");

	if (strcmp(type, "segment_start")) {
		if (seq != 1)
			return report(c->res, SL_VERIFY_MISSING, c->path, c->line, seq,
				      "the first record is seq %llu and not a segment_start: the "
				      "records before it are missing",
				      (unsigned long long)seq);
		/* a log that starts at seq 1 chains from zeros even without one */
		c->st.have_prev = true;
		c->st.prev_seq = 0;
		memset(c->st.prev_hash, 0, sizeof(c->st.prev_hash));
		return 0;
	}
	if (!json_is_integer(ps) || json_integer_value(ps) < 0 || !json_is_string(ph) ||
	    json_string_length(ph) != SL_AUDIT_HEX_LEN ||
	    sl_audit_unhex(json_string_value(ph), SL_AUDIT_HASH_LEN, c->st.prev_hash))
		return report(c->res, SL_VERIFY_MALFORMED, c->path, c->line, seq,
			      "segment_start without a valid \"prev_seq\" and \"prev_hash\"");
	c->st.have_prev = true;
	c->st.prev_seq = (uint64_t)json_integer_value(ps);
	c->st.prev_file = NULL;
	c->st.prev_line = 0;
	if (c->st.prev_seq == 0 && memcmp(c->st.prev_hash, zero, sizeof(zero)))
		return report(
		    c->res, SL_VERIFY_CHAIN, c->path, c->line, seq,
		    "the first segment_start of a log (prev_seq 0) must chain from 32 zero "
		    "bytes, not from %s",
		    json_string_value(ph));
	if (c->st.prev_seq != 0) {
		c->st.anchored = true;
		c->st.anchor_seq = seq;
		c->st.anchor_file = c->path;
	}
	return 0;
}

/* a segment_start after the first: its claims must match the chain */
static int check_start_claims(struct ctx *c, json_t *obj, uint64_t seq)
{
	json_t *ps = json_object_get(obj, "prev_seq"), *ph = json_object_get(obj, "prev_hash");
	char hex[SL_AUDIT_HEX_LEN + 1];

	sl_audit_hex(c->st.prev_hash, SL_AUDIT_HASH_LEN, hex);
	if (!json_is_integer(ps) || !json_is_string(ph))
		return report(c->res, SL_VERIFY_MALFORMED, c->path, c->line, seq,
			      "segment_start without a valid \"prev_seq\" and \"prev_hash\"");
	if ((uint64_t)json_integer_value(ps) != c->st.prev_seq ||
	    strcmp(json_string_value(ph), hex))
		return report(c->res, SL_VERIFY_CHAIN, c->path, c->line, seq,
			      "segment_start says it follows seq %lld with hash %.16s..., but the "
			      "previous record (seq %llu, %s:%llu) has hash %.16s...",
			      (long long)json_integer_value(ps), json_string_value(ph),
			      (unsigned long long)c->st.prev_seq,
			      c->st.prev_file ? base_name(c->st.prev_file) : "?",
			      (unsigned long long)c->st.prev_line, hex);
	return 0;
}

/*
 * What the writer says about itself (a verified record): gaps (records it
 * lost: the chain is intact, the log is not complete), failures, recoveries.
 */
static int note_writer_record(struct ctx *c, json_t *obj, const char *type)
{
	json_t *note;

	if (strcmp(type, "gap") && strcmp(type, "audit_failure") && strcmp(type, "audit_resumed"))
		return 0;
	if (!strcmp(type, "gap")) {
		json_int_t n = json_integer_value(json_object_get(obj, "records"));

		c->res->gaps++;
		c->res->lost_records += n > 0 ? (uint64_t)n : 0;
	} else if (!strcmp(type, "audit_failure")) {
		c->res->audit_failures++;
	}
	if (!c->res->notes)
		c->res->notes = json_array();
	note = json_deep_copy(obj);
	if (note)
		json_object_del(note, "prev"); /* noise here: it was checked */
	if (!c->res->notes || !note || json_object_set_new(note, "file", json_string(c->path)) ||
	    json_object_set_new(note, "line", json_integer((json_int_t)c->line)) ||
	    json_array_append_new(c->res->notes, note))
		return io_error(c->res, -ENOMEM, c->path, "verify");
	return 0;
}

static int check_line(struct ctx *c, char *line, size_t len)
{
	uint8_t hash[SL_AUDIT_HASH_LEN], calc[SL_AUDIT_HASH_LEN];
	const char *why, *type, *ind;
	bool first = c->line == 1, content_ok;
	json_t *obj = NULL;
	char msg[256];
	uint64_t seq = 0;
	size_t blen;
	int ret;

	if (c->saw_end) {
		peek_seq(line, &seq);
		return report(c->res, SL_VERIFY_MALFORMED, c->path, c->line, seq,
			      "a record follows the segment_end record of line %llu",
			      (unsigned long long)c->line - 1);
	}
	if (sl_audit_cut_hash(line, len, &blen, hash, &why)) {
		peek_seq(line, &seq);
		return report(c->res, SL_VERIFY_MALFORMED, c->path, c->line, seq, "%s", why);
	}
	if (sl_audit_parse_body(line, blen, &obj, &seq, msg, sizeof(msg))) {
		peek_seq(line, &seq);
		if (c->st.have_prev && !sl_audit_chain_hash(c->st.prev_hash, line, blen, calc) &&
		    memcmp(calc, hash, sizeof(hash)))
			return report(
			    c->res, SL_VERIFY_ALTERED, c->path, c->line, seq,
			    "the record does not match its hash (and is no longer a valid "
			    "record: %s)",
			    msg);
		return report(c->res, SL_VERIFY_MALFORMED, c->path, c->line, seq, "%s", msg);
	}
	type = json_string_value(json_object_get(obj, "type")) ?: "";

	if (first && !c->st.have_prev) {
		ret = anchor(c, obj, seq, type);
		if (ret)
			goto out;
	} else if (!first && !strcmp(type, "segment_start")) {
		ret = report(c->res, SL_VERIFY_MALFORMED, c->path, c->line, seq,
			     "a segment_start record in the middle of a segment");
		goto out;
	}

	ret = sl_audit_chain_hash(c->st.prev_hash, line, blen, calc);
	if (ret) {
		ret = io_error(c->res, ret, c->path, "SHA-256");
		goto out;
	}
	content_ok = !memcmp(calc, hash, sizeof(hash));
	if (!strcmp(type, "segment_start"))
		ind = json_string_value(json_object_get(obj, "prev_hash"));
	else
		ind = json_string_value(json_object_get(obj, "prev"));

	ret = check_seq(c, seq, content_ok, ind);
	if (ret)
		goto out;
	if (!content_ok) {
		char hex[SL_AUDIT_HEX_LEN + 1];

		sl_audit_hex(c->st.prev_hash, SL_AUDIT_HASH_LEN, hex);
		if (ind && !prev_matches(&c->st, ind))
			ret = report(c->res, SL_VERIFY_CHAIN, c->path, c->line, seq,
				     "the record does not chain from the previous one (seq %llu, "
				     "%s:%llu): it was chained to a hash beginning %.16s, but that "
				     "record's hash begins %.16s; the previous record was altered "
				     "and re-hashed, or records were spliced in",
				     (unsigned long long)c->st.prev_seq,
				     c->st.prev_file ? base_name(c->st.prev_file) : "the anchor",
				     (unsigned long long)c->st.prev_line, ind, hex);
		else
			ret =
			    report(c->res, SL_VERIFY_ALTERED, c->path, c->line, seq,
				   "the record's content does not match its hash: it was altered");
		goto out;
	}
	if (first && c->st.prev_file && !strcmp(type, "segment_start")) {
		ret = check_start_claims(c, obj, seq);
		if (ret)
			goto out;
	}

	if (!strcmp(type, "segment_end"))
		c->saw_end = true;
	ret = note_writer_record(c, obj, type);
	if (ret)
		goto out;
	c->st.prev_seq = seq;
	memcpy(c->st.prev_hash, hash, sizeof(hash));
	c->st.prev_file = c->path;
	c->st.prev_line = c->line;
	if (!c->res->records)
		c->res->first_seq = seq;
	c->res->last_seq = seq;
	c->res->records++;
	if (c->record)
		c->record(c->record_ctx, seq, hash);
	ret = 0;
out:
	json_decref(obj);
	return ret;
}

/* the data of a segment ended (or broke off): say how */
static int check_end(struct ctx *c, bool partial, size_t partial_len, bool must_close)
{
	uint64_t next = c->st.have_prev ? c->st.prev_seq + 1 : 0;
	const char *msg = NULL;
	int st = sl_lines_status(c->r, &msg);

	if (st == -EPIPE)
		return report(c->res, SL_VERIFY_TRUNCATED, c->path, c->line + 1, next,
			      "the compressed data ends early (zlib: %s): the file was cut short",
			      msg ?: "unexpected end of file");
	if (st == -EBADMSG)
		return report(c->res, SL_VERIFY_IO, c->path, c->line + 1, next,
			      "corrupt compressed data (zlib: %s)", msg ?: "data error");
	if (st < 0)
		return io_error(c->res, st, c->path, "reading '%s' (zlib: %s)", c->path,
				msg ?: "error");
	if (partial)
		return report(c->res, SL_VERIFY_TRUNCATED, c->path, c->line + 1, next,
			      "partial last line: %zu byte%s without a newline (the write was cut "
			      "short)",
			      partial_len, partial_len == 1 ? "" : "s");
	if (!must_close)
		return 0;
	if (c->line == 0)
		return report(c->res, SL_VERIFY_TRUNCATED, c->path, 1, next,
			      "a closed segment is empty");
	if (!c->saw_end)
		return report(c->res, SL_VERIFY_TRUNCATED, c->path, c->line + 1, next,
			      "the closed segment ends at seq %llu without a segment_end record: "
			      "its end was cut off",
			      (unsigned long long)c->st.prev_seq);
	return 0;
}

static int check_segment(struct ctx *c, bool is_last)
{
	bool must_close = !is_last || strcmp(base_name(c->path), SL_AUDIT_CURRENT);
	bool gz_name = sl_audit_is_compressed_name(c->path);
	bool zst_name = sl_audit_is_zst_name(c->path);
	int ret;

	ret = sl_lines_open(c->path, &c->r);
	if (ret)
		return io_error(c->res, ret, c->path, "cannot open '%s'", c->path);
	c->line = 0;
	c->saw_end = false;
	for (;;) {
		char *line;
		size_t len;
		bool nl;

		ret = sl_lines_next(c->r, &line, &len, &nl);
		if (ret == -EMSGSIZE) {
			ret = report(c->res, SL_VERIFY_MALFORMED, c->path, c->line + 1, 0,
				     "a line longer than %u bytes", SL_AUDIT_LINE_MAX);
			break;
		}
		if (ret < 0) {
			ret = io_error(c->res, ret, c->path, "reading '%s'", c->path);
			break;
		}
		if (gz_name && c->line == 0 && ret == 0 && sl_lines_status(c->r, NULL) == 0) {
			ret = report(c->res, SL_VERIFY_TRUNCATED, c->path, 1, 0,
				     "the compressed segment is empty");
			break;
		}
		if (gz_name && c->line == 0 &&
		    (!sl_lines_compressed(c->r) || sl_lines_zstd(c->r) != zst_name) &&
		    sl_lines_status(c->r, NULL) == 0) {
			ret = report(c->res, SL_VERIFY_MALFORMED, c->path, 1, 0,
				     zst_name ? "the file is named .zst but is not zstd data"
					      : "the file is named .gz but is not gzip data");
			break;
		}
		if (ret == 0 || !nl) {
			ret = check_end(c, ret == 1, ret == 1 ? len : 0, must_close);
			break;
		}
		c->line++;
		ret = check_line(c, line, len);
		if (ret)
			break;
	}
	sl_lines_close(c->r);
	c->r = NULL;
	return ret;
}

void sl_verify_result_release(struct sl_verify_result *res)
{
	if (res) {
		json_decref(res->notes);
		res->notes = NULL;
	}
}

int sl_audit_verify(const char *const *paths, int npaths, struct sl_verify_result *res)
{
	return sl_audit_verify_each(paths, npaths, NULL, NULL, res);
}

int sl_audit_verify_each(const char *const *paths, int npaths, sl_verify_record_fn record,
			 void *ctx, struct sl_verify_result *res)
{
	struct segs segs = {0};
	struct ctx c = {.record = record, .record_ctx = ctx};
	int ret;

	if (!res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	ret = collect(paths, npaths, &segs, res);
	if (ret)
		goto out;
	c.segs = &segs;
	c.res = res;
	for (c.idx = 0; c.idx < segs.n; c.idx++) {
		ret = follow_compression(&segs.v[c.idx]);
		if (ret) {
			io_error(res, ret, segs.v[c.idx].path, "verify");
			goto out;
		}
		c.path = segs.v[c.idx].path;
		ret = check_segment(&c, c.idx + 1 == segs.n);
		if (ret)
			goto out;
	}
	res->status = SL_VERIFY_OK;
	res->segments = segs.n;
	if (c.st.anchored)
		snprintf(res->detail, sizeof(res->detail),
			 "the chain is anchored on the segment_start of %s (seq %llu): the records "
			 "before it were not verified",
			 base_name(c.st.anchor_file), (unsigned long long)c.st.anchor_seq);
	else if (res->records)
		snprintf(res->detail, sizeof(res->detail),
			 "verified from the start of the log (seq 1)");
	else
		snprintf(res->detail, sizeof(res->detail), "no records");
out:
	if (ret)
		res->segments = segs.n;
	free_segs(&segs);
	return ret;
}
