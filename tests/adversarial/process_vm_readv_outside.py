# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A session process reads the memory of a process of the same user outside
the session with process_vm_readv (credentials in another process's heap):
refused, nothing read, a confine_refused record. Control: the same read as the
same user outside any session returns the marker."""

from harness import blocked, check, eq
from confine import (AGENT, Target, build_probe, check_target_refusal, expect_err, expect_ok,
                     in_session, outside)

EXPECT = "BLOCKED"


def test_process_vm_readv_outside(t):
    d = t.daemon()
    probe = build_probe(t)
    target = Target(t, probe)
    n = str(len(Target.MARKER))

    o, sid = in_session(d, probe, "vm-read", target.pid, target.addr, n)
    expect_err(o, "EPERM", "process_vm_readv of the outside process from the session")
    check(Target.MARKER.decode() not in o.r.stdout, f"the marker leaked into the session: {o}")
    check_target_refusal(d, sid, "process_vm_readv", target, "process_vm_readv")

    o = outside(t, probe, "vm-read", target.pid, target.addr, n)
    expect_ok(o, f"process_vm_readv by {AGENT} outside any session (control)")
    eq(o.data, Target.MARKER.decode(), "the control read the marker")
    blocked(t, "process_vm_readv of an outside process: EPERM, nothing read, recorded")
