// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * scopelock run: fork the command, have the daemon place the child (passed
 * as a pidfd) in a new session cgroup, then let it exec. The command keeps
 * the caller's environment, cwd, terminal and stdin; the exit status is the
 * command's (128+N when it died of signal N).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "jsonbytes.h"
#include "log.h"
#include "proto.h"

/* exit statuses of run itself (as env(1) and container runners use them) */
#define RUN_EXIT_FAILED 125   /* the session could not be started */
#define RUN_EXIT_NOEXEC 126   /* command found but not executable */
#define RUN_EXIT_NOTFOUND 127 /* command not found */

static const char usage_text[] =
    "Usage: scopelock run --scope ENV [OPTIONS] -- COMMAND [ARGS...]\n"
    "\n"
    "Run COMMAND in a new scopelock session: a cgroup every descendant stays in,\n"
    "whose execs, file opens, connects and TLS plaintext are recorded by the kernel\n"
    "side of scopelockd. COMMAND keeps your environment, working directory,\n"
    "terminal and stdin. SCOPELOCK_SESSION is set to the session id.\n"
    "\n"
    "Options:\n"
    "  -e, --scope ENV        the environment the session works on (required),\n"
    "                         e.g. staging\n"
    "  -w, --workspace DIR    the session's workspace directory (recorded)\n"
    "  -u, --user USER        run COMMAND as USER (default: you, or SUDO_USER when\n"
    "                         run through sudo); needs root for another user\n"
    "  -n, --name NAME        a label for the session\n"
    "  -q, --quiet            do not print the session id on stderr\n"
    "  -h, --help             this help\n"
    "\n"
    "Exit status: COMMAND's; 128+N if it was killed by signal N; 125 if the session\n"
    "could not be started; 126 if COMMAND is not executable; 127 if not found.\n"
    "\n"
    "Examples:\n"
    "  sudo scopelock run --scope staging --workspace ~/api -- claude\n"
    "  scopelock run --scope staging --name fix-1234 -- bash -c 'make test'\n"
    "  sudo scopelock run --scope staging --user agent -- codex exec 'fix the build'\n";

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

static volatile sig_atomic_t g_child;

static void forward_signal(int sig)
{
	if (g_child > 0)
		kill(g_child, sig);
}

static void child_main(int go_fd, int err_fd, const struct passwd *pw, bool switch_user, char **cmd)
{
	char id[64] = "";
	ssize_t n;
	int e;

	do {
		n = read(go_fd, id, sizeof(id) - 1);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		_exit(RUN_EXIT_FAILED); /* the parent gave up: never run unmonitored */
	id[n] = '\0';
	close(go_fd);
	setenv("SCOPELOCK_SESSION", id, 1);
	if (switch_user) {
		if (initgroups(pw->pw_name, pw->pw_gid) || setgid(pw->pw_gid) ||
		    setuid(pw->pw_uid)) {
			e = errno;
			(void)!write(err_fd, &e, sizeof(e));
			_exit(RUN_EXIT_FAILED);
		}
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	execvp(cmd[0], cmd);
	e = errno;
	(void)!write(err_fd, &e, sizeof(e));
	_exit(e == ENOENT ? RUN_EXIT_NOTFOUND : RUN_EXIT_NOEXEC);
}

int cmd_run(const struct sl_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"scope", required_argument, NULL, 'e'},
	    {"workspace", required_argument, NULL, 'w'},
	    {"user", required_argument, NULL, 'u'},
	    {"name", required_argument, NULL, 'n'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *scope = NULL, *workspace = NULL, *user = NULL, *name = NULL;
	char wsbuf[PATH_MAX], cwd[PATH_MAX];
	int go[2] = {-1, -1}, errp[2] = {-1, -1};
	int fd = -1, pidfd = -1, c, err, status, child_errno = 0;
	bool quiet = false, switch_user;
	struct passwd *pw;
	json_t *req = NULL, *reply = NULL;
	const char *session;
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
		case 'q':
			quiet = true;
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
	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		log_err("run: pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	child = fork();
	if (child < 0) {
		log_err("run: fork: %s", strerror(errno));
		goto out;
	}
	if (child == 0) {
		close(fd);
		close(go[1]);
		close(errp[0]);
		child_main(go[0], errp[1], pw, switch_user, argv + optind);
	}
	g_child = child;
	close(go[0]);
	go[0] = -1;
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
	err = sl_proto_send(fd, req, pidfd);
	if (!err)
		err = sl_proto_recv(fd, &reply, NULL);
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
	if (write(go[1], session, strlen(session)) < 0) {
		log_err("run: start the command: %s", strerror(errno));
		goto abort_child;
	}
	close(go[1]);
	go[1] = -1;
	do {
		n = read(errp[0], &child_errno, sizeof(child_errno));
	} while (n < 0 && errno == EINTR);
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			log_err("run: waitpid: %s", strerror(errno));
			goto out;
		}
	}
	g_child = 0;
	if (n == sizeof(child_errno)) {
		log_err("run: cannot execute '%s': %s", argv[optind], strerror(child_errno));
		ret = child_errno == ENOENT ? RUN_EXIT_NOTFOUND : RUN_EXIT_NOEXEC;
		if (WIFEXITED(status) && WEXITSTATUS(status) == RUN_EXIT_FAILED)
			ret = RUN_EXIT_FAILED;
		goto out;
	}
	if (WIFEXITED(status))
		ret = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		ret = 128 + WTERMSIG(status);
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
		if (go[i] >= 0)
			close(go[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	if (fd >= 0)
		close(fd);
	return ret;
}
