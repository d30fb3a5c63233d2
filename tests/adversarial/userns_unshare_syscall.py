# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""unshare(CLONE_NEWUSER) called directly by a session process: EPERM and a
confine_refused record. Control: the same call by the same user outside any
session succeeds."""

from harness import blocked, eq
from confine import AGENT, build_probe, expect_err, expect_ok, in_session, one_refusal, outside

EXPECT = "BLOCKED"


def test_userns_unshare_syscall(t):
    d = t.daemon()
    probe = build_probe(t)
    o, sid = in_session(d, probe, "unshare-user")
    expect_err(o, "EPERM", "unshare(CLONE_NEWUSER) in a session")
    rec = one_refusal(d, sid, "unshare", "unshare(CLONE_NEWUSER)")
    eq(rec.get("flags"), "0x10000000", "flags")
    eq(rec.get("confine"), "userns", "confine key")
    expect_ok(outside(t, probe, "unshare-user"),
              f"unshare(CLONE_NEWUSER) by {AGENT} outside any session (control)")
    blocked(t, "unshare(CLONE_NEWUSER) in a session: EPERM, recorded")
