# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The destructive CLI is a script; the agent hands it to the shell as an
argument under another name: `sh ./rw volume delete ...`, rw a symbolic link
to railway. The exec is /bin/sh's (not a script exec: the kernel never saw a
"#!", so nothing waits for the interpreter to open the script), argv never
says "railway"; the shell then opens railway and runs it. It should be
judged as the exec of railway it is (killed before a line runs), as
`rw volume delete ...` is. Control: outside a session it runs."""

from harness import blocked
from programs import Programs, q

EXPECT = "BLOCKED"


def test_program_script_sh_argument(t):
    p = Programs(t, script=True)
    link = t.tmp / "elsewhere" / "rw"
    link.parent.mkdir()
    link.symlink_to(p.railway)
    lines = [f"cd {q(str(link.parent))}",
             "/bin/sh ./rw " + " ".join(q(a) for a in p.destructive_args())]
    p.outside_runs(lines, "the railway script as `sh ./rw`")
    p.killed(lines, "the railway script as `sh ./rw`")
    p.finish()
    blocked(t, "the script the shell opens judged as the railway it is")
