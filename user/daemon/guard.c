// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * When the audit log cannot be written. The audit library decides what is
 * buffered and what is dropped (user/lib/audit.h); the daemon only tells the
 * operator (stderr and syslog, at the moment it happens) and applies
 * settings.on_audit_failure: with "freeze" (the default) every active session
 * is frozen (cgroup.freeze on the session cgroups this daemon created, nothing
 * else) once the buffer is half full (the other half takes what is already on
 * its way: the kernel ring buffer's records, the daemon's own), new sessions
 * are refused, and the
 * sessions are thawed when everything waiting is in the file. While they are
 * frozen the daemon does not read the kernel ring buffer: what the sessions
 * did before they froze waits there (the ring is bounded, and frozen sessions
 * add nothing to it) instead of overflowing the audit buffer, and it is read,
 * and written, before the sessions thaw. A session that
 * is also held for a person stays frozen: the two reasons are kept apart
 * (the session's audit_frozen mark here, the hold list in verdicts.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "audit.h"
#include "guard.h"
#include "journal.h"
#include "log.h"
#include "policy.h"
#include "policy_store.h"
#include "sessions.h"
#include "verdicts.h"

_Static_assert(SL_POLICY_AUDIT_BUFFER_DEFAULT == SL_AUDIT_BUFFER_DEFAULT &&
		   SL_POLICY_AUDIT_BUFFER_MIN == SL_AUDIT_BUFFER_MIN &&
		   SL_POLICY_AUDIT_BUFFER_MAX == SL_AUDIT_BUFFER_MAX,
	       "the policy's bounds of audit_buffer are the audit library's");

struct sl_guard {
	struct sl_journal *journal;
	struct sl_sessions *sessions;
	struct sl_verdicts *verdicts;
	struct sl_policy_store *store;
	struct sl_guard_hooks hooks;
	bool failing;  /* the failure was reported */
	bool dropping; /* the drops were reported */
	bool frozen;   /* sessions are frozen for it */
	bool busy;     /* its own records come back through the journal's hook */
	uint64_t freezes;
	struct timespec frozen_since; /* CLOCK_REALTIME */
};

int sl_guard_new(struct sl_journal *j, struct sl_sessions *ss, struct sl_verdicts *vr,
		 struct sl_policy_store *ps, const struct sl_guard_hooks *h, struct sl_guard **out)
{
	struct sl_guard *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	g->journal = j;
	g->sessions = ss;
	g->verdicts = vr;
	g->store = ps;
	g->hooks = *h;
	*out = g;
	return 0;
}

void sl_guard_free(struct sl_guard *g)
{
	free(g);
}

static bool freeze_mode(const struct sl_guard *g)
{
	const struct sl_policy *p = sl_policy_store_current(g->store);

	return !p || p->settings.on_audit_failure == SL_AUDIT_FAIL_FREEZE;
}

static const char *err_text(int err)
{
	return err ? strerror(-err) : "no error";
}

static void freeze_sessions(struct sl_guard *g, const struct sl_audit_status *st)
{
	json_t *ids = json_array(), *failed = json_array(), *rec;
	size_t n = 0;

	for (struct sl_session *s = sl_sessions_next(g->sessions, NULL); s;
	     s = sl_sessions_next(g->sessions, s)) {
		int err;

		if (!sl_session_active(s) || sl_session_audit_frozen(s))
			continue;
		err = sl_session_freeze(s, true);
		if (err) {
			log_err("session %s: cgroup.freeze: %s", sl_session_id(s), strerror(-err));
			json_array_append_new(failed,
					      json_pack("{s:s, s:s}", "session", sl_session_id(s),
							"error", strerror(-err)));
			continue;
		}
		sl_session_set_audit_frozen(s, true);
		json_array_append_new(ids, json_string(sl_session_id(s)));
		n++;
	}
	g->frozen = true;
	g->freezes++;
	g->hooks.pause(g->hooks.ctx);
	clock_gettime(CLOCK_REALTIME, &g->frozen_since);
	log_err("audit log '%s': %llu bytes of records wait in memory (buffer limit %llu: "
		"settings.audit_buffer): %zu session%s frozen until the log can be written (%s)",
		sl_journal_path(g->journal), (unsigned long long)st->buffered_bytes,
		(unsigned long long)st->buffer_limit, n, n == 1 ? "" : "s", err_text(st->error));
	rec = json_pack("{s:s, s:o, s:o, s:I, s:I, s:s}", "type", "audit_freeze", "sessions",
			ids ?: json_array(), "failed", failed ?: json_array(), "buffered_bytes",
			(json_int_t)st->buffered_bytes, "buffer_limit",
			(json_int_t)st->buffer_limit, "error", err_text(st->error));
	if (rec) {
		sl_journal_write(g->journal, rec);
		json_decref(rec);
	}
}

static void thaw_sessions(struct sl_guard *g)
{
	json_t *ids = json_array(), *held = json_array(), *rec;
	struct timespec now;
	size_t n = 0;

	/* what the sessions did before they froze goes into the log first, and
	 * verdicts among it are acted on before anything runs again */
	g->hooks.resume(g->hooks.ctx);

	for (struct sl_session *s = sl_sessions_next(g->sessions, NULL); s;
	     s = sl_sessions_next(g->sessions, s)) {
		int err;

		if (!sl_session_audit_frozen(s))
			continue;
		sl_session_set_audit_frozen(s, false);
		if (!sl_session_active(s))
			continue;
		if (sl_verdicts_session_held(g->verdicts, sl_session_id(s))) {
			/* frozen for a person as well: only approve/deny thaws it */
			json_array_append_new(held, json_string(sl_session_id(s)));
			continue;
		}
		err = sl_session_freeze(s, false);
		if (err)
			log_err("session %s: thaw (cgroup.freeze 0): %s", sl_session_id(s),
				strerror(-err));
		else
			n++;
		json_array_append_new(ids, json_string(sl_session_id(s)));
	}
	g->frozen = false;
	clock_gettime(CLOCK_REALTIME, &now);
	log_warn("audit log '%s' is written again: %zu session%s thawed, %zu still held for a "
		 "person",
		 sl_journal_path(g->journal), n, n == 1 ? "" : "s", json_array_size(held));
	rec = json_pack("{s:s, s:o, s:o, s:I}", "type", "audit_thaw", "sessions",
			ids ?: json_array(), "still_held", held ?: json_array(), "frozen_ms",
			(json_int_t)((now.tv_sec - g->frozen_since.tv_sec) * 1000 +
				     (now.tv_nsec - g->frozen_since.tv_nsec) / 1000000));
	if (rec) {
		sl_journal_write(g->journal, rec);
		json_decref(rec);
	}
}

void sl_guard_check(struct sl_guard *g)
{
	const struct sl_policy *p = sl_policy_store_current(g->store);
	uint64_t limit = p ? p->settings.audit_buffer : SL_AUDIT_BUFFER_DEFAULT;
	struct sl_audit_status st;

	if (!g->journal || g->busy)
		return;
	g->busy = true; /* the records written below come back here */
	sl_journal_status(g->journal, &st);
	if (st.buffer_limit != limit)
		sl_journal_set_buffer_limit(g->journal, limit);
	if (st.failing && !g->failing) {
		g->failing = true;
		log_err("audit log '%s': %s failed: %s; records wait in memory (up to %llu bytes: "
			"settings.audit_buffer), retried until it works; then %s",
			sl_journal_path(g->journal), st.operation ?: "write", err_text(st.error),
			(unsigned long long)st.buffer_limit,
			freeze_mode(g) ? "sessions are frozen (settings.on_audit_failure: freeze)"
				       : "records are dropped and counted "
					 "(settings.on_audit_failure: continue)");
	}
	if (st.dropped_pending && !g->dropping) {
		g->dropping = true;
		log_err("audit log '%s': the buffer is full: records are being dropped (a gap "
			"record will say which)",
			sl_journal_path(g->journal));
	} else if (!st.dropped_pending && g->dropping) {
		g->dropping = false;
	}
	if (!st.failing && g->failing) {
		g->failing = false;
		log_warn("audit log '%s': written again up to seq %llu (%llu records dropped since "
			 "the daemon started)",
			 sl_journal_path(g->journal), (unsigned long long)st.written_seq,
			 (unsigned long long)st.dropped);
	}
	if (freeze_mode(g) && st.failing && st.buffer_high && !g->frozen)
		freeze_sessions(g, &st);
	else if (g->frozen && (!st.failing || !freeze_mode(g)))
		thaw_sessions(g);
	g->busy = false;
}

bool sl_guard_refuses(const struct sl_guard *g, char *err, size_t errlen)
{
	struct sl_audit_status st;

	if (!g->frozen)
		return false;
	sl_journal_status(g->journal, &st);
	snprintf(err, errlen,
		 "the audit log cannot be written (%s: %s); sessions are frozen until it can "
		 "(settings.on_audit_failure: freeze), no session is started",
		 st.operation ?: "write", err_text(st.error));
	return true;
}

json_t *sl_guard_json(const struct sl_guard *g)
{
	json_t *o = sl_journal_status_json(g->journal), *ids = json_array();

	if (!o || !ids) {
		json_decref(o);
		json_decref(ids);
		return NULL;
	}
	for (struct sl_session *s = sl_sessions_next(g->sessions, NULL); s;
	     s = sl_sessions_next(g->sessions, s))
		if (sl_session_active(s) && sl_session_audit_frozen(s))
			json_array_append_new(ids, json_string(sl_session_id(s)));
	json_object_set_new(o, "on_audit_failure",
			    json_string(freeze_mode(g) ? "freeze" : "continue"));
	json_object_set_new(o, "frozen_sessions", ids);
	json_object_set_new(o, "freezes", json_integer((json_int_t)g->freezes));
	return o;
}

void sl_guard_stop(const struct sl_guard *g)
{
	for (struct sl_session *s = sl_sessions_next(g->sessions, NULL); s;
	     s = sl_sessions_next(g->sessions, s)) {
		if (sl_session_active(s) && sl_session_audit_frozen(s))
			log_warn("session %s stays frozen: the audit log could not be written; "
				 "thaw it with 'echo 0 > %s/cgroup.freeze' once it can, or kill it",
				 sl_session_id(s), sl_session_cgroup_path(s));
	}
}
