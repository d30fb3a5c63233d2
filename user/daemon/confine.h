/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * scopelockd's supervisor of session confinement (user/lib/confinement.h):
 * it holds each session's seccomp listener in its event loop, decides the
 * system calls the filter hands over (the ptrace family: allowed when the
 * target is inside the same session; new user namespaces: refused) and
 * writes a `confine_refused` record for every refusal. When the daemon is
 * gone the listeners are closed and the kernel answers ENOSYS: fail closed.
 */
#ifndef SL_DAEMON_CONFINE_H
#define SL_DAEMON_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct sl_daemon;
struct sl_session;

/* probe (features), create the supervisor's epoll set, add it to d->epfd */
int sl_confine_init(struct sl_daemon *d);
/* close every listener (the sessions' filtered calls then fail with ENOSYS) */
void sl_confine_free(struct sl_daemon *d);
/* SL_CONFINE_* for a new session of this scope, by the current policy */
uint32_t sl_confine_flags_for_scope(const struct sl_daemon *d, const char *scope);
/*
 * Take over the listener of session s's filter (dup'd; the caller keeps
 * listener), after checking that the session's process is in seccomp filter
 * mode. req: the client's `confine` request (landlock_abi). Writes
 * `session_confined`. 0 or -errno with err filled.
 */
int sl_confine_attach(struct sl_daemon *d, struct sl_session *s, int listener, json_t *req,
		      char *err, size_t errlen);
/* the supervisor's epoll set is readable (SL_EP_CONFINE) */
void sl_confine_on_event(struct sl_daemon *d);
/* {"ptrace","userns","supervised","landlock_abi","refused"} of a session, or null */
json_t *sl_confine_session_json(const struct sl_daemon *d, const struct sl_session *s);

#endif
