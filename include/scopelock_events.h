/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * scopelock event records, one struct per op. Every record starts with
 * struct sl_event_hdr; variable-length data follows the fixed part in
 * data[], in the order the comment on each struct gives, and hdr.size covers
 * only the bytes actually used.
 */
#ifndef SCOPELOCK_EVENTS_H
#define SCOPELOCK_EVENTS_H

#include "scopelock_abi.h"

/*
 * SL_OP_EXEC. data[] = filename[filename_len] cwd[cwd_len] args[args_len]
 * filename: the path the kernel exec'd (bprm->filename);
 * cwd: walked from fs->pwd (empty if unavailable);
 * args: argv as NUL-separated strings from the new mm (arg_start..arg_end).
 * args_total is arg_end - arg_start; args_len < args_total means truncated.
 */
struct sl_exec_event {
	struct sl_event_hdr hdr;
	__u64 parent_exec_id;
	__u32 ppid;
	__u32 old_tid; /* tid that called exec (differs for non-leader threads) */
	__u32 args_len;
	__u32 args_total;
	__u16 filename_len;
	__u16 cwd_len;
	__u32 _pad;
	char data[];
};
_Static_assert(sizeof(struct sl_exec_event) == 64 + 32, "sl_exec_event ABI");

/*
 * SL_OP_EXEC_FAILED. data[] = filename[filename_len] as the caller passed it
 * (read at syscall entry: telemetry only).
 */
struct sl_exec_failed_event {
	struct sl_event_hdr hdr;
	__s32 ret;     /* -errno */
	__u32 syscall; /* enum sl_exec_syscall */
	__s32 dirfd;   /* execveat only */
	__u16 filename_len;
	__u16 _pad;
	char data[];
};
_Static_assert(sizeof(struct sl_exec_failed_event) == 64 + 16, "exec_failed ABI");

enum sl_exec_syscall {
	SL_SYS_EXECVE = 1,
	SL_SYS_EXECVEAT = 2,
};

enum sl_open_syscall {
	SL_SYS_OPEN = 1,
	SL_SYS_OPENAT = 2,
	SL_SYS_OPENAT2 = 3,
	SL_SYS_CREAT = 4,
	SL_SYS_OPEN_BY_HANDLE_AT = 5,
};

/*
 * SL_OP_OPEN. data[] = path[path_len] req[req_len]
 * path: for successful opens, walked from the opened file's dentry and mount
 * (the file the kernel opened); empty when ret < 0.
 * req: the string the caller passed, read at syscall entry (telemetry only;
 * empty for open_by_handle_at).
 * env: the environment labels of path (sl_path_labels); the session's taint
 * already includes them when the record is emitted.
 */
struct sl_open_event {
	struct sl_event_hdr hdr;
	__u64 ino;
	__u64 env;   /* environments labelling path (policy); 0: none or no policy */
	__u32 dev;   /* kernel dev_t: major = dev >> 20, minor = dev & 0xfffff */
	__s32 ret;   /* fd, or -errno */
	__u32 flags; /* open flags as passed */
	__u32 mode;
	__u32 syscall; /* enum sl_open_syscall */
	__s32 dirfd;   /* AT_FDCWD (-100) or the dirfd passed */
	__u16 path_len;
	__u16 req_len;
	__u32 _pad;
	char data[];
};
_Static_assert(sizeof(struct sl_open_event) == 64 + 48, "sl_open_event ABI");

/*
 * SL_OP_CONNECT, SL_OP_UDP_SEND: destination seen by the cgroup sock_addr
 * hook before the action. SL_OP_CONNECT_RESULT: connect() returned ret on fd
 * (addr of the socket's peer when known, else zero).
 * addr: IPv4 in the first 4 bytes (network order) for AF_INET, 16 bytes for
 * AF_INET6 (v4-mapped addresses stay AF_INET6; user space flags them).
 * ret of SL_OP_CONNECT / SL_OP_UDP_SEND: -EPERM when a policy rule refused
 * the action in the kernel (a verdict record follows), else 0.
 */
struct sl_net_event {
	struct sl_event_hdr hdr;
	__u8 addr[16];
	__u16 family;	 /* AF_INET, AF_INET6 */
	__u16 port;	 /* host byte order */
	__u32 sock_type; /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u32 protocol;	 /* IPPROTO_TCP, IPPROTO_UDP, ... */
	__s32 ret;	 /* CONNECT_RESULT: 0 or -errno; else 0 */
	__s32 fd;	 /* CONNECT_RESULT: the fd; else -1 */
	__u32 _pad;
};
_Static_assert(sizeof(struct sl_net_event) == 64 + 40, "sl_net_event ABI");

enum sl_tls_lib {
	SL_TLS_OPENSSL = 1,
	SL_TLS_GNUTLS = 2,
	SL_TLS_BORINGSSL = 3, /* located without symbols (Bun: Claude Code) */
	SL_TLS_GO = 4,	      /* Go crypto/tls, located by .gopclntab */
	SL_TLS_PLAIN = 5,     /* SL_OP_PLAIN_WRITE: no TLS, the socket's own bytes */
	SL_TLS_RUSTLS = 6,    /* rustls on aws-lc or ring, located without symbols (Codex) */
};

enum sl_tls_fn {
	SL_TLS_FN_SSL_WRITE = 1,
	SL_TLS_FN_SSL_WRITE_EX = 2,
	SL_TLS_FN_SSL_READ = 3,
	SL_TLS_FN_SSL_READ_EX = 4,
	SL_TLS_FN_GNUTLS_SEND = 5,
	SL_TLS_FN_GNUTLS_RECV = 6,
	SL_TLS_FN_GO_CONN_WRITE = 7, /* crypto/tls.(*Conn).Write */
	/* SL_OP_PLAIN_WRITE: the system call */
	SL_NET_FN_WRITE = 8,
	SL_NET_FN_WRITEV = 9,
	SL_NET_FN_SENDTO = 10,
	SL_NET_FN_SENDMSG = 11,
	/* OpenSSL 3's ssl_write_internal, located: writes through neither
	 * SSL_write nor SSL_write_ex (BIO_f_ssl) */
	SL_TLS_FN_SSL_WRITE_INTERNAL = 12,
	/* aws-lc's AEAD seal of one TLS record (rustls), located: the record's
	 * plaintext, before it is encrypted */
	SL_TLS_FN_AEAD_SEAL = 13,
	SL_TLS_FN_AEAD_SEAL_SCATTER = 14,
	/* ring's seal of one TLS record (rustls on ring), located */
	SL_TLS_FN_RING_SEAL = 15,
	/* aws-lc's AEAD open of one TLS record (rustls), located: a record's
	 * plaintext after it was decrypted (SL_OP_TLS_READ) */
	SL_TLS_FN_AEAD_OPEN = 16,
};

/*
 * SL_OP_TLS_WRITE (at entry, plaintext before encryption) and
 * SL_OP_TLS_READ (at return, plaintext after decryption).
 * data[] = plaintext[data_len]; len is the true length of the call
 * (requested for writes, returned for reads); data_len < len: truncated.
 * sni/peer: what the kernel side knows about the connection so far.
 *
 * SL_OP_PLAIN_WRITE (at system call entry, before the kernel copies the
 * bytes): a session's write, writev, sendto or sendmsg on a connected TCP
 * socket whose stream does not start with a TLS record (plaintext HTTP, an
 * HTTP proxy, h2c, any other cleartext protocol). Same layout: conn is the
 * socket's inode number (the connection, whoever holds the descriptor: a
 * forked child continues its parent's stream), lib SL_TLS_PLAIN, fn
 * SL_NET_FN_*, sni empty, peer from the socket; data is the bytes of the
 * call's iovecs in order; buf is the buffer of write/sendto and of a
 * single-iovec writev/sendmsg, else 0.
 */
struct sl_tls_event {
	struct sl_event_hdr hdr;
	__u64 conn; /* SSL* or gnutls_session_t, with pid: connection id */
	__u64 len;
	/* the caller's buffer (user address): a held write's bytes past the
	 * capture are read from the stopped process (never written to records) */
	__u64 buf;
	__u8 peer_addr[16];
	__u16 peer_family; /* 0 if unknown */
	__u16 peer_port;   /* host byte order */
	__u16 sni_len;
	__u16 _pad0;
	__u32 lib; /* enum sl_tls_lib */
	__u32 fn;  /* enum sl_tls_fn */
	__u32 data_len;
	__s32 fd; /* SL_OP_PLAIN_WRITE: the descriptor written to; else 0 */
	char sni[SL_SNI_MAX];
	char data[];
};
_Static_assert(sizeof(struct sl_tls_event) == 64 + 64 + SL_SNI_MAX, "sl_tls_event ABI");
_Static_assert(sizeof(struct sl_tls_event) + SL_TLS_CAPTURE_MAX <= 32768,
	       "a TLS record must fit one per-CPU map value");

/*
 * SL_OP_TLS_MAP: a session process is mapping a file executable (mmap with
 * PROT_EXEC of fd: a library, a dlopen) that the TLS gate has not analysed
 * (not in sl_tls_exes); the process is stopped (SIGSTOP) on its way back
 * from mmap and marked in sl_tls_mapheld until the daemon analysed the file.
 * For the TLS room only: not an audit record.
 */
struct sl_tls_map_event {
	struct sl_event_hdr hdr;
	struct sl_tls_exe_key key;
	__s32 fd;     /* SL_TLS_MAP_FORK: not a mapping (below) */
	__u32 parent; /* SL_TLS_MAP_FORK: the parent's tgid */
	__u64 seq;    /* the hold's sequence number (struct sl_tls_maphold) */
};
/*
 * fd == SL_TLS_MAP_FORK: the process (hdr.pid) is a fork of a process with
 * probes (SL_TLS_PROC_PROBED), stopped on its return from fork until the
 * daemon attached probes for it; key: its parent's executable.
 */
#define SL_TLS_MAP_FORK (-2)
_Static_assert(sizeof(struct sl_tls_map_event) == 64 + 40, "sl_tls_map_event ABI");

/* SL_OP_EXIT: a thread group leader of a session exited. */
struct sl_exit_event {
	struct sl_event_hdr hdr;
	__s32 exit_code; /* task->exit_code: status as wait(2) encodes it */
	__u32 _pad;
};
_Static_assert(sizeof(struct sl_exit_event) == 64 + 8, "sl_exit_event ABI");

#endif /* SCOPELOCK_EVENTS_H */
