/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Per-thread state kept between a syscall's entry and its exit (exec and
 * open families), shared by exec.bpf.c (which also forgets it when a thread
 * exits) and file.bpf.c.
 *
 * Only session threads get an entry (created at sys_enter after the session
 * check). The exit handlers look the thread up in these maps instead of the
 * session map: one lookup either way, and an open that started inside a
 * session is recorded even if the task left the session meanwhile.
 *
 * The caller's string is read at syscall entry (telemetry only: another
 * thread may change it afterwards; the kernel side identifies the object by
 * what the kernel opened). If that read faults (page not mapped yet), the
 * pointer is kept and the string is read at exit, after the kernel has
 * faulted it in.
 */
#ifndef SCOPELOCK_TASK_BPF_H
#define SCOPELOCK_TASK_BPF_H

#include "common.bpf.h"

#define SL_REQ_RETRY (1U << 0)	   /* string not read at entry: read from ptr at exit */
#define SL_REQ_TRUNCATED (1U << 1) /* string longer than the buffer: cut */

struct sl_exec_req {
	__u64 cgid;
	__u64 ptr; /* caller's filename pointer (for SL_REQ_RETRY) */
	__s32 dirfd;
	__u32 syscall; /* enum sl_exec_syscall */
	__u32 fn_len;
	__u32 flags; /* SL_REQ_* */
	char fn[SL_PATH_MAX];
};

struct sl_open_req {
	__u64 cgid;
	__u64 ptr; /* caller's path pointer (for SL_REQ_RETRY), 0 if none */
	__u32 oflags;
	__u32 mode;
	__u32 syscall; /* enum sl_open_syscall */
	__s32 dirfd;
	__u32 req_len;
	__u32 flags; /* SL_REQ_* */
	char req[SL_PATH_MAX];
};

/* tid -> request in flight; allocated on demand (only session threads) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_MAX_INFLIGHT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct sl_exec_req);
} sl_exec_reqs SEC(".maps") __weak;

/*
 * bpf_probe_read_user_str() returned n for user string s: was the string cut?
 * A full buffer holds either exactly SL_PATH_MAX - 1 bytes or a cut string.
 */
static __always_inline bool sl_user_str_cut(const char *s, long n)
{
	char c = 1;

	if (n != SL_PATH_MAX)
		return false;
	if (bpf_probe_read_user(&c, 1, s + SL_PATH_MAX - 1))
		return true;
	return c != 0;
}

/* a thread is gone: drop whatever it left in flight */
static __always_inline void sl_task_forget(__u32 tid)
{
	bpf_map_delete_elem(&sl_exec_reqs, &tid);
}

/* bytes of argv (past the exec record's copy: from the process) and of the
 * environment block walked in the kernel; past this the evidence is
 * unreadable (exec.bpf.c, file.bpf.c) */
#define SL_EXEC_SCAN_MAX (1024 * 1024)

#endif /* SCOPELOCK_TASK_BPF_H */
