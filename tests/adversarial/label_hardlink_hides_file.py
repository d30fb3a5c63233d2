# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The agent reads the production token's file through a hard link it made
outside the production-labelled directory (`ln old-scripts/railway-prod.token
./tok`; link(2) is no open). The path of the open is ./tok, no directory
above it is labelled, and `DIR/**` labels only the directory by identity, not
the files in it: no taint, no alert. A tainted session's `railway volume
delete` is killed (taint_not_cleared_by_workspace_cwd); after the read
through the hard link it runs. It should be killed the same (the file read
is production's: its identity is that of a file below a labelled directory).
Controls: outside a session it runs; the same session reading the file by
its own path is killed."""

import shlex

from clis import env_for, killed_case, outside_runs, setup
from enforce import agent_script, finish
from harness import blocked, fail, rand_marker

EXPECT = "BLOCKED"
q = shlex.quote


def test_label_hardlink_hides_file(t):
    w, bindir, d = setup(t, register_secrets=False)
    work = t.tmp / "work"
    work.mkdir()
    argv = ["railway", "volume", "delete", "--yes"]
    outside_runs(t, bindir, "railway volume delete", argv, cwd=str(w.shop))
    # control: read by its own path: tainted, killed
    killed_case(t, d, bindir, "the token read by its path", None, "delete",
                agent_lines=[f"cat {q(str(w.prod_file))} > /dev/null",
                             f"cd {q(str(w.shop))}", "railway volume delete --yes"])
    # the same read through a hard link made in the session (expect_killed
    # False: when it is not killed the agent ends at once, no 30 s wait)
    marker = t.tmp / "marker-hardlink"
    name = rand_marker("hardlink")
    tok = q(str(work / "tok"))
    r = d.run(agent_script(t, "agent-hardlink", [
        f"ln {q(str(w.prod_file))} {tok}", f"cat {tok} > /dev/null",
        f"cd {q(str(w.shop))}", "railway volume delete --yes"], expect_killed=False),
        name=name, env=env_for(bindir, marker), timeout=60)
    sid = d.session_id(name)
    d.wait_session_end(sid)
    if marker.exists():
        fail(f"the token read through a hard link: no taint, railway ran (exit {r.rc})\n"
             + d.dump(session=sid, types=("alert", "session_killed")))
    w.secrets = [w.stg_token]
    finish(t, d, w)
    blocked(t, "a hard link to a file below a labelled directory keeps its label")
