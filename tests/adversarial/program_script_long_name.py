# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The destructive CLI is a script, run through a symbolic link with another
name (as program_script_symlink), but by a path of more than 256 bytes
(`./././.../rw volume delete ...`). The kernel gives the interpreter that
path; the script is judged when the interpreter opens it only if the name it
opens equals the name remembered at exec, and that name is cut at 255 bytes
(SL_SCRIPT_NAME_MAX): no open ever matches, the script is never judged, no
alert. It should be killed like `rw volume delete ...`. Control: outside a
session it runs."""

from harness import blocked
from programs import Programs, q

EXPECT = "BLOCKED"


def test_program_script_long_name(t):
    p = Programs(t, script=True)
    link = t.tmp / "elsewhere" / "rw"
    link.parent.mkdir()
    link.symlink_to(p.railway)
    path = "./" + "./" * 140 + "rw"
    lines = [f"cd {q(str(link.parent))}",
             f"{path} " + " ".join(q(a) for a in p.destructive_args())]
    p.outside_runs(lines, "the railway script as rw by a long path")
    p.killed(lines, "the railway script as rw by a long path")
    p.finish()
    blocked(t, "the script judged at the interpreter's open whatever the length of its name")
