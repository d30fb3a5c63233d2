/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Maps and helpers shared by every scopelock BPF program. Every program file
 * includes this header; the maps are __weak so that `bpftool gen object`
 * merges the identical definitions into one set of maps.
 */
#ifndef SCOPELOCK_COMMON_BPF_H
#define SCOPELOCK_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "scopelock_abi.h"
#include "scopelock_events.h"

#define SL_MAX_SESSIONS 1024
#define SL_MAX_PROCS 65536
#define SL_MAX_INFLIGHT 16384

/* errno values used by the BPF side (no libc here) */
#define SL_EPERM 1

/* Set by the loader between open and load. */
/* cgroup v2 level of session cgroups: sessions are matched on the ancestor at
 * this level, so cgroups nested inside a session stay in the session. */
const volatile __u32 sl_session_level __weak = 0;
const volatile __u32 sl_argv_max __weak = SL_ARGV_DEFAULT;
const volatile __u32 sl_tls_capture_max __weak = SL_TLS_CAPTURE_DEFAULT;
const volatile __u32 sl_debug __weak = 0;
/*
 * Wake the daemon only when this many bytes wait in the ring buffer (or for
 * a verdict): a wakeup per record costs more than the capture itself. The
 * daemon also drains on a short timer. 0: wake for every record.
 */
const volatile __u64 sl_wakeup_bytes __weak = 0;
/*
 * loss: throttle: a session record that leaves more than this many bytes
 * waiting in sl_events stops its process (the loader sets half the ring;
 * 0: never).
 */
const volatile __u64 sl_throttle_bytes __weak = 0;
/* bytes of sl_verdicts (the loader sets both) */
const volatile __u64 sl_verdict_ring_bytes __weak = SL_VERDICT_RING_BYTES;
/* room kept in sl_verdicts for verdict records: a capture record goes there
 * only when it leaves this much free, else to sl_events */
#define SL_VERDICT_RESERVE (256 << 10)

/* session cgroup id -> session; maintained by scopelockd */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_MAX_SESSIONS);
	__type(key, __u64);
	__type(value, struct sl_session_info);
} sl_sessions SEC(".maps") __weak;

/* tgid -> lineage, for session processes only */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct sl_proc_info);
} sl_procs SEC(".maps") __weak;

/* all records to scopelockd; size set by the loader (--ringbuf-size) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} sl_events SEC(".maps") __weak;

/*
 * Verdicts that stop something (kill, hold) and the capture record of their
 * action: a ring of their own, so that a flood of bulk telemetry in the
 * session never delays or loses them (the daemon drains it first). Size set
 * by the loader (sl_verdict_ring_bytes).
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SL_VERDICT_RING_BYTES);
} sl_verdicts SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_stats);
} sl_stats SEC(".maps") __weak;

/* per-exec id counter (only ever incremented with atomics) */
__u64 sl_exec_seq __weak = 0;

static __always_inline struct sl_stats *sl_stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sl_stats, &zero);
}

static __always_inline void sl_count_loss(__u32 cause, __u32 op)
{
	struct sl_stats *st = sl_stats_get();

	if (!st || cause >= SL_LOSS_MAX || op >= SL_OP_MAX)
		return;
	st->loss[cause][op]++;
}

/*
 * The session the current task belongs to, or NULL. This is the only work a
 * process outside every session pays for.
 */
static __always_inline struct sl_session_info *sl_current_session(__u64 *cgid)
{
	__u64 id;

	if (sl_session_level)
		id = bpf_get_current_ancestor_cgroup_id(sl_session_level);
	else
		id = bpf_get_current_cgroup_id();
	if (!id)
		return NULL;
	if (cgid)
		*cgid = id;
	return bpf_map_lookup_elem(&sl_sessions, &id);
}

/* Fill the common header for the current task. */
static __always_inline void sl_hdr_fill(struct sl_event_hdr *h, __u32 op, __u64 cgid)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct sl_proc_info *pi;

	h->ktime_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = cgid;
	h->op = op;
	h->pid = tgid;
	h->tid = (__u32)pid_tgid;
	h->uid = (__u32)bpf_get_current_uid_gid();
	h->flags = 0;
	pi = bpf_map_lookup_elem(&sl_procs, &tgid);
	h->exec_id = pi ? pi->exec_id : 0;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/*
 * Hand a record to the ring buffer. size must be bounded by the caller (the
 * verifier needs a constant upper bound). Loss is counted, never silent.
 * Returns 0 or -1 when the record was lost.
 */
/*
 * Wake the daemon when this record makes the waiting data cross the
 * threshold, not for every record above it: when the producer outruns the
 * daemon, a wakeup per record would slow both (the daemon, once woken,
 * consumes everything there is; its 20 ms tick bounds any missed crossing).
 */
static __always_inline __u64 sl_wakeup_flags(__u32 op, __u64 size)
{
	__u64 avail;

	if (!sl_wakeup_bytes || op == SL_OP_VERDICT)
		return BPF_RB_FORCE_WAKEUP;
	avail = bpf_ringbuf_query(&sl_events, BPF_RB_AVAIL_DATA);
	if (avail < sl_wakeup_bytes && avail + size >= sl_wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

#define SL_SIGSTOP 19

/* tgid -> when it was stopped for the daemon to catch up (scopelock_abi.h) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct sl_throttle);
} sl_throttled SEC(".maps") __weak;

/* the daemon's heartbeat (scopelock_abi.h) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_daemon_beat);
} sl_daemon SEC(".maps") __weak;

/* daemon_absent: freeze and no heartbeat for longer than the grace period */
static __always_inline bool sl_daemon_away(void)
{
	__u32 zero = 0;
	struct sl_daemon_beat *b = bpf_map_lookup_elem(&sl_daemon, &zero);

	return b && b->beat_ns && b->grace_ns && bpf_ktime_get_boot_ns() - b->beat_ns > b->grace_ns;
}

/*
 * Stop the current process (of session cgid) for a reason (SL_STOP_*):
 * THROTTLE: the ring buffer is more than sl_throttle_bytes full after its
 * record, and its session throttles: stopped rather than lose what it does
 * next (SIGSTOP takes effect on its way back to user space; records of that
 * last system call still fit in the half of the ring that is left).
 * ABSENT: no daemon reads what the session does (sl_daemon_away).
 */
static __noinline int sl_stop_current(__u64 cgid, __u32 tgid, __u32 reason)
{
	struct sl_session_info *si = bpf_map_lookup_elem(&sl_sessions, &cgid);
	struct sl_throttle t = {};

	if (!si || (reason == SL_STOP_THROTTLE && !(si->flags & SL_SESSION_THROTTLE)))
		return 0;
	/* entered and running again: continued by someone else than the daemon
	 * (a SIGCONT from inside the session), or records of the same system
	 * call; stopped again (the entry keeps its first time and reason) */
	if (bpf_map_lookup_elem(&sl_throttled, &tgid)) {
		bpf_send_signal(SL_SIGSTOP);
		return 0;
	}
	t.since_ns = bpf_ktime_get_boot_ns();
	t.cgroup_id = cgid;
	t.reason = reason;
	if (bpf_map_update_elem(&sl_throttled, &tgid, &t, BPF_NOEXIST))
		return 0;
	if (bpf_send_signal(SL_SIGSTOP)) {
		bpf_map_delete_elem(&sl_throttled, &tgid);
		return 0;
	}
	return 1;
}

/*
 * prio: to sl_verdicts (a verdict that stops something, or the capture
 * record of its action when there is room for it besides the reserve for
 * verdicts), else to sl_events.
 */
static __always_inline int sl_emit_sig(void *rec, __u64 size, bool prio, bool may_signal)
{
	struct sl_event_hdr *h = rec;
	struct sl_stats *st;
	__u32 op = h->op;
	long ret;

	h->size = size;
	if (h->flags & SL_EVF_TRUNCATED)
		sl_count_loss(SL_LOSS_TRUNCATED, op);
	if (h->flags & SL_EVF_READ_FAULT)
		sl_count_loss(SL_LOSS_READ_FAULT, op);
	if (prio && op != SL_OP_VERDICT &&
	    bpf_ringbuf_query(&sl_verdicts, BPF_RB_AVAIL_DATA) + size + SL_VERDICT_RESERVE >
		sl_verdict_ring_bytes)
		prio = false;
	if (prio)
		ret = bpf_ringbuf_output(&sl_verdicts, rec, size, BPF_RB_FORCE_WAKEUP);
	else
		ret = bpf_ringbuf_output(&sl_events, rec, size, sl_wakeup_flags(op, size));
	if (ret) {
		sl_count_loss(SL_LOSS_RINGBUF_FULL, op);
	} else {
		st = sl_stats_get();
		if (st && op < SL_OP_MAX)
			st->emitted[op]++;
	}
	if (may_signal && !prio) {
		if (sl_throttle_bytes &&
		    bpf_ringbuf_query(&sl_events, BPF_RB_AVAIL_DATA) > sl_throttle_bytes)
			sl_stop_current(h->cgroup_id, h->pid, SL_STOP_THROTTLE);
		else if (sl_daemon_away())
			sl_stop_current(h->cgroup_id, h->pid, SL_STOP_ABSENT);
	}
	return ret ? -1 : 0;
}

static __always_inline int sl_emit_to(void *rec, __u64 size, bool prio)
{
	return sl_emit_sig(rec, size, prio, true);
}

static __always_inline int sl_emit(void *rec, __u64 size)
{
	return sl_emit_to(rec, size, false);
}

/* for programs that cannot signal (cgroup sock_addr): never throttles */
static __always_inline int sl_emit_nosignal(void *rec, __u64 size)
{
	return sl_emit_sig(rec, size, false, false);
}

#endif /* SCOPELOCK_COMMON_BPF_H */
