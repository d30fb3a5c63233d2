# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""loss: throttle stops a session process that outruns the daemon. A second
process of the session sends it SIGCONT in a tight loop, to make it run on
while the daemon cannot keep up (here: the daemon is stopped by the test).
The kernel stops it again at each record, so the flood only creeps on, one
system call per SIGCONT; what overflows the ring is counted as lost, in the
daemon's loss records, and the log says so. The case asserts that
every open of the flood is in the log or counted lost (control: with loss:
drop the same flood runs to its end while the daemon is stopped and loses
records)."""

import os
import signal
import time

from enforce import verify_chain
from harness import REPO, Bopt, check, detected, eq, rand_marker, wait_until

EXPECT = "DETECTED"
N = 20000
RING = 65536
# the flooder (builtins only, after its exec) and its accomplice
LOOP = ('echo ready > "$4"; read go < "$3"; '
        '( i=0; while [ $i -lt "$2" ]; do : < "$1"; i=$((i+1)); done; echo done > "$5" ) & f=$!; '
        'while kill -CONT $f 2>/dev/null; do :; done; wait')


def flood(t, policy=None):
    d = t.daemon(ringbuf_size=RING, policy=policy)
    m = rand_marker("thr")
    target = t.write(f"thr-{m}", "x")
    go, ready, done = (t.tmp / f"{k}-{m}" for k in ("go", "ready", "done"))
    os.mkfifo(go)
    p = d.spawn(["/bin/bash", "-c", LOOP, "sh", str(target), str(N), str(go), str(ready),
                 str(done)])
    wait_until(ready.exists, 30, "the session's shell is running")
    os.kill(d.proc.pid, signal.SIGSTOP)
    try:
        with open(go, "w") as f:
            f.write("go\n")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not done.exists():
            time.sleep(0.05)
        finished = done.exists()
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    eq(p.wait(timeout=300), 0, "scopelock run exit status")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    lost = sum(x.get("count", 0) for x in d.records(type="loss")
               if x.get("cause") == "ringbuf_full")
    opens = sum(1 for x in d.records(type="open")
                if Bopt(x.get("requested")) == str(target).encode())
    return d, finished, lost, opens


def test_throttle_sigcont_from_session(t):
    # daemon_absent: continue: the daemon is stopped for longer than the grace
    # period on a loaded machine; this control is about loss, not absence
    policy = t.write("drop.yaml", f"extends: {REPO / 'policies' / 'default.yaml'}\n"
                     "settings:\n  daemon_absent: continue\n"
                     "environments:\n  staging:\n    loss: drop\n")
    _, finished, lost, _ = flood(t, policy)
    check(finished and lost > 0, f"control: with loss: drop the flood did not run to its end "
          f"while the daemon was stopped (finished {finished}, lost {lost})")
    d, finished, lost, opens = flood(t)
    # every open is in the log or counted lost: nothing vanishes unseen
    eq(opens + lost, N, f"open records ({opens}) + counted losses ({lost})")
    verify_chain(d)
    detected(t, f"{opens} of {N} opens in the log, {lost} counted lost (the accomplice's "
                f"SIGCONTs did {'' if finished else 'not '}let the flood finish while the "
                "daemon was stopped; with loss: drop it does)")


# stops its daemon and floods: alone
test_throttle_sigcont_from_session.serial = True
