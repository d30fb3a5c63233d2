/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Programs by the file that runs, the daemon's side (policy_programs.h,
 * include/scopelock_policy.h): the program files of the policy in force
 * into the kernel maps, and the content comparison that decides an exec the
 * kernel held because the file that runs may be a copy of a program
 * (SL_VERDICT_IDENTIFY).
 */
#ifndef SL_PROGRAMS_H
#define SL_PROGRAMS_H

#include <stddef.h>
#include <stdint.h>

#include "scopelock_policy.h"

struct sl_kernel;
struct sl_policy;
struct sl_programs;

/* the room; its maps are k's */
int sl_programs_new(struct sl_kernel *k, struct sl_programs **out);
void sl_programs_free(struct sl_programs *pp);

/*
 * Resolve p's program words and write them into slot's sl_prog_ids and
 * sl_prog_sizes (the slot's previous entries removed); *count: the files
 * found (the policy header's n_programs). 0 or -errno.
 */
int sl_programs_apply(struct sl_programs *pp, const struct sl_policy *p, uint32_t slot,
		      uint32_t *count);

/* what the comparison found */
struct sl_identity {
	char program[64]; /* the program the file is a copy of, "" if none */
	char path[256];	  /* that program's file */
	char sha256[65];  /* the contents' SHA-256 (hex) */
	char error[160];  /* why it could not be compared, "" if it was */
};

/*
 * The file of a SL_VERDICT_IDENTIFY verdict v (the held process's executable
 * or script descriptor) against the program files of its size: 1 the same
 * contents as a program (the file is learnt as that program: later runs are
 * judged at once), 0 none (the file is not held again under this policy
 * generation), -errno when it could not be compared (id->error says why).
 */
int sl_programs_identify(struct sl_programs *pp, const struct sl_verdict_event *v,
			 struct sl_identity *id);

#endif
