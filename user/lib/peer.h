/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The peer of a control connection, established once, when scopelockd
 * accepts it, from what the kernel recorded at connect() and cannot be
 * swapped afterwards (docs/operations.md, "The control socket"):
 *
 *  - SO_PEERCRED: uid, gid and pid of the process that connected;
 *  - SO_PEERGROUPS: its supplementary groups;
 *  - SO_PEERPIDFD (Linux 6.5): a pidfd of that process. Its pid is read from
 *    the pidfd's fdinfo, its cgroup v2 path from /proc/PID/cgroup, then the
 *    pidfd must still name a process that has not been reaped
 *    (pidfd_send_signal(pidfd, 0)), so the pid was not recycled between the
 *    reads. "Inside a session": that cgroup or an ancestor carries the
 *    session xattr (any scopelockd instance), or lies below this daemon's
 *    own session parent.
 *  - without SO_PEERPIDFD (ENOPROTOOPT): pidfd_open(pid), and the process's
 *    start time must not be after the accept. Weaker: a peer that exited and
 *    whose pid was reused by a process started before the accept (normally
 *    microseconds after connect(); start times have clock-tick resolution)
 *    would be taken for the peer.
 *
 * A peer that cannot be established (it exited before the daemon identified
 * it, any error) is unidentified, and every state-changing request of an
 * unidentified peer is refused. Each request is also checked against the
 * credentials the kernel attached to its message (SO_PASSCRED): it must
 * come from the process that connected, still alive, never from a process
 * the socket was handed to.
 *
 * Every system call goes through struct sl_peer_sys, so unit tests can feed
 * the logic any kernel answer (tests/unit/test_peer.c).
 */
#ifndef SL_PEER_H
#define SL_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <jansson.h>

/* values of include/uapi/asm-generic/socket.h (Linux 6.5); older headers lack them */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

#define SL_PEER_SESSION_MAX 64
#define SL_PEER_USER_MAX 64

/* the system calls of the identification: 0 / fd / length or -errno */
struct sl_peer_sys {
	int (*getsockopt)(int fd, int level, int name, void *val, socklen_t *len);
	int (*pidfd_open)(pid_t pid);
	/* pid of a pidfd from its fdinfo; -ESRCH once the process is reaped */
	int (*pidfd_pid)(int pidfd, pid_t *pid);
	/* 0 while the process is not reaped (pidfd_send_signal(pidfd, 0)) */
	int (*pidfd_alive)(int pidfd);
	/* start time of pid in nanoseconds since boot (/proc/PID/stat, in ticks) */
	int (*start_time_ns)(pid_t pid, uint64_t *ns);
	/* /proc/PID/cgroup text, malloc'd and NUL-terminated */
	int (*read_cgroup)(pid_t pid, char **buf);
	/* lgetxattr: length or -errno */
	ssize_t (*getxattr)(const char *path, const char *name, void *val, size_t len);
	/* CLOCK_BOOTTIME now, nanoseconds */
	uint64_t (*boottime_ns)(void);
	int (*close)(int fd);
};

extern const struct sl_peer_sys sl_peer_sys_linux;

/* where sessions live, as the daemon sees the cgroup v2 hierarchy */
struct sl_peer_env {
	const char *cg_root;	    /* mount point of the v2 hierarchy */
	const char *xattr;	    /* SL_SESSION_XATTR */
	const char *own_parent_rel; /* this daemon's session parent ("/scopelock"), or NULL */
};

enum sl_peer_method {
	SL_PEER_NONE = 0,
	SL_PEER_BY_PEERPIDFD, /* SO_PEERPIDFD */
	SL_PEER_BY_PIDFD_OPEN /* pidfd_open(SO_PEERCRED pid) + start time (older kernels) */
};

struct sl_peer {
	bool have_cred; /* uid, gid, pid: SO_PEERCRED at connect() */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool have_groups; /* groups: SO_PEERGROUPS at connect() */
	gid_t *groups;
	size_t ngroups;
	char user[SL_PEER_USER_MAX]; /* name of uid at accept, "" when it has none */

	bool identified; /* pidfd, cgroup and in_session below are established */
	enum sl_peer_method method;
	int pidfd;    /* the process that connected, -1 */
	char *cgroup; /* v2 path relative to the root, malloc'd */
	bool in_session;
	char session[SL_PEER_SESSION_MAX]; /* the session id when in_session */
	char error[192];		   /* why not identified */
};

/* why a request was refused; names in docs/events.md (control_refused) */
enum sl_peer_refusal {
	SL_PEER_OK = 0,
	SL_PEER_UNIDENTIFIED, /* "unidentified" */
	SL_PEER_IN_SESSION,   /* "in_session" */
	SL_PEER_NO_SENDER,    /* "sender_unknown": the message carried no credentials */
	SL_PEER_HANDED_OVER,  /* "handed_over": sent by another process than the peer */
	SL_PEER_EXITED,	      /* "peer_exited": the process that connected is gone */
	SL_PEER_NOT_ADMIN,    /* "not_admin" (decided by the daemon) */
};

const char *sl_peer_refusal_name(enum sl_peer_refusal r);

/* an empty, unidentified peer (pidfd -1) */
void sl_peer_init(struct sl_peer *p);
/* close the pidfd, free what it holds; back to sl_peer_init's state */
void sl_peer_clear(const struct sl_peer_sys *sys, struct sl_peer *p);

/*
 * Establish the peer of the accepted unix socket fd. Call right after
 * accept(). Always fills p (p->error says why when unidentified); 0 when
 * identified, -errno otherwise.
 */
int sl_peer_identify(const struct sl_peer_sys *sys, const struct sl_peer_env *env, int fd,
		     struct sl_peer *p);

/*
 * Is the cgroup rel (v2 path, "/a/b") a session cgroup or inside one? Walks
 * rel and its ancestors for env->xattr; below env->own_parent_rel counts as
 * a session too (the daemon's own table, should the xattr be missing).
 * 1 (*which = session id), 0 no, -errno when it cannot tell (a cgroup that
 * no longer exists, an xattr error other than "no such attribute").
 */
int sl_peer_session_of(const struct sl_peer_sys *sys, const struct sl_peer_env *env,
		       const char *rel, char *which, size_t whichlen);

/*
 * May this peer make a state-changing request, whose message carried the
 * sender credentials `sender` (NULL: none)? SL_PEER_OK, or the refusal
 * with a sentence in why.
 */
enum sl_peer_refusal sl_peer_check_change(const struct sl_peer_sys *sys, const struct sl_peer *p,
					  const struct ucred *sender, char *why, size_t whylen);

/* gid is p's primary group or one of its supplementary groups at connect() */
bool sl_peer_in_group(const struct sl_peer *p, gid_t gid);

/* "root (uid 0, pid 42)", or "uid 1000 (pid 42)" without a name; "unknown peer" */
void sl_peer_who(const struct sl_peer *p, char *buf, size_t len);

/*
 * The identity as established, for audit records: {"user","uid","gid","pid",
 * "cgroup","session","identified","identified_by"[,"error"]}. Members that
 * were not established are null. NULL on allocation failure.
 */
json_t *sl_peer_json(const struct sl_peer *p);

#endif
