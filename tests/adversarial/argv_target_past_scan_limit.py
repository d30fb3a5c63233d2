# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The destructive command first, its target after the scan limit:
`railway volume delete <1.2 MiB of padding> --volume <production volume>`.
The kernel reads the pattern whole (railway_destroy matches) but not the
production id behind the padding, so the target is unknown; the session is
untainted and no pattern is *partly* matched, so the unreadable evidence is
"not suspicious" (settings.unreadable.otherwise: alert) and the program runs.
Written without the padding it is killed (outside the scope). A pattern that
matched whole with evidence unread is at least as suspicious as a partial
one: it should be held (suspicious -> freeze) or killed, never run.
Controls: outside a session it runs; in the session, the same command
without padding is killed."""

import shlex
import subprocess

from clis import env_for, killed_case, outside_runs, setup
from enforce import agent_script, finish, wait_alert
from harness import blocked, eq, fail, rand_marker, short

EXPECT = "BLOCKED"
q = shlex.quote
PAD = ['pad=$(head -c 102400 /dev/zero | tr "\\0" x)', "args=()",
       'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do args+=("$pad"); done']


def test_argv_target_past_scan_limit(t):
    w, bindir, d = setup(t, settings={"hold_timeout": "2m"})
    cmd = f'railway volume delete "${{args[@]}}" --volume {q(w.prod_vol)}'
    outside_runs(t, bindir, "railway, padding, production id",
                 ["/bin/bash", "-c", "\n".join(PAD + [cmd])])
    killed_case(t, d, bindir, "without padding", None, "delete",
                agent_lines=[f"railway volume delete --volume {q(w.prod_vol)}"])
    marker = t.tmp / "marker-padded"
    name = rand_marker("padded")
    p = d.spawn(agent_script(t, "agent", PAD + [cmd, "exit 3"], expect_killed=False), name=name,
                env=env_for(bindir, marker), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sid = d.session_id(name, timeout=30)
    rec = wait_alert(d, sid, "unreadable-evidence", timeout=30)
    eq(rec.get("verdict"), "held", f"verdict of {short(rec, 900)}")
    eq(rec.get("suspicious"), True, f"suspicious of {short(rec, 900)}")
    r = d.cli("deny", "--reason", "adversarial: target past the scan limit", rec["hold_id"])
    eq(r.rc, 0, f"scopelock deny ({r})")
    try:
        p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        fail("the denied session did not end")
    d.wait_session_end(sid)
    if marker.exists():
        fail(f"the destructive command ran; its alert: {short(rec, 900)}")
    finish(t, d, w)
    blocked(t, "a whole pattern match with unread evidence is suspicious: never ran")
