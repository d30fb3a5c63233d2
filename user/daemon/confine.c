// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The supervisor of session confinement (confine.h). `scopelock run`
 * installs the filter of user/lib/confinement.c in the session's first
 * process and hands its listener over (`confine` request); from then on
 * every PTRACE_ATTACH/SEIZE, process_vm_readv/writev, pidfd_getfd, new user
 * namespace, setns into one and seccomp listener of the session waits here
 * for an answer:
 *
 *   - the ptrace family is allowed (SECCOMP_USER_NOTIF_FLAG_CONTINUE) when
 *     the target is inside the session's cgroup; otherwise EPERM;
 *   - everything else the filter hands over is refused with EPERM.
 *
 * The target is pinned with a pidfd before its cgroup is read, and the
 * pidfd is checked afterwards (the process read is the one the pid named);
 * SECCOMP_IOCTL_NOTIF_ID_VALID confirms the caller is still waiting before
 * its pid is trusted and before the answer. What remains (a target that
 * exits and whose pid is reused between the answer and the kernel's lookup,
 * another thread swapping the descriptor pidfd_getfd names) is closed by
 * the session's Landlock domain, which refuses the ptrace family towards
 * processes outside the session in the kernel itself.
 *
 * Every refusal is a `confine_refused` record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "cgroup.h"
#include "confine.h"
#include "confinement.h"
#include "daemon.h"
#include "feature.h"
#include "journal.h"
#include "jsonbytes.h"
#include "log.h"
#include "policy.h"
#include "util.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9: a pidfd for a thread */
#endif

/* one session's filter */
struct sl_confined {
	struct sl_confined *next;
	int fd; /* the seccomp listener */
	bool dead;
	char session[SL_SESSION_ID_LEN + 1];
	char *scope;
	char *cgroup; /* the session cgroup, relative to the v2 root */
	uint32_t flags;
	int landlock_abi;
	bool no_new_privs;
	uint64_t refused;
};

struct sl_confine {
	struct sl_journal *journal;
	char *cg_root; /* the cgroup v2 mount */
	int epfd;
	struct sl_confined *list;
	struct seccomp_notif_sizes sizes;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	struct stat own_pidns;
	bool notify_ok;
};

/* what the supervisor learnt about a process (caller or target) */
struct proc_facts {
	pid_t pid; /* thread group id */
	pid_t tid;
	long uid; /* real uid, -1: unknown */
	char comm[32];
	char *cgroup; /* v2-relative, malloc'd; NULL: unknown */
};

static void facts_free(struct proc_facts *f)
{
	free(f->cgroup);
	f->cgroup = NULL;
}

static int pidfd_open_any(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, PIDFD_THREAD);

	if (fd < 0 && errno == EINVAL) /* before 6.9: processes only */
		fd = (int)syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : fd;
}

/* the pid a pidfd refers to ("Pid:" of its fdinfo): > 0, -1 when it has
 * been reaped, 0 outside our pid namespace; -EBADF when fd is no pidfd */
static int pidfd_pid(int pidfd, pid_t *pid)
{
	_cleanup_free_ char *buf = NULL;
	char path[64], *p;
	int err;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	err = sl_read_file(path, 4096, &buf, NULL);
	if (err)
		return err;
	p = strstr(buf, "\nPid:");
	if (!p || sscanf(p + 5, "%d", pid) != 1)
		return -EBADF;
	return 0;
}

/* tgid, uid, comm and cgroup of a thread, best effort (for records) */
static void proc_facts(pid_t tid, struct proc_facts *f)
{
	_cleanup_free_ char *status = NULL, *comm = NULL;
	char path[64], *p;

	memset(f, 0, sizeof(*f));
	f->pid = f->tid = tid;
	f->uid = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	if (sl_read_file(path, 1 << 16, &status, NULL) == 0) {
		if ((p = strstr(status, "\nTgid:")))
			sscanf(p + 6, "%d", &f->pid);
		if ((p = strstr(status, "\nUid:")))
			sscanf(p + 5, "%ld", &f->uid);
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)tid);
	if (sl_read_file(path, sizeof(f->comm), &comm, NULL) == 0) {
		comm[strcspn(comm, "\n")] = '\0';
		snprintf(f->comm, sizeof(f->comm), "%s", comm);
	}
	if (sl_cgroup_of_pid(tid, &f->cgroup))
		f->cgroup = NULL;
}

static bool cgroup_within(const char *cg, const char *top)
{
	size_t n = strlen(top);

	return cg && !strncmp(cg, top, n) && (cg[n] == '\0' || cg[n] == '/');
}

/* the session (of any scopelock daemon) a cgroup belongs to, by its xattr */
static bool cgroup_session(const struct sl_confine *cf, const char *rel, char *which, size_t wlen)
{
	char path[4096], val[64];
	size_t root = strlen(cf->cg_root);

	if (!rel || snprintf(path, sizeof(path), "%s%s", cf->cg_root, rel) >= (int)sizeof(path))
		return false;
	for (;;) {
		ssize_t n = getxattr(path, SL_SESSION_XATTR, val, sizeof(val) - 1);
		char *slash;

		if (n >= 0) {
			val[n] = '\0';
			snprintf(which, wlen, "%s", val);
			return true;
		}
		slash = strrchr(path, '/');
		if (!slash || (size_t)(slash - path) <= root)
			return false;
		*slash = '\0';
	}
}

static bool same_pidns(const struct sl_confine *cf, pid_t tid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)tid);
	return stat(path, &st) == 0 && st.st_ino == cf->own_pidns.st_ino &&
	       st.st_dev == cf->own_pidns.st_dev;
}

/* ---- set-up ---- */

int sl_confine_init(struct sl_features *f, struct sl_journal *j, const char *cg_root,
		    struct sl_confine **out)
{
	uint32_t action = SECCOMP_RET_USER_NOTIF;
	struct sl_confine *cf;
	int abi;

	cf = calloc(1, sizeof(*cf));
	if (!cf)
		return -ENOMEM;
	cf->epfd = -1;
	cf->journal = j;
	/* from here a failure leaves what was done for sl_confine_free */
	*out = cf;
	cf->cg_root = strdup(cg_root);
	if (!cf->cg_root)
		return -ENOMEM;
	cf->notify_ok = syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0 &&
			syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &cf->sizes) == 0;
	if (cf->notify_ok) {
		cf->req = calloc(1, cf->sizes.seccomp_notif);
		cf->resp = calloc(1, cf->sizes.seccomp_notif_resp);
		if (!cf->req || !cf->resp)
			return -ENOMEM;
	}
	sl_feature_add(f, "seccomp:user_notif", cf->notify_ok, cf->notify_ok, "%s",
		       cf->notify_ok ? "supervises session confinement (ptrace family, user "
				       "namespaces)"
				     : "sessions whose scope is confined cannot start");
	abi = sl_landlock_abi();
	if (abi >= SL_LANDLOCK_ABI_MIN)
		sl_feature_add(f, "landlock", true, true,
			       "ABI %d: the kernel refuses sessions the ptrace family towards "
			       "outside processes",
			       abi);
	else
		sl_feature_add(f, "landlock", false, false,
			       "%s: the ptrace family is confined by the supervisor alone "
			       "(/proc/PID/mem is not)",
			       abi ? "ABI < 6 (no scopes)" : "off in this kernel");
	if (stat("/proc/self/ns/pid", &cf->own_pidns))
		return sl_err_ret(-errno, "stat /proc/self/ns/pid");
	cf->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (cf->epfd < 0)
		return sl_err_ret(-errno, "epoll_create1");
	return 0;
}

static void entry_free(struct sl_confine *cf, struct sl_confined *c)
{
	if (c->fd >= 0) {
		if (cf->epfd >= 0)
			epoll_ctl(cf->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	free(c->scope);
	free(c->cgroup);
	free(c);
}

int sl_confine_fd(const struct sl_confine *cf)
{
	return cf->epfd;
}

void sl_confine_free(struct sl_confine *cf)
{
	if (!cf)
		return;
	while (cf->list) {
		struct sl_confined *c = cf->list;

		cf->list = c->next;
		entry_free(cf, c);
	}
	if (cf->epfd >= 0)
		close(cf->epfd);
	free(cf->req);
	free(cf->resp);
	free(cf->cg_root);
	free(cf);
}

uint32_t sl_confine_flags_for_scope(const struct sl_policy *p, const char *scope)
{
	int id = p ? sl_policy_env_id(p, scope) : -ENOENT;
	uint32_t flags = 0;

	/* a scope the policy does not know is confined in every way */
	if (id <= 0)
		return SL_CONFINE_ALL;
	if (p->envs[id - 1].confine_ptrace)
		flags |= SL_CONFINE_PTRACE;
	if (p->envs[id - 1].confine_userns)
		flags |= SL_CONFINE_USERNS;
	return flags;
}

static struct sl_confined *entry_by_session(const struct sl_confine *cf, const char *id)
{
	for (struct sl_confined *c = cf ? cf->list : NULL; c; c = c->next)
		if (!strcmp(c->session, id))
			return c;
	return NULL;
}

/*
 * The session's first process, still waiting before exec, is in seccomp
 * filter mode (the listener handed over is, as far as the daemon can tell,
 * its filter's: the requester that started the session vouches for that);
 * *nnp: its no_new_privs, as the kernel says. 0, -ENOENT (no filter), -ESRCH.
 */
static int leader_filtered(pid_t leader, bool *nnp)
{
	_cleanup_free_ char *status = NULL;
	char path[64], *p;
	int mode = -1, flag = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)leader);
	if (sl_read_file(path, 1 << 16, &status, NULL))
		return -ESRCH;
	if ((p = strstr(status, "\nSeccomp:")))
		sscanf(p + 9, "%d", &mode);
	if ((p = strstr(status, "\nNoNewPrivs:")))
		sscanf(p + 12, "%d", &flag);
	*nnp = flag == 1;
	return mode == SECCOMP_MODE_FILTER ? 0 : -ENOENT;
}

int sl_confine_attach(struct sl_confine *cf, const struct sl_confine_session *s, int listener,
		      json_t *req, char *err, size_t errlen)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct sl_confined *c = NULL;
	json_int_t abi = json_integer_value(json_object_get(req, "landlock_abi"));
	char path[64], link[64];
	json_t *rec = NULL;
	bool nnp = false;
	ssize_t n;
	int ret = 0;

	if (!cf || !cf->notify_ok) {
		snprintf(err, errlen, "this kernel has no seccomp user notification");
		return -EOPNOTSUPP;
	}
	if (!s->flags) {
		snprintf(err, errlen, "session %s is not confined: nothing to supervise", s->id);
		return -EINVAL;
	}
	if (entry_by_session(cf, s->id)) {
		snprintf(err, errlen, "session %s is already supervised", s->id);
		return -EEXIST;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", listener);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	if (listener < 0 || strcmp(link, "anon_inode:seccomp notify")) {
		snprintf(err, errlen, "malformed confine request: no seccomp listener passed");
		return -EINVAL;
	}
	ret = leader_filtered(s->leader, &nnp);
	if (ret) {
		snprintf(err, errlen, "the session's process %d %s", (int)s->leader,
			 ret == -ENOENT ? "has no seccomp filter" : "is gone");
		return ret;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->fd = fcntl(listener, F_DUPFD_CLOEXEC, 3);
	snprintf(c->session, sizeof(c->session), "%s", s->id);
	c->scope = strdup(s->scope);
	c->cgroup = strdup(s->cgroup_path + strlen(cf->cg_root));
	c->flags = s->flags;
	c->landlock_abi = abi > 0 && abi < 1000 ? (int)abi : 0;
	c->no_new_privs = nnp;
	if (c->fd < 0 || !c->scope || !c->cgroup) {
		ret = c->fd < 0 ? -errno : -ENOMEM;
		snprintf(err, errlen, "take the listener: %s", strerror(-ret));
		goto out;
	}
	if ((c->flags & SL_CONFINE_PTRACE) && !c->landlock_abi)
		log_warn("session %s: no Landlock domain (kernel ABI %d): the ptrace family is "
			 "confined by the seccomp supervisor alone",
			 s->id, sl_landlock_abi());
	rec = json_pack("{s:s, s:s, s:s, s:b, s:b, s:i, s:b, s:i}", "type", "session_confined",
			"session", s->id, "scope", s->scope, "ptrace",
			(c->flags & SL_CONFINE_PTRACE) != 0, "userns",
			(c->flags & SL_CONFINE_USERNS) != 0, "landlock_abi", c->landlock_abi,
			"no_new_privs", c->no_new_privs, "leader_pid", (int)s->leader);
	if (!rec) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ret = sl_journal_write(cf->journal, rec);
	if (ret) {
		snprintf(err, errlen, "audit log write failed: %s; session not started",
			 strerror(-ret));
		goto out;
	}
	ev.data.ptr = c;
	if (epoll_ctl(cf->epfd, EPOLL_CTL_ADD, c->fd, &ev)) {
		ret = -errno;
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		goto out;
	}
	c->next = cf->list;
	cf->list = c;
	c = NULL;
	log_info("session %s confined (ptrace %s, userns %s, landlock ABI %d)", s->id,
		 (s->flags & SL_CONFINE_PTRACE) ? "yes" : "no",
		 (s->flags & SL_CONFINE_USERNS) ? "yes" : "no", abi > 0 ? (int)abi : 0);
out:
	json_decref(rec);
	if (c)
		entry_free(cf, c);
	return ret;
}

/* ---- notifications ---- */

static const char *key_name(uint32_t key)
{
	return key == SL_CONFINE_PTRACE ? "ptrace" : key == SL_CONFINE_USERNS ? "userns" : NULL;
}

static void write_refusal(struct sl_confine *cf, struct sl_confined *c,
			  const struct sl_confine_call *call, const struct proc_facts *caller,
			  const struct proc_facts *target, const char *reason, int error)
{
	json_t *rec = json_object();
	char which[64], hex[32];

	c->refused++;
	if (!rec)
		return;
	json_object_set_new(rec, "type", json_string("confine_refused"));
	json_object_set_new(rec, "session", json_string(c->session));
	json_object_set_new(rec, "scope", json_string(c->scope));
	json_object_set_new(rec, "pid", json_integer(caller->pid));
	json_object_set_new(rec, "tid", json_integer(caller->tid));
	json_object_set_new(rec, "uid", caller->uid >= 0 ? json_integer(caller->uid) : json_null());
	sl_json_set_bytes(rec, "comm", caller->comm, strlen(caller->comm));
	json_object_set_new(rec, "syscall", json_string(call->syscall));
	if (call->request)
		json_object_set_new(rec, "request", json_string(call->request));
	if (call->kind >= SL_CK_CLONE_USERNS) {
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)call->flags);
		json_object_set_new(rec, "flags", json_string(hex));
	}
	json_object_set_new(rec, "confine",
			    key_name(call->key) ? json_string(key_name(call->key)) : json_null());
	json_object_set_new(rec, "reason", json_string(reason));
	json_object_set_new(rec, "errno", json_integer(error));
	json_object_set_new(rec, "error",
			    json_string(error == EPERM	  ? "EPERM"
					: error == ENOSYS ? "ENOSYS"
							  : "?"));
	if (target) {
		json_object_set_new(rec, "target_pid", json_integer(target->pid));
		if (target->tid != target->pid)
			json_object_set_new(rec, "target_tid", json_integer(target->tid));
		json_object_set_new(rec, "target_uid",
				    target->uid >= 0 ? json_integer(target->uid) : json_null());
		sl_json_set_bytes(rec, "target_comm", target->comm, strlen(target->comm));
		json_object_set_new(rec, "target_cgroup",
				    target->cgroup ? json_string(target->cgroup) : json_null());
		json_object_set_new(rec, "target_session",
				    cgroup_session(cf, target->cgroup, which, sizeof(which))
					? json_string(which)
					: json_null());
	}
	{
		char summary[512];

		/* an alert: the audit chain, alerts.jsonl, syslog, tail --alerts */
		snprintf(summary, sizeof(summary),
			 "REFUSED session %s (scope %s): %s%s%s by pid %d: %s", c->session,
			 c->scope, call->syscall, call->request ? " " : "",
			 call->request ? call->request : "", caller->pid, reason);
		sl_journal_alert(cf->journal, rec, summary);
	}
	json_decref(rec);
}

enum answer {
	ANSWER_NONE = 0, /* the caller is gone: nothing to answer */
	ANSWER_CONTINUE,
	ANSWER_ERROR, /* quietly, as the kernel would have (ESRCH, EBADF) */
	ANSWER_REFUSE,
};

/*
 * The target of a ptrace-family call, pinned by tpfd: its facts, then the
 * check that tpfd still names the pid that was read (not reaped and
 * reused meanwhile). 0, -ESRCH (gone) or -errno.
 */
static int target_facts(int tpfd, pid_t tid, struct proc_facts *t)
{
	pid_t now = 0;
	int err;

	proc_facts(tid, t);
	err = pidfd_pid(tpfd, &now);
	if (err)
		return err;
	return now == tid ? 0 : -ESRCH;
}

static enum answer decide(struct sl_confine *cf, struct sl_confined *c,
			  const struct seccomp_notif *req, const struct sl_confine_call *call,
			  struct proc_facts *caller, struct proc_facts *target, bool *has_target,
			  const char **reason, int *error)
{
	int cpfd = -1, tpfd = -1, err;
	enum answer a = ANSWER_REFUSE;
	pid_t tid;

	*error = EPERM;
	*reason = call->reason;
	/* the caller is still waiting, so req->pid is the caller */
	cpfd = pidfd_open_any((pid_t)req->pid);
	if (cpfd < 0 || ioctl(c->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id)) {
		a = ANSWER_NONE;
		goto out;
	}
	proc_facts((pid_t)req->pid, caller);
	if (call->kind == SL_CK_IO_URING)
		*error = ENOSYS; /* as a kernel without io_uring: callers fall back */
	if (!call->key || call->key == SL_CONFINE_USERNS)
		goto out; /* refused whatever the arguments */

	if (!same_pidns(cf, (pid_t)req->pid)) {
		*reason = "the caller is in another pid namespace (its pids cannot be checked)";
		goto out;
	}
	if (call->kind == SL_CK_PIDFD_GETFD) {
		tpfd = (int)syscall(SYS_pidfd_getfd, cpfd, (int)call->target, 0);
		if (tpfd < 0) {
			*error = errno == EBADF ? EBADF : EPERM;
			*reason = "the caller's descriptor could not be inspected";
			a = errno == EBADF ? ANSWER_ERROR : ANSWER_REFUSE;
			goto out;
		}
		err = pidfd_pid(tpfd, &tid);
		if (err) {
			*error = EBADF; /* not a pidfd: the kernel says EBADF */
			a = ANSWER_ERROR;
			goto out;
		}
		if (tid < 0) {
			*error = ESRCH;
			a = ANSWER_ERROR;
			goto out;
		}
		if (tid == 0) {
			*reason = "the pidfd names a process in another pid namespace";
			goto out;
		}
	} else {
		tid = (pid_t)call->target;
		if (tid <= 0) {
			*error = ESRCH;
			a = ANSWER_ERROR;
			goto out;
		}
		tpfd = pidfd_open_any(tid);
		if (tpfd < 0) {
			*error = ESRCH;
			a = ANSWER_ERROR;
			goto out;
		}
	}
	err = target_facts(tpfd, tid, target);
	*has_target = true;
	if (err == -ESRCH) {
		*error = ESRCH;
		a = ANSWER_ERROR;
		goto out;
	}
	if (err || !target->cgroup) {
		*reason = "the target's cgroup could not be read";
		goto out;
	}
	if (cgroup_within(target->cgroup, c->cgroup)) {
		a = ANSWER_CONTINUE;
		goto out;
	}
	*reason = "the target is outside the session";
out:
	if (tpfd >= 0)
		close(tpfd);
	if (cpfd >= 0)
		close(cpfd);
	return a;
}

static int handle_one(struct sl_confine *cf, struct sl_confined *c)
{
	struct seccomp_notif *req = cf->req;
	struct seccomp_notif_resp *resp = cf->resp;
	struct proc_facts caller = {0}, target = {0};
	struct sl_confine_call call;
	bool has_target = false;
	const char *reason = NULL;
	enum answer a;
	int error = 0;

	memset(req, 0, cf->sizes.seccomp_notif);
	if (ioctl(c->fd, SECCOMP_IOCTL_NOTIF_RECV, req)) {
		/* ENOENT: the caller was killed before we got to it */
		if (errno == ENOENT || errno == EINTR)
			return 0;
		return -errno;
	}
	sl_confine_classify(req->data.arch, req->data.nr, (const uint64_t *)req->data.args, &call);
	a = decide(cf, c, req, &call, &caller, &target, &has_target, &reason, &error);
	if (a == ANSWER_REFUSE)
		write_refusal(cf, c, &call, &caller, has_target ? &target : NULL,
			      reason ? reason : "refused", error);
	facts_free(&caller);
	facts_free(&target);
	if (a == ANSWER_NONE)
		return 0;
	memset(resp, 0, cf->sizes.seccomp_notif_resp);
	resp->id = req->id;
	if (a == ANSWER_CONTINUE) {
		/* the pids read above still refer to the caller and its target */
		if (ioctl(c->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id))
			return 0;
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	} else {
		resp->error = -error;
	}
	if (ioctl(c->fd, SECCOMP_IOCTL_NOTIF_SEND, resp) && errno != ENOENT)
		return -errno;
	return 0;
}

void sl_confine_on_event(struct sl_confine *cf)
{
	struct epoll_event evs[16];
	int n, err;

	if (!cf)
		return;
	n = epoll_wait(cf->epfd, evs, SL_ARRAY_SIZE(evs), 0);
	for (int i = 0; i < n; i++) {
		struct sl_confined *c = evs[i].data.ptr;

		if (evs[i].events & EPOLLIN) {
			err = handle_one(cf, c);
			if (err) {
				/* its processes get ENOSYS from now on: closed, not open */
				log_err("session %s: seccomp listener: %s; closing it", c->session,
					strerror(-err));
				c->dead = true;
			}
		} else if (evs[i].events & (EPOLLHUP | EPOLLERR)) {
			/* every process that had the filter is gone */
			c->dead = true;
		}
	}
	for (struct sl_confined **pp = &cf->list; *pp;) {
		struct sl_confined *c = *pp;

		if (c->dead) {
			*pp = c->next;
			log_debug("session %s: filter released", c->session);
			entry_free(cf, c);
		} else {
			pp = &c->next;
		}
	}
}

json_t *sl_confine_session_json(const struct sl_confine *cf, const char *id, uint32_t flags)
{
	const struct sl_confined *c = entry_by_session(cf, id);

	return json_pack("{s:b, s:b, s:b, s:i, s:b, s:I}", "ptrace",
			 (flags & SL_CONFINE_PTRACE) != 0, "userns",
			 (flags & SL_CONFINE_USERNS) != 0, "supervised", c != NULL, "landlock_abi",
			 c ? c->landlock_abi : 0, "no_new_privs", c ? c->no_new_privs : false,
			 "refused", (json_int_t)(c ? c->refused : 0));
}
