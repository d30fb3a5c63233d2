# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The system-call tracepoints are attached only while a session exists
(docs/operations.md): the last session ending detaches them. An agent times
its session's start to the moment another session ends, hoping that its
first process runs in the window where the tracepoints go (after the end)
and before they come back: its very first action is to exec `cat` of a
production-labelled file. Each round ends session A (its launcher sees its
command exit) at the same moment as session B starts; B's exec and its open
of the labelled file must be in the log with the alert, every round. Control:
the same `cat` outside a session is no record."""

import shlex
import time

from enforce import wait_alert
from harness import B, check, detected, eq, rand_marker, short
from syshooks import start_labelled, wait_detached

EXPECT = "DETECTED"
ROUNDS = 6


def test_syscall_hooks_detach_race(t):
    d, prod = start_labelled(t)
    wait_detached(d)
    out = t.outside(["/bin/cat", str(prod)])
    eq(out.rc, 0, f"cat outside a session ({out})")
    for i in range(ROUNDS):
        stop = t.tmp / f"stop-{i}"
        a = d.spawn(["/bin/sh", "-c", f"while [ ! -e {shlex.quote(str(stop))} ]; do "
                     "sleep 0.01; done"], name=rand_marker("a"))
        sa = d.session_id(a.name)
        # A's last process exits and B's request is sent at once; every other
        # round B a little later, into the end's drain and the detach
        stop.touch()
        if i % 2:
            time.sleep(0.03 * i)
        b = d.spawn(["/bin/cat", str(prod)], name=rand_marker("b"))
        eq(a.wait(30), 0, f"round {i}: session A")
        eq(b.wait(30), 0, f"round {i}: session B")
        sb = d.session_id(b.name)
        d.wait_session_end(sa)
        d.wait_session_end(sb)
        execs = [r for r in d.records(session=sb, type="exec")
                 if [B(x) for x in r.get("argv") or []] == [b"/bin/cat", str(prod).encode()]]
        check(execs, f"round {i}: B's first exec is in the log\n{d.dump(session=sb)}")
        opens = [r for r in d.records(session=sb, type="open")
                 if B(r.get("path") or "") == str(prod).encode()]
        check(opens, f"round {i}: B's open of the labelled file is in the log\n"
              f"{d.dump(session=sb)}")
        eq(opens[0].get("env"), ["production"], f"round {i}: labels of {short(opens[0])}")
        wait_alert(d, sb, "open-outside-scope")
    outside = [r for r in d.records(type="open") if not r.get("session")
               and B(r.get("path") or "") == str(prod).encode()]
    eq(outside, [], "the control's open outside a session recorded")
    wait_detached(d)
    detected(t, f"{ROUNDS} sessions started as another ended: each first exec and open of "
             "the labelled file recorded and alerted")
