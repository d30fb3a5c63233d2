/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The TLS gate (include/scopelock_abi.h, "The TLS gate"): no session process
 * runs an executable the daemon's TLS room has not analysed, and a process
 * whose TLS scopelock cannot read is known to the network hooks.
 *
 * At sched_process_exec (exec.bpf.c, before the exec record is emitted, so
 * that the daemon never reads the record before the state it must act on):
 *   the file is in sl_tls_exes  -> the process' state: blind or nothing;
 *   it is not                   -> SL_TLS_PROC_HELD and SIGSTOP to the
 *                                  process: it stops before its first
 *                                  instruction; the daemon analyses the
 *                                  file, attaches uprobes at its TLS
 *                                  functions, fills sl_tls_exes and sends
 *                                  SIGCONT (user/daemon/tls.c).
 * At connect and UDP send (net.bpf.c): a process still SL_TLS_PROC_HELD
 * (someone sent it SIGCONT before the daemon released it) is refused
 * (EPERM): it may not reach the network before its TLS is instrumented; a
 * SL_TLS_PROC_BLIND process of a session with SL_SESSION_BLIND_DENY too,
 * unless the session says SL_SESSION_BLIND_PROXY and the destination is its
 * proxy (TCP, loopback, proxy_port).
 * A fork inherits its parent's state (a fork of a process with probes is
 * held until it has its own: sl_tls_gate_fork); exit forgets it.
 *
 * sl_tls_gate_on (set by the daemon once its TLS room runs, cleared when it
 * stops): without it nothing is held (nobody would release it).
 */
#ifndef SCOPELOCK_TLSGATE_BPF_H
#define SCOPELOCK_TLSGATE_BPF_H

#include "common.bpf.h"
#include "match.bpf.h"
#include "sock.bpf.h"

#define SL_TLS_EXES_MAX 8192

__u32 sl_tls_gate_on __weak = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_TLS_EXES_MAX);
	__type(key, struct sl_tls_exe_key);
	__type(value, __u32);
} sl_tls_exes SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct sl_tls_proc);
} sl_tls_procs SEC(".maps") __weak;

/* tgid -> its latest held mapping (SL_OP_TLS_MAP), and the one the daemon is
 * done with (struct sl_tls_maphold, scopelock_abi.h) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_MAX_INFLIGHT);
	__type(key, __u32);
	__type(value, struct sl_tls_maphold);
} sl_tls_mapheld SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_MAX_INFLIGHT);
	__type(key, __u32);
	__type(value, __u64);
} sl_tls_mapdone SEC(".maps") __weak;

/* does tgid map a file the daemon has not handled yet? */
static __always_inline bool sl_tls_map_pending(__u32 tgid)
{
	struct sl_tls_maphold *h = bpf_map_lookup_elem(&sl_tls_mapheld, &tgid);
	__u64 *done;

	if (!h)
		return false;
	done = bpf_map_lookup_elem(&sl_tls_mapdone, &tgid);
	return !done || *(volatile __u64 *)done != *(volatile __u64 *)&h->seq;
}

/*
 * The exec of tgid (exec id exec_id) runs file; stop is false when the exec
 * was already stopped or killed by its verdict (the daemon analyses the
 * exec record before acting on that verdict's release); newtask: a thread
 * other than the leader exec'd (SL_TLS_PROC_NEWTASK, kept until the daemon
 * clears it). Returns true when the process was held.
 */
static __always_inline bool sl_tls_gate_exec(__u32 tgid, __u64 exec_id, struct file *file,
					     bool stop, bool newtask)
{
	struct sl_tls_proc st = {}, *old;
	struct inode *inode;
	__u32 *v, keep = 0;

	old = bpf_map_lookup_elem(&sl_tls_procs, &tgid);
	if (newtask || (old && (*(volatile __u32 *)&old->state & SL_TLS_PROC_NEWTASK)))
		keep = SL_TLS_PROC_NEWTASK;
	if (!*(volatile __u32 *)&sl_tls_gate_on || !file) {
		bpf_map_delete_elem(&sl_tls_procs, &tgid);
		return false;
	}
	inode = BPF_CORE_READ(file, f_inode);
	st.exec_id = exec_id;
	st.exe.ino = BPF_CORE_READ(inode, i_ino);
	st.exe.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	st.exe.ctime_ns = sl_inode_ctime(inode);
	v = bpf_map_lookup_elem(&sl_tls_exes, &st.exe);
	if (v && !(*v & (SL_TLS_EXE_BLIND | SL_TLS_EXE_TARGET))) {
		/* nothing to instrument: no state, but a task change is remembered */
		st.state = keep;
		if (!keep)
			bpf_map_delete_elem(&sl_tls_procs, &tgid);
		else if (bpf_map_update_elem(&sl_tls_procs, &tgid, &st, BPF_ANY))
			sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_EXEC);
		return false;
	}
	if (v && (*v & SL_TLS_EXE_BLIND)) {
		st.state = SL_TLS_PROC_BLIND;
	} else {
		/* not analysed yet, or instrumented per process: its probes first */
		st.state = SL_TLS_PROC_HELD;
		/* stopped already by its verdict: the verdict's decision lets it go */
		if (!stop)
			st.state |= SL_TLS_PROC_VERDICT_STOP;
	}
	st.state |= keep;
	if (bpf_map_update_elem(&sl_tls_procs, &tgid, &st, BPF_ANY)) {
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_EXEC);
		return false;
	}
	if ((st.state & SL_TLS_PROC_HELD) && stop && bpf_send_signal(SL_SIGSTOP)) {
		/* not stopped: the connect hooks refuse it until it is analysed */
		return false;
	}
	return st.state & SL_TLS_PROC_HELD;
}

/* tgid maps a program known to be blind (through the dynamic loader): blind */
static __always_inline void sl_tls_gate_blind(__u32 tgid, const struct sl_tls_exe_key *key)
{
	struct sl_tls_proc *p, st = {};
	struct sl_proc_info *pi;

	/* the current task's own entry: nothing else writes it while it runs */
	p = bpf_map_lookup_elem(&sl_tls_procs, &tgid);
	if (p) {
		st = *p;
		st.state |= SL_TLS_PROC_BLIND;
	} else {
		pi = bpf_map_lookup_elem(&sl_procs, &tgid);
		st.exec_id = pi ? pi->exec_id : 0;
		st.exe = *key;
		st.state = SL_TLS_PROC_BLIND;
	}
	if (bpf_map_update_elem(&sl_tls_procs, &tgid, &st, BPF_ANY))
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_TLS_MAP);
}

/*
 * child (tgid ctgid) was forked by the current process (ptgid). A child with
 * memory of its own, of a process with probes: its copy of the parent's
 * memory has the breakpoints, but the probes are the parent's (a uprobe
 * attached for one process fires for that process only): held
 * (SL_TLS_PROC_FORKED) until the daemon attached its own, from its return
 * from fork (sl_tls_fork_ret in tls.bpf.c). A CLONE_VM child shares the
 * parent's memory and so its probes.
 */
static __always_inline void sl_tls_gate_fork(__u32 ptgid, __u32 ctgid, struct task_struct *child)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	struct sl_tls_proc *p, copy;

	p = bpf_map_lookup_elem(&sl_tls_procs, &ptgid);
	if (!p)
		return;
	copy = *p;
	/* the child is another task: the daemon's probes for the parent's
	 * task (NEWTASK is about those) are not its */
	copy.state &= ~SL_TLS_PROC_NEWTASK;
	copy.parent = 0;
	if ((copy.state & SL_TLS_PROC_PROBED) && *(volatile __u32 *)&sl_tls_gate_on &&
	    BPF_CORE_READ(child, mm) != BPF_CORE_READ(cur, mm)) {
		copy.state =
		    (copy.state & ~SL_TLS_PROC_PROBED) | SL_TLS_PROC_HELD | SL_TLS_PROC_FORKED;
		copy.parent = ptgid;
	}
	if (bpf_map_update_elem(&sl_tls_procs, &ctgid, &copy, BPF_ANY))
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_EXEC);
}

static __always_inline void sl_tls_gate_exit(__u32 tgid)
{
	bpf_map_delete_elem(&sl_tls_procs, &tgid);
	bpf_map_delete_elem(&sl_tls_mapheld, &tgid);
	bpf_map_delete_elem(&sl_tls_mapdone, &tgid);
}

/*
 * blind_tls: proxy: the destination is the session's inspecting proxy (TCP
 * to 127.0.0.1 or ::1 at proxy_port; addr in network order as the
 * sock_addr context has it)
 */
static __always_inline bool sl_tls_gate_to_proxy(const struct sl_session_info *s, __u16 family,
						 const __u8 *addr, __u16 port, __u32 sock_type)
{
	__u16 pp = *(volatile __u16 *)&s->proxy_port;
	__u64 a0, a1;

	if (!(*(volatile __u32 *)&s->flags & SL_SESSION_BLIND_PROXY) || !pp || port != pp ||
	    sock_type != SL_SOCK_STREAM)
		return false;
	if (family == SL_AF_INET)
		return addr[0] == 127 && addr[1] == 0 && addr[2] == 0 && addr[3] == 1;
	if (family != SL_AF_INET6)
		return false;
	__builtin_memcpy(&a0, addr, 8);
	__builtin_memcpy(&a1, addr + 8, 8);
	return a0 == 0 && a1 == bpf_cpu_to_be64(1);
}

/*
 * may the current process of session s connect / send to (family, addr,
 * port) (sock_type: SOCK_STREAM, ...)?
 */
static __always_inline bool sl_tls_gate_refuses(const struct sl_session_info *s, __u16 family,
						const __u8 *addr, __u16 port, __u32 sock_type)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct sl_tls_proc *p = bpf_map_lookup_elem(&sl_tls_procs, &tgid);
	__u32 state;

	if (sl_tls_map_pending(tgid))
		return true; /* mapping a file not analysed yet, let run early */
	if (!p)
		return false;
	state = *(volatile __u32 *)&p->state;
	if (state & SL_TLS_PROC_HELD)
		return true;
	/* a monitor session only records */
	if (!(state & SL_TLS_PROC_BLIND) ||
	    (*(volatile __u32 *)&s->flags & (SL_SESSION_BLIND_DENY | SL_SESSION_MONITOR)) !=
		SL_SESSION_BLIND_DENY)
		return false;
	/* blind_tls: proxy: its session's proxy is the one place it may reach */
	return !sl_tls_gate_to_proxy(s, family, addr, port, sock_type);
}

#endif /* SCOPELOCK_TLSGATE_BPF_H */
