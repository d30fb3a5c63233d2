// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The system calls of the confinement tests (tests/e2e/lib/confine.py builds
 * this with gcc into the test's directory). One operation per run; prints one
 * line, "ok[ DATA]" (exit 0) or "err ENAME" (exit 1); usage errors exit 2.
 *
 *   target STATE SECRET      stay alive holding SECRET open and a marker in
 *                            memory; write "PID ADDR FD" to STATE
 *   ptrace-attach PID [ADDR] PTRACE_ATTACH, wait for the stop, PEEKDATA at ADDR
 *                            (if given), detach
 *   ptrace-seize PID [ADDR]  PTRACE_SEIZE, INTERRUPT, wait, PEEKDATA, detach
 *   vm-write PID ADDR TEXT   process_vm_writev of TEXT at ADDR
 *   vm-read PID ADDR LEN     process_vm_readv; prints what it read
 *   mem-write PID ADDR TEXT  pwrite to /proc/PID/mem
 *   mem-read PID ADDR LEN    pread from /proc/PID/mem
 *   getfd PID FD             pidfd_open + pidfd_getfd; prints the file's first bytes
 *   child OP SECRET          fork a target (in this process's cgroup), then OP on it
 *   unshare-user             unshare(CLONE_NEWUSER)
 *   clone-user               clone(CLONE_NEWUSER | SIGCHLD)
 *   clone3-user              clone3 with CLONE_NEWUSER
 *   setns-pidfd PID NSTYPE   setns(pidfd_open(PID), NSTYPE)
 *   seccomp-listener         install a filter with SECCOMP_FILTER_FLAG_NEW_LISTENER
 *   threads                  pthread_create + join
 *   deny-seccomp CMD...      exec CMD with seccomp(2) and landlock failing (EPERM)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#ifndef CLONE_NEWUSER
#define CLONE_NEWUSER 0x10000000
#endif

static char marker[64] = "SCOPELOCK-MARKER-UNTOUCHED";

static int fail(void)
{
	const char *name = strerrorname_np(errno);

	printf("err %s\n", name ? name : "?");
	return 1;
}

static int ok(const char *data)
{
	printf("ok%s%s\n", data ? " " : "", data ? data : "");
	return 0;
}

static pid_t num(const char *s)
{
	return (pid_t)strtol(s, NULL, 0);
}

static int target(const char *state, const char *secret)
{
	int fd = open(secret, O_RDONLY);
	FILE *f;

	if (fd < 0)
		return fail();
	f = fopen(state, "w");
	if (!f)
		return fail();
	fprintf(f, "%d %p %d\n", getpid(), (void *)marker, fd);
	fclose(f);
	for (;;)
		pause();
}

static int do_ptrace(pid_t pid, bool seize, const char *addr)
{
	int status;
	long word;

	if (ptrace(seize ? PTRACE_SEIZE : PTRACE_ATTACH, pid, 0, 0))
		return fail();
	if (seize && ptrace(PTRACE_INTERRUPT, pid, 0, 0))
		return fail();
	if (waitpid(pid, &status, __WALL) < 0)
		return fail();
	if (addr) {
		errno = 0;
		word = ptrace(PTRACE_PEEKDATA, pid, (void *)strtoull(addr, NULL, 0), 0);
		if (word == -1 && errno)
			return fail();
	}
	if (ptrace(PTRACE_DETACH, pid, 0, 0))
		return fail();
	return ok(NULL);
}

static int vm(pid_t pid, const char *addr, const char *arg, bool write)
{
	char buf[256] = "";
	size_t len = write ? strlen(arg) : (size_t)strtoul(arg, NULL, 0);
	struct iovec local = {.iov_base = write ? (void *)arg : buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)strtoull(addr, NULL, 0), .iov_len = len};
	ssize_t n;

	if (len >= sizeof(buf))
		return 2;
	n = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0)
		  : process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return fail();
	return ok(write ? NULL : buf);
}

static int mem(pid_t pid, const char *addr, const char *arg, bool write)
{
	char path[64], buf[256] = "";
	size_t len = write ? strlen(arg) : (size_t)strtoul(arg, NULL, 0);
	off_t off = (off_t)strtoull(addr, NULL, 0);
	ssize_t n;
	int fd;

	if (len >= sizeof(buf))
		return 2;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, write ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return fail();
	n = write ? pwrite(fd, arg, len, off) : pread(fd, buf, len, off);
	if (n < 0)
		return fail();
	close(fd);
	return ok(write ? NULL : buf);
}

static int getfd(pid_t pid, int fd)
{
	char buf[256] = "";
	int pidfd, got;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return fail();
	got = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (got < 0)
		return fail();
	if (pread(got, buf, sizeof(buf) - 1, 0) < 0)
		return fail();
	buf[strcspn(buf, "\n")] = '\0';
	return ok(buf);
}

static int child_op(const char *op, const char *secret)
{
	int fd = open(secret, O_RDONLY), status, ret;
	char addr[32], fdtxt[16];
	pid_t c;

	if (fd < 0)
		return fail();
	c = fork();
	if (c < 0)
		return fail();
	if (c == 0) {
		for (;;)
			pause();
	}
	snprintf(addr, sizeof(addr), "%p", (void *)marker);
	snprintf(fdtxt, sizeof(fdtxt), "%d", fd);
	if (!strcmp(op, "ptrace-attach"))
		ret = do_ptrace(c, false, addr);
	else if (!strcmp(op, "ptrace-seize"))
		ret = do_ptrace(c, true, addr);
	else if (!strcmp(op, "vm-write"))
		ret = vm(c, addr, "WRITTEN-IN-SESSION", true);
	else if (!strcmp(op, "vm-read"))
		ret = vm(c, addr, "26", false);
	else if (!strcmp(op, "getfd"))
		ret = getfd(c, fd);
	else
		ret = 2;
	kill(c, SIGKILL);
	waitpid(c, &status, 0);
	return ret;
}

static int clone3_user(void)
{
	/* struct clone_args, version 0 (64 bytes) */
	uint64_t args[8] = {CLONE_NEWUSER, 0, 0, 0, SIGCHLD, 0, 0, 0};
	long r = syscall(SYS_clone3, args, sizeof(args));

	if (r < 0)
		return fail();
	if (r == 0)
		_exit(0);
	waitpid((pid_t)r, NULL, 0);
	return ok(NULL);
}

static int clone_user(void)
{
	long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);

	if (r < 0)
		return fail();
	if (r == 0)
		_exit(0);
	waitpid((pid_t)r, NULL, 0);
	return ok(NULL);
}

static int setns_pidfd(pid_t pid, int nstype)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0)
		return fail();
	if (setns(pidfd, nstype))
		return fail();
	return ok(NULL);
}

static int seccomp_listener(void)
{
	struct sock_filter insn[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
	struct sock_fprog prog = {.len = 1, .filter = insn};
	int fd;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return fail();
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			  &prog);
	if (fd < 0)
		return fail();
	return ok(NULL);
}

static void *thread_fn(void *arg)
{
	return arg;
}

static int threads(void)
{
	pthread_t t;
	void *res = NULL;
	int err = pthread_create(&t, NULL, thread_fn, (void *)marker);

	if (err) {
		errno = err;
		return fail();
	}
	pthread_join(t, &res);
	return res == (void *)marker ? ok(NULL) : 2;
}

/* seccomp(2) and landlock_create_ruleset(2) fail with EPERM, then exec argv */
static int deny_seccomp(char **argv)
{
	struct sock_filter insn[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 1, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_landlock_create_ruleset, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(insn) / sizeof(insn[0]), .filter = insn};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		return fail();
	execvp(argv[0], argv);
	return fail();
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(op, "target") && argc == 4)
		return target(argv[2], argv[3]);
	if (!strcmp(op, "ptrace-attach") && (argc == 3 || argc == 4))
		return do_ptrace(num(argv[2]), false, argc == 4 ? argv[3] : NULL);
	if (!strcmp(op, "ptrace-seize") && (argc == 3 || argc == 4))
		return do_ptrace(num(argv[2]), true, argc == 4 ? argv[3] : NULL);
	if (!strcmp(op, "vm-write") && argc == 5)
		return vm(num(argv[2]), argv[3], argv[4], true);
	if (!strcmp(op, "vm-read") && argc == 5)
		return vm(num(argv[2]), argv[3], argv[4], false);
	if (!strcmp(op, "mem-write") && argc == 5)
		return mem(num(argv[2]), argv[3], argv[4], true);
	if (!strcmp(op, "mem-read") && argc == 5)
		return mem(num(argv[2]), argv[3], argv[4], false);
	if (!strcmp(op, "getfd") && argc == 4)
		return getfd(num(argv[2]), (int)num(argv[3]));
	if (!strcmp(op, "child") && argc == 4)
		return child_op(argv[2], argv[3]);
	if (!strcmp(op, "unshare-user") && argc == 2)
		return unshare(CLONE_NEWUSER) ? fail() : ok(NULL);
	if (!strcmp(op, "clone-user") && argc == 2)
		return clone_user();
	if (!strcmp(op, "clone3-user") && argc == 2)
		return clone3_user();
	if (!strcmp(op, "setns-pidfd") && argc == 4)
		return setns_pidfd(num(argv[2]), (int)num(argv[3]));
	if (!strcmp(op, "seccomp-listener") && argc == 2)
		return seccomp_listener();
	if (!strcmp(op, "threads") && argc == 2)
		return threads();
	if (!strcmp(op, "deny-seccomp") && argc > 2)
		return deny_seccomp(argv + 2);
	fprintf(stderr, "usage: see the comment at the top of confine_probe.c\n");
	return 2;
}
