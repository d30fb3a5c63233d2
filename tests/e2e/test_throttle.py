"""loss: throttle (the default): a session that produces records faster than
the daemon writes them is stopped, not robbed of its audit trail.

The daemon is made to fall behind for certain: the test stops it (SIGSTOP to
the daemon this test started) while a session process opens a file in a
loop. With the default policy the kernel stops the process once half the
ring buffer waits; once the daemon runs again it drains the ring and lets
the process go: every open is in the chained log, nothing is lost, and the
session_end record says how often and how long it was stopped. The control
is the same run with `loss: drop` for the scope: the loop runs to its end
while the daemon is stopped, and records are lost (counted).
"""
import os
import signal
import time

from enforce import verify_chain
from harness import REPO, Bopt, check, eq, fail, proc_state, rand_marker, wait_until

N = 3000
RING = 65536

# dash, builtins only: one openat per `: <`; it waits on a FIFO first (its
# exec and the loader's opens happen while the daemon still runs, and no
# exec comes after: a new executable would wait for the daemon's TLS gate)
LOOP = ('echo ready > "$5"; read go < "$3"; i=0; '
        'while [ $i -lt "$2" ]; do : < "$1"; i=$((i+1)); done; echo done > "$4"')


def session_cgroup(d, name):
    """The cgroup of the running session named name, once a process is in it."""
    for s in d.status().get("sessions", []):
        if s.get("name") == name and s.get("cgroup") and cgroup_pids(s["cgroup"]):
            return s["cgroup"]
    return None


def cgroup_pids(cg):
    """The processes in cgroup cg (read from the kernel: the daemon may be stopped)."""
    try:
        with open(os.path.join(cg, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def flood_with_daemon_stopped(t, d, scope_policy_note):
    m = rand_marker("thr")
    target = t.write(f"thr-{m}", "x")
    go = t.tmp / f"go-{m}"
    os.mkfifo(go)
    done = t.tmp / f"done-{m}"
    ready = t.tmp / f"ready-{m}"
    name = rand_marker("s")
    p = d.spawn(["/bin/sh", "-c", LOOP, "sh", str(target), str(N), str(go), str(done),
                 str(ready)], name=name)
    # the loop's shell runs in the session (past the TLS gate, which needs the
    # daemon) and waits on the FIFO
    wait_until(ready.exists, 30, "the session's shell is running")
    cg = wait_until(lambda: session_cgroup(d, name), 30, "the session's cgroup")
    os.kill(d.proc.pid, signal.SIGSTOP)
    try:
        # blocks until the shell opens the FIFO: it is past its exec
        with open(go, "w") as f:
            f.write("go\n")
        stopped = False
        # either the kernel stops the loop (throttle) or the loop finishes (drop)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if done.exists():
                break
            pids = cgroup_pids(cg)
            if pids and all(proc_state(x) == "T" for x in pids):
                stopped = True
                break
            time.sleep(0.02)
        else:
            fail(f"{scope_policy_note}: the loop neither finished nor was stopped in 60s")
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    rc = p.wait(timeout=120)
    eq(rc, 0, f"{scope_policy_note}: scopelock run exit status")
    check(done.exists(), f"{scope_policy_note}: the loop did not finish")
    return name, target, stopped


def opens_of(d, sid, target):
    return [x for x in d.records(session=sid, type="open")
            if Bopt(x.get("requested")) == str(target).encode()]


def test_throttle_loses_nothing(t):
    d = t.daemon(ringbuf_size=RING)
    name, target, stopped = flood_with_daemon_stopped(t, d, "loss: throttle")
    check(stopped, "the kernel did not stop the session's loop while the daemon was stopped "
          "(it finished instead): throttle did not act")
    sid = d.session_id(name)
    end = d.wait_session_end(sid)
    check(end.get("throttle_stops", 0) >= 1,
          f"session_end does not count a throttle stop: {end}")
    check(end.get("throttled_ms", 0) >= 0, f"session_end throttled_ms: {end}")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    eq(len(opens_of(d, sid, target)), N, "open records of the flood (all of them)")
    lost = [x for x in d.records(type="loss") if x.get("cause") == "ringbuf_full"]
    eq(lost, [], "ringbuf_full loss records")
    verify_chain(d)


def test_throttle_control_drop_loses(t):
    # daemon_absent: continue: the daemon is stopped for longer than the grace
    # period on a loaded machine; this control is about loss, not absence
    policy = t.write("drop.yaml", f"extends: {REPO / 'policies' / 'default.yaml'}\n"
                     "settings:\n  daemon_absent: continue\n"
                     "environments:\n  staging:\n    loss: drop\n")
    d = t.daemon(ringbuf_size=RING, policy=policy)
    name, target, stopped = flood_with_daemon_stopped(t, d, "loss: drop")
    check(not stopped, "control: with loss: drop the loop was stopped")
    sid = d.session_id(name)
    end = d.wait_session_end(sid)
    eq(end.get("throttle_stops"), 0, "control: throttle stops with loss: drop")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    got = len(opens_of(d, sid, target))
    lost = [x for x in d.records(type="loss") if x.get("cause") == "ringbuf_full"
            and x.get("op") == "open"]
    check(got < N and lost, f"control: with loss: drop and the daemon stopped, {got} of {N} "
          f"opens were recorded and {len(lost)} loss records written: the test cannot tell "
          "throttling from a daemon that kept up")


# both stop their daemon and fill its ring on purpose: alone
test_throttle_loses_nothing.serial = True
test_throttle_control_drop_loses.serial = True


def test_throttle_tiny_ring(t):
    """The burst that overflows a 4 KiB ring with loss: drop
    (test_outside_and_loss.test_loss_ringbuf_full_exact) loses nothing with
    the default: every open of the 5000 is in the log."""
    d = t.daemon(ringbuf_size=4096)
    n = 5000
    m = rand_marker("burst")
    deep = "/".join(["d" * 200] * 4)
    f = t.write(f"{deep}/burst-{m}", "x")
    r = d.run(["/bin/sh", "-c", 'i=0; while [ $i -lt "$2" ]; do : < "$1"; i=$((i+1)); done',
               "sh", str(f), str(n)])
    eq(r.rc, 0, f"the burst session ({r})")
    sid = d.finished_session(r)
    end = d.wait_session_end(sid)
    check(end.get("throttle_stops", 0) >= 1, f"session_end: no throttle stop: {end}")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    eq(len(opens_of(d, sid, f)), n, "open records of the burst (all of them)")
    eq([x for x in d.records(type="loss") if x.get("cause") == "ringbuf_full"], [],
       "ringbuf_full loss records")
    verify_chain(d)


test_throttle_tiny_ring.serial = True
