// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Decoder for SL_OP_OPEN records (docs/events.md). "path" is the file the
 * kernel opened (walked from its dentry and mount); "requested" is the
 * caller's string, telemetry only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ingest_decode.h"

/*
 * Open flags as the kernel defines them (include/uapi/asm-generic/fcntl.h,
 * which x86 uses). Not <fcntl.h>: glibc defines O_LARGEFILE as 0 on x86_64,
 * and the record carries the flags exactly as the caller passed them.
 */
#define K_O_ACCMODE 00000003
#define K_O_DSYNC 00010000
#define K_O_DIRECTORY 00200000
#define K___O_SYNC 04000000
#define K___O_TMPFILE 020000000

/*
 * In bit order. A flag is named when all bits of mask are set, unless a
 * composite that includes it (O_SYNC, O_TMPFILE) is set: then the composite
 * is named in its place.
 */
static const struct {
	unsigned int mask;
	unsigned int unless;
	const char *name;
} open_flags[] = {
    {00000100, 0, "O_CREAT"},
    {00000200, 0, "O_EXCL"},
    {00000400, 0, "O_NOCTTY"},
    {00001000, 0, "O_TRUNC"},
    {00002000, 0, "O_APPEND"},
    {00004000, 0, "O_NONBLOCK"},
    {K_O_DSYNC, K___O_SYNC, "O_DSYNC"},
    {00020000, 0, "O_ASYNC"},
    {00040000, 0, "O_DIRECT"},
    {00100000, 0, "O_LARGEFILE"},
    {K_O_DIRECTORY, K___O_TMPFILE, "O_DIRECTORY"},
    {00400000, 0, "O_NOFOLLOW"},
    {01000000, 0, "O_NOATIME"},
    {02000000, 0, "O_CLOEXEC"},
    {K___O_SYNC | K_O_DSYNC, 0, "O_SYNC"},
    {010000000, 0, "O_PATH"},
    {K___O_TMPFILE | K_O_DIRECTORY, 0, "O_TMPFILE"},
};

static size_t append(char *buf, size_t n, const char *s)
{
	size_t l = strlen(s);

	memcpy(buf + n, s, l);
	return n + l;
}

/*
 * "O_WRONLY|O_CREAT|O_TRUNC"; bits without a name as a trailing hex number.
 * buf has room for every name (below 256 bytes). Hot (every open): no printf.
 */
static void flags_text(unsigned int flags, char *buf, size_t size)
{
	static const char *const acc[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
	static const char hex[] = "0123456789abcdef";
	unsigned int left = flags & ~K_O_ACCMODE;
	size_t n = append(buf, 0, acc[flags & K_O_ACCMODE]);

	(void)size;
	for (size_t i = 0; i < sizeof(open_flags) / sizeof(open_flags[0]); i++) {
		unsigned int m = open_flags[i].mask;

		if ((flags & m) != m || (open_flags[i].unless && (flags & open_flags[i].unless)))
			continue;
		buf[n++] = '|';
		n = append(buf, n, open_flags[i].name);
		left &= ~m;
	}
	if (left) {
		char t[8];
		int k = 0;

		n = append(buf, n, "|0x");
		do {
			t[k++] = hex[left & 15];
			left >>= 4;
		} while (left);
		while (k)
			buf[n++] = t[--k];
	}
	buf[n] = '\0';
}

/* "major:minor" */
static void dev_text(uint32_t major, uint32_t minor, char buf[32])
{
	char t[12];
	size_t n = 0;
	int k;

	for (int pass = 0; pass < 2; pass++) {
		uint32_t v = pass ? minor : major;

		k = 0;
		do {
			t[k++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		while (k)
			buf[n++] = t[--k];
		if (!pass)
			buf[n++] = ':';
	}
	buf[n] = '\0';
}

static const char *open_syscall_name(unsigned int sys)
{
	switch (sys) {
	case SL_SYS_OPEN:
		return "open";
	case SL_SYS_OPENAT:
		return "openat";
	case SL_SYS_OPENAT2:
		return "openat2";
	case SL_SYS_CREAT:
		return "creat";
	case SL_SYS_OPEN_BY_HANDLE_AT:
		return "open_by_handle_at";
	default:
		return NULL;
	}
}

int sl_decode_open(const void *data, size_t len, struct sl_jw *w)
{
	const struct sl_open_event *e = data;
	char text[256], dev[32];
	const char *sys;

	if (len < sizeof(*e) || sizeof(*e) + (size_t)e->path_len + e->req_len != len)
		return -EBADMSG;
	sys = open_syscall_name(e->syscall);
	if (!sys || (e->ret < 0 && (e->path_len || e->env)))
		return -EBADMSG;
	flags_text(e->flags, text, sizeof(text));

	sl_jw_str(w, "syscall", sys);
	sl_jw_int(w, "flags", e->flags);
	sl_jw_str(w, "flags_text", text);
	sl_jw_int(w, "mode", e->mode);
	sl_jw_int(w, "dirfd", e->dirfd);
	sl_jw_int(w, "result", e->ret);
	if (e->ret < 0) {
		sl_jw_int(w, "errno", -(int64_t)e->ret);
		sl_jw_str(w, "error", strerrorname_np(e->ret > -4096 ? -e->ret : 0));
	} else {
		/* the kernel's dev_t (scopelock_abi.h) */
		dev_text(SL_KDEV_MAJOR(e->dev), SL_KDEV_MINOR(e->dev), dev);
		sl_jw_bytes(w, "path", e->data, e->path_len);
		sl_jw_str(w, "dev", dev);
		sl_jw_uint(w, "ino", e->ino);
		if (e->hdr.flags & SL_EVF_PATH_PARTIAL)
			sl_jw_bool(w, "path_partial", true);
		/* environments labelling the path (when any); the daemon adds their names */
		if (e->env)
			sl_jw_uint(w, "env_mask", e->env);
	}
	sl_jw_bytes(w, "requested", e->data + e->path_len, e->req_len);
	return w->err;
}
