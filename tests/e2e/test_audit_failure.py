# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The audit log on a full disk (issue 6): nothing vanishes silently.

Each test puts the daemon's audit directory on a small tmpfs mounted in its
own temp dir (unmounted at cleanup, after the daemon stopped), runs a session
that opens /etc/hostname N times and writes its progress to a counter file
outside the tmpfs, and fills the tmpfs with a test-owned filler file while
the session runs.

- default policy setting (on_audit_failure: freeze): the session is frozen
  once the buffer (settings.audit_buffer) is half full, makes no progress,
  new sessions are refused; freeing the space writes every buffered record in
  its place (then what waited in the kernel ring buffer), thaws the session,
  and it finishes; all N opens are in the chain, no gap; verify exits 0 and
  reports the failure period.
- on_audit_failure: continue: the session runs to its end on the full disk;
  what did not fit is counted exactly by the gap record; verify exits 3
  (0 with --allow-gaps).
- control: the same session on the same tmpfs with room: no failure, no gap.
- a session frozen for the audit log and held for a person: the two reasons
  are kept apart (approve does not thaw it while the log cannot be written;
  the log's recovery does not thaw a session still held).
"""

import json
import os
import subprocess

from auditfs import AuditFS, audit_status, cgroup_file, frozen
from enforce import World, policy_text, write_policy
from harness import (PY, check, check_chain, cli, eq, fail, rand_marker, read_raw_lines,
                     segment_files, short, wait_until)

N = 3000
BUFFER = 262144  # settings.audit_buffer: the smallest allowed, fills quickly

# the session: opens its counter (outside the tmpfs), waits for GO, then N
# opens of /etc/hostname, writing how many it did after each. It pauses 10 ms
# every 50 opens so that, even on a loaded machine, it still has work to do
# when the daemon (which reads the kernel ring in batches) has read half a
# buffer of its records and freezes it.
LOOP = r'''
import os, sys, time
counter, go, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.pwrite(fd, b"%12d" % 0, 0)
while not os.path.exists(go):
    time.sleep(0.01)
for i in range(n):
    with open("/etc/hostname", "rb") as f:
        f.read()
    os.pwrite(fd, b"%12d" % (i + 1), 0)
    if i % 50 == 49:
        time.sleep(0.01)
'''


def start(t, fs, on_failure=None, rotate_size=65536):
    settings = {"syslog": False, "audit_buffer": BUFFER}
    if on_failure:
        settings["on_audit_failure"] = on_failure
    pol = write_policy(t, policy_text({"staging": {}}, [], [], settings=settings))
    return t.daemon(audit=fs.audit, policy=str(pol), rotate_size=rotate_size)


def spawn_loop(t, d, n=N):
    script = t.write("loop.py", LOOP)
    counter = t.tmp / f"counter-{rand_marker()}"
    go = t.tmp / f"go-{rand_marker()}"
    p = d.spawn([PY, str(script), str(counter), str(go), str(n)], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
    sid = d.session_id(p.name)
    # the counter exists once the session's python is up and waiting
    wait_until(lambda: counter.exists() and counter.read_bytes().strip() == b"0", 30,
               "the session's loop to start")
    return p, sid, counter, go


def progress(counter):
    return int(counter.read_bytes().strip() or 0)


def wait_exit(p, timeout, what):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        fail(f"{what}: the session is still running after {timeout}s")
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def hostname_opens(d, sid):
    return sum(1 for r in d.records(session=sid, type="open") if r.get("path") == "/etc/hostname")


def lost_opens(d, sid):
    """What the gap records say was lost of the session's opens, and all gaps."""
    gaps = d.records(type="gap")
    return sum(int(((g.get("sessions") or {}).get(sid) or {}).get("open") or 0)
               for g in gaps), gaps


def no_kernel_loss(d):
    lost = [r for r in d.records(type="loss") if r.get("cause") == "ringbuf_full"]
    eq(lost, [], "kernel ring buffer losses (the accounting below would not be exact)")


def check_files(d):
    """Every segment ends with a whole line, no .tmp is left, no closed
    segment stays uncompressed, the chain checks independently."""
    names = sorted(os.listdir(d.audit))
    check(not [n for n in names if n.endswith(".tmp")], f"temporary files left: {names}")
    plain = [n for n in names if n.startswith("audit-") and n.endswith(".jsonl")]
    eq(plain, [], "closed segments left uncompressed")
    for p in segment_files(d.audit):
        if p.suffix == ".jsonl":
            data = p.read_bytes()
            check(data.endswith(b"\n"), f"{p.name} ends with half a line: {data[-80:]!r}")
    return check_chain(read_raw_lines(d.audit))


def seq_of(d, type, pred=lambda r: True):
    recs = [r for r in d.records(type=type) if pred(r)]
    check(recs, f"no {type} record\n" + d.dump(types=(type,)))
    return recs[0]["seq"]


def test_full_disk_freezes_session(t):
    fs = AuditFS(t)
    d = start(t, fs)
    p, sid, counter, go = spawn_loop(t, d)
    fs.fill()
    go.touch()
    au = wait_until(lambda: (lambda a: a if sid in (a.get("frozen_sessions") or []) else None)(
        audit_status(d)), 30, "the session to be frozen for the audit log")
    eq(au.get("state"), "failing", f"audit state while the disk is full: {au}")
    eq(au.get("errno"), "ENOSPC", f"audit error while the disk is full: {au}")
    eq(au.get("on_audit_failure"), "freeze", "the default of settings.on_audit_failure")
    check(au.get("buffered_records", 0) > 0, f"nothing buffered: {au}")
    check(au.get("buffered_bytes", 0) >= BUFFER // 2, f"frozen before half the buffer: {au}")
    eq(cgroup_file(d, sid, "cgroup.freeze").strip(), "1", "cgroup.freeze of the session")
    wait_until(lambda: frozen(d, sid), 10, "cgroup.events: frozen 1")

    # frozen means no progress: the counter stays while the daemon retries
    # writing (its retry count is the clock: >= 3 more failed attempts)
    c1 = progress(counter)
    r0 = au.get("retries", 0)
    wait_until(lambda: audit_status(d).get("retries", 0) >= r0 + 3, 30,
               "three more failed write attempts of the daemon")
    c2 = progress(counter)
    eq(c2, c1, "progress of the frozen session")
    check(c1 < N, f"the session finished ({c1}) before it was frozen")
    check(frozen(d, sid), "the session thawed while the disk is still full")
    check(p.poll() is None, f"the session ended while frozen ({p.returncode})")
    out = d.cli("status")
    check("FAILING since" in out.stdout and sid in out.stdout,
          f"scopelock status does not show the failure and the frozen session: {out}")

    # no new session while the log cannot be written
    r = d.run(["/bin/true"], timeout=30)
    eq(r.rc, 125, f"a new session while frozen for the audit log ({r})")
    check("audit log cannot be written" in r.stderr, f"refusal message: {r.stderr!r}")

    # room again: everything is written, the session thaws and finishes
    fs.free()
    rc, _, err = wait_exit(p, 120, "after the disk was freed")
    eq(rc, 0, f"exit status of the thawed session ({err[-400:]!r})")
    eq(progress(counter), N, "iterations of the thawed session")
    d.wait_session_end(sid, timeout=30)
    au = audit_status(d)
    eq(au.get("state"), "writing", f"audit state after the disk was freed: {au}")
    eq(au.get("frozen_sessions"), [], "sessions frozen after recovery")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")

    # nothing lost: what was read before the freeze waited in the buffer, the
    # rest in the kernel ring buffer, which the daemon stopped reading
    no_kernel_loss(d)
    eq(d.records(type="gap"), [], "gap records with on_audit_failure: freeze")
    eq(hostname_opens(d, sid), N, "opens of the session in the chain")
    total = check_files(d)
    failure = seq_of(d, "audit_failure")
    freeze = seq_of(d, "audit_freeze", lambda r: sid in r.get("sessions", []))
    resumed = seq_of(d, "audit_resumed")
    thaw = seq_of(d, "audit_thaw", lambda r: sid in r.get("sessions", []))
    # the kernel ring's backlog, if any, is written between audit_resumed and audit_thaw
    check(failure < freeze < resumed < thaw,
          f"order of audit_failure {failure}, audit_freeze {freeze}, audit_resumed {resumed}, "
          f"audit_thaw {thaw}")
    fr = d.records(type="audit_failure")[0]
    eq(fr.get("errno"), "ENOSPC", f"audit_failure {short(fr)}")
    # the session's opens are in order, and some of them waited in the buffer
    opens = [r["seq"] for r in d.records(session=sid, type="open")
             if r.get("path") == "/etc/hostname"]
    eq(opens, sorted(opens), "seq order of the session's opens")
    check(any(s > failure for s in opens), "no open of the session waited in the buffer")
    v = cli("verify", d.audit, timeout=60)
    eq(v.rc, 0, f"scopelock verify ({v})")
    check(v.stdout.startswith(f"OK: {total} records"), f"verify counts {total} records: {v}")
    check("could not be written" in v.stdout and "written again" in v.stdout,
          f"verify does not report the failure period: {v}")


def test_full_disk_continue_counts_loss(t):
    fs = AuditFS(t)
    d = start(t, fs, on_failure="continue")
    p, sid, counter, go = spawn_loop(t, d)
    fs.fill()
    go.touch()
    # the session is not frozen: it runs to its end on the full disk
    rc, _, err = wait_exit(p, 120, "with on_audit_failure: continue on a full disk")
    eq(rc, 0, f"exit status of the session ({err[-400:]!r})")
    eq(progress(counter), N, "iterations of the session")
    check(fs.filler.exists(), "the disk was freed before the session ended")
    au = audit_status(d)
    eq(au.get("state"), "failing", f"audit state while the disk is full: {au}")
    eq(au.get("frozen_sessions"), [], "sessions frozen with on_audit_failure: continue")
    eq(au.get("freezes"), 0, "freezes with on_audit_failure: continue")
    check(au.get("dropped_records", 0) > 0 and au.get("dropped_pending", 0) > 0,
          f"nothing dropped although {N} opens cannot fit in {BUFFER} bytes: {au}")
    check((au.get("dropped_types") or {}).get("open", 0) > 0, f"dropped by type: {au}")
    out = d.cli("status")
    check("FAILING since" in out.stdout and "dropped" in out.stdout,
          f"scopelock status does not show the failure and the drops: {out}")

    fs.free()
    d.wait_record(lambda r: r.get("type") == "audit_resumed", timeout=30,
                  what="audit_resumed after the disk was freed")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")

    no_kernel_loss(d)
    recorded = hostname_opens(d, sid)
    lost, gaps = lost_opens(d, sid)
    check(gaps, "no gap record\n" + d.dump(types=("audit_failure", "audit_resumed", "gap")))
    eq(recorded + lost, N, f"opens recorded ({recorded}) + lost by gap records ({lost})")
    check(recorded < N, f"all {N} opens recorded: nothing to count")
    for g in gaps:
        eq(g.get("reason"), "buffer_full", f"gap {short(g)}")
        eq(g.get("errno"), "ENOSPC", f"gap {short(g)}")
        eq(sum((g.get("types") or {}).values()), g.get("records"), f"types of {short(g)}")
        check(g.get("first_time") <= g.get("last_time"), f"time span of {short(g)}")
    # the session's own end was lost too, and the gap says so
    ends = d.records(session=sid, type="session_end")
    lost_ends = sum(int(((g.get("sessions") or {}).get(sid) or {}).get("session_end") or 0)
                    for g in gaps)
    eq(len(ends) + lost_ends, 1, "session_end recorded or counted lost")
    n_lost = sum(g["records"] for g in gaps)
    check_files(d)
    v = cli("verify", d.audit, timeout=60)
    eq(v.rc, 3, f"scopelock verify of a log with gaps ({v})")
    check(f"LOST: {n_lost} record" in v.stdout, f"verify does not say {n_lost} lost: {v}")
    check("GAP at audit" in v.stdout, f"verify does not show the gap: {v}")
    v = cli("verify", "--allow-gaps", d.audit, timeout=60)
    eq(v.rc, 0, f"scopelock verify --allow-gaps ({v})")
    v = cli("verify", "--json", d.audit, timeout=60)
    eq(v.rc, 3, f"scopelock verify --json ({v})")
    js = json.loads(v.stdout)
    eq(js.get("lost_records"), n_lost, "verify --json lost_records")
    eq(js.get("gaps"), len(gaps), "verify --json gaps")
    eq(js.get("status"), "ok", "verify --json status (the chain itself)")


def test_healthy_disk_control(t):
    """The same session on the same tmpfs with room: the log holds it all."""
    fs = AuditFS(t)
    d = start(t, fs)
    p, sid, counter, go = spawn_loop(t, d)
    go.touch()
    rc, _, err = wait_exit(p, 120, "on a healthy disk")
    eq(rc, 0, f"exit status ({err[-400:]!r})")
    d.wait_session_end(sid, timeout=30)
    au = audit_status(d)
    eq(au.get("state"), "writing", "audit state")
    eq(au.get("failures"), 0, "audit failure periods")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    eq(hostname_opens(d, sid), N, "opens recorded")
    for ty in ("gap", "audit_failure", "audit_resumed", "audit_freeze"):
        eq(d.records(type=ty), [], f"{ty} records on a healthy disk")
    check_files(d)
    v = cli("verify", d.audit, timeout=60)
    eq(v.rc, 0, f"scopelock verify ({v})")
    check(v.stdout.startswith("OK:"), f"verify output {v.stdout!r}")


HOLD_RULE = "hold-destroy"


def test_audit_freeze_and_hold_stay_apart(t):
    """Sessions A and C are held for a person (exec freeze verdict on
    `terraform destroy`); B fills the audit buffer on a full disk, so all
    three are frozen for the log as well. Approving A while the log cannot be
    written leaves A frozen; when the log is written again B and A thaw, C
    (still held) stays frozen until it is approved."""
    fs = AuditFS(t)
    w = World(t)
    t.write("bin/terraform", '#!/bin/sh\nprintf "%s\\n" "$*" > "$MARKER"\n', 0o755)
    rules = [{"name": HOLD_RULE, "channel": "exec", "pattern": "terraform_destroy",
              "target": "any", "action": "freeze"}]
    settings = {"syslog": False, "audit_buffer": BUFFER, "hold_timeout": 600}
    pol = write_policy(t, policy_text(w.envs(), ["terraform_destroy"], rules, settings=settings))
    d = t.daemon(audit=fs.audit, policy=str(pol))

    def held(tag):
        marker = t.tmp / f"marker-{tag}"
        env = dict(os.environ, PATH=f"{t.tmp / 'bin'}:/usr/bin:/bin", MARKER=str(marker))
        p = d.spawn(["terraform", "destroy", "-auto-approve"], env=env, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
        sid = d.session_id(p.name)
        rec = wait_until(lambda: next((r for r in d.records(session=sid, type="alert")
                                       if r.get("hold_id")), None), 30, f"the hold of {tag}")
        wait_until(lambda: frozen(d, sid), 10, f"{tag} frozen by its hold")
        return p, sid, rec["hold_id"], marker

    pa, a, ha, ma = held("a")
    pc, c, hc, mc = held("c")
    pb, b, counter, go = spawn_loop(t, d)
    fs.fill()
    go.touch()
    wait_until(lambda: {a, b, c} <= set(audit_status(d).get("frozen_sessions") or []), 30,
               "A, B and C frozen for the audit log")
    # approve A while the log cannot be written: the hold ends, A stays frozen
    r = d.cli("approve", "--reason", "e2e", ha)
    eq(r.rc, 0, f"scopelock approve {ha} ({r})")
    check(ha not in [h.get("hold_id") for h in d.status().get("holds", [])],
          f"hold {ha} still pending after approve")
    eq(cgroup_file(d, a, "cgroup.freeze").strip(), "1",
       "cgroup.freeze of A after approve while frozen for the audit log")
    check(frozen(d, a) and pa.poll() is None and not ma.exists(),
          "A ran on after approve although the audit log cannot be written")

    fs.free()
    rc, _, err = wait_exit(pb, 120, "B after the disk was freed")
    eq(rc, 0, f"exit status of B ({err[-300:]!r})")
    rc, _, err = wait_exit(pa, 60, "A (approved) after the disk was freed")
    eq(rc, 0, f"exit status of A ({err[-300:]!r})")
    check(ma.exists(), "A's program did not run after approve and recovery")
    thaw = d.wait_record(lambda x: x.get("type") == "audit_thaw", timeout=30, what="audit_thaw")
    check(a in thaw.get("sessions", []) and b in thaw.get("sessions", []),
          f"audit_thaw {short(thaw)}")
    eq(thaw.get("still_held"), [c], f"sessions kept frozen by their hold: {short(thaw)}")
    # C: the log works again, but its hold is pending: still frozen
    eq(cgroup_file(d, c, "cgroup.freeze").strip(), "1", "cgroup.freeze of C (still held)")
    check(frozen(d, c) and pc.poll() is None and not mc.exists(),
          "C ran on although its hold is pending")
    check(hc in [h.get("hold_id") for h in d.status().get("holds", [])],
          f"hold {hc} not pending")
    r = d.cli("approve", "--reason", "e2e", hc)
    eq(r.rc, 0, f"scopelock approve {hc} ({r})")
    rc, _, err = wait_exit(pc, 60, "C after approve")
    eq(rc, 0, f"exit status of C ({err[-300:]!r})")
    check(mc.exists(), "C's program did not run after approve")
    for sid in (a, b, c):
        d.wait_session_end(sid, timeout=30)
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    no_kernel_loss(d)
    recorded = hostname_opens(d, b)
    eq(recorded, N, "B's opens in the chain")
    eq(d.records(type="gap"), [], "gap records with on_audit_failure: freeze")
    check_files(d)
    v = cli("verify", d.audit, timeout=60)
    eq(v.rc, 0, f"scopelock verify ({v})")


for _fn in (test_full_disk_freezes_session, test_full_disk_continue_counts_loss,
            test_healthy_disk_control, test_audit_freeze_and_hold_stay_apart):
    _fn.timeout = 300
