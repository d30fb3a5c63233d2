# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Enforcement by freeze: the incident's request held for a person.

The rule graphql-destroy has action freeze: the write is stopped at
SSL_write entry, the whole session frozen, and a hold (h1...) opened.
`scopelock deny ID` kills the session (nothing ever arrives);
`scopelock approve ID` lets that write go and the session runs on; a SIGCONT
storm from inside the session does not release the held write; approve/deny
from inside any session are refused; hold_timeout denies.
"""

import os
import shlex
import subprocess
import time

from enforce import (PY_PIECES, GraphQLServer, World, agent_script, check_tls_alert,
                     client_command, finish, start_daemon, status_holds, tls_policy,
                     wait_hold, wait_session_killed, write_policy)
from harness import KILLED, BIN_CLI, PY, check, eq, fail, rand_marker, short, wait_until

q = shlex.quote
RULE = "graphql-destroy"

# starts the client, then (once START exists: the test saw the client's TLS
# probes attached) a process that sends SIGCONT to it in a tight loop; the
# client waits ($GO_FILE) until the storm is running before it writes
STORM_AGENT = r'''
import os, subprocess, sys, time
go, start, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
c = subprocess.Popen(argv, env=dict(os.environ, GO_FILE=go))
while not os.path.exists(start):
    time.sleep(0.01)
storm = subprocess.Popen([sys.executable, "-c", """
import os, signal, sys
pid, go, n = int(sys.argv[1]), sys.argv[2], 0
while True:
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        break
    n += 1
    if n == 200:
        open(go, "w").close()
""", str(c.pid), go])
rc = c.wait()
print("client exited", rc, flush=True)
storm.kill()
storm.wait()
sys.exit(3)
'''


def setup(t, hold_timeout=120):
    w = World(t)
    srv = GraphQLServer(t)
    d = start_daemon(t, write_policy(t, tls_policy(w, action="freeze",
                                                   hold_timeout=hold_timeout)))
    return w, srv, d


def incident_agent(t, w, srv, after):
    """curl with the production token read from the unrelated file, then
    `after` (shell lines)."""
    return agent_script(t, "agent", [
        f"cd {q(str(w.shop))}",
        f"TOKEN=$(cat {q(str(w.prod_file))})",
        client_command("curl", t, srv, w.mutation(w.prod_vol), "$TOKEN")
        + f" > {q(str(t.tmp / 'mutation.out'))} || exit 21",
    ] + after, expect_killed=False)


def cli_as_nobody(d, *args):
    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    return subprocess.run([str(BIN_CLI), "--socket", d.sock] + list(args), capture_output=True,
                          timeout=30, preexec_fn=drop, stdin=subprocess.DEVNULL)


def spawn_agent(d, argv, name):
    return d.spawn(argv, name=name, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_exit(p, timeout, what):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        fail(f"{what}: scopelock run still running after {timeout}s")
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def hold_record(d, sid, type, hold_id, timeout=15):
    return wait_until(lambda: next((r for r in d.records(type=type)
                                    if r.get("hold_id") == hold_id), None),
                      timeout, f"a {type} record of hold {hold_id}\n" + d.dump(session=sid))


def check_told(err, lines, what):
    """The launching terminal (scopelock run's stderr) was told each line."""
    for x in lines:
        check(x in err, f"{what}: scopelock run did not say {x!r} on stderr: {err[-1500:]!r}")


def check_held_quietly(d, srv, w, p, hold_id, secs=2.0):
    """While held: nothing destructive arrives, the session stays, the hold
    is listed by status --json."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        srv.assert_nothing_destructive(w, "while the action is held")
        check(p.poll() is None, f"the held session ended by itself (exit {p.returncode})")
        time.sleep(0.2)
    ids = [h.get("hold_id") for h in status_holds(d)]
    check(hold_id in ids, f"status --json holds do not list {hold_id}: {ids}")


def test_enforce_freeze_then_deny(t):
    w, srv, d = setup(t)
    name = rand_marker("held")
    p = spawn_agent(d, incident_agent(t, w, srv, ["sleep 30", "exit 3"]), name)
    sid, rec = wait_hold(d, name, RULE)
    check_tls_alert(rec, w, sid, rule=RULE, verdict="held")
    hid = rec["hold_id"]
    check_held_quietly(d, srv, w, p, hid)
    r = d.cli("deny", "--reason", "e2e: production is not this task", hid)
    eq(r.rc, 0, f"scopelock deny {hid} ({r})")
    rc, out, err = wait_exit(p, 30, "after deny")
    eq(rc, KILLED, f"exit status of the denied session (stderr {err[-500:]!r})")
    check_told(err, [f"scopelock: HELD: rule '{RULE}' on tls", "target outside_scope (production)",
                     f"sudo scopelock approve {hid}", f"sudo scopelock deny {hid}",
                     "denied automatically in 120 s", "scopelock: session KILLED: denied by root",
                     "production is not this task", f"session {sid} was killed by scopelock: "
                     ], "hold then deny")
    den = hold_record(d, sid, "hold_denied", hid)
    by = str(den.get("by"))
    check("root" in by and "uid 0" in by, f"hold_denied does not say who: {short(den)}")
    check("production is not this task" in str(den.get("reason")),
          f"hold_denied reason: {short(den)}")
    wait_session_killed(d, sid)
    d.wait_session_end(sid)
    srv.wait_all_closed()
    srv.assert_nothing_destructive(w, "after deny")
    check(hid not in [h.get("hold_id") for h in status_holds(d)], "hold still listed")
    check(not d.records(type="hold_approved"), "a hold_approved record after deny")
    finish(t, d, w)


def test_enforce_freeze_then_approve(t):
    w, srv, d = setup(t)
    m = rand_marker("after")
    curl = f"/usr/bin/curl -sS --fail --max-time 20 --cacert {q(str(srv.cert))}"
    name = rand_marker("held")
    p = spawn_agent(d, incident_agent(t, w, srv, [
        f"{curl} https://localhost:{srv.port}/{m} || exit 22", "exit 0"]), name)
    sid, rec = wait_hold(d, name, RULE)
    check_tls_alert(rec, w, sid, rule=RULE, verdict="held")
    hid = rec["hold_id"]
    check_held_quietly(d, srv, w, p, hid, secs=1.5)
    r = d.cli("approve", "--reason", "e2e: change ticket", hid)
    eq(r.rc, 0, f"scopelock approve {hid} ({r})")
    rc, out, err = wait_exit(p, 60, "after approve")
    eq(rc, 0, f"exit status of the approved session (stderr {err[-500:]!r})\n{srv.summary()}")
    check_told(err, [f"scopelock: HELD: rule '{RULE}' on tls",
                     f"scopelock: APPROVED: hold {hid} by "], "hold then approve")
    check("KILLED" not in err and "killed by scopelock" not in err,
          f"an approved session was said killed: {err[-800:]!r}")
    req = srv.wait_request(lambda x: b"volumeDelete" in x["body"], "the approved mutation")
    check(w.prod_vol.encode() in req["body"], f"approved body {req['body']!r}")
    srv.wait_request(lambda x: x["path"] == f"/{m}", "the request after the approved one")
    app = hold_record(d, sid, "hold_approved", hid)
    by = str(app.get("by"))
    check("root" in by and "uid 0" in by, f"hold_approved does not say who: {short(app)}")
    check("change ticket" in str(app.get("reason")), f"hold_approved reason: {short(app)}")
    d.wait_session_end(sid)
    check(not d.records(session=sid, type="session_killed"),
          "session_killed after approve\n" + d.dump(session=sid))
    eq(status_holds(d), [], "pending holds after approve")
    finish(t, d, w)


def test_enforce_freeze_sigcont_storm(t):
    """A process of the session sends SIGCONT to the held client in a tight
    loop (started before the write, so it runs while the hold is taken):
    nothing arrives while held; deny kills the session."""
    w, srv, d = setup(t)
    pieces = t.write("pieces.py", PY_PIECES)
    storm = t.write("storm_agent.py", STORM_AGENT)
    go, start = t.tmp / "storm-running", t.tmp / "storm-start"
    argv = [PY, str(storm), str(go), str(start), PY, str(pieces), str(srv.port),
            str(srv.cert), str(w.prod_file), w.mutation(w.prod_vol)]
    name = rand_marker("storm")
    p = spawn_agent(d, argv, name)
    # the storm is against the hold, not the TLS gate (a client resumed before
    # its probes are attached cannot connect: tls_gate_sigcont_before_probes)
    wait_until(lambda: d.status().get("tls", {}).get("probes", {}).get("processes", 0) >= 1,
               30, "the client's TLS probes attached")
    start.write_text("")
    sid, rec = wait_hold(d, name, RULE)
    hid = rec["hold_id"]
    check(go.exists(), "the SIGCONT storm was not running when the hold was taken")
    check_held_quietly(d, srv, w, p, hid, secs=3.0)
    r = d.cli("deny", hid)
    eq(r.rc, 0, f"scopelock deny {hid} ({r})")
    rc, out, err = wait_exit(p, 30, "after deny")
    eq(rc, KILLED, f"exit status of the denied session (stdout {out!r} stderr {err[-500:]!r})")
    wait_session_killed(d, sid)
    # session_end: every process of the session is gone, the client died
    # stopped inside SSL_write, before the mutation entered its socket (and
    # the session's egress stays dropped: its connection cannot even close)
    d.wait_session_end(sid)
    srv.assert_nothing_destructive(w, "SIGCONT storm, after deny")
    check(not d.records(type="hold_approved"), "a hold_approved record")
    finish(t, d, w)


def test_enforce_approve_deny_refused_inside_session(t):
    w, srv, d = setup(t)
    name = rand_marker("held")
    p = spawn_agent(d, incident_agent(t, w, srv, ["sleep 30", "exit 3"]), name)
    sid, rec = wait_hold(d, name, RULE)
    hid = rec["hold_id"]
    for verb in ("approve", "deny"):
        r = d.run([str(BIN_CLI), "--socket", d.sock, verb, hid], name=rand_marker(verb),
                  timeout=30)
        check(r.rc != 0, f"scopelock {verb} from inside another session succeeded ({r})")
        check("refused" in r.stderr.lower(), f"{verb} inside a session: message ({r})")
    # outside any session but not root (and no admin_group in the policy)
    r = cli_as_nobody(d, "approve", hid)
    check(r.returncode != 0 and b"refused" in r.stderr,
          f"scopelock approve as nobody was not refused: {r}")
    check_held_quietly(d, srv, w, p, hid, secs=1.0)
    check(not [x for x in d.records() if x.get("type") in ("hold_approved", "hold_denied")],
          "a hold decision was recorded for a refused request\n" + d.dump())
    r = d.cli("deny", hid)
    eq(r.rc, 0, f"scopelock deny {hid} from outside ({r})")
    rc, out, err = wait_exit(p, 30, "after deny")
    eq(rc, KILLED, "exit status of the denied session")
    den = hold_record(d, sid, "hold_denied", hid)
    check("uid 0" in str(den.get("by")), f"hold_denied by: {short(den)}")
    srv.assert_nothing_destructive(w, "after the refused approve and the deny")
    finish(t, d, w)


def test_enforce_hold_timeout_denies(t):
    w, srv, d = setup(t, hold_timeout="2s")
    name = rand_marker("held")
    p = spawn_agent(d, incident_agent(t, w, srv, ["sleep 30", "exit 3"]), name)
    sid, rec = wait_hold(d, name, RULE)
    hid = rec["hold_id"]
    rc, out, err = wait_exit(p, 30, "hold timeout of 2 s")
    eq(rc, KILLED, "exit status of the session whose hold timed out")
    den = hold_record(d, sid, "hold_denied", hid)
    check("timeout" in str(den.get("reason")), f"hold_denied reason: {short(den)}")
    check("scopelockd" in str(den.get("by")), f"hold_denied by: {short(den)}")
    wait_session_killed(d, sid)
    srv.assert_nothing_destructive(w, "after the hold timed out")
    finish(t, d, w)
