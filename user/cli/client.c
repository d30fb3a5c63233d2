// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "proto.h"

int sl_client_connect(const struct sl_cli *cli, const char *cmd, int *fd)
{
	int err = sl_proto_connect(cli->socket_path, fd);

	switch (err) {
	case 0:
		return 0;
	case -ENOENT:
	case -ECONNREFUSED:
		log_err("%s: scopelockd is not running (no daemon listening on '%s'); start it "
			"with 'scopelockd' or pass --socket",
			cmd, cli->socket_path);
		break;
	case -EACCES:
	case -EPERM:
		log_err("%s: permission refused on '%s': the control socket is for root and "
			"the socket group (scopelockd --socket-group)",
			cmd, cli->socket_path);
		break;
	default:
		log_err("%s: connect to '%s': %s", cmd, cli->socket_path, strerror(-err));
	}
	return err;
}

int sl_client_call(const struct sl_cli *cli, const char *cmd, json_t *req, json_t **reply)
{
	json_t *r = NULL;
	int fd, err;

	err = sl_client_connect(cli, cmd, &fd);
	if (err)
		return err;
	err = sl_proto_send(fd, req, -1);
	if (!err)
		err = sl_proto_recv(fd, &r, NULL);
	close(fd);
	if (err) {
		log_err("%s: talking to scopelockd: %s", cmd,
			err == -ECONNRESET ? "daemon closed the connection" : strerror(-err));
		return err;
	}
	if (!json_is_true(json_object_get(r, "ok"))) {
		const char *msg = json_string_value(json_object_get(r, "error"));

		log_err("%s: %s", cmd, msg ? msg : "request failed");
		json_decref(r);
		return -EPROTO;
	}
	*reply = r;
	return 0;
}
