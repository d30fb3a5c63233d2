# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The destructive CLI run with another argv[0] (`exec -a deploy railway
volume delete ...`, by its full path under another name too): argv never
says "railway". Killed before it runs. Control: outside a session it runs."""

from harness import blocked
from programs import Programs, q

EXPECT = "BLOCKED"


def test_program_exec_a(t):
    p = Programs(t)
    lines = [f"(exec -a deploy {q(str(p.railway))} " +
             " ".join(q(a) for a in p.destructive_args()) + ")"]
    p.outside_runs(lines, "exec -a deploy railway")
    rec = p.killed(lines, "exec -a deploy railway")
    assert b"deploy" in str(rec["evidence"].get("argv")).encode(), rec
    p.finish()
    blocked(t, "killed before it ran: argv[0] does not name the program, the file does")
