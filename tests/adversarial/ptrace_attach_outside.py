# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A session process ptraces a process of the same user outside the session
(PTRACE_ATTACH, then PTRACE_SEIZE), to make it do what the session may not:
refused with EPERM, the outside process untouched, one confine_refused record
each. Controls: the same probe as the same user outside any session attaches;
inside the session a debugger still attaches to the session's own process."""

from harness import blocked, eq
from confine import (AGENT, Target, build_probe, check_target_refusal, expect_err, expect_ok,
                     in_session, outside)

EXPECT = "BLOCKED"


def test_ptrace_attach_outside(t):
    d = t.daemon()
    probe = build_probe(t)
    target = Target(t, probe)

    for op, request in (("ptrace-attach", "PTRACE_ATTACH"), ("ptrace-seize", "PTRACE_SEIZE")):
        o, sid = in_session(d, probe, op, target.pid, target.addr)
        expect_err(o, "EPERM", f"{op} of the outside process from the session")
        target.check_untouched(f"after {op} from the session")
        rec = check_target_refusal(d, sid, "ptrace", target, op)
        eq(rec.get("request"), request, f"{op}: request")

        # a debugger inside the session keeps working on the session's processes
        o, sid = in_session(d, probe, "child", op, target.secret)
        expect_ok(o, f"{op} of a process inside the same session")
        eq(len(d.records(session=sid, type="confine_refused")), 0,
           f"{op} inside the session: no refusal recorded")

    # control: the same user, outside any session, attaches (and reads the marker)
    for op in ("ptrace-attach", "ptrace-seize"):
        expect_ok(outside(t, probe, op, target.pid, target.addr),
                  f"{op} by {AGENT} outside any session (control)")
    target.check_untouched("after the controls detached")
    blocked(t, "PTRACE_ATTACH/SEIZE of an outside process: EPERM from the session's supervisor, "
               "recorded; allowed outside sessions and within the session")
