/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Context of the test program decide.bpf.c (BPF_PROG_TYPE_SYSCALL, run with
 * BPF_PROG_TEST_RUN): one decision of the in-kernel matcher on a subject
 * given by the test, with the real match.bpf.h code and policy maps.
 */
#ifndef SL_DECIDE_TEST_H
#define SL_DECIDE_TEST_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SL_TEST_SUBJECT_MAX 4096

struct sl_test_decide {
	/* in */
	__u64 env;   /* evidence environments besides the subject's labels */
	__u64 taint; /* session taint */
	__u32 scope_env;
	__u32 session_flags; /* SL_SESSION_* */
	__u32 channel;	     /* enum sl_kchannel */
	__u32 len;	     /* bytes of subject */
	__u32 unread;	     /* SL_UNREAD_*: evidence not read whole */
	__u32 _pad;
	/* out */
	__u64 kw[4];	   /* keywords the automaton saw */
	__u64 scan_env;	   /* label environments the automaton saw */
	__u64 patterns[2]; /* patterns matched */
	__u64 target_env;
	__u32 matched; /* 1: a rule decided */
	__u32 rule;
	__u32 action;
	__u32 monitor;
	__u32 target_class;
	__u32 ran;    /* 1: the program ran to the end (a policy is loaded) */
	__u32 vflags; /* SL_VERDICT_SUSPICIOUS, _PARTIAL */
	__u32 _pad2;
	__u8 subject[SL_TEST_SUBJECT_MAX];
};

/*
 * Context of sl_test_glob: the wildcard-glob automaton's walk
 * (bpf/label.bpf.h sl_label_glob, as the open program calls it) on a path.
 */
struct sl_test_glob {
	__u32 len; /* in: bytes of path */
	__u32 ran; /* out: 1 when a policy with globs is loaded */
	__u64 env; /* out: environments of the globs matching path */
	__u8 path[SL_TEST_SUBJECT_MAX];
};

#endif
