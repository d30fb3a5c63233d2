# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Root inside a session SIGKILLs scopelockd (its pid from the state dir's lock
file), waits until it is dead, then sends the incident's mutation with the
production token. The enforcement is pinned in the kernel: the kernel kills
the writer (and the rest of the doomed session) with no daemon running, the
mutation never arrives; the restarted daemon reads the verdict that waited in
the ring, writes the alert and unclean_shutdown, and the chain verifies.
Control: the same request outside a session arrives."""

import shlex
import subprocess

from enforce import (GraphQLServer, World, agent_script, check_tls_alert, client_command,
                     finish, start_daemon, tls_policy, wait_alert, write_policy)
from harness import blocked, check, eq, fail, rand_marker, short, wait_until

EXPECT = "BLOCKED"
q = shlex.quote


def test_daemon_killed_from_session(t):
    w = World(t)
    srv = GraphQLServer(t)
    # a grace period the request cannot outlast, also on a loaded machine: this
    # case is about the kernel's verdict, not the stop for the daemon's absence
    d = start_daemon(t, write_policy(t, tls_policy(
        w, action="kill", settings={"daemon_absent_grace": 60})))
    curl = client_command("curl", t, srv, w.mutation(w.prod_vol), "$TOKEN")
    r = t.outside(["/bin/bash", "-c", f"TOKEN=$(cat {q(str(w.prod_file))}); {curl}"])
    eq(r.rc, 0, f"curl outside a session ({r})")
    srv.wait_request(lambda x: b"volumeDelete" in x["body"], "the mutation sent from outside")
    mark = srv.mark()
    lock = f"{d.state}/scopelockd.lock"
    done = t.tmp / "after-curl"
    # root in the session (the harness runs sessions as root with --allow-root)
    agent = agent_script(t, "agent", [
        "/usr/bin/curl --version > /dev/null; /bin/cat /dev/null; sleep 0.01",
        f"pid=$(< {q(lock)})",
        "[ \"$(id -u)\" = 0 ] || { echo 'not root' >&2; exit 9; }",
        "kill -KILL $pid || exit 8",
        # dead once it is a zombie (the test reaps it) or gone
        'while s=$(< /proc/$pid/stat) 2>/dev/null && [[ $s != *") Z "* ]]; do sleep 0.05; done',
        f"TOKEN=$(/bin/cat {q(str(w.prod_file))})",
        curl,
        f"echo $? > {q(str(done))}",
    ], expect_killed=True)
    name = rand_marker("killer")
    p = d.spawn(agent, name=name, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sid = d.session_id(name)
    try:
        d.proc.wait(30)
    except subprocess.TimeoutExpired:
        fail("the session did not kill scopelockd (the case proves nothing)")
    try:
        prc = p.wait(30)
    except subprocess.TimeoutExpired:
        fail("the session went on after killing the daemon")
    err = p.stderr.read().decode(errors="replace")
    eq(prc, 137, f"scopelock run after the session killed the daemon: {err!r}")
    check("Killed" in err and "/usr/bin/curl" in err, f"curl was not killed: {err!r}")
    check(not done.exists(), "the agent went on after its curl was killed")
    srv.assert_nothing_destructive(w, "after the session killed scopelockd", since=mark)
    d2 = d.successor()
    rec = wait_until(lambda: next(iter(d2.records(type="unclean_shutdown")), None), 30,
                     "unclean_shutdown")
    check(sid in rec.get("sessions_adopted", []) or sid in rec.get("sessions_gone", []),
          f"the session is not accounted for: {short(rec)}")
    alert = wait_alert(d2, sid, "graphql-destroy", timeout=30, verdict="killed")
    check_tls_alert(alert, w, sid)
    d2.wait_session_end(sid, timeout=30)
    finish(t, d2, w)
    blocked(t, "the kernel killed the mutation's writer with scopelockd killed from inside "
            "the session; the restarted daemon alerted")
