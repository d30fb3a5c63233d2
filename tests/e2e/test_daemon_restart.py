# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Enforcement outlives the daemon (docs/operations.md, "When scopelockd stops").

scopelockd is SIGKILLed mid-session (only the daemon this test started, by
pid): the kernel still kills the incident's request (the server never gets
it; the same request outside a session arrives), the launcher freezes the
sessions after settings.daemon_absent_grace (cgroup.events says frozen), and
the daemon restarted with the same options adopts them (thaws them, writes
unclean_shutdown with what the kernel counted, carries out the verdict taken
meanwhile); a hold made before the kill is approved or denied after the
restart. `scopelock shutdown` detaches: no pin and no link of the instance
is left.
"""

import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

from enforce import (GraphQLServer, World, agent_script, check_tls_alert, client_command,
                     finish, start_daemon, status_holds, tls_policy, wait_alert, wait_hold,
                     wait_session_killed, write_policy)
from harness import (KILLED, PY, check, eq, fail, proc_state, rand_marker, session_pids,
                     short, wait_until)

q = shlex.quote
RULE = "graphql-destroy"
GRACE = 2  # settings.daemon_absent_grace of these tests (seconds)
# the incident test's: its request must be sent (and killed by the kernel)
# before the kernel stops the session for the daemon's absence, also on a
# loaded machine
INCIDENT_GRACE = 10


def cgroup_frozen(d, sid):
    """cgroup.events of the session: 'frozen 1' / 'frozen 0' (None: gone)."""
    cg = d.session_start(sid).get("cgroup")
    try:
        text = Path(cg, "cgroup.events").read_text()
    except OSError:
        return None
    return "frozen 1" in text


def link_ids(pin_dir):
    """The ids of the links pinned in the instance's directory (bpftool)."""
    ids = set()
    for sub in ("links", "tls"):
        for p in Path(pin_dir, sub).iterdir():
            r = subprocess.run(["bpftool", "--json", "link", "show", "pinned", str(p)],
                               capture_output=True, timeout=30)
            if r.returncode == 0:
                ids.add(json.loads(r.stdout)["id"])
    return ids


def live_link_ids():
    r = subprocess.run(["bpftool", "--json", "link", "show"], capture_output=True, timeout=30)
    eq(r.returncode, 0, f"bpftool link show: {r.stderr!r}")
    return {x["id"] for x in json.loads(r.stdout or b"[]")}


def sigkill(d):
    """SIGKILL the daemon this test started (by pid) and reap it."""
    pid = d.proc.pid
    os.kill(pid, signal.SIGKILL)
    eq(d.proc.wait(30), -signal.SIGKILL, "scopelockd killed by SIGKILL")
    return pid


def state_has(d, key, value):
    """The daemon's state file (what the next daemon adopts) lists value under key."""
    try:
        st = json.loads(Path(d.state, "enforcement.json").read_text())
    except (OSError, ValueError):
        return False
    return any(value in (x.get("session"), x.get("hold_id")) for x in st.get(key, []))


# connects, says so (its pid in READY), waits for GO, reads the token file
# and writes the mutation on the connection it has
CONNECTED_CLIENT = r'''
import os, socket, ssl, sys, time
from urllib.parse import urlsplit
url, body_file, ca, token_file, ready, go = sys.argv[1:7]
u = urlsplit(url)
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection((u.hostname, u.port)), server_hostname=u.hostname)
with open(ready + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(ready + ".tmp", ready)
while not os.path.exists(go):
    time.sleep(0.05)
token = open(token_file).read().strip()
body = open(body_file, "rb").read()
s.sendall((f"POST {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
           f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
sys.exit(0 if s.recv(65536).startswith(b"HTTP/1.1 ") else 3)
'''


def proc_pins(pin_dir, pid):
    """The TLS probes pinned for process pid (tls/p<pid>-...)."""
    tls = os.path.join(pin_dir, "tls")
    return sorted(n for n in os.listdir(tls) if n.startswith(f"p{pid}-"))


def unclean_record(d, timeout=30):
    return wait_until(lambda: next(iter(d.records(type="unclean_shutdown")), None), timeout,
                      "the restarted daemon's unclean_shutdown record")


def test_sigkill_kernel_still_kills_sessions_frozen_then_adopted(t):
    w = World(t)
    srv = GraphQLServer(t)
    d = start_daemon(t, write_policy(t, tls_policy(
        w, action="kill", settings={"daemon_absent_grace": INCIDENT_GRACE})))
    pin_dir = d.pin_dir()
    check(pin_dir and os.path.isdir(pin_dir), f"no pin directory of the instance: {pin_dir!r}")
    body = t.write("mutation.json", w.mutation(w.prod_vol))
    client = t.write("client.py", CONNECTED_CLIENT)
    # control: outside a session the same client's mutation arrives
    go_out = t.tmp / "go-outside"
    go_out.write_text("")
    r = t.outside([PY, str(client), srv.url, str(body), str(srv.cert), str(w.prod_file),
                   str(t.tmp / "ready-outside"), str(go_out)])
    eq(r.rc, 0, f"the client outside a session ({r})")
    srv.wait_request(lambda x: b"volumeDelete" in x["body"], "the mutation sent from outside")
    mark = srv.mark()

    go, done = t.tmp / "go", t.tmp / "client-exit"
    # the client connects (its TLS probes attached) while the daemon runs; it
    # reads the token (the kernel labels the open) and sends after the kill
    ready = t.tmp / "ready"
    agent = agent_script(t, "agent", [
        f"{PY} {q(str(client))} {q(srv.url)} {q(str(body))} {q(str(srv.cert))} "
        f"{q(str(w.prod_file))} {q(str(ready))} {q(str(go))}",
        f"echo $? > {q(str(done))}",
    ], expect_killed=True)
    name = rand_marker("incident")
    p = d.spawn(agent, name=name, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sid = d.session_id(name)
    # a second session that only waits: frozen while no daemon runs, thawed on adoption
    stop = t.tmp / "stop-idle"
    idle_name = rand_marker("idle")
    idle_ready = t.tmp / "idle-ready"
    idle_err = t.tmp / "idle.err"
    idle = d.spawn(["/bin/bash", "-c", f"sleep 0.01; : > {q(str(idle_ready))}; "
                    f"while [ ! -e {q(str(stop))} ]; do sleep 0.1; done"],
                   name=idle_name, stdout=subprocess.DEVNULL, stderr=open(idle_err, "wb"))
    idle_sid = d.session_id(idle_name)
    wait_until(idle_ready.exists, 30, "the idle session's first sleep")
    wait_until(ready.exists, 30, "the agent's client connected")
    client_pid = int(ready.read_text())
    wait_until(lambda: state_has(d, "sessions", sid) and state_has(d, "sessions", idle_sid),
               10, "both sessions in the daemon's state file")
    ids = link_ids(pin_dir) if shutil.which("bpftool") else set()
    probes = proc_pins(pin_dir, client_pid)
    check(probes, f"no TLS uprobe link pinned for the client (pid {client_pid}) in "
          f"{pin_dir}/tls: {os.listdir(os.path.join(pin_dir, 'tls'))}")

    old_pid = sigkill(d)
    go.write_text("")
    # the kernel kills the writer, then every process of the doomed session at
    # its next event: scopelock run ends with the SIGKILL status (no daemon to say why)
    try:
        prc = p.wait(30)
    except subprocess.TimeoutExpired:
        fail("the incident session did not end with scopelockd killed")
    err = p.stderr.read().decode(errors="replace")
    eq(prc, 137, f"scopelock run of the incident session with no daemon: {err!r}")
    check("Killed" in err and PY in err, f"the client was not killed: {err!r}")
    check(not done.exists(), "the agent went on after its client was killed")
    srv.assert_nothing_destructive(w, "with scopelockd killed", since=mark)

    # settings.daemon_absent: freeze (the default) after the grace period
    wait_until(lambda: cgroup_frozen(d, idle_sid), INCIDENT_GRACE + 15,
               "the idle session frozen while no daemon runs")
    check(idle.poll() is None, "the idle session's launcher exited while frozen")

    d2 = d.successor()
    rec = unclean_record(d2)
    eq(sorted(rec.get("sessions_adopted", [])), sorted([sid, idle_sid]),
       f"sessions adopted: {short(rec)}")
    eq(rec.get("previous_pid"), old_pid, f"previous_pid: {short(rec)}")
    check(isinstance(rec.get("away_ms"), int) and rec["away_ms"] >= INCIDENT_GRACE * 1000,
          f"away_ms: {short(rec)}")
    kern = rec.get("kernel") or {}
    check(kern.get("events_emitted", 0) > 0, f"the kernel's count of events meanwhile: {short(rec)}")
    check("events_dropped" in kern, f"no events_dropped count: {short(rec)}")
    eq(rec.get("pin_dir"), pin_dir, "pin_dir of unclean_shutdown")
    # the probes of the killed client were dropped by the new daemon
    wait_until(lambda: not proc_pins(pin_dir, client_pid), 30,
               "the probes of the killed client unpinned after the adoption")
    # the verdict the kernel took while no daemon ran: read from the ring, acted on, alerted
    alert = wait_alert(d2, sid, RULE, timeout=30, verdict="killed")
    check_tls_alert(alert, w, sid)
    # the idle session is thawed and runs on
    wait_until(lambda: cgroup_frozen(d2, idle_sid) is False, 15, "the idle session thawed")
    # the launcher reconnects on its own (every 200 ms): told before the session ends
    wait_until(lambda: f"scopelockd is back and adopted session {idle_sid}" in
               idle_err.read_text(errors="replace"), 15, "the idle session's launcher reattached")
    stop.write_text("")
    eq(idle.wait(30), 0, "the idle session after adoption")
    err = idle_err.read_text(errors="replace")
    check("FROZEN until a daemon adopts it" in err, f"the launcher did not say it froze: {err!r}")
    check(f"scopelockd is back and adopted session {idle_sid}" in err,
          f"the launcher did not say it was adopted: {err!r}")
    d2.wait_session_end(idle_sid, timeout=30)
    d2.wait_session_end(sid, timeout=30)
    check(not d2.records(type="daemon_start")[-1].get("adopted") is False,
          "the second daemon_start does not say adopted")
    finish(t, d2, w)
    # scopelock shutdown detached it: nothing of the instance is left in the kernel
    check(not os.path.exists(pin_dir), f"pins left in {pin_dir}: {list(Path(pin_dir).rglob('*'))}")
    if ids:
        left = ids & live_link_ids()
        eq(left, set(), "links of the instance still attached after scopelock shutdown")


def test_tls_start_without_daemon_waits_for_one(t):
    """A session process that maps a TLS library while no daemon runs cannot
    get its probes (attached per process, by the daemon): the kernel's gate
    holds it (stopped, its request not sent) until a daemon adopts the
    session, attaches them and lets it go; then its request is judged: the
    mutation is killed before it leaves."""
    w = World(t)
    srv = GraphQLServer(t)
    d = start_daemon(t, write_policy(t, tls_policy(
        w, action="kill", settings={"daemon_absent_grace": 120})))
    curl = client_command("curl", t, srv, w.mutation(w.prod_vol), "$TOKEN")
    r = t.outside(["/bin/bash", "-c", f"TOKEN=$(cat {q(str(w.prod_file))}); {curl}"])
    eq(r.rc, 0, f"control: curl outside a session ({r})")
    srv.wait_request(lambda x: b"volumeDelete" in x["body"], "the mutation sent from outside")
    mark = srv.mark()
    go, ready = t.tmp / "go", t.tmp / "ready"
    agent = agent_script(t, "agent", [
        # every program it runs is run once while the daemon is there (sleep
        # too: the loop below may not have run it before the daemon is killed)
        "/usr/bin/curl --version > /dev/null; /bin/cat /dev/null; sleep 0",
        f"touch {q(str(ready))}",
        f"while [ ! -e {q(str(go))} ]; do sleep 0.05; done",
        f"TOKEN=$(/bin/cat {q(str(w.prod_file))})",
        curl,
    ], expect_killed=True)
    name = rand_marker("late-tls")
    p = d.spawn(agent, name=name, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sid = d.session_id(name)
    wait_until(ready.exists, 30, "the agent ready")
    wait_until(lambda: state_has(d, "sessions", sid), 10, "the session in the state file")
    sigkill(d)
    go.write_text("")
    pid = wait_until(lambda: next(iter(session_pids(d, sid, "curl")), None), 30,
                     "curl started with no daemon")
    wait_until(lambda: proc_state(pid) == "T", 30, "curl held by the TLS gate (stopped)")
    srv.assert_nothing_destructive(w, "curl held while no daemon runs", since=mark)
    d2 = d.successor()
    # killed by the kernel: scopelock run says so (KILLED) once it reattached
    # to the new daemon, else it reports the SIGKILL status itself (137)
    rc = p.wait(60)
    check(rc in (KILLED, 137), f"the session after a daemon let curl go: exit status {rc}")
    srv.assert_nothing_destructive(w, "after the adoption", since=mark)
    alert = wait_alert(d2, sid, RULE, timeout=30, verdict="killed")
    check_tls_alert(alert, w, sid)
    check(d2.status().get("tls", {}).get("gate_map_released", 0) >= 1,
          "the new daemon did not let a process held at mmap go")
    finish(t, d2, w)


def hold_then_kill(t, hold_timeout=300, wait_state=True):
    w = World(t)
    srv = GraphQLServer(t)
    d = start_daemon(t, write_policy(t, tls_policy(
        w, action="freeze", hold_timeout=hold_timeout,
        settings={"daemon_absent_grace": GRACE})))
    name = rand_marker("held")
    agent = agent_script(t, "agent", [
        f"TOKEN=$(cat {q(str(w.prod_file))})",
        # the hold spans a daemon restart: curl's own limit must outlast it
        client_command("curl", t, srv, w.mutation(w.prod_vol), "$TOKEN").replace(
            "--max-time 20", "--max-time 150") + " || exit 21",
        "exit 0",
    ], expect_killed=False)
    errf = t.tmp / "held.err"
    p = d.spawn(agent, name=name, stdout=subprocess.DEVNULL, stderr=open(errf, "wb"))
    sid, rec = wait_hold(d, name, RULE)
    hid = rec["hold_id"]
    if wait_state:
        wait_until(lambda: state_has(d, "holds", hid), 10, f"hold {hid} in the state file")
    # else: killed as soon as the log shows the hold (the daemon saves the
    # state file before it writes the drain that made the hold)
    old_pid = sigkill(d)
    wait_until(lambda: cgroup_frozen(d, sid), GRACE + 15, "the held session frozen")
    srv.assert_nothing_destructive(w, "held, scopelockd killed")
    d2 = d.successor()
    rec = unclean_record(d2)
    eq(rec.get("holds_adopted"), 1, f"holds adopted: {short(rec)}")
    eq(rec.get("previous_pid"), old_pid, f"previous_pid: {short(rec)}")
    check(hid in [h.get("hold_id") for h in status_holds(d2)],
          f"hold {hid} not pending after the restart: {status_holds(d2)}")
    # adopted, but a pending hold keeps the session frozen
    check(cgroup_frozen(d2, sid), "the held session was thawed by the adoption")
    srv.assert_nothing_destructive(w, "held, after the restart")
    # the launcher connected again: it is told what becomes of the session
    wait_until(lambda: f"scopelockd is back and adopted session {sid}" in errf.read_text(), 15,
               "the launcher to reattach to the restarted daemon")
    return w, srv, d2, p, sid, hid


def test_hold_before_kill_approved_after_restart(t):
    w, srv, d2, p, sid, hid = hold_then_kill(t)
    r = d2.cli("approve", "--reason", "e2e: approved after the restart", hid)
    eq(r.rc, 0, f"scopelock approve {hid} after the restart ({r})")
    eq(p.wait(60), 0, "the approved session")
    req = srv.wait_request(lambda x: b"volumeDelete" in x["body"], "the approved mutation")
    check(w.prod_vol.encode() in req["body"], f"approved body {req['body']!r}")
    app = wait_until(lambda: next((x for x in d2.records(type="hold_approved")
                                   if x.get("hold_id") == hid), None), 15, "hold_approved")
    check("approved after the restart" in str(app.get("reason")), short(app))
    d2.wait_session_end(sid, timeout=30)
    finish(t, d2, w)


def test_hold_before_kill_denied_after_restart(t):
    """The daemon is killed the moment its log shows the hold: still adopted."""
    w, srv, d2, p, sid, hid = hold_then_kill(t, wait_state=False)
    r = d2.cli("deny", hid)
    eq(r.rc, 0, f"scopelock deny {hid} after the restart ({r})")
    eq(p.wait(60), KILLED, "the denied session")
    wait_session_killed(d2, sid)
    d2.wait_session_end(sid, timeout=30)
    srv.assert_nothing_destructive(w, "denied after the restart")
    finish(t, d2, w)


def test_daemon_absent_continue(t):
    """daemon_absent: continue: the session is not frozen; it runs on (its next
    step completes well after the grace period) and is adopted."""
    w = World(t)
    d = start_daemon(t, write_policy(t, tls_policy(
        w, settings={"daemon_absent": "continue", "daemon_absent_grace": 1})))
    go, out = t.tmp / "go", t.tmp / "out"
    name = rand_marker("cont")
    errf = t.tmp / "cont.err"
    ready = t.tmp / "cont-ready"
    # sleep has run once (a first exec waits for the daemon's TLS room: the gate)
    p = d.spawn(["/bin/bash", "-c", f"sleep 0.01; : > {q(str(ready))}; "
                 f"while [ ! -e {q(str(go))} ]; do sleep 0.05; done; "
                 f"echo ran > {q(str(out))}"], name=name, stdout=subprocess.DEVNULL,
                stderr=open(errf, "wb"))
    sid = d.session_id(name)
    wait_until(ready.exists, 30, "the session's first sleep")
    wait_until(lambda: state_has(d, "sessions", sid), 10, "the session in the state file")
    sigkill(d)
    time.sleep(3)  # three grace periods: a freeze would have happened by now
    go.write_text("")
    try:
        wait_until(lambda: out.exists(), 15, "the session's step with no daemon (continue)")
    except AssertionError:
        cg = d.session_start(sid).get("cgroup")
        info = []
        for pid in Path(cg, "cgroup.procs").read_text().split():
            try:
                st = Path(f"/proc/{pid}/status").read_text().splitlines()
                info.append((pid, Path(f"/proc/{pid}/cmdline").read_bytes()[:80], st[2],
                             Path(f"/proc/{pid}/wchan").read_text()))
            except OSError:
                pass
        fail(f"no step: rc {p.poll()} {errf.read_text()!r} frozen {cgroup_frozen(d, sid)} {info}")
    check(cgroup_frozen(d, sid) is not True, "frozen with daemon_absent: continue")
    d2 = d.successor()
    rec = unclean_record(d2)
    eq(rec.get("sessions_adopted"), [sid], f"adopted: {short(rec)}")
    eq(p.wait(30), 0, "the session")
    d2.wait_session_end(sid, timeout=30)
    finish(t, d2, w)


def test_kernel_stops_sessions_with_no_launcher_and_no_daemon(t):
    """daemon_absent: freeze without the launcher: the launcher is SIGKILLed,
    then the daemon; the kernel itself stops the session's process at its
    next record once the grace period has passed (state T, the cgroup not
    frozen: nobody froze it); it makes no progress while stopped; the
    restarted daemon counts it in unclean_shutdown and lets it go.
    Control: test_daemon_absent_continue (the same step completes)."""
    w = World(t)
    d = start_daemon(t, write_policy(t, tls_policy(
        w, settings={"daemon_absent_grace": GRACE})))
    stop, counter, ready = t.tmp / "stop", t.tmp / "counter", t.tmp / "ready"
    name = rand_marker("nolauncher")
    # /bin/sleep has run once (a first exec waits for the daemon's TLS room)
    p = d.spawn(["/bin/bash", "-c", f"/bin/sleep 0.01; : > {q(str(ready))}; i=0; "
                 f"while [ ! -e {q(str(stop))} ]; do i=$((i+1)); echo $i > {q(str(counter))}; "
                 f"/bin/sleep 0.05; done"], name=name, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
    sid = d.session_id(name)
    wait_until(ready.exists, 30, "the session's loop")
    wait_until(lambda: state_has(d, "sessions", sid), 10, "the session in the state file")
    pids = session_pids(d, sid)
    check(pids, "no process in the session's cgroup")
    # the launcher (scopelock run, outside the session: the process this test started)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(30)
    # the session runs on without its launcher
    n0 = int(counter.read_text() or 0)
    wait_until(lambda: int(counter.read_text() or 0) > n0 + 2, 15,
               "the session's loop with its launcher gone")
    sigkill(d)

    def stopped():
        return any(proc_state(x) == "T" for x in session_pids(d, sid))
    wait_until(stopped, GRACE + 20, "a session process stopped by the kernel")
    check(cgroup_frozen(d, sid) is False, "the session's cgroup was frozen: by whom?")
    # the loop waits for its stopped step: no daemon, no progress
    check(all(proc_state(x) in ("T", "S") for x in session_pids(d, sid)),
          f"session processes: {[(x, proc_state(x)) for x in session_pids(d, sid)]}")

    d2 = d.successor()
    rec = unclean_record(d2)
    eq(rec.get("sessions_adopted"), [sid], f"adopted: {short(rec)}")
    check(rec.get("processes_stopped", 0) >= 1, f"processes_stopped: {short(rec)}")
    # let go by the daemon that drained what they did
    n2 = int(counter.read_text() or 0)
    wait_until(lambda: int(counter.read_text() or 0) > n2 + 2, 30,
               "the loop resumed after the adoption")
    stop.write_text("")
    d2.wait_session_end(sid, timeout=30)
    finish(t, d2, w)


def test_sigterm_keeps_enforcement_and_shutdown_detaches(t):
    """SIGTERM (systemctl stop) keeps the pins: daemon_stop says kept, the
    next daemon writes enforcement_adopted (no unclean_shutdown); `scopelock
    shutdown` writes enforcement detached and removes every pin."""
    w = World(t)
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    pin_dir = d.pin_dir()
    os.kill(d.proc.pid, signal.SIGTERM)
    eq(d.proc.wait(30), 0, "scopelockd exit status on SIGTERM")
    stop = [x for x in d.records(type="daemon_stop")]
    eq(stop[-1].get("enforcement"), "kept", f"daemon_stop: {short(stop[-1])}")
    check(os.path.isdir(os.path.join(pin_dir, "maps")), "SIGTERM removed the pins")
    d2 = d.successor()
    wait_until(lambda: d2.records(type="enforcement_adopted"), 15, "enforcement_adopted")
    check(not d2.records(type="unclean_shutdown"), "unclean_shutdown after a clean stop")
    r = d2.cli("shutdown")
    eq(r.rc, 0, f"scopelock shutdown ({r})")
    eq(d2.proc.wait(30), 0, "scopelockd exit status after scopelock shutdown")
    eq(d2.records(type="daemon_stop")[-1].get("enforcement"), "detached", "daemon_stop")
    check(not os.path.exists(pin_dir), f"pins left after scopelock shutdown in {pin_dir}")
    r = d2.detach()
    eq(r.rc, 0, f"scopelockd --stop-enforcement with nothing pinned ({r})")
