# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The destructive CLI is a script, run through a symbolic link with another
name (`rw volume delete ...`): the exec shows "/bin/sh .../rw volume delete
...". When the interpreter opens the script, the file it opens is railway:
killed before a line of it runs. Control: outside a session it runs."""

from harness import blocked
from programs import Programs, q

EXPECT = "BLOCKED"


def test_program_script_symlink(t):
    p = Programs(t, script=True)
    link = t.tmp / "elsewhere" / "rw"
    link.parent.mkdir()
    link.symlink_to(p.railway)
    lines = ["rw " + " ".join(q(a) for a in p.destructive_args())]
    p.outside_runs(lines, "the railway script as rw")
    p.killed(lines, "the railway script as rw")
    p.finish()
    blocked(t, "the script judged at the interpreter's open as the file it is: railway")
