# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Living under systemd (this machine has no systemd as PID 1, so the
protocol is tested directly): scopelockd tells $NOTIFY_SOCKET READY=1 only
once its control socket answers (Type=notify), RELOADING=1 then READY=1
around a SIGHUP reload, STOPPING=1 at SIGTERM; without NOTIFY_SOCKET it
runs as before (every other test). The shipped unit passes
`systemd-analyze verify` with its man pages found."""

import os
import signal
import socket
import subprocess

from harness import REPO, Daemon, check, cli, eq, fail, wait_until


def recv_until(sock, want, timeout, seen):
    sock.settimeout(timeout)
    while True:
        try:
            msg = sock.recv(4096).decode(errors="replace")
        except socket.timeout:
            fail(f"no {want!r} from scopelockd within {timeout}s (got {seen})")
        seen.append(msg)
        if want in msg.split("\n"):
            return msg


def test_notify_ready_reload_stopping(t):
    path = str(t.tmp / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    t.on_cleanup(s.close)
    d = Daemon(t)
    log = open(d.logfile, "wb")
    p = subprocess.Popen(d.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=dict(os.environ, NOTIFY_SOCKET=path))
    d.proc, d._log = p, log
    t.on_cleanup(d.stop)
    seen = []
    msg = recv_until(s, "READY=1", 60, seen)
    # ready means the control socket answers at that moment
    r = cli("--socket", d.sock, "status", "--json")
    eq(r.rc, 0, f"status right after READY=1 ({r})")
    check(f"MAINPID={p.pid}" in msg, f"READY message: {msg!r}")
    check("STATUS=enforcing policy " in msg, f"READY message: {msg!r}")
    os.kill(p.pid, signal.SIGHUP)
    recv_until(s, "RELOADING=1", 30, seen)
    recv_until(s, "READY=1", 30, seen)
    os.kill(p.pid, signal.SIGTERM)
    recv_until(s, "STOPPING=1", 30, seen)
    eq(p.wait(timeout=30), 0, "scopelockd exit status after SIGTERM")
    d.exit_code = 0


def test_unit_verifies(t):
    dest = t.tmp / "root"
    p = subprocess.run(["make", "-s", "-C", str(REPO), "install", f"DESTDIR={dest}"],
                       capture_output=True, timeout=600)
    eq(p.returncode, 0, f"make install: {p.stderr.decode()[-1500:]}")
    prefix = f"{dest}/usr/local"
    unit = t.tmp / "scopelockd.service"
    # the shipped template with the installed tree as PREFIX: every path it names exists
    unit.write_text((REPO / "dist" / "scopelockd.service.in").read_text()
                    .replace("@PREFIX@", prefix).replace("@SYSCONFDIR@", f"{dest}/etc"))
    p = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, timeout=60,
                       env=dict(os.environ, MANPATH=f"{prefix}/share/man"))
    eq((p.returncode, p.stderr.decode().strip()), (0, ""), "systemd-analyze verify of the unit")
    text = unit.read_text()
    for line in ("Type=notify", "StateDirectory=scopelock", "ProtectSystem=full"):
        check(line in text, f"the unit lacks {line}")
