# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A session process takes a descriptor out of a process of the same user
outside the session (pidfd_open + pidfd_getfd): refused, the secret file it
holds is not read, a confine_refused record. Controls: outside any session the
same user gets the descriptor and reads the secret; inside the session it works
on the session's own process."""

from harness import blocked, check, eq
from confine import (AGENT, Target, build_probe, check_target_refusal, expect_err, expect_ok,
                     in_session, outside)

EXPECT = "BLOCKED"


def test_pidfd_getfd_outside(t):
    d = t.daemon()
    probe = build_probe(t)
    target = Target(t, probe)

    o, sid = in_session(d, probe, "getfd", target.pid, target.fd)
    expect_err(o, "EPERM", "pidfd_getfd from the outside process")
    check(target.secret_text not in o.r.stdout, f"the secret leaked into the session: {o}")
    check_target_refusal(d, sid, "pidfd_getfd", target, "pidfd_getfd")

    o, sid = in_session(d, probe, "child", "getfd", target.secret)
    expect_ok(o, "pidfd_getfd from a process of the same session")
    eq(o.data, target.secret_text, "pidfd_getfd inside the session read the file")

    o = outside(t, probe, "getfd", target.pid, target.fd)
    expect_ok(o, f"pidfd_getfd by {AGENT} outside any session (control)")
    eq(o.data, target.secret_text, "the control read the secret through the descriptor")
    blocked(t, "pidfd_getfd of an outside process's descriptor: EPERM, recorded")
