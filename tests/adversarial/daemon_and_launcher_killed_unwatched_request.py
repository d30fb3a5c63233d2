# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Root inside a session SIGKILLs its own launcher (`scopelock run`, the
session's parent: nobody outside is left to freeze the cgroup) and then
scopelockd, waits past the grace period, and sends a request no rule of the
policy stops (a staging query with the staging token): with nobody reading
the audit trail, anything it sends is unwatched. With daemon_absent: freeze
the kernel stops the sender at its exec (its heartbeat is stale) before it
runs: the request does not reach the server while no daemon runs; the
restarted daemon reads the backlog and lets it go, and the request is then in
the log. Control: the same request outside a session arrives."""

import json
import shlex
import subprocess
from pathlib import Path

from enforce import (GraphQLServer, World, agent_script, client_command, finish, start_daemon,
                     tls_policy, write_policy)
from harness import blocked, check, eq, fail, proc_state, rand_marker, short, wait_until

EXPECT = "BLOCKED"
GRACE = 1
q = shlex.quote


def test_daemon_and_launcher_killed_unwatched_request(t):
    w = World(t)
    srv = GraphQLServer(t)
    d = start_daemon(t, write_policy(t, tls_policy(
        w, action="kill", settings={"daemon_absent_grace": GRACE})))
    marker = rand_marker("unwatched")
    body = json.dumps({"query": f'query {{ me {{ id }} }} # {marker}'})
    curl = client_command("curl", t, srv, body, "$TOKEN")
    # control: outside a session the request arrives
    r = t.outside(["/bin/bash", "-c", f"TOKEN=$(cat {q(str(w.stg_env))} | sed -n "
                   f"'s/^RAILWAY_TOKEN=//p'); {curl}"])
    eq(r.rc, 0, f"curl outside a session ({r})")
    srv.wait_request(lambda x: marker.encode() in x["body"], "the request sent from outside")
    mark = srv.mark()
    lock = f"{d.state}/scopelockd.lock"
    done = t.tmp / "after-curl"
    agent = agent_script(t, "agent", [
        # every program it runs has run once while the daemon was there
        "/usr/bin/curl --version > /dev/null; /bin/cat /dev/null; /bin/sed --version > /dev/null;"
        " /bin/sleep 0.01",
        "[ \"$(id -u)\" = 0 ] || { echo 'not root' >&2; exit 9; }",
        f"pid=$(< {q(lock)})",
        "kill -KILL $PPID || exit 7",
        "kill -KILL $pid || exit 8",
        'while s=$(< /proc/$pid/stat) 2>/dev/null && [[ $s != *") Z "* ]]; do :; done',
        # past the grace period: nobody watches any more
        f"/bin/sleep {GRACE + 1}",
        f"TOKEN=$(/bin/sed -n 's/^RAILWAY_TOKEN=//p' {q(str(w.stg_env))})",
        curl,
        f"echo $? > {q(str(done))}",
    ], expect_killed=False)
    name = rand_marker("unwatched")
    p = d.spawn(agent, name=name, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sid = d.session_id(name)
    cg = d.session_start(sid).get("cgroup")
    try:
        d.proc.wait(30)
        p.wait(30)
    except subprocess.TimeoutExpired:
        fail("the session did not kill its launcher and scopelockd (the case proves nothing)")

    def stopped():
        try:
            pids = Path(cg, "cgroup.procs").read_text().split()
        except OSError:
            return False
        return any(proc_state(x) == "T" for x in pids)
    wait_until(stopped, GRACE + 30, "a session process stopped by the kernel")
    check(not done.exists(), "the agent's request finished with no daemon")
    check(not [x for x in srv.requests(since=mark) if marker.encode() in x["body"]],
          "the request reached the server while no daemon ran")
    check("frozen 1" not in Path(cg, "cgroup.events").read_text(),
          "the cgroup is frozen: the launcher was not killed (the case proves nothing)")

    d2 = d.successor()
    rec = wait_until(lambda: next(iter(d2.records(type="unclean_shutdown")), None), 30,
                     "unclean_shutdown")
    check(rec.get("processes_stopped", 0) >= 1, f"processes_stopped: {short(rec)}")
    # let go once the backlog was read: it arrives now, and it is in the log
    srv.wait_request(lambda x: marker.encode() in x["body"], "the request after the restart",
                     timeout=30)
    wait_until(lambda: next((x for x in d2.records(session=sid, type="tls_write")
                             if marker in json.dumps(x)), None), 30,
               "the request's tls_write record")
    d2.wait_session_end(sid, timeout=30)
    finish(t, d2, w)
    blocked(t, "with its launcher and scopelockd killed, the session's request was stopped in "
            "the kernel until a daemon was back to record it")
