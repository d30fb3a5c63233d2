# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Sessions: exit status propagation, session_start/session_end, the session
cgroup's life, descendants, users, nested creation refused, status, tail,
daemon start/stop, CLI errors."""

import json
import os
import re
import signal
import subprocess
import threading
import time

from checks import argv_of, check_common, find_one
from harness import (BIN_CLI, PY, B, Daemon, check, cgroup_abs, cgroup_rel, cli, eq, fail,
                     rand_marker, short, wait_until)

WAIT_SCRIPT = r'''
import json, os, sys, time
out, go = sys.argv[1], sys.argv[2]
cg = [l[3:].strip() for l in open("/proc/self/cgroup") if l.startswith("0::")][0]
with open(out + ".tmp", "w") as f:
    json.dump({"pid": os.getpid(), "cgroup": cg, "uid": os.getuid()}, f)
os.rename(out + ".tmp", out)
while not os.path.exists(go):
    time.sleep(0.05)
'''


def read_json_when_there(path, timeout=15, what="the session's result file"):
    return wait_until(lambda: json.loads(path.read_text()) if path.exists() else None, timeout,
                      what)


def session_entry(status, sid):
    for s in status.get("sessions", []):
        if isinstance(s, dict) and (s.get("id") == sid or s.get("session") == sid):
            return s
    return None


def test_exit_status_propagation(t):
    d = t.daemon()
    r = d.run(["/bin/sh", "-c", "exit 7"])
    eq(r.rc, 7, f"run exit status of 'exit 7' ({r})")
    sid7 = d.finished_session(r)
    r = d.run(["/bin/sh", "-c", "kill -KILL $$"])
    eq(r.rc, 137, f"run exit status of a command killed by SIGKILL ({r})")
    sid9 = d.finished_session(r)
    r = d.run(["/bin/sh", "-c", "kill -TERM $$"])
    eq(r.rc, 143, f"run exit status of a command killed by SIGTERM ({r})")
    r = d.run(["/bin/true"])
    eq(r.rc, 0, f"run exit status of /bin/true ({r})")
    for sid, status, code, sig, signame in ((sid7, 7 << 8, 7, None, None),
                                            (sid9, 9, 137, 9, "SIGKILL")):
        recs = d.records(session=sid)
        sh = find_one([x for x in recs if x.get("type") == "exec"],
                      lambda x: B(x["filename"]) == b"/bin/sh", "exec of /bin/sh",
                      d.dump(session=sid))
        ex = find_one([x for x in recs if x.get("type") == "exit"],
                      lambda x: x["pid"] == sh["pid"], f"exit record of pid {sh['pid']}",
                      d.dump(session=sid))
        check_common(ex, sid)
        eq(ex.get("status"), status, "exit record: wait status")
        eq(ex.get("exit_code"), code, "exit record: exit_code")
        eq(ex.get("signal"), sig, "exit record: signal")
        if sig:
            eq(ex.get("signal_name"), signame, "exit record: signal_name")
            eq(ex.get("core_dumped"), False, "exit record: core_dumped")


def test_session_lifecycle_and_cgroup(t):
    d = t.daemon()
    ws = t.tmp / "workspace"
    ws.mkdir()
    out, go = t.tmp / "life.json", t.tmp / "life.go"
    script = t.write("life.py", WAIT_SCRIPT)
    argv = [PY, str(script), str(out), str(go)]
    name = rand_marker("life")
    full = [str(BIN_CLI), "--socket", d.sock, "run", "--scope", "staging", "--workspace",
            str(ws), "--name", name, "--allow-root", "--"] + argv
    p = t.popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(ws))
    res = read_json_when_there(out)
    sid = d.session_id(name)
    start = d.session_start(sid)
    check_common(start)
    eq(start.get("scope"), "staging", "session_start scope")
    eq(B(start.get("workspace")), str(ws).encode(), "session_start workspace")
    eq(start.get("user"), "root", "session_start user")
    eq(start.get("name"), name, "session_start name")
    eq(argv_of(start), [a.encode() for a in argv], "session_start argv")
    cg = start.get("cgroup")
    check(isinstance(cg, str) and d.cg_parent in cg,
          f"session_start cgroup {cg!r} is not under the parent {d.cg_parent!r}")
    eq(cgroup_rel(cg), res["cgroup"], "session cgroup == the command's /proc/self/cgroup")
    cg_dir = cgroup_abs(cg)
    check(os.path.isdir(cg_dir), f"session cgroup {cg_dir} does not exist while it runs")
    procs = open(os.path.join(cg_dir, "cgroup.procs")).read().split()
    check(str(res["pid"]) in procs, f"pid {res['pid']} not in {cg_dir}/cgroup.procs {procs}")
    st = d.status()
    entry = session_entry(st, sid)
    check(entry is not None, f"status --json does not list running session {sid}: "
          f"{json.dumps(st.get('sessions'))[:800]}")
    check(not d.records(session=sid, type="session_end"), "session_end before the end")

    go.write_text("go")
    rc = p.wait(30)
    eq(rc, 0, f"run exit status (stderr: {p.stderr.read()!r})")
    end = d.wait_session_end(sid)
    check_common(end)
    check(end["seq"] > start["seq"], "session_end after session_start")
    last = max(x["seq"] for x in d.records(session=sid))
    eq(end["seq"], last, "session_end is the session's last record")
    wait_until(lambda: not os.path.exists(cg_dir), 10,
               f"the daemon to remove the session cgroup {cg_dir}")
    wait_until(lambda: session_entry(d.status(), sid) is None, 10,
               f"status to drop session {sid}")


DETACH_SCRIPT = r'''
import os, sys, time
out, marker = sys.argv[1], sys.argv[2]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        fd = os.open(os.devnull, os.O_RDWR)
        for i in (0, 1, 2):
            os.dup2(fd, i)
        time.sleep(2)
        with open(out, "w") as f:
            f.write(open("/proc/self/cgroup").read())
        os.execv("/bin/true", ["/bin/true", marker])
    os._exit(0)
os.wait()
'''


def test_descendants_stay_in_session(t):
    d = t.daemon()
    m = rand_marker("detach")
    out = t.tmp / "detached.cgroup"
    script = t.write("detach.py", DETACH_SCRIPT)
    r = d.run([PY, str(script), str(out), m])
    eq(r.rc, 0, f"run exit status ({r})")
    sid = d.session_id(r.name)
    check(not d.records(session=sid, type="session_end"),
          "session ended while a detached (setsid, double-forked) descendant still runs")
    start = d.session_start(sid)
    wait_until(out.exists, 15, "the detached descendant to run")
    cg = [ln[3:].strip() for ln in out.read_text().splitlines() if ln.startswith("0::")][0]
    eq(cg, cgroup_rel(start["cgroup"]), "cgroup of the detached descendant")
    end = d.wait_session_end(sid)
    ex = find_one(d.records(session=sid, type="exec"), lambda x: argv_of(x) == [
        b"/bin/true", m.encode()], "exec of the detached /bin/true", d.dump(session=sid))
    check(ex["seq"] < end["seq"], "the descendant's exec is recorded before session_end")


def test_run_as_user(t):
    d = t.daemon()
    out = t.tmp / "user.json"
    go = t.tmp / "user.go"
    go.write_text("")
    script = t.write("user.py", WAIT_SCRIPT)
    os.chmod(t.tmp, 0o777)
    r = d.run([PY, str(script), str(out), str(go)], user="nobody")
    eq(r.rc, 0, f"run --user nobody ({r})")
    res = json.loads(out.read_text())
    eq(res["uid"], 65534, "uid of the command run --user nobody")
    sid = d.finished_session(r)
    eq(d.session_start(sid).get("user"), "nobody", "session_start user")
    ex = find_one(d.records(session=sid, type="exec"), lambda x: B(x["filename"]) ==
                  PY.encode(), "exec of python", d.dump(session=sid))
    eq(ex["uid"], 65534, "uid in the exec record")


def test_nested_run_refused(t):
    d = t.daemon()
    m = rand_marker("nested")
    inner = rand_marker("inner")
    r = d.run([str(BIN_CLI), "--socket", d.sock, "run", "--scope", "staging", "--name", inner,
               "--", "/bin/true", m])
    check(r.rc != 0, f"scopelock run inside a session must fail: {r}")
    check(re.search(r"refus|not permitted|denied|not allowed", r.stderr, re.I)
          and re.search(r"session", r.stderr, re.I),
          f"the error must say a session may not create sessions: {r.stderr!r}")
    sid = d.finished_session(r)
    check(not [x for x in d.records(type="session_start") if x.get("name") == inner],
          "a nested session was created")
    starts = d.records(type="session_start")
    eq(len(starts), 1, "session_start records in the log")
    for x in d.records(type="exec"):
        if argv_of(x) == [b"/bin/true", m.encode()]:
            fail(f"the nested command ran: {short(x)}")
    # the outer session itself is recorded (its exec of the CLI)
    find_one(d.records(session=sid, type="exec"), lambda x: B(x["filename"]) ==
             str(BIN_CLI).encode(), "exec of the inner scopelock CLI", d.dump(session=sid))


def test_status_json(t):
    d = t.daemon()
    st = d.status()
    for k, typ in (("sessions", list), ("loss", dict), ("tls", dict), ("features", list)):
        check(isinstance(st.get(k), typ), f"status --json: {k!r} missing or not {typ}: "
              f"{json.dumps(st)[:800]}")
    # per-op counts: "stats" in the e2e brief, "events" in the daemon
    counts = st.get("stats", st.get("events"))
    check(isinstance(counts, dict), f"status --json has no per-op counts (stats/events): "
          f"{sorted(st)}")
    check("targets" in st["tls"] and "blind_spots" in st["tls"],
          f"status tls lacks targets/blind_spots: {st['tls']!r}")
    targets = st["tls"]["targets"]
    attached = {os.path.basename(x.get("path", "")): x.get("status") for x in targets}
    check(any(k.startswith("libssl.so.3") and v == "attached" for k, v in attached.items()),
          f"status tls.targets: libssl.so.3 not attached: {attached}")
    check(any(k.startswith("libgnutls.so.30") and v == "attached" for k, v in attached.items()),
          f"status tls.targets: libgnutls.so.30 not attached: {attached}")
    eq(st["sessions"], [], "sessions of an idle daemon")
    for cause in ("ringbuf_full", "read_fault", "truncated"):
        ops = st["loss"].get(cause)
        check(isinstance(ops, dict) and "open" in ops and "exec" in ops and "tls_write" in ops,
              f"loss[{cause!r}] lacks per-op counters: {ops!r}")
    names = {f.get("name"): f for f in st["features"]}
    for need in ("prog:tracepoint", "prog:uprobe", "prog:cgroup_sock_addr", "map:ringbuf"):
        check(names.get(need, {}).get("used") is True, f"feature {need} not used: "
              f"{names.get(need)}")
    before = counts.get("exec", 0)
    r = d.run(["/bin/true"])
    eq(r.rc, 0, f"run ({r})")
    d.finished_session(r)
    st = d.status()
    counts = st.get("stats", st.get("events"))
    eq(counts.get("exec", 0) - before, 1, "status exec count after one session exec")
    r = d.cli("status")
    eq(r.rc, 0, f"human status ({r})")
    check("libssl.so.3" in r.stdout and "loss" in r.stdout,
          f"human status lacks TLS targets or loss: {r.stdout!r}")


def tail_records(r):
    recs = []
    for ln in r.stdout.splitlines():
        if not ln.strip():
            continue
        try:
            recs.append(json.loads(ln))
        except ValueError:
            fail(f"tail --json printed a non-JSON line: {ln!r}")
    return recs


def test_tail_json_session(t):
    d = t.daemon()
    ma, mb = rand_marker("taila"), rand_marker("tailb")
    ra = d.run(["/bin/true", ma])
    rb = d.run(["/bin/true", mb])
    eq((ra.rc, rb.rc), (0, 0), "both sessions ran")
    sa = d.finished_session(ra)
    d.finished_session(rb)
    logged = d.records(session=sa)
    # default: the session's 10 most recent records, exactly as logged
    r = d.cli("tail", "--json", "--session", sa, timeout=20)
    eq(r.rc, 0, f"tail --json --session (without --follow) must print and exit ({r})")
    eq(tail_records(r), logged[-10:], "tail --json --session: the session's last 10 records")
    # all of them
    r = d.cli("tail", "--json", "--session", sa, "--lines", "512", timeout=20)
    eq(r.rc, 0, f"tail --json --session --lines 512 ({r})")
    recs = tail_records(r)
    check(len(logged) < 512, f"session A has {len(logged)} records")
    eq(recs, logged, "tail --json --session --lines 512: every record of the session")
    find_one([x for x in recs if x.get("type") == "exec"],
             lambda x: argv_of(x) == [b"/bin/true", ma.encode()], "exec of session A in tail")
    check(mb not in r.stdout, "tail --session A printed session B's records")
    # human form: one line per record with the session id and the pid
    r = d.cli("tail", "--session", sa, timeout=20)
    eq(r.rc, 0, f"tail --session ({r})")
    lines = r.stdout.splitlines()
    eq(len(lines), 10, f"human tail lines: {r.stdout!r}")
    check(all(sa in ln for ln in lines), f"human tail lines without the session id: {lines}")


def test_tail_follow(t):
    d = t.daemon()
    m = rand_marker("follow")
    go = t.tmp / "follow.go"
    waiter = ("import os, sys, time\nwhile not os.path.exists(sys.argv[1]): time.sleep(0.05)\n"
              "os.execv('/bin/true', ['/bin/true', sys.argv[2]])")
    p = d.spawn([PY, "-c", waiter, str(go), m])
    sid = d.session_id(p.name)
    tail = t.popen([str(BIN_CLI), "--socket", d.sock, "tail", "--json", "--follow", "--session",
                    sid], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines, found = [], threading.Event()

    def reader():
        for ln in tail.stdout:
            x = json.loads(ln)
            lines.append(x)
            if x.get("type") == "exec" and argv_of(x) == [b"/bin/true", m.encode()]:
                found.set()
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    # following: its first line is the session's start, from the daemon's memory
    wait_until(lambda: lines or tail.poll() is not None, 10, "tail --follow's first record")
    if tail.poll() is not None:
        fail(f"tail --follow exited early ({tail.returncode}): {tail.stderr.read()!r}")
    go.write_text("")
    eq(p.wait(30), 0, "the session's exit status")
    check(found.wait(15), f"tail --follow did not show the exec of /bin/true {m}: "
          f"{[short(x, 200) for x in lines[-5:]]}")
    wait_until(lambda: any(x.get("type") == "session_end" for x in lines), 10,
               "tail --follow to show session_end")
    for x in lines:
        eq(x.get("session"), sid, "session of a followed record")
    check(tail.poll() is None, "tail --follow exited by itself")
    os.kill(tail.pid, signal.SIGTERM)
    try:
        rc = tail.wait(10)
    except subprocess.TimeoutExpired:
        fail("tail --follow did not exit within 10s of SIGTERM while idle (no new records)")
    eq(rc, 0, f"tail --follow exit status after SIGTERM (stderr {tail.stderr.read()!r})")


def test_daemon_sigterm_cleanup(t):
    d = t.daemon()
    r = d.run(["/bin/true"])
    eq(r.rc, 0, f"run ({r})")
    d.finished_session(r)
    audit = os.path.join(d.audit, "audit.jsonl")
    eq(oct(os.stat(audit).st_mode & 0o777), oct(0o600), "mode of audit.jsonl")
    eq(oct(os.stat(d.audit).st_mode & 0o777), oct(0o700), "mode of the audit dir")
    # SIGTERM (systemctl stop) keeps the enforcement pinned; the harness detaches after
    os.kill(d.proc.pid, signal.SIGTERM)
    eq(d.proc.wait(30), 0, "scopelockd exit status on SIGTERM\n" + d.log_tail())
    eq(d.records(type="daemon_stop")[-1].get("enforcement"), "kept", "daemon_stop on SIGTERM")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM\n" + d.log_tail())
    eq(d.leftover_cgroups, [], "cgroups the daemon left behind after SIGTERM")
    check(not os.path.exists(d.sock), f"control socket {d.sock} left behind")
    r = cli("--socket", d.sock, "status")
    check(r.rc != 0, f"status must fail once the daemon is gone: {r}")


def test_second_instance_refused_side_by_side_ok(t):
    d1 = t.daemon()
    d2 = Daemon(t, sock=d1.sock, state=d1.state)
    log = open(d2.logfile, "wb")
    p = t.popen(d2.argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        rc = p.wait(15)
    except subprocess.TimeoutExpired:
        fail("a second scopelockd on the same socket/state dir is still running after 15s")
    check(rc != 0, "a second scopelockd on the same socket/state dir must exit non-zero")
    eq(d1.cli("status").rc, 0, "the first daemon still answers")
    # a daemon with its own paths runs side by side; each logs only its sessions
    d3 = t.daemon()
    m1, m3 = rand_marker("one"), rand_marker("three")
    r1, r3 = d1.run(["/bin/true", m1]), d3.run(["/bin/true", m3])
    eq((r1.rc, r3.rc), (0, 0), "sessions on both daemons")
    d1.finished_session(r1)
    d3.finished_session(r3)
    log1, log3 = b"\n".join(d1.raw_lines()), b"\n".join(d3.raw_lines())
    check(m1.encode() in log1 and m3.encode() not in log1, "daemon 1 logs only its session")
    check(m3.encode() in log3 and m1.encode() not in log3, "daemon 3 logs only its session")


def test_cli_errors(t):
    none = str(t.tmp / "no-daemon.sock")
    r = cli("--socket", none, "run", "--scope", "staging", "--allow-root", "--", "/bin/true")
    check(r.rc != 0, f"run without a daemon must fail: {r}")
    check(none in r.stderr and re.search(r"not running|no such file|connect", r.stderr, re.I),
          f"the error must name the socket and say the daemon is not running: {r.stderr!r}")
    r = cli("--socket", none, "status")
    check(r.rc != 0, f"status without a daemon must fail: {r}")
    d = t.daemon()
    user = rand_marker("nouser")
    r = d.run(["/bin/true"], user=user)
    check(r.rc != 0, f"run --user {user} must fail: {r}")
    check(user in r.stderr and re.search(r"unknown|no such user|not found", r.stderr, re.I),
          f"the error must name the unknown user: {r.stderr!r}")
    r = d.cli("run", "--scope", "staging", "--")
    check(r.rc != 0, f"run without a command must fail: {r}")
    check(re.search(r"command", r.stderr, re.I), f"the error must say the command is missing: "
          f"{r.stderr!r}")
    eq(d.records(type="session_start"), [], "failed runs created no session")
