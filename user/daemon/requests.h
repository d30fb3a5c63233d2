/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Requests: decode before judging. Every TLS write of a session, and every
 * write of a session on a plaintext TCP stream, is fed to the request
 * decoder of its connection (user/lib/reqdec.h), keyed by the connection
 * (session, program image, SSL* or socket inode), not by the process: a
 * forked child writing on its parent's connection continues the same stream.
 * Each request a write completes goes into the write's `tls_write` or
 * `plain_write` record as its `request` member (docs/events.md).
 *
 * Two-stage verdicts: a write the kernel held because it could not judge it
 * from its bytes (SL_VERDICT_DECODE, SL_EVF_DECODE_HOLD) is judged here on
 * the canonical text of the requests it completes, with the same decision
 * model as the kernel (policy_match.c, scopelock_decide.h), then released
 * (egress and the writer go on), or stopped through the verdicts room (kill,
 * a hold for a person). A request the decoder cannot decode, or a held write
 * whose bytes never arrived, stays held for a person: fail closed.
 */
#ifndef SL_REQUESTS_H
#define SL_REQUESTS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct sl_requests;
struct sl_sessions;
struct sl_session;
struct sl_kernel;
struct sl_policy_store;
struct sl_journal;
struct sl_verdicts;
struct sl_tls_event;
struct sl_verdict_event;

int sl_requests_new(struct sl_sessions *ss, struct sl_kernel *k, struct sl_policy_store *ps,
		    struct sl_journal *j, struct sl_verdicts *vr, struct sl_requests **out);
/* every decoder freed; writes still held stay held (the sessions end); NULL-safe */
void sl_requests_free(struct sl_requests *rq);

/*
 * A tls_write or plain_write capture record (e, len bytes) of session s, before its record
 * rec is written: fed to its connection's decoder; the requests it completes
 * go into rec ("request"). A held write is judged; the decision is carried
 * out by sl_requests_act, after rec was written and kept as evidence.
 */
void sl_requests_tls_write(struct sl_requests *rq, struct sl_session *s,
			   const struct sl_tls_event *e, size_t len, json_t *rec);
/* carry out the decisions taken since the last call */
void sl_requests_act(struct sl_requests *rq);
/* a verdict record flagged SL_VERDICT_DECODE: the kernel held a write */
void sl_requests_hold_verdict(struct sl_requests *rq, const struct sl_verdict_event *v);
/* the timer: held writes whose capture never came, decoders of ended sessions */
void sl_requests_tick(struct sl_requests *rq);

#endif
