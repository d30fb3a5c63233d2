# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Root inside a session SIGKILLs scopelockd (its pid from the state dir's lock
file), waits until it is dead, then sends the incident's mutation with the
production token with a curl it starts then. The enforcement is pinned in
the kernel: curl's TLS probes are attached per process, by a daemon, so the
kernel's TLS gate holds curl (stopped as it maps libssl, nothing sent) while
no daemon runs; the restarted daemon adopts the session, attaches curl's
probes and lets it go: its write of the mutation is killed in the kernel,
the mutation never arrives; the daemon writes the alert and
unclean_shutdown, and the chain verifies. (A client that had its probes
before the daemon died is killed with no daemon: test_daemon_restart.py.)
Control: the same request outside a session arrives."""

import shlex
import subprocess

from enforce import (GraphQLServer, World, agent_script, check_tls_alert, client_command,
                     finish, start_daemon, tls_policy, wait_alert, write_policy)
from harness import (KILLED, blocked, check, eq, fail, proc_state, rand_marker,
                     session_pids, short, wait_until)

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
    pid = wait_until(lambda: next(iter(session_pids(d, sid, "curl")), None), 30,
                     "curl started after the daemon died")
    wait_until(lambda: proc_state(pid) == "T", 30, "curl held by the TLS gate (stopped)")
    srv.assert_nothing_destructive(w, "after the session killed scopelockd", since=mark)
    check(p.poll() is None and not done.exists(), "the session went on past the held curl")
    d2 = d.successor()
    try:
        prc = p.wait(60)
    except subprocess.TimeoutExpired:
        fail("the session went on after the daemon was back")
    # killed by the kernel: scopelock run says so (KILLED) once it reattached
    # to the new daemon, else it reports the SIGKILL status itself (137)
    check(prc in (KILLED, 137), f"scopelock run after the daemon was back: status {prc}")
    check(not done.exists(), "the agent went on after its curl was killed")
    srv.assert_nothing_destructive(w, "after the daemon was back", since=mark)
    rec = wait_until(lambda: next(iter(d2.records(type="unclean_shutdown")), None), 30,
                     "unclean_shutdown")
    check(sid in rec.get("sessions_adopted", []) or sid in rec.get("sessions_gone", []),
          f"the session is not accounted for: {short(rec)}")
    alert = wait_alert(d2, sid, "graphql-destroy", timeout=30, verdict="killed")
    check_tls_alert(alert, w, sid)
    d2.wait_session_end(sid, timeout=30)
    finish(t, d2, w)
    blocked(t, "with scopelockd killed from inside the session, the kernel held the new "
            "TLS client until a daemon was back, then killed its write of the mutation; "
            "the restarted daemon alerted")
