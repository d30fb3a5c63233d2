# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A renamed copy of the destructive CLI (`cp railway deploy-tool`): another
file, another name, the same contents. The kernel sees a file of a program's
size whose identity is unknown, stops it before its first instruction, the
daemon compares the contents: the same as railway, so the exec gets the
verdict railway gets: killed. Control: outside a session the copy runs."""

from harness import blocked, check
from programs import Programs, q

EXPECT = "BLOCKED"


def test_program_renamed_copy(t):
    p = Programs(t)
    lines = [f"cp {q(str(p.railway))} ./deploy-tool",
             "./deploy-tool " + " ".join(q(a) for a in p.destructive_args())]
    p.outside_runs(lines, "a renamed copy of railway")
    rec = p.killed(lines, "a renamed copy of railway")
    idn = rec.get("identity") or {}
    check(idn.get("same_contents") is True and idn.get("program") == "railway",
          f"identity of the alert: {idn}")
    p.finish()
    blocked(t, "held before its first instruction, found to be railway by its contents, killed")
