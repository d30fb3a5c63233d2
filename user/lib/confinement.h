/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Session confinement, the part `scopelock run` and scopelockd share.
 *
 * What a session is kept from (policy `environments.<scope>.confine`):
 *   SL_CONFINE_PTRACE  ptrace(PTRACE_ATTACH/SEIZE), process_vm_readv/writev and
 *                      pidfd_getfd of processes outside the session;
 *   SL_CONFINE_USERNS  new user namespaces (clone/unshare with CLONE_NEWUSER,
 *                      setns into one; clone3 answers ENOSYS so that the C
 *                      library falls back to clone, whose flags are visible).
 *
 * sl_confine_self() is called by the session's first process after the
 * daemon placed it in the session cgroup and before it drops privileges and
 * execs: it installs a seccomp filter whose SECCOMP_RET_USER_NOTIF answers
 * are decided by scopelockd (user/daemon/confine.c), which gets the
 * filter's listener, and, for SL_CONFINE_PTRACE, a Landlock domain: the
 * kernel itself then refuses the ptrace family (and /proc/PID/mem, environ,
 * fd/) towards every process outside the domain, whatever the supervisor
 * answered. sl_confine_classify() is the daemon's reading of a notification.
 */
#ifndef SL_CONFINEMENT_H
#define SL_CONFINEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_CONFINE_PTRACE (1U << 0)
#define SL_CONFINE_USERNS (1U << 1)
#define SL_CONFINE_ALL (SL_CONFINE_PTRACE | SL_CONFINE_USERNS)

/* the Landlock ABI that has scopes (Linux 6.12): needed for the domain */
#define SL_LANDLOCK_ABI_MIN 6

struct sl_confine_self {
	int listener;	   /* seccomp user-notification fd (caller closes it); -1: no filter */
	int landlock_abi;  /* > 0: a Landlock domain is in place (the kernel's ABI); 0: none */
	bool no_new_privs; /* set because the process had no CAP_SYS_ADMIN */
};

/*
 * Confine the calling single-threaded process as flags say. On success 0
 * and *out filled (flags 0: nothing is installed, listener -1). On failure
 * -errno, err says what failed; the process may be partly confined and must
 * not run the session's command.
 */
int sl_confine_self(uint32_t flags, struct sl_confine_self *out, char *err, size_t errlen);

/* the Landlock ABI version of the running kernel, 0 when Landlock is off */
int sl_landlock_abi(void);

enum sl_confine_kind {
	SL_CK_UNKNOWN = 0,	/* not a call the filter hands over: refuse */
	SL_CK_PTRACE,		/* ptrace(PTRACE_ATTACH | PTRACE_SEIZE, pid) */
	SL_CK_VM_READV,		/* process_vm_readv(pid, ...) */
	SL_CK_VM_WRITEV,	/* process_vm_writev(pid, ...) */
	SL_CK_PIDFD_GETFD,	/* pidfd_getfd(pidfd, fd, flags) */
	SL_CK_CLONE_USERNS,	/* clone(flags & CLONE_NEWUSER) */
	SL_CK_UNSHARE_USERNS,	/* unshare(flags & CLONE_NEWUSER) */
	SL_CK_SETNS_USERNS,	/* setns(fd, nstype & CLONE_NEWUSER) */
	SL_CK_SETNS_ANY,	/* setns(fd, 0): the type is not visible to the filter */
	SL_CK_SECCOMP_LISTENER, /* seccomp(SET_MODE_FILTER, NEW_LISTENER) */
	SL_CK_IO_URING,		/* io_uring_setup / _enter / _register: answered ENOSYS */
};

struct sl_confine_call {
	enum sl_confine_kind kind;
	uint32_t key;	     /* SL_CONFINE_PTRACE or _USERNS: the confine key that applies */
	char syscall[32];    /* the system call's name (for this architecture) */
	const char *request; /* ptrace: "PTRACE_ATTACH" / "PTRACE_SEIZE"; else NULL */
	int64_t target;	     /* pid (ptrace, process_vm_*), pidfd number (pidfd_getfd), or -1 */
	uint64_t flags;	     /* clone / unshare flags, setns nstype, seccomp flags; else 0 */
	const char *reason;  /* why it is refused when refused unconditionally; else NULL */
};

/*
 * Read a notification: arch is the AUDIT_ARCH_* of seccomp_data, nr the
 * system call number for that architecture, args its six arguments.
 * Always fills out (kind SL_CK_UNKNOWN for anything unexpected).
 */
void sl_confine_classify(uint32_t arch, int nr, const uint64_t args[6],
			 struct sl_confine_call *out);

#endif
