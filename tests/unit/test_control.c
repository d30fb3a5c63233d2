// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The control room's dispatch table (user/daemon/control.h), linked from
 * .output/libscopelockd.a: every request type the table holds, asked by
 * peers that the fake kernel (fake_peer.h) places inside a session, outside
 * as root, outside as a user with and without the admin group, unidentified,
 * and with a connection handed to another process. The table is walked, so
 * a request added later is checked without touching this test; only the
 * read-only requests are listed here by name.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "control.h"
#include "fake_peer.h"
#include "peer.h"

/* the requests anyone may make, sessions too: they change nothing */
static const char *const read_only[] = {"status", "tail"};

static bool is_read_only(const char *op)
{
	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++)
		if (!strcmp(op, read_only[i]))
			return true;
	return false;
}

static int setup(void **state)
{
	(void)state;
	fake_reset();
	return 0;
}

/* identify a peer through the fake kernel as it is set up now */
static void identify(struct sl_peer *p)
{
	sl_peer_identify(&fake_sys, &env, 3, p);
}

static enum sl_peer_refusal permit(enum sl_control_perm perm, const struct sl_peer *p,
				   const struct ucred *sender, const char *group, gid_t gid)
{
	char why[512];
	enum sl_peer_refusal r =
	    sl_control_permit(&fake_sys, perm, p, sender, group, gid, why, sizeof(why));

	/* every refusal says why */
	if (r != SL_PEER_OK)
		assert_true(strlen(why) > 10);
	return r;
}

static void test_table(void **state)
{
	enum sl_control_perm perm;
	size_t n = 0, changes = 0;
	const char *op;

	(void)state;
	for (size_t i = 0; (op = sl_control_op(i, &perm)); i++) {
		n++;
		/* only the listed read-only requests are open to sessions */
		if (is_read_only(op))
			assert_int_equal(perm, SL_CTL_ANY);
		else
			assert_int_not_equal(perm, SL_CTL_ANY);
		changes += perm != SL_CTL_ANY;
		/* each request once */
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(sl_control_op(j, NULL), op);
	}
	assert_true(n >= 9);
	assert_int_equal(changes, n - 2);
	assert_null(sl_control_op(n, &perm));
}

/* the point of the table: nothing inside a session changes anything, root included */
static void test_every_request_refused_from_a_session(void **state)
{
	struct ucred sender = {.pid = 4711, .uid = 0, .gid = 0};
	enum sl_control_perm perm;
	struct sl_peer p;
	const char *op;

	(void)state;
	F.cred.uid = 0;
	F.cred.gid = 0;
	F.cgroup_text = "0::/scopelock/aaaa000011112222/inner\n";
	F.xattrs[0] =
	    (struct fake_xattr){ROOT "/scopelock/aaaa000011112222", "aaaa000011112222", 0};
	identify(&p);
	assert_true(p.identified);
	assert_true(p.in_session);
	for (size_t i = 0; (op = sl_control_op(i, &perm)); i++) {
		/* root, in the admin group, the sender the one that connected */
		enum sl_peer_refusal r = permit(perm, &p, &sender, "wheel", 0);

		if (perm == SL_CTL_ANY)
			assert_int_equal(r, SL_PEER_OK);
		else
			assert_int_equal(r, SL_PEER_IN_SESSION);
	}
	sl_peer_clear(&fake_sys, &p);

	/* a session of another daemon on the host: the xattr alone says so */
	F.cgroup_text = "0::/elsewhere/bbbb000011112222\n";
	F.xattrs[0] =
	    (struct fake_xattr){ROOT "/elsewhere/bbbb000011112222", "bbbb000011112222", 0};
	identify(&p);
	assert_true(p.in_session);
	for (size_t i = 0; (op = sl_control_op(i, &perm)); i++)
		if (perm != SL_CTL_ANY)
			assert_int_equal(permit(perm, &p, &sender, NULL, (gid_t)-1),
					 SL_PEER_IN_SESSION);
	sl_peer_clear(&fake_sys, &p);
}

static void test_outside(void **state)
{
	struct ucred sender = {.pid = 4711, .uid = 1000, .gid = 1000};
	enum sl_control_perm perm;
	struct sl_peer p;
	const char *op;

	(void)state;
	/* uid 1000, groups 27 and 100 */
	identify(&p);
	assert_false(p.in_session);
	for (size_t i = 0; (op = sl_control_op(i, &perm)); i++) {
		switch (perm) {
		case SL_CTL_ANY:
		case SL_CTL_OUTSIDE:
			assert_int_equal(permit(perm, &p, &sender, NULL, (gid_t)-1), SL_PEER_OK);
			break;
		case SL_CTL_ADMIN:
			/* no admin_group; one the user is not in; one that does not resolve */
			assert_int_equal(permit(perm, &p, &sender, NULL, (gid_t)-1),
					 SL_PEER_NOT_ADMIN);
			assert_int_equal(permit(perm, &p, &sender, "wheel", 10), SL_PEER_NOT_ADMIN);
			assert_int_equal(permit(perm, &p, &sender, "nosuch", (gid_t)-1),
					 SL_PEER_NOT_ADMIN);
			/* a supplementary group, the primary group */
			assert_int_equal(permit(perm, &p, &sender, "users", 100), SL_PEER_OK);
			assert_int_equal(permit(perm, &p, &sender, "dev", 1000), SL_PEER_OK);
			break;
		}
	}
	sl_peer_clear(&fake_sys, &p);

	/* root outside every session may do everything */
	F.cred.uid = 0;
	identify(&p);
	for (size_t i = 0; (op = sl_control_op(i, &perm)); i++)
		assert_int_equal(permit(perm, &p, &sender, NULL, (gid_t)-1), SL_PEER_OK);
	sl_peer_clear(&fake_sys, &p);
}

/* any doubt about the peer refuses every request that changes something */
static void test_doubt_refuses(void **state)
{
	struct ucred sender = {.pid = 4711, .uid = 0, .gid = 0};
	struct ucred other = {.pid = 4712, .uid = 0, .gid = 0};
	enum sl_control_perm perm;
	struct sl_peer p;
	const char *op;

	(void)state;
	F.cred.uid = 0;
	identify(&p);
	for (size_t i = 0; (op = sl_control_op(i, &perm)); i++) {
		if (perm == SL_CTL_ANY)
			continue;
		assert_int_equal(permit(perm, &p, NULL, NULL, (gid_t)-1), SL_PEER_NO_SENDER);
		assert_int_equal(permit(perm, &p, &other, NULL, (gid_t)-1), SL_PEER_HANDED_OVER);
	}
	/* the process that connected has exited */
	F.alive_err = -ESRCH;
	for (size_t i = 0; (op = sl_control_op(i, &perm)); i++)
		if (perm != SL_CTL_ANY)
			assert_int_equal(permit(perm, &p, &sender, NULL, (gid_t)-1),
					 SL_PEER_EXITED);
	sl_peer_clear(&fake_sys, &p);

	/* reaped before the daemon identified it */
	fake_reset();
	F.cred.uid = 0;
	F.pidfd_pid_err = -ESRCH;
	identify(&p);
	assert_false(p.identified);
	for (size_t i = 0; (op = sl_control_op(i, &perm)); i++)
		assert_int_equal(permit(perm, &p, &sender, NULL, (gid_t)-1),
				 perm == SL_CTL_ANY ? SL_PEER_OK : SL_PEER_UNIDENTIFIED);
	sl_peer_clear(&fake_sys, &p);

	/* its cgroup cannot be read: not identified, refused */
	fake_reset();
	F.cgroup_err = -EACCES;
	identify(&p);
	assert_false(p.identified);
	for (size_t i = 0; (op = sl_control_op(i, &perm)); i++)
		if (perm != SL_CTL_ANY)
			assert_int_equal(permit(perm, &p, &sender, NULL, (gid_t)-1),
					 SL_PEER_UNIDENTIFIED);
	sl_peer_clear(&fake_sys, &p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_table, setup),
	    cmocka_unit_test_setup(test_every_request_refused_from_a_session, setup),
	    cmocka_unit_test_setup(test_outside, setup),
	    cmocka_unit_test_setup(test_doubt_refuses, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
