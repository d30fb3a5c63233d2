// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* scopelock end [--reason TEXT] SESSION: end a running session by killing it. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "log.h"

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
