# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A session process installs a seccomp filter with a listener of its own. A
later filter's USER_NOTIF takes precedence, so its own supervisor would answer
the ptrace and user namespace calls before scopelockd: refused, recorded.
Control: outside a session the same user installs it."""

from harness import blocked, eq
from confine import AGENT, build_probe, expect_err, expect_ok, in_session, one_refusal, outside

EXPECT = "BLOCKED"


def test_seccomp_listener_in_session(t):
    d = t.daemon()
    probe = build_probe(t)
    o, sid = in_session(d, probe, "seccomp-listener")
    expect_err(o, "EPERM", "seccomp(SET_MODE_FILTER, NEW_LISTENER) in a session")
    rec = one_refusal(d, sid, "seccomp", "seccomp listener")
    eq(rec.get("flags"), "0x8", "flags (SECCOMP_FILTER_FLAG_NEW_LISTENER)")
    expect_ok(outside(t, probe, "seccomp-listener"),
              f"a seccomp listener by {AGENT} outside any session (control)")
    blocked(t, "a seccomp listener inside a session: EPERM, recorded")
