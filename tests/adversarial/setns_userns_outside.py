# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A session process joins the user namespace of a process of the same user
outside the session (setns on a pidfd of that process, CLONE_NEWUSER), where it
would be root: refused, a confine_refused record; setns with nstype 0 (any
type: the filter cannot tell a user namespace) too. Control: outside any
session the same user joins it."""

import os
import subprocess

from harness import blocked, eq, wait_until
from confine import (AGENT, as_agent, build_probe, expect_err, expect_ok, in_session,
                     one_refusal, outside)

EXPECT = "BLOCKED"


def test_setns_userns_outside(t):
    d = t.daemon()
    probe = build_probe(t)
    # an outside process of the agent user in a user namespace of its own
    p = t.popen(as_agent(["/usr/bin/unshare", "-U", "/bin/sleep", "600"]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def in_userns():
        try:
            return os.readlink(f"/proc/{p.pid}/ns/user") != os.readlink("/proc/self/ns/user")
        except OSError:
            return False
    wait_until(in_userns, 10, "the outside process to enter its user namespace")

    o, sid = in_session(d, probe, "setns-pidfd", p.pid, 0x10000000)
    expect_err(o, "EPERM", "setns(pidfd, CLONE_NEWUSER) into the outside user namespace")
    rec = one_refusal(d, sid, "setns", "setns(CLONE_NEWUSER)")
    eq(rec.get("flags"), "0x10000000", "flags")
    eq(rec.get("confine"), "userns", "confine key")

    o, sid = in_session(d, probe, "setns-pidfd", p.pid, 0)
    expect_err(o, "EPERM", "setns(pidfd, 0) from a session")
    one_refusal(d, sid, "setns", "setns(0)")

    expect_ok(outside(t, probe, "setns-pidfd", p.pid, 0x10000000),
              f"setns into the user namespace by {AGENT} outside any session (control)")
    blocked(t, "setns into a user namespace (or with nstype 0) from a session: EPERM, recorded")
