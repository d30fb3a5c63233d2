/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The audit failure guard: when the audit log cannot be written it tells the
 * operator and applies settings.on_audit_failure. With "freeze" every active
 * session is frozen once the journal's buffer is half full, new sessions are
 * refused, and the kernel ring is not read meanwhile (hooks: main.c pauses
 * and resumes reading it); when everything waiting is in the file the ring is
 * read again, finished sessions end, and the sessions thaw (those held for a
 * person stay frozen).
 */
#ifndef SL_GUARD_H
#define SL_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct sl_guard;
struct sl_journal;
struct sl_sessions;
struct sl_verdicts;
struct sl_policy_store;

struct sl_guard_hooks {
	/* stop reading the kernel ring buffer (the sessions were just frozen) */
	void (*pause)(void *ctx);
	/* read it again: drain it and end the sessions that finished (before any thaws) */
	void (*resume)(void *ctx);
	void *ctx;
};

int sl_guard_new(struct sl_journal *j, struct sl_sessions *ss, struct sl_verdicts *vr,
		 struct sl_policy_store *ps, const struct sl_guard_hooks *h, struct sl_guard **out);
void sl_guard_free(struct sl_guard *g);
/* after every record and on the timer: report, freeze or thaw */
void sl_guard_check(struct sl_guard *g);
/* true (and why) when no session may start: sessions are frozen for the log */
bool sl_guard_refuses(const struct sl_guard *g, char *err, size_t errlen);
/* the "audit" object of status */
json_t *sl_guard_json(const struct sl_guard *g);
/* shutdown: name the sessions left frozen (before the sessions are freed) */
void sl_guard_stop(const struct sl_guard *g);

#endif
