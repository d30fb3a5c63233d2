// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * File opens of session processes: open, openat, openat2, creat and
 * open_by_handle_at.
 *
 *   sys_enter_*  session check; flags, mode, dirfd and the caller's string
 *                (telemetry) saved per thread
 *   sys_exit_*   SL_OP_OPEN with the result; for a new fd, the struct file the
 *                kernel installed: device, inode and the path walked from its
 *                dentry and mount (symlinks, "..", dirfd-relative and
 *                /proc/self/fd/N all resolve to the real file)
 *
 * With a policy loaded, the walked path of a new fd is looked up in the path
 * labels: a labelled open taints the session with the label's environments
 * (before the record is emitted) and the record carries them. Then the rules
 * of channel open decide, with the path's labels as the evidence: kill
 * (SIGKILL at sys_exit: the fd is never used), freeze (session held,
 * SIGSTOP), log or alert; the verdict record follows the open record.
 */
#include "common.bpf.h"
#include "label.bpf.h"
#include "match.bpf.h"
#include "path.bpf.h"
#include "task.bpf.h"

/* include/uapi/asm-generic/fcntl.h (x86): creat() = O_CREAT|O_WRONLY|O_TRUNC */
#define SL_O_CREAT_WRONLY_TRUNC 01101
#define SL_O_ACCMODE 03
#define SL_O_WRONLY 01
#define SL_AT_FDCWD (-100)
#define SL_EFAULT 14

struct sl_open_buf {
	char rec[sizeof(struct sl_open_event) + 2 * SL_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_open_buf);
} sl_open_buf SEC(".maps");

/* the open being reported (too big for the stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_open_req);
} sl_open_req_scratch SEC(".maps");

/*
 * The open's arguments, read at the syscall's exit from the registers the
 * task entered with (the kernel leaves them as they were) and the caller's
 * string (the kernel has just read it: its page is there). One tracepoint
 * per open, not two: a process outside every session pays one.
 */
static __always_inline struct sl_open_req *sl_open_args(__u64 cgid, __u32 sys, __s32 dirfd,
							const char *path, __u32 oflags, __u32 mode)
{
	struct sl_open_req *r;
	__u32 zero = 0;
	long n;

	r = bpf_map_lookup_elem(&sl_open_req_scratch, &zero);
	if (!r)
		return NULL;
	r->cgid = cgid;
	r->ptr = (__u64)path;
	r->oflags = oflags;
	r->mode = mode;
	r->syscall = sys;
	r->dirfd = dirfd;
	r->req_len = 0;
	r->flags = 0;
	if (path) {
		n = bpf_probe_read_user_str(r->req, sizeof(r->req), path);
		if (n > 0)
			r->req_len = (__u32)(n - 1);
		else
			r->flags |= SL_REQ_RETRY;
		if (sl_user_str_cut(path, n))
			r->flags |= SL_REQ_TRUNCATED;
	}
	return r;
}

/* the struct file behind fd in the current task's table, or NULL */
static __always_inline struct file *sl_fd_file(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fda, *file = NULL;
	unsigned int max;

	if (!fdt)
		return NULL;
	max = BPF_CORE_READ(fdt, max_fds);
	if (fd < 0 || fd >= max)
		return NULL;
	fda = BPF_CORE_READ(fdt, fd);
	if (!fda || bpf_probe_read_kernel(&file, sizeof(file), &fda[fd]))
		return NULL;
	return file;
}

/*
 * Judge a successful open of session cgid: the labels of its walked path
 * (path, len bytes of map memory; 0 when the path is only a tail: trunc
 * when the walk stopped at the length, depth or mount limit) taint the
 * session, then the rules of channel open decide on that evidence, and the
 * kernel acts (SIGKILL or hold: delivered before the task returns to user
 * space, so the fd is never used). Returns the decision (NULL: no rule
 * matched, or no policy); *env: the path's labels; *vflags: SL_VERDICT_*.
 */
static __always_inline struct sl_match *sl_open_judge(__u64 cgid, const char *path, __u32 len,
						      bool trunc, struct file *file, __u64 *env,
						      __u32 *vflags)
{
	struct sl_session_info *s;
	struct sl_match *m;
	int whole = 0;

	m = sl_match_begin(SL_KCH_OPEN);
	if (!m)
		return NULL;
	*env = len ? sl_label_path(m->slot, path, len) : 0;
	/*
	 * Wildcard globs, decided here with the rest (the taint is in the
	 * session before the task returns from the open). A path the kernel
	 * could not walk whole (longer than SL_PATH_MAX - 1 bytes, deeper than
	 * SL_PATH_DEPTH_MAX components, too many mounts) may be one a glob
	 * names: it carries the labels of every glob that can match a path
	 * that long or deep (glob_trunc_env: fail closed).
	 */
	if (m->glob_states) {
		if (len)
			*env |= sl_label_glob(m->slot, path, len);
		else if (trunc)
			*env |= m->glob_trunc_env;
	}
	/*
	 * Labels by identity of the file and of every directory above it: they
	 * hold through bind mounts and renames, and past the path walk's depth
	 * limit. A path that was only partly walked (len 0) and whose ancestors
	 * could not all be visited may lie under a labelled directory: the
	 * evidence is unreadable (settings.unreadable decides).
	 */
	if (m->n_path_labels && file)
		whole = sl_label_inodes(BPF_CORE_READ(file, f_path.dentry),
					BPF_CORE_READ(file, f_path.mnt), m->slot, env);
	if (m->n_path_labels && !len && !whole)
		m->unread |= SL_UNREAD_PATH;
	s = bpf_map_lookup_elem(&sl_sessions, &cgid);
	if (!s)
		return NULL;
	if (sl_session_doomed(m, s, vflags))
		return m;
	if (*env)
		__sync_fetch_and_or(&s->taint, *env);
	/*
	 * The target of an open is its file alone (scopelock_decide.h): an
	 * unlabelled file is an unknown target, also in a tainted session.
	 */
	m->env = *env;
	m->n_patterns = 0; /* open rules have no pattern */
	if (!sl_match_decide(m, s))
		return NULL;
	*vflags = sl_verdict_act(m, s);
	return m;
}

/* ---- scripts: judged as the exec they are when the interpreter opens them ---- */

/*
 * A session process opened a program file (or a file of a program's size):
 * an interpreter opening its script (`./rw`, `sh rw`, `. rw`), the dynamic
 * loader opening the program it runs (`ld.so ./rw`), a shell redirecting
 * it (`sh -s args < rw`). Whatever name or way led there, the process's exec
 * is judged again as that program, with the argv, working directory and
 * environment read from the process (as at exec), before a line of it runs;
 * and a known program's words stay with the process for its next exec
 * (sl_prog_opened: the redirected shell). Only for program files and
 * possible copies; otherwise the exec's own judgement stands. file is the
 * struct file * of the open (a scalar here), fd its descriptor. Returns the
 * SL_VERDICT_* flags of a decision in the per-CPU sl_match (after acting),
 * -1 when none. A global function: verified once.
 */
__noinline int sl_script_judge(__u64 cgid, __u64 filep, __s32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	unsigned long arg_start, arg_end, env_start, env_end;
	struct file *file = (struct file *)filep;
	struct sl_session_info *s;
	__u64 kw[SL_KW_WORDS], len;
	struct sl_match *m;
	__u16 cs = 0, ci = 0;
	__u32 vflags = 0;
	int what, decided;

	s = bpf_map_lookup_elem(&sl_sessions, &cgid);
	if (!s)
		return -1;
	m = sl_match_begin(SL_KCH_EXEC);
	if (!m || !m->n_programs)
		return -1;
	what = sl_match_program(m, file, fd);
	if (!what)
		return -1;
	if (what == 2) {
		struct sl_prog_kw pk = {};
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;

		__builtin_memcpy(pk.kw, m->hypo, sizeof(pk.kw));
		if (bpf_map_update_elem(&sl_prog_opened, &tgid, &pk, BPF_ANY))
			sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_OPEN);
	}
	/* the working directory, by identity (its path is not at hand here) */
	if (!sl_label_inodes(BPF_CORE_READ(task, fs, pwd.dentry), BPF_CORE_READ(task, fs, pwd.mnt),
			     m->slot, &m->env) &&
	    m->n_path_labels)
		m->unread |= SL_UNREAD_PATH;
	/* argv of the exec, from the process: "interp script args " */
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (len > SL_EXEC_SCAN_MAX) {
		len = SL_EXEC_SCAN_MAX;
		m->unread |= SL_UNREAD_LIMIT;
	}
	if (len && sl_match_scan_user(m, &cs, &ci, arg_start, len, true) < 0)
		m->unread |= SL_UNREAD_FAULT;
	/* the environment block: labels only */
	env_start = BPF_CORE_READ(task, mm, env_start);
	env_end = BPF_CORE_READ(task, mm, env_end);
	len = env_end > env_start ? env_end - env_start : 0;
	if (len > SL_EXEC_SCAN_MAX) {
		len = SL_EXEC_SCAN_MAX;
		m->unread |= SL_UNREAD_ENV;
	}
	if (len) {
		__builtin_memcpy(kw, m->kw, sizeof(kw));
		cs = 0;
		ci = 0;
		if (sl_match_scan_user(m, &cs, &ci, env_start, len, true) < 0)
			m->unread |= SL_UNREAD_FAULT;
		__builtin_memcpy(m->kw, kw, sizeof(kw));
	}
	if (sl_session_doomed(m, s, &vflags))
		return (int)vflags;
	decided = sl_match_decide(m, s);
	if (what == 1 && sl_match_identify(m, s))
		decided = 1;
	if (!decided)
		return -1;
	return (int)sl_verdict_act(m, s);
}

/* the opened file as a program (sl_script_judge); not for write-only opens */
static __always_inline void sl_open_program(const struct sl_open_req *r, struct file *file, long fd)
{
	__u32 zero = 0;
	struct sl_match *m;
	int vflags;

	if (!file || (r->oflags & SL_O_ACCMODE) == SL_O_WRONLY)
		return;
	vflags = sl_script_judge(r->cgid, (__u64)file, (__s32)fd);
	m = vflags >= 0 ? bpf_map_lookup_elem(&sl_match_buf, &zero) : NULL;
	if (m)
		sl_verdict_emit(m, r->cgid, SL_OP_EXEC, 0, (__u32)vflags);
}

static __always_inline int sl_open_exit(long ret, struct sl_open_req *r)
{
	struct sl_open_event *e;
	struct sl_open_buf *b;
	__u32 zero = 0, plen = 0, rlen = 0, vflags = 0;
	struct sl_match *m = NULL;
	struct file *file = NULL;

	if (!r)
		return 0;
	b = bpf_map_lookup_elem(&sl_open_buf, &zero);
	if (!b)
		return 0;
	e = (struct sl_open_event *)b->rec;
	sl_hdr_fill(&e->hdr, SL_OP_OPEN, r->cgid);
	e->ret = (__s32)ret;
	e->flags = r->oflags;
	e->mode = r->mode;
	e->syscall = r->syscall;
	e->dirfd = r->dirfd;
	e->ino = 0;
	e->env = 0;
	e->dev = 0;
	e->_pad = 0;

	if (ret >= 0) {
		file = sl_fd_file(ret);
		struct sl_path_buf *pb;
		struct sl_path_res pr = {};
		struct inode *inode;

		if (file) {
			inode = BPF_CORE_READ(file, f_inode);
			e->ino = BPF_CORE_READ(inode, i_ino);
			e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
			pb = sl_path_walk(BPF_CORE_READ(file, f_path.dentry),
					  BPF_CORE_READ(file, f_path.mnt), &pr);
			e = (struct sl_open_event *)b->rec;
			plen = sl_path_copy(e->data, pb, &pr) & SL_PATH_MASK;
			e->hdr.flags |= pr.flags;
		} else {
			e->hdr.flags |= SL_EVF_READ_FAULT;
		}
		/* a partial path (a tail) is not what labels name */
		m = sl_open_judge(r->cgid, e->data, pr.flags & SL_EVF_PATH_PARTIAL ? 0 : plen,
				  pr.flags & SL_EVF_TRUNCATED, file, &e->env, &vflags);
	}

	if (r->flags & SL_REQ_TRUNCATED)
		e->hdr.flags |= SL_EVF_TRUNCATED;
	if (!(r->flags & SL_REQ_RETRY)) {
		rlen = r->req_len & SL_PATH_MASK;
		if (bpf_probe_read_kernel(e->data + plen, rlen, r->req))
			rlen = 0;
	} else if (r->ptr) {
		/* the kernel has read the string by now: its page is mapped */
		long m = bpf_probe_read_user_str(e->data + plen, SL_PATH_MAX, (void *)r->ptr);

		if (m > 0)
			rlen = (__u32)(m - 1) & SL_PATH_MASK;
		if (sl_user_str_cut((void *)r->ptr, m))
			e->hdr.flags |= SL_EVF_TRUNCATED;
		else if (m <= 0 && ret != -SL_EFAULT)
			e->hdr.flags |= SL_EVF_READ_FAULT;
	}
	e->path_len = plen;
	e->req_len = rlen;
	sl_emit_to(e, sizeof(*e) + plen + rlen, m && sl_match_prio(m));
	if (m)
		sl_verdict_emit(m, r->cgid, SL_OP_OPEN, 0, vflags);
	if (ret >= 0)
		sl_open_program(r, file, ret);
	return 0;
}

/* the registers the task entered the syscall with (x86-64 syscall ABI) */
#define SL_ARG1(regs) PT_REGS_PARM1_CORE_SYSCALL(regs)
#define SL_ARG2(regs) PT_REGS_PARM2_CORE_SYSCALL(regs)
#define SL_ARG3(regs) PT_REGS_PARM3_CORE_SYSCALL(regs)
#define SL_ARG4(regs) PT_REGS_PARM4_CORE_SYSCALL(regs)

static __always_inline struct pt_regs *sl_entry_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

SEC("tp/syscalls/sys_exit_open")
int sl_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;
	__u64 cgid;

	if (!sl_current_session(&cgid))
		return 0;
	regs = sl_entry_regs();
	return sl_open_exit(ctx->ret, sl_open_args(cgid, SL_SYS_OPEN, SL_AT_FDCWD,
						   (const char *)SL_ARG1(regs),
						   (__u32)SL_ARG2(regs), (__u32)SL_ARG3(regs)));
}

SEC("tp/syscalls/sys_exit_openat")
int sl_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;
	__u64 cgid;

	if (!sl_current_session(&cgid))
		return 0;
	regs = sl_entry_regs();
	return sl_open_exit(ctx->ret, sl_open_args(cgid, SL_SYS_OPENAT, (__s32)SL_ARG1(regs),
						   (const char *)SL_ARG2(regs),
						   (__u32)SL_ARG3(regs), (__u32)SL_ARG4(regs)));
}

SEC("tp/syscalls/sys_exit_openat2")
int sl_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	struct open_how how = {};
	struct pt_regs *regs;
	__u64 cgid;

	if (!sl_current_session(&cgid))
		return 0;
	regs = sl_entry_regs();
	/* flags and mode as the caller passed them in struct open_how */
	bpf_probe_read_user(&how, sizeof(how.flags) + sizeof(how.mode), (void *)SL_ARG3(regs));
	return sl_open_exit(ctx->ret, sl_open_args(cgid, SL_SYS_OPENAT2, (__s32)SL_ARG1(regs),
						   (const char *)SL_ARG2(regs), (__u32)how.flags,
						   (__u32)how.mode));
}

SEC("tp/syscalls/sys_exit_creat")
int sl_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;
	__u64 cgid;

	if (!sl_current_session(&cgid))
		return 0;
	regs = sl_entry_regs();
	return sl_open_exit(ctx->ret, sl_open_args(cgid, SL_SYS_CREAT, SL_AT_FDCWD,
						   (const char *)SL_ARG1(regs),
						   SL_O_CREAT_WRONLY_TRUNC, (__u32)SL_ARG2(regs)));
}

SEC("tp/syscalls/sys_exit_open_by_handle_at")
int sl_exit_open_by_handle_at(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;
	__u64 cgid;

	if (!sl_current_session(&cgid))
		return 0;
	regs = sl_entry_regs();
	return sl_open_exit(ctx->ret,
			    sl_open_args(cgid, SL_SYS_OPEN_BY_HANDLE_AT, (__s32)SL_ARG1(regs), NULL,
					 (__u32)SL_ARG3(regs), 0));
}
