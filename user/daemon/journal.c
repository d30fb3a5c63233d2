// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The journal room (journal.h): the audit log, the alerts file and syslog,
 * and the recent lines for `scopelock tail`. Redaction: journal_redact.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
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
	char *recent[SL_RECENT_MAX];
	size_t recent_head, recent_count;
	int alerts_fd;
	char *alerts_path;
};

static void alerts_close(struct sl_journal *j);

int sl_journal_open(const struct sl_audit_opts *o, struct sl_policy_store *ps,
		    struct sl_journal **out)
{
	struct sl_journal *j = calloc(1, sizeof(*j));
	int err;

	if (!j)
		return -ENOMEM;
	j->alerts_fd = -1;
	j->store = ps;
	j->audit_dir = strdup(o->dir);
	if (!j->audit_dir) {
		free(j);
		return -ENOMEM;
	}
	err = sl_audit_open(o, &j->audit);
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
	for (size_t i = 0; i < j->recent_count; i++)
		free(j->recent[(j->recent_head + i) % SL_RECENT_MAX]);
	alerts_close(j);
	free(j->audit_dir);
	free(j);
}

static void recent_push(struct sl_journal *j, char *line)
{
	size_t idx = (j->recent_head + j->recent_count) % SL_RECENT_MAX;

	if (j->recent_count == SL_RECENT_MAX) {
		free(j->recent[j->recent_head]);
		j->recent[j->recent_head] = line;
		j->recent_head = (j->recent_head + 1) % SL_RECENT_MAX;
		return;
	}
	j->recent[idx] = line;
	j->recent_count++;
}

/* Append to the audit log, then hand the line to tail clients. */
int sl_journal_write(struct sl_journal *j, json_t *rec)
{
	const char *session = json_string_value(json_object_get(rec, "session"));
	char *line = NULL;
	int err;

	if (!json_object_get(rec, "time"))
		json_object_set_new(rec, "time", sl_clock_now_json());
	/* every record, whoever built it: no secret value reaches a file */
	sl_journal_redact(sl_policy_store_current(j->store), rec);
	err = sl_audit_append(j->audit, rec, &line, NULL);
	if (err) {
		/* dropped (counted by the log, stated by a gap record) or not a record */
		j->errors++;
		if (err != -ENOBUFS && j->errors % 1000 == 1)
			log_err("audit log '%s': append failed: %s (%llu records not in the log so "
				"far)",
				sl_audit_path(j->audit), strerror(-err),
				(unsigned long long)j->errors);
		if (j->hooks.after)
			j->hooks.after(j->hooks.ctx);
		return err;
	}
	j->records++;
	if (j->hooks.line)
		j->hooks.line(j->hooks.ctx, line, strlen(line), session);
	recent_push(j, line);
	/* the log may have started failing, filled up, or drained */
	if (j->hooks.after)
		j->hooks.after(j->hooks.ctx);
	return 0;
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

bool sl_journal_line_is_alert(const char *line)
{
	static const char *const types[] = {
	    "\"type\":\"alert\"", "\"type\":\"hold_", "\"type\":\"session_killed\"",
	    "\"type\":\"confine_refused\"", "\"type\":\"control_refused\""};

	for (size_t i = 0; i < SL_ARRAY_SIZE(types); i++)
		if (strstr(line, types[i]))
			return true;
	return false;
}

/*
 * Write an alert-class record: audit chain (with the tail broadcast), the
 * alerts file, and syslog. rec gets seq/hash from the chain.
 */
int sl_journal_alert(struct sl_journal *j, json_t *rec, const char *summary)
{
	uint64_t before = sl_audit_last_seq(j->audit);
	const struct sl_policy *p = sl_policy_store_current(j->store);
	char *line;

	sl_journal_write(j, rec);
	line = json_dumps(rec, JSON_COMPACT);
	if (line && j->alerts_fd >= 0) {
		size_t n = strlen(line);

		line[n] = '\n';
		if (sl_write_all(j->alerts_fd, line, n + 1))
			log_err("alerts file '%s': write: %s", j->alerts_path, strerror(errno));
		line[n] = '\0';
	}
	free(line);
	if (!p || p->settings.syslog)
		syslog(LOG_ALERT | LOG_AUTHPRIV, "%s", summary);
	log_warn("%s", summary);
	return sl_audit_last_seq(j->audit) > before ? 0 : -EIO;
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
