# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Processes outside any session are never recorded (while sessions run);
loss accounting is exact when the ring buffer is made tiny."""

import json
import subprocess

from harness import (PY, REPO, Bopt, TCPListener, TLSServer, check, eq, fail, rand_marker,
                     record_mentions, short)

OUTSIDE_SCRIPT = r'''
import os, socket, ssl, sys, urllib.request
marker, fpath, tcp_port, tls_port, ca = sys.argv[1:6]
open(fpath).read()
s = socket.create_connection(("127.0.0.1", int(tcp_port)))
s.sendall(marker.encode())
s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(marker.encode(), ("127.0.0.1", int(tcp_port)))
ctx = ssl.create_default_context(cafile=ca)
req = urllib.request.Request("https://localhost:%s/%s" % (tls_port, marker),
                             data=("body-" + marker).encode(), method="POST")
urllib.request.urlopen(req, context=ctx, timeout=20).read()
os.spawnv(os.P_WAIT, "/bin/true", ["/bin/true", marker])
print(os.getpid())
'''


def test_outside_process_never_recorded(t):
    srv = TLSServer(t)
    lst = TCPListener(t)
    d = t.daemon()
    out_m, in_m = rand_marker("outside"), rand_marker("inside")
    script = t.write("outside.py", OUTSIDE_SCRIPT)
    f_out = t.write(f"file-{out_m}", "x")
    f_in = t.write(f"file-{in_m}", "x")
    go = t.tmp / "go"
    # a session that is alive while the outside process does the same things
    p = d.spawn(["/bin/sh", "-c", 'while [ ! -e "$1" ]; do sleep 0.05; done; "$2" "$3" "$4" '
                 '"$5" "$6" "$7" "$8"', "sh", str(go), PY, str(script), in_m, str(f_in),
                 str(lst.port), str(srv.port), str(srv.cert)], stdout=subprocess.DEVNULL)
    sid = d.session_id(p.name)
    o = subprocess.run([PY, str(script), out_m, str(f_out), str(lst.port), str(srv.port),
                        str(srv.cert)], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    eq(o.returncode, 0, f"the outside process failed: {o.stderr!r}")
    out_pid = int(o.stdout.split()[-1])
    srv.wait_request(lambda q: q["path"] == f"/{out_m}", "the outside POST")
    go.write_text("")
    eq(p.wait(60), 0, "the session's exit status")
    d.wait_session_end(sid)
    srv.wait_request(lambda q: q["path"] == f"/{in_m}", "the inside POST")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    recs = d.records()
    # positive control: the session doing the same things is recorded
    sess = [x for x in recs if x.get("session") == sid]
    for typ, needle in (("exec", in_m), ("open", f"file-{in_m}"), ("tls_write", f"body-{in_m}")):
        check(any(x.get("type") == typ and record_mentions(x, needle) for x in sess),
              f"control: the session's {typ} with {needle!r} is not recorded\n"
              + d.dump(session=sid))
    check(any(x.get("type") == "connect" and x.get("port") == lst.port for x in sess),
          "control: the session's connect is not recorded")
    check(any(x.get("type") == "udp_send" and x.get("port") == lst.port for x in sess),
          "control: the session's UDP send is not recorded")
    for x in recs:
        if record_mentions(x, out_m):
            fail(f"a process outside any session was recorded: {short(x)}")
        if x.get("pid") == out_pid:
            fail(f"a record carries the outside process's pid {out_pid}: {short(x)}")
        if "pid" in x and x.get("type") not in ("loss",):
            check(x.get("session"), f"a process record without a session: {short(x)}")


def final_loss(d, sid, cause, op):
    """The status loss counter once the session is over: its processes have
    exited, so the kernel has counted every event it dropped, and session_end
    is written after a drain (no fixed wait for the counter to stop moving)."""
    d.wait_session_end(sid)
    return d.status().get("loss", {}).get(cause, {}).get(op, 0)


def test_loss_ringbuf_full_exact(t):
    # loss: drop (the default, throttle, stops the burst instead: test_throttle.py)
    policy = t.write("drop.yaml", f"extends: {REPO / 'policies' / 'default.yaml'}\n"
                     "environments:\n  staging:\n    loss: drop\n")
    d = t.daemon(ringbuf_size=4096, policy=policy)
    n = 5000
    m = rand_marker("burst")
    # records of ~2 KiB (resolved path + requested string of ~900 bytes each):
    # the 4 KiB ring holds two, so a burst overflows it whatever the
    # daemon's speed (wakeups are batched; a short path let it keep up)
    deep = "/".join(["d" * 200] * 4)
    f = t.write(f"{deep}/burst-{m}", "x")
    # dash: after the loader's two opens, one openat per `: <` and nothing else
    r = d.run(["/bin/sh", "-c", 'i=0; while [ $i -lt "$2" ]; do : < "$1"; i=$((i+1)); done',
               "sh", str(f), str(n)])
    eq(r.rc, 0, f"the burst session ({r})")
    sid = d.finished_session(r)
    lost_status = final_loss(d, sid, "ringbuf_full", "open")
    check(lost_status > 0, f"no ringbuf_full loss for op open with --ringbuf-size 4096 and "
          f"{n} opens: status loss = {json.dumps(d.status().get('loss'))}")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    recs = d.records()
    recorded = [x for x in recs if x.get("session") == sid and x.get("type") == "open"
                and Bopt(x.get("requested")) == str(f).encode()]
    for x in recorded:
        eq(Bopt(x.get("path")), str(f).encode(), "resolved path of a burst open")
    other = [x for x in recs if x.get("session") == sid and x.get("type") == "open"
             and Bopt(x.get("requested")) != str(f).encode()]
    lrecs = [x for x in recs if x.get("type") == "loss"]
    open_loss = [x for x in lrecs if x.get("cause") == "ringbuf_full" and x.get("op") == "open"]
    check(open_loss, "no loss record for ringbuf_full/open in the audit log\n"
          + "\n".join(short(x) for x in lrecs))
    lost_log = sum(x.get("count", 0) for x in open_loss)
    eq(lost_log, lost_status, "lost opens in the audit log's loss records (sum of counts) vs "
       "status")
    eq(open_loss[-1].get("total"), lost_status, "the last ringbuf_full/open loss record's total")
    eq(len(recorded) + lost_status, n,
       f"open records of the burst file ({len(recorded)}) + lost opens ({lost_status}) "
       f"[other opens recorded: {len(other)}: "
       f"{[Bopt(x.get('requested')) for x in other][:5]}]")


# overflows the ring on purpose: alone, so that no other test's load changes it
test_loss_ringbuf_full_exact.serial = True
