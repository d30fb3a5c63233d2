// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"
#include "util.h"

int sl_proto_connect(const char *path, int *out_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	*out_fd = fd;
	return 0;
}

int sl_proto_send_raw(int fd, const char *buf, size_t len, int flags)
{
	ssize_t n;

	if (len > SL_PROTO_MAX_MSG)
		return -EMSGSIZE;
	do {
		n = send(fd, buf, len, MSG_NOSIGNAL | flags);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int sl_proto_send(int fd, const json_t *msg, int pass_fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct msghdr mh = {0};
	struct iovec iov;
	struct cmsghdr *cm;
	_cleanup_free_ char *text = json_dumps(msg, JSON_COMPACT);
	ssize_t n;

	if (!text)
		return -ENOMEM;
	if (pass_fd < 0)
		return sl_proto_send_raw(fd, text, strlen(text), 0);
	iov.iov_base = text;
	iov.iov_len = strlen(text);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == iov.iov_len ? 0 : -EIO;
}

/* SCM_PIDFD (Linux 6.5) carries a descriptor too: never leak one */
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

static int recv_msg(int fd, char **out, size_t *out_len, int *recv_fd, struct ucred *cred,
		    bool *have_cred)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4) + CMSG_SPACE(sizeof(struct ucred)) +
		  CMSG_SPACE(sizeof(int))] __attribute__((aligned(__alignof__(struct cmsghdr))));
	_cleanup_free_ char *buf = malloc(SL_PROTO_MAX_MSG + 1);
	struct msghdr mh = {0};
	struct cmsghdr *cm;
	struct iovec iov;
	int got_fd = -1;
	ssize_t n;

	if (recv_fd)
		*recv_fd = -1;
	if (have_cred)
		*have_cred = false;
	if (!buf)
		return -ENOMEM;
	iov.iov_base = buf;
	iov.iov_len = SL_PROTO_MAX_MSG;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	/* EINTR is returned: a caller waiting for records must see its signals */
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			if (cred && have_cred) {
				memcpy(cred, CMSG_DATA(cm), sizeof(*cred));
				*have_cred = true;
			}
			continue;
		}
		if (cm->cmsg_type != SCM_RIGHTS && cm->cmsg_type != SCM_PIDFD)
			continue;
		size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fds[4];

		if (nfds > SL_ARRAY_SIZE(fds))
			nfds = SL_ARRAY_SIZE(fds);
		memcpy(fds, CMSG_DATA(cm), nfds * sizeof(int));
		for (size_t i = 0; i < nfds; i++) {
			if (cm->cmsg_type == SCM_RIGHTS && got_fd < 0 && recv_fd)
				got_fd = fds[i];
			else
				close(fds[i]);
		}
	}
	if (n == 0) {
		if (got_fd >= 0)
			close(got_fd);
		return -ECONNRESET;
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		if (got_fd >= 0)
			close(got_fd);
		return -EBADMSG;
	}
	buf[n] = '\0';
	*out = SL_TAKE_PTR(buf);
	if (out_len)
		*out_len = (size_t)n;
	if (recv_fd)
		*recv_fd = got_fd;
	return 0;
}

int sl_proto_recv_raw(int fd, char **out, size_t *out_len, int *recv_fd)
{
	return recv_msg(fd, out, out_len, recv_fd, NULL, NULL);
}

int sl_proto_recv_cred(int fd, json_t **msg, int *recv_fd, struct ucred *sender, bool *have_sender)
{
	_cleanup_free_ char *buf = NULL;
	json_error_t jerr;
	size_t len;
	json_t *m;
	int err;

	err = recv_msg(fd, &buf, &len, recv_fd, sender, have_sender);
	if (err)
		return err;
	m = json_loadb(buf, len, 0, &jerr);
	if (!m || !json_is_object(m)) {
		json_decref(m);
		if (recv_fd && *recv_fd >= 0) {
			close(*recv_fd);
			*recv_fd = -1;
		}
		return -EBADMSG;
	}
	*msg = m;
	return 0;
}

int sl_proto_recv(int fd, json_t **msg, int *recv_fd)
{
	return sl_proto_recv_cred(fd, msg, recv_fd, NULL, NULL);
}
