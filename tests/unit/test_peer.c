// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The control peer check (user/lib/peer.c): the decision from an identity,
 * a cgroup and the session xattrs, fed through a fake struct sl_peer_sys;
 * then the same code on the real kernel (a forked client on a real unix
 * socket: live, exited before the accept, the SO_PEERPIDFD-less fallback,
 * a request sent after the connecting process exited).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"
#include "peer.h"
#include "proto.h"

#include "fake_peer.h"

static int setup(void **state)
{
	fake_reset();
	return 0;
}

static bool was_closed(int fd)
{
	for (int i = 0; i < F.nclosed; i++)
		if (F.closed[i] == fd)
			return true;
	return false;
}

/* ---------------------------------------------------------------- /proc/PID/cgroup */

static void test_parse_v2(void **state)
{
	char hybrid[] = "12:cpu:/a\n1:name=systemd:/b\n0::/user.slice/x.scope\n";
	char pure[] = "0::/\n";
	char none[] = "12:cpu:/a\n";
	/* a v1 name with a newline forging a v2 line before the real one */
	char forged[] = "5:cpu:/x\n0::/outside\n0::/scopelock/abc\n";
	char notpath[] = "0::relative\n";
	char *out = NULL;

	assert_int_equal(sl_cgroup_parse_v2(hybrid, &out), 0);
	assert_string_equal(out, "/user.slice/x.scope");
	free(out);
	assert_int_equal(sl_cgroup_parse_v2(pure, &out), 0);
	assert_string_equal(out, "/");
	free(out);
	out = NULL;
	assert_int_equal(sl_cgroup_parse_v2(none, &out), -ENOENT);
	assert_int_equal(sl_cgroup_parse_v2(forged, &out), -EBADMSG);
	assert_int_equal(sl_cgroup_parse_v2(notpath, &out), -EBADMSG);
	assert_null(out);
}

/* ---------------------------------------------------------------- the session walk */

static void test_session_of(void **state)
{
	char which[64];

	F.xattrs[0] = (struct fake_xattr){ROOT "/other/s1", "aaaa000011112222", 0};
	/* the marked cgroup itself */
	assert_int_equal(sl_peer_session_of(&fake_sys, &env, "/other/s1", which, sizeof(which)), 1);
	assert_string_equal(which, "aaaa000011112222");
	/* a cgroup the session made inside itself */
	which[0] = '\0';
	assert_int_equal(
	    sl_peer_session_of(&fake_sys, &env, "/other/s1/inner/deeper", which, sizeof(which)), 1);
	assert_string_equal(which, "aaaa000011112222");
	/* a sibling, the parent, the root: outside */
	assert_int_equal(sl_peer_session_of(&fake_sys, &env, "/other/s2", which, sizeof(which)), 0);
	assert_int_equal(sl_peer_session_of(&fake_sys, &env, "/other", which, sizeof(which)), 0);
	assert_int_equal(sl_peer_session_of(&fake_sys, &env, "/", which, sizeof(which)), 0);
	/* below this daemon's own parent without the xattr: its table says session */
	assert_int_equal(sl_peer_session_of(&fake_sys, &env, "/scopelock/bbbb000011112222/x", which,
					    sizeof(which)),
			 1);
	assert_string_equal(which, "bbbb000011112222");
	assert_int_equal(sl_peer_session_of(&fake_sys, &env, "/scopelock", which, sizeof(which)),
			 0);
	assert_int_equal(
	    sl_peer_session_of(&fake_sys, &env, "/scopelockX/bbbb", which, sizeof(which)), 0);
	assert_int_equal(sl_peer_session_of(&fake_sys, &env, "relative", which, sizeof(which)),
			 -EINVAL);
}

static void test_session_of_fails_closed(void **state)
{
	char which[64];

	/* the cgroup is gone (removed after the process exited): cannot tell */
	F.xattrs[0] = (struct fake_xattr){ROOT "/other/s1/dead", NULL, -ENOENT};
	assert_int_equal(
	    sl_peer_session_of(&fake_sys, &env, "/other/s1/dead", which, sizeof(which)), -ENOENT);
	/* any other xattr error on the way up: cannot tell */
	F.xattrs[0] = (struct fake_xattr){ROOT "/other", NULL, -EOPNOTSUPP};
	assert_int_equal(sl_peer_session_of(&fake_sys, &env, "/other/s1", which, sizeof(which)),
			 -EOPNOTSUPP);
	/* an oversized value is not silently cut */
	F.xattrs[0] = (struct fake_xattr){
	    ROOT "/other", "0123456789012345678901234567890123456789012345678901234567890123456789",
	    0};
	assert_int_equal(sl_peer_session_of(&fake_sys, &env, "/other/s1", which, sizeof(which)),
			 -ERANGE);
}

/* ---------------------------------------------------------------- identification */

static void test_identify_outside(void **state)
{
	struct sl_peer p;

	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), 0);
	assert_true(p.identified);
	assert_int_equal(p.method, SL_PEER_BY_PEERPIDFD);
	assert_int_equal(p.pid, 4711);
	assert_int_equal(p.uid, 1000);
	assert_int_equal(p.pidfd, FAKE_PIDFD);
	assert_string_equal(p.cgroup, "/user.slice");
	assert_false(p.in_session);
	assert_true(p.have_groups);
	assert_int_equal(p.ngroups, 2);
	assert_true(sl_peer_in_group(&p, 1000)); /* primary */
	assert_true(sl_peer_in_group(&p, 100));	 /* supplementary */
	assert_false(sl_peer_in_group(&p, 50));
	assert_int_equal(F.pidfd_open_calls, 0);
	sl_peer_clear(&fake_sys, &p);
	assert_true(was_closed(FAKE_PIDFD));
	assert_int_equal(p.pidfd, -1);
	assert_null(p.cgroup);
}

static void test_identify_in_session(void **state)
{
	struct sl_peer p;

	F.cgroup_text = "0::/other-daemon/cccc000011112222/sub\n";
	F.xattrs[0] =
	    (struct fake_xattr){ROOT "/other-daemon/cccc000011112222", "cccc000011112222", 0};
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), 0);
	assert_true(p.identified);
	assert_true(p.in_session);
	assert_string_equal(p.session, "cccc000011112222");
	sl_peer_clear(&fake_sys, &p);
}

/* the process that connected was reaped before the daemon got to it */
static void test_identify_exited(void **state)
{
	struct sl_peer p;

	F.pidfd_pid_err = -ESRCH;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -ESRCH);
	assert_false(p.identified);
	assert_true(p.have_cred); /* what the kernel recorded at connect() stays */
	assert_int_equal(p.pid, 4711);
	assert_null(p.cgroup);
	assert_int_equal(p.pidfd, -1);
	assert_true(was_closed(FAKE_PIDFD));
	assert_non_null(strstr(p.error, "exited before it was identified"));
	sl_peer_clear(&fake_sys, &p);
}

/* reaped between the cgroup read and the liveness check: the pid may be someone else's */
static void test_identify_recycled(void **state)
{
	struct sl_peer p;

	F.alive_err = -ESRCH;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -ESRCH);
	assert_false(p.identified);
	assert_null(p.cgroup);
	assert_false(p.in_session);
	assert_true(was_closed(FAKE_PIDFD));
	assert_non_null(strstr(p.error, "exited while it was being identified"));
	sl_peer_clear(&fake_sys, &p);
}

static void test_identify_errors(void **state)
{
	struct sl_peer p;

	/* no SO_PEERCRED */
	F.cred_err = -ENOTCONN;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -ENOTCONN);
	assert_false(p.identified);
	assert_false(p.have_cred);
	sl_peer_clear(&fake_sys, &p);

	/* a peer in another pid namespace (pid 0) */
	fake_reset();
	F.cred.pid = 0;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -ESRCH);
	assert_false(p.identified);
	sl_peer_clear(&fake_sys, &p);

	/* the pidfd names another pid than SO_PEERCRED */
	fake_reset();
	F.pidfd_pid = 4712;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -ESRCH);
	assert_false(p.identified);
	assert_true(was_closed(FAKE_PIDFD));
	sl_peer_clear(&fake_sys, &p);

	/* SO_PEERPIDFD fails for another reason than "not supported": no fallback */
	fake_reset();
	F.peerpidfd_err = -ENOMEM;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -ENOMEM);
	assert_false(p.identified);
	assert_int_equal(F.pidfd_open_calls, 0);
	sl_peer_clear(&fake_sys, &p);

	/* /proc/PID/cgroup unreadable, or forged */
	fake_reset();
	F.cgroup_err = -EACCES;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -EACCES);
	assert_false(p.identified);
	sl_peer_clear(&fake_sys, &p);
	fake_reset();
	F.cgroup_text = "0::/outside\n0::/scopelock/abc\n";
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -EBADMSG);
	assert_false(p.identified);
	sl_peer_clear(&fake_sys, &p);

	/* the session walk cannot tell */
	fake_reset();
	F.xattr_default = -EIO;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -EIO);
	assert_false(p.identified);
	assert_false(p.in_session);
	assert_true(was_closed(FAKE_PIDFD));
	sl_peer_clear(&fake_sys, &p);
}

static void test_identify_fallback(void **state)
{
	struct sl_peer p;

	/* a kernel without SO_PEERPIDFD: pidfd_open + start time */
	F.peerpidfd_err = -ENOPROTOOPT;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), 0);
	assert_true(p.identified);
	assert_int_equal(p.method, SL_PEER_BY_PIDFD_OPEN);
	assert_int_equal(p.pidfd, FAKE_PIDFD + 1);
	assert_int_equal(F.pidfd_open_calls, 1);
	sl_peer_clear(&fake_sys, &p);

	/* started at the very time of the accept: accepted (the documented weakness) */
	fake_reset();
	F.peerpidfd_err = -ENOPROTOOPT;
	F.start_ns = F.now_ns;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), 0);
	sl_peer_clear(&fake_sys, &p);

	/* the pid belongs to a process younger than the connection: recycled */
	fake_reset();
	F.peerpidfd_err = -ENOPROTOOPT;
	F.start_ns = F.now_ns + 10000000;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -ESRCH);
	assert_false(p.identified);
	assert_true(was_closed(FAKE_PIDFD + 1));
	assert_non_null(strstr(p.error, "reused"));
	sl_peer_clear(&fake_sys, &p);

	/* gone before pidfd_open */
	fake_reset();
	F.peerpidfd_err = -ENOPROTOOPT;
	F.pidfd_open_ret = -ESRCH;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -ESRCH);
	assert_false(p.identified);
	assert_non_null(strstr(p.error, "exited before it was identified"));
	sl_peer_clear(&fake_sys, &p);

	/* no start time: not identified */
	fake_reset();
	F.peerpidfd_err = -ENOPROTOOPT;
	F.start_err = -EBADMSG;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -EBADMSG);
	assert_false(p.identified);
	sl_peer_clear(&fake_sys, &p);
}

static void test_groups(void **state)
{
	struct sl_peer p;

	/* more groups than the first buffer holds: asked again with the size needed */
	F.ngroups = 70;
	for (size_t i = 0; i < F.ngroups; i++)
		F.groups[i] = (gid_t)(2000 + i);
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), 0);
	assert_true(p.have_groups);
	assert_int_equal(p.ngroups, 70);
	assert_true(sl_peer_in_group(&p, 2069));
	sl_peer_clear(&fake_sys, &p);

	/* SO_PEERGROUPS unavailable: only the primary group counts */
	fake_reset();
	F.groups_err = -ENOPROTOOPT;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), 0);
	assert_false(p.have_groups);
	assert_true(sl_peer_in_group(&p, 1000));
	assert_false(sl_peer_in_group(&p, 100));
	sl_peer_clear(&fake_sys, &p);

	/* never a member when nothing was established */
	sl_peer_init(&p);
	assert_false(sl_peer_in_group(&p, 0));
}

/* ---------------------------------------------------------------- the decision */

static void test_check_change(void **state)
{
	struct ucred self = {.pid = 4711, .uid = 1000, .gid = 1000};
	struct ucred other = {.pid = 4712, .uid = 1000, .gid = 1000};
	struct sl_peer p;
	char why[512];

	/* an identified peer outside sessions, asking itself */
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), 0);
	assert_int_equal(sl_peer_check_change(&fake_sys, &p, &self, why, sizeof(why)), SL_PEER_OK);
	/* the message came from another process (the socket was handed over) */
	assert_int_equal(sl_peer_check_change(&fake_sys, &p, &other, why, sizeof(why)),
			 SL_PEER_HANDED_OVER);
	assert_non_null(strstr(why, "sent by pid 4712"));
	/* no credentials on the message */
	assert_int_equal(sl_peer_check_change(&fake_sys, &p, NULL, why, sizeof(why)),
			 SL_PEER_NO_SENDER);
	/* the peer exited since: the same pid number may be a new process */
	F.alive_err = -ESRCH;
	assert_int_equal(sl_peer_check_change(&fake_sys, &p, &self, why, sizeof(why)),
			 SL_PEER_EXITED);
	assert_non_null(strstr(why, "has exited"));
	sl_peer_clear(&fake_sys, &p);

	/* inside a session: refused whatever the sender */
	fake_reset();
	F.cgroup_text = "0::/scopelock/dddd000011112222\n";
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), 0);
	assert_int_equal(sl_peer_check_change(&fake_sys, &p, &self, why, sizeof(why)),
			 SL_PEER_IN_SESSION);
	assert_non_null(strstr(why, "dddd000011112222"));
	sl_peer_clear(&fake_sys, &p);

	/* unidentified: refused, and the reason says why */
	fake_reset();
	F.pidfd_pid_err = -ESRCH;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -ESRCH);
	assert_int_equal(sl_peer_check_change(&fake_sys, &p, &self, why, sizeof(why)),
			 SL_PEER_UNIDENTIFIED);
	assert_non_null(strstr(why, "exited before it was identified"));
	sl_peer_clear(&fake_sys, &p);

	assert_string_equal(sl_peer_refusal_name(SL_PEER_UNIDENTIFIED), "unidentified");
	assert_string_equal(sl_peer_refusal_name(SL_PEER_IN_SESSION), "in_session");
	assert_string_equal(sl_peer_refusal_name(SL_PEER_HANDED_OVER), "handed_over");
	assert_string_equal(sl_peer_refusal_name(SL_PEER_EXITED), "peer_exited");
	assert_string_equal(sl_peer_refusal_name(SL_PEER_NO_SENDER), "sender_unknown");
	assert_string_equal(sl_peer_refusal_name(SL_PEER_NOT_ADMIN), "not_admin");
}

static void test_json(void **state)
{
	struct sl_peer p;
	json_t *o;
	char who[128];

	F.cred.uid = 0;
	F.cred.gid = 0;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), 0);
	o = sl_peer_json(&p);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "user")), "root");
	assert_int_equal(json_integer_value(json_object_get(o, "uid")), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), 4711);
	assert_string_equal(json_string_value(json_object_get(o, "cgroup")), "/user.slice");
	assert_true(json_is_null(json_object_get(o, "session")));
	assert_true(json_is_true(json_object_get(o, "identified")));
	assert_string_equal(json_string_value(json_object_get(o, "identified_by")), "SO_PEERPIDFD");
	assert_null(json_object_get(o, "error"));
	json_decref(o);
	sl_peer_who(&p, who, sizeof(who));
	assert_string_equal(who, "root (uid 0, pid 4711)");
	sl_peer_clear(&fake_sys, &p);

	/* unidentified: no cgroup, no method, the error; a cgroup name that is not UTF-8 */
	fake_reset();
	F.cgroup_text = "0::/x\xff\n";
	F.xattr_default = -EIO;
	assert_int_equal(sl_peer_identify(&fake_sys, &env, 3, &p), -EIO);
	o = sl_peer_json(&p);
	assert_non_null(o);
	assert_true(json_is_null(json_object_get(o, "cgroup")));
	assert_true(json_is_false(json_object_get(o, "identified")));
	assert_true(json_is_null(json_object_get(o, "identified_by")));
	assert_true(json_is_object(json_object_get(o, "error"))); /* {"b64": ...} */
	json_decref(o);
	sl_peer_clear(&fake_sys, &p);

	sl_peer_init(&p);
	sl_peer_who(&p, who, sizeof(who));
	assert_string_equal(who, "unknown peer");
	o = sl_peer_json(&p);
	assert_true(json_is_null(json_object_get(o, "uid")));
	json_decref(o);
}

/* ---------------------------------------------------------------- the real kernel */

static ssize_t real_no_xattr(const char *path, const char *name, void *val, size_t len)
{
	return -ENODATA;
}

static int real_no_peerpidfd(int fd, int level, int name, void *val, socklen_t *len)
{
	if (level == SOL_SOCKET && name == SO_PEERPIDFD)
		return -ENOPROTOOPT;
	return sl_peer_sys_linux.getsockopt(fd, level, name, val, len);
}

struct real {
	char dir[64];
	char path[108];
	int lfd;
	struct sl_peer_sys sys;
	struct sl_peer_env env;
};

static int real_setup(void **state)
{
	struct real *r = calloc(1, sizeof(*r));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (!r)
		return -1;
	snprintf(r->dir, sizeof(r->dir), "/tmp/sl-peer-XXXXXX");
	if (!mkdtemp(r->dir))
		return -1;
	snprintf(r->path, sizeof(r->path), "%s/s", r->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->path);
	r->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (r->lfd < 0 || setsockopt(r->lfd, SOL_SOCKET, SO_PASSCRED, &(int){1}, sizeof(int)) ||
	    bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(r->lfd, 8))
		return -1;
	r->sys = sl_peer_sys_linux;
	r->sys.getxattr = real_no_xattr; /* no session anywhere; everything else is real */
	r->env = (struct sl_peer_env){.cg_root = "/nonexistent", .xattr = "trusted.x"};
	*state = r;
	return 0;
}

static int real_teardown(void **state)
{
	struct real *r = *state;

	close(r->lfd);
	unlink(r->path);
	rmdir(r->dir);
	free(r);
	return 0;
}

/*
 * A child connects; 's': then sends {"op":"x"}. It exits when the pipe hold
 * (hold[0] read, hold[1] write) is closed by the test, or at once without one.
 */
static pid_t client(struct real *r, char how, const int *hold)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd;
		char b;

		if (hold)
			close(hold[1]);
		if (sl_proto_connect(r->path, &fd))
			_exit(1);
		if (how == 's' && sl_proto_send_raw(fd, "{\"op\":\"x\"}", 10, 0))
			_exit(2);
		if (hold)
			(void)!read(hold[0], &b, 1);
		_exit(0);
	}
	return pid;
}

static void test_real_live_peer(void **state)
{
	struct real *r = *state;
	struct ucred sender;
	bool have = false;
	struct sl_peer p;
	json_t *msg = NULL;
	int hold[2], fd, status;
	char why[512];
	pid_t pid;

	assert_int_equal(pipe(hold), 0);
	pid = client(r, 's', hold);
	fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(sl_peer_identify(&r->sys, &r->env, fd, &p), 0);
	assert_true(p.identified);
	assert_int_equal(p.pid, pid);
	assert_int_equal(p.uid, getuid());
	assert_int_equal(p.method, SL_PEER_BY_PEERPIDFD);
	assert_non_null(p.cgroup);
	assert_int_equal(p.cgroup[0], '/');
	assert_false(p.in_session);
	/* the request carries its sender, and it is the peer, alive */
	assert_int_equal(sl_proto_recv_cred(fd, &msg, NULL, &sender, &have), 0);
	json_decref(msg);
	assert_true(have);
	assert_int_equal(sender.pid, pid);
	assert_int_equal(sl_peer_check_change(&r->sys, &p, &sender, why, sizeof(why)), SL_PEER_OK);
	/* the peer exits: its request (queued, or forged with its pid) is refused */
	close(hold[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(sl_peer_check_change(&r->sys, &p, &sender, why, sizeof(why)),
			 SL_PEER_EXITED);
	sl_peer_clear(&r->sys, &p);
	close(hold[0]);
	close(fd);
}

/* connect(), exit, reaped: the daemon accepts afterwards */
static void test_real_exited_before_accept(void **state)
{
	struct real *r = *state;
	struct sl_peer p;
	char why[512];
	int fd, status;
	pid_t pid;

	pid = client(r, 'x', NULL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(sl_peer_identify(&r->sys, &r->env, fd, &p) < 0);
	assert_false(p.identified);
	assert_int_equal(p.pid, pid); /* SO_PEERCRED still says who connected */
	assert_int_equal(p.pidfd, -1);
	assert_int_equal(
	    sl_peer_check_change(&r->sys, &p, &(struct ucred){.pid = pid}, why, sizeof(why)),
	    SL_PEER_UNIDENTIFIED);
	sl_peer_clear(&r->sys, &p);
	close(fd);
}

/* the fallback of kernels without SO_PEERPIDFD, on this kernel */
static void test_real_fallback(void **state)
{
	struct real *r = *state;
	struct sl_peer p;
	int hold[2], fd, status;
	pid_t pid;

	r->sys.getsockopt = real_no_peerpidfd;
	assert_int_equal(pipe(hold), 0);
	pid = client(r, 'x', hold);
	fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(sl_peer_identify(&r->sys, &r->env, fd, &p), 0);
	assert_true(p.identified);
	assert_int_equal(p.method, SL_PEER_BY_PIDFD_OPEN);
	assert_int_equal(p.pid, pid);
	sl_peer_clear(&r->sys, &p);
	close(fd);
	close(hold[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(hold[0]);

	/* exited and reaped before the accept: pidfd_open fails */
	pid = client(r, 'x', NULL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(sl_peer_identify(&r->sys, &r->env, fd, &p) < 0);
	assert_false(p.identified);
	sl_peer_clear(&r->sys, &p);
	close(fd);
}

/* the start time is field 22 of /proc/PID/stat, in boot-time nanoseconds */
static void test_real_start_time(void **state)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t tick = 1000000000ULL / (uint64_t)hz, before, after, start;
	int status;
	pid_t pid;

	before = sl_peer_sys_linux.boottime_ns();
	usleep(30000); /* a few ticks: the child cannot share before's tick */
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(sl_peer_sys_linux.start_time_ns(pid, &start), 0);
	after = sl_peer_sys_linux.boottime_ns();
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(start + tick >= before + 30000000ULL);
	assert_true(start <= after);
	assert_int_equal(sl_peer_sys_linux.start_time_ns(pid, &start), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_parse_v2, setup),
	    cmocka_unit_test_setup(test_session_of, setup),
	    cmocka_unit_test_setup(test_session_of_fails_closed, setup),
	    cmocka_unit_test_setup(test_identify_outside, setup),
	    cmocka_unit_test_setup(test_identify_in_session, setup),
	    cmocka_unit_test_setup(test_identify_exited, setup),
	    cmocka_unit_test_setup(test_identify_recycled, setup),
	    cmocka_unit_test_setup(test_identify_errors, setup),
	    cmocka_unit_test_setup(test_identify_fallback, setup),
	    cmocka_unit_test_setup(test_groups, setup),
	    cmocka_unit_test_setup(test_check_change, setup),
	    cmocka_unit_test_setup(test_json, setup),
	    cmocka_unit_test_setup_teardown(test_real_live_peer, real_setup, real_teardown),
	    cmocka_unit_test_setup_teardown(test_real_exited_before_accept, real_setup,
					    real_teardown),
	    cmocka_unit_test_setup_teardown(test_real_fallback, real_setup, real_teardown),
	    cmocka_unit_test(test_real_start_time),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
