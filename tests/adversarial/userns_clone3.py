# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""clone3 with CLONE_NEWUSER from a session process. clone3's flags are in
memory a seccomp filter cannot read, so every clone3 of a session is answered
ENOSYS (the C library then falls back to clone, whose flags are checked): no
child, no user namespace. The refusal of the flags is recorded when the caller
falls back (userns_clone.py); a raw clone3 is not recorded. Controls: outside a
session the same call creates the child; inside, threads still start (glibc's
pthread_create tries clone3 first)."""

from harness import blocked, eq
from confine import AGENT, build_probe, expect_err, expect_ok, in_session, outside

EXPECT = "BLOCKED"


def test_userns_clone3(t):
    d = t.daemon()
    probe = build_probe(t)
    o, sid = in_session(d, probe, "clone3-user")
    expect_err(o, "ENOSYS", "clone3(CLONE_NEWUSER) in a session")
    exits = d.records(session=sid, type="exit")
    eq(len(exits), 1, "one process in the session (clone3 made no child)")
    o, sid = in_session(d, probe, "threads")
    expect_ok(o, "pthread_create in a session (glibc falls back from clone3 to clone)")
    expect_ok(outside(t, probe, "clone3-user"),
              f"clone3(CLONE_NEWUSER) by {AGENT} outside any session (control)")
    blocked(t, "clone3 in a session: ENOSYS, no child; threads still start")
