// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Control socket: a dispatch table of requests, each with the permission it
 * needs. The peer of a connection is established once, at accept (peer.h);
 * every state-changing request is refused, with a control_refused record,
 * when that peer is unidentified or inside any session, when the request was
 * not sent by the process that connected, or (where the request needs it)
 * when the peer is neither root nor in the policy's admin_group.
 */
#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgroup.h"
#include "checkpoints.h"
#include "confine.h"
#include "creds.h"
#include "confinement.h"
#include "control.h"
#include "daemon.h"
#include "feature.h"
#include "guard.h"
#include "ingest.h"
#include "journal.h"
#include "jsonbytes.h"
#include "kernel.h"
#include "log.h"
#include "peer.h"
#include "policy.h"
#include "policy_store.h"
#include "proto.h"
#include "sessions.h"
#include "tls.h"
#include "util.h"
#include "verdicts.h"
#include "scopelock_policy.h"

struct sl_control {
	char *socket_path;
	char *socket_group;
	char *cgroup_parent; /* relative to the cgroup v2 mount */
	int epfd;
	int listen_fd;
	struct timespec started;
	int (*reload)(void *ctx, const json_t *requester, char **errors);
	void *reload_ctx;
	void (*shutdown)(void *ctx, const char *who);
	struct sl_client *clients;
	/* the rooms requests reach */
	struct sl_sessions *sessions;
	struct sl_verdicts *verdicts;
	struct sl_policy_store *store;
	struct sl_journal *journal;
	struct sl_kernel *kernel;
	struct sl_ingest *ingest;
	struct sl_guard *guard;
	struct sl_checkpoints *checkpoints;
	struct sl_creds *creds;
	struct sl_confine *confine;
	struct sl_tls *tls;
	struct sl_features *features;
};

struct sl_client {
	struct sl_client *next;
	int fd;
	struct sl_peer peer;		     /* established at accept */
	bool tail;			     /* subscribed to records */
	char session[SL_SESSION_ID_LEN + 1]; /* tail filter, "" = all */
	bool alerts_only;		     /* tail filter: alerts, holds, kills */
	bool dead;
	char run_session[SL_SESSION_ID_LEN + 1]; /* the session this connection started */
	bool notify;	       /* the launcher asked for its session's notices (`notify`) */
	uint64_t notices_lost; /* notices the launcher's socket had no room for */
	bool gone;	       /* the peer closed its end: nothing more can be queued */
};

static json_t *status_json(struct sl_control *ctl);

/* reply, passing fd (-1: none) along */
static int client_reply_fd(struct sl_client *c, json_t *msg, int fd)
{
	int err;

	/* a send to a closed peer would purge its requests still queued to us */
	if (c->gone) {
		json_decref(msg);
		return -EPIPE;
	}
	err = sl_proto_send(c->fd, msg, fd);
	json_decref(msg);
	if (err)
		c->dead = true;
	return err;
}

static int client_reply(struct sl_client *c, json_t *msg)
{
	return client_reply_fd(c, msg, -1);
}

static int reply_error(struct sl_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int reply_error(struct sl_client *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	json_t *m;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	m = json_pack("{s:b, s:s}", "ok", 0, "error", buf);
	return m ? client_reply(c, m) : -ENOMEM;
}

static void control_free(struct sl_control *ctl)
{
	free(ctl->socket_path);
	free(ctl->socket_group);
	free(ctl->cgroup_parent);
	free(ctl);
}

static int control_listen(struct sl_control *ctl);

int sl_control_listen(const struct sl_control_opts *o, const struct sl_control_rooms *r,
		      struct sl_control **out)
{
	struct sl_control *ctl = calloc(1, sizeof(*ctl));
	int err;

	if (!ctl)
		return -ENOMEM;
	ctl->listen_fd = -1;
	ctl->epfd = o->epfd;
	ctl->started = o->started;
	ctl->reload = o->reload;
	ctl->reload_ctx = o->reload_ctx;
	ctl->shutdown = o->shutdown;
	ctl->sessions = r->sessions;
	ctl->verdicts = r->verdicts;
	ctl->store = r->store;
	ctl->journal = r->journal;
	ctl->kernel = r->kernel;
	ctl->ingest = r->ingest;
	ctl->guard = r->guard;
	ctl->checkpoints = r->checkpoints;
	ctl->creds = r->creds;
	ctl->confine = r->confine;
	ctl->tls = r->tls;
	ctl->features = r->features;
	ctl->socket_path = strdup(o->socket_path);
	ctl->socket_group = o->socket_group ? strdup(o->socket_group) : NULL;
	ctl->cgroup_parent = strdup(o->cgroup_parent);
	if (!ctl->socket_path || !ctl->cgroup_parent || (o->socket_group && !ctl->socket_group)) {
		control_free(ctl);
		return -ENOMEM;
	}
	err = control_listen(ctl);
	if (err) {
		control_free(ctl);
		return err;
	}
	*out = ctl;
	return 0;
}

int sl_control_fd(const struct sl_control *ctl)
{
	return ctl->listen_fd;
}

static int control_listen(struct sl_control *ctl)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = ctl->socket_path;
	_cleanup_free_ char *dir = strdup(path);
	gid_t gid = 0;
	int fd, probe, err;
	char *slash;

	if (!dir)
		return -ENOMEM;
	if (strlen(path) >= sizeof(sa.sun_path))
		return sl_err_ret(-ENAMETOOLONG, "socket path '%s'", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		err = sl_mkdir_p(dir, 0755);
		if (err)
			return sl_err_ret(err, "create socket directory '%s'", dir);
	}
	if (ctl->socket_group) {
		struct group *gr = getgrnam(ctl->socket_group);

		if (!gr)
			return sl_err_ret(-ENOENT, "socket group '%s'", ctl->socket_group);
		gid = gr->gr_gid;
	}
	/* a live daemon on this socket? refuse; a stale socket: replace */
	if (sl_proto_connect(path, &probe) == 0) {
		close(probe);
		return sl_err_ret(-EADDRINUSE, "another scopelockd is listening on '%s'", path);
	}
	unlink(path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return sl_err_ret(-errno, "socket");
	/* every message carries its sender's credentials (accepted sockets inherit it) */
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int))) {
		err = -errno;
		close(fd);
		return sl_err_ret(err, "SO_PASSCRED on the control socket");
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return sl_err_ret(err, "bind '%s'", path);
	}
	if (chown(path, 0, gid) || chmod(path, ctl->socket_group ? 0660 : 0600)) {
		err = -errno;
		close(fd);
		return sl_err_ret(err, "set owner/mode of '%s'", path);
	}
	if (listen(fd, 64) < 0) {
		err = -errno;
		close(fd);
		return sl_err_ret(err, "listen '%s'", path);
	}
	ctl->listen_fd = fd;
	return 0;
}

static void client_free(struct sl_control *ctl, struct sl_client *c)
{
	epoll_ctl(ctl->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	sl_peer_clear(&sl_peer_sys_linux, &c->peer);
	free(c);
}

void sl_control_accept(struct sl_control *ctl)
{
	const char *parent = ctl->cgroup_parent;
	char own[4096];
	struct sl_peer_env env = {
	    .cg_root = sl_sessions_cg_root(ctl->sessions),
	    .xattr = SL_SESSION_XATTR,
	    .own_parent_rel = own,
	};

	while (*parent == '/')
		parent++;
	snprintf(own, sizeof(own), "/%s", parent);
	for (;;) {
		struct epoll_event ev = {.events = EPOLLIN};
		struct sl_client *c;
		int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		/* now, before the peer can exit or hand the socket on */
		if (sl_peer_identify(&sl_peer_sys_linux, &env, fd, &c->peer))
			log_debug("control client (pid %d) not identified: %s", c->peer.pid,
				  c->peer.error);
		ev.data.ptr = c;
		if (epoll_ctl(ctl->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			sl_peer_clear(&sl_peer_sys_linux, &c->peer);
			close(fd);
			free(c);
			continue;
		}
		/* tag: clients are found through the list, epoll data is the client */
		c->next = ctl->clients;
		ctl->clients = c;
	}
}

static bool absent_freeze(const struct sl_control *ctl);
static int absent_grace_ms(const struct sl_control *ctl);

static void handle_run(struct sl_control *ctl, struct sl_client *c, json_t *req, int pidfd)
{
	struct sl_session *s = NULL;
	char err[512], refusal[512];
	bool refused;
	int ret;

	/* no session starts while sessions are frozen for the audit log */
	refused = sl_guard_refuses(ctl->guard, refusal, sizeof(refusal));
	ret = sl_session_create(ctl->sessions, req, pidfd, &c->peer, refused ? refusal : NULL, err,
				sizeof(err), &s);
	if (ret) {
		log_warn("run request from pid %d uid %u refused: %s", c->peer.pid, c->peer.uid,
			 err);
		reply_error(c, "%s", err);
		return;
	}
	snprintf(c->run_session, sizeof(c->run_session), "%s", sl_session_id(s));
	/* its first process waits before exec: its environment is the session's */
	sl_creds_session_start(ctl->creds, s);
	/* the child confines itself as told, then hands the listener over (`confine`) */
	/* blind_tls: proxy: the listening socket goes with the reply, the launcher's child
	 * starts the proxy on it */
	client_reply_fd(
	    c,
	    json_pack("{s:b, s:s, s:s, s:{s:b, s:b}, s:s, s:i, s:b, s:i}", "ok", 1, "session",
		      sl_session_id(s), "cgroup", sl_session_cgroup_path(s), "confine", "ptrace",
		      (sl_session_confine(s) & SL_CONFINE_PTRACE) != 0, "userns",
		      (sl_session_confine(s) & SL_CONFINE_USERNS) != 0, "daemon_absent",
		      absent_freeze(ctl) ? "freeze" : "continue", "daemon_absent_grace_ms",
		      absent_grace_ms(ctl), "proxy", sl_session_proxy_fd(s) >= 0, "proxy_port",
		      (int)sl_session_proxy_port(s)),
	    sl_session_proxy_fd(s));
}

/* settings.daemon_absent of the policy in force (the launcher carries it out) */
static bool absent_freeze(const struct sl_control *ctl)
{
	const struct sl_policy *p = sl_policy_store_current(ctl->store);

	return !p || p->settings.daemon_absent == SL_DAEMON_ABSENT_FREEZE;
}

static int absent_grace_ms(const struct sl_control *ctl)
{
	const struct sl_policy *p = sl_policy_store_current(ctl->store);

	return (int)(p ? p->settings.daemon_grace_s : SL_POLICY_DAEMON_GRACE_DEFAULT) * 1000;
}

/*
 * The launcher of a session a previous daemon started (scopelock run, the
 * parent of the session's first process) connects again after this daemon
 * adopted the session: this connection becomes the session's again (notify).
 */
static void handle_reattach(struct sl_control *ctl, struct sl_client *c, json_t *req, int pidfd)
{
	const char *id = json_string_value(json_object_get(req, "session"));
	struct sl_session *s = id ? sl_session_by_id(ctl->sessions, id) : NULL;
	char path[64], *buf = NULL, *p;
	int ppid = -1;

	if (!s || !sl_session_active(s)) {
		reply_error(c, "no running session '%s'", id ? id : "");
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)sl_session_leader(s));
	if (!sl_read_file(path, 8192, &buf, NULL) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %d", &ppid);
	free(buf);
	if (ppid != c->peer.pid) {
		reply_error(c, "refused: pid %d did not start session %s", c->peer.pid, id);
		return;
	}
	snprintf(c->run_session, sizeof(c->run_session), "%s", id);
	client_reply(c, json_pack("{s:b, s:s, s:s, s:i}", "ok", 1, "session", id, "daemon_absent",
				  absent_freeze(ctl) ? "freeze" : "continue",
				  "daemon_absent_grace_ms", absent_grace_ms(ctl)));
}

/* scopelock shutdown: stop this daemon and detach its enforcement (main.c) */
static void handle_shutdown(struct sl_control *ctl, struct sl_client *c, json_t *req, int pidfd)
{
	char who[160];

	sl_peer_who(&c->peer, who, sizeof(who));
	log_info("shutdown (enforcement detached) requested by %s", who);
	client_reply(c, json_pack("{s:b}", "ok", 1));
	ctl->shutdown(ctl->reload_ctx, who);
}

/*
 * The seccomp listener of the session this connection just started (passed
 * with the request): only the requester that started it, on the same
 * connection, while the session's first process waits before exec.
 */
static void handle_confine(struct sl_control *ctl, struct sl_client *c, json_t *req, int fd)
{
	const char *id = json_string_value(json_object_get(req, "session"));
	struct sl_confine_session cs;
	struct sl_session *s;
	char err[512];

	if (!id || !c->run_session[0] || strcmp(id, c->run_session)) {
		reply_error(c,
			    "refused: 'confine' is only for the session this connection started");
		return;
	}
	s = sl_session_by_id(ctl->sessions, id);
	if (!s || !sl_session_active(s)) {
		reply_error(c, "session %s is not running", id);
		return;
	}
	cs = (struct sl_confine_session){
	    .id = sl_session_id(s),
	    .scope = sl_session_scope(s),
	    .cgroup_path = sl_session_cgroup_path(s),
	    .flags = sl_session_confine(s),
	    .leader = sl_session_leader(s),
	};
	if (sl_confine_attach(ctl->confine, &cs, fd, req, err, sizeof(err))) {
		log_warn("confine request for session %s from pid %d refused: %s", id, c->peer.pid,
			 err);
		reply_error(c, "%s", err);
		return;
	}
	client_reply(c, json_pack("{s:b, s:s}", "ok", 1, "session", id));
}

/*
 * The launcher (`scopelock run`, outside the session) asks to be told what
 * happens to the session it started: from now on its connection gets the
 * session's alert-class records (holds, decisions, kills, refusals) and its
 * session_end, as they are written.
 */
static void handle_notify(struct sl_control *ctl, struct sl_client *c, json_t *req, int pidfd)
{
	const char *id = json_string_value(json_object_get(req, "session"));

	if (!id || !c->run_session[0] || strcmp(id, c->run_session)) {
		reply_error(c, "refused: 'notify' is only for the session this connection started");
		return;
	}
	if (!client_reply(c, json_pack("{s:b, s:s}", "ok", 1, "session", id)))
		c->notify = true;
}

static void handle_status(struct sl_control *ctl, struct sl_client *c, json_t *req, int pidfd)
{
	json_t *st = status_json(ctl);

	if (!st) {
		reply_error(c, "out of memory");
		return;
	}
	json_object_set_new(st, "ok", json_true());
	client_reply(c, st);
}

static bool line_matches(const char *line, const char *session, bool alerts_only)
{
	char needle[64];

	if (alerts_only && !sl_journal_line_is_alert(line))
		return false;
	if (!session[0])
		return true;
	snprintf(needle, sizeof(needle), "\"session\":\"%s\"", session);
	return strstr(line, needle) != NULL;
}

static void handle_tail(struct sl_control *ctl, struct sl_client *c, json_t *req, int pidfd)
{
	const char *session = json_string_value(json_object_get(req, "session"));
	json_int_t count = json_integer_value(json_object_get(req, "count"));
	bool follow = json_is_true(json_object_get(req, "follow"));

	c->alerts_only = json_is_true(json_object_get(req, "alerts"));
	size_t start, n = 0;

	if (session) {
		if (strlen(session) > SL_SESSION_ID_LEN) {
			reply_error(c, "invalid session id '%s'", session);
			return;
		}
		if (!sl_session_by_id(ctl->sessions, session)) {
			reply_error(c, "no session '%s' in this daemon's lifetime", session);
			return;
		}
		snprintf(c->session, sizeof(c->session), "%s", session);
	}
	if (count < 0)
		count = 0;
	if (client_reply(c, json_pack("{s:b}", "ok", 1)))
		return;
	/* the last `count` matching records from memory */
	if (count) {
		size_t i = sl_journal_recent_count(ctl->journal);

		while (i > 0 && n < (size_t)count) {
			const char *line = sl_journal_recent(ctl->journal, i - 1);

			if (line_matches(line, c->session, c->alerts_only))
				n++;
			i--;
		}
		start = i;
		for (i = start; i < sl_journal_recent_count(ctl->journal); i++) {
			const char *line = sl_journal_recent(ctl->journal, i);

			if (line_matches(line, c->session, c->alerts_only) &&
			    sl_proto_send_raw(c->fd, line, strlen(line), 0)) {
				c->dead = true;
				return;
			}
		}
	}
	if (follow)
		c->tail = true;
	else
		c->dead = true; /* done: close */
}

/*
 * Root, or a member of the policy's admin_group: the peer's primary group
 * or its supplementary groups as the kernel recorded them at connect().
 */
/* the gid of the policy's admin_group, (gid_t)-1 when there is none */
static gid_t admin_gid(struct sl_control *ctl, const char **group)
{
	const struct sl_policy *p = sl_policy_store_current(ctl->store);
	struct group *gr;

	*group = p ? p->settings.admin_group : NULL;
	if (!*group || !(gr = getgrnam(*group)))
		return (gid_t)-1;
	return gr->gr_gid;
}

#define SL_REASON_MAX 1024

/* a free-text reason, at most SL_REASON_MAX bytes; false (and a reply) if not */
static bool reason_ok(struct sl_client *c, const char *op, const char *reason)
{
	if (reason && strlen(reason) > SL_REASON_MAX) {
		reply_error(c, "malformed request: '%s' reason longer than %d bytes", op,
			    SL_REASON_MAX);
		return false;
	}
	return true;
}

static void handle_hold(struct sl_control *ctl, struct sl_client *c, json_t *req, bool approve)
{
	const char *id = json_string_value(json_object_get(req, "id"));
	const char *reason = json_string_value(json_object_get(req, "reason"));
	char who[160], err[256], why[SL_REASON_MAX + 256];
	json_t *requester;

	if (!id || !id[0] || strlen(id) > 20) {
		reply_error(c, "malformed request: hold id required");
		return;
	}
	if (!reason_ok(c, approve ? "approve" : "deny", reason))
		return;
	sl_peer_who(&c->peer, who, sizeof(who));
	snprintf(why, sizeof(why), "%s by %s%s%s", approve ? "approved" : "denied", who,
		 reason ? ": " : "", reason ? reason : "");
	requester = sl_peer_json(&c->peer);
	if (!requester) {
		reply_error(c, "out of memory");
		return;
	}
	if (sl_hold_decide(ctl->verdicts, id, approve, who, requester, why, err, sizeof(err))) {
		json_decref(requester);
		reply_error(c, "%s", err);
		return;
	}
	json_decref(requester);
	client_reply(c, json_pack("{s:b, s:s}", "ok", 1, "id", id));
}

static void handle_approve(struct sl_control *ctl, struct sl_client *c, json_t *req, int pidfd)
{
	handle_hold(ctl, c, req, true);
}

static void handle_deny(struct sl_control *ctl, struct sl_client *c, json_t *req, int pidfd)
{
	handle_hold(ctl, c, req, false);
}

static void handle_end(struct sl_control *ctl, struct sl_client *c, json_t *req, int pidfd)
{
	const char *id = json_string_value(json_object_get(req, "session"));
	const char *reason = json_string_value(json_object_get(req, "reason"));
	char who[160], err[256], why[SL_REASON_MAX + 256];
	struct sl_session *s;
	json_t *requester;

	if (!id || !id[0] || strlen(id) > SL_SESSION_ID_LEN) {
		reply_error(c, "malformed request: session id required");
		return;
	}
	if (!reason_ok(c, "end", reason))
		return;
	s = sl_session_by_id(ctl->sessions, id);
	if (!s || !sl_session_active(s)) {
		reply_error(c, "no running session '%s' (see 'scopelock status')", id);
		return;
	}
	sl_peer_who(&c->peer, who, sizeof(who));
	snprintf(why, sizeof(why), "ended by %s%s%s", who, reason ? ": " : "",
		 reason ? reason : "");
	requester = sl_peer_json(&c->peer);
	if (!requester) {
		reply_error(c, "out of memory");
		return;
	}
	if (sl_verdicts_end_session(ctl->verdicts, s, who, requester, why, err, sizeof(err))) {
		json_decref(requester);
		reply_error(c, "%s", err);
		return;
	}
	json_decref(requester);
	client_reply(c, json_pack("{s:b, s:s}", "ok", 1, "session", id));
}

static void handle_reload(struct sl_control *ctl, struct sl_client *c, json_t *req, int pidfd)
{
	char who[160], *errors = NULL;
	json_t *requester = sl_peer_json(&c->peer);
	int err;

	if (!requester) {
		reply_error(c, "out of memory");
		return;
	}
	sl_peer_who(&c->peer, who, sizeof(who));
	log_info("policy reload requested by %s", who);
	err = ctl->reload(ctl->reload_ctx, requester, &errors);
	json_decref(requester);
	if (err) {
		reply_error(c, "policy '%s' refused; the running policy stays in force:\n%s",
			    sl_policy_store_path(ctl->store), errors ? errors : strerror(-err));
		free(errors);
		return;
	}
	client_reply(c, json_pack("{s:b, s:s, s:i}", "ok", 1, "sha256",
				  sl_policy_store_sha256(ctl->store), "generation",
				  sl_policy_store_generation(ctl->store)));
}

static const struct {
	const char *op;
	void (*fn)(struct sl_control *ctl, struct sl_client *c, json_t *req, int pidfd);
	enum sl_control_perm perm;
} dispatch[] = {
    {"status", handle_status, SL_CTL_ANY},
    {"tail", handle_tail, SL_CTL_ANY},
    {"run", handle_run, SL_CTL_OUTSIDE},
    /* the listener of the session this connection started (scopelock run) */
    {"confine", handle_confine, SL_CTL_OUTSIDE},
    /* what happens to that session, told to its launcher */
    {"notify", handle_notify, SL_CTL_OUTSIDE},
    {"end", handle_end, SL_CTL_ADMIN},
    {"approve", handle_approve, SL_CTL_ADMIN},
    {"deny", handle_deny, SL_CTL_ADMIN},
    {"policy_reload", handle_reload, SL_CTL_ADMIN},
    /* the launcher of a session a restarted daemon adopted */
    {"reattach", handle_reattach, SL_CTL_OUTSIDE},
    {"shutdown", handle_shutdown, SL_CTL_ADMIN},
};

const char *sl_control_op(size_t i, enum sl_control_perm *perm)
{
	if (i >= SL_ARRAY_SIZE(dispatch))
		return NULL;
	if (perm)
		*perm = dispatch[i].perm;
	return dispatch[i].op;
}

enum sl_peer_refusal sl_control_permit(const struct sl_peer_sys *sys, enum sl_control_perm perm,
				       const struct sl_peer *peer, const struct ucred *sender,
				       const char *admin_group, gid_t admin_gid, char *why,
				       size_t whylen)
{
	enum sl_peer_refusal r;

	if (whylen)
		why[0] = '\0';
	if (perm == SL_CTL_ANY)
		return SL_PEER_OK;
	/* fail closed: any doubt about the peer refuses the request */
	r = sl_peer_check_change(sys, peer, sender, why, whylen);
	if (r != SL_PEER_OK || perm != SL_CTL_ADMIN)
		return r;
	if (peer->have_cred && peer->uid == 0)
		return SL_PEER_OK;
	if (admin_group && admin_gid != (gid_t)-1 && sl_peer_in_group(peer, admin_gid))
		return SL_PEER_OK;
	if (admin_group)
		snprintf(why, whylen, "uid %u is not root and not in admin_group '%s'", peer->uid,
			 admin_group);
	else
		snprintf(why, whylen, "uid %u is not root and the policy has no admin_group",
			 peer->uid);
	return SL_PEER_NOT_ADMIN;
}

/* the request's own target, for the refusal record: bounded bytes values */
static void refusal_targets(json_t *rec, const char *op, json_t *req)
{
	static const struct {
		const char *op, *key, *as;
	} targets[] = {
	    {"approve", "id", "hold_id"},
	    {"deny", "id", "hold_id"},
	    {"end", "session", "target_session"},
	    {"run", "scope", "scope"},
	};

	for (size_t i = 0; i < SL_ARRAY_SIZE(targets); i++) {
		const char *v = json_string_value(json_object_get(req, targets[i].key));

		if (strcmp(op, targets[i].op) || !v)
			continue;
		sl_json_set_bytes(rec, targets[i].as, v, strnlen(v, 64));
	}
}

/*
 * Refuse a request: a precise reply, a warning, and a control_refused record
 * with the identity that was established (never a guess).
 */
static void refuse(struct sl_control *ctl, struct sl_client *c, const char *op, json_t *req,
		   enum sl_peer_refusal r, const char *why)
{
	json_t *rec = json_pack("{s:s, s:s, s:s}", "type", "control_refused", "op", op, "reason",
				sl_peer_refusal_name(r));
	char who[160];
	int err = -ENOMEM;

	sl_peer_who(&c->peer, who, sizeof(who));
	log_warn("refused '%s' from %s: %s", op, who, why);
	if (rec && !sl_json_set_bytes(rec, "detail", why, strlen(why)) &&
	    !json_object_set_new(rec, "requester", sl_peer_json(&c->peer))) {
		char summary[400];

		refusal_targets(rec, op, req);
		/* an alert: the audit chain, alerts.jsonl, syslog, tail --alerts */
		snprintf(summary, sizeof(summary), "REFUSED control request '%s' from %s: %s", op,
			 who, sl_peer_refusal_name(r));
		err = sl_journal_alert(ctl->journal, rec, summary);
	}
	if (err)
		log_err("control_refused record for '%s' from %s not written: %s", op, who,
			strerror(-err));
	json_decref(rec);
	if (r == SL_PEER_NOT_ADMIN)
		reply_error(c,
			    "permission refused: '%s' is for root or the policy's admin_group: %s",
			    op, why);
	else if (r == SL_PEER_IN_SESSION)
		reply_error(c,
			    "refused: '%s' from inside a session: %s; sessions cannot create or "
			    "end sessions, decide holds or reload the policy",
			    op, why);
	else
		reply_error(c, "refused: '%s': %s", op, why);
}

/* a request read from a client, with its descriptor and its sender */
struct sl_request {
	json_t *req;
	int pidfd;
	struct ucred sender;
	bool have_sender;
};

static void client_request(struct sl_control *ctl, struct sl_client *c, struct sl_request *q)
{
	const char *op = json_string_value(json_object_get(q->req, "op"));

	for (size_t i = 0; op && i < SL_ARRAY_SIZE(dispatch); i++) {
		enum sl_peer_refusal r;
		const char *group = NULL;
		gid_t gid = (gid_t)-1;
		char why[512];

		if (strcmp(op, dispatch[i].op))
			continue;
		if (dispatch[i].perm == SL_CTL_ADMIN)
			gid = admin_gid(ctl, &group);
		r = sl_control_permit(&sl_peer_sys_linux, dispatch[i].perm, &c->peer,
				      q->have_sender ? &q->sender : NULL, group, gid, why,
				      sizeof(why));
		if (r != SL_PEER_OK)
			refuse(ctl, c, op, q->req, r, why);
		else
			dispatch[i].fn(ctl, c, q->req, q->pidfd);
		return;
	}
	reply_error(c, "unknown request '%s'", op ? op : "(none)");
}

/* requests read before answering; each may be up to SL_PROTO_MAX_MSG */
#define SL_CLIENT_BATCH 8

void sl_control_client_event(struct sl_control *ctl, void *client, uint32_t events)
{
	struct sl_client *c = client;

	/* marked dead meanwhile (e.g. by a broadcast): reaped after this round */
	if (c->dead)
		return;

	if (events & EPOLLHUP)
		c->gone = true;
	if (events & EPOLLERR)
		c->dead = true;
	/*
	 * Every queued request is handled, also after the peer hung up (its
	 * state-changing requests are then refused and recorded: none is
	 * dropped unseen). Requests are read before any is answered: a reply
	 * to a peer that died meanwhile would make the kernel purge the rest
	 * of its queue. A gone peer's queue is finite and read to its end; a
	 * live peer gets one batch and is woken again.
	 */
	while (!(events & EPOLLERR)) {
		struct sl_request batch[SL_CLIENT_BATCH];
		size_t n = 0;
		int err = 0;

		while (n < SL_CLIENT_BATCH) {
			struct sl_request *q = &batch[n];

			q->req = NULL;
			q->have_sender = false;
			err = sl_proto_recv_cred(c->fd, &q->req, &q->pidfd, &q->sender,
						 &q->have_sender);
			if (err)
				break;
			n++;
		}
		for (size_t i = 0; i < n; i++) {
			client_request(ctl, c, &batch[i]);
			if (batch[i].pidfd >= 0)
				close(batch[i].pidfd);
			json_decref(batch[i].req);
		}
		if (err == -EAGAIN || err == -EINTR) {
			if (c->gone)
				c->dead = true; /* HUP and nothing left */
			break;
		}
		if (err == -ECONNRESET) {
			c->dead = true;
			break;
		}
		if (err) {
			reply_error(c, "malformed request: %s", strerror(-err));
			c->dead = true;
			break;
		}
		/* a full batch: a live peer waits for the next wakeup */
		if (!c->gone)
			break;
	}
}

void sl_control_reap(struct sl_control *ctl)
{
	for (struct sl_client **pp = &ctl->clients; *pp;) {
		struct sl_client *x = *pp;

		if (x->dead) {
			*pp = x->next;
			client_free(ctl, x);
		} else {
			pp = &x->next;
		}
	}
}

/*
 * Called from inside the handling of any client's request (its record is
 * written, then broadcast): a client is only marked dead here, never freed,
 * since its own batch may be the one being handled; sl_control_reap frees
 * it after the round of events. Its descriptor is shut down: the peer sees
 * the end at once.
 */
void sl_control_broadcast(struct sl_control *ctl, const char *line, size_t len, const char *session)
{
	for (struct sl_client *c = ctl->clients; c; c = c->next) {
		/* the launcher of the session: never disconnected for being slow */
		if (!c->dead && c->notify && session && !strcmp(session, c->run_session) &&
		    (sl_journal_line_is_alert(line) ||
		     sl_journal_line_type_is(line, "session_end"))) {
			int err = sl_proto_send_raw(c->fd, line, len, MSG_DONTWAIT);

			/* a launcher that exited with its command is not one that lags */
			if (err && err != -EAGAIN)
				c->notify = false;
			else if (err && !c->notices_lost++)
				log_warn("session %s: its launcher (pid %d) is not reading its "
					 "notices",
					 c->run_session, c->peer.pid);
		}
		if (!c->dead && c->tail &&
		    (!c->session[0] || (session && !strcmp(session, c->session))) &&
		    (!c->alerts_only || sl_journal_line_is_alert(line))) {
			int err = sl_proto_send_raw(c->fd, line, len, MSG_DONTWAIT);

			if (err == -EAGAIN) {
				/* never block the event loop; never drop silently */
				log_warn("tail client pid %d fell behind; disconnecting it",
					 c->peer.pid);
				json_t *m =
				    json_pack("{s:b, s:s}", "ok", 0, "error",
					      "tail fell behind the event rate and was "
					      "disconnected; records continue in the audit log");
				if (m) {
					char *t = json_dumps(m, JSON_COMPACT);

					/* best effort: the socket buffer is full */
					if (t)
						send(c->fd, t, strlen(t),
						     MSG_DONTWAIT | MSG_NOSIGNAL);
					free(t);
					json_decref(m);
				}
				c->dead = true;
				shutdown(c->fd, SHUT_RDWR);
			} else if (err) {
				c->dead = true;
				shutdown(c->fd, SHUT_RDWR);
			}
		}
	}
}

void sl_control_close(struct sl_control *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients) {
		struct sl_client *c = ctl->clients;

		ctl->clients = c->next;
		client_free(ctl, c);
	}
	if (ctl->listen_fd >= 0) {
		close(ctl->listen_fd);
		ctl->listen_fd = -1;
		unlink(ctl->socket_path);
	}
	control_free(ctl);
}

/*
 * Where the daemon's CPU goes, ns since it started (thread CPU clocks): the
 * process (all threads); the ring drains less their writes (ingest:
 * decoding, labels, evidence, and building the records' lines through the
 * journal: redaction, chain, hash); the journal's batched writes; the
 * compression thread; the rest (control, timers, sessions, start-up).
 */
static json_t *cpu_json(struct sl_control *ctl)
{
	struct sl_journal_cpu jc;
	struct timespec ts;
	uint64_t proc, drain, ingest, other;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	proc = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	sl_journal_cpu(ctl->journal, &jc);
	drain = sl_ingest_cpu_ns(ctl->ingest);
	ingest = drain > jc.write_ns ? drain - jc.write_ns : 0;
	other = proc > drain + jc.compress_ns ? proc - drain - jc.compress_ns : 0;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "process_ns", (json_int_t)proc,
			 "ingest_ns", (json_int_t)ingest, "journal_write_ns",
			 (json_int_t)jc.write_ns, "compress_ns", (json_int_t)jc.compress_ns,
			 "other_ns", (json_int_t)other, "write_batches", (json_int_t)jc.writes);
}

static json_t *status_json(struct sl_control *ctl)
{
	uint64_t emitted[SL_OP_MAX], loss[SL_LOSS_MAX][SL_OP_MAX];
	json_t *st = json_object(), *arr, *o;
	struct timespec now;

	if (!st)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	json_object_set_new(st, "version", json_string(SL_VERSION));
	json_object_set_new(st, "pid", json_integer(getpid()));
	json_object_set_new(st, "uptime_s", json_integer(now.tv_sec - ctl->started.tv_sec));
	json_object_set_new(st, "policy", json_string(sl_policy_store_path(ctl->store)));
	json_object_set_new(st, "policy_sha256",
			    json_string(sl_policy_store_loaded_sha256(ctl->store)));
	{
		struct rusage ru;

		if (!getrusage(RUSAGE_SELF, &ru))
			json_object_set_new(
			    st, "daemon",
			    json_pack("{s:f, s:f, s:I}", "cpu_user_s",
				      ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
				      "cpu_system_s",
				      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, "max_rss_kb",
				      (json_int_t)ru.ru_maxrss));
	}
	json_object_set_new(st, "verdicts", sl_verdicts_counts_json(ctl->verdicts));
	json_object_set_new(st, "audit_log", json_string(sl_journal_path(ctl->journal)));
	json_object_set_new(st, "audit_last_seq",
			    json_integer((json_int_t)sl_journal_last_seq(ctl->journal)));
	json_object_set_new(st, "audit_errors",
			    json_integer((json_int_t)sl_journal_errors(ctl->journal)));
	json_object_set_new(st, "audit", sl_guard_json(ctl->guard));
	json_object_set_new(st, "checkpoints", sl_checkpoints_status_json(ctl->checkpoints));
	json_object_set_new(st, "credentials", sl_creds_json(ctl->creds));
	json_object_set_new(st, "decode_errors",
			    json_integer((json_int_t)sl_ingest_decode_errors(ctl->ingest)));
	json_object_set_new(st, "cpu", cpu_json(ctl));
	json_object_set_new(st, "cgroup_parent", json_string(sl_sessions_cg_parent(ctl->sessions)));
	/* pinned: kept in the kernel when this daemon stops (docs/operations.md) */
	json_object_set_new(st, "enforcement",
			    json_pack("{s:s?, s:b, s:s, s:i}", "pin_dir",
				      sl_kernel_pin_dir(ctl->kernel), "adopted",
				      sl_kernel_adopted(ctl->kernel), "daemon_absent",
				      absent_freeze(ctl) ? "freeze" : "continue",
				      "daemon_absent_grace_ms", absent_grace_ms(ctl)));

	{
		/* attached only while a session holds them (kernel.h) */
		struct sl_kernel_syscalls sc;

		sl_kernel_syscalls_get(ctl->kernel, &sc);
		json_object_set_new(st, "syscall_tracepoints",
				    json_pack("{s:b, s:i, s:i, s:b, s:I, s:I, s:I, s:I, s:I}",
					      "attached", sc.attached, "sessions", (int)sc.holds,
					      "links", (int)sc.links, "detaching", sc.detaching,
					      "attaches", (json_int_t)sc.attaches, "detaches",
					      (json_int_t)sc.detaches, "last_attach_us",
					      (json_int_t)sc.last_attach_us, "last_attach_wait_us",
					      (json_int_t)sc.last_wait_us, "last_detach_us",
					      (json_int_t)sc.last_detach_us));
	}
	json_object_set_new(st, "features", sl_features_json(ctl->features));

	arr = json_array();
	for (struct sl_session *s = sl_sessions_next(ctl->sessions, NULL); s;
	     s = sl_sessions_next(ctl->sessions, s)) {
		if (!sl_session_active(s))
			continue;
		o = sl_session_json(s);
		if (o) {
			struct sl_session_info info;

			/* taint as the kernel holds it now */
			if (sl_kernel_session_get(ctl->kernel, sl_session_cgroup_id(s), &info) ==
			    0) {
				json_object_set_new(
				    o, "taint",
				    sl_env_names_json(sl_policy_store_current(ctl->store),
						      info.taint));
				json_object_set_new(o, "held",
						    json_boolean(info.flags & SL_SESSION_HELD));
			}
			json_object_set_new(o, "confine",
					    sl_confine_session_json(ctl->confine, sl_session_id(s),
								    sl_session_confine(s)));
			if (sl_session_taint_files(s))
				json_object_set(o, "taint_files", sl_session_taint_files(s));
			json_array_append_new(arr, o);
		}
	}
	json_object_set_new(st, "sessions", arr);

	if (sl_kernel_stats_read(ctl->kernel, emitted, loss) == 0) {
		json_t *em = json_object(), *lo = json_object();

		for (int op = 1; op < SL_OP_MAX; op++) {
			const char *name = (sl_op_type(op) ?: "unknown");

			json_object_set_new(em, name, json_integer((json_int_t)emitted[op]));
		}
		for (int k = 0; k < SL_LOSS_MAX; k++) {
			json_t *per = json_object();

			for (int op = 1; op < SL_OP_MAX; op++)
				json_object_set_new(per, (sl_op_type(op) ?: "unknown"),
						    json_integer((json_int_t)loss[k][op]));
			json_object_set_new(lo, sl_loss_cause_name(k), per);
		}
		json_object_set_new(st, "events", em);
		json_object_set_new(st, "loss", lo);
	}
	json_object_set_new(st, "tls", ctl->tls ? sl_tls_status(ctl->tls) : json_null());
	json_object_set_new(st, "holds", sl_holds_json(ctl->verdicts));
	json_object_set_new(st, "policy_generation",
			    json_integer(sl_policy_store_generation(ctl->store)));
	json_object_set_new(st, "inode_labels",
			    json_integer(sl_policy_store_inode_labels(ctl->store)));
	json_object_set_new(st, "alerts_file",
			    sl_journal_alerts_path(ctl->journal)
				? json_string(sl_journal_alerts_path(ctl->journal))
				: json_null());
	return st;
}
