/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * scopelockd's constants every room may use (no state, no functions): the
 * version, the default paths, the length of a session id. Each room's door
 * is its own header (docs/architecture.md); struct sl_daemon, the context
 * main.c owns, is in main.c.
 */
#ifndef SL_DAEMON_H
#define SL_DAEMON_H

#define SL_VERSION "0.1.0"
#define SL_DEFAULT_SOCKET "/run/scopelock/scopelock.sock"
#define SL_DEFAULT_AUDIT_DIR "/var/log/scopelock"
#define SL_DEFAULT_STATE_DIR "/run/scopelock"
/* the checkpoint sealing key: not in the audit directory */
#define SL_DEFAULT_CHECKPOINT_KEY "/var/lib/scopelock/checkpoint.key"
#ifndef SL_DEFAULT_POLICY /* set by the Makefile from PREFIX */
#define SL_DEFAULT_POLICY "/usr/local/share/scopelock/policies/default.yaml"
#endif
/* hex digits of a session id */
#define SL_SESSION_ID_LEN 16

#endif
