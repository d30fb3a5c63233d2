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
 * .jsonl.gz (zlib, off the event loop) and the plain file removed; the new
 * audit.jsonl starts with a "segment_start" record carrying the previous hash,
 * so the chain continues across segments. On open, an existing log is
 * resumed from its last record; a damaged tail is never rewritten: the
 * segment is rotated out as it is and the new segment says so.
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

struct sl_audit_opts {
	const char *dir;       /* created 0700 if missing */
	uint64_t rotate_bytes; /* 0: never rotate */
	enum sl_fsync_mode fsync_mode;
	unsigned int fsync_interval_ms; /* SL_FSYNC_BATCH; default 200 */
};

struct sl_audit;

int sl_audit_open(const struct sl_audit_opts *opts, struct sl_audit **out);
/*
 * Append one record. rec is an object without "seq" and "hash" (it normally
 * has "type" and "time"); it is not modified. On success, if line_out is not
 * NULL, *line_out is the malloc'd line as written (with '\n') and *seq_out
 * (if not NULL) its sequence number. 0 or -errno; on failure nothing was
 * written and the chain is unchanged.
 */
int sl_audit_append(struct sl_audit *a, json_t *rec, char **line_out, uint64_t *seq_out);
/* periodic work: batched fsync, reaping finished compressions. 0 or -errno */
int sl_audit_tick(struct sl_audit *a);
/* flush and fsync now */
int sl_audit_flush(struct sl_audit *a);
uint64_t sl_audit_last_seq(const struct sl_audit *a);
/* path of the current segment (owned by a) */
const char *sl_audit_path(const struct sl_audit *a);
/* flush, wait for pending compressions, close. NULL is fine. */
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
};

const char *sl_verify_status_name(enum sl_verify_status s);
/*
 * Verify the given files (plain .jsonl or .jsonl.gz) or directories (their
 * audit*.jsonl[.gz] files). Segments are ordered by their first seq, so the
 * arguments may come in any order. Returns 0 if the chain verifies, 1 if a
 * problem was found (described in *res), -errno on usage/IO errors.
 */
int sl_audit_verify(const char *const *paths, int npaths, struct sl_verify_result *res);

#endif
