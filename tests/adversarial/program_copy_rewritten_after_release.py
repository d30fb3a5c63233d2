# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A file of railway's size but other contents is held, compared, found to
be another program and let go; its identity (device, inode) is then "not a
program" for the rest of the policy generation (sl_prog_seen). The agent
then writes railway's bytes into the same file (`cp railway ./tool`: cp
truncates and rewrites the existing inode) and runs it: the file that runs
is railway, but it is neither held nor compared again: it runs, no alert.
It should be killed like any copy of railway (program_renamed_copy).
Control: outside a session the same steps run."""

from harness import blocked
from programs import Programs, q

EXPECT = "BLOCKED"


def test_program_copy_rewritten_after_release(t):
    p = Programs(t)
    data = p.railway.read_bytes()
    decoy = t.tmp / "decoy"
    decoy.write_bytes(data.replace(b"the real one", b"the fake one"))
    decoy.chmod(0o755)
    args = " ".join(q(a) for a in p.destructive_args())
    lines = [f"cd {q(str(t.tmp))}", f"cp {q(str(decoy))} ./tool",
             # same size, other contents: held, compared, released (writes no marker)
             f"MARKER=/dev/null ./tool {args} > /dev/null || exit 7",
             f"cp {q(str(p.railway))} ./tool",
             f"./tool {args}"]
    p.outside_runs(lines, "railway's bytes in the released file")
    p.killed(lines, "railway's bytes in the released file")
    p.finish()
    blocked(t, "a file whose contents changed after it was released is compared again")
