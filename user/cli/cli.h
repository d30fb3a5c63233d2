/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef SL_CLI_H
#define SL_CLI_H

#define SL_DEFAULT_SOCKET "/run/scopelock/scopelock.sock"
/* scopelockd's default --checkpoint-key */
#define SL_CLI_DEFAULT_CHECKPOINT_KEY "/var/lib/scopelock/checkpoint.key"

struct sl_cli {
	const char *socket_path; /* --socket, or SL_DEFAULT_SOCKET */
};

/*
 * One function per command. argv[0] is the command name ("run", "verify",
 * ...), the rest its own arguments (parse with getopt_long, optind reset by
 * the dispatcher). Return the process exit status: 0 success, 1 a negative
 * result (verify found tampering, policy check found errors), 2 usage
 * errors, or as the command documents.
 */
int cmd_run(const struct sl_cli *cli, int argc, char **argv);
int cmd_status(const struct sl_cli *cli, int argc, char **argv);
int cmd_tail(const struct sl_cli *cli, int argc, char **argv);
int cmd_verify(const struct sl_cli *cli, int argc, char **argv);
int cmd_policy(const struct sl_cli *cli, int argc, char **argv);
int cmd_approve(const struct sl_cli *cli, int argc, char **argv);
int cmd_deny(const struct sl_cli *cli, int argc, char **argv);
int cmd_end(const struct sl_cli *cli, int argc, char **argv);
int cmd_shutdown(const struct sl_cli *cli, int argc, char **argv);
int cmd_checkpoint_setup(const struct sl_cli *cli, int argc, char **argv);
int cmd_metrics(const struct sl_cli *cli, int argc, char **argv);
int cmd_replay(const struct sl_cli *cli, int argc, char **argv);
int cmd_report(const struct sl_cli *cli, int argc, char **argv);

#endif
