// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The journal room (journal.h): the audit log, the alerts file and syslog,
 * and the recent lines for `scopelock tail`. Every record, whichever path
 * it takes, is written as text by one jwriter whose filter is the redactor
 * (journal_redact.c), then chained by the audit log's fast path into its
 * write batch (sl_audit_append_members): one serialisation, the hash
 * computed on the line where it lies, one write(2) per batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "clock.h"
#include "journal.h"
#include "journal_priv.h"
#include "log.h"
#include "policy.h"
#include "policy_store.h"
#include "util.h"

/* recent audit lines kept for `scopelock tail` without --follow */
#define SL_RECENT_MAX 512

struct sl_journal {
	struct sl_audit *audit;
	struct sl_policy_store *store; /* the secrets to redact, the alert settings */
	char *audit_dir;
	struct sl_journal_hooks hooks;
	uint64_t records;
	uint64_t errors; /* records that did not get into the audit chain */
	/* the recent lines (NUL-terminated, with '\n'); buffers reused */
	char *recent[SL_RECENT_MAX];
	size_t recent_cap[SL_RECENT_MAX];
	size_t recent_head, recent_count;
	int alerts_fd;
	char *alerts_path;
	struct sl_journal_redactor red;
	struct sl_jw w;	       /* the record being written */
	const char *last_line; /* the recent copy of the last line chained */
	uint64_t write_ns;
};

static void alerts_close(struct sl_journal *j);

int sl_journal_open(const struct sl_audit_opts *o, struct sl_policy_store *ps,
		    struct sl_journal **out)
{
	struct sl_journal *j = calloc(1, sizeof(*j));
	struct sl_audit_opts ao;
	int err;

	if (!j)
		return -ENOMEM;
	/* the daemon's records are written in batches (sl_journal_flush) */
	ao = *o;
	ao.batch = true;
	j->alerts_fd = -1;
	j->store = ps;
	sl_jw_init(&j->w, sl_journal_redact_filter, &j->red);
	sl_journal_redactor_init(&j->red, &j->w);
	j->audit_dir = strdup(o->dir);
	if (!j->audit_dir) {
		free(j);
		return -ENOMEM;
	}
	err = sl_audit_open(&ao, &j->audit);
	if (err) {
		free(j->audit_dir);
		free(j);
		return err;
	}
	*out = j;
	return 0;
}

void sl_journal_set_hooks(struct sl_journal *j, const struct sl_journal_hooks *h)
{
	j->hooks = *h;
}

void sl_journal_close(struct sl_journal *j)
{
	if (!j)
		return;
	sl_audit_close(j->audit);
	for (size_t i = 0; i < SL_RECENT_MAX; i++)
		free(j->recent[i]);
	sl_jw_free(&j->w);
	sl_journal_redactor_free(&j->red);
	alerts_close(j);
	free(j->audit_dir);
	free(j);
}

/* keep a copy of the line (len bytes, with '\n') among the recent ones */
static const char *recent_push(struct sl_journal *j, const char *line, size_t len)
{
	size_t idx;

	if (j->recent_count == SL_RECENT_MAX) {
		idx = j->recent_head;
		j->recent_head = (j->recent_head + 1) % SL_RECENT_MAX;
	} else {
		idx = (j->recent_head + j->recent_count) % SL_RECENT_MAX;
		j->recent_count++;
	}
	if (len + 1 > j->recent_cap[idx]) {
		size_t cap = len + 1 < 512 ? 512 : len + 1;
		char *p = realloc(j->recent[idx], cap);

		if (!p) {
			/* no memory for the copy: an empty line in its place */
			if (j->recent[idx])
				j->recent[idx][0] = '\0';
			return NULL;
		}
		j->recent[idx] = p;
		j->recent_cap[idx] = cap;
	}
	memcpy(j->recent[idx], line, len);
	j->recent[idx][len] = '\0';
	return j->recent[idx];
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* write what waits, the thread CPU it takes counted as writing */
static int commit_timed(struct sl_journal *j)
{
	uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	int err = sl_audit_commit(j->audit);

	j->write_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	return err;
}

struct sl_jw *sl_journal_rec_begin(struct sl_journal *j)
{
	/*
	 * While the log cannot be written, the audit failure guard looks after
	 * every record (it freezes sessions and pauses the ring when the buffer
	 * is half full), not only after a drain; before w is reset (the guard
	 * writes records of its own).
	 */
	if (sl_audit_troubled(j->audit) && j->hooks.after)
		j->hooks.after(j->hooks.ctx);
	/* a new policy: a new redactor (a failure refuses every value: fail closed) */
	sl_journal_redactor_sync(&j->red, sl_policy_store_current(j->store),
				 sl_policy_store_generation(j->store));
	sl_journal_redactor_begin(&j->red);
	sl_jw_reset(&j->w);
	return &j->w;
}

void sl_journal_rec_stream(struct sl_journal *j)
{
	sl_jw_stream(&j->w);
}

static void count_error(struct sl_journal *j, int err, const char *type)
{
	j->errors++;
	if (err != -ENOBUFS && j->errors % 1000 == 1)
		log_err("audit log '%s': a %s record was not written: %s (%llu records not in "
			"the log so far)",
			sl_audit_path(j->audit), type ?: "(no type)", strerror(-err),
			(unsigned long long)j->errors);
}

int sl_journal_rec_end(struct sl_journal *j, const char *type, const char *session,
		       const char *time, const char **text, size_t *len)
{
	struct sl_audit_meta meta = {.type = type, .session = session, .time = time};
	const char *m, *line = NULL;
	size_t mlen, llen = 0;
	int err;

	/* a full batch is written first, and counted as writing (no hook: w holds a record) */
	if (sl_audit_batch_full(j->audit))
		commit_timed(j);

	j->last_line = NULL;
	sl_journal_redactor_found(&j->red, &j->w);
	/* a value the redactor could not handle: the record is not written (counted) */
	err = sl_jw_members(&j->w, &m, &mlen);
	if (!err)
		err = sl_audit_append_members(j->audit, m, mlen, &meta, &line, &llen, NULL);
	if (err) {
		count_error(j, err, type);
		if (j->hooks.after)
			j->hooks.after(j->hooks.ctx);
		return err;
	}
	j->records++;
	j->last_line = recent_push(j, line, llen);
	if (j->hooks.line && j->last_line)
		j->hooks.line(j->hooks.ctx, j->last_line, llen, session);
	if (text)
		*text = m;
	if (len)
		*len = mlen;
	return 0;
}

int sl_journal_flush(struct sl_journal *j)
{
	int err = commit_timed(j);

	/* the log may have started failing, filled up, or drained */
	if (j->hooks.after)
		j->hooks.after(j->hooks.ctx);
	return err;
}

void sl_journal_cpu(const struct sl_journal *j, struct sl_journal_cpu *out)
{
	out->write_ns = j->write_ns;
	out->compress_ns = sl_audit_compress_cpu_ns(j->audit);
	out->writes = sl_audit_writes(j->audit);
}

/* a member name the log keeps for itself */
static bool reserved(const char *key)
{
	return !strcmp(key, "seq") || !strcmp(key, "hash") || !strcmp(key, "prev");
}

/*
 * Append to the audit log, then hand the line to tail clients. The record
 * takes the same path as the fast one (its members through the redacting
 * writer), is written at once, and rec becomes what the log holds.
 */
static int write_rec(struct sl_journal *j, json_t *rec, char **line_copy)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	char *session = NULL, *time_s = NULL, *copy;
	struct sl_jw *w;
	const char *key, *text;
	json_t *v, *red;
	size_t len;
	int err;

	if (!json_is_object(rec))
		return -EINVAL;
	if (!json_object_get(rec, "time"))
		json_object_set_new(rec, "time", sl_clock_now_json());
	w = sl_journal_rec_begin(j);
	json_object_foreach (rec, key, v) {
		if (reserved(key) || !strcmp(key, "secrets")) {
			if (!strcmp(key, "secrets"))
				continue; /* said again from what this redaction finds */
			count_error(j, -EINVAL, type);
			return -EINVAL;
		}
		sl_jw_json(w, key, v);
	}
	/* copies: rec is replaced below */
	if (json_string_value(json_object_get(rec, "session")))
		session = strdup(json_string_value(json_object_get(rec, "session")));
	time_s = strdup(json_string_value(json_object_get(rec, "time")) ?: "");
	err = sl_journal_rec_end(j, type, session, time_s, &text, &len);
	free(time_s);
	free(session);
	if (err)
		return err;
	if (line_copy && j->last_line)
		*line_copy = strdup(j->last_line);
	/* what the log holds: redacted, "secrets" said (rec is shown again: holds, alerts) */
	copy = malloc(len + 2);
	if (copy) {
		copy[0] = '{';
		memcpy(copy + 1, text, len);
		copy[len + 1] = '}';
		red = json_loadb(copy, len + 2, JSON_ALLOW_NUL, NULL);
		if (red && !json_object_clear(rec))
			json_object_update(rec, red);
		json_decref(red);
		free(copy);
	}
	/* low rate: written now, with whatever the fast path chained before it */
	sl_journal_flush(j);
	return 0;
}

int sl_journal_write(struct sl_journal *j, json_t *rec)
{
	return write_rec(j, rec, NULL);
}

size_t sl_journal_recent_count(const struct sl_journal *j)
{
	return j->recent_count;
}

const char *sl_journal_recent(const struct sl_journal *j, size_t i)
{
	return i < j->recent_count ? j->recent[(j->recent_head + i) % SL_RECENT_MAX] : NULL;
}

uint64_t sl_journal_records(const struct sl_journal *j)
{
	return j->records;
}

uint64_t sl_journal_errors(const struct sl_journal *j)
{
	return j->errors;
}

const char *sl_journal_path(const struct sl_journal *j)
{
	return sl_audit_path(j->audit);
}

uint64_t sl_journal_last_seq(const struct sl_journal *j)
{
	return sl_audit_last_seq(j->audit);
}

int sl_journal_head(struct sl_journal *j, uint64_t *seq, uint8_t hash[32])
{
	return sl_audit_head(j->audit, seq, hash);
}

const char *sl_journal_alerts_path(const struct sl_journal *j)
{
	return j->alerts_path;
}

int sl_journal_tick(struct sl_journal *j)
{
	return sl_audit_tick(j->audit);
}

void sl_journal_status(const struct sl_journal *j, struct sl_audit_status *st)
{
	sl_audit_get_status(j->audit, st);
}

json_t *sl_journal_status_json(const struct sl_journal *j)
{
	return sl_audit_status_json(j->audit);
}

void sl_journal_set_buffer_limit(struct sl_journal *j, uint64_t bytes)
{
	sl_audit_set_buffer_limit(j->audit, bytes);
}

int sl_journal_alerts_open(struct sl_journal *j)
{
	const struct sl_policy *p = sl_policy_store_current(j->store);
	const char *path = p && p->settings.alert_file ? p->settings.alert_file : NULL;
	char *def = NULL;
	int fd;

	if (!path) {
		if (asprintf(&def, "%s/alerts.jsonl", j->audit_dir) < 0)
			return -ENOMEM;
		path = def;
	}
	if (j->alerts_path && !strcmp(j->alerts_path, path)) {
		free(def);
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int err = -errno;

		log_err("alerts file '%s': %s", path, strerror(errno));
		free(def);
		return err;
	}
	if (j->alerts_fd >= 0)
		close(j->alerts_fd);
	free(j->alerts_path);
	j->alerts_fd = fd;
	j->alerts_path = def ? def : strdup(path);
	return 0;
}

static void alerts_close(struct sl_journal *j)
{
	if (j->alerts_fd >= 0)
		close(j->alerts_fd);
	j->alerts_fd = -1;
	free(j->alerts_path);
	j->alerts_path = NULL;
}

/*
 * The record's type: every line the journal writes starts {"seq":N,"type":"
 * (audit.c); *len bytes at *type. False for a line that does not.
 */
static bool line_type(const char *line, const char **type, size_t *len)
{
	const char *p = line, *end;

	if (strncmp(p, "{\"seq\":", 7))
		return false;
	p += 7;
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, ",\"type\":\"", 9))
		return false;
	p += 9;
	end = strchr(p, '"');
	if (!end)
		return false;
	*type = p;
	*len = (size_t)(end - p);
	return true;
}

bool sl_journal_line_type_is(const char *line, const char *type)
{
	char needle[80];
	const char *t;
	size_t len;

	if (line_type(line, &t, &len))
		return len == strlen(type) && !memcmp(t, type, len);
	snprintf(needle, sizeof(needle), "\"type\":\"%s\"", type);
	return strstr(line, needle) != NULL;
}

bool sl_journal_line_is_alert(const char *line)
{
	static const char *const types[] = {"alert", "session_killed", "confine_refused",
					    "control_refused"};
	const char *t;
	size_t len;

	/* the type from the line's head: no scan of the whole record */
	if (line_type(line, &t, &len)) {
		if (len > 5 && !memcmp(t, "hold_", 5))
			return true;
		for (size_t i = 0; i < SL_ARRAY_SIZE(types); i++)
			if (len == strlen(types[i]) && !memcmp(t, types[i], len))
				return true;
		return false;
	}
	if (strstr(line, "\"type\":\"hold_"))
		return true;
	for (size_t i = 0; i < SL_ARRAY_SIZE(types); i++)
		if (sl_journal_line_type_is(line, types[i]))
			return true;
	return false;
}

/*
 * Write an alert-class record: audit chain (with the tail broadcast), the
 * alerts file, and syslog. rec gets seq/hash from the chain.
 */
int sl_journal_alert(struct sl_journal *j, json_t *rec, const char *summary)
{
	const struct sl_policy *p = sl_policy_store_current(j->store);
	const char *said;
	char *line = NULL;
	int err;

	/* the alerts file gets the line of the log: redacted, with its seq and hash */
	err = write_rec(j, rec, &line);
	if (!err && line && j->alerts_fd >= 0 && sl_write_all(j->alerts_fd, line, strlen(line)))
		log_err("alerts file '%s': write: %s", j->alerts_path, strerror(errno));
	/* the outputs get the same line, once it is in the chain */
	if (!err && line && j->hooks.alert)
		j->hooks.alert(j->hooks.ctx, line, strlen(line));
	free(line);
	/* the summary is text from the record too: redacted (a failure: not said) */
	if (sl_journal_redact_text(&j->red, summary, &said))
		said = "ALERT (its summary could not be redacted: see the audit log)";
	if (!p || p->settings.syslog)
		syslog(LOG_ALERT | LOG_AUTHPRIV, "%s", said);
	log_warn("%s", said);
	return err ? -EIO : 0;
}

int sl_journal_learn_credential(struct sl_journal *j, const void *form, size_t len,
				const void *value, size_t vlen)
{
	/* the policy's secret_min_length applies to what is learned */
	sl_journal_redactor_sync(&j->red, sl_policy_store_current(j->store),
				 sl_policy_store_generation(j->store));
	return sl_journal_redactor_learn(&j->red, form, len, value, vlen);
}

void sl_journal_drain(struct sl_journal *j, unsigned int timeout_ms)
{
	struct sl_audit_status st;
	uint64_t left;

	if (!j)
		return;
	left = sl_audit_drain(j->audit, timeout_ms);
	if (!left)
		return;
	sl_audit_get_status(j->audit, &st);
	log_err("audit log '%s': %llu records (up to seq %llu) could not be written before the "
		"daemon stopped and are lost: the log ends at seq %llu (%s: %s)",
		sl_audit_path(j->audit), (unsigned long long)left, (unsigned long long)st.last_seq,
		(unsigned long long)st.written_seq, st.operation ?: "write",
		st.last_error ? strerror(-st.last_error) : "no error");
}
