// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What each way of seeing an open costs a process outside every session
 * (bench/hookcost.py): one program per arrangement, none of them records
 * anything. The session test is the one scopelock's programs make first
 * (bpf/common.bpf.h: the current cgroup in a hash of sessions), against a
 * map no test fills, so every program returns at its first test as it does
 * for a process outside every session.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define HC_NR_OPENAT 257 /* x86-64 */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u32);
} hc_sessions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} hc_tasks SEC(".maps");

__u64 hc_hits;

static __always_inline int hc_session_test(void)
{
	__u64 cgid = bpf_get_current_cgroup_id();

	if (bpf_map_lookup_elem(&hc_sessions, &cgid))
		__sync_fetch_and_add(&hc_hits, 1);
	return 0;
}

/* the slow system-call path alone: a syscall the open loop never makes */
SEC("tp/syscalls/sys_exit_getppid")
int hc_slowpath_exit(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_enter_getppid")
int hc_slowpath_enter(void *ctx)
{
	return 0;
}

/* a program on the open's own exit tracepoint (perf tracepoint path) */
SEC("tp/syscalls/sys_exit_openat")
int hc_tp_empty(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int hc_tp_session(void *ctx)
{
	return hc_session_test();
}

/* one raw tracepoint program for every system call's exit */
SEC("raw_tp/sys_exit")
int hc_raw_empty(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_exit")
int hc_raw_dispatch(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];

	if (BPF_CORE_READ(regs, orig_ax) != HC_NR_OPENAT)
		return 0;
	return hc_session_test();
}

/* the same with BTF (direct reads) and a per-task mark instead of a hash */
SEC("tp_btf/sys_exit")
int BPF_PROG(hc_btf_dispatch, struct pt_regs *regs, long ret)
{
	if (regs->orig_ax != HC_NR_OPENAT)
		return 0;
	if (bpf_task_storage_get(&hc_tasks, bpf_get_current_task_btf(), 0, 0))
		__sync_fetch_and_add(&hc_hits, 1);
	return 0;
}

/* hooks this kernel refuses (EPERM here): measured where they load */
SEC("fentry/do_sys_openat2")
int BPF_PROG(hc_fentry_session, int dfd)
{
	return hc_session_test();
}

SEC("lsm/file_open")
int BPF_PROG(hc_lsm_session, struct file *file)
{
	return hc_session_test();
}
