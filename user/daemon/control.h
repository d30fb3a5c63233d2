/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The control socket: a dispatch table of requests in the style of
 * OpenSSH's monitor, each with the permission it needs (anyone; an
 * identified peer outside every session; that and root or the policy's
 * admin_group), each calling only other rooms' doors. The peer of a
 * connection is established once, at accept (peer.h); every refused
 * state-changing request is a control_refused alert. Tail clients get every
 * record the journal writes (sl_control_broadcast, a journal hook).
 */
#ifndef SL_CONTROL_H
#define SL_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <jansson.h>

#include "peer.h"

struct sl_control;
struct sl_sessions;
struct sl_verdicts;
struct sl_policy_store;
struct sl_journal;
struct sl_kernel;
struct sl_ingest;
struct sl_guard;
struct sl_confine;
struct sl_tls;
struct sl_features;
struct sl_checkpoints;

struct sl_control_opts {
	const char *socket_path;
	const char *socket_group;  /* members may use the socket (mode 0660), or NULL */
	const char *cgroup_parent; /* the session parent, relative to the v2 mount */
	int epfd;		   /* clients are added with their struct as data.ptr */
	struct timespec started;   /* CLOCK_REALTIME (status uptime) */
	/* policy_reload: reload, record it, follow it up (main.c); 0 or -errno, *errors */
	int (*reload)(void *ctx, const json_t *requester, char **errors);
	void *reload_ctx;
	/* shutdown: stop the daemon and detach its enforcement (main.c; ctx: reload_ctx) */
	void (*shutdown)(void *ctx, const char *who);
};

/* the rooms requests reach (tls may be NULL) */
struct sl_control_rooms {
	struct sl_sessions *sessions;
	struct sl_verdicts *verdicts;
	struct sl_policy_store *store;
	struct sl_journal *journal;
	struct sl_kernel *kernel;
	struct sl_ingest *ingest;
	struct sl_guard *guard;
	struct sl_confine *confine;
	struct sl_tls *tls;
	struct sl_features *features;
	struct sl_checkpoints *checkpoints;
	struct sl_creds *creds;
};

/* bind and listen (a live daemon on the socket is refused; a stale socket replaced) */
int sl_control_listen(const struct sl_control_opts *o, const struct sl_control_rooms *r,
		      struct sl_control **out);
/* the listening socket, for the daemon's loop */
int sl_control_fd(const struct sl_control *ctl);
void sl_control_accept(struct sl_control *ctl);
/* client: the epoll data.ptr of a client; never frees a client (the same
 * round of events may still name it) */
void sl_control_client_event(struct sl_control *ctl, void *client, uint32_t events);
/* free the clients marked dead; once per round of events, after all of them */
void sl_control_reap(struct sl_control *ctl);
/* a record's line to the tail clients (session: its session or NULL) */
void sl_control_broadcast(struct sl_control *ctl, const char *line, size_t len,
			  const char *session);
/* close every client and the socket (removed); NULL-safe */
void sl_control_close(struct sl_control *ctl);

/* who may make a request */
enum sl_control_perm {
	SL_CTL_ANY,	/* read-only: anyone who can connect, sessions too */
	SL_CTL_OUTSIDE, /* an identified peer outside every session (run: as itself) */
	SL_CTL_ADMIN,	/* as SL_CTL_OUTSIDE, and root or the policy's admin_group */
};

/* the i-th request of the dispatch table and its permission; NULL past the end */
const char *sl_control_op(size_t i, enum sl_control_perm *perm);

/*
 * The decision of the dispatch table: may peer make a request that needs
 * perm, sent with the credentials sender (NULL: none)? admin_gid is the gid
 * of admin_group ((gid_t)-1: none or unknown). SL_PEER_OK, or the refusal
 * with a sentence in why.
 */
enum sl_peer_refusal sl_control_permit(const struct sl_peer_sys *sys, enum sl_control_perm perm,
				       const struct sl_peer *peer, const struct ucred *sender,
				       const char *admin_group, gid_t admin_gid, char *why,
				       size_t whylen);

#endif
