// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A fake kernel for the control peer check: see fake_peer.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_peer.h"

struct fake_kernel F;

void fake_reset(void)
{
	memset(&F, 0, sizeof(F));
	F.cred = (struct ucred){.pid = 4711, .uid = 1000, .gid = 1000};
	F.cred_len = sizeof(struct ucred);
	F.pidfd_pid = 4711;
	F.pidfd_open_ret = FAKE_PIDFD + 1;
	F.cgroup_text = "12:cpu,cpuacct:/user.slice\n1:name=systemd:/user.slice\n0::/user.slice\n";
	F.xattr_default = -ENODATA;
	F.groups[0] = 27;
	F.groups[1] = 100;
	F.ngroups = 2;
	F.now_ns = 1000000000000ULL;
	F.start_ns = 999000000000ULL;
}

static int fake_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	switch (name) {
	case SO_PEERCRED:
		if (F.cred_err)
			return F.cred_err;
		memcpy(val, &F.cred, sizeof(F.cred));
		*len = F.cred_len;
		return 0;
	case SO_PEERGROUPS:
		if (F.groups_err)
			return F.groups_err;
		if (*len < F.ngroups * sizeof(gid_t)) {
			*len = F.ngroups * sizeof(gid_t);
			return -ERANGE;
		}
		memcpy(val, F.groups, F.ngroups * sizeof(gid_t));
		*len = F.ngroups * sizeof(gid_t);
		return 0;
	case SO_PEERPIDFD:
		if (F.peerpidfd_err)
			return F.peerpidfd_err;
		*(int *)val = FAKE_PIDFD;
		*len = sizeof(int);
		return 0;
	}
	return -ENOPROTOOPT;
}

static int fake_pidfd_open(pid_t pid)
{
	F.pidfd_open_calls++;
	return F.pidfd_open_ret;
}

static int fake_pidfd_pid(int pidfd, pid_t *pid)
{
	if (F.pidfd_pid_err)
		return F.pidfd_pid_err;
	*pid = F.pidfd_pid;
	return 0;
}

static int fake_pidfd_alive(int pidfd)
{
	return F.alive_err;
}

static int fake_start_time_ns(pid_t pid, uint64_t *ns)
{
	if (F.start_err)
		return F.start_err;
	*ns = F.start_ns;
	return 0;
}

static int fake_read_cgroup(pid_t pid, char **buf)
{
	if (F.cgroup_err)
		return F.cgroup_err;
	*buf = strdup(F.cgroup_text);
	return *buf ? 0 : -ENOMEM;
}

static ssize_t fake_getxattr(const char *path, const char *name, void *val, size_t len)
{
	for (size_t i = 0; i < sizeof(F.xattrs) / sizeof(F.xattrs[0]) && F.xattrs[i].path; i++) {
		if (strcmp(path, F.xattrs[i].path))
			continue;
		if (!F.xattrs[i].value)
			return F.xattrs[i].err;
		if (strlen(F.xattrs[i].value) > len)
			return -ERANGE;
		memcpy(val, F.xattrs[i].value, strlen(F.xattrs[i].value));
		return (ssize_t)strlen(F.xattrs[i].value);
	}
	return F.xattr_default;
}

static uint64_t fake_boottime_ns(void)
{
	return F.now_ns;
}

static int fake_close(int fd)
{
	if (F.nclosed < 8)
		F.closed[F.nclosed++] = fd;
	return 0;
}

const struct sl_peer_sys fake_sys = {
    .getsockopt = fake_getsockopt,
    .pidfd_open = fake_pidfd_open,
    .pidfd_pid = fake_pidfd_pid,
    .pidfd_alive = fake_pidfd_alive,
    .start_time_ns = fake_start_time_ns,
    .read_cgroup = fake_read_cgroup,
    .getxattr = fake_getxattr,
    .boottime_ns = fake_boottime_ns,
    .close = fake_close,
};

const struct sl_peer_env env = {
    .cg_root = ROOT,
    .xattr = "trusted.scopelock.session",
    .own_parent_rel = "/scopelock",
};