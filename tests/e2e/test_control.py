# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The control socket's peer check (issue 6, first section).

The daemon establishes the peer of each connection when it accepts it and
refuses every state-changing request (run, end, policy_reload, approve,
deny) whose peer is unidentified or inside a session, or that was not sent
by the process that connected, or (end, reload, approve, deny) by a peer
that is neither root nor in admin_group; each refusal is a control_refused
record. The adversarial cases (tests/adversarial/control_*.py) cover a
session's own tricks; here: a socket handed in from outside, a peer gone
before its request was read, not_admin, `scopelock end`, the requester in
the records, read-only requests still open to sessions.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time

from control import STATE_OPS, ControlWorld, out_dir
from enforce import status_holds
from harness import KILLED, BIN_CLI, check, eq, fail, rand_marker, short, wait_until


def call(s, req):
    s.send(json.dumps(req).encode())
    return json.loads(s.recv(1 << 20))


def test_control_socket_handed_in_from_outside(t):
    """root outside connects and passes its socket to a session process:
    the session's requests are refused (handed_over); read-only requests on
    it work; the connector's own request on the same socket succeeds."""
    cw = ControlWorld(t)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    t.on_cleanup(s.close)
    s.connect(cw.d.sock)
    eq(call(s, {"op": "status"}).get("ok"), True, "status on the test's own connection")
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    t.on_cleanup(a.close)
    t.on_cleanup(b.close)
    out = out_dir(t) / "handoff.json"
    reqs = [{"op": "status"}] + cw.requests()
    name = rand_marker("handoff")
    p = cw.d.spawn(cw.client_argv("handoff", reqs, out, recv_fd=b.fileno()), name=name,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=[b.fileno()])
    sid = cw.d.session_id(name)
    socket.send_fds(a, [b"fd"], [s.fileno()])
    so, se = p.communicate(timeout=60)
    check(p.returncode == 0 and out.exists(), f"handoff client failed: {se.decode()[-2000:]}")
    doc = json.loads(out.read_text())
    eq(doc["results"][0]["reply"].get("ok"), True,
       "status sent by the session process on the handed-in socket")
    doc["results"] = doc["results"][1:]
    recs = cw.check_refused(doc, "handed_over", "socket handed in from outside",
                            requester_pid=os.getpid())
    for r in recs:
        check(f"sent by pid {doc['sender']}" in r["detail"], f"detail: {short(r)}")
        eq(r["requester"].get("session"), None, "the requester (the connector) is outside")
    cw.d.wait_session_end(sid)
    cw.assert_unchanged("socket handed in from outside")
    # control: the process that connected uses its connection itself
    rep = call(s, {"op": "policy_reload"})
    eq(rep.get("ok"), True, f"policy_reload by the connector itself ({rep})")
    eq(rep.get("generation"), cw.generation + 1, "generation after the connector's reload")
    rep = call(s, {"op": "approve", "id": cw.h_approve})
    eq(rep.get("ok"), True, f"approve by the connector itself ({rep})")


def test_control_peer_exited_before_request(t):
    """A peer identified alive (outside sessions, root) sends its requests
    and exits before the daemon reads them (the daemon is stopped
    meanwhile): refused as peer_exited, nothing changes."""
    cw = ControlWorld(t)
    out = out_dir(t) / "early.json"
    ready, go = t.tmp / "early.ready", t.tmp / "early.go"
    reqs = cw.requests()
    argv = cw.client_argv("early", reqs, out, probe=True, ready=ready)
    argv[-1:-1] = ["--go", str(go)]
    err = t.tmp / "early.stderr"
    with open(err, "wb") as f:
        p = t.popen(argv, stdout=subprocess.DEVNULL, stderr=f)
    wait_until(lambda: ready.exists() or p.poll() is not None, 30, "the client's probe")
    if p.poll() is not None:
        fail(f"the early client exited {p.returncode}: {err.read_text()[-2000:]}")
    cw.stalled(lambda: go.touch(), lambda: p.poll() is not None, None)
    if p.returncode != 0:
        fail(f"early client exit status {p.returncode}: {err.read_text()[-2000:]}")

    def refused():
        recs = [r for r in cw.d.records(type="control_refused")
                if (r.get("requester") or {}).get("pid") == p.pid]
        return recs if len(recs) == len(STATE_OPS) else None
    recs = wait_until(refused, 15, "a control_refused record for each request")
    eq(sorted(r["op"] for r in recs), sorted(STATE_OPS), "refused requests")
    for r in recs:
        eq(r.get("reason"), "peer_exited", f"reason: {short(r)}")
        eq(r["requester"].get("identified"), True, f"identified alive: {short(r)}")
    cw.check_no_run_session(reqs, "peer exited before its requests were read")
    cw.assert_unchanged("peer exited before its requests were read")
    cw.controls(expect_user="root")


def test_control_not_admin(t):
    """A socket-group member outside sessions who is not in admin_group (the
    policy has none): run as itself works, end/reload/approve/deny are
    refused as not_admin and recorded; root succeeds at them."""
    cw = ControlWorld(t, admin_group=False)
    drop = f"65534:65534:{cw.group.gr_gid}"
    reqs = cw.requests()
    doc = cw.outside(reqs, drop=drop)
    res = {r["op"]: r["reply"] for r in doc["results"]}
    eq(res["run"].get("ok"), True, f"run as itself by a socket-group member ({res['run']})")
    start = wait_until(lambda: next((r for r in cw.d.records(type="session_start")
                                     if r.get("name") == reqs[0]["name"]), None), 10,
                       "session_start of nobody's run")
    eq(start["requester"].get("uid"), 65534, "session_start requester uid")
    eq(start["requester"].get("user"), "nobody", "session_start requester user")
    eq(start.get("user"), "nobody", "session user")
    for op in ("end", "policy_reload", "approve", "deny"):
        rep = res[op]
        check(rep.get("ok") is False and "permission refused" in str(rep.get("error")),
              f"'{op}' by uid 65534 was not refused: {rep}")
        recs = [r for r in cw.d.records(type="control_refused") if r.get("op") == op]
        check(recs, f"no control_refused record for '{op}'")
        eq(recs[-1].get("reason"), "not_admin", f"reason: {short(recs[-1])}")
        eq(recs[-1]["requester"].get("uid"), 65534, f"uid: {short(recs[-1])}")
    cw.mark = len(cw.d.records())
    cw.assert_unchanged("not admin")
    cw.controls(expect_user="root")


def test_control_end_cli(t):
    """scopelock end: usage errors; end of a held session by root with a
    reason: killed (exit 123), its hold denied by the same person, both records
    with the requester; session_end follows; ending it again is an error;
    from inside a session it is refused."""
    cw = ControlWorld(t, holds=1)
    d = cw.d
    p, sid, hid = cw.held[0]
    for args, msg in (((), "missing SESSION"), (("xyz",), "not a session id"),
                      ((sid, sid), "unexpected argument"),
                      (("--reason", "x" * 1025, sid), "longer than 1024"),
                      (("--bogus", sid), "Try 'scopelock end --help'")):
        r = d.cli("end", *args)
        eq(r.rc, 2, f"scopelock end {' '.join(args)[:60]} exit status ({r})")
        check(msg in r.stderr, f"scopelock end {' '.join(args)[:60]}: message ({r})")
    r = d.cli("end", "--help")
    check(r.rc == 0 and "Examples:" in r.stdout and "admin_group" in r.stdout,
          f"end --help ({r})")
    r = d.cli("--help")
    check("end " in r.stdout and "scopelock end" in r.stdout, f"scopelock --help ({r})")
    r = d.cli("end", "0123456789abcdef")
    check(r.rc == 1 and "no running session '0123456789abcdef'" in r.stderr,
          f"end of an unknown session ({r})")
    # from inside a session, with the CLI
    r = d.run([str(BIN_CLI), "--socket", d.sock, "end", sid], name=rand_marker("inside"))
    check(r.rc != 0 and "refused: 'end' from inside a session" in r.stderr,
          f"end from inside a session ({r})")
    check(p.poll() is None, "the held session ended after a refused end")
    check(hid in [h.get("hold_id") for h in status_holds(d)], "hold gone after a refused end")
    # root, outside
    r = d.cli("end", "--reason", "e2e: runaway", sid)
    eq(r.rc, 0, f"scopelock end {sid} ({r})")
    check(f"session {sid} killed" in r.stdout, f"end output ({r})")
    try:
        p.wait(15)
    except subprocess.TimeoutExpired:
        fail("the ended session is still running")
    eq(p.returncode, KILLED, "exit status of the ended session")
    killed = wait_until(lambda: next(iter(d.records(session=sid, type="session_killed")),
                                     None), 10, "session_killed")
    check("e2e: runaway" in killed.get("reason", ""), f"reason: {short(killed)}")
    check(re.match(r"root \(uid 0, pid \d+\)$", str(killed.get("by"))), f"by: {short(killed)}")
    req = killed.get("requester") or {}
    eq(req.get("user"), "root", "session_killed requester user")
    eq(req.get("identified"), True, "session_killed requester identified")
    check(str(req.get("pid")) in killed["by"], f"requester pid matches by: {short(killed)}")
    den = wait_until(lambda: next((r for r in d.records(type="hold_denied")
                                   if r.get("hold_id") == hid), None), 10, "hold_denied")
    eq(den.get("by"), killed["by"], "hold_denied by the one who ended the session")
    eq(den.get("requester"), req, "hold_denied requester")
    end = d.wait_session_end(sid)
    check(end["seq"] > killed["seq"], "session_end before session_killed")
    eq(status_holds(d), [], "pending holds after end")
    eq(len(d.records(session=sid, type="session_killed")), 1, "one session_killed record")
    r = d.cli("end", sid)
    check(r.rc == 1 and "no running session" in r.stderr, f"end of an ended session ({r})")


def test_control_sighup_and_readonly(t):
    """SIGHUP reloads are recorded as such (no requester); read-only requests
    (status, tail) stay open to a session process, also on a connection whose
    connector exited."""
    cw = ControlWorld(t, holds=0)
    d = cw.d
    os.kill(d.proc.pid, signal.SIGHUP)
    rec = wait_until(lambda: next(iter(d.records(type="policy_loaded")), None), 10,
                     "policy_loaded after SIGHUP")
    eq(rec.get("via"), "SIGHUP", f"via: {short(rec)}")
    check("requester" not in rec, f"a SIGHUP reload has no requester: {short(rec)}")
    r = d.run([str(BIN_CLI), "--socket", d.sock, "status", "--json"],
              name=rand_marker("ro"))
    eq(r.rc, 0, f"status from inside a session ({r})")
    r = d.run([str(BIN_CLI), "--socket", d.sock, "tail", "-n", "3"], name=rand_marker("ro"))
    eq(r.rc, 0, f"tail from inside a session ({r})")
    for stall in (False, True):
        doc, sid = cw.in_session("exited", [{"op": "status"}, {"op": "tail", "count": 2}],
                                 stall=stall)
        for x in doc["results"]:
            eq(x["reply"].get("ok"), True, f"read-only '{x['op']}' (stall={stall})")
    eq(d.records(type="control_refused"), [], "refusals of read-only requests")
