// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Exec, failed exec, process lineage and exit of session processes.
 *
 *   sched_process_exec       SL_OP_EXEC: argv from the new mm (the kernel's
 *                            copy, after the point of no return), filename,
 *                            cwd walked from fs->pwd; new exec id
 *   sys_enter/exit_execve(at) SL_OP_EXEC_FAILED when exec returned an error
 *   sched_process_fork (raw) a new process inherits its parent's lineage
 *   sched_process_exit       SL_OP_EXIT when the thread group is dead
 *
 * Processes outside every session pay one session map lookup per hook.
 *
 * Exec verdicts (policy loaded), at sched_process_exec after the exec record:
 * the subject is argv with each argument followed by one space (the kernel's
 * NUL separators read as spaces: what sl_policy_exec_subject() builds), walked
 * through the keyword DFAs from the root. The evidence environments are the
 * DFA's label hits in argv, the labels of the environment block (walked for
 * label hits only: its keywords are not the command's), the label of the cwd
 * and of each absolute-path argument. The rules of channel exec decide; kill
 * is SIGKILL before the new image runs an instruction, freeze holds the
 * session (SIGSTOP); the verdict record follows the exec record.
 */
#include "common.bpf.h"
#include "label.bpf.h"
#include "match.bpf.h"
#include "path.bpf.h"
#include "task.bpf.h"
#include "tlsgate.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* include/linux/sched/signal.h (stable since v2.6) */
#define SL_SIGNAL_GROUP_EXIT 0x00000004
#define SL_EFAULT 14

/* filename, cwd (each < SL_PATH_MAX) and argv back to back */
#define SL_EXEC_DATA_MAX (2 * SL_PATH_MAX + SL_ARGV_MAX)
/* argument walk steps for path labels: one per argument, or per
 * SL_LABEL_PATH_MAX - 1 bytes of a long one */
#define SL_EXEC_ARG_STEPS 512
_Static_assert(2 * SL_PATH_MAX - 1 + SL_ARGV_MAX < SL_EXEC_DATA_MAX + 1,
	       "a NUL fits after the argv copy");

struct sl_exec_buf {
	char rec[sizeof(struct sl_exec_event) + SL_EXEC_DATA_MAX];
	/* the argument walk's position (sl_exec_arg_cb): kept here, not in the
	 * loop's context, so that the verifier sees an unknown value at every
	 * iteration and the walk converges after one */
	__u64 walk_pos;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_exec_buf);
} sl_exec_buf SEC(".maps");

/* builds sl_exec_reqs values (too big for the stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_exec_req);
} sl_exec_req_scratch SEC(".maps");

static __always_inline struct sl_exec_buf *sl_exec_buf_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sl_exec_buf, &zero);
}

/* lineage: a new exec id for tgid; returns the previous one (0 if none) */
static __always_inline __u64 sl_exec_lineage(__u32 tgid, __u64 *exec_id)
{
	struct sl_proc_info *old, pi = {};

	old = bpf_map_lookup_elem(&sl_procs, &tgid);
	pi.parent_exec_id = old ? old->exec_id : 0;
	pi.exec_id = __sync_fetch_and_add(&sl_exec_seq, 1) + 1;
	if (!pi.exec_id) /* wrapped: 0 means unknown */
		pi.exec_id = __sync_fetch_and_add(&sl_exec_seq, 1) + 1;
	if (bpf_map_update_elem(&sl_procs, &tgid, &pi, BPF_ANY))
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_EXEC);
	*exec_id = pi.exec_id;
	return pi.parent_exec_id;
}

/* ---- exec verdicts ---- */

struct sl_exec_walk {
	__u64 end; /* past the argv copy in the record's data[] */
	__u64 env;
	__u32 slot;
	__u32 cont; /* the position is inside an argument (a long one, cut) */
};

/* one argument (or a piece of a long one): labels when it is a path */
static long sl_exec_arg_cb(__u64 i, void *arg)
{
	struct sl_exec_walk *w = arg;
	struct sl_exec_buf *b = sl_exec_buf_get();
	struct sl_exec_event *e;
	__u32 used = 0;
	bool cut = false;
	__u64 pos;

	if (!b)
		return 1;
	pos = b->walk_pos;
	if (pos >= w->end || pos >= SL_EXEC_DATA_MAX)
		return 1;
	e = (struct sl_exec_event *)b->rec;
	w->env |= sl_label_path_str(w->slot, e->data + pos, !w->cont, &used, &cut);
	if (!used)
		return 1;
	b->walk_pos = pos + used;
	w->cont = cut;
	return 0;
}

static long sl_exec_rule_cb(__u64 i, void *arg)
{
	struct sl_match *m = ((struct sl_eval_ctx *)arg)->m;
	const struct sl_krule *r;
	__u32 idx;

	if (i >= m->n_rules || i >= SL_RULE_MAX)
		return 1;
	idx = m->slot * SL_RULE_MAX + (__u32)i;
	r = bpf_map_lookup_elem(&sl_rules, &idx);
	if (!r)
		return 1;
	if (r->channel == SL_KCH_EXEC) {
		m->rule = (__u32)i; /* found one (sl_match_decide sets it again) */
		return 1;
	}
	return 0;
}

/* does the policy in force have a rule of channel exec? (else nothing to walk) */
static __always_inline bool sl_exec_has_rules(struct sl_match *m)
{
	struct sl_eval_ctx c = {.m = m};

	m->rule = (__u32)-1;
	if (m->n_rules)
		bpf_loop(m->n_rules, sl_exec_rule_cb, &c, 0);
	return m->rule != (__u32)-1;
}

/*
 * Judge the exec of the current task from the record being built in the
 * per-CPU exec buffer (it is not changed: it is emitted after the verdict):
 * data[fl, fl + cl) is the cwd (cl 0: none, or only a tail of the path),
 * data[off, off + n) the argv copy, arg_start and total the whole argv in
 * the new mm. Argv past the copy is walked from user memory up to
 * SL_EXEC_SCAN_MAX bytes, the environment block (labels only) likewise;
 * beyond that the evidence is unreadable (settings.unreadable decides).
 * Returns the SL_VERDICT_* flags of the decision in the per-CPU sl_match
 * when one was taken (after acting on it), -1 otherwise. A global
 * function: verified once, whatever the caller's state.
 */
__noinline int sl_exec_judge(__u64 cgid, __u64 fl_cl, __u64 off_n, __u64 arg_start, __u64 total)
{
	const __u64 data = offsetof(struct sl_exec_event, data);
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct sl_exec_walk w = {};
	unsigned long env_start, env_end;
	__u64 kw[SL_KW_WORDS], len, end, rest;
	struct sl_session_info *s;
	struct sl_exec_event *e;
	struct sl_exec_buf *b;
	struct sl_match *m;
	__u16 cs = 0, ci = 0;
	int hyp, decided;
	__u32 vflags = 0, fl = fl_cl >> 32, cl = (__u32)fl_cl, off = off_n >> 32, n = (__u32)off_n;

	s = bpf_map_lookup_elem(&sl_sessions, &cgid);
	b = sl_exec_buf_get();
	if (!s || !b || fl >= SL_PATH_MAX || cl >= SL_PATH_MAX || off >= 2 * SL_PATH_MAX ||
	    n > SL_ARGV_MAX)
		return -1;
	e = (struct sl_exec_event *)b->rec;
	m = sl_match_begin(SL_KCH_EXEC);
	if (!m)
		return -1;
	if (sl_session_doomed(m, s, &vflags))
		return (int)vflags;
	if (!sl_exec_has_rules(m))
		return -1;
	/* the working directory names its environment: by path, and by the
	 * identity of it and every directory above it (label.bpf.h); a cwd
	 * whose path was only partly walked and whose ancestors could not all
	 * be visited is unreadable evidence */
	if (cl)
		m->env |= sl_label_path(m->slot, e->data + fl, cl);
	if (cl && m->glob_states)
		m->env |= sl_label_glob(m->slot, e->data + fl, cl);
	if (m->n_path_labels &&
	    !sl_label_inodes(BPF_CORE_READ(task, fs, pwd.dentry), BPF_CORE_READ(task, fs, pwd.mnt),
			     m->slot, &m->env) &&
	    !cl)
		m->unread |= SL_UNREAD_PATH;

	if (n) {
		/* absolute-path arguments: NUL-terminate the copy (past the
		 * record's end), walk it */
		end = off + n;
		barrier_var(end); /* keep the check: the verifier needs it */
		if (end < SL_EXEC_DATA_MAX)
			e->data[end] = 0;
		b->walk_pos = off;
		w.end = end;
		w.slot = m->slot;
		bpf_loop(SL_EXEC_ARG_STEPS, sl_exec_arg_cb, &w, 0);
		m->env |= w.env;
		/* the subject: "arg0 arg1 ... argN " (NULs walked as spaces) */
		sl_match_scan(m, &cs, &ci, b, sizeof(*b), data + off, n, true);
	}
	/* the rest of argv, from the new mm */
	if (total > n) {
		rest = total - n;
		if (total > SL_EXEC_SCAN_MAX) {
			m->unread |= SL_UNREAD_LIMIT;
			rest = SL_EXEC_SCAN_MAX > n ? SL_EXEC_SCAN_MAX - n : 0;
		}
		if (rest && sl_match_scan_user(m, &cs, &ci, arg_start + n, rest, true) < 0)
			m->unread |= SL_UNREAD_FAULT;
	}

	/* the environment block: label hits only (a token, a resource id) */
	env_start = BPF_CORE_READ(task, mm, env_start);
	env_end = BPF_CORE_READ(task, mm, env_end);
	len = env_end > env_start ? env_end - env_start : 0;
	if (len > SL_EXEC_SCAN_MAX) {
		len = SL_EXEC_SCAN_MAX;
		m->unread |= SL_UNREAD_ENV;
	}
	if (len) {
		kw[0] = m->kw[0];
		kw[1] = m->kw[1];
		kw[2] = m->kw[2];
		kw[3] = m->kw[3];
		cs = 0;
		ci = 0;
		if (sl_match_scan_user(m, &cs, &ci, env_start, len, true) < 0)
			m->unread |= SL_UNREAD_FAULT;
		m->kw[0] = kw[0];
		m->kw[1] = kw[1];
		m->kw[2] = kw[2];
		m->kw[3] = kw[3];
	}

	/* the program by the file that runs: the executable itself, and a
	 * program file this process opened before (`sh -s args < railway`) */
	{
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;
		struct sl_prog_kw *po = bpf_map_lookup_elem(&sl_prog_opened, &tgid);

		if (po) {
			m->kw[0] |= po->kw[0];
			m->kw[1] |= po->kw[1];
			m->kw[2] |= po->kw[2];
			m->kw[3] |= po->kw[3];
			bpf_map_delete_elem(&sl_prog_opened, &tgid);
		}
	}
	hyp = sl_match_program(m, BPF_CORE_READ(task, mm, exe_file), -1);
	decided = sl_match_decide(m, s);
	if (hyp == 1 && sl_match_identify(m, s))
		decided = 1;
	if (!decided)
		return -1;
	return (int)sl_verdict_act(m, s);
}

/* raw: the tracepoint's arguments (bprm) */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(sl_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_struct *task;
	struct sl_exec_event *e;
	struct sl_exec_buf *b;
	struct sl_path_buf *pb;
	struct sl_path_res pr;
	unsigned long arg_start, arg_end;
	__u64 cgid, exec_id, pid_tgid;
	__u64 fl, cl, off, n, total, cap;
	__u32 tgid, old_tid, zero = 0;
	struct sl_match *m;
	bool held;
	int vflags;
	long ret;

	if (!sl_current_session(&cgid))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	tgid = pid_tgid >> 32;
	task = (struct task_struct *)bpf_get_current_task();

	/* a non-leader thread exec'd: its sys_exit runs under the tgid */
	old_tid = (__u32)old_pid;
	if (old_tid != (__u32)pid_tgid)
		bpf_map_delete_elem(&sl_exec_reqs, &old_tid);

	b = sl_exec_buf_get();
	if (!b)
		return 0;
	e = (struct sl_exec_event *)b->rec;
	e->parent_exec_id = sl_exec_lineage(tgid, &exec_id);
	sl_hdr_fill(&e->hdr, SL_OP_EXEC, cgid);
	e->hdr.exec_id = exec_id;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->old_tid = old_tid;
	e->_pad = 0;

	/* filename: bprm->filename (what sched_process_exec reports) */
	ret = bpf_probe_read_kernel_str(e->data, SL_PATH_MAX, BPF_CORE_READ(bprm, filename));
	fl = ret > 0 ? (__u64)(ret - 1) & SL_PATH_MASK : 0;
	if (ret < 0)
		e->hdr.flags |= SL_EVF_READ_FAULT;
	e->filename_len = fl;

	/* cwd: walked from fs->pwd */
	pb = sl_path_walk(BPF_CORE_READ(task, fs, pwd.dentry), BPF_CORE_READ(task, fs, pwd.mnt),
			  &pr);
	e = (struct sl_exec_event *)b->rec;
	cl = sl_path_copy(e->data + fl, pb, &pr) & SL_PATH_MASK;
	e->cwd_len = cl;
	e->hdr.flags |= pr.flags;

	/* argv from the new mm: the kernel's copy */
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	total = arg_end > arg_start ? arg_end - arg_start : 0;
	cap = sl_argv_max < SL_ARGV_MAX ? sl_argv_max : SL_ARGV_MAX;
	n = total;
	if (n > cap) {
		n = cap;
		e->hdr.flags |= SL_EVF_TRUNCATED;
	}
	off = (fl + cl) & (2 * SL_PATH_MAX - 1);
	if (n > SL_ARGV_MAX)
		n = SL_ARGV_MAX;
	if (n && bpf_probe_read_user(e->data + off, n, (void *)arg_start)) {
		e->hdr.flags |= SL_EVF_READ_FAULT;
		n = 0;
	}
	e->args_len = n;
	e->args_total = total > 0xffffffffULL ? 0xffffffffU : (__u32)total;
	/* decide (and act) first: the record of an action that is stopped goes
	 * to the verdict ring with its verdict; a partial cwd is a tail, not
	 * what labels name */
	vflags = sl_exec_judge(cgid, fl << 32 | (pr.flags & SL_EVF_PATH_PARTIAL ? 0 : cl),
			       off << 32 | n, arg_start, total);
	m = vflags >= 0 ? bpf_map_lookup_elem(&sl_match_buf, &zero) : NULL;
	/* the TLS gate before the record: the daemon reads its state with it;
	 * an exec its verdict already stopped or killed is not stopped twice */
	held = sl_tls_gate_exec(tgid, exec_id, BPF_CORE_READ(bprm, file),
				!(vflags > 0 && (vflags & SL_VERDICT_ENFORCED)), old_tid != tgid);
	e = (struct sl_exec_event *)b->rec;
	/* a held exec waits for the daemon: its record goes out at once (verdict ring) */
	sl_emit_to(
	    e, sizeof(*e) + (off & (2 * SL_PATH_MAX - 1)) + (n & (SL_ARGV_MAX - 1 + SL_ARGV_MAX)),
	    (m && sl_match_prio(m)) || held);
	if (m)
		sl_verdict_emit(m, cgid, SL_OP_EXEC, 0, (__u32)vflags);
	return 0;
}

/* ---- failed exec ---- */

static __always_inline int sl_execve_enter(__u32 sys, __s32 dirfd, const char *filename)
{
	struct sl_exec_req *r;
	__u32 zero = 0, tid;
	__u64 cgid;
	long n;

	if (!sl_current_session(&cgid))
		return 0;
	r = bpf_map_lookup_elem(&sl_exec_req_scratch, &zero);
	if (!r)
		return 0;
	r->cgid = cgid;
	r->ptr = (__u64)filename;
	r->dirfd = dirfd;
	r->syscall = sys;
	r->flags = 0;
	n = bpf_probe_read_user_str(r->fn, sizeof(r->fn), filename);
	if (n > 0) {
		r->fn_len = (__u32)(n - 1);
	} else {
		r->fn_len = 0;
		r->flags |= SL_REQ_RETRY;
	}
	if (sl_user_str_cut(filename, n))
		r->flags |= SL_REQ_TRUNCATED;
	tid = (__u32)bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&sl_exec_reqs, &tid, r, BPF_ANY))
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_EXEC_FAILED);
	return 0;
}

static __always_inline int sl_execve_exit(long ret)
{
	struct sl_exec_failed_event *e;
	struct sl_exec_req *r;
	struct sl_exec_buf *b;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 n = 0;

	r = bpf_map_lookup_elem(&sl_exec_reqs, &tid);
	if (!r)
		return 0;
	if (ret >= 0)
		goto out;
	b = sl_exec_buf_get();
	if (!b)
		goto out;
	e = (struct sl_exec_failed_event *)b->rec;
	sl_hdr_fill(&e->hdr, SL_OP_EXEC_FAILED, r->cgid);
	e->ret = (__s32)ret;
	e->syscall = r->syscall;
	e->dirfd = r->dirfd;
	e->_pad = 0;
	if (r->flags & SL_REQ_TRUNCATED)
		e->hdr.flags |= SL_EVF_TRUNCATED;
	if (!(r->flags & SL_REQ_RETRY)) {
		n = r->fn_len & SL_PATH_MASK;
		if (bpf_probe_read_kernel(e->data, n, r->fn))
			n = 0;
	} else {
		long m = bpf_probe_read_user_str(e->data, SL_PATH_MAX, (void *)r->ptr);

		if (m > 0)
			n = (__u32)(m - 1) & SL_PATH_MASK;
		if (sl_user_str_cut((void *)r->ptr, m))
			e->hdr.flags |= SL_EVF_TRUNCATED;
		else if (m <= 0 && ret != -SL_EFAULT) /* the caller passed a bad pointer */
			e->hdr.flags |= SL_EVF_READ_FAULT;
	}
	e->filename_len = n;
	sl_emit(e, sizeof(*e) + n);
out:
	bpf_map_delete_elem(&sl_exec_reqs, &tid);
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int sl_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return sl_execve_enter(SL_SYS_EXECVE, -100, (const char *)ctx->args[0]);
}

SEC("tp/syscalls/sys_enter_execveat")
int sl_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return sl_execve_enter(SL_SYS_EXECVEAT, (__s32)ctx->args[0], (const char *)ctx->args[1]);
}

SEC("tp/syscalls/sys_exit_execve")
int sl_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return sl_execve_exit(ctx->ret);
}

SEC("tp/syscalls/sys_exit_execveat")
int sl_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return sl_execve_exit(ctx->ret);
}

/* ---- lineage and exit ---- */

/*
 * raw tracepoint: the classic one names the child by pid only, and a new
 * thread must not get an entry of its own (sl_procs is keyed by tgid).
 */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(sl_fork, struct task_struct *parent, struct task_struct *child)
{
	struct sl_proc_info *pi, copy;
	__u32 ptgid, ctgid;

	if (!sl_current_session(NULL))
		return 0;
	ctgid = BPF_CORE_READ(child, tgid);
	if (ctgid != (__u32)BPF_CORE_READ(child, pid))
		return 0; /* a thread: shares its process' entry */
	ptgid = bpf_get_current_pid_tgid() >> 32;
	pi = bpf_map_lookup_elem(&sl_procs, &ptgid);
	if (!pi)
		return 0;
	copy = *pi;
	if (bpf_map_update_elem(&sl_procs, &ctgid, &copy, BPF_ANY))
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_EXEC);
	sl_tls_gate_fork(ptgid, ctgid, child);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int sl_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct sl_exit_event e = {};
	bool group_dead;
	__u64 cgid;

	/* group_dead: v6.16 added it to the tracepoint; before, signal->live */
	if (bpf_core_field_exists(ctx->group_dead))
		group_dead = BPF_CORE_READ(ctx, group_dead);
	else
		group_dead = BPF_CORE_READ(task, signal, live.counter) == 0;

	if (sl_current_session(&cgid)) {
		sl_task_forget((__u32)pid_tgid);
		if (group_dead) {
			struct signal_struct *sig = BPF_CORE_READ(task, signal);

			/* what wait(2) reports (wait_task_zombie) */
			if (BPF_CORE_READ(sig, flags) & SL_SIGNAL_GROUP_EXIT)
				e.exit_code = BPF_CORE_READ(sig, group_exit_code);
			else
				e.exit_code = BPF_CORE_READ(task, group_leader, exit_code);
			sl_hdr_fill(&e.hdr, SL_OP_EXIT, cgid);
			sl_emit(&e, sizeof(e));
		}
	}
	/* any process leaving: drop its lineage (it may have left the session) */
	if (group_dead) {
		bpf_map_delete_elem(&sl_procs, &tgid);
		bpf_map_delete_elem(&sl_prog_opened, &tgid);
		bpf_map_delete_elem(&sl_throttled, &tgid);
		sl_tls_gate_exit(tgid);
	}
	return 0;
}
