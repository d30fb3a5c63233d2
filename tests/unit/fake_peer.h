/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A fake kernel for the control peer check (user/lib/peer.h): every answer
 * of struct sl_peer_sys comes from F, which a test sets up (fake_reset gives
 * a live process of uid 1000 outside every session, identified by
 * SO_PEERPIDFD). Used by test_peer.c and test_control.c.
 */
#ifndef SL_TEST_FAKE_PEER_H
#define SL_TEST_FAKE_PEER_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "peer.h"

#define ROOT "/cg"
#define FAKE_PIDFD 42

struct fake_xattr {
	const char *path;
	const char *value; /* NULL: err */
	int err;
};

struct fake_kernel {
	int cred_err;
	struct ucred cred;
	socklen_t cred_len;
	int groups_err;
	gid_t groups[80];
	size_t ngroups;
	int peerpidfd_err;
	int pidfd_pid_err;
	pid_t pidfd_pid;
	int pidfd_open_ret;
	int start_err;
	uint64_t start_ns;
	uint64_t now_ns;
	const char *cgroup_text;
	int cgroup_err;
	int alive_err;
	struct fake_xattr xattrs[8];
	int xattr_default; /* for paths not in xattrs: -ENODATA */
	int closed[8];
	int nclosed;
	int pidfd_open_calls;
};

extern struct fake_kernel F;
extern const struct sl_peer_sys fake_sys;
/* cg_root ROOT, the session xattr, own parent "/scopelock" */
extern const struct sl_peer_env env;

void fake_reset(void);

#endif
