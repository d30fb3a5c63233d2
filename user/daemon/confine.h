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
#include <sys/types.h>
#include <jansson.h>

struct sl_confine;
struct sl_features;
struct sl_journal;
struct sl_policy;

/* what the supervisor needs of a session */
struct sl_confine_session {
	const char *id;
	const char *scope;
	const char *cgroup_path; /* absolute, under cg_root */
	uint32_t flags;		 /* SL_CONFINE_* */
	pid_t leader;		 /* its first process, waiting before exec */
};

/* probe (into f), create the supervisor's epoll set (cg_root: the cgroup v2 mount) */
int sl_confine_init(struct sl_features *f, struct sl_journal *j, const char *cg_root,
		    struct sl_confine **out);
/* the supervisor's epoll set, for the daemon's loop */
int sl_confine_fd(const struct sl_confine *cf);
/* close every listener (the sessions' filtered calls then fail with ENOSYS); NULL-safe */
void sl_confine_free(struct sl_confine *cf);
/* SL_CONFINE_* for a new session of this scope, by p */
uint32_t sl_confine_flags_for_scope(const struct sl_policy *p, const char *scope);
/*
 * Take over the listener of session s's filter (dup'd; the caller keeps
 * listener), after checking that the session's process is in seccomp filter
 * mode. req: the client's `confine` request (landlock_abi). Writes
 * `session_confined`. 0 or -errno with err filled.
 */
int sl_confine_attach(struct sl_confine *cf, const struct sl_confine_session *s, int listener,
		      json_t *req, char *err, size_t errlen);
/* the supervisor's epoll set is readable */
void sl_confine_on_event(struct sl_confine *cf);
/* {"ptrace","userns","supervised","landlock_abi","refused"} of a session (flags: SL_CONFINE_*) */
json_t *sl_confine_session_json(const struct sl_confine *cf, const char *id, uint32_t flags);

#endif
