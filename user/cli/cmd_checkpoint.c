// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * scopelock checkpoint-setup [--key FILE] [--force]: create the forward-secure
 * key scopelockd seals the audit chain's head with (user/lib/checkpoint.h)
 * and print its verification key, once.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "checkpoint.h"
#include "cli.h"
#include "util.h"

static const char setup_usage[] =
    "Usage: scopelock checkpoint-setup [--key FILE] [--force]\n"
    "\n"
    "Create the key scopelockd seals the audit chain's head with (a checkpoint at\n"
    "start, every --checkpoint-interval seconds and at stop, written to the\n"
    "checkpoints file and syslog), and print its verification key.\n"
    "\n"
    "The key is forward-secure: after each checkpoint it is replaced by the next\n"
    "epoch's key and the old one is overwritten. Someone who takes the host (root\n"
    "included) can seal checkpoints from then on, but cannot forge or alter one\n"
    "sealed before: cutting the log's tail, rewriting records and recomputing the\n"
    "chain, or removing the oldest segments no longer verify against them.\n"
    "\n"
    "The verification key is printed once, on standard output. Keep it OFF this\n"
    "host (a password manager, the security team's vault): it derives every\n"
    "epoch's key. 'scopelock verify --checkpoints FILE --verification-key KEY'\n"
    "checks a log with it.\n"
    "\n"
    "Options:\n"
    "      --key FILE   the key file (default " SL_CLI_DEFAULT_CHECKPOINT_KEY "),\n"
    "                   created 0600; its directory is created 0700 if missing\n"
    "      --force      replace an existing key file (checkpoints sealed with the\n"
    "                   old key verify only with the old verification key)\n"
    "  -h, --help       this help\n"
    "\n"
    "Exit status: 0 created, 1 not created (the reason is printed), 2 usage error.\n"
    "\n"
    "EXAMPLES\n"
    "  sudo scopelock checkpoint-setup > /dev/tty\n"
    "      create the default key; copy the printed verification key off the host\n"
    "  sudo scopelock checkpoint-setup --key /etc/credstore/scopelock-checkpoint.key\n"
    "  scopelockd --checkpoint-key /etc/credstore/scopelock-checkpoint.key \\\n"
    "      --checkpoint-interval 30\n";

int cmd_checkpoint_setup(const struct sl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *path = SL_CLI_DEFAULT_CHECKPOINT_KEY;
	uint8_t vk[SL_CKPT_KEY_LEN];
	char dir[4096];
	bool force = false;
	int c, err;

	(void)cli;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			path = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			fputs(setup_usage, stdout);
			return 0;
		default:
			fprintf(stderr,
				"scopelock: checkpoint-setup: unknown or misused option '%s'\n"
				"Try 'scopelock checkpoint-setup --help'.\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"scopelock: checkpoint-setup: unexpected argument '%s'\n"
			"Try 'scopelock checkpoint-setup --help'.\n",
			argv[optind]);
		return 2;
	}
	if (!path[0] || strlen(path) >= sizeof(dir)) {
		fprintf(stderr, "scopelock: checkpoint-setup: --key: give a file name\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	err = sl_mkdir_p(dirname(dir), 0700);
	if (err) {
		fprintf(stderr, "scopelock: checkpoint-setup: create the directory of '%s': %s\n",
			path, strerror(-err));
		return 1;
	}
	err = sl_ckpt_key_create(path, force, vk);
	if (err == -EEXIST) {
		fprintf(stderr,
			"scopelock: checkpoint-setup: '%s' exists: the daemon may be sealing with "
			"it; give --force to replace it (its checkpoints then verify only with the "
			"old verification key)\n",
			path);
		return 1;
	}
	if (err) {
		fprintf(stderr, "scopelock: checkpoint-setup: create '%s': %s\n", path,
			strerror(-err));
		return 1;
	}
	printf("verification key: ");
	for (size_t i = 0; i < sizeof(vk); i++)
		printf("%02x", vk[i]);
	printf("\n");
	OPENSSL_cleanse(vk, sizeof(vk));
	fprintf(stderr,
		"scopelock: key file '%s' created (epoch 0). Keep the verification key above off "
		"this host; check a log with\n  scopelock verify --checkpoints CHECKPOINTS "
		"--verification-key KEY AUDIT_DIR\n",
		path);
	return 0;
}
