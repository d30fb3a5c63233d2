/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Labels by identity: the files and directories a policy's path labels name,
 * resolved on this host to (device, inode) for sl_inode_labels
 * (include/scopelock_policy.h). The daemon resolves them when a policy is
 * put in force and again every few seconds (a labelled directory created or
 * replaced later).
 */
#ifndef SL_POLICY_INODES_H
#define SL_POLICY_INODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct sl_cinode {
	uint64_t ino;
	uint32_t dev; /* kernel dev_t: major << 20 | minor */
	uint32_t _pad;
	uint64_t env; /* union of the labels naming this file or directory */
};

/*
 * Resolve: an exact label, the file or directory it names; a label "DIR"
 * followed by "/" and "**", the directory and every regular file below it
 * (same file system, symbolic links not followed: a hard link to one of
 * them elsewhere keeps the label); any other glob that ends in "/" and "**"
 * (a wildcard in a component before it), the same for every directory
 * glob(3) finds for the part before it; a glob without "**", every file
 * (not directory) glob(3) finds for it now ('*' also a leading '.'); globs
 * with "**" before their last component nothing (by path). Symbolic links are followed
 * (the label names what the path leads to). Labels that do not exist now are skipped. At most max
 * entries (*truncated: more existed). 0, -ENOMEM.
 */
int sl_policy_resolve_inodes(const struct sl_policy *p, uint32_t max, struct sl_cinode **out,
			     uint32_t *n, bool *truncated);

#endif
