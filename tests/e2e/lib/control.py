# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Helpers of the control-plane tests (test_control.py, tests/adversarial/
control_*.py): a client that speaks the control protocol itself (so a test
can connect from one process and send from another), and a daemon with
everything a state-changing request could change: two pending holds, a
running session to end, a policy generation, the right to create sessions.

The protocol (user/lib/proto.c): a unix SOCK_SEQPACKET socket, one JSON
object per message; the `run` request passes the pidfd of the requester's
own child as SCM_RIGHTS.
"""

import grp
import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

from enforce import (GraphQLServer, World, agent_script, client_command, policy_text,
                     start_daemon, status_holds, wait_hold, write_policy)
from harness import KILLED, PY, check, cgroup_of_pid, eq, fail, rand_marker, short, wait_until

q = shlex.quote
RULE = "graphql-destroy"
STATE_OPS = ("run", "end", "policy_reload", "approve", "deny")

# The client. Modes:
#   direct  each request on its own connection, connected and sent by this process
#   exited  a connector connects, forks a child that keeps the socket and exits;
#           once the connector is reaped, the child sends every request
#   passed  a connector connects and hands the socket to a sibling over a
#           socketpair (SCM_RIGHTS) and exits; once it is reaped the sibling sends
#   handoff the test's process connected and passes the socket in (fd 3 of a
#           socketpair given as --recv-fd); this process sends
#   early   connect (and probe), create --ready, wait for --go, send every request
#           without reading a reply, exit at once
# --probe: the connector first does a status round trip (so the daemon has
# accepted and identified it while it was alive). --wait FILE: create
# FILE.waiting, then start when FILE exists. --ready FILE: created once the connector is gone (or, in early mode,
# once the requests are sent), before any request is sent. --drop UID:GID:G1,G2:
# become that user with those supplementary groups first.
CLIENT = r'''
import argparse, array, json, os, pwd, signal, socket, sys, time
ap = argparse.ArgumentParser()
ap.add_argument("--sock", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--mode", required=True)
ap.add_argument("--probe", action="store_true")
ap.add_argument("--wait")
ap.add_argument("--ready")
ap.add_argument("--drop")
ap.add_argument("--recv-fd", type=int)
ap.add_argument("--go")
ap.add_argument("requests")
a = ap.parse_args()
reqs = json.loads(a.requests)
if a.drop:
    uid, gid, groups = a.drop.split(":")
    os.setgroups([int(g) for g in groups.split(",") if g])
    os.setgid(int(gid))
    os.setuid(int(uid))
if a.wait:
    open(a.wait + ".waiting", "w").close()  # running: the session exists
    while not os.path.exists(a.wait):
        time.sleep(0.01)

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(a.sock)
    return s

def call(s, req, fd=None):
    data = json.dumps(req).encode()
    if fd is None:
        s.send(data)
    else:
        s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
    msg = s.recv(1 << 20)
    return json.loads(msg) if msg else {"ok": False, "error": "(connection closed)"}

def send_one(s, req, wait=True):
    """One request; run passes the pidfd of a child of ours, which is killed after."""
    if req.get("op") != "run":
        return call(s, req) if wait else s.send(json.dumps(req).encode())
    # as itself; root must ask for a root session explicitly (allow_root)
    req = dict(req, user=pwd.getpwuid(os.geteuid()).pw_name, allow_root=os.geteuid() == 0)
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    os.close(r)
    pidfd = os.pidfd_open(child)
    try:
        if not wait:
            data = json.dumps(req).encode()
            s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [pidfd]))])
            return None
        reply = call(s, req, pidfd)
    finally:
        os.close(pidfd)
        if wait:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            os.close(w)
    reply["_child"] = child
    return reply

def send_all(s):
    return [{"op": r["op"], "reply": send_one(s, r)} for r in reqs]

def done(results, connector, sender):
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"results": results, "connector": connector, "sender": sender}, f)
    os.rename(tmp, a.out)

def touch(p):
    if p:
        open(p, "w").close()

if a.mode == "direct":
    results = []
    for r in reqs:
        s = connect()
        results.append({"op": r["op"], "reply": send_one(s, r)})
        s.close()
    done(results, os.getpid(), os.getpid())
elif a.mode == "exited":
    go_r, go_w = os.pipe()
    res_r, res_w = os.pipe()
    c = os.fork()
    if c == 0:  # the connector
        s = connect()
        if a.probe:
            call(s, {"op": "status"})
        k = os.fork()
        if k == 0:  # keeps the socket; sends once the connector is reaped
            os.close(go_w)
            os.read(go_r, 1)
            out = json.dumps({"results": send_all(s), "sender": os.getpid()}).encode()
            os.write(res_w, out)
            os._exit(0)
        os._exit(0)
    os.waitpid(c, 0)
    touch(a.ready)
    os.close(res_w)
    os.write(go_w, b"g")
    data = b""
    while True:
        chunk = os.read(res_r, 65536)
        if not chunk:
            break
        data += chunk
    r = json.loads(data)
    done(r["results"], c, r["sender"])
elif a.mode == "passed":
    sp = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    res_r, res_w = os.pipe()
    go_r, go_w = os.pipe()
    c = os.fork()
    if c == 0:  # the connector: hands its socket over, exits
        s = connect()
        if a.probe:
            call(s, {"op": "status"})
        socket.send_fds(sp[0], [b"fd"], [s.fileno()])
        os._exit(0)
    b = os.fork()
    if b == 0:  # a sibling in the session: receives the socket, sends
        os.close(go_w)
        msg, fds, _, _ = socket.recv_fds(sp[1], 16, 1)
        s = socket.socket(fileno=fds[0])
        os.read(go_r, 1)
        out = json.dumps({"results": send_all(s), "sender": os.getpid()}).encode()
        os.write(res_w, out)
        os._exit(0)
    os.waitpid(c, 0)
    touch(a.ready)
    os.close(res_w)
    os.write(go_w, b"g")
    data = b""
    while True:
        chunk = os.read(res_r, 65536)
        if not chunk:
            break
        data += chunk
    os.waitpid(b, 0)
    r = json.loads(data)
    done(r["results"], c, r["sender"])
elif a.mode == "handoff":
    sp = socket.socket(fileno=a.recv_fd)
    msg, fds, _, _ = socket.recv_fds(sp, 16, 1)
    s = socket.socket(fileno=fds[0])
    done(send_all(s), None, os.getpid())
elif a.mode == "early":
    s = connect()
    if a.probe:
        call(s, {"op": "status"})
    touch(a.ready)
    while not os.path.exists(a.go):
        time.sleep(0.01)
    for r in reqs:
        send_one(s, r, wait=False)
    os._exit(0)
else:
    sys.exit("unknown mode " + a.mode)
'''


def client_script(t):
    p = t.tmp / "ctl_client.py"
    if not p.exists():
        t.write("ctl_client.py", CLIENT)
    return p


def out_dir(t):
    """A directory any user may write its results into."""
    d = t.tmp / "ctl-out"
    d.mkdir(exist_ok=True)
    os.chmod(d, 0o1777)
    return d


def pick_group():
    """An existing group (socket group and admin_group of the tests) that
    nobody is not in: only ever given to the tests' own processes by
    setgroups(), /etc/group is not changed."""
    for name in ("users", "staff", "src", "operator"):
        try:
            g = grp.getgrnam(name)
        except KeyError:
            continue
        if g.gr_gid not in (0, 65534):
            return g
    fail("no group among users, staff, src, operator exists for the socket/admin group")


# ---------------------------------------------------------------- the world

class ControlWorld:
    """A daemon whose policy freezes the incident's request and names an
    admin_group (also the --socket-group), with two pending holds (h_approve,
    h_deny), a running session to end (victim), and the policy generation."""

    def __init__(self, t, holds=2, admin_group=True):
        self.t = t
        self.group = pick_group()
        self.w = World(t)
        self.srv = GraphQLServer(t)
        rule = {"name": RULE, "channel": "tls", "pattern": "graphql_destroy",
                "target": "outside_scope", "action": "freeze"}
        settings = {"syslog": False, "hold_timeout": "10m"}
        if admin_group:
            settings["admin_group"] = self.group.gr_name
        self.policy = write_policy(t, policy_text(self.w.envs(), ["graphql_destroy"], [rule],
                                                  settings=settings))
        self.d = start_daemon(t, self.policy, extra=["--socket-group", self.group.gr_name])
        # nobody must reach the socket: its directory is the daemon's private one
        os.chmod(self.d.base, 0o711)
        self.spare = [self.hold() for _ in range(holds)]
        self.next_round()

    def next_round(self):
        """Fresh targets for another round of requests: the next two pending
        holds, a new session to end, the current policy generation."""
        self.held, self.spare = self.spare[:2], self.spare[2:]
        self.victim_name = rand_marker("victim")
        self.victim = self.d.spawn(["/bin/sleep", "600"], name=self.victim_name,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.victim_sid = self.d.session_id(self.victim_name)
        self.generation = self.d.status().get("policy_generation")
        check(isinstance(self.generation, int), f"status has no policy_generation: "
              f"{self.generation!r}")
        self.mark = len(self.d.records())

    def hold(self):
        """A session frozen by the freeze rule: (Popen, session id, hold id)."""
        t, w, srv = self.t, self.w, self.srv
        name = rand_marker("held")
        argv = agent_script(t, name, [
            f"cd {q(str(w.shop))}",
            f"TOKEN=$(cat {q(str(w.prod_file))})",
            client_command("curl", t, srv, w.mutation(w.prod_vol), "$TOKEN")
            + " > /dev/null || exit 21",
            "sleep 600", "exit 3"], expect_killed=False)
        p = self.d.spawn(argv, name=name, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        sid, rec = wait_hold(self.d, name, RULE)
        return p, sid, rec["hold_id"]

    @property
    def h_approve(self):
        return self.held[0][2] if self.held else "h999"

    @property
    def h_deny(self):
        return self.held[1][2] if len(self.held) > 1 else "h998"

    def requests(self, run_name=None):
        """One of each state-changing request, aimed at this world."""
        return [
            {"op": "run", "scope": "staging", "name": run_name or rand_marker("run"),
             "argv": ["/bin/true"]},
            {"op": "end", "session": self.victim_sid, "reason": "e2e"},
            {"op": "policy_reload"},
            {"op": "approve", "id": self.h_approve, "reason": "e2e"},
            {"op": "deny", "id": self.h_deny, "reason": "e2e"},
        ]

    # -- running the client
    def client_argv(self, mode, reqs, out, probe=False, wait=None, ready=None, drop=None,
                    recv_fd=None):
        argv = [PY, str(client_script(self.t)), "--sock", self.d.sock, "--out", str(out),
                "--mode", mode]
        if probe:
            argv.append("--probe")
        if wait:
            argv += ["--wait", str(wait)]
        if ready:
            argv += ["--ready", str(ready)]
        if drop:
            argv += ["--drop", drop]
        if recv_fd is not None:
            argv += ["--recv-fd", str(recv_fd)]
        return argv + [json.dumps(reqs)]

    def in_session(self, mode, reqs, stall=False, drop=None, timeout=60):
        """Run the client in a new session. stall: the daemon is stopped
        (SIGSTOP, our own daemon) from before the connect until the
        connector is gone, so it accepts a connection whose process has
        exited. Returns (results document, session id)."""
        out = out_dir(self.t) / (rand_marker("out") + ".json")
        name = rand_marker("attacker")
        start = out_dir(self.t) / (name + ".start") if stall else None
        ready = out_dir(self.t) / (name + ".ready") if stall else None
        argv = self.client_argv(mode, reqs, out, probe=not stall, wait=start, ready=ready,
                                drop=drop)
        p = self.d.spawn(argv, name=name, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        sid = self.d.session_id(name)
        if stall:
            # session_start precedes the reply to run: wait until the client runs
            waiting = Path(str(start) + ".waiting")
            wait_until(lambda: waiting.exists() or p.poll() is not None, 30,
                       "the control client to start in its session")
            self.stalled(lambda: start.touch(), lambda: ready.exists(), p)
        try:
            so, se = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            fail(f"the control client in session {sid} did not finish in {timeout}s")
        check(p.returncode == 0 and out.exists(),
              f"the control client failed (exit {p.returncode}): {se.decode()[-2000:]}")
        self.d.wait_session_end(sid)
        return json.loads(out.read_text()), sid

    def stalled(self, start, until, p, timeout=20):
        """SIGSTOP the daemon, start(), wait until(), SIGCONT (always)."""
        pid = self.d.proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            start()
            deadline = time.monotonic() + timeout
            while not until():
                if p is not None and p.poll() is not None:
                    fail(f"the control client exited {p.returncode} while the daemon was "
                         "stopped")
                if time.monotonic() > deadline:
                    fail("the control client did not get ready while the daemon was stopped")
                time.sleep(0.02)
        finally:
            os.kill(pid, signal.SIGCONT)

    def outside(self, reqs, drop=None):
        """The same client, mode direct, outside any session."""
        out = out_dir(self.t) / (rand_marker("out") + ".json")
        r = self.t.outside(self.client_argv("direct", reqs, out, drop=drop), timeout=60)
        check(r.rc == 0 and out.exists(), f"the control client outside failed: {r}")
        return json.loads(out.read_text())

    # -- state
    def snapshot(self):
        st = self.d.status()
        return {
            "generation": st.get("policy_generation"),
            "holds": sorted(h.get("hold_id") for h in st.get("holds") or []),
            "sessions": sorted(s.get("session") for s in st.get("sessions") or []),
        }

    def assert_unchanged(self, what, before=None):
        """Nothing a state-changing request could do has happened."""
        st = self.snapshot()
        eq(st["generation"], self.generation, f"{what}: policy generation")
        for _, sid, hid in self.held:
            check(hid in st["holds"], f"{what}: hold {hid} is no longer pending: {st}")
        check(self.victim.poll() is None,
              f"{what}: the victim session's process exited ({self.victim.returncode})")
        check(self.victim_sid in st["sessions"], f"{what}: session {self.victim_sid} is gone")
        for p, sid, hid in self.held:
            check(p.poll() is None, f"{what}: held session {sid} ended ({p.returncode})")
        decided = [r for r in self.d.records()[self.mark:]
                   if r.get("type") in ("hold_approved", "hold_denied", "session_killed",
                                        "policy_loaded", "policy_refused")]
        eq(decided, [], f"{what}: records of a state change")

    def check_refused(self, doc, expect_reason, what, requester_pid=None):
        """Every state-changing request of doc was refused, each with a
        control_refused record naming the established identity."""
        res = doc["results"]
        eq([r["op"] for r in res], list(STATE_OPS), f"{what}: requests sent")
        for r in res:
            rep = r["reply"]
            check(rep.get("ok") is False, f"{what}: '{r['op']}' was not refused: {rep}")
            check("refused" in str(rep.get("error")), f"{what}: '{r['op']}' reply: {rep}")
        pid = requester_pid if requester_pid is not None else doc["connector"]
        recs = [x for x in self.d.records(type="control_refused")
                if (x.get("requester") or {}).get("pid") == pid]
        for op in STATE_OPS:
            mine = [x for x in recs if x.get("op") == op]
            check(mine, f"{what}: no control_refused record for '{op}' from pid {pid}\n"
                  + self.d.dump(types=("control_refused",)))
            rec = mine[-1]
            eq(rec.get("reason"), expect_reason, f"{what}: reason of {short(rec)}")
            check(isinstance(rec.get("detail"), str) and rec["detail"],
                  f"{what}: detail of {short(rec)}")
        return recs

    def check_no_run_session(self, reqs, what):
        name = reqs[0]["name"]
        check(not [r for r in self.d.records(type="session_start") if r.get("name") == name],
              f"{what}: the refused run created a session")

    # -- the controls
    def controls(self, drop=None, expect_user=None):
        """The same requests from outside any session succeed: the session is
        created, the victim ended, the policy reloaded, one hold approved and
        one denied; each record carries the requester as established."""
        reqs = self.requests()
        doc = self.outside(reqs, drop=drop)
        me = doc["connector"]
        for r in doc["results"]:
            check(r["reply"].get("ok") is True,
                  f"control: '{r['op']}' from outside failed: {r['reply']}")
        d = self.d
        start = wait_until(lambda: next((r for r in d.records(type="session_start")
                                         if r.get("name") == reqs[0]["name"]), None),
                           10, "session_start of the control run")
        self.check_requester(start.get("requester"), me, "session_start", expect_user)
        killed = wait_until(lambda: next(iter(d.records(session=self.victim_sid,
                                                        type="session_killed")), None),
                            10, "session_killed of the ended victim")
        self.check_requester(killed.get("requester"), me, "session_killed", expect_user)
        check(str(me) in str(killed.get("by")), f"session_killed by: {short(killed)}")
        try:
            self.victim.wait(15)
        except subprocess.TimeoutExpired:
            fail("the ended victim session is still running")
        eq(self.victim.returncode, KILLED, "exit status of the ended victim session")
        loaded = wait_until(lambda: next((r for r in d.records(type="policy_loaded")
                                          if r.get("generation") == self.generation + 1),
                                         None), 10, "policy_loaded of the next generation")
        eq(loaded.get("generation"), self.generation + 1, "generation after the reload")
        eq(loaded.get("via"), "control", f"policy_loaded via: {short(loaded)}")
        self.check_requester(loaded.get("requester"), me, "policy_loaded", expect_user)
        for typ, hid in (("hold_approved", self.h_approve), ("hold_denied", self.h_deny)):
            rec = wait_until(lambda: next((r for r in d.records(type=typ)
                                           if r.get("hold_id") == hid), None), 10, typ)
            self.check_requester(rec.get("requester"), me, typ, expect_user)
        left = [h.get("hold_id") for h in status_holds(d)]
        check(self.h_approve not in left and self.h_deny not in left,
              f"holds still pending after the controls: {left}")
        return doc

    def check_requester(self, req, pid, what, user=None):
        check(isinstance(req, dict), f"{what}: no requester object: {req!r}")
        eq(req.get("pid"), pid, f"{what}: requester pid")
        eq(req.get("identified"), True, f"{what}: requester identified")
        eq(req.get("identified_by"), "SO_PEERPIDFD", f"{what}: requester identified_by")
        eq(req.get("session"), None, f"{what}: requester session")
        eq(req.get("cgroup"), cgroup_of_pid(os.getpid()), f"{what}: requester cgroup")
        if user:
            eq(req.get("user"), user, f"{what}: requester user")

