# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An argv longer than the kernel's scan limit (1 MiB): the destructive verb
after 1.2 MiB of padding is never read by the kernel. What it could not read
is not "nothing": in a session tainted with production (it read the
production token's file) the exec is held for a person (settings.unreadable:
suspicious -> freeze); denied, the program never runs. Controls: the same
command outside a session runs; in an untainted session with no pattern
partly matched (`printf` with the same padding) the exec runs and an alert
says what could not be read (otherwise -> alert)."""

import shlex
import subprocess

from clis import env_for, outside_runs, setup
from enforce import agent_script, alerts, finish, wait_alert, wait_session_killed
from harness import KILLED, blocked, check, eq, fail, rand_marker, short, wait_until

EXPECT = "BLOCKED"
q = shlex.quote
# 12 arguments of 100 KiB (one argument may hold at most 128 KiB)
PAD = ['pad=$(head -c 102400 /dev/zero | tr "\\0" x)', "args=()",
       'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do args+=("$pad"); done']


def test_argv_past_scan_limit_held(t):
    w, bindir, d = setup(t, settings={"hold_timeout": "2m"})
    marker = t.tmp / "marker-held"
    # control: outside a session it runs
    outside_runs(t, bindir, "railway after 1.2 MiB of padding",
                 ["/bin/bash", "-c", "\n".join(PAD + ['railway "${args[@]}" volume delete'])])
    # control: untainted, no pattern partly matched: runs, alert
    ok_name = rand_marker("ok")
    ok = t.tmp / "printf.out"
    r = d.run(agent_script(t, "agent-ok", PAD + [f'/usr/bin/printf "%s" "${{args[@]}}" > {q(str(ok))}'],
                           expect_killed=False), name=ok_name, env=env_for(bindir, marker))
    eq(r.rc, 0, f"printf with 1.2 MiB of arguments in an untainted session ({r})")
    check(ok.stat().st_size == 12 * 102400, "printf did not run whole")
    sid = d.session_id(ok_name)
    rec = wait_alert(d, sid, "unreadable-evidence")
    eq(rec.get("verdict"), "alert", f"verdict of {short(rec)}")
    check("past_scan_limit" in (rec.get("unreadable") or []), f"unreadable of {short(rec)}")
    eq(rec.get("suspicious"), False, f"suspicious of {short(rec)}")
    d.wait_session_end(sid)
    # tainted: held
    name = rand_marker("held")
    argv = agent_script(t, "agent", [f"cat {q(str(w.prod_file))} > /dev/null"] + PAD +
                        ['railway "${args[@]}" volume delete', "exit 3"], expect_killed=False)
    p = d.spawn(argv, name=name, env=env_for(bindir, marker), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
    sid = d.session_id(name, timeout=30)
    rec = wait_alert(d, sid, "unreadable-evidence", timeout=30)
    s = short(rec, 1500)
    eq(rec.get("verdict"), "held", f"verdict of {s}")
    eq(rec.get("channel"), "exec", f"channel of {s}")
    check("past_scan_limit" in (rec.get("unreadable") or []), f"unreadable of {s}")
    eq(rec.get("suspicious"), True, f"suspicious of {s}")
    check(not marker.exists(), "the held program ran")
    r = d.cli("deny", "--reason", "adversarial: unreadable argv", rec["hold_id"])
    eq(r.rc, 0, f"scopelock deny ({r})")
    try:
        p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        fail("the denied session did not end")
    eq(p.returncode, KILLED, "exit status of the denied session")
    wait_session_killed(d, sid)
    d.wait_session_end(sid)
    if marker.exists():
        fail(f"the program ran after the deny: {marker.read_text()[:200]!r}")
    finish(t, d, w)
    blocked(t, "held for a person (argv past the 1 MiB scan limit, tainted session); denied, "
               "never ran")
