# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The system-call tracepoints exist only while a session does (issue 11:
processes outside sessions pay nothing while no session runs).

With the daemon up and no session, the kernel reports none of the daemon's
system-call tracepoints (bpftool perf list: its scheduler tracepoints are
there, so the check is not blind) and none is pinned. A session's very first
process is monitored from its first system call: `cat` of a labelled file as
the session's command has its exec and its open in the log (with the alert).
Two sessions hold them; they stay while one is left; after the last ends they
are detached (status and the kernel), and a new session is monitored again.
A session adopted by a daemon started after a SIGKILL keeps them: pinned and
live while no daemon runs, held by the successor, its opens recorded, and
detached once it ends.
"""

import os
import signal

from enforce import wait_alert
from harness import B, check, eq, rand_marker, short, wait_until
from syshooks import (check_attached, pinned_syscall_links, start_labelled, status_sys,
                      syscall_tps, wait_detached)


def opens_of(d, sid, path):
    return [r for r in d.records(session=sid, type="open")
            if B(r.get("path") or "") == str(path).encode()]


def check_first_open(d, sid, prod, what):
    """The session's first command (cat prod) has its exec and its open, labelled."""
    execs = [r for r in d.records(session=sid, type="exec")
             if [B(a) for a in r.get("argv") or []] == [b"/bin/cat", str(prod).encode()]]
    check(execs, f"{what}: the session's first exec (cat) is in the log\n{d.dump(session=sid)}")
    ops = opens_of(d, sid, prod)
    check(ops, f"{what}: the open of the labelled file is in the log\n{d.dump(session=sid)}")
    eq(ops[0].get("env"), ["production"], f"{what}: labels of {short(ops[0])}")
    wait_alert(d, sid, "open-outside-scope")


def waiter(t, d, name, stop, prod=None):
    """A session that (opens prod and) waits until the file stop exists."""
    cmd = f"while [ ! -e {stop} ]; do sleep 0.05; done"
    if prod:
        cmd = f"/bin/cat {prod} > /dev/null; " + cmd
    return d.spawn(["/bin/sh", "-c", cmd], name=name)


def test_syscall_tracepoints_only_while_a_session_runs(t):
    d, prod = start_labelled(t)
    # no session: nothing on the system calls (from the kernel's side)
    wait_detached(d)
    eq(status_sys(d).get("sessions"), 0, "sessions holding them at start")
    eq(pinned_syscall_links(d.pin_dir()), [], "system-call links pinned with no session")
    # control: an open of the labelled file outside a session is no record
    with open(prod) as f:
        f.read()
    # the session's first process: its exec and its first open are recorded
    r = d.run(["/bin/cat", str(prod)], name=rand_marker("first"))
    eq(r.rc, 0, f"the first session ({r})")
    sid = d.finished_session(r)
    check_first_open(d, sid, prod, "first session")
    wait_detached(d)
    # two sessions hold them; they stay while one is left
    stop1, stop2 = t.tmp / "stop1", t.tmp / "stop2"
    p1 = waiter(t, d, rand_marker("w1"), stop1)
    s1 = d.session_id(p1.name)
    check_attached(d, 1)
    pins = pinned_syscall_links(d.pin_dir())
    check(len(pins) == status_sys(d).get("links"),
          f"every system-call link pinned while a session runs: {pins}")
    p2 = waiter(t, d, rand_marker("w2"), stop2, prod=prod)
    s2 = d.session_id(p2.name)
    wait_until(lambda: opens_of(d, s2, prod), 10, "the second session's open")
    check_attached(d, 2)
    stop1.touch()
    eq(p1.wait(30), 0, "the first waiting session")
    d.wait_session_end(s1)
    check_attached(d, 1)
    stop2.touch()
    eq(p2.wait(30), 0, "the second waiting session")
    d.wait_session_end(s2)
    wait_detached(d)
    eq(pinned_syscall_links(d.pin_dir()), [], "system-call links pinned after the last session")
    st = status_sys(d)
    check(st.get("detaches", 0) >= 2 and st.get("attaches", 0) >= 2,
          f"attached and detached per busy period: {st}")
    # a new session is monitored again
    r = d.run(["/bin/cat", str(prod)], name=rand_marker("again"))
    eq(r.rc, 0, f"the session after the detach ({r})")
    check_first_open(d, d.finished_session(r), prod, "session after the detach")
    wait_detached(d)
    # the outside open of the control above was never recorded
    outside = [x for x in d.records(type="open") if B(x.get("path") or "") == str(prod).encode()
               and not x.get("session")]
    eq(outside, [], "open records of the labelled file outside a session")


def test_adopted_session_keeps_syscall_tracepoints(t):
    # daemon_absent: continue: the session runs on while no daemon does
    d, prod = start_labelled(t, settings={"daemon_absent": "continue"})
    wait_detached(d)
    go, stop = t.tmp / "go", t.tmp / "stop"
    # opens prod each time go appears (and then removes it), until stop; cat, rm
    # and sleep run once first: the TLS gate holds an executable no daemon has
    # analysed while none runs
    cmd = (f"/bin/cat /dev/null; /bin/rm -f {go}; /bin/sleep 0; echo > {t.tmp / 'ready'}; "
           f"while [ ! -e {stop} ]; do if [ -e {go} ]; then /bin/cat {prod} > /dev/null; "
           f"/bin/rm -f {go}; fi; /bin/sleep 0.05; done")
    p = d.spawn(["/bin/sh", "-c", cmd], name=rand_marker("adopt"))
    sid = d.session_id(p.name)
    wait_until(lambda: (t.tmp / "ready").exists(), 15, "the session ran cat, rm and sleep")
    check_attached(d, 1)
    pin_dir = d.pin_dir()
    old_pid = d.proc.pid
    os.kill(old_pid, signal.SIGKILL)
    eq(d.proc.wait(30), -signal.SIGKILL, "scopelockd killed by SIGKILL")
    # no daemon: the links live on, pinned, and the session's open is seen by them
    pins = pinned_syscall_links(pin_dir)
    check(len(pins) >= 10, f"system-call links pinned and live with no daemon: {pins}")
    go.touch()
    wait_until(lambda: not go.exists(), 30, "the session's open while no daemon runs")
    d2 = d.successor()
    check_attached(d2, 1)
    eq(syscall_tps(old_pid), {}, "the killed daemon holds nothing")
    wait_until(lambda: opens_of(d2, sid, prod), 15,
               f"the open made while no daemon ran, read from the ring\n{d2.dump(session=sid)}")
    # after the adoption: monitored by the successor's links
    n = len(opens_of(d2, sid, prod))
    go.touch()
    wait_until(lambda: len(opens_of(d2, sid, prod)) > n, 15,
               f"the adopted session's open of the labelled file\n{d2.dump(session=sid)}")
    stop.touch()
    eq(p.wait(60), 0, "the adopted session's launcher")
    d2.wait_session_end(sid)
    wait_detached(d2)
    eq(pinned_syscall_links(pin_dir), [], "system-call links pinned after the adopted session")
