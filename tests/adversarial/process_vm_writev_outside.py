# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A session process writes into the memory of a process of the same user
outside the session with process_vm_writev: refused, the outside memory
unchanged, a confine_refused record. Control: the same write as the same user
outside any session changes the memory."""

from harness import blocked, eq
from confine import (AGENT, Target, build_probe, check_target_refusal, expect_err, expect_ok,
                     in_session, outside)

EXPECT = "BLOCKED"


def test_process_vm_writev_outside(t):
    d = t.daemon()
    probe = build_probe(t)
    target = Target(t, probe)

    o, sid = in_session(d, probe, "vm-write", target.pid, target.addr, "WRITTEN-BY-SESSION")
    expect_err(o, "EPERM", "process_vm_writev into the outside process from the session")
    target.check_untouched("after process_vm_writev from the session")
    check_target_refusal(d, sid, "process_vm_writev", target, "process_vm_writev")

    o, sid = in_session(d, probe, "child", "vm-write", target.secret)
    expect_ok(o, "process_vm_writev into a process of the same session")

    expect_ok(outside(t, probe, "vm-write", target.pid, target.addr, "WRITTEN-BY-OUTSIDER"),
              f"process_vm_writev by {AGENT} outside any session (control)")
    eq(target.memory(19), b"WRITTEN-BY-OUTSIDER", "the control's write reached the target")
    blocked(t, "process_vm_writev into an outside process: EPERM, memory unchanged, recorded")
