/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Environment labels of paths and addresses: lookups in the compiled policy's
 * LPM tries (include/scopelock_policy.h, bpf/policy.bpf.h). A label value is a
 * set of environments, bit (1 << id); 0 means no label says anything.
 *
 * Path keys: data[0] = the slot in force, then the path bytes, then a NUL;
 * prefixlen = the bits of slot + path + NUL. The compiler stores an exact
 * label as "path\0" and a directory label as "dir/", so "/srv/prod" matches
 * both "/srv/prod\0" and nothing under "/srv/production/". A path longer than
 * the key is looked up on its first SL_LABEL_PATH_MAX bytes without the NUL:
 * it can only match a directory label.
 */
#ifndef SCOPELOCK_LABEL_BPF_H
#define SCOPELOCK_LABEL_BPF_H

#include "common.bpf.h"
#include "policy.bpf.h"

#define SL_LABEL_KEY_BYTES (1 + SL_LABEL_PATH_MAX) /* sizeof(sl_path_key.data) */

/* the key is 260 bytes: built in a per-CPU scratch value, not on the stack */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_path_key);
} sl_label_key_scratch SEC(".maps") __weak;

static __always_inline __u64 sl_label_path_lookup(struct sl_path_key *k)
{
	__u64 *env = bpf_map_lookup_elem(&sl_path_labels, k);

	return env ? *env : 0;
}

/*
 * Labels of the path at src (kernel or map memory, len bytes, no NUL needed:
 * a walked path).
 */
static __always_inline __u64 sl_label_path(__u32 slot, const void *src, __u32 len)
{
	struct sl_path_key *k;
	__u32 zero = 0;

	k = bpf_map_lookup_elem(&sl_label_key_scratch, &zero);
	if (!k || !len)
		return 0;
	k->data[0] = slot;
	if (len < SL_LABEL_PATH_MAX) {
		/* keep the mask: the verifier needs the bound on this register */
		barrier_var(len);
		len &= 0xff;
		if (bpf_probe_read_kernel(&k->data[1], len, src))
			return 0;
		k->data[(len + 1) & 0xff] = 0;
		k->prefixlen = (len + 2) * 8;
	} else {
		if (bpf_probe_read_kernel(&k->data[1], SL_LABEL_PATH_MAX, src))
			return 0;
		k->prefixlen = SL_LABEL_KEY_BYTES * 8;
	}
	return sl_label_path_lookup(k);
}

/*
 * Labels of the NUL-terminated string at src (kernel or map memory, e.g. one
 * argument of an argv copy); with absolute, only a string beginning with '/'
 * is looked up (0 otherwise). *used: bytes of src consumed, the NUL included
 * when it was seen. *cut: the string was longer than a key and continues at
 * src + *used (then the key held its first SL_LABEL_PATH_MAX - 1 bytes).
 */
static __always_inline __u64 sl_label_path_str(__u32 slot, const void *src, bool absolute,
					       __u32 *used, bool *cut)
{
	struct sl_path_key *k;
	__u32 zero = 0;
	char next = 0;
	long n;

	*used = 0;
	*cut = false;
	k = bpf_map_lookup_elem(&sl_label_key_scratch, &zero);
	if (!k)
		return 0;
	k->data[0] = slot;
	/* at most SL_LABEL_PATH_MAX - 1 bytes and a NUL */
	n = bpf_probe_read_kernel_str(&k->data[1], SL_LABEL_PATH_MAX, src);
	if (n <= 0)
		return 0;
	*used = (__u32)n;
	k->prefixlen = (__u32)(n + 1) * 8;
	if (n == SL_LABEL_PATH_MAX &&
	    (bpf_probe_read_kernel(&next, 1, src + SL_LABEL_PATH_MAX - 1) || next)) {
		/* a full buffer and no NUL after it: cut; look up without the NUL */
		*cut = true;
		*used = SL_LABEL_PATH_MAX - 1;
		k->prefixlen = SL_LABEL_PATH_MAX * 8;
	}
	if (absolute && k->data[1] != '/')
		return 0;
	return sl_label_path_lookup(k);
}

/*
 * Wildcard path globs (sl_glob_classes, sl_glob: one DFA over the path's
 * bytes, include/scopelock_policy.h): the environments of the globs that
 * match the len bytes at src (kernel or map memory, a walked path). One
 * state lookup per byte, SL_GLOB_STRIDE bytes per bpf_loop iteration; the
 * walk stops at the dead state (no glob can match: most paths leave the
 * DFA within a few bytes). user/lib/policy_globs.c sl_glob_dfa_walk() is the
 * same walk in user space.
 */
#define SL_GLOB_STRIDE 16

struct sl_glob_walk {
	const char *src;
	__u32 len;
	__u32 slot;
	__u32 state;
	__u32 _pad;
	__u8 buf[2 * SL_GLOB_STRIDE]; /* room for the mask below */
};

static long sl_glob_cb(__u64 i, void *ctx)
{
	struct sl_glob_walk *w = ctx;
	const struct sl_glob_classes *cls;
	const struct sl_glob_state *st;
	__u32 slot = w->slot & 1, s = w->state, base, idx, n;
	__u64 pos = i * SL_GLOB_STRIDE;

	if (pos >= w->len || pos >= SL_PATH_MAX)
		return 1;
	n = w->len - (__u32)pos;
	if (n > SL_GLOB_STRIDE)
		n = SL_GLOB_STRIDE;
	/* keep the bound for the verifier (the compiler may drop it) */
	barrier_var(n);
	n &= 2 * SL_GLOB_STRIDE - 1;
	cls = bpf_map_lookup_elem(&sl_glob_classes, &slot);
	if (!cls || bpf_probe_read_kernel(w->buf, n, w->src + pos)) {
		/* unreadable: no glob decided (the record says READ_FAULT) */
		w->state = 0;
		return 1;
	}
	base = slot * SL_GLOB_STATES_MAX;
#pragma unroll
	for (int k = 0; k < SL_GLOB_STRIDE; k++) {
		if (k < n && s) {
			idx = base + (s & (SL_GLOB_STATES_MAX - 1));
			st = bpf_map_lookup_elem(&sl_glob, &idx);
			s = st ? st->next[cls->cls[w->buf[k]] & (SL_GLOB_CLASSES_MAX - 1)] : 0;
		}
	}
	w->state = s;
	return s ? 0 : 1;
}

static __always_inline __u64 sl_label_glob(__u32 slot, const void *src, __u32 len)
{
	struct sl_glob_walk w = {.src = src, .len = len, .slot = slot & 1, .state = 1};
	const struct sl_glob_state *st;
	__u32 idx, loops;

	if (!len || len >= SL_PATH_MAX)
		return 0;
	loops = (len + SL_GLOB_STRIDE - 1) / SL_GLOB_STRIDE;
	barrier_var(loops);
	bpf_loop(loops, sl_glob_cb, &w, 0);
	if (!w.state)
		return 0;
	idx = (slot & 1) * SL_GLOB_STATES_MAX + (w.state & (SL_GLOB_STATES_MAX - 1));
	st = bpf_map_lookup_elem(&sl_glob, &idx);
	return st ? st->env : 0;
}

/*
 * Labels of a destination: family 4 (addr: 4 bytes, network order) or 6
 * (16 bytes; a v4-mapped address is looked up as IPv4). port in host order.
 * The most specific CIDR decides; its label applies when its port list is
 * empty (all zero) or names port.
 */
static __always_inline __u64 sl_label_ip(__u32 slot, __u32 family, const __u8 *addr, __u16 port)
{
	struct sl_ip_key k = {};
	struct sl_ip_label *l;
	bool any = true;
	int i;

	k.slot = slot;
	if (family == 6 && !addr[0] && !addr[1] && !addr[2] && !addr[3] && !addr[4] && !addr[5] &&
	    !addr[6] && !addr[7] && !addr[8] && !addr[9] && addr[10] == 0xff && addr[11] == 0xff) {
		family = 4;
		addr += 12;
	}
	k.family = family;
	if (family == 4) {
		__builtin_memcpy(k.addr, addr, 4);
		k.prefixlen = 16 + 32;
	} else {
		__builtin_memcpy(k.addr, addr, 16);
		k.prefixlen = 16 + 128;
	}
	l = bpf_map_lookup_elem(&sl_ip_labels, &k);
	if (!l)
		return 0;
	for (i = 0; i < SL_LABEL_PORTS; i++) {
		if (!l->ports[i])
			continue;
		if (l->ports[i] == port)
			return l->env;
		any = false;
	}
	return any ? l->env : 0;
}

/*
 * Labels by identity (sl_inode_labels) of a file and all its ancestors, up
 * through the mounts to the root of the mount namespace: a labelled
 * directory labels what lies under it whatever path reaches it (a bind
 * mount, a renamed directory, a path deeper than the path walk's limit).
 * Returns 1 when the walk reached the root (or the root of a pseudo file
 * system), 0 when it could not (step limit, a dentry not connected to its
 * root, a read fault): then what lies above is unknown.
 */
struct sl_inode_walk {
	struct dentry *dentry;
	struct dentry *mnt_root;
	struct mount *mnt;
	__u64 env;
	__u32 slot;
	__u32 done; /* 1: reached the root; 2: stopped short */
};

/* include/linux/fs.h (stable since v2.6): internal mounts (pipefs, sockfs...) */
#define SL_LABEL_SB_NOUSER (1U << 31)

static long sl_inode_step(__u32 index, void *ctx)
{
	struct sl_inode_walk *w = ctx;
	struct dentry *d = w->dentry, *parent;
	struct sl_inode_key k = {};
	struct super_block *sb;
	__u64 *env;

	if (!d) {
		w->done = 2;
		return 1;
	}
	sb = BPF_CORE_READ(d, d_sb);
	k.ino = BPF_CORE_READ(d, d_inode, i_ino);
	k.dev = BPF_CORE_READ(sb, s_dev);
	k.slot = w->slot;
	env = bpf_map_lookup_elem(&sl_inode_labels, &k);
	if (env)
		w->env |= *env;
	if (d == w->mnt_root) {
		struct mount *m = w->mnt;
		struct mount *up = BPF_CORE_READ(m, mnt_parent);

		/* the namespace root (and detached mounts) are their own parent */
		if (!up || up == m) {
			w->done = 1;
			return 1;
		}
		w->dentry = BPF_CORE_READ(m, mnt_mountpoint);
		w->mnt = up;
		w->mnt_root = BPF_CORE_READ(up, mnt.mnt_root);
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (!parent || parent == d) {
		/* pipes, sockets, anonymous inodes have no path above them */
		w->done = BPF_CORE_READ(sb, s_flags) & SL_LABEL_SB_NOUSER ? 1 : 2;
		return 1;
	}
	w->dentry = parent;
	return 0;
}

static __always_inline int sl_label_inodes(struct dentry *dentry, struct vfsmount *vfsmnt,
					   __u32 slot, __u64 *env)
{
	struct sl_inode_walk w = {.slot = slot};

	if (!dentry || !vfsmnt)
		return 0;
	w.dentry = dentry;
	w.mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt);
	w.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	bpf_loop(SL_INODE_WALK_MAX, sl_inode_step, &w, 0);
	*env |= w.env;
	return w.done == 1;
}

#endif /* SCOPELOCK_LABEL_BPF_H */
