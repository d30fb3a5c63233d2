# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""clone(CLONE_NEWUSER) from a session process, a child in a new user
namespace: EPERM, no child, a confine_refused record. Control: the same call by
the same user outside any session creates the child."""

from harness import blocked, check, eq
from confine import AGENT, build_probe, expect_err, expect_ok, in_session, one_refusal, outside

EXPECT = "BLOCKED"


def test_userns_clone(t):
    d = t.daemon()
    probe = build_probe(t)
    o, sid = in_session(d, probe, "clone-user")
    expect_err(o, "EPERM", "clone(CLONE_NEWUSER) in a session")
    rec = one_refusal(d, sid, "clone", "clone(CLONE_NEWUSER)")
    check(int(rec.get("flags", "0"), 16) & 0x10000000, f"flags {rec.get('flags')}")
    eq(rec.get("confine"), "userns", "confine key")
    expect_ok(outside(t, probe, "clone-user"),
              f"clone(CLONE_NEWUSER) by {AGENT} outside any session (control)")
    blocked(t, "clone(CLONE_NEWUSER) in a session: EPERM, recorded")
