// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Session confinement: the seccomp filter and Landlock domain `scopelock run`
 * installs in a session's first process, and the reading of the filter's
 * notifications for scopelockd. See confinement.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <seccomp.h>

#include "confinement.h"
#include "util.h"

/*
 * struct landlock_ruleset_attr as of Landlock ABI 6 (Linux 6.12, commit
 * 21d52e295ad2 "landlock: Add abstract UNIX socket scoping"); Debian 12's
 * <linux/landlock.h> has only the first member.
 */
struct sl_landlock_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};
#define SL_LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#define SL_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)

#define FAIL(e, ...)                                                                               \
	do {                                                                                       \
		snprintf(err, errlen, __VA_ARGS__);                                                \
		ret = (e);                                                                         \
		goto out;                                                                          \
	} while (0)

int sl_landlock_abi(void)
{
	long abi =
	    syscall(SYS_landlock_create_ruleset, NULL, 0, SL_LANDLOCK_CREATE_RULESET_VERSION);

	return abi > 0 ? (int)abi : 0;
}

static bool has_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN);
}

/*
 * A Landlock domain for this process and its descendants. Its only
 * restriction of its own is the abstract-UNIX-socket scope (no connecting to
 * abstract sockets bound outside the session); what it is for is Landlock's
 * ptrace rule, which holds for every domain: a process in a domain may use
 * ptrace_may_access() only on processes in the same domain or one nested in
 * it. That refuses PTRACE_ATTACH/SEIZE, process_vm_readv/writev,
 * pidfd_getfd, /proc/PID/mem, environ, fd/, kcmp ... towards every process
 * outside the session, without the races a supervisor has. Handling a file
 * system access right instead would also forbid mount(2) in the session
 * (Landlock refuses mounts to any domain that handles one).
 */
static int landlock_domain(char *err, size_t errlen)
{
	struct sl_landlock_ruleset_attr attr = {.scoped = SL_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET};
	int fd, ret = 0;

	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		FAIL(-errno, "landlock_create_ruleset: %s", strerror(errno));
	if (syscall(SYS_landlock_restrict_self, fd, 0))
		FAIL(-errno, "landlock_restrict_self: %s", strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* the other ABIs a process of this architecture can call the kernel with */
static int add_compat_arches(scmp_filter_ctx ctx)
{
	static const struct {
		uint32_t native, compat;
	} compat[] = {
	    {SCMP_ARCH_X86_64, SCMP_ARCH_X86},
	    {SCMP_ARCH_X86_64, SCMP_ARCH_X32},
	    {SCMP_ARCH_AARCH64, SCMP_ARCH_ARM},
	};
	uint32_t native = seccomp_arch_native();

	for (size_t i = 0; i < SL_ARRAY_SIZE(compat); i++) {
		int rc;

		if (compat[i].native != native)
			continue;
		rc = seccomp_arch_add(ctx, compat[i].compat);
		if (rc && rc != -EEXIST)
			return rc;
	}
	return 0;
}

#define RULE(action, name, ...)                                                                    \
	do {                                                                                       \
		rc = seccomp_rule_add(ctx, action, SCMP_SYS(name), __VA_ARGS__);                   \
		if (rc)                                                                            \
			FAIL(rc, "seccomp rule for %s: %s", #name, strerror(-rc));                 \
	} while (0)

/*
 * The filter: every system call is allowed except those below, which are
 * handed to the supervisor (SCMP_ACT_NOTIFY) or, for clone3, answered
 * ENOSYS: its flags are in memory the filter cannot read, and the C library
 * then falls back to clone(2) (glibc >= 2.34, musl, Go do). Arguments of
 * type int are compared on their low 32 bits, as the kernel reads them.
 */
static int build_filter(uint32_t flags, scmp_filter_ctx *out, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc, ret = 0;

	if (!ctx)
		FAIL(-ENOMEM, "seccomp_init: out of memory");
	/* a foreign ABI would get around the rules: the compat ABIs get them too, and
	 * anything else is killed (libseccomp's default for a bad architecture) */
	rc = add_compat_arches(ctx);
	if (rc)
		FAIL(rc, "seccomp architectures: %s", strerror(-rc));
	if (flags & SL_CONFINE_PTRACE) {
		RULE(SCMP_ACT_NOTIFY, ptrace, 1, SCMP_A0(SCMP_CMP_EQ, PTRACE_ATTACH));
		RULE(SCMP_ACT_NOTIFY, ptrace, 1, SCMP_A0(SCMP_CMP_EQ, PTRACE_SEIZE));
		RULE(SCMP_ACT_NOTIFY, process_vm_readv, 0);
		RULE(SCMP_ACT_NOTIFY, process_vm_writev, 0);
		RULE(SCMP_ACT_NOTIFY, pidfd_getfd, 0);
	}
	if (flags & SL_CONFINE_USERNS) {
		RULE(SCMP_ACT_NOTIFY, clone, 1,
		     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
		RULE(SCMP_ACT_NOTIFY, unshare, 1,
		     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
		RULE(SCMP_ACT_NOTIFY, setns, 1,
		     SCMP_A1(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
		/* nstype 0 accepts any namespace type, a user namespace included */
		RULE(SCMP_ACT_NOTIFY, setns, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, 0));
		RULE(SCMP_ACT_ERRNO(ENOSYS), clone3, 0);
	}
	/*
	 * A filter installed later that returns USER_NOTIF takes precedence over
	 * this one (the most recent filter's listener gets the notification),
	 * so a session process with a listener of its own could answer for
	 * scopelockd. No listeners inside a session.
	 */
	RULE(SCMP_ACT_NOTIFY, seccomp, 2, SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER),
	     SCMP_A1(SCMP_CMP_MASKED_EQ, SECCOMP_FILTER_FLAG_NEW_LISTENER,
		     SECCOMP_FILTER_FLAG_NEW_LISTENER));
	/*
	 * io_uring's operations (openat, connect, send, ...) do not pass through
	 * the system call hooks scopelock decides at: no io_uring in a session.
	 * Answered ENOSYS (as a kernel without it: libuv, Bun and the like fall
	 * back to plain calls) and recorded by the supervisor. _enter and
	 * _register too: a ring made outside and passed in.
	 */
	RULE(SCMP_ACT_NOTIFY, io_uring_setup, 0);
	RULE(SCMP_ACT_NOTIFY, io_uring_enter, 0);
	RULE(SCMP_ACT_NOTIFY, io_uring_register, 0);
	*out = ctx;
	ctx = NULL;
out:
	if (ctx)
		seccomp_release(ctx);
	return ret;
}

/*
 * Load the filter with the raw system call: libseccomp builds and exports
 * the BPF program, the listener fd is ours (seccomp_load would keep it in
 * the library and set no_new_privs on its own).
 */
static int load_filter(scmp_filter_ctx ctx, int *listener, char *err, size_t errlen)
{
	struct sock_fprog prog = {0};
	void *buf = NULL;
	off_t size;
	int mfd, rc, fd, ret = 0;

	mfd = memfd_create("scopelock-filter", MFD_CLOEXEC);
	if (mfd < 0)
		FAIL(-errno, "memfd_create: %s", strerror(errno));
	rc = seccomp_export_bpf(ctx, mfd);
	if (rc)
		FAIL(rc, "export the seccomp filter: %s", strerror(-rc));
	size = lseek(mfd, 0, SEEK_END);
	if (size <= 0 || size % sizeof(struct sock_filter) ||
	    size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		FAIL(-EINVAL, "export the seccomp filter: %lld bytes", (long long)size);
	buf = malloc((size_t)size);
	if (!buf)
		FAIL(-ENOMEM, "out of memory");
	if (pread(mfd, buf, (size_t)size, 0) != size)
		FAIL(-EIO, "read the seccomp filter back");
	prog.len = (unsigned short)(size / sizeof(struct sock_filter));
	prog.filter = buf;
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			  &prog);
	if (fd < 0)
		FAIL(-errno, "seccomp(SET_MODE_FILTER, NEW_LISTENER): %s", strerror(errno));
	*listener = fd;
out:
	free(buf);
	if (mfd >= 0)
		close(mfd);
	return ret;
}

int sl_confine_self(uint32_t flags, struct sl_confine_self *out, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = NULL;
	int ret = 0, abi, listener = -1;

	out->listener = -1;
	out->landlock_abi = 0;
	out->no_new_privs = false;
	if (!(flags & SL_CONFINE_ALL))
		return 0;
	/* without CAP_SYS_ADMIN the kernel wants no_new_privs for both */
	if (!has_cap_sys_admin()) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			FAIL(-errno, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		out->no_new_privs = true;
	}
	if (flags & SL_CONFINE_PTRACE) {
		abi = sl_landlock_abi();
		if (abi >= SL_LANDLOCK_ABI_MIN) {
			ret = landlock_domain(err, errlen);
			if (ret)
				goto out;
			out->landlock_abi = abi;
		}
	}
	ret = build_filter(flags, &ctx, err, errlen);
	if (ret)
		goto out;
	ret = load_filter(ctx, &listener, err, errlen);
	if (ret)
		goto out;
	out->listener = listener;
out:
	if (ctx)
		seccomp_release(ctx);
	return ret;
}

/* ---- notifications ---- */

void sl_confine_classify(uint32_t arch, int nr, const uint64_t args[6], struct sl_confine_call *out)
{
	char *name = seccomp_syscall_resolve_num_arch(arch, nr);

	memset(out, 0, sizeof(*out));
	out->target = -1;
	out->reason = "a system call the filter does not hand over";
	if (!name) {
		snprintf(out->syscall, sizeof(out->syscall), "#%d", nr);
		return;
	}
	snprintf(out->syscall, sizeof(out->syscall), "%s", name);
	if (!strcmp(name, "ptrace")) {
		if (args[0] == PTRACE_ATTACH)
			out->request = "PTRACE_ATTACH";
		else if (args[0] == PTRACE_SEIZE)
			out->request = "PTRACE_SEIZE";
		else
			goto out;
		out->kind = SL_CK_PTRACE;
		out->target = (int32_t)(uint32_t)args[1]; /* the kernel's pid_t */
	} else if (!strcmp(name, "process_vm_readv") || !strcmp(name, "process_vm_writev")) {
		out->kind = name[11] == 'r' ? SL_CK_VM_READV : SL_CK_VM_WRITEV;
		out->target = (int32_t)(uint32_t)args[0];
	} else if (!strcmp(name, "pidfd_getfd")) {
		out->kind = SL_CK_PIDFD_GETFD;
		out->target = (int32_t)(uint32_t)args[0];
	} else if (!strcmp(name, "clone") && (args[0] & CLONE_NEWUSER)) {
		out->kind = SL_CK_CLONE_USERNS;
		out->flags = args[0];
		out->reason = "a new user namespace";
	} else if (!strcmp(name, "unshare") && (args[0] & CLONE_NEWUSER)) {
		out->kind = SL_CK_UNSHARE_USERNS;
		out->flags = args[0];
		out->reason = "a new user namespace";
	} else if (!strcmp(name, "setns") && ((uint32_t)args[1] & CLONE_NEWUSER)) {
		out->kind = SL_CK_SETNS_USERNS;
		out->flags = (uint32_t)args[1];
		out->reason = "joining a user namespace";
	} else if (!strcmp(name, "setns") && (uint32_t)args[1] == 0) {
		out->kind = SL_CK_SETNS_ANY;
		out->reason = "setns without a namespace type (it could be a user namespace)";
	} else if (!strcmp(name, "seccomp") && args[0] == SECCOMP_SET_MODE_FILTER &&
		   (args[1] & SECCOMP_FILTER_FLAG_NEW_LISTENER)) {
		out->kind = SL_CK_SECCOMP_LISTENER;
		out->flags = args[1];
		out->reason = "a seccomp listener (it would answer before scopelockd)";
	} else if (!strncmp(name, "io_uring_", 9)) {
		out->kind = SL_CK_IO_URING;
		out->reason = "io_uring (its operations bypass the hooks opens, connects and "
			      "writes are judged at)";
	}
	switch (out->kind) {
	case SL_CK_PTRACE:
	case SL_CK_VM_READV:
	case SL_CK_VM_WRITEV:
	case SL_CK_PIDFD_GETFD:
		out->key = SL_CONFINE_PTRACE;
		out->reason = NULL; /* decided by the target */
		break;
	case SL_CK_CLONE_USERNS:
	case SL_CK_UNSHARE_USERNS:
	case SL_CK_SETNS_USERNS:
	case SL_CK_SETNS_ANY:
		out->key = SL_CONFINE_USERNS;
		break;
	default:
		break;
	}
out:
	free(name);
}
