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
#include "jsonbytes.h"

static int set_errno(json_t *rec, int ret)
{
	int e = -ret;
	const char *name = strerrorname_np(e);
	int err = 0;

	err |= json_object_set_new(rec, "errno", json_integer(e));
	err |= json_object_set_new(rec, "error", name ? json_string(name) : json_null());
	return err ? -ENOMEM : 0;
}

int sl_decode_exec(const void *data, size_t len, json_t *rec)
{
	const struct sl_exec_event *e = data;
	const char *filename, *cwd, *args;
	size_t need;
	int err = 0;

	if (len < sizeof(*e))
		return -EBADMSG;
	need = sizeof(*e) + (size_t)e->filename_len + e->cwd_len + e->args_len;
	if (need != len || e->args_len > e->args_total)
		return -EBADMSG;
	filename = e->data;
	cwd = filename + e->filename_len;
	args = cwd + e->cwd_len;

	err |= json_object_set_new(rec, "exec_id", json_integer((json_int_t)e->hdr.exec_id));
	err |=
	    json_object_set_new(rec, "parent_exec_id", json_integer((json_int_t)e->parent_exec_id));
	err |= json_object_set_new(rec, "ppid", json_integer(e->ppid));
	err |= json_object_set_new(rec, "old_tid", json_integer(e->old_tid));
	err |= sl_json_set_bytes(rec, "filename", filename, e->filename_len);
	err |= sl_json_set_bytes(rec, "cwd", cwd, e->cwd_len);
	if (e->hdr.flags & SL_EVF_PATH_PARTIAL)
		err |= json_object_set_new(rec, "cwd_partial", json_true());
	err |= json_object_set_new(rec, "argv", sl_json_argv(args, e->args_len));
	err |=
	    json_object_set_new(rec, "args_truncated", json_boolean(e->args_len < e->args_total));
	err |= json_object_set_new(rec, "args_total_bytes", json_integer(e->args_total));
	return err ? -ENOMEM : 0;
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

int sl_decode_exec_failed(const void *data, size_t len, json_t *rec)
{
	const struct sl_exec_failed_event *e = data;
	const char *sys;
	int err = 0;

	if (len < sizeof(*e) || sizeof(*e) + (size_t)e->filename_len != len)
		return -EBADMSG;
	sys = exec_syscall_name(e->syscall);
	if (!sys || e->ret >= 0)
		return -EBADMSG;

	err |= json_object_set_new(rec, "syscall", json_string(sys));
	if (e->syscall == SL_SYS_EXECVEAT)
		err |= json_object_set_new(rec, "dirfd", json_integer(e->dirfd));
	err |= sl_json_set_bytes(rec, "filename", e->data, e->filename_len);
	err |= set_errno(rec, e->ret);
	return err ? -ENOMEM : 0;
}

int sl_decode_exit(const void *data, size_t len, json_t *rec)
{
	const struct sl_exit_event *e = data;
	int status, err = 0;

	if (len != sizeof(*e))
		return -EBADMSG;
	status = e->exit_code;

	err |= json_object_set_new(rec, "status", json_integer(status));
	if (WIFSIGNALED(status)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(status));
		char name[32];

		snprintf(name, sizeof(name), "SIG%s", abbrev ? abbrev : "?");
		/* as `scopelock run` and shells report it */
		err |= json_object_set_new(rec, "exit_code", json_integer(128 + WTERMSIG(status)));
		err |= json_object_set_new(rec, "signal", json_integer(WTERMSIG(status)));
		err |= json_object_set_new(rec, "signal_name",
					   abbrev ? json_string(name) : json_null());
		err |= json_object_set_new(rec, "core_dumped", json_boolean(WCOREDUMP(status)));
	} else {
		err |= json_object_set_new(rec, "exit_code", json_integer(WEXITSTATUS(status)));
		err |= json_object_set_new(rec, "signal", json_null());
	}
	return err ? -ENOMEM : 0;
}
