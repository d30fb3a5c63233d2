// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * scopelock run: fork the command, have the daemon place the child (passed
 * as a pidfd) in a new session cgroup, let the child confine itself (a
 * seccomp filter whose listener goes to the daemon, a Landlock domain) as
 * the daemon says for the scope, then let it drop to the user and exec. The
 * command keeps the caller's environment, cwd, terminal and stdin; the exit
 * status is the command's (128+N when it died of signal N).
 *
 * blind_tls: proxy (docs/policy.md): when scopelock-proxy is there (next to
 * this executable, else in PREFIX/libexec/scopelock) the launcher asks for a proxy ("proxy": true);
 * if the scope says proxy, scopelockd's reply carries the session's listening socket (127.0.0.1,
 * "proxy_port"; the daemon keeps its own copy until the session ends), which goes on to the child
 * with the session message; the child, in the session and as the user, starts scopelock-proxy on it
 * before it runs the command and gives the command HTTPS_PROXY and the CA variables. The proxy
 * stops when the launcher closes its end of a pipe (the command exited).
 *
 * Parent and child talk over a SOCK_SEQPACKET pair, one JSON message each:
 *   parent -> child  {"session": ID, "confine": {"ptrace": B, "userns": B}, "proxy": B}
 *   child -> parent  {"error": 0|errno, "message", "landlock_abi"}
 *                    + the filter's listener (SCM_RIGHTS)   (only if confined)
 *   parent -> child  {"go": true}                             (only if confined)
 * The child never runs the command unless the daemon took the listener; if
 * anything fails the parent kills it (exit 125).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "confinement.h"
#include "jsonbytes.h"
#include "log.h"
#include "proto.h"
#include "util.h"

/* exit statuses of run itself (as env(1) and container runners use them) */
#define RUN_EXIT_FAILED 125   /* the session could not be started */
#define RUN_EXIT_NOEXEC 126   /* command found but not executable */
#define RUN_EXIT_NOTFOUND 127 /* command not found */
/* scopelock killed the session (a kill verdict, a denied hold, `scopelock end`) */
#define RUN_EXIT_KILLED 123
/* after the command exits: how long to wait for the record that the session ended */
#define RUN_END_WAIT_MS 3000

static const char usage_text[] =
    "Usage: scopelock run --scope ENV [OPTIONS] -- COMMAND [ARGS...]\n"
    "\n"
    "Run COMMAND in a new scopelock session: a cgroup every descendant stays in,\n"
    "whose execs, file opens, connects and TLS plaintext are recorded by the kernel\n"
    "side of scopelockd. COMMAND keeps your environment, working directory,\n"
    "terminal and stdin. SCOPELOCK_SESSION is set to the session id.\n"
    "\n"
    "The session cannot reach outside itself (unless the policy's\n"
    "environments.ENV.confine opts out): its processes cannot ptrace\n"
    "(PTRACE_ATTACH/SEIZE), read or write the memory of (process_vm_readv/writev,\n"
    "/proc/PID/mem) or take descriptors from (pidfd_getfd) processes outside the\n"
    "session, and cannot create or join user namespaces (unshare -U, clone,\n"
    "setns). Debuggers work on processes inside the session. Every refusal is a\n"
    "confine_refused record. A seccomp filter hands these calls to scopelockd; if\n"
    "scopelockd stops, they fail with ENOSYS. When run without CAP_SYS_ADMIN (not\n"
    "as root), the session also gets no_new_privs: setuid programs do not gain\n"
    "privileges in it.\n"
    "\n"
    "A program whose TLS scopelock cannot read (a tls_blind_spot: rustls on\n"
    "ring, OpenSSL linked statically and stripped) is refused every connect\n"
    "(policy blind_tls: deny, the default). When the scope says blind_tls: proxy,\n"
    "the session gets an inspecting TLS proxy (scopelock-proxy, installed in\n"
    "PREFIX/libexec/scopelock) started inside it before COMMAND. COMMAND gets\n"
    "HTTPS_PROXY and https_proxy (http://127.0.0.1:PORT) and SSL_CERT_FILE,\n"
    "REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO, CODEX_CA_CERTIFICATE and\n"
    "NODE_EXTRA_CA_CERTS naming bundles of what they named before (or the\n"
    "system's CAs) and the session's own CA (alone in SCOPELOCK_PROXY_CA). A blind\n"
    "program may connect to that proxy and nowhere else, and what the proxy sends\n"
    "on is read and judged like curl's. A client that does not trust the\n"
    "session's CA fails its handshake; nothing of it is sent.\n"
    "\n"
    "Options:\n"
    "  -e, --scope ENV        the environment the session works on (required),\n"
    "                         e.g. staging\n"
    "  -w, --workspace DIR    the session's workspace directory: credentials found\n"
    "                         in files there are the scope's, elsewhere foreign\n"
    "  -u, --user USER        run COMMAND as USER (default: you, or SUDO_USER when\n"
    "                         run through sudo); needs root for another user\n"
    "      --allow-root       allow COMMAND to run as root. Refused otherwise: root\n"
    "                         inside a session is not confined in any meaningful\n"
    "                         way (it can move itself out of the session cgroup,\n"
    "                         kill or stop scopelockd, unload its BPF programs)\n"
    "  -n, --name NAME        a label for the session\n"
    "  -q, --quiet            do not print the session id on stderr\n"
    "      --notify-desktop   also show held, approved, denied and killed as desktop\n"
    "                         notifications (notify-send, package libnotify-bin) on\n"
    "                         the desktop session this command runs in\n"
    "  -h, --help             this help\n"
    "\n"
    "What happens to the session is told on this terminal (stderr, never mixed\n"
    "into COMMAND's output), as scopelockd decides it: an action held for a\n"
    "person (what, why, the approve and deny commands, the deadline), the\n"
    "decision, an action denied, an alert, the session killed and why. If\n"
    "scopelockd goes away, that is said too: the kernel goes on enforcing, and\n"
    "with the policy's settings.daemon_absent: freeze (the default) this command\n"
    "freezes the session once the daemon has been gone for\n"
    "settings.daemon_absent_grace (needs root: it writes the session cgroup's\n"
    "cgroup.freeze), connects again, and the daemon that adopts the session\n"
    "thaws it. A session killed while no daemon runs exits 137 (no reason told).\n"
    "\n"
    "Exit status: COMMAND's; 123 if scopelock killed the session (a kill\n"
    "verdict, a denied or expired hold, scopelock end: the reason is printed);\n"
    "128+N if it was killed by signal N otherwise; 125 if the session\n"
    "could not be started or confined (COMMAND did not run); 126 if COMMAND is not\n"
    "executable; 127 if not found; 2 for a usage error (a session as root without\n"
    "--allow-root included).\n"
    "\n"
    "Examples:\n"
    "  sudo scopelock run --scope staging --workspace ~/api -- claude\n"
    "  scopelock run --scope staging --name fix-1234 -- bash -c 'make test'\n"
    "  sudo scopelock run --scope staging --user agent -- codex exec 'fix the build'\n"
    "      (Codex's requests are read where rustls seals them; a program scopelock\n"
    "      cannot read goes through the session's proxy when the policy says\n"
    "      environments.staging.blind_tls: proxy)\n"
    "  sudo scopelock run --scope lab --allow-root -- ./provision.sh\n"
    "  scopelock run --scope staging --notify-desktop -- claude\n";

static json_t *build_argv(int argc, char **argv)
{
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	for (int i = 0; i < argc; i++) {
		json_t *v = sl_json_bytes(argv[i], strlen(argv[i]));

		if (!v || json_array_append_new(arr, v)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* what the launcher has been told about its session */
struct notices {
	bool desktop;  /* --notify-desktop: also a desktop notification */
	bool killed;   /* scopelock killed the session */
	bool ended;    /* session_end arrived */
	bool lost;     /* the daemon's connection is gone */
	char why[600]; /* why it was killed */
};

static const char *jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "?";
}

/*
 * What reaches the terminal is scopelock's text: control characters (C0,
 * DEL, and C1 as UTF-8) of fields the agent chose (a program's name, a
 * target) become '?', so they cannot move the cursor, erase a line or
 * start one of their own.
 */
static char *clean(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = '?';
	}
	return s;
}

/* a string member, cleaned, in buf */
static const char *cstr(json_t *o, const char *k, char *buf, size_t n)
{
	snprintf(buf, n, "%s", jstr(o, k));
	return clean(buf);
}

/* "production, staging" of a JSON array of strings, or the single string */
static void env_list(json_t *v, char *buf, size_t n)
{
	size_t i, off = 0;
	json_t *x;

	buf[0] = '\0';
	if (json_is_string(v)) {
		snprintf(buf, n, "%s", json_string_value(v));
		return;
	}
	json_array_foreach (v, i, x)
		if (json_is_string(x) && off < n)
			off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? ", " : "",
						json_string_value(x));
}

/* how long a notify-send may take before it is ended (it talks to D-Bus) */
#define DESKTOP_TIMEOUT_MS 3000

/*
 * --notify-desktop: the same notice as a desktop notification for the user
 * who started the session, through notify-send (libnotify) on the desktop
 * session's D-Bus. Never through a shell; never more than DESKTOP_TIMEOUT_MS
 * (a notify-send still running then is ended: this process started it).
 * Told once on stderr when there is no desktop session or no notify-send.
 */
static void desktop(struct notices *st, const char *summary, const char *body)
{
	static bool warned;
	char *const argv[] = {"notify-send",   "--urgency=critical", "--app-name=scopelock",
			      (char *)summary, (char *)body,	     NULL};
	extern char **environ;
	pid_t pid;
	int err, status;

	if (!st->desktop)
		return;
	if (!getenv("DBUS_SESSION_BUS_ADDRESS") && !getenv("DISPLAY") &&
	    !getenv("WAYLAND_DISPLAY")) {
		if (!warned)
			fprintf(stderr,
				"scopelock: --notify-desktop: no desktop session here "
				"(DBUS_SESSION_BUS_ADDRESS, DISPLAY and WAYLAND_DISPLAY are "
				"unset): notices on this terminal only\n");
		warned = true;
		return;
	}
	err = posix_spawnp(&pid, "notify-send", NULL, NULL, argv, environ);
	if (err) {
		if (!warned)
			fprintf(stderr,
				"scopelock: --notify-desktop: notify-send: %s (Debian: "
				"apt-get install libnotify-bin): notices on this terminal only\n",
				strerror(err));
		warned = true;
		return;
	}
	for (int waited = 0;; waited += 10) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (waited >= DESKTOP_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			fprintf(stderr,
				"scopelock: --notify-desktop: notify-send did not finish in "
				"%d ms (ended)\n",
				DESKTOP_TIMEOUT_MS);
			break;
		}
		usleep(10000);
	}
}

/* one record about the session, told on stderr */
static void notice(struct notices *st, json_t *r)
{
	const char *type = jstr(r, "type");
	char envs[256], what[512], id[128], by[128], reason[256], sc[64];
	char dsum[192], dbody[1200];

	if (!strcmp(type, "session_end")) {
		st->ended = true;
		return;
	}
	if (!strcmp(type, "alert")) {
		const char *verdict = jstr(r, "verdict");
		const char *comm = json_string_value(json_object_get(r, "comm"));

		env_list(json_object_get(r, "target_env"), envs, sizeof(envs));
		snprintf(what, sizeof(what), "rule '%s' on %s by pid %lld%s%s%s, target %s%s%s%s",
			 jstr(r, "rule"), jstr(r, "channel"),
			 (long long)json_integer_value(json_object_get(r, "pid")), comm ? " (" : "",
			 comm ? comm : "", comm ? ")" : "", jstr(r, "target"), envs[0] ? " (" : "",
			 envs, envs[0] ? ")" : "");
		clean(what);
		if (!strcmp(verdict, "held")) {
			cstr(r, "hold_id", id, sizeof(id));
			fprintf(
			    stderr,
			    "scopelock: HELD: %s. The session is frozen until a person decides:\n"
			    "scopelock:   sudo scopelock approve %s    (the action proceeds)\n"
			    "scopelock:   sudo scopelock deny %s       (the session is killed)\n"
			    "scopelock: denied automatically in %lld s.\n",
			    what, id, id,
			    (long long)json_integer_value(json_object_get(r, "hold_timeout_s")));
			snprintf(dsum, sizeof(dsum), "scopelock: HELD (%s)", id);
			snprintf(dbody, sizeof(dbody),
				 "%s. scopelock approve %s / scopelock deny %s", what, id, id);
			desktop(st, dsum, dbody);
		} else if (!strcmp(verdict, "killed")) {
			fprintf(stderr, "scopelock: KILLED: %s: the session is killed.\n", what);
			desktop(st, "scopelock: session KILLED", what);
			st->killed = true;
			snprintf(st->why, sizeof(st->why), "%s", what);
		} else if (!strcmp(verdict, "denied")) {
			fprintf(stderr, "scopelock: DENIED: %s: the call failed.\n", what);
		} else {
			fprintf(stderr, "scopelock: ALERT (%s): %s.\n", verdict, what);
		}
	} else if (!strcmp(type, "hold_approved")) {
		fprintf(stderr, "scopelock: APPROVED: hold %s by %s: the action proceeds.\n",
			cstr(r, "hold_id", id, sizeof(id)), cstr(r, "by", by, sizeof(by)));
		snprintf(dbody, sizeof(dbody), "hold %s approved by %s", id, by);
		desktop(st, "scopelock: APPROVED", dbody);
	} else if (!strcmp(type, "hold_denied")) {
		cstr(r, "hold_id", id, sizeof(id));
		cstr(r, "by", by, sizeof(by));
		fprintf(stderr, "scopelock: DENIED: hold %s by %s (%s): the session is killed.\n",
			id, by, cstr(r, "reason", reason, sizeof(reason)));
		snprintf(dbody, sizeof(dbody), "hold %s denied by %s (%s): the session is killed",
			 id, by, reason);
		desktop(st, "scopelock: DENIED", dbody);
		st->killed = true;
		snprintf(st->why, sizeof(st->why), "hold %s denied by %s", id, by);
	} else if (!strcmp(type, "session_killed")) {
		bool has_by = json_is_string(json_object_get(r, "by")), say_by;

		cstr(r, "by", by, sizeof(by));
		cstr(r, "reason", reason, sizeof(reason));
		say_by = has_by && !strstr(reason, by);
		fprintf(stderr, "scopelock: session KILLED: %s%s%s.\n", reason,
			say_by ? " by " : "", say_by ? by : "");
		snprintf(dbody, sizeof(dbody), "%s%s%s", reason, say_by ? " by " : "",
			 say_by ? by : "");
		desktop(st, "scopelock: session KILLED", dbody);
		st->killed = true;
		if (!st->why[0])
			snprintf(st->why, sizeof(st->why), "%s", reason);
	} else if (!strcmp(type, "confine_refused")) {
		fprintf(stderr, "scopelock: REFUSED: %s by pid %lld (confinement).\n",
			cstr(r, "syscall", sc, sizeof(sc)),
			(long long)json_integer_value(json_object_get(r, "pid")));
	}
	fflush(stderr);
}

/* read one message (poll said there is one); false when the connection is gone */
static bool notices_read(int fd, struct notices *st)
{
	json_t *m = NULL;
	int err;

	err = sl_proto_recv(fd, &m, NULL);
	if (err == -EINTR || err == -EAGAIN)
		return true;
	if (err == -EBADMSG)
		return true; /* not a record: nothing to tell */
	if (err) {
		if (!st->lost)
			fprintf(
			    stderr,
			    "scopelock: lost the connection to scopelockd (%s): this terminal is "
			    "no longer told what happens to the session\n",
			    err == -ECONNRESET ? "it stopped" : strerror(-err));
		st->lost = true;
		return false;
	}
	notice(st, m);
	json_decref(m);
	return true;
}

/* ask the daemon to tell us what happens to the session; false if it cannot */
static bool notices_start(int fd, const char *session)
{
	json_t *req = json_pack("{s:s, s:s}", "op", "notify", "session", session), *rep = NULL;
	bool ok;
	int err;

	err = req ? sl_proto_send(fd, req, -1) : -ENOMEM;
	if (!err)
		err = sl_proto_recv(fd, &rep, NULL);
	ok = !err && json_is_true(json_object_get(rep, "ok"));
	if (!ok)
		fprintf(
		    stderr,
		    "scopelock: warning: scopelockd will not tell this terminal what happens to "
		    "the session (%s); follow it with 'scopelock tail --alerts --session %s'\n",
		    err ? strerror(-err) : jstr(rep, "error"), session);
	json_decref(req);
	json_decref(rep);
	return ok;
}

/*
 * settings.daemon_absent: freeze. While the daemon's connection is gone the
 * launcher (outside the session) tries to connect again; once the grace
 * period is over it freezes the session's cgroup itself (cgroup.freeze: the
 * launcher must be allowed to write it, i.e. run as root), and it lets the
 * daemon that adopted the session thaw it.
 */
struct absent_watch {
	const struct sl_cli *cli;
	const char *session;
	char cgroup[4096]; /* the session cgroup ("" if the daemon did not say) */
	bool freeze;	   /* daemon_absent: freeze */
	int grace_ms;
	bool watching; /* the connection is gone */
	bool frozen;   /* frozen here */
	bool told;     /* a failure to freeze was said */
	struct timespec lost_at;
};

static int64_t ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void absent_settings(struct absent_watch *w, json_t *reply)
{
	const char *a = json_string_value(json_object_get(reply, "daemon_absent"));
	json_t *g = json_object_get(reply, "daemon_absent_grace_ms");

	if (a)
		w->freeze = !strcmp(a, "freeze");
	if (json_is_integer(g) && json_integer_value(g) > 0)
		w->grace_ms = (int)json_integer_value(g);
}

/* connect again and take the session back (reattach, then notify); the new fd or -1 */
static int absent_reconnect(struct absent_watch *w, struct notices *st)
{
	json_t *req = NULL, *rep = NULL;
	int fd = -1, err;

	if (sl_proto_connect(w->cli->socket_path, &fd))
		return -1;
	req = json_pack("{s:s, s:s}", "op", "reattach", "session", w->session);
	err = req ? sl_proto_send(fd, req, -1) : -ENOMEM;
	if (!err)
		err = sl_proto_recv(fd, &rep, NULL);
	if (err || !json_is_true(json_object_get(rep, "ok"))) {
		if (!w->told)
			fprintf(stderr,
				"scopelock: scopelockd is back but does not know session %s (%s): "
				"it %s\n",
				w->session, err ? strerror(-err) : jstr(rep, "error"),
				w->frozen ? "stays frozen" : "is no longer monitored");
		w->told = true;
		close(fd);
		fd = -1;
		goto out;
	}
	absent_settings(w, rep);
	if (!notices_start(fd, w->session)) {
		close(fd);
		fd = -1;
		goto out;
	}
	fprintf(stderr, "scopelock: scopelockd is back and adopted session %s%s\n", w->session,
		w->frozen ? ": it thaws the session" : "");
	st->lost = false;
	w->watching = w->frozen = w->told = false;
out:
	json_decref(req);
	json_decref(rep);
	return fd;
}

static void absent_freeze(struct absent_watch *w)
{
	char path[4200];
	int fd, err = 0;

	w->frozen = true;
	snprintf(path, sizeof(path), "%s/cgroup.freeze", w->cgroup);
	errno = 0;
	fd = w->cgroup[0] ? open(path, O_WRONLY | O_CLOEXEC) : -1;
	if (fd < 0 || write(fd, "1", 1) != 1)
		err = errno ? errno : EINVAL;
	if (fd >= 0)
		close(fd);
	if (err)
		fprintf(
		    stderr,
		    "scopelock: WARNING: scopelockd is gone for %d ms and the session cannot be "
		    "frozen here ('%s': %s): it runs on under the kernel's verdicts only\n",
		    w->grace_ms, path, strerror(err));
	else
		fprintf(stderr,
			"scopelock: scopelockd is gone for %d ms: session %s is FROZEN until a "
			"daemon adopts it (settings.daemon_absent: freeze)\n",
			w->grace_ms, w->session);
}

/*
 * Wait for the command, telling what happens to the session meanwhile; when
 * it died of SIGKILL, wait (bounded) for the reason (a kill by scopelock) or
 * the record that the session ended (someone else's SIGKILL).
 */
static int wait_child(pid_t child, int pidfd, int *fdp, bool notify, struct notices *st,
		      int *status, struct absent_watch *w)
{
	bool exited = false;
	struct timespec t0;
	int fd = *fdp;

	for (;;) {
		struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
				      {.fd = notify && !st->lost ? fd : -1, .events = POLLIN}};
		int timeout = -1, n;

		if (exited) {
			struct timespec now;
			long ms;

			/* only a SIGKILL may be scopelock's: then its reason is on the way */
			if (!notify || st->lost || st->ended || !WIFSIGNALED(*status) ||
			    WTERMSIG(*status) != SIGKILL) {
				/* what is already queued is still told */
				struct pollfd q = {.fd = notify && !st->lost ? fd : -1,
						   .events = POLLIN};
				int left = 256; /* descendants may go on: bounded */

				while (q.fd >= 0 && left-- > 0 && poll(&q, 1, 0) > 0 &&
				       (q.revents & POLLIN) && notices_read(fd, st) && !st->lost)
					;
				return 0;
			}
			clock_gettime(CLOCK_MONOTONIC, &now);
			ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
			if (ms >= RUN_END_WAIT_MS)
				return 0;
			timeout = (int)(RUN_END_WAIT_MS - ms);
			p[0].fd = -1;
		}
		if (!exited && notify && st->lost && w->freeze) {
			int nfd;

			if (!w->watching) {
				w->watching = true;
				clock_gettime(CLOCK_MONOTONIC, &w->lost_at);
			}
			nfd = absent_reconnect(w, st);
			if (nfd >= 0) {
				close(fd);
				*fdp = fd = nfd;
				continue;
			}
			if (!w->frozen && ms_since(&w->lost_at) >= w->grace_ms)
				absent_freeze(w);
			timeout = 200;
		}
		n = poll(p, 2, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		if (p[1].revents)
			notices_read(fd, st);
		if (!exited && p[0].revents) {
			while (waitpid(child, status, 0) < 0)
				if (errno != EINTR)
					return -errno;
			exited = true;
			clock_gettime(CLOCK_MONOTONIC, &t0);
		}
	}
}

static volatile sig_atomic_t g_child;

static void forward_signal(int sig)
{
	if (g_child > 0)
		kill(g_child, sig);
}

/* one message from the other end of the pair, retried on EINTR */
static int pair_recv(int sock, json_t **msg, int *fd)
{
	int err;

	do {
		err = sl_proto_recv(sock, msg, fd);
	} while (err == -EINTR);
	return err;
}

/* what the child needs to start the session's proxy */
struct proxy_start {
	int listen_fd; /* bound to 127.0.0.1:port, listening; -1: no proxy */
	int alive_fd;  /* read end of the pipe the launcher holds open while the command runs */
	uint16_t port;
	char path[PATH_MAX]; /* scopelock-proxy */
};

/* the CA variables the proxy writes bundles for (DIR/VAR.pem), as scopelock-proxy.c has them */
static const char *const proxy_ca_vars[] = {
    "SSL_CERT_FILE",  "REQUESTS_CA_BUNDLE",   "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO", "CODEX_CA_CERTIFICATE", "NODE_EXTRA_CA_CERTS",
};

/* fd moved to at least 10 (clear of 3..5, where the proxy wants its three) */
static int fd_high(int fd)
{
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 10);

	close(fd);
	return n;
}

/*
 * In the session, as the user, before the command: start scopelock-proxy on
 * the listening socket (twice forked: the command is not its parent and
 * never waits for it), wait until it says where its CA files are, then put
 * HTTPS_PROXY and the CA variables in the environment the command gets.
 * The proxy not starting leaves the session as blind_tls: deny would (its
 * blind processes cannot connect anywhere): said on stderr.
 */
static void proxy_start(struct proxy_start *px)
{
	char dir[PATH_MAX], val[PATH_MAX + 64], url[64];
	int ready[2] = {-1, -1}, lfd, afd, rfd, wfd;
	size_t got = 0;
	pid_t mid;
	ssize_t n;

	if (pipe2(ready, O_CLOEXEC)) {
		fprintf(stderr, "scopelock: the session's TLS proxy: pipe: %s\n", strerror(errno));
		goto fail;
	}
	lfd = fd_high(px->listen_fd);
	afd = fd_high(px->alive_fd);
	rfd = ready[0];
	wfd = fd_high(ready[1]);
	ready[1] = -1;
	px->listen_fd = lfd;
	px->alive_fd = afd;
	if (lfd < 0 || afd < 0 || wfd < 0) {
		fprintf(stderr, "scopelock: the session's TLS proxy: fcntl: %s\n", strerror(errno));
		goto fail;
	}
	mid = fork();
	if (mid == 0) {
		pid_t p = fork();

		if (p == 0) {
			char *const av[] = {"scopelock-proxy", "3", "4", "5", NULL};

			if (dup2(lfd, 3) < 0 || dup2(wfd, 4) < 0 || dup2(afd, 5) < 0)
				_exit(127);
			/* stdin and stdout stay the command's (a pipe reading the command's
			 * output ends with the command); stderr is where it says what it
			 * refused */
			close(0);
			close(1);
			if (open("/dev/null", O_RDONLY) != 0 || open("/dev/null", O_WRONLY) != 1)
				_exit(127);
			execv(px->path, av);
			fprintf(stderr, "scopelock: the session's TLS proxy: exec %s: %s\n",
				px->path, strerror(errno));
			_exit(127);
		}
		_exit(p < 0 ? 1 : 0);
	}
	close(wfd);
	close(lfd);
	close(afd);
	px->listen_fd = px->alive_fd = -1;
	if (mid < 0) {
		fprintf(stderr, "scopelock: the session's TLS proxy: fork: %s\n", strerror(errno));
		goto fail;
	}
	while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
		;
	while (got + 1 < sizeof(dir)) {
		n = read(rfd, dir + got, sizeof(dir) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(rfd);
	rfd = -1;
	dir[got] = '\0';
	if (!got || dir[got - 1] != '\n' || dir[0] != '/') {
		fprintf(stderr,
			"scopelock: the session's TLS proxy did not start: processes whose "
			"TLS scopelock cannot read cannot connect (as with blind_tls: deny)\n");
		return;
	}
	dir[got - 1] = '\0';
	if (getenv("HTTPS_PROXY") || getenv("https_proxy"))
		fprintf(stderr,
			"scopelock: HTTPS_PROXY of the session is its TLS proxy (yours, "
			"%s, is not used)\n",
			getenv("HTTPS_PROXY") ? getenv("HTTPS_PROXY") : getenv("https_proxy"));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", (unsigned)px->port);
	setenv("HTTPS_PROXY", url, 1);
	setenv("https_proxy", url, 1);
	for (size_t i = 0; i < SL_ARRAY_SIZE(proxy_ca_vars); i++) {
		snprintf(val, sizeof(val), "%s/%s.pem", dir, proxy_ca_vars[i]);
		setenv(proxy_ca_vars[i], val, 1);
	}
	snprintf(val, sizeof(val), "%s/ca.pem", dir);
	setenv("SCOPELOCK_PROXY_CA", val, 1);
	return;
fail:
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	if (px->listen_fd >= 0)
		close(px->listen_fd);
	if (px->alive_fd >= 0)
		close(px->alive_fd);
	px->listen_fd = px->alive_fd = -1;
	fprintf(stderr, "scopelock: the session's TLS proxy did not start: processes whose TLS "
			"scopelock cannot read cannot connect (as with blind_tls: deny)\n");
}

static uint32_t confine_flags(json_t *confine)
{
	uint32_t flags = 0;

	/* a missing member stays confined */
	if (!json_is_false(json_object_get(confine, "ptrace")))
		flags |= SL_CONFINE_PTRACE;
	if (!json_is_false(json_object_get(confine, "userns")))
		flags |= SL_CONFINE_USERNS;
	return flags;
}

/*
 * In the session's first process, after the daemon moved it into the
 * session cgroup: confine itself (as root when run as root, so that no
 * no_new_privs is needed), hand the listener to the parent, wait for its
 * go, drop to the user, exec. Any failure: exit without running cmd.
 */
static void child_main(int sock, int err_fd, const struct passwd *pw, bool switch_user, char **cmd,
		       struct proxy_start *px)
{
	struct sl_confine_self cs = {.listener = -1};
	json_t *msg = NULL, *rep;
	const char *id;
	uint32_t flags;
	char err[256] = "";
	bool proxy;
	int e, ret;

	if (pair_recv(sock, &msg, &px->listen_fd))
		_exit(RUN_EXIT_FAILED); /* the parent gave up: never run unmonitored */
	px->port = (uint16_t)json_integer_value(json_object_get(msg, "proxy_port"));
	id = json_string_value(json_object_get(msg, "session"));
	if (!id)
		_exit(RUN_EXIT_FAILED);
	setenv("SCOPELOCK_SESSION", id, 1);
	proxy =
	    json_is_true(json_object_get(msg, "proxy")) && px->listen_fd >= 0 && px->alive_fd >= 0;
	flags = confine_flags(json_object_get(msg, "confine"));
	json_decref(msg);
	if (flags) {
		ret = sl_confine_self(flags, &cs, err, sizeof(err));
		rep = json_pack("{s:i, s:s, s:i}", "error", -ret, "message", err, "landlock_abi",
				cs.landlock_abi);
		if (!rep || sl_proto_send(sock, rep, ret ? -1 : cs.listener) || ret)
			_exit(RUN_EXIT_FAILED);
		json_decref(rep);
		/* the session must never hold its own supervisor's end */
		close(cs.listener);
		if (pair_recv(sock, &msg, NULL) || !json_is_true(json_object_get(msg, "go")))
			_exit(RUN_EXIT_FAILED);
		json_decref(msg);
	}
	close(sock);
	if (switch_user) {
		if (initgroups(pw->pw_name, pw->pw_gid) || setgid(pw->pw_gid) ||
		    setuid(pw->pw_uid)) {
			e = errno;
			(void)!write(err_fd, &e, sizeof(e));
			_exit(RUN_EXIT_FAILED);
		}
	}
	if (proxy)
		proxy_start(px);
	if (px->listen_fd >= 0)
		close(px->listen_fd);
	if (px->alive_fd >= 0)
		close(px->alive_fd);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	execvp(cmd[0], cmd);
	e = errno;
	(void)!write(err_fd, &e, sizeof(e));
	_exit(e == ENOENT ? RUN_EXIT_NOTFOUND : RUN_EXIT_NOEXEC);
}

#ifndef SL_PROXY_PATH
#define SL_PROXY_PATH "/usr/libexec/scopelock/scopelock-proxy"
#endif

/* scopelock-proxy next to this executable (the build tree), else where it is installed */
static bool proxy_find(char *path, size_t len)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (strlen(exe) + sizeof("/scopelock-proxy") <= len) {
				memcpy(path, exe, strlen(exe));
				memcpy(path + strlen(exe), "/scopelock-proxy",
				       sizeof("/scopelock-proxy"));
				if (!access(path, X_OK))
					return true;
			}
		}
	}
	if (sizeof(SL_PROXY_PATH) > len)
		return false;
	memcpy(path, SL_PROXY_PATH, sizeof(SL_PROXY_PATH));
	return !access(path, X_OK);
}

/*
 * blind_tls: proxy: scopelock-proxy and the pipe that keeps it alive
 * (alive[0]: the proxy's end). false: no proxy for this session (the daemon
 * then refuses its blind processes everywhere, as with deny).
 */
static bool proxy_prepare(struct proxy_start *px, int alive[2])
{
	px->listen_fd = px->alive_fd = -1;
	alive[0] = alive[1] = -1;
	if (!proxy_find(px->path, sizeof(px->path)))
		return false;
	if (pipe2(alive, O_CLOEXEC)) {
		log_warn("run: the session's TLS proxy: pipe: %s (none for this session)",
			 strerror(errno));
		alive[0] = alive[1] = -1;
		return false;
	}
	px->alive_fd = alive[0];
	return true;
}

/*
 * Tell the child its session and what it is kept from; if confined, take
 * its listener, give it to the daemon on the connection that started the
 * session, and let the child go. 0, or -1 after logging why.
 */
static int confine_child(int fd, int sock, const char *session, json_t *confine, int proxy_fd,
			 int proxy_port)
{
	uint32_t flags = confine_flags(confine);
	json_t *msg = NULL, *rep = NULL, *reply = NULL;
	int listener = -1, err, ret = -1;
	const char *why;

	msg =
	    json_pack("{s:s, s:{s:b, s:b}, s:b, s:i}", "session", session, "confine", "ptrace",
		      (flags & SL_CONFINE_PTRACE) != 0, "userns", (flags & SL_CONFINE_USERNS) != 0,
		      "proxy", proxy_fd >= 0, "proxy_port", proxy_port);
	/* the proxy's listening socket goes with it */
	err = msg ? sl_proto_send(sock, msg, proxy_fd) : -ENOMEM;
	if (err) {
		log_err("run: start the command: %s", strerror(-err));
		goto out;
	}
	if (!flags) {
		ret = 0;
		goto out;
	}
	err = pair_recv(sock, &rep, &listener);
	if (err) {
		log_err("run: confine the session: the command's process %s",
			err == -ECONNRESET ? "exited" : strerror(-err));
		goto out;
	}
	if (json_integer_value(json_object_get(rep, "error")) || listener < 0) {
		why = json_string_value(json_object_get(rep, "message"));
		log_err("run: cannot confine the session (the command did not run): %s",
			why && why[0] ? why : "no seccomp listener");
		goto out;
	}
	json_decref(msg);
	msg = json_pack("{s:s, s:s, s:I}", "op", "confine", "session", session, "landlock_abi",
			json_integer_value(json_object_get(rep, "landlock_abi")));
	err = msg ? sl_proto_send(fd, msg, listener) : -ENOMEM;
	if (!err)
		err = sl_proto_recv(fd, &reply, NULL);
	if (err) {
		log_err("run: hand the session's filter to scopelockd: %s",
			err == -ECONNRESET ? "daemon closed the connection" : strerror(-err));
		goto out;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		why = json_string_value(json_object_get(reply, "error"));
		log_err("run: scopelockd did not take the session's filter (the command did not "
			"run): %s",
			why ? why : "refused");
		goto out;
	}
	json_decref(msg);
	msg = json_pack("{s:b}", "go", 1);
	err = msg ? sl_proto_send(sock, msg, -1) : -ENOMEM;
	if (err) {
		log_err("run: start the command: %s", strerror(-err));
		goto out;
	}
	ret = 0;
out:
	if (listener >= 0)
		close(listener);
	json_decref(msg);
	json_decref(rep);
	json_decref(reply);
	return ret;
}

int cmd_run(const struct sl_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"scope", required_argument, NULL, 'e'},
	    {"workspace", required_argument, NULL, 'w'},
	    {"user", required_argument, NULL, 'u'},
	    {"name", required_argument, NULL, 'n'},
	    {"allow-root", no_argument, NULL, 'R'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"notify-desktop", no_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *scope = NULL, *workspace = NULL, *user = NULL, *name = NULL;
	char wsbuf[PATH_MAX], cwd[PATH_MAX];
	int pair[2] = {-1, -1}, errp[2] = {-1, -1};
	int fd = -1, pidfd = -1, c, err, status, child_errno = 0;
	bool quiet = false, allow_root = false, switch_user;
	struct passwd *pw;
	json_t *req = NULL, *reply = NULL;
	const char *session;
	struct notices st = {0};
	struct absent_watch watch = {0};
	struct proxy_start px = {.listen_fd = -1, .alive_fd = -1};
	int alive[2] = {-1, -1}, proxy_fd = -1, proxy_port;
	bool notify, want_proxy;
	pid_t child;
	ssize_t n;
	int ret = RUN_EXIT_FAILED;

	while ((c = getopt_long(argc, argv, "+e:w:u:n:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			scope = optarg;
			break;
		case 'w':
			workspace = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'R':
			allow_root = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'D':
			st.desktop = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'scopelock run --help'.\n");
			return 2;
		}
	}
	if (!scope) {
		log_err("run: --scope ENV is required (the environment this session works on)");
		return 2;
	}
	if (optind >= argc) {
		log_err("run: missing command: scopelock run --scope %s -- COMMAND [ARGS...]",
			scope);
		return 2;
	}
	if (workspace) {
		struct stat st;

		if (!realpath(workspace, wsbuf) || stat(wsbuf, &st) || !S_ISDIR(st.st_mode)) {
			log_err("run: --workspace '%s': %s", workspace,
				errno ? strerror(errno) : "not a directory");
			return 2;
		}
		workspace = wsbuf;
	}
	if (!user) {
		const char *sudo_user = getenv("SUDO_USER");

		if (geteuid() == 0 && sudo_user && sudo_user[0]) {
			user = sudo_user;
		} else {
			pw = getpwuid(getuid());
			if (!pw) {
				log_err("run: cannot find the user name of uid %u", getuid());
				return 2;
			}
			user = pw->pw_name;
		}
	}
	pw = getpwnam(user);
	if (!pw) {
		log_err("run: unknown user '%s'", user);
		return 2;
	}
	if (pw->pw_uid == 0 && !allow_root) {
		log_err(
		    "run: refusing to run the session as root ('%s'): root inside a session is "
		    "not confined (it can leave the session cgroup, kill scopelockd, unload its "
		    "programs); give --user USER (an unprivileged user), or --allow-root",
		    pw->pw_name);
		return 2;
	}
	switch_user = pw->pw_uid != geteuid();
	if (switch_user && geteuid() != 0) {
		log_err("run: permission refused: only root can run a session as another user "
			"('%s')",
			user);
		return 2;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		cwd[0] = '\0';

	err = sl_client_connect(cli, "run", &fd);
	if (err)
		return RUN_EXIT_FAILED;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) || pipe2(errp, O_CLOEXEC)) {
		log_err("run: socketpair/pipe: %s", strerror(errno));
		goto out;
	}
	want_proxy = proxy_prepare(&px, alive);
	fflush(NULL);
	child = fork();
	if (child < 0) {
		log_err("run: fork: %s", strerror(errno));
		goto out;
	}
	if (child == 0) {
		close(fd);
		close(pair[0]);
		close(errp[0]);
		if (alive[1] >= 0)
			close(alive[1]);
		child_main(pair[1], errp[1], pw, switch_user, argv + optind, &px);
	}
	/* the child holds the proxy's end of the pipe */
	if (alive[0] >= 0)
		close(alive[0]);
	alive[0] = px.alive_fd = -1;
	g_child = child;
	close(pair[1]);
	pair[1] = -1;
	close(errp[1]);
	errp[1] = -1;

	pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	if (pidfd < 0) {
		log_err("run: pidfd_open: %s", strerror(errno));
		goto abort_child;
	}
	req = json_pack("{s:s, s:s, s:s}", "op", "run", "scope", scope, "user", pw->pw_name);
	if (!req)
		goto abort_child;
	if (workspace)
		json_object_set_new(req, "workspace", json_string(workspace));
	if (name)
		json_object_set_new(req, "name", json_string(name));
	if (cwd[0])
		json_object_set_new(req, "cwd", json_string(cwd));
	json_object_set_new(req, "argv", build_argv(argc - optind, argv + optind));
	if (allow_root)
		json_object_set_new(req, "allow_root", json_true());
	if (want_proxy)
		json_object_set_new(req, "proxy", json_true());
	err = sl_proto_send(fd, req, pidfd);
	if (!err)
		err = sl_proto_recv(fd, &reply, &proxy_fd);
	if (err) {
		log_err("run: talking to scopelockd: %s",
			err == -ECONNRESET ? "daemon closed the connection" : strerror(-err));
		goto abort_child;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *msg = json_string_value(json_object_get(reply, "error"));

		log_err("run: %s", msg ? msg : "the daemon refused the session");
		goto abort_child;
	}
	session = json_string_value(json_object_get(reply, "session"));
	if (!session) {
		log_err("run: malformed reply from scopelockd (no session id)");
		goto abort_child;
	}
	if (!quiet)
		fprintf(stderr, "scopelock: session %s (scope %s)\n", session, scope);

	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, forward_signal);
	signal(SIGHUP, forward_signal);
	/*
	 * told before the command may run: a verdict at its very first exec
	 * (the command killed before it started) is written before the child's
	 * exec is noticed here, and would be missed (exit 137, no reason)
	 */
	notify = notices_start(fd, session);
	proxy_port = (int)json_integer_value(json_object_get(reply, "proxy_port"));
	if (!json_is_true(json_object_get(reply, "proxy")) || proxy_port <= 0) {
		if (proxy_fd >= 0)
			close(proxy_fd);
		proxy_fd = -1;
	}
	if (proxy_fd >= 0 && !quiet)
		fprintf(stderr,
			"scopelock: TLS scopelock cannot read goes through the session's proxy "
			"(127.0.0.1:%d, blind_tls: proxy)\n",
			proxy_port);
	err = confine_child(fd, pair[0], session, json_object_get(reply, "confine"), proxy_fd,
			    proxy_port);
	if (proxy_fd >= 0)
		close(proxy_fd);
	proxy_fd = -1;
	if (err)
		goto abort_child;
	close(pair[0]);
	pair[0] = -1;
	do {
		n = read(errp[0], &child_errno, sizeof(child_errno));
	} while (n < 0 && errno == EINTR);
	watch.cli = cli;
	watch.session = session;
	watch.freeze = true;
	watch.grace_ms = 5000;
	snprintf(watch.cgroup, sizeof(watch.cgroup), "%s",
		 json_string_value(json_object_get(reply, "cgroup")) ?: "");
	absent_settings(&watch, reply);
	err = wait_child(child, pidfd, &fd, notify, &st, &status, &watch);
	/* the command is done: so is its proxy */
	if (alive[1] >= 0)
		close(alive[1]);
	alive[1] = -1;
	if (err) {
		log_err("run: waiting for the command: %s", strerror(-err));
		goto out;
	}
	g_child = 0;
	if (n == sizeof(child_errno)) {
		log_err("run: cannot execute '%s': %s", argv[optind], strerror(child_errno));
		ret = child_errno == ENOENT ? RUN_EXIT_NOTFOUND : RUN_EXIT_NOEXEC;
		if (WIFEXITED(status) && WEXITSTATUS(status) == RUN_EXIT_FAILED)
			ret = RUN_EXIT_FAILED;
		goto out;
	}
	if (st.killed) {
		fprintf(stderr,
			"scopelock: session %s was killed by scopelock: %s (exit status %d)\n",
			session, st.why, RUN_EXIT_KILLED);
		ret = RUN_EXIT_KILLED;
	} else if (WIFEXITED(status)) {
		ret = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		ret = 128 + WTERMSIG(status);
	}
	goto out;

abort_child:
	/* our own child, still blocked before exec: it never ran the command */
	kill(child, SIGKILL);
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	g_child = 0;
out:
	json_decref(req);
	json_decref(reply);
	for (int i = 0; i < 2; i++) {
		if (alive[i] >= 0)
			close(alive[i]);
		if (pair[i] >= 0)
			close(pair[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	if (proxy_fd >= 0)
		close(proxy_fd);
	if (fd >= 0)
		close(fd);
	return ret;
}
