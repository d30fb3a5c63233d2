# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The production token filed 70 directories deep under the production-
labelled directory: the kernel's path walk stops at 64 components, so the
path it records is only a tail and no path label matches it. The agent reads
the token from inside the deep directory (a relative open), then runs the
destructive CLI: the directory above is labelled by identity too, the walk
for labels goes on to the root, the session is tainted with production, the
command is killed before it runs. Control: the same outside a session runs."""

import os
import shlex

from clis import env_for, killed_case, setup
from enforce import finish
from harness import blocked, check, eq

EXPECT = "BLOCKED"
q = shlex.quote


def test_path_deeper_than_walk_limit(t):
    w, bindir, d = setup(t, register_secrets=False)
    deep = w.old
    for i in range(70):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    (deep / "token").write_text(w.prod_token + "\n")
    steps = [f"cd {q(str(deep))}", "cat token > /dev/null", "railway volume delete --yes"]
    # control: outside a session it runs
    marker = t.tmp / "marker-outside"
    r = t.outside(["/bin/bash", "-c", "\n".join(steps)], env=env_for(bindir, marker))
    eq(r.rc, 0, f"outside a session ({r})")
    check(marker.exists(), "outside a session the program did not run")
    rec = killed_case(t, d, bindir, "the token read 70 directories deep", None, "delete",
                      agent_lines=steps)
    check("production" in (rec.get("taint") or []), f"taint of {rec}")
    sid = rec["session"]
    opens = [o for o in d.records(session=sid, type="open")
             if o.get("path_partial") and "production" in (o.get("env") or [])]
    check(opens, "no open record with a partial path labelled production:\n" +
          d.dump(session=sid, types=("open",)))
    w.secrets = []  # the token is not registered: nothing knows to redact it
    finish(t, d, w)
    blocked(t, "killed: the deep file's labelled ancestor found by identity (taint)")
