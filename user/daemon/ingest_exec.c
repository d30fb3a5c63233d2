// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Decoders for SL_OP_EXEC, SL_OP_EXEC_FAILED and SL_OP_EXIT records
 * (docs/events.md). Byte strings (filename, cwd, argv) go through the
 * lossless bytes encoding: they may be anything but NUL-free UTF-8.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "ingest_decode.h"

static void set_errno(struct sl_jw *w, int ret)
{
	sl_jw_int(w, "errno", -(int64_t)ret);
	sl_jw_str(w, "error", strerrorname_np(ret > -4096 ? -ret : 0));
}

/* NUL-separated arguments: an array of bytes values */
static void put_argv(struct sl_jw *w, const char *p, size_t len)
{
	const char *end = p + len;

	sl_jw_arr(w, "argv");
	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);

		sl_jw_bytes(w, NULL, p, n);
		p += n + (nul ? 1 : 0);
	}
	sl_jw_end(w);
}

int sl_decode_exec(const void *data, size_t len, struct sl_jw *w)
{
	const struct sl_exec_event *e = data;
	const char *filename, *cwd, *args;
	size_t need;

	if (len < sizeof(*e))
		return -EBADMSG;
	need = sizeof(*e) + (size_t)e->filename_len + e->cwd_len + e->args_len;
	if (need != len || e->args_len > e->args_total)
		return -EBADMSG;
	filename = e->data;
	cwd = filename + e->filename_len;
	args = cwd + e->cwd_len;

	/* "exec_id" is the header's: written by the core */
	sl_jw_uint(w, "parent_exec_id", e->parent_exec_id);
	sl_jw_int(w, "ppid", e->ppid);
	sl_jw_int(w, "old_tid", e->old_tid);
	sl_jw_bytes(w, "filename", filename, e->filename_len);
	sl_jw_bytes(w, "cwd", cwd, e->cwd_len);
	if (e->hdr.flags & SL_EVF_PATH_PARTIAL)
		sl_jw_bool(w, "cwd_partial", true);
	put_argv(w, args, e->args_len);
	sl_jw_bool(w, "args_truncated", e->args_len < e->args_total);
	sl_jw_int(w, "args_total_bytes", e->args_total);
	return w->err;
}

static const char *exec_syscall_name(unsigned int sys)
{
	switch (sys) {
	case SL_SYS_EXECVE:
		return "execve";
	case SL_SYS_EXECVEAT:
		return "execveat";
	default:
		return NULL;
	}
}

int sl_decode_exec_failed(const void *data, size_t len, struct sl_jw *w)
{
	const struct sl_exec_failed_event *e = data;
	const char *sys;

	if (len < sizeof(*e) || sizeof(*e) + (size_t)e->filename_len != len)
		return -EBADMSG;
	sys = exec_syscall_name(e->syscall);
	if (!sys || e->ret >= 0)
		return -EBADMSG;

	sl_jw_str(w, "syscall", sys);
	if (e->syscall == SL_SYS_EXECVEAT)
		sl_jw_int(w, "dirfd", e->dirfd);
	sl_jw_bytes(w, "filename", e->data, e->filename_len);
	set_errno(w, e->ret);
	return w->err;
}

int sl_decode_exit(const void *data, size_t len, struct sl_jw *w)
{
	const struct sl_exit_event *e = data;
	int status;

	if (len != sizeof(*e))
		return -EBADMSG;
	status = e->exit_code;

	sl_jw_int(w, "status", status);
	if (WIFSIGNALED(status)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(status));
		char name[32];

		snprintf(name, sizeof(name), "SIG%s", abbrev ? abbrev : "?");
		/* as `scopelock run` and shells report it */
		sl_jw_int(w, "exit_code", 128 + WTERMSIG(status));
		sl_jw_int(w, "signal", WTERMSIG(status));
		sl_jw_str(w, "signal_name", abbrev ? name : NULL);
		sl_jw_bool(w, "core_dumped", WCOREDUMP(status));
	} else {
		sl_jw_int(w, "exit_code", WEXITSTATUS(status));
		sl_jw_null(w, "signal");
	}
	return w->err;
}
