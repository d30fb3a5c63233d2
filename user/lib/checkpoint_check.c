// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A log checked against its checkpoints (checkpoint.h): every checkpoint's
 * seal under its epoch's key, the epochs without holes, then the record at
 * every checkpoint's seq must be in the log with the hash the checkpoint
 * names. What each problem means for an attacker is in docs/operations.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

/* a checkpoint line longer than this is not one */
#define LINE_MAX_LEN 4096

struct entry {
	struct sl_ckpt c;
	uint64_t line;
	int state; /* 0 not seen, 1 matched, -1 other hash */
};

struct list {
	struct entry *v;
	size_t n, cap, cursor;
};

const char *sl_ckpt_problem_name(enum sl_ckpt_problem p)
{
	static const char *const names[] = {
	    [SL_CKPT_OK] = "ok",
	    [SL_CKPT_MALFORMED] = "malformed",
	    [SL_CKPT_FORGED] = "forged",
	    [SL_CKPT_ORDER] = "order",
	    [SL_CKPT_EPOCHS_MISSING] = "epochs_missing",
	    [SL_CKPT_REWRITTEN] = "rewritten",
	    [SL_CKPT_OLDEST_MISSING] = "oldest_missing",
	    [SL_CKPT_TAIL_CUT] = "tail_cut",
	    [SL_CKPT_IO] = "io",
	};

	if ((unsigned int)p >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[p];
}

__attribute__((format(printf, 6, 7))) static int problem(struct sl_ckpt_result *r,
							 enum sl_ckpt_problem p,
							 const struct entry *e, uint64_t line,
							 uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	if (r->problem != SL_CKPT_OK)
		return 1;
	r->problem = p;
	r->line = e ? e->line : line;
	r->epoch = e ? e->c.epoch : 0;
	r->seq = e ? e->c.seq : seq;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	return 1;
}

/*
 * One line into buf (LINE_MAX_LEN + 1 bytes at most, the newline dropped):
 * 1 a line, 0 end of file, -EMSGSIZE longer than a checkpoint can be (its
 * rest never read: /dev/zero or a stream without newlines does not fill the
 * memory), -ENODATA the last bytes without a newline, -EIO a read error.
 */
static int read_line(FILE *f, char *buf, size_t *len)
{
	size_t n = 0;
	int ch;

	while ((ch = getc_unlocked(f)) != EOF) {
		if (ch == '\n') {
			buf[n] = '\0';
			*len = n;
			return 1;
		}
		if (n == LINE_MAX_LEN)
			return -EMSGSIZE;
		buf[n++] = (char)ch;
	}
	if (ferror(f))
		return -EIO;
	return n ? -ENODATA : 0;
}

/* every line: a sealed checkpoint, epochs and seqs in order */
static int read_checkpoints(const char *path, const uint8_t k0[SL_CKPT_KEY_LEN], struct list *l,
			    struct sl_ckpt_result *r)
{
	struct sl_ckpt_verifier v;
	char *line, why[256];
	size_t len;
	uint64_t lineno = 0;
	int ret = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		r->problem = SL_CKPT_IO;
		snprintf(r->detail, sizeof(r->detail), "%s: %s", path, strerror(-ret));
		return ret;
	}
	line = malloc(LINE_MAX_LEN + 1);
	if (!line) {
		fclose(f);
		r->problem = SL_CKPT_IO;
		snprintf(r->detail, sizeof(r->detail), "%s: out of memory", path);
		return -ENOMEM;
	}
	sl_ckpt_verifier_init(&v, k0);
	for (;;) {
		struct entry *e;
		int ok, got = read_line(f, line, &len);

		if (got == 0 || got == -EIO)
			break; /* a read error: said below */
		lineno++;
		if (got == -ENODATA) {
			ret = problem(r, SL_CKPT_MALFORMED, NULL, lineno, 0,
				      "the line does not end with a newline (cut short)");
			break;
		}
		if (got == -EMSGSIZE) {
			ret = problem(r, SL_CKPT_MALFORMED, NULL, lineno, 0,
				      "the line is longer than %d bytes", LINE_MAX_LEN);
			break;
		}
		if (l->n == l->cap) {
			size_t nc = l->cap ? 2 * l->cap : 64;
			struct entry *nv = realloc(l->v, nc * sizeof(*nv));

			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			l->v = nv;
			l->cap = nc;
		}
		e = &l->v[l->n];
		memset(e, 0, sizeof(*e));
		e->line = lineno;
		if (sl_ckpt_parse(line, (size_t)len, &e->c, why, sizeof(why))) {
			ret = problem(r, SL_CKPT_MALFORMED, NULL, lineno, 0, "%s", why);
			break;
		}
		if (l->n && e->c.seq < l->v[l->n - 1].c.seq) {
			ret = problem(r, SL_CKPT_ORDER, e, 0, 0,
				      "seq %" PRIu64 " after a checkpoint of seq %" PRIu64
				      " (line %" PRIu64 "): the checkpoints are not of one log",
				      e->c.seq, l->v[l->n - 1].c.seq, l->v[l->n - 1].line);
			break;
		}
		if (l->n && e->c.epoch == l->v[l->n - 1].c.epoch) {
			ret =
			    problem(r, SL_CKPT_ORDER, e, 0, 0,
				    "epoch %" PRIu64 " a second time (line %" PRIu64
				    "): a line copied, or the key file went back in time (restored "
				    "from a backup or a snapshot) and sealed the epoch again",
				    e->c.epoch, l->v[l->n - 1].line);
			break;
		}
		ok = sl_ckpt_verify_mac(&v, &e->c);
		if (ok < 0) {
			ret = problem(r, SL_CKPT_ORDER, e, 0, 0,
				      "epoch %" PRIu64 " after epoch %" PRIu64
				      ": epochs must increase (lines reordered or copied)",
				      e->c.epoch, v.cur.epoch);
			break;
		}
		if (!ok) {
			ret = problem(r, SL_CKPT_FORGED, e, 0, 0,
				      "the seal of epoch %" PRIu64 " (seq %" PRIu64
				      ", %s) does not match: the checkpoint was forged or altered, "
				      "or the verification key is not this host's",
				      e->c.epoch, e->c.seq, e->c.time);
			break;
		}
		if (l->n ? e->c.epoch != l->v[l->n - 1].c.epoch + 1 : e->c.epoch != 0) {
			uint64_t from = l->n ? l->v[l->n - 1].c.epoch + 1 : 0;

			problem(r, SL_CKPT_EPOCHS_MISSING, e, 0, 0,
				"the checkpoints of epochs %" PRIu64 "..%" PRIu64
				" are not in the file (removed, or the daemon stopped between "
				"sealing one and writing it); compare with the copies in syslog",
				from, e->c.epoch - 1);
			ret = 1; /* go on: the seals and the log are still checked */
		}
		l->n++;
	}
	if (ret == 0 && !l->n && !ferror(f))
		ret = problem(r, SL_CKPT_EPOCHS_MISSING, NULL, 0, 0,
			      "%s has no checkpoint: the file was emptied (or is not the "
			      "checkpoints file); compare with the copies in syslog",
			      path);
	if (ret >= 0 && ferror(f)) {
		ret = -EIO;
		r->problem = SL_CKPT_IO;
		snprintf(r->detail, sizeof(r->detail), "%s: read error", path);
	}
	free(line);
	fclose(f);
	r->checkpoints = l->n;
	if (l->n) {
		r->first_epoch = l->v[0].c.epoch;
		r->last_epoch = l->v[l->n - 1].c.epoch;
		r->last_seq = l->v[l->n - 1].c.seq;
		snprintf(r->last_time, sizeof(r->last_time), "%s", l->v[l->n - 1].c.time);
	}
	return ret;
}

/* a record of the log that verified: is it one a checkpoint names? */
static void on_record(void *ctx, uint64_t seq, const uint8_t *hash)
{
	struct list *l = ctx;

	while (l->cursor < l->n && l->v[l->cursor].c.seq <= seq) {
		struct entry *e = &l->v[l->cursor];

		if (e->c.seq == seq)
			e->state = memcmp(e->c.hash, hash, SL_CKPT_HASH_LEN) ? -1 : 1;
		l->cursor++;
	}
}

static void compare(const struct list *l, const struct sl_verify_result *vres,
		    struct sl_ckpt_result *r)
{
	bool chain_ok = vres->status == SL_VERIFY_OK;

	/* the most telling first: a rewritten record, then missing ends */
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].state == -1)
			problem(r, SL_CKPT_REWRITTEN, &l->v[i], 0, 0,
				"the record seq %" PRIu64
				" does not have the hash checkpoint epoch %" PRIu64
				" (%s) sealed: the log was rewritten before it (records edited or "
				"deleted and the chain recomputed)",
				l->v[i].c.seq, l->v[i].c.epoch, l->v[i].c.time);
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->v[i];

		if (e->state == 1)
			r->matched++;
		if (e->state || !vres->records)
			continue;
		if (e->c.seq < vres->first_seq)
			problem(r, SL_CKPT_OLDEST_MISSING, e, 0, 0,
				"checkpoint epoch %" PRIu64 " (%s) seals seq %" PRIu64
				" but the log given starts at seq %" PRIu64 ": records %" PRIu64
				"..%" PRIu64
				" are missing (the oldest segments were removed, or not given)",
				e->c.epoch, e->c.time, e->c.seq, vres->first_seq, e->c.seq,
				vres->first_seq - 1);
		else if (chain_ok && e->c.seq > vres->last_seq)
			problem(r, SL_CKPT_TAIL_CUT, e, 0, 0,
				"the log ends at seq %" PRIu64 " but checkpoint epoch %" PRIu64
				" (%s) seals seq %" PRIu64 ": records %" PRIu64 "..%" PRIu64
				" were cut from its end",
				vres->last_seq, e->c.epoch, e->c.time, e->c.seq, vres->last_seq + 1,
				e->c.seq);
	}
	if (!vres->records && l->n)
		problem(r, SL_CKPT_TAIL_CUT, &l->v[l->n - 1], 0, 0,
			"the log has no records but checkpoints seal up to seq %" PRIu64,
			l->v[l->n - 1].c.seq);
}

int sl_ckpt_check(const char *ckpt_path, const uint8_t k0[SL_CKPT_KEY_LEN],
		  const char *const *paths, int npaths, struct sl_verify_result *vres,
		  struct sl_ckpt_result *cres)
{
	struct list l = {0};
	int ret, vret;

	memset(cres, 0, sizeof(*cres));
	ret = read_checkpoints(ckpt_path, k0, &l, cres);
	if (ret < 0) {
		memset(vres, 0, sizeof(*vres));
		goto out;
	}
	vret = sl_audit_verify_each(paths, npaths, on_record, &l, vres);
	if (vret < 0) {
		ret = vret;
		goto out;
	}
	/* the seals are checked up to the first bad line; the log against those */
	compare(&l, vres, cres);
	ret = vret || cres->problem != SL_CKPT_OK ? 1 : 0;
out:
	free(l.v);
	return ret;
}
