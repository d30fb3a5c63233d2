/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef SL_CLIENT_H
#define SL_CLIENT_H

#include <jansson.h>

#include "cli.h"

/*
 * Connect to the daemon; on failure print a precise message (daemon not
 * running, permission refused, ...) prefixed with cmd and return -errno.
 */
int sl_client_connect(const struct sl_cli *cli, const char *cmd, int *fd);
/* one request, one reply; prints the daemon's error and returns -EPROTO when
 * the reply says ok:false */
int sl_client_call(const struct sl_cli *cli, const char *cmd, json_t *req, json_t **reply);

#endif
