// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The peer of a control connection: see peer.h. */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "jsonbytes.h"
#include "peer.h"
#include "util.h"

/* ---------------------------------------------------------------- the real system */

static int sys_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	return getsockopt(fd, level, name, val, len) ? -errno : 0;
}

static int sys_pidfd_open(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}

static int sys_pidfd_pid(int pidfd, pid_t *pid)
{
	_cleanup_free_ char *buf = NULL;
	char path[64], *p;
	int err, v;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	err = sl_read_file(path, 4096, &buf, NULL);
	if (err)
		return err;
	p = strstr(buf, "\nPid:");
	if (!p || sscanf(p + 5, "%d", &v) != 1)
		return -EBADF; /* not a pidfd */
	if (v <= 0)
		return -ESRCH; /* -1: reaped (0: not in our pid namespace) */
	*pid = v;
	return 0;
}

static int sys_pidfd_alive(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) ? -errno : 0;
}

static int sys_start_time_ns(pid_t pid, uint64_t *ns)
{
	_cleanup_free_ char *buf = NULL;
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	char path[64], *p;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	err = sl_read_file(path, 8192, &buf, NULL);
	if (err)
		return err;
	p = strrchr(buf, ')'); /* comm may hold spaces and parens */
	/* ") S": field 3 is the state; the start time is field 22 */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &ticks) != 1 || hz <= 0)
		return -EBADMSG;
	*ns = (uint64_t)ticks * (1000000000ULL / (uint64_t)hz);
	return 0;
}

static int sys_read_cgroup(pid_t pid, char **buf)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	return sl_read_file(path, 1 << 16, buf, NULL);
}

static ssize_t sys_getxattr(const char *path, const char *name, void *val, size_t len)
{
	ssize_t n = lgetxattr(path, name, val, len);

	return n < 0 ? -errno : n;
}

static uint64_t sys_boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int sys_close(int fd)
{
	return close(fd) ? -errno : 0;
}

const struct sl_peer_sys sl_peer_sys_linux = {
    .getsockopt = sys_getsockopt,
    .pidfd_open = sys_pidfd_open,
    .pidfd_pid = sys_pidfd_pid,
    .pidfd_alive = sys_pidfd_alive,
    .start_time_ns = sys_start_time_ns,
    .read_cgroup = sys_read_cgroup,
    .getxattr = sys_getxattr,
    .boottime_ns = sys_boottime_ns,
    .close = sys_close,
};

/* ---------------------------------------------------------------- the logic */

const char *sl_peer_refusal_name(enum sl_peer_refusal r)
{
	switch (r) {
	case SL_PEER_OK:
		return "ok";
	case SL_PEER_UNIDENTIFIED:
		return "unidentified";
	case SL_PEER_IN_SESSION:
		return "in_session";
	case SL_PEER_NO_SENDER:
		return "sender_unknown";
	case SL_PEER_HANDED_OVER:
		return "handed_over";
	case SL_PEER_EXITED:
		return "peer_exited";
	case SL_PEER_NOT_ADMIN:
		return "not_admin";
	}
	return "unknown";
}

void sl_peer_init(struct sl_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->pidfd = -1;
}

void sl_peer_clear(const struct sl_peer_sys *sys, struct sl_peer *p)
{
	if (p->pidfd >= 0)
		sys->close(p->pidfd);
	free(p->groups);
	free(p->cgroup);
	sl_peer_init(p);
}

int sl_peer_session_of(const struct sl_peer_sys *sys, const struct sl_peer_env *env,
		       const char *rel, char *which, size_t whichlen)
{
	size_t rootlen = strlen(env->cg_root);
	char path[4096], val[SL_PEER_SESSION_MAX];

	if (rel[0] != '/')
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s%s", env->cg_root, strcmp(rel, "/") ? rel : "") >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	for (;;) {
		ssize_t n = sys->getxattr(path, env->xattr, val, sizeof(val) - 1);
		char *slash;

		if (n >= 0) {
			val[n] = '\0';
			snprintf(which, whichlen, "%s", val);
			return 1;
		}
		/* ENOENT: the cgroup is gone; anything but "no such attribute": unknown */
		if (n != -ENODATA)
			return (int)n;
		if (strlen(path) <= rootlen)
			break;
		slash = strrchr(path + rootlen, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	/* below this daemon's own session parent: one of its sessions */
	if (env->own_parent_rel) {
		size_t n = strlen(env->own_parent_rel);

		if (!strncmp(rel, env->own_parent_rel, n) && rel[n] == '/' && rel[n + 1]) {
			const char *id = rel + n + 1;

			snprintf(which, whichlen, "%.*s", (int)strcspn(id, "/"), id);
			return 1;
		}
	}
	return 0;
}

static void peer_groups(const struct sl_peer_sys *sys, int fd, struct sl_peer *p)
{
	socklen_t want = 32 * sizeof(gid_t);

	for (int attempt = 0; attempt < 3; attempt++) {
		socklen_t len = want;
		gid_t *g = malloc(want ? want : sizeof(gid_t));
		int err;

		if (!g)
			return;
		err = sys->getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len);
		if (!err && len <= want) {
			p->groups = g;
			p->ngroups = len / sizeof(gid_t);
			p->have_groups = true;
			return;
		}
		free(g);
		/* ERANGE: len is the size needed */
		if (err != -ERANGE || len <= want)
			return;
		want = len;
	}
}

#define FAIL(e, ...)                                                                               \
	do {                                                                                       \
		snprintf(p->error, sizeof(p->error), __VA_ARGS__);                                 \
		ret = (e);                                                                         \
		goto out;                                                                          \
	} while (0)

int sl_peer_identify(const struct sl_peer_sys *sys, const struct sl_peer_env *env, int fd,
		     struct sl_peer *p)
{
	uint64_t accepted = sys->boottime_ns();
	_cleanup_free_ char *cgtext = NULL;
	struct ucred cred = {0};
	socklen_t len = sizeof(cred);
	int ret = 0, err, pidfd = -1;
	struct passwd pw, *pwp = NULL;
	char pwbuf[1024];
	pid_t pid = 0;

	sl_peer_init(p);
	err = sys->getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	if (err)
		FAIL(err, "SO_PEERCRED: %s", strerror(-err));
	/* pid 0: the peer is not visible in our pid namespace */
	if (len != sizeof(cred) || cred.pid <= 0)
		FAIL(-ESRCH, "SO_PEERCRED: no process of ours connected");
	p->have_cred = true;
	p->uid = cred.uid;
	p->gid = cred.gid;
	p->pid = cred.pid;
	if (!getpwuid_r(cred.uid, &pw, pwbuf, sizeof(pwbuf), &pwp) && pwp)
		snprintf(p->user, sizeof(p->user), "%s", pwp->pw_name);
	peer_groups(sys, fd, p);

	len = sizeof(pidfd);
	err = sys->getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len);
	if (!err) {
		p->method = SL_PEER_BY_PEERPIDFD;
		err = sys->pidfd_pid(pidfd, &pid);
		if (err == -ESRCH)
			FAIL(err,
			     "the process that connected (pid %d) exited before it was identified",
			     cred.pid);
		if (err)
			FAIL(err, "read the pid of the peer's pidfd: %s", strerror(-err));
		if (pid != cred.pid)
			FAIL(-ESRCH, "the peer's pidfd names pid %d, SO_PEERCRED pid %d", pid,
			     cred.pid);
	} else if (err == -ENOPROTOOPT) {
		uint64_t start;

		/* before Linux 6.5: pin the pid now; it must not be younger than the accept */
		pidfd = -1;
		p->method = SL_PEER_BY_PIDFD_OPEN;
		pid = cred.pid;
		err = sys->pidfd_open(pid);
		if (err < 0)
			FAIL(err, "the process that connected (pid %d) %s", pid,
			     err == -ESRCH ? "exited before it was identified" : strerror(-err));
		pidfd = err;
		err = sys->start_time_ns(pid, &start);
		if (err)
			FAIL(err, "start time of pid %d: %s", pid, strerror(-err));
		if (start > accepted)
			FAIL(-ESRCH,
			     "pid %d started after the connection was accepted: the process that "
			     "connected exited and its pid was reused",
			     pid);
	} else {
		pidfd = -1;
		FAIL(err, "SO_PEERPIDFD: %s", strerror(-err));
	}

	err = sys->read_cgroup(pid, &cgtext);
	if (!err)
		err = sl_cgroup_parse_v2(cgtext, &p->cgroup);
	if (err)
		FAIL(err, "cgroup of pid %d: %s", pid, strerror(-err));
	/* the pid still names the process pinned above: the cgroup read was its own */
	err = sys->pidfd_alive(pidfd);
	if (err)
		FAIL(err, "the process that connected (pid %d) %s", pid,
		     err == -ESRCH ? "exited while it was being identified" : strerror(-err));
	err = sl_peer_session_of(sys, env, p->cgroup, p->session, sizeof(p->session));
	if (err < 0)
		FAIL(err, "cannot tell whether cgroup '%s' is inside a session: %s", p->cgroup,
		     strerror(-err));
	p->in_session = err > 0;
	p->pidfd = pidfd;
	pidfd = -1;
	p->identified = true;
out:
	if (ret) {
		free(p->cgroup);
		p->cgroup = NULL;
		p->method = SL_PEER_NONE;
		p->session[0] = '\0';
	}
	if (pidfd >= 0)
		sys->close(pidfd);
	return ret;
}

enum sl_peer_refusal sl_peer_check_change(const struct sl_peer_sys *sys, const struct sl_peer *p,
					  const struct ucred *sender, char *why, size_t whylen)
{
	if (!p->identified) {
		snprintf(why, whylen, "the peer of this connection was not identified: %s",
			 p->error[0] ? p->error : "unknown error");
		return SL_PEER_UNIDENTIFIED;
	}
	if (p->in_session) {
		snprintf(why, whylen,
			 "the process that connected (pid %d) is inside session %s (cgroup %s)",
			 p->pid, p->session, p->cgroup);
		return SL_PEER_IN_SESSION;
	}
	if (!sender) {
		snprintf(why, whylen, "the request carried no sender credentials");
		return SL_PEER_NO_SENDER;
	}
	if (sender->pid != p->pid) {
		snprintf(why, whylen,
			 "the request was sent by pid %d, not by the process that connected (pid "
			 "%d): a control connection cannot be handed to another process",
			 sender->pid, p->pid);
		return SL_PEER_HANDED_OVER;
	}
	/* alive: the sender's pid cannot be a recycled copy of the peer's */
	if (sys->pidfd_alive(p->pidfd)) {
		snprintf(why, whylen,
			 "the process that connected (pid %d) has exited; requests must come from "
			 "the process that connected",
			 p->pid);
		return SL_PEER_EXITED;
	}
	return SL_PEER_OK;
}

bool sl_peer_in_group(const struct sl_peer *p, gid_t gid)
{
	if (!p->have_cred)
		return false;
	if (p->gid == gid)
		return true;
	for (size_t i = 0; p->have_groups && i < p->ngroups; i++)
		if (p->groups[i] == gid)
			return true;
	return false;
}

void sl_peer_who(const struct sl_peer *p, char *buf, size_t len)
{
	if (!p->have_cred)
		snprintf(buf, len, "unknown peer");
	else if (p->user[0])
		snprintf(buf, len, "%s (uid %u, pid %d)", p->user, p->uid, p->pid);
	else
		snprintf(buf, len, "uid %u (pid %d)", p->uid, p->pid);
}

static json_t *str_or_null(const char *s, bool present)
{
	/* names and paths are bytes: a cgroup name need not be UTF-8 */
	return present && s ? sl_json_bytes(s, strlen(s)) : json_null();
}

json_t *sl_peer_json(const struct sl_peer *p)
{
	const char *by = p->method == SL_PEER_BY_PEERPIDFD    ? "SO_PEERPIDFD"
			 : p->method == SL_PEER_BY_PIDFD_OPEN ? "pidfd_open"
							      : NULL;
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (json_object_set_new(o, "user", str_or_null(p->user, p->user[0])) ||
	    json_object_set_new(o, "uid", p->have_cred ? json_integer(p->uid) : json_null()) ||
	    json_object_set_new(o, "gid", p->have_cred ? json_integer(p->gid) : json_null()) ||
	    json_object_set_new(o, "pid", p->have_cred ? json_integer(p->pid) : json_null()) ||
	    json_object_set_new(o, "cgroup", str_or_null(p->cgroup, true)) ||
	    json_object_set_new(o, "session", str_or_null(p->session, p->in_session)) ||
	    json_object_set_new(o, "identified", json_boolean(p->identified)) ||
	    json_object_set_new(o, "identified_by", by ? json_string(by) : json_null()) ||
	    (!p->identified && json_object_set_new(o, "error", str_or_null(p->error, true)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}
