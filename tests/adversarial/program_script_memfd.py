# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The destructive CLI is a script; a copy of it runs from a memfd
(fexecve: the interpreter gets /dev/fd/N). The exec itself shows only
"/bin/sh /dev/fd/N volume delete ...": the script is judged when the
interpreter opens it, before any line of it runs: held by size, compared,
killed. Control: outside a session it runs."""

from harness import PY, blocked, check
from programs import Programs, q

EXPECT = "BLOCKED"


def test_program_script_memfd(t):
    p = Programs(t, script=True)
    # the source under a neutral name: the exec of the loader must not name it
    lines = [f"cp {q(str(p.railway))} ./blob",
             f"{PY} {q(str(p.memfd))} ./blob tool " +
             " ".join(q(a) for a in p.destructive_args())]
    p.outside_runs(lines, "the railway script from a memfd")
    rec = p.killed(lines, "the railway script from a memfd")
    idn = rec.get("identity") or {}
    check(idn.get("program") == "railway" and idn.get("script_fd") is not None,
          f"identity: {idn}")
    p.finish()
    blocked(t, "the script from a memfd judged at the interpreter's open, found to be "
               "railway, killed before a line of it ran")
