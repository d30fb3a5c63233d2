/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Path of a (dentry, vfsmount) pair, walked in the kernel the way d_path()
 * does it: from the dentry up to the root of its mount, then across to the
 * mount point in the parent mount, until the root of the mount namespace.
 * The result names the object the kernel holds, whatever string the caller
 * used to reach it (symlinks, "..", dirfd-relative, /proc/self/fd/N).
 *
 * The path is built backwards, from the end of a per-CPU scratch buffer, by
 * a bpf_loop() callback (one component or one mount crossing per step).
 *
 * Results:
 *   "/a/b/c"                 the path from the namespace root
 *   "/a/b/c (deleted)"       the file was unlinked (as d_path writes it)
 *   "/"                      the root itself
 *   "pipe:", "socket:TCP", "anon_inode:[eventfd]"
 *                            pseudo files (internal mounts, no path)
 *   "tmpfs:memfd:x"          other internal mounts: "<fs type>:<name>"
 *   "name" + PATH_PARTIAL    a dentry not connected to its mount root
 *                            (e.g. open_by_handle_at): the tail of the path
 *   "/b/c" + PATH_PARTIAL    the depth (SL_PATH_DEPTH_MAX components) or
 *          + TRUNCATED       length (SL_PATH_MAX - 1) limit was hit: the tail
 */
#ifndef SCOPELOCK_PATH_BPF_H
#define SCOPELOCK_PATH_BPF_H

#include "common.bpf.h"

/* include/linux/fs.h (stable since v2.6): internal mounts (pipefs, sockfs...) */
#define SL_SB_NOUSER (1U << 31)

#define SL_NAME_MAX 255
/* room for a whole SL_PATH_MAX path plus one component written past it */
#define SL_PATH_SCRATCH (SL_PATH_MAX + SL_NAME_MAX + 1)
#define SL_PATH_MASK (SL_PATH_MAX - 1)
/* steps: components plus mount crossings */
#define SL_PATH_STEPS (SL_PATH_DEPTH_MAX * 2)

_Static_assert((SL_PATH_MAX & SL_PATH_MASK) == 0, "SL_PATH_MAX must be a power of two");

struct sl_path_buf {
	char buf[SL_PATH_SCRATCH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_path_buf);
} sl_path_scratch SEC(".maps") __weak;

enum sl_walk_stop {
	SL_WALK_RUNNING = 0,
	SL_WALK_ROOT = 1,	  /* reached the root of the mount namespace */
	SL_WALK_DISCONNECTED = 2, /* a dentry that is its own parent, not a mount root */
	SL_WALK_LIMIT = 3,	  /* depth or length limit */
	SL_WALK_FAULT = 4,	  /* a kernel read failed */
};

struct sl_path_walk {
	struct dentry *dentry;
	struct dentry *mnt_root;
	struct mount *mnt;
	__u32 pos; /* the path is scratch->buf[pos, SL_PATH_MAX) */
	__u32 depth;
	__u32 stop; /* enum sl_walk_stop */
	__u32 _pad;
};

/* the result: scratch->buf[off, off + len), len < SL_PATH_MAX */
struct sl_path_res {
	__u32 off;
	__u32 len;
	__u32 flags; /* SL_EVF_PATH_PARTIAL, SL_EVF_READ_FAULT */
	__u32 _pad;
};

static __always_inline struct sl_path_buf *sl_path_buf_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sl_path_scratch, &zero);
}

/* Prepend n bytes from kernel memory src before w->pos; keeps pos >= 1. */
static __always_inline int sl_path_prepend(struct sl_path_buf *pb, struct sl_path_walk *w,
					   const void *src, __u32 n)
{
	__u32 pos;

	if (n > SL_NAME_MAX)
		n = SL_NAME_MAX;
	if (n + 1 > w->pos) {
		w->stop = SL_WALK_LIMIT;
		return -1;
	}
	pos = w->pos - n;
	if (bpf_probe_read_kernel(&pb->buf[pos & SL_PATH_MASK], n & SL_NAME_MAX, src)) {
		w->stop = SL_WALK_FAULT;
		return -1;
	}
	w->pos = pos;
	return 0;
}

static __always_inline int sl_path_prepend_char(struct sl_path_buf *pb, struct sl_path_walk *w,
						char c)
{
	if (w->pos < 2) {
		w->stop = SL_WALK_LIMIT;
		return -1;
	}
	w->pos--;
	pb->buf[w->pos & SL_PATH_MASK] = c;
	return 0;
}

static long sl_path_step(__u32 index, void *ctx)
{
	struct sl_path_walk *w = ctx;
	struct dentry *d = w->dentry, *parent;
	struct sl_path_buf *pb;
	const unsigned char *name;
	__u32 n;

	if (!d) {
		w->stop = SL_WALK_FAULT;
		return 1;
	}
	if (d == w->mnt_root) {
		/* local copy: CO-RE relocations apply to kernel types only */
		struct mount *m = w->mnt;
		struct mount *up = BPF_CORE_READ(m, mnt_parent);

		/* the namespace root (and detached mounts) are their own parent */
		if (!up || up == m) {
			w->stop = SL_WALK_ROOT;
			return 1;
		}
		w->dentry = BPF_CORE_READ(m, mnt_mountpoint);
		w->mnt = up;
		w->mnt_root = BPF_CORE_READ(up, mnt.mnt_root);
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (!parent || parent == d) {
		w->stop = SL_WALK_DISCONNECTED;
		return 1;
	}
	if (w->depth >= SL_PATH_DEPTH_MAX) {
		w->stop = SL_WALK_LIMIT;
		return 1;
	}
	pb = sl_path_buf_get();
	if (!pb) {
		w->stop = SL_WALK_FAULT;
		return 1;
	}
	n = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	if (sl_path_prepend(pb, w, name, n) || sl_path_prepend_char(pb, w, '/'))
		return 1;
	w->depth++;
	w->dentry = parent;
	return 0;
}

/* "pipefs" -> "pipe" etc., the names d_path() gives pseudo files */
static __always_inline int sl_path_prepend_kind(struct sl_path_buf *pb, struct sl_path_walk *w,
						struct super_block *sb)
{
	static const char pipe[] = "pipe", sock[] = "socket", anon[] = "anon_inode";
	const char *type_name = BPF_CORE_READ(sb, s_type, name);
	char t[16] = {};
	long n;

	n = bpf_probe_read_kernel_str(t, sizeof(t), type_name);
	if (n <= 1)
		return sl_path_prepend_char(pb, w, '?');
	if (t[0] == 'p' && t[1] == 'i' && t[2] == 'p' && t[3] == 'e' && t[4] == 'f' &&
	    t[5] == 's' && !t[6])
		return sl_path_prepend(pb, w, pipe, sizeof(pipe) - 1);
	if (t[0] == 's' && t[1] == 'o' && t[2] == 'c' && t[3] == 'k' && t[4] == 'f' &&
	    t[5] == 's' && !t[6])
		return sl_path_prepend(pb, w, sock, sizeof(sock) - 1);
	if (t[0] == 'a' && t[1] == 'n' && t[2] == 'o' && t[3] == 'n' && t[4] == '_' &&
	    t[5] == 'i' && t[6] == 'n' && t[7] == 'o' && t[8] == 'd' && t[9] == 'e')
		return sl_path_prepend(pb, w, anon, sizeof(anon) - 1);
	return sl_path_prepend(pb, w, t, (__u32)(n - 1) & 15);
}

/*
 * Walk (dentry, vfsmnt) into the per-CPU scratch buffer. Returns the scratch
 * buffer (the path is at buf[res->off, res->off + res->len)) or NULL when
 * nothing could be produced (res->flags says why).
 */
static __always_inline struct sl_path_buf *
sl_path_walk(struct dentry *dentry, struct vfsmount *vfsmnt, struct sl_path_res *res)
{
	static const char deleted[] = " (deleted)";
	struct sl_path_walk w = {};
	struct sl_path_buf *pb;
	struct dentry *parent;
	__u32 tail;

	res->off = 0;
	res->len = 0;
	res->flags = 0;
	pb = sl_path_buf_get();
	if (!pb || !dentry || !vfsmnt) {
		res->flags |= SL_EVF_READ_FAULT;
		return NULL;
	}
	w.dentry = dentry;
	w.mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	w.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	w.pos = SL_PATH_MAX;

	/* d_unlinked(): unhashed and not a root: say so, as d_path() does */
	parent = BPF_CORE_READ(dentry, d_parent);
	if (parent != dentry && !BPF_CORE_READ(dentry, d_hash.pprev)) {
		sl_path_prepend(pb, &w, deleted, sizeof(deleted) - 1);
	}
	tail = w.pos;

	bpf_loop(SL_PATH_STEPS, sl_path_step, &w, 0);

	switch (w.stop) {
	case SL_WALK_ROOT:
		/* nothing prepended: the root itself */
		if (w.pos == tail)
			sl_path_prepend_char(pb, &w, '/');
		break;
	case SL_WALK_DISCONNECTED: {
		struct dentry *d = w.dentry;
		struct super_block *sb = BPF_CORE_READ(d, d_sb);
		__u32 n = BPF_CORE_READ(d, d_name.len);
		const unsigned char *name = BPF_CORE_READ(d, d_name.name);
		int leaf = d == dentry;

		if (sl_path_prepend(pb, &w, name, n))
			break;
		if (leaf && (BPF_CORE_READ(sb, s_flags) & SL_SB_NOUSER)) {
			/* pipe, socket, anon inode: "<kind>:<name>" */
			if (sl_path_prepend_char(pb, &w, ':') == 0)
				sl_path_prepend_kind(pb, &w, sb);
		} else {
			res->flags |= SL_EVF_PATH_PARTIAL;
		}
		break;
	}
	case SL_WALK_FAULT:
		res->flags |= SL_EVF_READ_FAULT | SL_EVF_PATH_PARTIAL;
		break;
	default: /* SL_WALK_LIMIT, or the step budget ran out */
		res->flags |= SL_EVF_PATH_PARTIAL | SL_EVF_TRUNCATED;
		break;
	}
	/* a prepend in the DISCONNECTED case can hit the limit too */
	if (w.stop == SL_WALK_LIMIT)
		res->flags |= SL_EVF_PATH_PARTIAL | SL_EVF_TRUNCATED;
	if (w.pos > SL_PATH_MAX)
		w.pos = SL_PATH_MAX;
	res->off = w.pos & SL_PATH_MASK;
	res->len = (SL_PATH_MAX - w.pos) & SL_PATH_MASK;
	return pb;
}

/*
 * Copy a walked path to dst (room for SL_PATH_MAX - 1 bytes). Returns the
 * number of bytes copied (0 on failure).
 */
static __always_inline __u32 sl_path_copy(void *dst, const struct sl_path_buf *pb,
					  const struct sl_path_res *res)
{
	__u32 len = res->len & SL_PATH_MASK;

	if (!pb || !len)
		return 0;
	if (bpf_probe_read_kernel(dst, len, &pb->buf[res->off & SL_PATH_MASK]))
		return 0;
	return len;
}

#endif /* SCOPELOCK_PATH_BPF_H */
