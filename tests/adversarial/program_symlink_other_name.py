# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The destructive CLI run through a symbolic link with another name
(`rw volume delete ...`): argv never says "railway", the file that runs is
railway. Killed before it runs. Control: the same outside a session runs."""

from harness import blocked
from programs import Programs, q

EXPECT = "BLOCKED"


def test_program_symlink_other_name(t):
    p = Programs(t)
    link = t.tmp / "elsewhere" / "rw"
    link.parent.mkdir()
    link.symlink_to(p.railway)
    lines = ["rw " + " ".join(q(a) for a in p.destructive_args())]
    p.outside_runs(lines, "railway as rw")
    rec = p.killed(lines, "railway as rw")
    assert "railway" not in str(rec["evidence"].get("argv")), rec
    p.finish()
    blocked(t, "killed before it ran: the program is known by the file, not by its name")
