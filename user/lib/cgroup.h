/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef SL_CGROUP_H
#define SL_CGROUP_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* cgroup xattr that marks a session cgroup (any daemon instance) */
#define SL_SESSION_XATTR "trusted.scopelock.session"

/*
 * Mount point of the cgroup v2 hierarchy from a mountinfo stream (the first
 * cgroup2 entry). *out malloc'd. 0, -ENOENT (no cgroup2 mount) or -errno.
 */
int sl_cgroup2_find(FILE *mountinfo, char **out);
/* as above from /proc/self/mountinfo, mounting one if there is none:
 * at /sys/fs/cgroup/unified when /sys/fs/cgroup is a tmpfs of controllers,
 * else at fallback_dir. */
int sl_cgroup2_mount(const char *fallback_dir, char **out);
/* cgroup v2 path of a process ("/a/b", relative to the v2 root); malloc'd */
int sl_cgroup_of_pid(pid_t pid, char **out);
/*
 * The v2 path from the text of /proc/PID/cgroup (buf is modified): exactly
 * one "0::/..." line, else -ENOENT (none) or -EBADMSG (several, or not a
 * path: a name with a newline in it trying to forge one).
 */
int sl_cgroup_parse_v2(char *buf, char **out);
/* the id BPF's bpf_get_current_cgroup_id() returns for this cgroup dir */
int sl_cgroup_id(const char *dir, uint64_t *out);
/* number of components in a v2-relative path ("/" = 0, "/a/b" = 2) */
unsigned int sl_cgroup_level(const char *rel);

#endif
