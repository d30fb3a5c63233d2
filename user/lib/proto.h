/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Control protocol between scopelock and scopelockd: a unix SOCK_SEQPACKET
 * socket, one JSON object per message (docs/operations.md). Requests carry
 * "op"; replies carry "ok" (true/false) and "error" on failure. A file
 * descriptor (the pidfd of the process to place in a session) travels as
 * SCM_RIGHTS with the "run" request. `tail` replies with one message per
 * audit record (the record's JSON line) after its first {"ok":true}.
 */
#ifndef SL_PROTO_H
#define SL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <jansson.h>

#define SL_PROTO_MAX_MSG (1U << 20)

/* connect to the daemon; 0 or -errno (-ENOENT/-ECONNREFUSED: not running) */
int sl_proto_connect(const char *path, int *out_fd);
/* send one message (and fd if pass_fd >= 0); 0 or -errno */
int sl_proto_send(int fd, const json_t *msg, int pass_fd);
int sl_proto_send_raw(int fd, const char *buf, size_t len, int flags);
/*
 * receive one message; *msg new reference. *recv_fd (if not NULL) gets a
 * passed fd or -1. 0, -ECONNRESET on orderly close, -EBADMSG for a message
 * that is not a JSON object or was truncated, -errno otherwise.
 */
int sl_proto_recv(int fd, json_t **msg, int *recv_fd);
/*
 * sl_proto_recv, and the credentials the kernel attached to the message
 * (pid, uid, gid of the sending process; only when the receiving socket has
 * SO_PASSCRED): *have_sender says whether there were any.
 */
int sl_proto_recv_cred(int fd, json_t **msg, int *recv_fd, struct ucred *sender, bool *have_sender);
/* like sl_proto_recv but returns the raw text (malloc'd, NUL-terminated) */
int sl_proto_recv_raw(int fd, char **buf, size_t *len, int *recv_fd);

#endif
