/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Verdicts: after the kernel decided. The kernel has already acted when a
 * verdict record arrives (SIGKILL before the action, SIGSTOP and the
 * session's egress dropped for a hold, EPERM for a connect). This room widens
 * that to the session (cgroup.kill / cgroup.freeze), keeps the evidence
 * (recent capture records), writes the alert with its evidence once the
 * capture records that came before it have been read, and keeps the holds a
 * person approves or denies.
 */
#ifndef SL_VERDICTS_H
#define SL_VERDICTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "scopelock_abi.h"

struct sl_verdicts;
struct sl_sessions;
struct sl_session;
struct sl_kernel;
struct sl_policy_store;
struct sl_programs;
struct sl_journal;
struct sl_verdict_event;

int sl_verdicts_new(struct sl_sessions *ss, struct sl_kernel *k, struct sl_policy_store *ps,
		    struct sl_programs *pr, struct sl_journal *j, struct sl_verdicts **out);
/* holds forgotten (deny them first: sl_holds_deny_all), evidence released; NULL-safe */
void sl_verdicts_free(struct sl_verdicts *vr);

/* a capture record (rec) of h, kept for the evidence of a verdict that follows */
void sl_verdicts_evidence_keep(struct sl_verdicts *vr, const struct sl_event_hdr *h, uint64_t conn,
			       json_t *rec);
/* the same given as the record's members' text (as the journal wrote it): parsed if needed */
void sl_verdicts_evidence_keep_text(struct sl_verdicts *vr, const struct sl_event_hdr *h,
				    uint64_t conn, const char *text, size_t len);
/* act on a verdict record now; its alert is written by sl_verdicts_flush; -EBADMSG if short */
int sl_verdicts_handle(struct sl_verdicts *vr, const void *data, size_t len);
/* write the alerts of acted-on verdicts older than before_ns (UINT64_MAX: all) */
void sl_verdicts_flush(struct sl_verdicts *vr, uint64_t before_ns);
/* verdicts acted on whose alert is not written yet */
size_t sl_verdicts_pending(const struct sl_verdicts *vr);
/* verdicts written since start, by verdict: {"killed": N, "held": N, ...} (new reference) */
json_t *sl_verdicts_counts_json(const struct sl_verdicts *vr);

/*
 * A decision the daemon took on the decoded request of a write the kernel
 * held for it (two-stage verdict, SL_VERDICT_DECODE; the requests room): v
 * is the verdict as the kernel would have reported it (rule, action, flags,
 * patterns, keywords, target; hdr and conn of the held write). Acted on like
 * a kernel verdict (kill: the session; freeze: a hold for a person) and its
 * alert written with request (the `request` member, borrowed), undecidable
 * (why the daemon could not decide, or NULL: rule SL_RULE_DECODE is then
 * "undecidable-request") and hold_us (how long the write was held).
 * -EBADMSG for a verdict without SL_VERDICT_DECODE.
 */
int sl_verdicts_decoded(struct sl_verdicts *vr, const struct sl_verdict_event *v, json_t *request,
			const char *undecidable, int64_t hold_us);

/*
 * A person decides a hold (approve: release the held call; deny: kill the
 * session). who/requester: the control client (recorded). 0 or -errno with err.
 */
int sl_hold_decide(struct sl_verdicts *vr, const char *id, bool approve, const char *who,
		   const json_t *requester, const char *reason, char *err, size_t errlen);
/* the timer: deny the holds nobody decided in time */
void sl_holds_tick(struct sl_verdicts *vr);
/* shutdown: deny every pending hold */
void sl_holds_deny_all(struct sl_verdicts *vr, const char *who, const char *reason);
/* the pending holds, for the next daemon (state file) */
json_t *sl_holds_state(const struct sl_verdicts *vr);
/* a hold was made or decided since the last call (the state file must follow at once) */
bool sl_holds_take_changed(struct sl_verdicts *vr);
/* fn(ctx) runs when a hold is made, before its alert is written (the state file) */
void sl_verdicts_set_hold_hook(struct sl_verdicts *vr, void (*fn)(void *ctx), void *ctx);
/* a previous daemon's pending holds of adopted sessions (approve/deny work on them);
 * the number adopted or -errno */
int sl_holds_adopt(struct sl_verdicts *vr, const json_t *state);
/* the alerts of the pending holds, with "expires_in_s" */
json_t *sl_holds_json(struct sl_verdicts *vr);
/* a hold (freeze verdict) waits for a person on this session */
bool sl_verdicts_session_held(const struct sl_verdicts *vr, const char *session_id);
/*
 * `scopelock end`: kill the session (session_killed with by and requester)
 * and deny its pending holds (hold_denied, same). 0 or -errno with err set.
 */
int sl_verdicts_end_session(struct sl_verdicts *vr, struct sl_session *s, const char *who,
			    const json_t *requester, const char *reason, char *err, size_t errlen);

#endif
