/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * scopelock kernel <-> user ABI: event header, op codes, loss causes, map
 * keys and values shared by bpf/ and user/.
 *
 * Rules (see docs/events.md): fixed-width types only, fields largest first,
 * explicit padding, sizes pinned by _Static_assert. Op codes and loss causes
 * have explicit values and are never renumbered.
 */
#ifndef SCOPELOCK_ABI_H
#define SCOPELOCK_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SL_ABI_VERSION 1

#define SL_COMM_LEN 16
/* longest path the kernel side reconstructs or copies */
#define SL_PATH_MAX 4096
/* compile-time ceiling for captured argv bytes (runtime default below) */
#define SL_ARGV_MAX 16384
#define SL_ARGV_DEFAULT 16384
/* compile-time ceiling for captured TLS plaintext per call: the record is
 * built in a per-CPU map value, which the kernel limits to 32 KiB
 * (PCPU_MIN_UNIT_SIZE), header included */
#define SL_TLS_CAPTURE_MAX (32768 - 512)
#define SL_TLS_CAPTURE_DEFAULT 16384
#define SL_SNI_MAX 256
/* maximum path components walked from a dentry to the root */
#define SL_PATH_DEPTH_MAX 64
/* bytes of the verdict ring buffer (sl_verdicts): the loader sets its size and
 * the programs' sl_verdict_ring_bytes from this */
#define SL_VERDICT_RING_BYTES (4U << 20)

/*
 * Device numbers as the kernel holds them (sb->s_dev: the device of every
 * inode the programs report or look up): major << 20 | minor (MINORBITS).
 */
#define SL_KDEV_MINORBITS 20
#define SL_KDEV_MINORMASK ((1U << SL_KDEV_MINORBITS) - 1)
#define SL_KDEV(major, minor) ((__u32)(((major) << SL_KDEV_MINORBITS) | (minor)))
#define SL_KDEV_MAJOR(dev) ((__u32)(dev) >> SL_KDEV_MINORBITS)
#define SL_KDEV_MINOR(dev) ((__u32)(dev)&SL_KDEV_MINORMASK)

enum sl_op {
	SL_OP_EXEC = 1,		  /* sched_process_exec: new image about to run */
	SL_OP_EXEC_FAILED = 2,	  /* execve/execveat returned an error */
	SL_OP_OPEN = 3,		  /* open family syscall returned (fd or errno) */
	SL_OP_CONNECT = 4,	  /* cgroup connect4/6 hook, before the connect */
	SL_OP_CONNECT_RESULT = 5, /* connect() returned */
	SL_OP_UDP_SEND = 6,	  /* cgroup sendmsg4/6 hook, before the send */
	SL_OP_TLS_WRITE = 7,	  /* SSL_write / gnutls_record_send entry */
	SL_OP_TLS_READ = 8,	  /* SSL_read / gnutls_record_recv return */
	SL_OP_EXIT = 9,		  /* a session process (thread group) exited */
	SL_OP_VERDICT = 10,	  /* a policy rule matched (scopelock_policy.h) */
	SL_OP_TLS_MAP = 11,	/* TLS gate: a file not analysed mapped executable (not a record) */
	SL_OP_PLAIN_WRITE = 12, /* write/writev/sendto/sendmsg on a non-TLS TCP stream, at entry */
	SL_OP_MAX = 13,
};

/* a write of a byte stream the kernel judges (struct sl_tls_event) */
#define SL_OP_STREAM_WRITE(op) ((op) == SL_OP_TLS_WRITE || (op) == SL_OP_PLAIN_WRITE)

enum sl_loss_cause {
	SL_LOSS_RINGBUF_FULL = 0, /* bpf_ringbuf_output failed: event lost */
	SL_LOSS_READ_FAULT = 1,	  /* user/kernel memory read failed: field missing */
	SL_LOSS_TRUNCATED = 2,	  /* data longer than the capture limit: cut */
	SL_LOSS_MAP_FULL = 3,	  /* a tracking map was full: state not kept */
	SL_LOSS_MAX = 4,
};

/* sl_event_hdr.flags */
#define SL_EVF_TRUNCATED (1U << 0)    /* a variable field was cut */
#define SL_EVF_READ_FAULT (1U << 1)   /* a field could not be read */
#define SL_EVF_PATH_PARTIAL (1U << 2) /* walked path is only a tail (limit hit, disconnected) */
/*
 * SL_OP_TLS_WRITE: the write is held at the hook for the daemon to decode
 * (two-stage verdict, SL_VERDICT_DECODE): the writer is stopped before a
 * byte of it is encrypted and the session's egress is held.
 */
#define SL_EVF_DECODE_HOLD (1U << 3)
/* connect / UDP send refused by the TLS gate (bpf/tlsgate.bpf.h): the process' TLS is not
 * instrumented yet, or is a blind spot in a session with blind_tls: deny */
#define SL_EVF_TLS_GATE (1U << 4)
/* SL_OP_TLS_WRITE of a function located without symbols whose location the
 * kernel has not yet confirmed on live traffic (struct sl_tls_loc) */
#define SL_EVF_UNCONFIRMED (1U << 5)

/* Common header at the start of every ring buffer record. */
struct sl_event_hdr {
	__u64 ktime_ns;	 /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id; /* session cgroup id (the map key that matched) */
	__u64 exec_id;	 /* per-exec id of the process (0 if unknown) */
	__u32 op;	 /* enum sl_op */
	__u32 size;	 /* bytes of the whole record, header included */
	__u32 pid;	 /* thread group id */
	__u32 tid;
	__u32 uid;
	__u32 flags; /* SL_EVF_* */
	char comm[SL_COMM_LEN];
};
_Static_assert(sizeof(struct sl_event_hdr) == 64, "sl_event_hdr ABI");

/*
 * Per-CPU statistics (map "sl_stats", one slot). User space sums the CPUs.
 * emitted[op]: records handed to the ring buffer.
 * loss[cause][op]: events or fields lost, by cause and op.
 */
struct sl_stats {
	__u64 emitted[SL_OP_MAX];
	__u64 loss[SL_LOSS_MAX][SL_OP_MAX];
};

/* Session map: key = session cgroup id (__u64), value: */
/* sl_session_info.flags */
#define SL_SESSION_MONITOR (1U << 0) /* record what would be done, never act */
#define SL_SESSION_HELD (1U << 1)    /* a hold is pending: egress of the session is dropped */
/*
 * A kill verdict was taken in the session (set by the kernel): until the
 * daemon has killed the whole cgroup, every exec and TLS write of the
 * session is killed, every connect refused, and its egress dropped.
 */
#define SL_SESSION_KILLED (1U << 2)
/*
 * policy blind_tls: deny for the session's scope: a process whose executable
 * does TLS scopelock cannot read (SL_TLS_PROC_BLIND) has every connect and
 * UDP send refused (EPERM). Set by the daemon when the session is created
 * and on a policy reload.
 */
#define SL_SESSION_BLIND_DENY (1U << 3)
/*
 * policy loss: throttle for the session's scope: a session process whose
 * record leaves more than half of the bulk ring buffer waiting is stopped
 * (SIGSTOP, entered in sl_throttled) instead of losing its next records; the
 * daemon lets it go (SIGCONT) once it has drained the ring.
 */
#define SL_SESSION_THROTTLE (1U << 4)
/*
 * policy blind_tls: proxy for the session's scope (with SL_SESSION_BLIND_DENY):
 * a SL_TLS_PROC_BLIND process may connect to its session's inspecting proxy
 * (TCP to 127.0.0.1 or ::1, port proxy_port) and nowhere else; the TLS
 * writes of the proxy back to its clients (a socket whose local end is
 * loopback:proxy_port) are replies, neither judged nor recorded (the
 * proxy's own upstream writes are). Set by the daemon with proxy_port when
 * the launcher registered a proxy (scopelock run), and on a policy reload.
 */
#define SL_SESSION_BLIND_PROXY (1U << 5)
struct sl_session_info {
	__u64 session_seq; /* daemon-local numeric session id */
	__u32 scope_env;   /* environment id of the declared scope (policy) */
	__u32 flags;	   /* SL_SESSION_* */
	__u64 taint;	   /* bitmask of environments whose labelled files were read */
	__u16 proxy_port;  /* SL_SESSION_BLIND_PROXY: the proxy's port on loopback (0: none) */
	__u16 _pad0;
	__u32 _pad1;
};
_Static_assert(sizeof(struct sl_session_info) == 32, "sl_session_info ABI");

/*
 * Stopped processes: key = tgid (__u32), value below. Entered by the kernel
 * when it stops a process of a SL_SESSION_THROTTLE session whose record left
 * the ring half full, or a session process while no daemon beats
 * (sl_daemon_beat); removed by the daemon when it lets the process go, or by
 * the kernel at its exit.
 */
/* sl_throttle.reason */
#define SL_STOP_THROTTLE 0 /* loss: throttle: the ring was more than half full */
#define SL_STOP_ABSENT 1   /* daemon_absent: freeze: no heartbeat for the grace period */
struct sl_throttle {
	__u64 since_ns;	 /* bpf_ktime_get_boot_ns() when it was stopped */
	__u64 cgroup_id; /* its session */
	__u32 reason;	 /* SL_STOP_* */
	__u32 pad;
};
_Static_assert(sizeof(struct sl_throttle) == 24, "sl_throttle ABI");

/*
 * The daemon's heartbeat: map "sl_daemon", one slot, written by scopelockd
 * at every tick of its event loop (20 ms). With settings.daemon_absent:
 * freeze, a session process whose record finds the heartbeat older than
 * grace_ns is stopped (SIGSTOP, entered in sl_throttled with SL_STOP_ABSENT)
 * before it goes on: sessions fail closed in the kernel while no daemon
 * reads what they do, whoever launched them. The daemon that drains the ring
 * lets them go. beat_ns 0 (never written) or grace_ns 0 (daemon_absent:
 * continue): never stopped.
 */
struct sl_daemon_beat {
	__u64 beat_ns;	/* CLOCK_BOOTTIME of the daemon's last tick */
	__u64 grace_ns; /* settings.daemon_absent_grace; 0: continue */
};
_Static_assert(sizeof(struct sl_daemon_beat) == 16, "sl_daemon_beat ABI");

/* Process map: key = tgid (__u32), lineage of session processes. */
struct sl_proc_info {
	__u64 exec_id;
	__u64 parent_exec_id;
};

/*
 * The TLS gate (bpf/tlsgate.bpf.h, user/daemon/tls.c): executables a session
 * runs are analysed by the daemon's TLS room (which attaches uprobes at
 * their TLS functions, located without symbols if need be) before they run
 * an instruction.
 *
 * sl_tls_exes: executables analysed, key = file identity as the kernel sees
 * the file exec'd (bprm->file: device in the kernel's encoding, inode, change
 * time in ns), value = SL_TLS_EXE_*. An exec of a file not in the map (new,
 * changed: new ctime, or evicted) is stopped (SIGSTOP) until the daemon has
 * analysed it, attached what it can and put it here.
 */
struct sl_tls_exe_key {
	__u64 ino;
	__u64 ctime_ns;
	__u32 dev;
	__u32 _pad;
};
_Static_assert(sizeof(struct sl_tls_exe_key) == 24, "sl_tls_exe_key ABI");

#define SL_TLS_EXE_SEEN 1  /* analysed: no TLS, or its TLS is instrumented */
#define SL_TLS_EXE_BLIND 2 /* does TLS scopelock cannot read (a blind spot) */
/* instrumented per process: a session process that runs or maps it is held
 * until the daemon attached its probes for that process (pid-filtered
 * uprobes: processes outside sessions never trap) */
#define SL_TLS_EXE_TARGET 4

/* sl_tls_procs: tgid -> state of a session process at its last exec */
#define SL_TLS_PROC_HELD (1U << 0)  /* stopped at exec until the TLS room analysed its file */
#define SL_TLS_PROC_BLIND (1U << 1) /* its executable is a blind spot */
/* held, but stopped by its exec's verdict (a file compared with a program),
 * not by the gate: that verdict lets it go or kills it, the gate does not */
#define SL_TLS_PROC_VERDICT_STOP (1U << 2)
/* the daemon attached probes for this process' image (set by the daemon) */
#define SL_TLS_PROC_PROBED (1U << 3)
/* with HELD: a fork of a PROBED process (its own memory, a copy with the
 * breakpoints of its parent's probes, which do not fire for it): stopped on
 * its return from fork until the daemon attached its own */
#define SL_TLS_PROC_FORKED (1U << 4)
/* a thread other than the leader exec'd: the task the daemon's probes for
 * this tgid were attached to is gone (kept until the daemon saw it) */
#define SL_TLS_PROC_NEWTASK (1U << 5)
struct sl_tls_proc {
	__u64 exec_id; /* the exec this state belongs to */
	struct sl_tls_exe_key exe;
	__u32 state;  /* SL_TLS_PROC_* */
	__u32 parent; /* FORKED: the parent's tgid */
};
_Static_assert(sizeof(struct sl_tls_proc) == 40, "sl_tls_proc ABI");

/*
 * sl_tls_mapheld: tgid -> its latest mapping of a file the TLS gate held
 * (the file, and its sequence number: 1, 2, ... per process, taken
 * atomically by the kernel); sl_tls_mapdone: tgid -> the last sequence
 * number the daemon is done with (the file analysed, its probes attached for
 * the process), written by the daemon alone. A process whose held sequence
 * is not the done one maps a file not instrumented yet: its connects are
 * refused. A later mapping never undoes an earlier one's hold (a process
 * resumed early that maps libssl then libcrypto stays refused until both
 * were handled, in order).
 */
struct sl_tls_maphold {
	struct sl_tls_exe_key key;
	__u64 seq;
};
_Static_assert(sizeof(struct sl_tls_maphold) == 32, "sl_tls_maphold ABI");

/*
 * Live confirmation of a write function located without symbols (BoringSSL
 * in Bun: user/lib/tls_locate.h). The attach cookie of the located SSL_write
 * holds the library (low 32 bits) and the location's key (high 32 bits,
 * given by the daemon: one per file and offset, which the entry records, so
 * a restarted daemon finds it again and no other file can share it).
 * sl_tls_locs: key -> struct sl_tls_loc, made by the daemon when it
 * attaches. After each located write of a session thread, the TLS record
 * that thread writes next to a TCP socket must carry the write's length
 * (what a TLS 1.2 or 1.3 cipher adds: SL_TLS_LOC_SLACK at most):
 * - one that does confirms the location (SL_TLS_LOC_CONFIRMED, kept);
 * - until then, a kill verdict on a capture of it holds the session for a
 *   person instead (SL_VERDICT_UNCONFIRMED): a wrong guess never kills;
 * - SL_TLS_LOC_REFUTE_AT records that do not, and none that did, refute it
 *   (SL_TLS_LOC_REFUTED): the processes that run it are blind
 *   (SL_TLS_PROC_BLIND: blind_tls decides), their writes still captured and
 *   judged as unconfirmed.
 */
#define SL_TLS_LOC_CONFIRMED (1U << 0)
#define SL_TLS_LOC_REFUTED (1U << 1)
#define SL_TLS_LOC_REFUTE_AT 8
#define SL_TLS_LOC_SLACK 96
#define SL_MAX_TLS_LOCS 256
/* a key never given: a located write with it stays unconfirmed (no entry) */
#define SL_TLS_LOC_NONE 0xffffffffU
struct sl_tls_loc {
	__u64 state;	  /* SL_TLS_LOC_*, 0: not confirmed yet (64-bit: BPF atomics) */
	__u64 matches;	  /* socket writes that carried a located write's length */
	__u64 mismatches; /* TLS application data records that did not, or not TLS */
	/* TLS application data records its processes wrote that no located
	 * function had sealed (struct sl_tls_sealed): the location misses writes */
	__u64 unseen;
	/* the location (set by the daemon, read by no program): the file's
	 * device and inode, the write function's offset */
	__u64 dev;
	__u64 ino;
	__u64 off;
};
_Static_assert(sizeof(struct sl_tls_loc) == 56, "sl_tls_loc ABI");

/*
 * sl_tls_sealed: tgid -> struct sl_tls_sealed, made by the daemon when it
 * attached the located seals of rustls (aws-lc's EVP_AEAD_CTX_seal*) for the
 * process: every TLS record rustls writes was sealed there first, so each
 * TLS application data record the process writes to a TCP socket must have
 * a seal behind it. The seal probes add one per record sealed (whatever its
 * inner type); a socket write of k records takes k. A record with none
 * behind it was encrypted elsewhere (another TLS stack in the process, a
 * location that misses a path): the location's unseen counts it and the
 * process is blind from then on (SL_TLS_PROC_BLIND: blind_tls decides its
 * connects). Only while the process runs the executable it was made for
 * (exe, as in its struct sl_tls_proc).
 */
struct sl_tls_sealed {
	__u64 sealed; /* records sealed, not yet seen written */
	struct sl_tls_exe_key exe;
	__u32 loc; /* the location's key in sl_tls_locs */
	__u32 _pad;
};
_Static_assert(sizeof(struct sl_tls_sealed) == 40, "sl_tls_sealed ABI");

#endif /* SCOPELOCK_ABI_H */
