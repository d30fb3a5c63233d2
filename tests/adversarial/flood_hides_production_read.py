# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent floods its session with opens so that the bulk ring overflows,
and reads the production token in the middle of the flood, hoping that the
open of the token file is among the records lost. With the default policy
(loss: throttle) the flooders are stopped whenever half the ring waits and
nothing is lost: the read of the token file is in the log, labelled
production, and every flood open is there too. Control: the same flood with
loss: drop overflows the ring (records lost, counted): the flood is real."""

import shlex

from enforce import World, start_daemon, tls_policy, write_policy
from harness import PY, Bopt, check, detected, eq, rand_marker

EXPECT = "DETECTED"
q = shlex.quote
N = 20000
FLOOD = ("import os, sys\nfor i in range(int(sys.argv[2])):\n"
         "    os.close(os.open(sys.argv[1], os.O_RDONLY))\n")


def run_flood(t, w, loss):
    d = start_daemon(t, write_policy(t, tls_policy(w, staging_loss=loss)), ringbuf_size=65536)
    flood = t.write("flood.py", FLOOD)
    target = t.write(f"flood-target-{rand_marker('f')}", "x")
    name = rand_marker("flood")
    # two flooders; the token is read while they run
    script = (f"{PY} {q(str(flood))} {q(str(target))} {N} & "
              f"{PY} {q(str(flood))} {q(str(target))} {N} & "
              f"cat {q(str(w.prod_file))} > /dev/null; wait")
    r = d.run(["/bin/sh", "-c", script], name=name, timeout=300)
    eq(r.rc, 0, f"the flooding session with loss: {loss} ({r})")
    sid = d.finished_session(r, timeout=120)
    end = d.records(session=sid, type="session_end")[0]
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    floods = sum(1 for x in d.records(session=sid, type="open")
                 if Bopt(x.get("requested")) == str(target).encode())
    reads = [x for x in d.records(session=sid, type="open")
             if Bopt(x.get("path")) == str(w.prod_file).encode()]
    lost = sum(x.get("count", 0) for x in d.records(type="loss")
               if x.get("cause") == "ringbuf_full")
    return end, floods, reads, lost


def test_flood_hides_production_read(t):
    w = World(t)
    # control: loss: drop, the same flood overflows the ring
    end, floods, reads, lost = run_flood(t, w, "drop")
    check(lost > 0 and floods < 2 * N,
          f"control: the flood with loss: drop lost nothing ({floods} of {2 * N} recorded): "
          "the test cannot tell throttling from a daemon that keeps up")
    w2 = World(t)
    end, floods, reads, lost = run_flood(t, w2, "throttle")
    eq(lost, 0, "records lost with loss: throttle")
    eq(floods, 2 * N, "flood opens recorded")
    check(reads, "the read of the production token file is not in the log")
    check(end.get("throttle_stops", 0) > 0, f"session_end: no throttle stop: {end}")
    detected(t, f"the token file's read and all {2 * N} flood opens are in the log; the flooders "
                f"were stopped {end['throttle_stops']} times ({end['throttled_ms']} ms); with "
                "loss: drop the same flood loses records")


# floods both CPUs on purpose: alone
test_flood_hides_production_read.serial = True
