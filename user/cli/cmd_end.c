// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* scopelock end [--reason TEXT] SESSION: end a running session by killing it. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "log.h"
#include "proto.h"

#define SESSION_ID_LEN 16
#define REASON_MAX 1024

static const char usage_text[] =
    "Usage: scopelock end [--reason TEXT] SESSION\n"
    "\n"
    "End the running session SESSION (its 16 hex digit id, as 'scopelock status'\n"
    "and 'scopelock run' show it): every process in it is killed at once\n"
    "(cgroup.kill), frozen ones too, and its pending holds are denied.\n"
    "Only root or members of the policy's admin_group may end a session, and\n"
    "never from inside a session. Who ended it, and why, is written to the\n"
    "audit log (session_killed, then session_end once the cgroup is empty).\n"
    "\n"
    "Options:\n"
    "  -r, --reason TEXT   why (recorded; at most 1024 bytes)\n"
    "  -h, --help          this help\n"
    "\n"
    "Exit status: 0 the session was killed, 1 refused or failed, 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  sudo scopelock end 3f9a0c12be7d4411\n"
    "  sudo scopelock end --reason 'agent looping on the prod API' 3f9a0c12be7d4411\n";

static bool is_session_id(const char *s)
{
	if (strlen(s) != SESSION_ID_LEN)
		return false;
	return strspn(s, "0123456789abcdef") == SESSION_ID_LEN;
}

int cmd_end(const struct sl_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *reason = NULL;
	json_t *req, *reply = NULL;
	int c, err;

	while ((c = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			reason = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'scopelock end --help'.\n");
			return 2;
		}
	}
	if (optind >= argc) {
		log_err("end: missing SESSION (see 'scopelock status')");
		return 2;
	}
	if (optind + 1 < argc) {
		log_err("end: unexpected argument '%s' (one SESSION at a time)", argv[optind + 1]);
		return 2;
	}
	if (!is_session_id(argv[optind])) {
		log_err("end: '%s' is not a session id (16 lowercase hex digits; see 'scopelock "
			"status')",
			argv[optind]);
		return 2;
	}
	if (reason && strlen(reason) > REASON_MAX) {
		log_err("end: --reason: longer than %d bytes", REASON_MAX);
		return 2;
	}
	req = json_pack("{s:s, s:s}", "op", "end", "session", argv[optind]);
	if (!req)
		return 1;
	if (reason && json_object_set_new(req, "reason", json_string(reason))) {
		log_err("end: --reason: not valid UTF-8 text");
		json_decref(req);
		return 2;
	}
	err = sl_client_call(cli, "end", req, &reply);
	json_decref(req);
	if (err)
		return 1;
	printf("end: session %s killed\n", argv[optind]);
	json_decref(reply);
	return 0;
}

static const char shutdown_usage[] =
    "Usage: scopelock shutdown [--no-wait]\n"
    "\n"
    "Stop scopelockd and detach its enforcement: the BPF programs and maps it\n"
    "pinned are removed, pending holds are denied, sessions still running are\n"
    "no longer monitored or enforced. This is the only way to stop enforcing\n"
    "while the daemon runs: SIGTERM (systemctl stop), a crash or SIGKILL leave\n"
    "the enforcement in the kernel for the next scopelockd to adopt\n"
    "(docs/operations.md). Root or the policy's admin_group, from outside every\n"
    "session. Waits until the daemon has exited (at most 60 s).\n"
    "\n"
    "Options:\n"
    "  --no-wait     return once the daemon accepted the request\n"
    "  -h, --help    this help\n"
    "\n"
    "Exit status: 0 stopped, 1 refused or failed (or still running after 60 s),\n"
    "2 usage error.\n"
    "\n"
    "Examples:\n"
    "  sudo scopelock shutdown\n"
    "  sudo scopelock --socket /tmp/sl/sock shutdown\n";

int cmd_shutdown(const struct sl_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"no-wait", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	json_t *req, *reply = NULL;
	bool wait = true;
	int c, err;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			wait = false;
			break;
		case 'h':
			fputs(shutdown_usage, stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'scopelock shutdown --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		log_err("shutdown: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	req = json_pack("{s:s}", "op", "shutdown");
	if (!req)
		return 1;
	err = sl_client_call(cli, "shutdown", req, &reply);
	json_decref(req);
	json_decref(reply);
	if (err)
		return 1;
	/* gone once nothing listens on the socket any more */
	for (int i = 0; wait && i < 600; i++) {
		int fd;

		if (sl_proto_connect(cli->socket_path, &fd))
			wait = false;
		else
			close(fd);
		if (wait)
			usleep(100000);
	}
	if (wait) {
		log_err("shutdown: scopelockd still answers after 60 s");
		return 1;
	}
	printf("shutdown: scopelockd stopped, enforcement detached\n");
	return 0;
}
