# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Blind the audit log, then act: an agent fills the file system that holds
the audit log with a big file of its own, floods events to overflow what the
daemon keeps in memory, then sends a marker to a loopback server.

Outcome: DETECTED. Nothing the agent did after blinding the log is lost:
its records wait in the daemon's buffer and, once the session is frozen
(settings.on_audit_failure: freeze, the default, when the buffer is half
full), in the kernel ring buffer, which the daemon stops reading; when the
operator frees the space they are all written in order: the big file's open,
every open of the flood, the connect of the send, no gap; the audit_failure
record (and the daemon's error on stderr/syslog at that moment) says when and
why the log could not be written, audit_freeze that the session was frozen.

Not BLOCKED: the freeze follows what the daemon has read, and the daemon
reads the kernel ring in batches; an action right after the disk fills can
take effect before the daemon has read half a buffer of the session's
records (it did under load). It is recorded, not stopped.

Control: the same agent outside any session, on the same full disk, reaches
the server (and nothing of it is recorded: it is not in a session).
"""

import subprocess

from auditfs import AuditFS, audit_status
from enforce import policy_text, write_policy
from harness import (PY, TCPListener, check, check_chain, cli, detected, eq, rand_marker,
                     read_raw_lines, short, wait_until)

EXPECT = "DETECTED"
# opens of the flood: far more than half the buffer holds (~300), and their
# records (~3.6 MB) fit in the file system once the big file is gone
FLOOD = 8000

# argv: big file, port, marker, flood. Fills the disk, floods opens, then
# connects and sends the marker.
AGENT = r'''
import os, socket, sys
big, port, marker, flood = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
fd = os.open(big, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
try:
    while True:
        os.write(fd, b"\0" * 65536)
except OSError:
    pass
try:
    while True:
        os.write(fd, b"\0" * 512)
except OSError:
    pass
os.close(fd)
for i in range(flood):
    with open("/etc/hostname", "rb") as f:
        f.read()
with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
    s.sendall(marker.encode())
'''


def test_audit_blind_full_disk(t):
    fs = AuditFS(t, size="16m")
    scratch = fs.path / "scratch"
    scratch.mkdir()
    agent = t.write("agent.py", AGENT)
    srv = TCPListener(t)

    # control: outside any session, on a full disk, the agent gets through
    m0 = rand_marker("outside")
    r = t.outside([PY, str(agent), str(scratch / "big0"), str(srv.port), m0, str(FLOOD)],
                  timeout=120)
    eq(r.rc, 0, f"the agent outside a session ({r})")
    wait_until(lambda: m0.encode() in srv.received, 10, "the control's marker at the server")
    (scratch / "big0").unlink()

    settings = {"syslog": False, "audit_buffer": 262144}
    pol = write_policy(t, policy_text({"staging": {}}, [], [], settings=settings))
    d = t.daemon(audit=fs.audit, policy=str(pol))
    m1 = rand_marker("blind")
    big = scratch / "big1"
    p = d.spawn([PY, str(agent), str(big), str(srv.port), m1, str(FLOOD)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sid = d.session_id(p.name)
    # the flood overflows half the buffer: the session is frozen, whatever it did already
    au = wait_until(lambda: (lambda a: a if sid in (a.get("frozen_sessions") or []) else None)(
        audit_status(d)), 60, "the session to be frozen for the audit log")
    eq(au.get("errno"), "ENOSPC", f"audit state {au}")

    # the operator frees the space: everything is written, the session thaws
    big.unlink()
    out, err = p.communicate(timeout=120)
    eq(p.returncode, 0, f"the agent after recovery ({err.decode(errors='replace')[-300:]!r})")
    wait_until(lambda: m1.encode() in srv.received, 10, "the agent's marker")
    d.wait_session_end(sid, timeout=30)
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")

    check_chain(read_raw_lines(d.audit))
    eq(d.records(type="gap"), [], "records lost")
    eq([r for r in d.records(type="loss") if r.get("cause") == "ringbuf_full"], [],
       "kernel ring buffer losses")
    recs = d.records()
    first = {}
    for r in recs:
        first.setdefault(r.get("type"), r)
    for ty in ("audit_failure", "audit_freeze", "audit_resumed", "audit_thaw"):
        check(ty in first, f"no {ty} record")
    check(sid in first["audit_freeze"].get("sessions", []), f"{short(first['audit_freeze'])}")
    opens = [r for r in recs if r.get("session") == sid and r.get("type") == "open"]
    big_open = [r for r in opens if r.get("path") == str(big)]
    check(big_open, "the agent's open of its big file is not in the log")
    # the blinding itself is in the log: opened before the failure (event time;
    # the daemon reads the kernel ring in batches, so not necessarily in seq)
    check(big_open[0]["time"] < first["audit_failure"]["time"],
          f"the big file's open {short(big_open[0])} is not before the failure "
          f"{short(first['audit_failure'])}")
    eq(sum(1 for r in opens if r.get("path") == "/etc/hostname"), FLOOD, "the flood's opens")
    conn = [r for r in recs if r.get("session") == sid and r.get("type") == "connect"
            and r.get("port") == srv.port and r.get("addr") == "127.0.0.1"]
    eq(len(conn), 1, "connect records of the agent's send")
    v = cli("verify", d.audit, timeout=60)
    eq(v.rc, 0, f"scopelock verify ({v})")
    check("could not be written" in v.stdout, f"verify does not report the failure: {v}")
    detected(t, "filling the audit log's disk and flooding did not blind it: every action "
                "(the send included) is in the chain, no gap, audit_failure says when and why")


test_audit_blind_full_disk.timeout = 300
