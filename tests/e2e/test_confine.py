# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Sessions cannot reach outside themselves (issue 6): the policy's per-scope
opt-out, sessions as root (--allow-root), fail-closed when scopelockd is gone
or the filter cannot be installed, what still works inside a confined session
(threads, processes, a debugger), a requester without CAP_SYS_ADMIN
(no_new_privs), and `scopelock status` telling what is used.

The attacks themselves, one per file, are in tests/adversarial/."""

import json
import os
import signal
import socket
import subprocess

from harness import BIN_CLI, PY, check, eq, rand_marker, short, wait_until
from confine import (AGENT, AGENT_UID, Target, agent_dir, as_agent, build_probe,
                     check_target_refusal, expect_err, expect_ok, in_session, one_refusal,
                     refusals, write_policy)

NO_RULES = """\
  production:
    paths: ["/nonexistent-prod/**"]
  staging: {}
"""


def test_confine_optout_ptrace(t):
    """confine: {ptrace: false}: the scope's sessions may ptrace and write the
    memory of outside processes (not recorded: the daemon is not asked), user
    namespaces stay refused; another scope of the same policy stays confined."""
    policy = write_policy(t, "policy.yaml", NO_RULES + "  debug:\n    confine: {ptrace: false}\n")
    d = t.daemon(policy=str(policy))
    probe = build_probe(t)
    target = Target(t, probe)

    o, sid = in_session(d, probe, "ptrace-attach", target.pid, target.addr, scope="debug")
    expect_ok(o, "ptrace of an outside process in a scope with confine.ptrace false")
    o, sid2 = in_session(d, probe, "vm-write", target.pid, target.addr, "WRITTEN-OPTED-OUT",
                         scope="debug")
    expect_ok(o, "process_vm_writev in a scope with confine.ptrace false")
    eq(target.memory(17), b"WRITTEN-OPTED-OUT", "the opted-out session wrote the target")
    for s in (sid, sid2):
        eq(refusals(d, s), [], "confine_refused records of the opted-out scope")
        eq(d.session_start(s).get("confine"), {"ptrace": False, "userns": True},
           "session_start confine")
        conf = d.records(session=s, type="session_confined")
        eq(len(conf), 1, "session_confined records")
        eq((conf[0].get("ptrace"), conf[0].get("userns"), conf[0].get("landlock_abi")),
           (False, True, 0), f"session_confined {short(conf[0])}")

    o, sid = in_session(d, probe, "unshare-user", scope="debug")
    expect_err(o, "EPERM", "unshare(CLONE_NEWUSER) in the opted-out scope (userns confined)")
    one_refusal(d, sid, "unshare", "unshare in the debug scope")

    o, sid = in_session(d, probe, "ptrace-attach", target.pid, scope="staging")
    expect_err(o, "EPERM", "ptrace from the staging scope of the same policy")
    check_target_refusal(d, sid, "ptrace", target, "staging ptrace")
    eq(d.session_start(sid).get("confine"), {"ptrace": True, "userns": True},
       "session_start confine of staging")


def test_confine_optout_both(t):
    """confine: {ptrace: false, userns: false}: no filter at all, nothing
    supervised; unshare -Ur works in the session. A scope the policy does not
    know is confined in every way."""
    policy = write_policy(t, "policy.yaml",
                          NO_RULES + "  lab:\n    confine: {ptrace: false, userns: false}\n")
    d = t.daemon(policy=str(policy))
    probe = build_probe(t)
    target = Target(t, probe)
    r = d.run(["/usr/bin/unshare", "-Ur", "/usr/bin/id", "-u"], user=AGENT, scope="lab")
    sid = d.finished_session(r)
    eq((r.rc, r.stdout.strip()), (0, "0"), f"unshare -Ur in the lab scope: {r}")
    eq(d.records(session=sid, type="session_confined"), [], "no filter in the lab scope")
    expect_ok(in_session(d, probe, "ptrace-attach", target.pid, scope="lab")[0],
              "ptrace in the lab scope")

    o, sid = in_session(d, probe, "unshare-user", scope="not-in-the-policy")
    expect_err(o, "EPERM", "unshare in a scope the policy does not know")
    eq(d.session_start(sid).get("confine"), {"ptrace": True, "userns": True},
       "confinement of an unknown scope")


def test_run_as_root_refused(t):
    """A session as root is refused unless asked for with --allow-root (by the
    CLI, and by the daemon for a request that does not say allow_root); with
    it the session runs as root, still confined, and session_start says so."""
    d = t.daemon()
    marker = t.tmp / rand_marker("root-ran")
    for extra in ([], ["--user", "root"]):
        name = rand_marker("root")
        r = d.cli("run", "--scope", "staging", "--name", name, *extra, "--", "/usr/bin/touch",
                  str(marker))
        eq(r.rc, 2, f"run as root without --allow-root ({extra}): {r}")
        check("--allow-root" in r.stderr and "root" in r.stderr,
              f"the error says why and how: {r.stderr!r}")
        check(not marker.exists(), "the command ran")
        eq([s for s in d.records(type="session_start") if s.get("name") == name], [],
           "session_start of a refused root session")

    # the daemon checks too: a request for root without allow_root
    child = subprocess.Popen(["/bin/sleep", "60"], stdin=subprocess.DEVNULL)
    t.on_cleanup(lambda: (child.kill(), child.wait()))
    pidfd = os.pidfd_open(child.pid)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.connect(d.sock)
            req = {"op": "run", "scope": "staging", "user": "root", "argv": ["/bin/sleep"]}
            socket.send_fds(s, [json.dumps(req).encode()], [pidfd])
            reply = json.loads(s.recv(65536))
    finally:
        os.close(pidfd)
    check(reply.get("ok") is False and "allow_root" in reply.get("error", ""),
          f"the daemon refuses a root session without allow_root: {reply}")

    probe = build_probe(t)
    r = d.run([probe, "unshare-user"], allow_root=True)
    sid = d.finished_session(r)
    eq(r.stdout.strip(), "err EPERM", f"a root session is still confined: {r}")
    start = d.session_start(sid)
    eq((start.get("user"), start.get("uid"), start.get("allow_root")), ("root", 0, True),
       "session_start of a root session")
    recs = refusals(d, sid, "unshare")
    eq(len(recs), 1, "the root session's refusal is recorded")
    eq(recs[0].get("uid"), 0, "uid of the root session's refusal")


def test_confine_fails_closed_without_daemon(t):
    """When scopelockd stops, the listeners close: the filtered calls of
    sessions still running fail with ENOSYS instead of going through."""
    d = t.daemon()
    probe = build_probe(t)
    target = Target(t, probe)
    adir = agent_dir(t)
    go = adir / rand_marker("go")
    out = adir / rand_marker("out")
    ready = adir / rand_marker("ready")
    # the probe runs once while the daemon is there: a session's exec of a file
    # no daemon has analysed waits for one (the TLS gate stays closed)
    script = t.write("after-daemon.sh", f"""#!/bin/sh
"{probe}" > /dev/null 2>&1; mv --version > /dev/null; sleep 0; : > "{ready}"
while [ ! -e "{go}" ]; do sleep 0.05; done
{{ "{probe}" unshare-user; "{probe}" ptrace-attach {target.pid}; \
"{probe}" child ptrace-attach "{target.secret}"; }} > "{out}.tmp"
mv "{out}.tmp" "{out}"
""", 0o755)
    p = d.spawn([str(script)], user=AGENT, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
    sid = d.session_id(p.name)
    wait_until(lambda: d.records(session=sid, type="session_confined"), 10,
               "the session to be confined")
    wait_until(ready.exists, 30, "the session's programs run once with the daemon there")
    os.kill(d.proc.pid, signal.SIGTERM)
    eq(d.proc.wait(30), 0, "scopelockd exit status after SIGTERM")
    go.write_text("")
    lines = wait_until(lambda: out.exists() and out.read_text().splitlines(), 15,
                       "the session's probes after the daemon stopped")
    eq(lines, ["err ENOSYS", "err ENOSYS", "err ENOSYS"],
       "unshare, outside and inside ptrace with no supervisor")
    target.check_untouched("after the daemon stopped")
    eq(p.wait(15), 0, "scopelock run of the session")


def test_confine_fails_closed_when_filter_cannot_be_installed(t):
    """If the session's process cannot install its filter, the command never
    runs: scopelock run exits 125 with the reason, the session ends."""
    d = t.daemon()
    probe = build_probe(t)
    marker = agent_dir(t) / rand_marker("ran")
    name = rand_marker("nofilter")
    argv = [probe, "deny-seccomp", str(BIN_CLI), "--socket", d.sock, "run", "--scope",
            "staging", "--user", AGENT, "--name", name, "--", "/usr/bin/touch", str(marker)]
    r = t.outside(argv)
    eq(r.rc, 125, f"run when seccomp(2) fails: {r}")
    check("cannot confine the session" in r.stderr and "seccomp" in r.stderr,
          f"the error names what failed: {r.stderr!r}")
    check(not marker.exists(), "the command ran although the session was not confined")
    sid = d.session_id(name)
    d.wait_session_end(sid)
    eq(d.records(session=sid, type="session_confined"), [], "session_confined")
    eq(d.records(session=sid, type="exec"), [], "execs in the unconfined session")


def test_confine_keeps_work_inside(t):
    """In a confined session threads (clone3 -> clone fallback), child
    processes, python and node work; a debugger attaches to the session's own
    processes; status reports the session's confinement and its refusals."""
    d = t.daemon()
    probe = build_probe(t)
    adir = agent_dir(t)
    py = ("import threading, subprocess, concurrent.futures as cf\n"
          "with cf.ThreadPoolExecutor(4) as ex:\n"
          "    assert sum(ex.map(lambda i: i, range(100))) == 4950\n"
          "print(subprocess.run(['/bin/echo', 'spawned'], capture_output=True, "
          "text=True).stdout.strip())\n")
    r = d.run([PY, "-c", py], user=AGENT)
    eq((r.rc, r.stdout.strip()), (0, "spawned"), f"python threads and subprocess: {r}")
    d.finished_session(r)
    if os.access("/usr/bin/node", os.X_OK):
        js = ("const {Worker} = require('worker_threads');"
              "new Worker('process.exit(0)', {eval: true}).on('exit', c => "
              "console.log('worker', c));")
        r = d.run(["/usr/bin/node", "-e", js], user=AGENT, env=dict(os.environ, HOME=str(adir)))
        eq((r.rc, r.stdout.strip()), (0, "worker 0"), f"node worker thread: {r}")
    inside = t.write("inside.txt", "inside\n")
    for op in ("ptrace-attach", "ptrace-seize", "vm-read", "getfd"):
        expect_ok(in_session(d, probe, "child", op, inside)[0], f"{op} inside the session")

    target = Target(t, probe)
    go = adir / rand_marker("go")
    script = t.write("status.sh", f"""#!/bin/sh
"{probe}" ptrace-attach {target.pid}
while [ ! -e "{go}" ]; do sleep 0.05; done
""", 0o755)
    p = d.spawn([str(script)], user=AGENT, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
    sid = d.session_id(p.name)
    wait_until(lambda: refusals(d, sid), 10, "the refusal of the running session")
    st = d.status()
    sess = [s for s in st["sessions"] if s.get("session") == sid]
    eq(len(sess), 1, "the session in status")
    conf = sess[0].get("confine") or {}
    eq((conf.get("ptrace"), conf.get("userns"), conf.get("supervised"), conf.get("refused")),
       (True, True, True, 1), f"status confine {conf}")
    check(conf.get("landlock_abi", 0) >= 6, f"landlock_abi in status {conf}")
    go.write_text("")
    eq(p.wait(15), 0, "the status session")
    r = d.cli("status")
    check("seccomp:user_notif" in r.stdout and "landlock" in r.stdout,
          f"status lists the confinement features: {r.stdout[:2000]}")
    r = d.cli("tail", "--session", sid, "-n", "500")
    check(f"CONFINE REFUSED ptrace PTRACE_ATTACH of pid {target.pid} (" in r.stdout
          and "the target is outside the session" in r.stdout
          and "SESSION CONFINED: ptrace userns" in r.stdout,
          f"tail shows the confinement and the refusal: {r.stdout[-3000:]}")


def test_status_features_tell_what_is_used(t):
    """helper:send_signal is used while the policy has an enforcing kill or
    freeze rule (the default policy has), not otherwise; the confinement
    features are listed as used."""
    def feats(d):
        return {f["name"]: f for f in d.status()["features"]}

    f = feats(t.daemon())
    eq((f["helper:send_signal"]["available"], f["helper:send_signal"]["used"]), (True, True),
       "send_signal with the default policy (kill rules)")
    eq(f["seccomp:user_notif"]["used"], True, "seccomp:user_notif used")
    eq(f["landlock"]["used"], f["landlock"]["available"], "landlock used when available")

    monitor = write_policy(t, "monitor.yaml", NO_RULES + """\
rules:
  - name: open-production
    channel: open
    target: outside_scope
    action: kill
    monitor: true
""")
    d2 = t.daemon(policy=str(monitor))
    f = feats(d2)
    eq((f["helper:send_signal"]["available"], f["helper:send_signal"]["used"]), (True, False),
       "send_signal with only a monitor-mode kill rule")
    start = d2.records(type="daemon_start")
    eq(len(start), 1, "daemon_start")
    sig = [x for x in start[0]["features"] if x["name"] == "helper:send_signal"]
    eq(sig[0]["used"], False, "daemon_start record: send_signal not used")


def test_confine_requester_without_cap_sys_admin(t):
    """A member of the socket group runs a session as itself: its process
    confines itself with no_new_privs (the kernel wants it without
    CAP_SYS_ADMIN), and is confined like any other."""
    d = t.daemon(extra=["--socket-group", "nogroup"])
    os.chmod(d.base, 0o755)
    probe = build_probe(t)
    target = Target(t, probe)
    name = rand_marker("member")
    r = t.outside(as_agent([BIN_CLI, "--socket", d.sock, "run", "--scope", "staging", "--name",
                            name, "--", "/bin/sh", "-c",
                            f'grep NoNewPrivs /proc/self/status; "{probe}" ptrace-attach '
                            f'{target.pid}']))
    sid = d.session_id(name)
    d.wait_session_end(sid)
    eq(r.rc, 1, f"the session's last command (a refused ptrace) fails: {r}")
    lines = r.stdout.split("\n")
    check("NoNewPrivs:\t1" in lines, f"no_new_privs in the session: {r.stdout!r}")
    check("err EPERM" in lines, f"ptrace refused: {r.stdout!r}")
    start = d.session_start(sid)
    eq((start.get("user"), start.get("requester_uid")), (AGENT, AGENT_UID), "requester")
    conf = d.records(session=sid, type="session_confined")
    eq(len(conf), 1, "session_confined")
    eq(conf[0].get("no_new_privs"), True, f"session_confined {short(conf[0])}")
    check_target_refusal(d, sid, "ptrace", target, "member's session")
