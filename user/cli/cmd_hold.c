// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* scopelock approve ID / scopelock deny ID: decide a held action. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "log.h"

static const char usage_fmt[] =
    "Usage: scopelock %s [--reason TEXT] HOLD_ID\n"
    "\n"
    "%s\n"
    "Only root or members of the policy's admin_group may decide, and never from\n"
    "inside a session. Who decided, and why, is written to the audit log.\n"
    "Pending holds are listed by 'scopelock status' and 'scopelock tail --alerts'.\n"
    "\n"
    "Options:\n"
    "  -r, --reason TEXT   why (recorded with the decision)\n"
    "  -h, --help          this help\n"
    "\n"
    "Examples:\n"
    "  sudo scopelock %s h1\n"
    "  sudo scopelock %s --reason 'ticket OPS-1234' h3\n";

static int decide(const struct sl_cli *cli, int argc, char **argv, bool approve)
{
	static const struct option longopts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *cmd = approve ? "approve" : "deny";
	const char *what = approve ? "Let the held action of HOLD_ID proceed and thaw its session."
				   : "Refuse the held action of HOLD_ID: its session is killed.";
	const char *reason = NULL;
	json_t *req, *reply = NULL;
	int c, err;

	while ((c = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			reason = optarg;
			break;
		case 'h':
			printf(usage_fmt, cmd, what, cmd, cmd);
			return 0;
		default:
			fprintf(stderr, "Try 'scopelock %s --help'.\n", cmd);
			return 2;
		}
	}
	if (optind >= argc) {
		log_err("%s: missing HOLD_ID (see 'scopelock status')", cmd);
		return 2;
	}
	if (optind + 1 < argc) {
		log_err("%s: unexpected argument '%s' (one HOLD_ID at a time)", cmd,
			argv[optind + 1]);
		return 2;
	}
	if (strlen(argv[optind]) > 20) {
		log_err("%s: '%s' is not a hold id", cmd, argv[optind]);
		return 2;
	}
	req = json_pack("{s:s, s:s}", "op", cmd, "id", argv[optind]);
	if (!req)
		return 1;
	if (reason)
		json_object_set_new(req, "reason", json_string(reason));
	err = sl_client_call(cli, cmd, req, &reply);
	json_decref(req);
	if (err)
		return 1;
	printf("%s: hold %s %s\n", cmd, argv[optind],
	       approve ? "approved: the action proceeds" : "denied: the session was killed");
	json_decref(reply);
	return 0;
}

int cmd_approve(const struct sl_cli *cli, int argc, char **argv)
{
	return decide(cli, argc, argv, true);
}

int cmd_deny(const struct sl_cli *cli, int argc, char **argv)
{
	return decide(cli, argc, argv, false);
}
