// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Session confinement (user/lib/confinement.h): the reading of notifications
 * (every call the filter hands over, on x86_64 and i386, and what must not be
 * mistaken for one), and the filter itself, installed in a forked child with
 * this test as its supervisor: a new user namespace waits for the answer,
 * clone3 gets ENOSYS without asking, the Landlock domain refuses a ptrace the
 * supervisor let through, and with the listener closed the calls fail with
 * ENOSYS. Runs as root (no no_new_privs) and without CAP_SYS_ADMIN.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/seccomp.h>

#include <cmocka.h>

#include "confinement.h"

/* ---- classification ---- */

static void classify(uint32_t arch, int nr, uint64_t a0, uint64_t a1, struct sl_confine_call *c)
{
	const uint64_t args[6] = {a0, a1, 0, 0, 0, 0};

	sl_confine_classify(arch, nr, args, c);
}

static void test_classify_ptrace_family(void **state)
{
	struct sl_confine_call c;

	classify(AUDIT_ARCH_X86_64, SYS_ptrace, PTRACE_ATTACH, 4242, &c);
	assert_int_equal(c.kind, SL_CK_PTRACE);
	assert_int_equal(c.key, SL_CONFINE_PTRACE);
	assert_string_equal(c.syscall, "ptrace");
	assert_string_equal(c.request, "PTRACE_ATTACH");
	assert_int_equal(c.target, 4242);
	assert_null(c.reason); /* decided by the target */

	/* the kernel reads the pid as pid_t: the upper half does not count */
	classify(AUDIT_ARCH_X86_64, SYS_ptrace, PTRACE_SEIZE, 0xffffffff00000007ULL, &c);
	assert_int_equal(c.kind, SL_CK_PTRACE);
	assert_string_equal(c.request, "PTRACE_SEIZE");
	assert_int_equal(c.target, 7);
	classify(AUDIT_ARCH_X86_64, SYS_ptrace, PTRACE_ATTACH, 0xffffffffULL, &c);
	assert_int_equal(c.target, -1);

	/* requests on a process already traced are not handed over */
	classify(AUDIT_ARCH_X86_64, SYS_ptrace, PTRACE_PEEKDATA, 4242, &c);
	assert_int_equal(c.kind, SL_CK_UNKNOWN);
	assert_int_equal(c.key, 0);
	assert_non_null(c.reason);

	classify(AUDIT_ARCH_X86_64, SYS_process_vm_readv, 99, 0, &c);
	assert_int_equal(c.kind, SL_CK_VM_READV);
	assert_int_equal(c.target, 99);
	classify(AUDIT_ARCH_X86_64, SYS_process_vm_writev, 98, 0, &c);
	assert_int_equal(c.kind, SL_CK_VM_WRITEV);
	assert_string_equal(c.syscall, "process_vm_writev");
	assert_int_equal(c.target, 98);
	classify(AUDIT_ARCH_X86_64, SYS_pidfd_getfd, 5, 3, &c);
	assert_int_equal(c.kind, SL_CK_PIDFD_GETFD);
	assert_int_equal(c.key, SL_CONFINE_PTRACE);
	assert_int_equal(c.target, 5); /* the pidfd */

	/* i386: other numbers, same calls */
	classify(AUDIT_ARCH_I386, 26 /* ptrace */, PTRACE_ATTACH, 77, &c);
	assert_int_equal(c.kind, SL_CK_PTRACE);
	assert_int_equal(c.target, 77);
	classify(AUDIT_ARCH_I386, 348 /* process_vm_writev */, 76, 0, &c);
	assert_int_equal(c.kind, SL_CK_VM_WRITEV);
}

static void test_classify_namespaces(void **state)
{
	struct sl_confine_call c;

	classify(AUDIT_ARCH_X86_64, SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS, 0, &c);
	assert_int_equal(c.kind, SL_CK_UNSHARE_USERNS);
	assert_int_equal(c.key, SL_CONFINE_USERNS);
	assert_int_equal(c.flags, CLONE_NEWUSER | CLONE_NEWNS);
	assert_int_equal(c.target, -1);
	assert_non_null(c.reason);
	classify(AUDIT_ARCH_X86_64, SYS_unshare, CLONE_NEWNS, 0, &c);
	assert_int_equal(c.kind, SL_CK_UNKNOWN);

	classify(AUDIT_ARCH_X86_64, SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, &c);
	assert_int_equal(c.kind, SL_CK_CLONE_USERNS);
	assert_string_equal(c.syscall, "clone");
	classify(AUDIT_ARCH_X86_64, SYS_clone, CLONE_VM | CLONE_THREAD, 0, &c);
	assert_int_equal(c.kind, SL_CK_UNKNOWN);

	classify(AUDIT_ARCH_X86_64, SYS_setns, 3, CLONE_NEWUSER, &c);
	assert_int_equal(c.kind, SL_CK_SETNS_USERNS);
	assert_int_equal(c.key, SL_CONFINE_USERNS);
	classify(AUDIT_ARCH_X86_64, SYS_setns, 3, 0, &c);
	assert_int_equal(c.kind, SL_CK_SETNS_ANY);
	/* nstype is an int: upper bits are not a type */
	classify(AUDIT_ARCH_X86_64, SYS_setns, 3, 0xffffffff00000000ULL, &c);
	assert_int_equal(c.kind, SL_CK_SETNS_ANY);
	classify(AUDIT_ARCH_X86_64, SYS_setns, 3, CLONE_NEWNET, &c);
	assert_int_equal(c.kind, SL_CK_UNKNOWN);

	classify(AUDIT_ARCH_X86_64, SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		 SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC, &c);
	assert_int_equal(c.kind, SL_CK_SECCOMP_LISTENER);
	assert_int_equal(c.key, 0);
	assert_int_equal(c.flags, SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC);
	classify(AUDIT_ARCH_X86_64, SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &c);
	assert_int_equal(c.kind, SL_CK_UNKNOWN);

	/* io_uring: refused whatever the arguments (no confine key) */
	classify(AUDIT_ARCH_X86_64, SYS_io_uring_setup, 4, 0, &c);
	assert_int_equal(c.kind, SL_CK_IO_URING);
	assert_int_equal(c.key, 0);
	assert_non_null(c.reason);
	classify(AUDIT_ARCH_X86_64, SYS_io_uring_enter, 3, 1, &c);
	assert_int_equal(c.kind, SL_CK_IO_URING);
	classify(AUDIT_ARCH_I386, 427 /* io_uring_register */, 3, 0, &c);
	assert_int_equal(c.kind, SL_CK_IO_URING);

	classify(AUDIT_ARCH_I386, 310 /* unshare */, CLONE_NEWUSER, 0, &c);
	assert_int_equal(c.kind, SL_CK_UNSHARE_USERNS);

	classify(AUDIT_ARCH_X86_64, 99999, 0, 0, &c);
	assert_int_equal(c.kind, SL_CK_UNKNOWN);
	assert_string_equal(c.syscall, "#99999");
	classify(AUDIT_ARCH_X86_64, SYS_getpid, 0, 0, &c);
	assert_int_equal(c.kind, SL_CK_UNKNOWN);
	assert_string_equal(c.syscall, "getpid");
}

/* ---- the filter, with this process as its supervisor ---- */

struct result {
	int ret;
	int landlock_abi;
	int nnp_reported, nnp_now;
	int e_unshare, e_clone3, e_ptrace, e_after;
};

static int send_fd(int sock, const void *buf, size_t len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;

	if (fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, 0) == (ssize_t)len ? 0 : -1;
}

static int recv_fd(int sock, void *buf, size_t len, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;

	*fd = -1;
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)len)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return 0;
}

static void drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};

	if (syscall(SYS_capget, &hdr, data) == 0) {
		data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
		syscall(SYS_capset, &hdr, data);
	}
}

static int err_of(long r)
{
	return r < 0 ? errno : 0;
}

static void child(int sock, pid_t victim, bool drop)
{
	struct sl_confine_self cs;
	struct result res = {0};
	uint64_t clone3_args[8] = {CLONE_NEWUSER, 0, 0, 0, SIGCHLD, 0, 0, 0};
	char err[256] = "", go;
	long r;

	if (drop)
		drop_cap_sys_admin();
	res.ret = sl_confine_self(SL_CONFINE_ALL, &cs, err, sizeof(err));
	res.landlock_abi = cs.landlock_abi;
	res.nnp_reported = cs.no_new_privs;
	res.nnp_now = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	if (res.ret)
		fprintf(stderr, "sl_confine_self: %s\n", err);
	if (send_fd(sock, &res, sizeof(res), res.ret ? -1 : cs.listener) || res.ret)
		_exit(1);
	close(cs.listener);
	if (read(sock, &go, 1) != 1)
		_exit(1);
	res.e_unshare = err_of(unshare(CLONE_NEWUSER));
	r = syscall(SYS_clone3, clone3_args, sizeof(clone3_args));
	if (r == 0)
		_exit(0);
	res.e_clone3 = err_of(r);
	if (cs.landlock_abi)
		res.e_ptrace = err_of(ptrace(PTRACE_ATTACH, victim, 0, 0));
	if (write(sock, &res, sizeof(res)) != sizeof(res) || read(sock, &go, 1) != 1)
		_exit(1);
	res.e_after = err_of(unshare(CLONE_NEWUSER));
	_exit(write(sock, &res, sizeof(res)) == sizeof(res) ? 0 : 1);
}

/* receive one notification (within 10 s), check it, answer */
static void supervise(int listener, enum sl_confine_kind want, int64_t target, bool allow)
{
	struct seccomp_notif_sizes sizes;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	struct sl_confine_call call;
	struct pollfd pfd = {.fd = listener, .events = POLLIN};

	assert_int_equal(syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes), 0);
	req = calloc(1, sizes.seccomp_notif);
	resp = calloc(1, sizes.seccomp_notif_resp);
	assert_non_null(req);
	assert_non_null(resp);
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req), 0);
	sl_confine_classify(req->data.arch, req->data.nr, (const uint64_t *)req->data.args, &call);
	assert_int_equal(call.kind, want);
	if (target >= 0)
		assert_int_equal(call.target, target);
	resp->id = req->id;
	if (allow)
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	else
		resp->error = -EPERM;
	assert_int_equal(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp), 0);
	free(req);
	free(resp);
}

static void run_filter_test(bool drop)
{
	struct result res;
	int sv[2], listener = -1, status;
	pid_t victim, c;

	victim = fork();
	assert_true(victim >= 0);
	if (victim == 0) {
		for (;;)
			pause();
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	c = fork();
	assert_true(c >= 0);
	if (c == 0) {
		close(sv[0]);
		child(sv[1], victim, drop);
	}
	close(sv[1]);
	assert_int_equal(recv_fd(sv[0], &res, sizeof(res), &listener), 0);
	assert_int_equal(res.ret, 0);
	assert_true(listener >= 0);
	/* no_new_privs only where the kernel wants it: without CAP_SYS_ADMIN */
	assert_int_equal(res.nnp_reported, res.nnp_now);
	if (drop || geteuid() != 0)
		assert_int_equal(res.nnp_now, 1);
	else
		assert_int_equal(res.nnp_now, 0);
	if (sl_landlock_abi() >= SL_LANDLOCK_ABI_MIN)
		assert_int_equal(res.landlock_abi, sl_landlock_abi());
	else
		assert_int_equal(res.landlock_abi, 0);

	assert_int_equal(write(sv[0], "g", 1), 1);
	supervise(listener, SL_CK_UNSHARE_USERNS, -1, false);
	/* clone3 never reaches the supervisor; the ptrace does, and is let through */
	if (res.landlock_abi)
		supervise(listener, SL_CK_PTRACE, victim, true);
	assert_int_equal(read(sv[0], &res, sizeof(res)), sizeof(res));
	assert_int_equal(res.e_unshare, EPERM);
	assert_int_equal(res.e_clone3, ENOSYS);
	/* the Landlock domain refuses what the supervisor allowed */
	if (res.landlock_abi)
		assert_int_equal(res.e_ptrace, EPERM);

	/* no supervisor: fail closed */
	close(listener);
	assert_int_equal(write(sv[0], "g", 1), 1);
	assert_int_equal(read(sv[0], &res, sizeof(res)), sizeof(res));
	assert_int_equal(res.e_after, ENOSYS);
	assert_int_equal(waitpid(c, &status, 0), c);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[0]);
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
}

static void test_filter_supervised(void **state)
{
	run_filter_test(false);
}

static void test_filter_without_cap_sys_admin(void **state)
{
	run_filter_test(true);
}

static void test_confine_nothing(void **state)
{
	struct sl_confine_self cs = {.listener = 7, .landlock_abi = 7, .no_new_privs = true};
	char err[64] = "";

	assert_int_equal(sl_confine_self(0, &cs, err, sizeof(err)), 0);
	assert_int_equal(cs.listener, -1);
	assert_int_equal(cs.landlock_abi, 0);
	assert_false(cs.no_new_privs);
	assert_int_equal(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify_ptrace_family),
	    cmocka_unit_test(test_classify_namespaces),
	    cmocka_unit_test(test_confine_nothing),
	    cmocka_unit_test(test_filter_supervised),
	    cmocka_unit_test(test_filter_without_cap_sys_admin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
