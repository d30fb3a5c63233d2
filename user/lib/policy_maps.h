/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Writing a compiled policy (policy_compile.h) into the BPF maps of
 * include/scopelock_policy.h, given their fds: one slot's tables, then the
 * flip that puts the slot in force. Used by the daemon and by the tests that
 * check the kernel's decisions against the reference (tests/kernel/).
 */
#ifndef SL_POLICY_MAPS_H
#define SL_POLICY_MAPS_H

#include <stddef.h>
#include <stdint.h>

#include "policy_compile.h"
#include "policy_inodes.h"

struct sl_policy_map_fds {
	int ac;		  /* sl_ac */
	int patterns;	  /* sl_patterns */
	int rules;	  /* sl_rules */
	int path_labels;  /* sl_path_labels */
	int ip_labels;	  /* sl_ip_labels */
	int host_labels;  /* sl_host_labels */
	int hdr;	  /* sl_policy_hdr */
	int active;	  /* sl_policy_active */
	int inode_labels; /* sl_inode_labels */
	int glob_classes; /* sl_glob_classes */
	int glob;	  /* sl_glob */
};

/*
 * Fill slot (0 or 1) with c under generation; the label maps lose their
 * entries of that slot first. 0 or -errno with a message in err naming the
 * table that failed.
 */
int sl_policy_maps_write(const struct sl_policy_map_fds *fds, const struct sl_compiled_policy *c,
			 uint32_t slot, uint32_t generation, char *err, size_t errlen);
/*
 * Make slot's labels by identity exactly v[0..n): entries that are gone are
 * removed, the others added or updated (never a moment without the ones
 * that stay). 0 or -errno.
 */
int sl_policy_maps_write_inodes(const struct sl_policy_map_fds *fds, uint32_t slot,
				const struct sl_cinode *v, uint32_t n);

/* put slot in force (one map update); 0 or -errno */
int sl_policy_maps_flip(const struct sl_policy_map_fds *fds, uint32_t slot, uint32_t generation);

#endif
