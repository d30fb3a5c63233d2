// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

/*
 * mountinfo: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw"
 * fields 5 = mount point (octal escapes), after " - ": fstype.
 */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

int sl_cgroup2_find(FILE *mi, char **out)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, mi) > 0) {
		char *save = NULL, *tok, *mnt = NULL, *sep;
		int i = 0;

		sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		if (strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			if (++i == 5) {
				mnt = tok;
				break;
			}
		}
		if (!mnt)
			continue;
		unescape_octal(mnt);
		*out = strdup(mnt);
		return *out ? 0 : -ENOMEM;
	}
	return -ENOENT;
}

static int find_self(char **out)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int err;

	if (!f)
		return -errno;
	err = sl_cgroup2_find(f, out);
	fclose(f);
	return err;
}

int sl_cgroup2_mount(const char *fallback_dir, char **out)
{
	const char *target = fallback_dir;
	struct statfs sfs;
	int err;

	err = find_self(out);
	if (err != -ENOENT)
		return err;
	if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC)
		target = "/sys/fs/cgroup/unified";
	err = sl_mkdir_p(target, 0755);
	if (err)
		return err;
	if (mount("cgroup2", target, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return -errno;
	*out = strdup(target);
	return *out ? 0 : -ENOMEM;
}

int sl_cgroup_parse_v2(char *buf, char **out)
{
	char *line, *save = NULL, *found = NULL;

	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		/* a cgroup name holding a newline could forge a second line */
		if (found || line[3] != '/')
			return -EBADMSG;
		found = line + 3;
	}
	if (!found)
		return -ENOENT;
	*out = strdup(found);
	return *out ? 0 : -ENOMEM;
}

int sl_cgroup_of_pid(pid_t pid, char **out)
{
	char path[64];
	_cleanup_free_ char *buf = NULL;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	err = sl_read_file(path, 1 << 16, &buf, NULL);
	if (err)
		return err;
	return sl_cgroup_parse_v2(buf, out);
}

int sl_cgroup_id(const char *dir, uint64_t *out)
{
	struct stat st;

	if (stat(dir, &st))
		return -errno;
	*out = (uint64_t)st.st_ino;
	return 0;
}

unsigned int sl_cgroup_level(const char *rel)
{
	unsigned int n = 0;

	for (const char *p = rel; *p; p++) {
		if (*p != '/' && (p == rel || p[-1] == '/'))
			n++;
	}
	return n;
}
