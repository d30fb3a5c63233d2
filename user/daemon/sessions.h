/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Sessions: cgroup v2 children of a scopelock-owned parent. A session is
 * created for a control client (its child, passed as a pidfd, is moved in
 * after the session is in the kernel's session map and its session_start is
 * in the log) and ends when its cgroup is no longer populated: main.c looks
 * (inotify, timer) and ends it once everything it did has been read. What
 * other rooms do to a session goes through the functions below: the cgroup
 * writes (freeze, kill) are only ever on a session cgroup this room created.
 */
#ifndef SL_SESSIONS_H
#define SL_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

struct sl_sessions;
struct sl_session;
struct sl_kernel;
struct sl_journal;
struct sl_policy_store;
struct sl_peer;

/*
 * Find or mount cgroup v2, create the session parent (cgroup_parent:
 * relative to the v2 mount) and the inotify descriptor. On failure *out may
 * hold what was done: sl_sessions_close() it.
 */
int sl_sessions_open(const char *cgroup_parent, struct sl_sessions **out);
/* the rooms sessions need, once they exist (before the first session) */
void sl_sessions_bind(struct sl_sessions *ss, struct sl_kernel *k, struct sl_journal *j,
		      struct sl_policy_store *ps);
/* free every session, remove the parent cgroup when it is empty; NULL-safe */
void sl_sessions_close(struct sl_sessions *ss);
/* free every session (shutdown, after each was ended or abandoned) */
void sl_sessions_clear(struct sl_sessions *ss);

/* inotify on every session's cgroup.events (the daemon's loop) */
int sl_sessions_fd(const struct sl_sessions *ss);
/* read what inotify says (the caller then looks at every active session) */
void sl_sessions_read_events(struct sl_sessions *ss);
const char *sl_sessions_cg_root(const struct sl_sessions *ss);
const char *sl_sessions_cg_parent(const struct sl_sessions *ss);
int sl_sessions_cg_parent_fd(const struct sl_sessions *ss);
/* cgroup v2 level of the session cgroups */
unsigned int sl_sessions_level(const struct sl_sessions *ss);

/*
 * Create a session for a run request of peer (the requester as established
 * at accept) and move pidfd's process into it. refusal: why no session may
 * start now (the audit log cannot be written), or NULL. 0 or -errno with err.
 */
int sl_session_create(struct sl_sessions *ss, json_t *req, int pidfd, const struct sl_peer *peer,
		      const char *refusal, char *err, size_t errlen, struct sl_session **out);
struct sl_session *sl_session_by_cgroup(struct sl_sessions *ss, uint64_t cgid);
struct sl_session *sl_session_by_id(struct sl_sessions *ss, const char *id);
/* every slot in turn (s NULL: the first); ended sessions too */
struct sl_session *sl_sessions_next(struct sl_sessions *ss, struct sl_session *s);
/* environment ids can change with a reload: re-resolve every session's scope */
void sl_sessions_rescope(struct sl_sessions *ss);

/* a session started or ended since the last call (the state file is rewritten) */
bool sl_sessions_take_changed(struct sl_sessions *ss);
/* the active sessions, as the next daemon needs them to adopt them (state file) */
json_t *sl_sessions_state(const struct sl_sessions *ss);
/*
 * Adopt the sessions a previous daemon left enforced (state: its
 * sl_sessions_state; the kernel maps are the pinned ones): each whose cgroup
 * is still there and in the kernel's session map becomes active again (ids
 * appended to adopted); the others are removed from the kernel map (ids
 * appended to gone). Returns the number adopted. Nothing is thawed here.
 */
int sl_sessions_adopt(struct sl_sessions *ss, const json_t *state, json_t *adopted, json_t *gone);

/* the session's cgroup has processes */
bool sl_session_populated(const struct sl_session *s);
/* the end: out of the kernel map, cgroup removed, session_end written */
void sl_session_end(struct sl_sessions *ss, struct sl_session *s);
/* shutdown: s still has processes; its cgroup is left in place (said once) */
void sl_session_abandon(struct sl_session *s);

/* {"session","scope","workspace","user","uid","name","argv","cgroup",...} */
json_t *sl_session_json(const struct sl_session *s);
const char *sl_session_id(const struct sl_session *s);
const char *sl_session_scope(const struct sl_session *s);
const char *sl_session_cgroup_path(const struct sl_session *s);
uint64_t sl_session_cgroup_id(const struct sl_session *s);
bool sl_session_active(const struct sl_session *s);
/* its cgroup was killed (sl_session_kill_cgroup) */
bool sl_session_killed(const struct sl_session *s);
/* SL_CONFINE_* (confinement.h) */
uint32_t sl_session_confine(const struct sl_session *s);
/*
 * blind_tls: proxy: the session's listening socket on 127.0.0.1 (the daemon
 * keeps it until the session ends; -1: no proxy, or adopted) and its port (0:
 * no proxy)
 */
int sl_session_proxy_fd(const struct sl_session *s);
uint16_t sl_session_proxy_port(const struct sl_session *s);
pid_t sl_session_leader(const struct sl_session *s);
/* the environment id of its scope (0: not an environment of the policy) */
uint32_t sl_session_scope_env(const struct sl_session *s);
/* its workspace directory (run --workspace, a real path), NULL if none */
const char *sl_session_workspace(const struct sl_session *s);
/* when it started, CLOCK_REALTIME ns */
uint64_t sl_session_started_ns(const struct sl_session *s);
/* [{"env","path","time"}] of the labelled files it opened (borrowed; may be NULL) */
json_t *sl_session_taint_files(const struct sl_session *s);

/* the session's value in the kernel: flags set/cleared, taint added; 0 or -errno */
int sl_session_kernel_update(struct sl_sessions *ss, struct sl_session *s, uint32_t set,
			     uint32_t clear, uint64_t taint);
/* a record of the session was read */
void sl_session_count_event(struct sl_session *s);
/* loss: throttle: one of its processes was stopped for stopped_ns */
void sl_session_note_throttle(struct sl_session *s, uint64_t stopped_ns);
/* rec: an open of a labelled file (kept once per path, capped) */
void sl_session_note_taint_file(struct sl_session *s, const json_t *rec);
/* frozen because the audit log cannot be written (the guard's mark) */
bool sl_session_audit_frozen(const struct sl_session *s);
void sl_session_set_audit_frozen(struct sl_session *s, bool frozen);
/* cgroup.freeze of an active session; 0 or -errno (-ESRCH: not active) */
int sl_session_freeze(struct sl_session *s, bool frozen);
/* cgroup.kill of an active session (then thawed, so that a frozen one dies) */
int sl_session_kill_cgroup(struct sl_session *s);

#endif
