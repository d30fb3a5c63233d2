/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Socket helpers for tracepoint and uprobe programs: resolve a file
 * descriptor of the current task to its socket and read the peer address the
 * kernel holds for it (not what user space passed).
 */
#ifndef SCOPELOCK_SOCK_BPF_H
#define SCOPELOCK_SOCK_BPF_H

#include "common.bpf.h"
#include <bpf/bpf_endian.h>

/* not in vmlinux.h (macros) */
#define SL_AF_UNIX 1
#define SL_AF_INET 2
#define SL_AF_INET6 10
#define SL_SOCK_STREAM 1
#define SL_S_IFMT 00170000
#define SL_S_IFSOCK 0140000

/* peer of a socket as the kernel holds it (addr in network order) */
struct sl_peer {
	__u8 addr[16];
	__u16 family;	/* 0 if unknown */
	__u16 port;	/* host byte order */
	__u32 type;	/* SOCK_STREAM, SOCK_DGRAM, ... */
	__u32 protocol; /* IPPROTO_* */
};

/*
 * The struct socket behind fd in the current task, or NULL when fd is not an
 * open socket; *ino (when not NULL): the socket's inode number (as
 * /proc/PID/fd shows it: socket:[ino]), the same in every process holding it.
 * task->files->fdt->fd[fd] is read with probe reads: the table can be resized concurrently, a stale
 * read only yields NULL or another file.
 */
static __always_inline struct socket *sl_fd_socket_ino(long fd, __u64 *ino)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt;
	struct file **fds;
	struct file *f = NULL;
	unsigned int max;
	umode_t mode;

	if (fd < 0)
		return NULL;
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return NULL;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((__u64)fd >= max)
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (!fds || bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & SL_S_IFMT) != SL_S_IFSOCK)
		return NULL;
	if (ino)
		*ino = BPF_CORE_READ(f, f_inode, i_ino);
	/* sock_alloc_file() stores the socket in private_data */
	return BPF_CORE_READ(f, private_data);
}

/* as sl_fd_socket_ino, without the inode number */
static __always_inline struct socket *sl_fd_socket(long fd)
{
	return sl_fd_socket_ino(fd, NULL);
}

/*
 * Fill *p from the socket (family, type, protocol, and the peer address and
 * port for inet sockets). Returns the socket family, 0 if unreadable.
 */
static __always_inline __u16 sl_socket_peer(struct socket *sock, struct sl_peer *p)
{
	struct sock *sk;
	__u16 family;

	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	p->family = family;
	p->type = (__u16)BPF_CORE_READ(sock, type);
	/* sk_protocol was an 8-bit bitfield before v5.6 (bf9765145b85) */
	p->protocol = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	p->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == SL_AF_INET) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(p->addr, &a, 4);
	} else if (family == SL_AF_INET6) {
		BPF_CORE_READ_INTO(&p->addr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	return family;
}

#endif /* SCOPELOCK_SOCK_BPF_H */
