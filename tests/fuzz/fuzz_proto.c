// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: the control protocol's receiving side (user/lib/proto.h)
 * on arbitrary messages. The input goes as one SOCK_SEQPACKET message over a
 * socketpair whose receiving end has SO_PASSCRED (as the daemon's), once
 * with an fd attached (SCM_RIGHTS, as a run request carries); sl_proto_recv
 * must return a JSON object or an error, never crash or leak, and the
 * attached fd must be closed or returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size, bool with_fd)
{
	int sv[2], one = 1, got = -1;
	struct ucred cred;
	bool have = false;
	json_t *m = NULL;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		abort();
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	if (size > SL_PROTO_MAX_MSG)
		size = SL_PROTO_MAX_MSG;
	if (with_fd) {
		char cbuf[CMSG_SPACE(sizeof(int))] = {0};
		struct iovec iov = {.iov_base = (void *)data, .iov_len = size};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (nul < 0)
			abort();
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &nul, sizeof(int));
		if (sendmsg(sv[0], &mh, 0) < 0 && size)
			abort();
		close(nul);
	} else if (send(sv[0], data, size, 0) < 0 && size) {
		abort();
	}
	close(sv[0]);
	if (sl_proto_recv_cred(sv[1], &m, &got, &cred, &have) == 0) {
		if (!json_is_object(m))
			abort();
		json_decref(m);
	}
	if (got >= 0)
		close(got);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, false);
	one(data, size, true);
	return 0;
}
