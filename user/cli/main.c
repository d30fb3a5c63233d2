// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* scopelock: the command line client of scopelockd. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

static const char usage_text[] =
    "Usage: scopelock [--socket PATH] COMMAND [ARGS...]\n"
    "\n"
    "Run AI coding agents in kernel-monitored sessions and read what they did.\n"
    "\n"
    "Commands:\n"
    "  run      run a command in a new session with a declared scope\n"
    "  status   daemon state: kernel features, sessions, TLS coverage, losses\n"
    "  metrics  the daemon's counters for Prometheus (or node_exporter's textfile)\n"
    "  tail     show audit records as they are written\n"
    "  verify   check the hash chain of audit log files\n"
    "  replay   what a candidate policy would have decided on recorded sessions\n"
    "  report   a session's credential inventory: found where, sent where, decided what\n"
    "  policy   check or reload a policy\n"
    "  approve  let a held action proceed (root or the admin group)\n"
    "  deny     refuse a held action: its session is killed\n"
    "  end      end a running session by killing it (root or the admin group)\n"
    "  shutdown stop scopelockd and detach its enforcement (root or the admin group)\n"
    "  checkpoint-setup\n"
    "           create the key that seals the audit chain (forward-secure checkpoints)\n"
    "\n"
    "Options:\n"
    "  -s, --socket PATH   daemon control socket (default " SL_DEFAULT_SOCKET ")\n"
    "  -h, --help          this help; 'scopelock COMMAND --help' for a command\n"
    "  -V, --version       print the version\n"
    "\n"
    "Examples:\n"
    "  sudo scopelock run --scope staging --workspace ~/proj -- claude\n"
    "  scopelock status\n"
    "  scopelock tail --follow\n"
    "  scopelock verify /var/log/scopelock\n"
    "  scopelock verify --checkpoints /var/log/scopelock/checkpoints.jsonl \\\n"
    "      --verification-key-file ~/scopelock-vk /var/log/scopelock\n"
    "  scopelock policy check policies/default.yaml\n"
    "  scopelock replay --policy candidate.yaml /var/log/scopelock\n"
    "  scopelock tail --alerts --follow\n"
    "  sudo scopelock approve h1\n"
    "  sudo scopelock end --reason 'runaway agent' 3f9a0c12be7d4411\n"
    "\n"
    "Requests that change state (run, end, approve, deny, policy reload) are\n"
    "refused from inside any session and from a client the daemon could not\n"
    "identify; see docs/operations.md, \"The control socket\".\n";

static const struct {
	const char *name;
	int (*fn)(const struct sl_cli *cli, int argc, char **argv);
} commands[] = {
    {"run", cmd_run},		{"status", cmd_status},
    {"tail", cmd_tail},		{"verify", cmd_verify},
    {"policy", cmd_policy},	{"approve", cmd_approve},
    {"deny", cmd_deny},		{"end", cmd_end},
    {"shutdown", cmd_shutdown}, {"checkpoint-setup", cmd_checkpoint_setup},
    {"metrics", cmd_metrics},	{"replay", cmd_replay},
    {"report", cmd_report},
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	struct sl_cli cli = {.socket_path = SL_DEFAULT_SOCKET};
	int c;

	sl_log_set_ident("scopelock");
	/* '+': stop at the command name; its options are its own */
	while ((c = getopt_long(argc, argv, "+s:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!optarg[0]) {
				log_err("--socket: empty path");
				return 2;
			}
			cli.socket_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			puts("scopelock 0.1.0");
			return 0;
		default:
			fprintf(stderr, "Try 'scopelock --help'.\n");
			return 2;
		}
	}
	if (optind >= argc) {
		log_err("no command given");
		fprintf(stderr, "Try 'scopelock --help'.\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name))
			continue;
		argc -= optind;
		argv += optind;
		optind = 0; /* full getopt reset for the command */
		return commands[i].fn(&cli, argc, argv);
	}
	log_err("unknown command '%s'", argv[optind]);
	fprintf(stderr, "Try 'scopelock --help'.\n");
	return 2;
}
