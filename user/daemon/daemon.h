/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* scopelockd internals shared by the daemon's translation units. */
#ifndef SL_DAEMON_H
#define SL_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <jansson.h>

#include "audit.h"
#include "scopelock_abi.h"
#include "scopelock_policy.h"

#define SL_VERSION "0.1.0"
#define SL_DEFAULT_SOCKET "/run/scopelock/scopelock.sock"
#define SL_DEFAULT_AUDIT_DIR "/var/log/scopelock"
#define SL_DEFAULT_STATE_DIR "/run/scopelock"
#ifndef SL_DEFAULT_POLICY /* set by the Makefile from PREFIX */
#define SL_DEFAULT_POLICY "/usr/local/share/scopelock/policies/default.yaml"
#endif
#define SL_SESSION_ID_LEN 16
/* records of the bulk ring handled between two looks at the verdict ring */
#define SL_VERDICT_POLL_EVERY 256

struct ring_buffer;
struct sl_tls;
struct sl_confine;

struct sl_opts {
	const char *policy;
	const char *audit_dir;
	const char *socket_path;
	const char *state_dir;
	const char *cgroup_parent; /* relative to the cgroup v2 mount */
	const char *socket_group;
	uint64_t ringbuf_size;
	uint64_t tls_capture;
	uint64_t argv_capture;
	uint64_t rotate_size;
	enum sl_fsync_mode fsync_mode;
	unsigned int fsync_interval_ms;
	int verbose;
};

struct sl_daemon;
struct sl_session;
struct sl_features;

struct sl_client;
struct sl_peer;
struct sl_policy;
struct sl_compiled_policy;

struct sl_daemon {
	struct sl_opts opts;
	struct sl_kernel *kernel; /* kernel.h */
	struct sl_ingest *ingest; /* ingest.h */
	struct sl_tls *tls;
	struct sl_journal *journal; /* journal.h */

	int epfd, listen_fd, signal_fd, timer_fd, lock_fd;
	volatile int stop;

	struct sl_sessions *sessions; /* sessions.h */

	struct sl_client *clients;
	struct sl_confine *confine; /* the sessions' seccomp listeners (confine.c) */

	struct sl_features *features; /* feature.h */

	struct sl_guard *guard; /* guard.h */

	struct sl_policy_store *store; /* policy_store.h */
	struct sl_verdicts *verdicts;  /* verdicts.h */

	struct sl_programs *programs; /* programs.h */

	struct timespec started;
};

/* main.c: reload the policy (SIGHUP, or a control client: requester), write
 * policy_loaded or policy_refused; on refusal *errors (malloc'd) lists every error */
int sl_daemon_reload(struct sl_daemon *d, const json_t *requester, char **errors);

/* control.c */
int sl_control_listen(struct sl_daemon *d);
void sl_control_accept(struct sl_daemon *d);
void sl_control_client_event(struct sl_daemon *d, struct sl_client *c, uint32_t events);
void sl_control_broadcast(struct sl_daemon *d, const char *line, size_t len, const char *session);
void sl_control_close_all(struct sl_daemon *d);
json_t *sl_status_json(struct sl_daemon *d);

/* epoll tags */
enum sl_ep_kind {
	SL_EP_RINGBUF = 1,
	SL_EP_VERDICTS,
	SL_EP_LISTEN,
	SL_EP_INOTIFY,
	SL_EP_SIGNAL,
	SL_EP_TIMER,
	SL_EP_CLIENT,
	SL_EP_CONFINE,
};

#endif
