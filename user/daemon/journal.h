/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The journal: the only writer of the audit log (user/lib/audit.h), the
 * alerts file and syslog. Every record is redacted (no secret value of the
 * policy in force reaches a file), stamped and chained; its line goes to the
 * tail clients and into the recent lines `scopelock tail` shows. An
 * alert-class record also goes to the alerts file, syslog and stderr.
 */
#ifndef SL_JOURNAL_H
#define SL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct sl_journal;
struct sl_audit_opts;
struct sl_audit_status;
struct sl_policy_store;

/* what others do with a record (registered by main.c) */
struct sl_journal_hooks {
	/* the record is in the log: its line (tail clients) */
	void (*line)(void *ctx, const char *line, size_t len, const char *session);
	/* after every append, written or not (the audit failure guard) */
	void (*after)(void *ctx);
	/* an alert-class record is in the chain: its line as in the log (the outputs) */
	void (*alert)(void *ctx, const char *line, size_t len);
	void *ctx;
};

/* open (or resume) the audit log; ps: the policy whose secrets are redacted */
int sl_journal_open(const struct sl_audit_opts *o, struct sl_policy_store *ps,
		    struct sl_journal **out);
/* close the log and the alerts file; NULL-safe */
void sl_journal_close(struct sl_journal *j);
void sl_journal_set_hooks(struct sl_journal *j, const struct sl_journal_hooks *h);
/* (re)open the alerts file the policy in force names (default: audit dir/alerts.jsonl) */
int sl_journal_alerts_open(struct sl_journal *j);

/*
 * Append a record ("time" added when missing) and write it at once (with
 * whatever waits before it); 0 or -errno (counted, logged). rec is then what
 * the log holds: its values redacted, "secrets" added when it carried any.
 * For low-rate records; hot ones take the fast path below.
 */
int sl_journal_write(struct sl_journal *j, json_t *rec);

/*
 * The fast path: a record written member by member straight into the
 * journal's buffer (no tree), every string and bytes value redacted on the
 * way in, chained into the write batch by sl_journal_rec_end and written by
 * sl_journal_flush (one write(2) per ring drain).
 *
 *	struct sl_jw *w = sl_journal_rec_begin(j);
 *	sl_jw_str(w, "type", "open"); ...
 *	sl_journal_rec_stream(j); sl_jw_bytes(w, "data", buf, n);
 *	sl_journal_rec_end(j, "open", session, time, &text, &len);
 */
struct sl_jw;
struct sl_jw *sl_journal_rec_begin(struct sl_journal *j);
/* the next value is a piece of a stream (one TLS write): its edges are redacted too */
void sl_journal_rec_stream(struct sl_journal *j);
/*
 * Chain the record begun: 0 or -errno (counted). type, session, time: what
 * the record says (for the accounting of dropped records). *text, *len (may
 * be NULL): its members as chained (redacted, with "secrets"), valid until
 * the next record.
 */
int sl_journal_rec_end(struct sl_journal *j, const char *type, const char *session,
		       const char *time, const char **text, size_t *len);
/* write what the fast path chained; 0 or -errno (the records wait in the buffer) */
int sl_journal_flush(struct sl_journal *j);

/*
 * The journal's own CPU time, ns: writing and compressing (building the
 * lines happens inside the callers' work: ingest's drains for hot records)
 */
struct sl_journal_cpu {
	uint64_t write_ns;    /* the batched write(2)s and fsyncs (thread CPU) */
	uint64_t compress_ns; /* the compression worker thread (its CPU) */
	uint64_t writes;      /* write batches */
};
void sl_journal_cpu(const struct sl_journal *j, struct sl_journal_cpu *out);
/* an alert-class record: the audit log, the alerts file, syslog (summary),
 * then the alert hook (its line); 0 or -EIO when it did not get into the chain */
int sl_journal_alert(struct sl_journal *j, json_t *rec, const char *summary);
/*
 * A credential seen at a position (a decoded request's Authorization header)
 * in the form it has on the wire (form: the value, or its HPACK Huffman
 * bytes): every later record, starting with the one being prepared, has it
 * replaced by "[secret sha256:<fingerprint of value>]". A bounded set (the
 * oldest are forgotten). 0 or -errno.
 */
int sl_journal_learn_credential(struct sl_journal *j, const void *form, size_t len,
				const void *value, size_t vlen);
/* is this line (of the log) an alert-class record? */
bool sl_journal_line_is_alert(const char *line);
/* is this line (of the log) a record of this type? */
bool sl_journal_line_type_is(const char *line, const char *type);
/* the recent lines, oldest first: i < sl_journal_recent_count() */
size_t sl_journal_recent_count(const struct sl_journal *j);
const char *sl_journal_recent(const struct sl_journal *j, size_t i);

/* records written, records that did not get into the chain */
uint64_t sl_journal_records(const struct sl_journal *j);
uint64_t sl_journal_errors(const struct sl_journal *j);
const char *sl_journal_path(const struct sl_journal *j);
uint64_t sl_journal_last_seq(const struct sl_journal *j);
/* the chain's head on disk (synced): seq and raw hash; -EAGAIN while records wait */
int sl_journal_head(struct sl_journal *j, uint64_t *seq, uint8_t hash[32]);
const char *sl_journal_alerts_path(const struct sl_journal *j);

/* the timer: batched fsync, compression, retries (sl_audit_tick) */
int sl_journal_tick(struct sl_journal *j);
/* the log's health (sl_audit_get_status, sl_audit_status_json) */
void sl_journal_status(const struct sl_journal *j, struct sl_audit_status *st);
json_t *sl_journal_status_json(const struct sl_journal *j);
void sl_journal_set_buffer_limit(struct sl_journal *j, uint64_t bytes);
/* shutdown: last attempts to write what waits; says loudly what is lost */
void sl_journal_drain(struct sl_journal *j, unsigned int timeout_ms);

#endif
