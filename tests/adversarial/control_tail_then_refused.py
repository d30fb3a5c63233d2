# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A use-after-free in the control loop, driven from inside a session.

A socket-group member inside a session (uid nobody with the socket group as
a supplementary group) sends, on one connection and without waiting for
replies, a `tail` without follow (the daemon marks the connection done:
dead) followed by state-changing requests (`end`). Each is refused as coming
from inside a session and the refusal is an alert record; writing a record
broadcasts it to tail clients, and sl_control_broadcast frees every client
marked dead, including the one whose batch is being handled. The rest of
the batch (the refusal's reply, the next requests) then uses the freed
client: its peer identity has been cleared and freed, so the refusals are
recorded as coming from an "unknown peer" (unidentified, no session), and
the daemon writes to freed memory (c->dead, and the reply goes to a closed
descriptor number, which another connection or file may have reused). The
daemon is stopped (SIGSTOP, our own) while the client queues its requests,
so that they are read in one batch (deterministic).

What should happen: every request is refused and recorded, the daemon runs
on. Control: the same requests from the same user outside any session,
each on its own connection, are refused (not admin) and the daemon runs
on."""

import json
import os
import shlex
import signal

from control import client_script, out_dir, pick_group
from enforce import World, policy_text, start_daemon, write_policy
from harness import PY, blocked, check, eq, fail, rand_marker, short, wait_until

EXPECT = "BLOCKED"
q = shlex.quote
N_END = 6

ATTACK = r'''
import json, os, socket, sys, time
sock, out, gid, sid = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
os.setgroups([gid]); os.setgid(65534); os.setuid(65534)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sock)
s.send(json.dumps({"op": "status"}).encode()); s.recv(1 << 20)  # identified, alive
go = out + ".go"
open(out + ".waiting", "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
s.send(json.dumps({"op": "tail", "count": 0}).encode())
for i in range(int(sys.argv[5])):
    s.send(json.dumps({"op": "end", "session": sid, "reason": "x"}).encode())
open(out + ".sent", "w").close()
replies = []
s.settimeout(10)
try:
    while True:
        m = s.recv(1 << 20)
        if not m:
            break
        replies.append(m.decode(errors="replace"))
except (OSError, socket.timeout) as e:
    replies.append("error: %r" % e)
open(out, "w").write(json.dumps(replies))
'''


def go(t, d, outf, p):
    """The client queues its requests while the daemon is stopped."""
    waiting, sent = f"{outf}.waiting", f"{outf}.sent"
    wait_until(lambda: os.path.exists(waiting) or p.poll() is not None, 30, "the client")
    pid = d.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        open(f"{outf}.go", "w").close()
        wait_until(lambda: os.path.exists(sent) or p.poll() is not None, 20,
                   "the client's requests")
    finally:
        os.kill(pid, signal.SIGCONT)


def test_control_tail_then_refused(t):
    group = pick_group()
    w = World(t)
    pol = write_policy(t, policy_text(w.envs(), [], [], settings={"syslog": False}))
    d = start_daemon(t, pol, extra=["--socket-group", group.gr_name])
    os.chmod(d.base, 0o711)
    script = t.write("attack.py", ATTACK)
    victim = d.spawn(["/bin/sleep", "600"], name=rand_marker("victim"))
    vsid = d.session_id(victim.name)
    # control: outside a session, the same user and group, same sequence
    outf = out_dir(t) / "outside.json"
    c = t.popen([PY, str(script), d.sock, str(outf), str(group.gr_gid), vsid, "1"])
    go(t, d, outf, c)
    eq(c.wait(30), 0, "the client outside")
    check(d.proc.poll() is None, "the daemon died on the control sequence from outside")
    # the attack, inside a session
    name = rand_marker("attacker")
    outf = out_dir(t) / "inside.json"
    p = d.spawn([PY, str(script), d.sock, str(outf), str(group.gr_gid), vsid, str(N_END)],
                name=name)
    go(t, d, outf, p)
    r = p.wait(30)
    alive = d.proc.poll() is None
    if not alive:
        fail(f"scopelockd died (exit status {d.proc.returncode}) on `tail` then `end` from "
             f"inside a session; client: {r}\n{d.log_tail(15)}")
    sid = d.session_id(name)
    d.wait_session_end(sid)
    recs = [x for x in d.records(type="control_refused") if x.get("op") == "end"][1:]
    eq(len(recs), N_END, "control_refused records of the session's `end` requests\n"
       + d.dump(types=("control_refused",)))
    for x in recs:
        req = x.get("requester") or {}
        check(req.get("session") == sid and x.get("reason") == "in_session",
              f"a refusal of the session's request does not name it: {short(x)}\n"
              + d.log_tail(12))
    check(victim.poll() is None, "the victim session ended")
    blocked(t, "every request refused and recorded, the daemon ran on")
