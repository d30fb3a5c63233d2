# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The destructive CLI (an ELF program) run by the dynamic loader under
another name: `/lib64/ld-linux-x86-64.so.2 ./rw volume delete ...`, rw a
symbolic link to railway. The exec is the loader's (mm->exe_file is ld.so,
argv never says "railway", no script is pending), the loader then opens and
maps railway itself: the program that runs is railway. It should be killed
before it runs, like `rw volume delete ...`. Control: outside a session it
runs."""

from harness import blocked
from programs import Programs, q

EXPECT = "BLOCKED"
LDSO = "/lib64/ld-linux-x86-64.so.2"


def test_program_ldso_other_name(t):
    p = Programs(t)
    link = t.tmp / "elsewhere" / "rw"
    link.parent.mkdir()
    link.symlink_to(p.railway)
    lines = [f"cd {q(str(link.parent))}",
             f"{LDSO} ./rw " + " ".join(q(a) for a in p.destructive_args())]
    p.outside_runs(lines, "railway through ld.so as rw")
    p.killed(lines, "railway through ld.so as rw")
    p.finish()
    blocked(t, "killed before it ran: the file ld.so maps and runs is railway")
