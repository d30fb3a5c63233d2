// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Sessions are cgroup v2 children of a scopelock-owned parent. The daemon
 * creates the cgroup, registers it in the BPF session map, then moves the
 * requesting client's own child (passed as a pidfd) into it. The session
 * ends when the cgroup is no longer populated; the daemon removes it (main.c
 * says when: after everything the session did has been read). The sessions
 * room (sessions.h) owns the session table and the cgroup writes on them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "confine.h"
#include "confinement.h"
#include "daemon.h"
#include "journal.h"
#include "jsonbytes.h"
#include "kernel.h"
#include "log.h"
#include "peer.h"
#include "policy.h"
#include "policy_store.h"
#include "redact.h"
#include "sessions.h"
#include "util.h"

/* an ended session is kept this long for records that arrive late */
#define SESSION_KEEP_S 300
#define TAINT_FILES_MAX 32

struct sl_session {
	bool active;
	bool ended;
	bool killed;   /* its cgroup was killed */
	bool sys_held; /* holds the system-call tracepoints (kernel.h) */
	char id[SL_SESSION_ID_LEN + 1];
	uint64_t seq;
	uint64_t cgroup_id;
	char *cgroup_path;
	char *scope;
	char *workspace;
	char *user;
	char *name;
	json_t *argv;	     /* array of bytes values */
	json_t *taint_files; /* [{"env":[..],"path":..,"time":..}], capped */
	uint32_t scope_env;
	uint32_t confine; /* SL_CONFINE_*: what the session is kept from (confine.h) */
	bool allow_root;  /* a root session the requester asked for explicitly */
	uid_t uid;
	pid_t leader;
	int events_wd; /* inotify watch on cgroup.events */
	struct timespec started;
	struct timespec ended_at; /* CLOCK_MONOTONIC */
	uint64_t events;
	uint64_t throttle_stops, throttle_ns; /* loss: throttle: times stopped, time stopped */
	bool audit_frozen; /* frozen because the audit log cannot be written (guard.h) */
	/*
	 * blind_tls: proxy: the session's listening socket on 127.0.0.1 (made here
	 * when the launcher asks for a proxy, handed to it; the proxy accepts on
	 * it) and its port. Held by the daemon until the session ends, so that
	 * nothing else can take the port, even when the proxy is gone.
	 */
	uint16_t proxy_port; /* 0: no proxy */
	bool has_proxy_fd;
	int proxy_fd;
};

struct sl_sessions {
	struct sl_kernel *kernel;
	struct sl_journal *journal;
	struct sl_policy_store *store;
	char *cgroup_parent; /* relative to the cgroup v2 mount */
	char *cg_root;	     /* cgroup v2 mount point */
	char *cg_parent;     /* absolute path of the scopelock parent cgroup */
	int cg_parent_fd;
	unsigned int session_level;
	int inotify_fd;
	struct sl_session *v;
	size_t n, cap;
	uint64_t seq;
	bool changed; /* a session started or ended since sl_sessions_take_changed */
};

static int cgroup_setup(struct sl_sessions *ss)
{
	_cleanup_free_ char *own = NULL;
	char *p;
	int err;

	err = sl_cgroup2_mount("/run/scopelock/cgroup2", &ss->cg_root);
	if (err)
		return sl_err_ret(err, "find or mount the cgroup v2 hierarchy");
	if (asprintf(&ss->cg_parent, "%s/%s", ss->cg_root, ss->cgroup_parent) < 0)
		return -ENOMEM;
	err = sl_mkdir_p(ss->cg_parent, 0755);
	if (err)
		return sl_err_ret(err, "create session parent cgroup '%s'", ss->cg_parent);
	ss->cg_parent_fd = open(ss->cg_parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ss->cg_parent_fd < 0)
		return sl_err_ret(-errno, "open '%s'", ss->cg_parent);
	/* session cgroups sit one level below the parent */
	ss->session_level = sl_cgroup_level(ss->cgroup_parent) + 1;
	log_info("cgroup v2 at '%s'; sessions under '%s' (level %u)", ss->cg_root, ss->cg_parent,
		 ss->session_level);

	/* the daemon must never watch (or later block) itself */
	err = sl_cgroup_of_pid(getpid(), &own);
	if (!err) {
		p = own;
		if (strncmp(p, "/", 1) == 0)
			p++;
		if (strncmp(p, ss->cgroup_parent, strlen(ss->cgroup_parent)) == 0)
			return sl_err_ret(
			    -EINVAL, "scopelockd runs inside its own session parent '%s'", own);
	}
	return 0;
}

static int rmdir_retry(const char *path)
{
	for (int i = 0; i < 50; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		usleep(10000);
	}
	return -EBUSY;
}

int sl_sessions_open(const char *cgroup_parent, struct sl_sessions **out)
{
	struct sl_sessions *ss = calloc(1, sizeof(*ss));
	int err;

	if (!ss)
		return -ENOMEM;
	ss->cg_parent_fd = -1;
	ss->inotify_fd = -1;
	/* from here a failure leaves what was done for sl_sessions_close */
	*out = ss;
	ss->cgroup_parent = strdup(cgroup_parent);
	if (!ss->cgroup_parent)
		return -ENOMEM;
	ss->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ss->inotify_fd < 0)
		return sl_err_ret(-errno, "inotify_init1");
	err = cgroup_setup(ss);
	return err;
}

void sl_sessions_bind(struct sl_sessions *ss, struct sl_kernel *k, struct sl_journal *j,
		      struct sl_policy_store *ps)
{
	ss->kernel = k;
	ss->journal = j;
	ss->store = ps;
}

int sl_sessions_fd(const struct sl_sessions *ss)
{
	return ss->inotify_fd;
}

const char *sl_sessions_cg_root(const struct sl_sessions *ss)
{
	return ss->cg_root;
}

const char *sl_sessions_cg_parent(const struct sl_sessions *ss)
{
	return ss->cg_parent;
}

int sl_sessions_cg_parent_fd(const struct sl_sessions *ss)
{
	return ss->cg_parent_fd;
}

unsigned int sl_sessions_level(const struct sl_sessions *ss)
{
	return ss->session_level;
}

static void cgroup_teardown(struct sl_sessions *ss)
{
	if (ss->cg_parent_fd >= 0)
		close(ss->cg_parent_fd);
	ss->cg_parent_fd = -1;
	if (ss->cg_parent && rmdir(ss->cg_parent) && errno != ENOENT && errno != EBUSY)
		log_warn("remove '%s': %s", ss->cg_parent, strerror(errno));
	free(ss->cg_parent);
	free(ss->cg_root);
	ss->cg_parent = ss->cg_root = NULL;
}

struct sl_session *sl_session_by_cgroup(struct sl_sessions *ss, uint64_t cgid)
{
	for (size_t i = 0; i < ss->n; i++)
		if (ss->v[i].cgroup_id == cgid)
			return &ss->v[i];
	return NULL;
}

struct sl_session *sl_session_by_id(struct sl_sessions *ss, const char *id)
{
	for (size_t i = 0; i < ss->n; i++)
		if (strcmp(ss->v[i].id, id) == 0)
			return &ss->v[i];
	return NULL;
}

struct sl_session *sl_sessions_next(struct sl_sessions *ss, struct sl_session *s)
{
	size_t i = s ? (size_t)(s - ss->v) + 1 : 0;

	return i < ss->n ? &ss->v[i] : NULL;
}

static int pidfd_pid(int pidfd, pid_t *pid)
{
	char path[64], *buf = NULL, *p;
	int err;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	err = sl_read_file(path, 4096, &buf, NULL);
	if (err)
		return err;
	p = strstr(buf, "\nPid:");
	if (!p || sscanf(p + 5, "%d", pid) != 1 || *pid <= 0) {
		free(buf);
		return -ESRCH;
	}
	free(buf);
	return 0;
}

/* ppid and start time (clock ticks since boot) from /proc/PID/stat */
static int proc_stat(pid_t pid, pid_t *ppid, unsigned long long *start)
{
	char path[64], *buf = NULL, *p;
	int err, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	err = sl_read_file(path, 8192, &buf, NULL);
	if (err)
		return err;
	p = strrchr(buf, ')'); /* comm may hold spaces and parens */
	if (!p) {
		free(buf);
		return -EBADMSG;
	}
	p += 2; /* field 3: state */
	for (i = 3; i < 4 && p; i++)
		p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
	if (!p || sscanf(p, "%d", ppid) != 1) {
		free(buf);
		return -EBADMSG;
	}
	for (; i < 22 && p; i++)
		p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
	if (!p || sscanf(p, "%llu", start) != 1) {
		free(buf);
		return -EBADMSG;
	}
	free(buf);
	return 0;
}

static void proxy_close(struct sl_session *s)
{
	if (s->has_proxy_fd)
		close(s->proxy_fd);
	s->has_proxy_fd = false;
	s->proxy_fd = -1;
}

static void session_free_fields(struct sl_session *s)
{
	proxy_close(s);
	free(s->cgroup_path);
	free(s->scope);
	free(s->workspace);
	free(s->user);
	free(s->name);
	json_decref(s->argv);
	json_decref(s->taint_files);
	memset(s, 0, sizeof(*s));
	s->events_wd = -1;
}

json_t *sl_session_json(const struct sl_session *s)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "session", json_string(s->id));
	json_object_set_new(o, "scope", json_string(s->scope));
	json_object_set_new(o, "workspace", s->workspace ? json_string(s->workspace) : json_null());
	json_object_set_new(o, "user", json_string(s->user));
	json_object_set_new(o, "uid", json_integer(s->uid));
	json_object_set_new(o, "name", s->name ? json_string(s->name) : json_null());
	json_object_set_new(o, "argv", json_incref(s->argv));
	json_object_set_new(o, "cgroup", json_string(s->cgroup_path));
	json_object_set_new(o, "cgroup_id", json_integer((json_int_t)s->cgroup_id));
	json_object_set_new(o, "leader_pid", json_integer(s->leader));
	json_object_set_new(o, "events", json_integer((json_int_t)s->events));
	json_object_set_new(o, "scope_known", json_boolean(s->scope_env != 0));
	json_object_set_new(o, "proxy_port",
			    s->proxy_port ? json_integer(s->proxy_port) : json_null());
	return o;
}

static struct sl_session *session_slot(struct sl_sessions *ss)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (size_t i = 0; i < ss->n; i++) {
		struct sl_session *s = &ss->v[i];

		if (s->active || !s->ended)
			continue;
		if (s->id[0] && now.tv_sec - s->ended_at.tv_sec < SESSION_KEEP_S)
			continue;
		/* a failed creation, or ended long ago: reuse the slot */
		session_free_fields(s);
		return s;
	}
	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 16;
		struct sl_session *n = realloc(ss->v, cap * sizeof(*n));

		if (!n)
			return NULL;
		ss->v = n;
		ss->cap = cap;
	}
	memset(&ss->v[ss->n], 0, sizeof(ss->v[0]));
	ss->v[ss->n].events_wd = -1;
	return &ss->v[ss->n++];
}

static const char *jstr(json_t *req, const char *key)
{
	return json_string_value(json_object_get(req, key));
}

static bool valid_label(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9') ||
		      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
	}
	return true;
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		ret = -EINVAL;                                                                     \
		goto out;                                                                          \
	} while (0)

/*
 * policy blind_tls of the scope as SL_SESSION_BLIND_* flags: deny unless the
 * scope says alert; a scope the policy does not declare is denied too;
 * proxy is deny with the exception of the session's proxy, when the
 * launcher registered one (proxy_port), plain deny otherwise; without a
 * policy nothing is enforced
 */
static uint32_t blind_tls_flags(const struct sl_policy *p, const char *scope, uint16_t proxy_port)
{
	int id;

	if (!p)
		return 0;
	id = sl_policy_env_id(p, scope);
	if (id <= 0 || (uint32_t)id > p->n_envs)
		return SL_SESSION_BLIND_DENY;
	switch (p->envs[id - 1].blind_tls) {
	case SL_BLIND_TLS_ALERT:
		return 0;
	case SL_BLIND_TLS_PROXY:
		return SL_SESSION_BLIND_DENY | (proxy_port ? SL_SESSION_BLIND_PROXY : 0);
	default:
		return SL_SESSION_BLIND_DENY;
	}
}

/* policy loss of the scope: throttle unless the scope says drop (no policy, an undeclared scope:
 * throttle) */
static bool loss_throttles(const struct sl_policy *p, const char *scope)
{
	int id;

	if (!p)
		return true;
	id = sl_policy_env_id(p, scope);
	if (id <= 0 || (uint32_t)id > p->n_envs)
		return true;
	return p->envs[id - 1].loss == SL_LOSS_MODE_THROTTLE;
}

/*
 * blind_tls: proxy: the session's listening socket, 127.0.0.1 at an
 * ephemeral port. Without it the session has no proxy (its blind processes
 * are refused everywhere, as with deny): said, not fatal.
 */
static void proxy_listen(struct sl_session *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen)) {
		log_warn("session %s: the proxy's listening socket: %s (no proxy: its blind "
			 "processes are refused as with blind_tls: deny)",
			 s->id, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	s->proxy_fd = fd;
	s->has_proxy_fd = true;
	s->proxy_port = ntohs(a.sin_port);
}

int sl_session_create(struct sl_sessions *ss, json_t *req, int pidfd, const struct sl_peer *peer,
		      const char *refusal, char *err, size_t errlen, struct sl_session **out)
{
	const char *scope = jstr(req, "scope"), *user = jstr(req, "user");
	const char *workspace = jstr(req, "workspace"), *name = jstr(req, "name");
	json_t *argv = json_object_get(req, "argv");
	unsigned long long start1, start2;
	struct sl_session_info info = {0};
	struct sl_session *s = NULL;
	bool in_map = false, made_dir = false, held = false;
	struct passwd *pw;
	pid_t child, ppid;
	uint8_t rnd[SL_SESSION_ID_LEN / 2];
	char buf[32];
	json_t *rec = NULL;
	int ret = 0, fd = -1;

	if (!scope || !valid_label(scope, 64))
		FAIL("invalid scope: use 1-64 characters of [A-Za-z0-9._-]");
	if (name && strlen(name) > 128)
		FAIL("session name longer than 128 bytes");
	if (!user || !json_is_array(argv) || json_array_size(argv) == 0)
		FAIL("malformed run request: user and argv are required");
	if (pidfd < 0)
		FAIL("malformed run request: no pidfd passed");
	if (workspace && workspace[0] != '/')
		FAIL("workspace must be an absolute path");
	pw = getpwnam(user);
	if (!pw)
		FAIL("unknown user '%s'", user);
	if (peer->uid != 0 && pw->pw_uid != peer->uid)
		FAIL("permission refused: uid %u may not start a session as '%s'", peer->uid, user);
	if (pw->pw_uid == 0 && !json_is_true(json_object_get(req, "allow_root")))
		FAIL("refused: a session as root ('%s', uid 0) must be asked for explicitly "
		     "(allow_root): root inside a session can leave it and stop scopelockd",
		     user);

	if (refusal) {
		snprintf(err, errlen, "%s", refusal);
		ret = -EAGAIN;
		goto out;
	}
	/* the dispatcher refused these already; never rely on one check alone */
	if (!peer->identified)
		FAIL("refused: the requester could not be identified: %s", peer->error);
	if (peer->in_session)
		FAIL("refused: the requester (pid %d) is inside session %s; sessions cannot create "
		     "sessions",
		     peer->pid, peer->session);
	ret = pidfd_pid(pidfd, &child);
	if (ret < 0)
		FAIL("the process to place in the session is gone");
	ret = proc_stat(child, &ppid, &start1);
	if (ret < 0)
		FAIL("cannot read process %d: %s", child, strerror(-ret));
	if (ppid != peer->pid)
		FAIL("refused: process %d is not a child of the requester (pid %d)", child,
		     peer->pid);

	s = session_slot(ss);
	if (!s) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		ret = -EIO;
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(s->id + 2 * i, 3, "%02x", rnd[i]);
	s->seq = ++ss->seq;
	s->scope = strdup(scope);
	s->user = strdup(pw->pw_name);
	s->uid = pw->pw_uid;
	s->workspace = workspace ? strdup(workspace) : NULL;
	s->name = name ? strdup(name) : NULL;
	s->argv = json_incref(argv);
	s->leader = child;
	s->allow_root = pw->pw_uid == 0;
	s->confine = sl_confine_flags_for_scope(sl_policy_store_current(ss->store), scope);
	s->proxy_port = 0;
	s->has_proxy_fd = false;
	s->proxy_fd = -1;
	if (json_object_get(req, "proxy") && !json_is_boolean(json_object_get(req, "proxy")))
		FAIL("malformed run request: proxy must be true or false");
	if (json_is_true(json_object_get(req, "proxy")) &&
	    (blind_tls_flags(sl_policy_store_current(ss->store), scope, 1) &
	     SL_SESSION_BLIND_PROXY))
		proxy_listen(s);
	clock_gettime(CLOCK_REALTIME, &s->started);
	if (asprintf(&s->cgroup_path, "%s/%s", ss->cg_parent, s->id) < 0) {
		s->cgroup_path = NULL;
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (mkdir(s->cgroup_path, 0755)) {
		ret = -errno;
		snprintf(err, errlen, "create session cgroup '%s': %s", s->cgroup_path,
			 strerror(errno));
		goto out;
	}
	made_dir = true;
	if (setxattr(s->cgroup_path, SL_SESSION_XATTR, s->id, strlen(s->id), 0))
		log_warn("mark session cgroup '%s': %s (nested-session refusal relies on the "
			 "daemon's own table)",
			 s->cgroup_path, strerror(errno));
	ret = sl_cgroup_id(s->cgroup_path, &s->cgroup_id);
	if (ret < 0) {
		snprintf(err, errlen, "stat '%s': %s", s->cgroup_path, strerror(-ret));
		goto out;
	}

	/*
	 * The system-call tracepoints are attached while a session exists
	 * (kernel.h): before the first process enters, or no session.
	 */
	{
		char why[256];

		ret = sl_kernel_syscalls_hold(ss->kernel, why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "session refused: %s", why);
			goto out;
		}
		held = true;
		s->sys_held = true;
	}
	/* register with the kernel side before the first process enters */
	info.session_seq = s->seq;
	if (sl_policy_store_current(ss->store)) {
		int id = sl_policy_env_id(sl_policy_store_current(ss->store), s->scope);

		s->scope_env = id > 0 ? (uint32_t)id : 0;
	}
	info.scope_env = s->scope_env;
	info.flags |= blind_tls_flags(sl_policy_store_current(ss->store), s->scope, s->proxy_port);
	info.proxy_port = s->proxy_port;
	if (loss_throttles(sl_policy_store_current(ss->store), s->scope))
		info.flags |= SL_SESSION_THROTTLE;
	ret = sl_kernel_session_add(ss->kernel, s->cgroup_id, &info);
	if (ret) {
		snprintf(err, errlen, "register session in the kernel: %s%s", strerror(-ret),
			 ret == -E2BIG ? " (too many sessions)" : "");
		goto out;
	}
	in_map = true;

	s->events_wd = -1;
	{
		char evpath[4200];

		snprintf(evpath, sizeof(evpath), "%s/cgroup.events", s->cgroup_path);
		s->events_wd = inotify_add_watch(ss->inotify_fd, evpath, IN_MODIFY);
		if (s->events_wd < 0) {
			ret = -errno;
			snprintf(err, errlen, "watch '%s': %s", evpath, strerror(errno));
			goto out;
		}
	}

	/* session_start is in the log before any event of the session */
	rec = sl_session_json(s);
	if (!rec) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	{
		/* "type" first, like every other record */
		json_t *ordered = json_pack("{s:s}", "type", "session_start");

		if (!ordered || json_object_update(ordered, rec)) {
			json_decref(ordered);
			ret = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		json_decref(rec);
		rec = ordered;
	}
	json_object_set_new(rec, "requester_pid", json_integer(peer->pid));
	json_object_set_new(rec, "scope_known", json_boolean(s->scope_env != 0));
	if (!s->scope_env)
		log_warn("session %s: scope '%s' is not an environment of the policy: every "
			 "labelled target is outside its scope",
			 s->id, s->scope);
	json_object_set_new(rec, "requester_uid", json_integer(peer->uid));
	json_object_set_new(rec, "allow_root", json_boolean(s->allow_root));
	json_object_set_new(rec, "confine",
			    json_pack("{s:b, s:b}", "ptrace", (s->confine & SL_CONFINE_PTRACE) != 0,
				      "userns", (s->confine & SL_CONFINE_USERNS) != 0));
	json_object_set_new(rec, "requester", sl_peer_json(peer));
	if (jstr(req, "cwd"))
		sl_json_set_bytes(rec, "cwd", jstr(req, "cwd"), strlen(jstr(req, "cwd")));
	ret = sl_journal_write(ss->journal, rec);
	if (ret) {
		snprintf(err, errlen, "audit log write failed: %s; session not started",
			 strerror(-ret));
		goto out;
	}

	{
		char procs[4200];

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", s->cgroup_path);
		fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "open '%s': %s", procs, strerror(errno));
			goto out;
		}
		snprintf(buf, sizeof(buf), "%d", (int)child);
		if (write(fd, buf, strlen(buf)) < 0) {
			ret = -errno;
			snprintf(err, errlen, "move pid %d into the session: %s", child,
				 strerror(errno));
			goto out;
		}
	}
	/* the pid we moved is still the process the client gave us */
	if (proc_stat(child, &ppid, &start2) < 0 || start1 != start2 ||
	    syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0) {
		ret = -ESRCH;
		snprintf(err, errlen, "the process to place in the session exited");
		goto out;
	}
	s->active = true;
	ss->changed = true;
	log_info("session %s started: scope %s, user %s, pid %d, cgroup %s", s->id, s->scope,
		 s->user, child, s->cgroup_path);
	*out = s;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	json_decref(rec);
	if (ret && s) {
		if (s->events_wd >= 0)
			inotify_rm_watch(ss->inotify_fd, s->events_wd);
		if (in_map)
			sl_kernel_session_remove(ss->kernel, s->cgroup_id);
		if (made_dir)
			rmdir_retry(s->cgroup_path);
		if (held)
			sl_kernel_syscalls_release(ss->kernel);
		s->sys_held = false;
		session_free_fields(s);
		s->ended = true; /* free slot */
		s->id[0] = '\0';
	}
	return ret < 0 ? ret : (ret ? -EINVAL : 0);
}

static bool cgroup_populated(const char *cgpath)
{
	char path[4200], *buf = NULL;
	bool populated = true;

	snprintf(path, sizeof(path), "%s/cgroup.events", cgpath);
	if (sl_read_file(path, 4096, &buf, NULL))
		return false; /* gone */
	populated = strstr(buf, "populated 1") != NULL;
	free(buf);
	return populated;
}

void sl_session_end(struct sl_sessions *ss, struct sl_session *s)
{
	struct timespec now;
	json_t *rec;
	int err;

	if (s->events_wd >= 0)
		inotify_rm_watch(ss->inotify_fd, s->events_wd);
	s->events_wd = -1;
	proxy_close(s);
	err = sl_kernel_session_remove(ss->kernel, s->cgroup_id);
	if (err)
		log_warn("session %s: remove from kernel map: %s", s->id, strerror(-err));
	err = rmdir_retry(s->cgroup_path);
	if (err)
		log_err("session %s: remove cgroup '%s': %s", s->id, s->cgroup_path,
			strerror(-err));
	clock_gettime(CLOCK_REALTIME, &now);
	rec = json_object();
	if (rec) {
		json_object_set_new(rec, "type", json_string("session_end"));
		json_object_set_new(rec, "session", json_string(s->id));
		json_object_set_new(rec, "scope", json_string(s->scope));
		json_object_set_new(rec, "events", json_integer((json_int_t)s->events));
		/* loss: throttle: how often and how long its processes waited for the daemon */
		json_object_set_new(rec, "throttle_stops",
				    json_integer((json_int_t)s->throttle_stops));
		json_object_set_new(rec, "throttled_ms",
				    json_integer((json_int_t)(s->throttle_ns / 1000000)));
		json_object_set_new(
		    rec, "duration_ms",
		    json_integer((json_int_t)((now.tv_sec - s->started.tv_sec) * 1000 +
					      (now.tv_nsec - s->started.tv_nsec) / 1000000)));
		json_object_set_new(rec, "cgroup_removed", json_boolean(err == 0));
		sl_journal_write(ss->journal, rec);
		json_decref(rec);
	}
	log_info("session %s ended (%llu events)", s->id, (unsigned long long)s->events);
	/* after its records and session_end: the last session detaches the system-call
	 * tracepoints */
	if (s->sys_held)
		sl_kernel_syscalls_release(ss->kernel);
	s->sys_held = false;
	s->active = false;
	s->ended = true;
	ss->changed = true;
	clock_gettime(CLOCK_MONOTONIC, &s->ended_at);
}

bool sl_sessions_take_changed(struct sl_sessions *ss)
{
	bool c = ss->changed;

	ss->changed = false;
	return c;
}

/*
 * The argv for the state file: values at credential positions replaced by
 * their fingerprints (credpos.h), as in every record: the state file is a
 * file scopelock writes too.
 */
static json_t *state_argv(const json_t *argv)
{
	struct sl_redact_scratch sc = {0};
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach (argv, i, v) {
		const char *str = json_string_value(v);
		const void *r = str;
		size_t rlen = str ? strlen(str) : 0;

		if (str && sl_redact_apply_set(NULL, 0, SL_REDACT_MIN_LEN * 2, &sc, str, rlen,
					       SL_REDACT_POSITIONS, &r, &rlen))
			r = "[not recorded]", rlen = strlen("[not recorded]");
		json_array_append_new(out, str ? json_stringn(r, rlen) : json_incref(v));
	}
	sl_redact_scratch_free(&sc);
	return out;
}

json_t *sl_sessions_state(const struct sl_sessions *ss)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < ss->n; i++) {
		const struct sl_session *s = &ss->v[i];
		json_t *o;

		if (!s->active)
			continue;
		json_t *argv = state_argv(s->argv);

		o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:i, s:o, s:i, s:I, s:I, s:i, s:b}",
			      "session", s->id, "seq", (json_int_t)s->seq, "cgroup_id",
			      (json_int_t)s->cgroup_id, "scope", s->scope, "user", s->user, "uid",
			      (int)s->uid, "argv", argv ? argv : json_array(), "leader_pid",
			      (int)s->leader, "started_s", (json_int_t)s->started.tv_sec,
			      "started_ns", (json_int_t)s->started.tv_nsec, "confine",
			      (int)s->confine, "allow_root", s->allow_root);
		if (!o)
			continue;
		if (s->workspace)
			json_object_set_new(o, "workspace", json_string(s->workspace));
		if (s->name)
			json_object_set_new(o, "name", json_string(s->name));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* one session of a previous daemon; 0, -ESRCH (its cgroup is gone) or -errno */
static int adopt_one(struct sl_sessions *ss, const json_t *o)
{
	const char *id = json_string_value(json_object_get(o, "session"));
	const char *scope = json_string_value(json_object_get(o, "scope"));
	const char *user = json_string_value(json_object_get(o, "user"));
	const char *ws = json_string_value(json_object_get(o, "workspace"));
	const char *name = json_string_value(json_object_get(o, "name"));
	uint64_t cgid = (uint64_t)json_integer_value(json_object_get(o, "cgroup_id")), real = 0;
	struct sl_session_info info;
	struct sl_session *s;
	char evpath[4200];
	int err;

	if (!id || strlen(id) != SL_SESSION_ID_LEN || !valid_label(id, SL_SESSION_ID_LEN) ||
	    !scope || !user || !cgid)
		return -EBADMSG;
	if (sl_session_by_id(ss, id))
		return -EEXIST;
	s = session_slot(ss);
	if (!s)
		return -ENOMEM;
	snprintf(s->id, sizeof(s->id), "%s", id);
	if (asprintf(&s->cgroup_path, "%s/%s", ss->cg_parent, id) < 0) {
		s->cgroup_path = NULL;
		err = -ENOMEM;
		goto fail;
	}
	err = sl_cgroup_id(s->cgroup_path, &real);
	if (err || real != cgid || sl_kernel_session_get(ss->kernel, cgid, &info)) {
		/* gone while no daemon ran (or not the same cgroup): out of the kernel map */
		sl_kernel_session_remove(ss->kernel, cgid);
		if (!err && real == cgid)
			rmdir(s->cgroup_path);
		err = -ESRCH;
		goto fail;
	}
	s->seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
	if (s->seq > ss->seq)
		ss->seq = s->seq;
	s->cgroup_id = cgid;
	s->scope = strdup(scope);
	s->user = strdup(user);
	s->uid = (uid_t)json_integer_value(json_object_get(o, "uid"));
	s->workspace = ws ? strdup(ws) : NULL;
	s->name = name ? strdup(name) : NULL;
	s->argv = json_incref(json_object_get(o, "argv"));
	s->leader = (pid_t)json_integer_value(json_object_get(o, "leader_pid"));
	s->started.tv_sec = (time_t)json_integer_value(json_object_get(o, "started_s"));
	s->started.tv_nsec = (long)json_integer_value(json_object_get(o, "started_ns"));
	s->confine = (uint32_t)json_integer_value(json_object_get(o, "confine"));
	s->allow_root = json_is_true(json_object_get(o, "allow_root"));
	s->scope_env = info.scope_env;
	/* the proxy keeps its copy of the listening socket; this daemon has none */
	s->proxy_port = info.proxy_port;
	s->has_proxy_fd = false;
	s->proxy_fd = -1;
	if (!s->scope || !s->user || !s->argv || (ws && !s->workspace) || (name && !s->name)) {
		err = -ENOMEM;
		goto fail;
	}
	snprintf(evpath, sizeof(evpath), "%s/cgroup.events", s->cgroup_path);
	s->events_wd = inotify_add_watch(ss->inotify_fd, evpath, IN_MODIFY);
	if (s->events_wd < 0) {
		err = -errno;
		goto fail;
	}
	/* its processes run: the previous daemon's tracepoints were replaced at the
	 * kernel's start (its hold lasts until the adoption is over) */
	{
		char why[256];

		/* its processes run already: adopted all the same (the cgroup and
		 * scheduler hooks still see it), said loudly */
		s->sys_held = sl_kernel_syscalls_hold(ss->kernel, why, sizeof(why)) == 0;
		if (!s->sys_held)
			log_err("session %s: adopted WITHOUT the system-call tracepoints (its "
				"opens, execs and connects are not seen): %s",
				id, why);
	}
	s->active = true;
	ss->changed = true;
	log_info("session %s adopted: scope %s, user %s, cgroup %s", s->id, s->scope, s->user,
		 s->cgroup_path);
	return 0;
fail:
	session_free_fields(s);
	s->ended = true; /* free slot */
	s->id[0] = '\0';
	return err;
}

int sl_sessions_adopt(struct sl_sessions *ss, const json_t *state, json_t *adopted, json_t *gone)
{
	size_t i;
	json_t *o;
	int n = 0;

	json_array_foreach (state, i, o) {
		const char *id = json_string_value(json_object_get(o, "session"));
		int err = adopt_one(ss, o);

		if (!err) {
			json_array_append_new(adopted, json_string(id));
			n++;
		} else if (id) {
			if (err != -ESRCH)
				log_err("session %s: cannot adopt: %s", id, strerror(-err));
			json_array_append_new(gone, json_string(id));
		}
	}
	return n;
}

void sl_sessions_read_events(struct sl_sessions *ss)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	for (;;) {
		n = read(ss->inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			break;
	}
}

bool sl_session_populated(const struct sl_session *s)
{
	return cgroup_populated(s->cgroup_path);
}

void sl_session_abandon(struct sl_session *s)
{
	log_warn("session %s still has processes; its cgroup '%s' is left in place and no longer "
		 "monitored",
		 s->id, s->cgroup_path);
}

void sl_sessions_clear(struct sl_sessions *ss)
{
	for (size_t i = 0; i < ss->n; i++)
		session_free_fields(&ss->v[i]);
	free(ss->v);
	ss->v = NULL;
	ss->n = ss->cap = 0;
}

void sl_sessions_close(struct sl_sessions *ss)
{
	if (!ss)
		return;
	sl_sessions_clear(ss);
	cgroup_teardown(ss);
	if (ss->inotify_fd >= 0)
		close(ss->inotify_fd);
	free(ss->cgroup_parent);
	free(ss);
}

/* environment ids can change with a reload: re-resolve every session's scope */
void sl_sessions_rescope(struct sl_sessions *ss)
{
	for (size_t i = 0; i < ss->n; i++) {
		struct sl_session *s = &ss->v[i];
		uint32_t set, clear;
		int id;

		if (!s->active || !sl_policy_store_current(ss->store))
			continue;
		id = sl_policy_env_id(sl_policy_store_current(ss->store), s->scope);
		s->scope_env = id > 0 ? (uint32_t)id : 0;
		set = blind_tls_flags(sl_policy_store_current(ss->store), s->scope, s->proxy_port);
		clear = (SL_SESSION_BLIND_DENY | SL_SESSION_BLIND_PROXY) & ~set;
		if (loss_throttles(sl_policy_store_current(ss->store), s->scope))
			set |= SL_SESSION_THROTTLE;
		else
			clear |= SL_SESSION_THROTTLE;
		sl_session_kernel_update(ss, s, set, clear, 0);
	}
}

/*
 * The only daemon-side update of a session's kernel value (read, modify,
 * write back): scope_env from s, flags set/cleared, taint bits added. The
 * kernel sets SL_SESSION_HELD and taint with atomics; a hold that races with
 * this write is still enforced through sl_held (egress.bpf.c).
 */
int sl_session_kernel_update(struct sl_sessions *ss, struct sl_session *s, uint32_t set,
			     uint32_t clear, uint64_t taint)
{
	struct sl_session_info info;
	int err;

	err = sl_kernel_session_get(ss->kernel, s->cgroup_id, &info);
	if (err)
		return err;
	info.scope_env = s->scope_env;
	info.flags = (info.flags | set) & ~clear;
	info.taint |= taint;
	err = sl_kernel_session_put(ss->kernel, s->cgroup_id, &info);
	if (err)
		log_err("session %s: update kernel session value: %s", s->id, strerror(-err));
	return err;
}

/* ---- what a session is, and what other rooms do to it ---- */

const char *sl_session_id(const struct sl_session *s)
{
	return s->id;
}

const char *sl_session_scope(const struct sl_session *s)
{
	return s->scope;
}

const char *sl_session_cgroup_path(const struct sl_session *s)
{
	return s->cgroup_path;
}

uint64_t sl_session_cgroup_id(const struct sl_session *s)
{
	return s->cgroup_id;
}

bool sl_session_active(const struct sl_session *s)
{
	return s->active;
}

bool sl_session_killed(const struct sl_session *s)
{
	return s->killed;
}

uint32_t sl_session_confine(const struct sl_session *s)
{
	return s->confine;
}

int sl_session_proxy_fd(const struct sl_session *s)
{
	return s->has_proxy_fd ? s->proxy_fd : -1;
}

uint16_t sl_session_proxy_port(const struct sl_session *s)
{
	return s->proxy_port;
}

pid_t sl_session_leader(const struct sl_session *s)
{
	return s->leader;
}

uint32_t sl_session_scope_env(const struct sl_session *s)
{
	return s->scope_env;
}

const char *sl_session_workspace(const struct sl_session *s)
{
	return s->workspace;
}

uint64_t sl_session_started_ns(const struct sl_session *s)
{
	return (uint64_t)s->started.tv_sec * 1000000000ULL + (uint64_t)s->started.tv_nsec;
}

json_t *sl_session_taint_files(const struct sl_session *s)
{
	return s->taint_files;
}

bool sl_session_audit_frozen(const struct sl_session *s)
{
	return s->audit_frozen;
}

void sl_session_set_audit_frozen(struct sl_session *s, bool frozen)
{
	s->audit_frozen = frozen;
}

void sl_session_count_event(struct sl_session *s)
{
	s->events++;
}

void sl_session_note_throttle(struct sl_session *s, uint64_t stopped_ns)
{
	s->throttle_stops++;
	s->throttle_ns += stopped_ns;
}

void sl_session_note_taint_file(struct sl_session *s, const json_t *rec)
{
	json_t *o = json_object();

	if (!s->taint_files)
		s->taint_files = json_array();
	{
		json_t *t;
		size_t k;
		bool seen = false;

		json_array_foreach (s->taint_files, k, t)
			seen = seen ||
			       json_equal(json_object_get(t, "path"), json_object_get(rec, "path"));
		if (seen) {
			json_decref(o);
			return;
		}
	}
	if (!o || !s->taint_files || json_array_size(s->taint_files) >= TAINT_FILES_MAX) {
		json_decref(o);
		return;
	}
	json_object_set(o, "env", json_object_get(rec, "env") ?: json_null());
	json_object_set(o, "path", json_object_get(rec, "path") ?: json_null());
	json_object_set(o, "time", json_object_get(rec, "time"));
	json_array_append_new(s->taint_files, o);
}

static int write_cgroup_file(const struct sl_session *s, const char *file, const char *val)
{
	char path[4200];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", s->cgroup_path, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		err = -errno;
	close(fd);
	return err;
}

int sl_session_freeze(struct sl_session *s, bool frozen)
{
	/* only ever a session cgroup this daemon created */
	if (!s->active)
		return -ESRCH;
	return write_cgroup_file(s, "cgroup.freeze", frozen ? "1" : "0");
}

int sl_session_kill_cgroup(struct sl_session *s)
{
	int err;

	/* only ever a session cgroup this daemon created */
	if (!s->active)
		return -ESRCH;
	s->killed = true;
	err = write_cgroup_file(s, "cgroup.kill", "1");
	if (err)
		log_err("session %s: cgroup.kill: %s", s->id, strerror(-err));
	/* a frozen session dies too: thaw after the kill is queued */
	write_cgroup_file(s, "cgroup.freeze", "0");
	return err;
}
