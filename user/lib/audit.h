/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Tamper-evident audit log (docs/events.md, "The audit log").
 *
 * JSON Lines in DIR/audit.jsonl. Every line is one record whose first member
 * is "seq" (gapless, starting at 1 for a new log) and whose last member is
 * "hash": hex(SHA-256(prev_hash_raw[32] || body)), where body is the line
 * without its trailing newline and with the final `,"hash":"<64 hex>"` cut
 * out (so body is itself a JSON object). The first record's prev_hash is 32
 * zero bytes. Files are created 0600.
 *
 * Rotation: when audit.jsonl reaches rotate_bytes a "segment_end" record
 * closes it, it is renamed audit-<first seq, 20 digits>.jsonl, compressed to
 * .jsonl.zst (zstd level 1, off the event loop; segments of older versions
 * are .jsonl.gz and are read as they are) and the plain file removed; the new
 * audit.jsonl starts with a "segment_start" record carrying the previous hash,
 * so the chain continues across segments. On open, an existing log is
 * resumed from its last record; a damaged tail is never rewritten: the
 * segment is rotated out as it is and the new segment says so.
 *
 * When the log cannot be written (disk full, I/O error, any failed write,
 * fdatasync, create or rename), records keep their place in the chain: each
 * gets its seq and hash when it is appended and waits, as its finished line,
 * in a bounded in-memory buffer (the write queue) until the file can be
 * written again; sl_audit_tick() retries. The file never keeps half a line.
 * A record that does not fit in the buffer is dropped before it gets a seq
 * (no seq is ever skipped) and counted; the loss is stated by a "gap" record
 * chained where the dropped records would have been. An "audit_failure"
 * record is chained when writing first fails and an "audit_resumed" record
 * once everything waiting is in the file (docs/events.md).
 */
#ifndef SL_AUDIT_H
#define SL_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

enum sl_fsync_mode {
	SL_FSYNC_ALWAYS = 0, /* fdatasync after every record */
	SL_FSYNC_BATCH = 1,  /* fdatasync from sl_audit_tick() every interval */
	SL_FSYNC_NONE = 2,   /* leave it to the kernel */
};

/* bytes of records waiting in memory while the log cannot be written */
#define SL_AUDIT_BUFFER_DEFAULT (64ULL << 20)
#define SL_AUDIT_BUFFER_MIN (256ULL << 10)
#define SL_AUDIT_BUFFER_MAX (1ULL << 30)

struct sl_audit_opts {
	const char *dir;       /* created 0700 if missing */
	uint64_t rotate_bytes; /* 0: never rotate */
	enum sl_fsync_mode fsync_mode;
	unsigned int fsync_interval_ms; /* SL_FSYNC_BATCH; default 200 */
	uint64_t buffer_bytes;		/* 0: SL_AUDIT_BUFFER_DEFAULT */
	/*
	 * Batched writes: appended records wait (in the chain, in order) until
	 * sl_audit_commit() or sl_audit_tick(), or until 1 MiB (at most a
	 * quarter of the buffer limit) waits, and go out with one write(2).
	 * false: every append is written at once.
	 */
	bool batch;
};

/* what the log needs to know of a record it gets as text (drop accounting) */
struct sl_audit_meta {
	const char *type;    /* "open" */
	const char *session; /* NULL: none */
	const char *time;    /* the record's "time", NULL: now */
};

/* the writer's state, for the daemon's decisions and `scopelock status` */
struct sl_audit_status {
	bool failing;		       /* records wait in the buffer: a write failed */
	bool buffer_high;	       /* buffered record bytes >= 7/8 of the limit */
	int error;		       /* -errno of the first failure of this period, 0 */
	int last_error;		       /* -errno of the latest failed attempt */
	const char *operation;	       /* what failed first: "write", "fdatasync", ... */
	struct timespec failing_since; /* CLOCK_REALTIME */
	uint64_t buffered_records;     /* lines waiting (the log's own included) */
	uint64_t buffered_bytes;
	uint64_t buffer_limit;	  /* bytes of caller records the buffer holds */
	uint64_t last_seq;	  /* last seq chained (written or waiting) */
	uint64_t written_seq;	  /* last seq in the file */
	uint64_t retries;	  /* failed retries in this period */
	uint64_t failures;	  /* failure periods since the log was opened */
	uint64_t dropped;	  /* records dropped since the log was opened */
	uint64_t dropped_pending; /* dropped, not yet stated by a gap record */
};

struct sl_audit;

/*
 * Open (or resume) the log. Everything the opening has to write (a new
 * segment, a rotation left half done) is written before it returns: an error
 * means nothing could be written.
 */
int sl_audit_open(const struct sl_audit_opts *opts, struct sl_audit **out);
/*
 * Append one record. rec is an object without "seq" and "hash" (it normally
 * has "type" and "time"); it is not modified. 0 when the record is in the
 * chain: written, or waiting in the buffer because the log cannot be written
 * now (sl_audit_status() says which). Then, if line_out is not NULL,
 * *line_out is the malloc'd line (with '\n') and *seq_out (if not NULL) its
 * sequence number. Errors: -EINVAL (not a record; nothing counted),
 * -ENOBUFS (the buffer is full) or -ENOMEM: the record was dropped, counted,
 * and will be stated by a gap record; the chain is unchanged.
 */
int sl_audit_append(struct sl_audit *a, json_t *rec, char **line_out, uint64_t *seq_out);
/*
 * The fast path: the same for a record given as its members' text, without
 * the braces ("type":"open","time":...; no "seq", "prev" or "hash"): the
 * line is built straight into the write batch and its hash computed there
 * (no copy, no tree). *line_out (if not NULL) points at the line (with its
 * '\n', *len_out bytes) until the next call on a. Same errors as
 * sl_audit_append; the caller vouches for the text (valid JSON members).
 */
int sl_audit_append_members(struct sl_audit *a, const char *members, size_t len,
			    const struct sl_audit_meta *m, const char **line_out, size_t *len_out,
			    uint64_t *seq_out);
/*
 * Write what was appended (opts.batch), one write(2) per batch of up to
 * 1 MiB. 0, or the -errno of the write: the records then wait in the buffer
 * (sl_audit_get_status says so) and sl_audit_tick() retries.
 */
int sl_audit_commit(struct sl_audit *a);
/* a whole batch waits: the next append writes it first (call sl_audit_commit to do it now) */
bool sl_audit_batch_full(const struct sl_audit *a);
/* writing fails, or records were dropped and no gap record says so yet */
bool sl_audit_troubled(const struct sl_audit *a);
/* batches written since the log was opened */
uint64_t sl_audit_writes(const struct sl_audit *a);
/* CPU time of the compression worker thread, ns (0 before its first job) */
uint64_t sl_audit_compress_cpu_ns(struct sl_audit *a);
/*
 * Periodic work: retry writing the buffer while failing (backoff from 50 ms
 * up to 1 s), batched fsync, reaping finished compressions and retrying
 * failed ones. 0 or the -errno of an fsync or compression failure (write
 * failures are in sl_audit_status()).
 */
int sl_audit_tick(struct sl_audit *a);
/* retry writing the buffer now, whatever the backoff; 0 when nothing waits */
int sl_audit_retry(struct sl_audit *a);
/*
 * Retry for up to timeout_ms (before closing); returns the number of
 * records still not in the file (waiting, or dropped without a gap record).
 */
uint64_t sl_audit_drain(struct sl_audit *a, unsigned int timeout_ms);
/* change the buffer bound (bytes, clamped to MIN..MAX); records already waiting stay */
void sl_audit_set_buffer_limit(struct sl_audit *a, uint64_t bytes);
void sl_audit_get_status(const struct sl_audit *a, struct sl_audit_status *st);
/*
 * The same as JSON, with the dropped records by type (for status):
 * {"state":"writing"|"failing", ...}. NULL on ENOMEM.
 */
json_t *sl_audit_status_json(const struct sl_audit *a);
/* flush and fsync now */
int sl_audit_flush(struct sl_audit *a);
/* last seq chained (written or waiting in the buffer) */
uint64_t sl_audit_last_seq(const struct sl_audit *a);
/*
 * The chain's head as it is on disk: the file synced, then the last record's
 * seq and raw hash. -EAGAIN while records wait to be written (the log is
 * failing) or none was chained yet.
 */
int sl_audit_head(struct sl_audit *a, uint64_t *seq, uint8_t hash[32]);
/* path of the current segment (owned by a) */
const char *sl_audit_path(const struct sl_audit *a);
/*
 * Write what waits if possible (one attempt: call sl_audit_drain() first to
 * insist), flush, wait for pending compressions, close. Records still
 * waiting are lost. NULL is fine.
 */
void sl_audit_close(struct sl_audit *a);

/* ---- verification (scopelock verify) ---- */

enum sl_verify_status {
	SL_VERIFY_OK = 0,
	SL_VERIFY_MISSING,   /* a sequence number is skipped */
	SL_VERIFY_REORDERED, /* a sequence number goes backwards or repeats */
	SL_VERIFY_ALTERED,   /* a record's hash does not match its content */
	SL_VERIFY_CHAIN,     /* a record's hash does not chain from the previous */
	SL_VERIFY_TRUNCATED, /* a partial last line, or a closed segment cut short */
	SL_VERIFY_MALFORMED, /* not a record at all (bad JSON, no seq/hash) */
	SL_VERIFY_IO,	     /* a file could not be read or decompressed */
};

struct sl_verify_result {
	enum sl_verify_status status;
	uint64_t records; /* records verified before the problem (or in all) */
	uint64_t first_seq, last_seq;
	uint64_t segments; /* segment files read (ordered by first seq) */
	char file[4096];   /* where the problem is */
	uint64_t line;	   /* 1-based line in that file (decompressed) */
	uint64_t seq;	   /* seq of the offending record, when known */
	char detail[512];  /* human-readable explanation */
	/*
	 * What the writer says about itself, in the records verified: the gap,
	 * audit_failure and audit_resumed records, each as read plus "file" and
	 * "line" (NULL when there are none; sl_verify_result_release()).
	 */
	json_t *notes;
	uint64_t gaps;		 /* gap records */
	uint64_t lost_records;	 /* the records they say were lost */
	uint64_t audit_failures; /* audit_failure records */
};

const char *sl_verify_status_name(enum sl_verify_status s);
/*
 * Verify the given files (plain .jsonl, .jsonl.zst or .jsonl.gz) or
 * directories (their audit*.jsonl[.zst|.gz] files). Segments are ordered by their first seq, so the
 * arguments may come in any order. Returns 0 if the chain verifies, 1 if a
 * problem was found (described in *res), -errno on usage/IO errors. A chain
 * that verifies may still say that records were lost (res->gaps).
 */
int sl_audit_verify(const char *const *paths, int npaths, struct sl_verify_result *res);
/* the same, calling record(ctx, seq, raw hash) for every record that verified, in order */
typedef void (*sl_verify_record_fn)(void *ctx, uint64_t seq, const uint8_t *hash);
int sl_audit_verify_each(const char *const *paths, int npaths, sl_verify_record_fn record,
			 void *ctx, struct sl_verify_result *res);
/* free res->notes */
void sl_verify_result_release(struct sl_verify_result *res);

/* line reader over plain, gzip (zlib gzread) or zstd (libzstd) files */
struct sl_lines;
int sl_lines_open(const char *path, struct sl_lines **out);
int sl_lines_openat(int dirfd, const char *name, struct sl_lines **out);
/*
 * Next line: 1 with *line (NUL-terminated, valid until the next call), *len
 * (without the newline) and *nl (false for a last line that has no newline);
 * 0 at the end; -EMSGSIZE for a line over SL_AUDIT_LINE_MAX; -EIO/-EBADMSG/
 * -EPIPE as for sl_lines_status().
 */
int sl_lines_next(struct sl_lines *r, char **line, size_t *len, bool *nl);
/*
 * How the data ended: 0 cleanly, -EPIPE compressed data cut short,
 * -EBADMSG corrupt compressed data, -EIO a read error. *msg (may be NULL)
 * gets zlib's (or zstd's) text.
 */
int sl_lines_status(struct sl_lines *r, const char **msg);
/* true when the file is gzip or zstd data (valid after the first sl_lines_next) */
bool sl_lines_compressed(struct sl_lines *r);
/* true when it is zstd data */
bool sl_lines_zstd(struct sl_lines *r);
void sl_lines_close(struct sl_lines *r);

#endif
