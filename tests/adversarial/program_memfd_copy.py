# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The destructive CLI copied into a memfd and run from it (fexecve): no
path at all. Held by size, compared, killed. Control: outside a session it
runs."""

from harness import PY, blocked, check
from programs import Programs, q

EXPECT = "BLOCKED"


def test_program_memfd_copy(t):
    p = Programs(t)
    # the source under a neutral name: the exec of the loader must not name it
    lines = [f"cp {q(str(p.railway))} ./blob",
             f"{PY} {q(str(p.memfd))} ./blob tool " +
             " ".join(q(a) for a in p.destructive_args())]
    p.outside_runs(lines, "railway from a memfd")
    rec = p.killed(lines, "railway from a memfd")
    check((rec.get("identity") or {}).get("program") == "railway", f"identity: {rec}")
    p.finish()
    blocked(t, "a memfd copy held by size, found to be railway by its contents, killed")
