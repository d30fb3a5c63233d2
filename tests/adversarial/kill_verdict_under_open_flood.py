# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A kill verdict under a flood of opens in the same session: the bulk ring
overflows (a 64 KiB ring against an open loop), yet the verdict must be
carried out and alerted: verdicts travel on a ring of their own. The agent
starts the flood, then sends the incident's mutation with the production
token: the mutation never arrives, the whole session (flooder included) is
killed, the alert is written, and the flood's losses are counted. Control:
the same request outside a session arrives."""

import shlex

from enforce import (GraphQLServer, World, agent_script, alerts, check_tls_alert,
                     client_command, finish, start_daemon, tls_policy, wait_alert,
                     wait_session_killed, write_policy)
from harness import KILLED, PY, blocked, check, eq, fail, rand_marker, wait_until

EXPECT = "BLOCKED"
q = shlex.quote
FLOOD = "import os\nwhile True:\n    os.close(os.open('/dev/null', os.O_RDONLY))\n"


def test_kill_verdict_under_open_flood(t):
    w = World(t)
    srv = GraphQLServer(t)
    # loss: drop: the flood overflows the bulk ring (the default, throttle, would
    # stop the flooder instead: tests/e2e/test_throttle.py)
    d = start_daemon(t, write_policy(t, tls_policy(w, staging_loss="drop")), ringbuf_size=65536)
    curl = client_command("curl", t, srv, w.mutation(w.prod_vol), "$TOKEN")
    # control: outside a session the mutation arrives
    r = t.outside(["/bin/bash", "-c", f"TOKEN=$(cat {q(str(w.prod_file))}); {curl}"])
    eq(r.rc, 0, f"curl outside a session ({r})")
    srv.wait_request(lambda x: b"volumeDelete" in x["body"], "the mutation sent from outside")
    mark = srv.mark()
    flood = t.write("flood.py", FLOOD)
    name = rand_marker("flood")
    r = d.run(agent_script(t, "agent", [
        f"{PY} {q(str(flood))} &",
        "sleep 1",  # the flood is running and the ring overflowing
        f"TOKEN=$(cat {q(str(w.prod_file))})",
        curl,
    ], expect_killed=True), name=name, timeout=120)
    sid = d.session_id(name)
    eq(r.rc, KILLED, f"the flooding session was not killed ({r})")
    srv.assert_nothing_destructive(w, "under the flood", since=mark)
    rec = wait_alert(d, sid, "graphql-destroy", timeout=30)
    check_tls_alert(rec, w, sid)
    wait_session_killed(d, sid, timeout=30)
    d.wait_session_end(sid, timeout=60)
    lost = wait_until(lambda: sum(x.get("count", 0) for x in d.records(type="loss")
                                  if x.get("cause") == "ringbuf_full"), 30,
                      "a loss record of the overflowing bulk ring")
    check(lost > 0, "the flood did not overflow the ring: the test proves nothing")
    check(len(alerts(d, sid, "graphql-destroy")) == 1, "one alert for the one verdict")
    finish(t, d, w)
    blocked(t, f"killed and alerted while the bulk ring lost {lost} records")

# floods a CPU on purpose: alone
test_kill_verdict_under_open_flood.serial = True
