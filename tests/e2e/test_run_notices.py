# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""What `scopelock run` tells its terminal about the session is written by
scopelock, not by the agent: the fields of a notice the agent chose (the
program's name, its target) reach the terminal without control characters,
so an agent cannot erase or forge the lines (ESC sequences, a carriage
return, a newline followed by a `scopelock: APPROVED` of its own)."""

import os
import shutil
import subprocess

from harness import KILLED, check, eq, rand_marker

FORGED = "scopelock: APPROVED"
# a program name (its comm, 15 bytes) that erases the line above and starts a new one
NAME = "\x1b[1A\x1b[2K\r\nok"


def test_run_notice_control_characters(t):
    d = t.daemon()
    bindir = t.tmp / "bin"
    bindir.mkdir()
    prog = bindir / NAME
    shutil.copy("/bin/echo", prog)
    os.chmod(prog, 0o755)
    marker = rand_marker("nt")
    flag = t.tmp / "done"
    # sql_drop_cli on exec (a SQL client named in the argv), no label on the target: an
    # alert (destroy-cli-unknown-target); the session then waits until the test saw the
    # alert in the log
    script = ('"$1" psql "$2"; i=0; while [ ! -e "$3" ] && [ $i -lt 600 ]; do sleep 0.05; '
              'i=$((i+1)); done')
    p = d.spawn(["/bin/sh", "-c", script, "sh", str(prog),
                 f"drop table {marker}\r\n{FORGED}: hold h1 by root\x1b[2K", str(flag)],
                stderr=subprocess.PIPE)
    sid = d.session_id(p.name)
    d.wait_record(lambda r: r.get("type") == "alert" and marker in str(r), timeout=20,
                  what="the alert", session=sid)
    flag.touch()
    err = p.communicate(timeout=60)[1].decode("utf-8", "replace")
    eq(p.returncode, 0, f"the session's exit status ({err!r})")
    alerts = [a for a in d.records(session=sid, type="alert") if marker in str(a)]
    check(any("\x1b" in str(v) for a in alerts for v in a.values()),
          f"control: the agent's control characters are in the record {alerts}")
    check([x for x in err.split("\n") if x.startswith("scopelock: ALERT")],
          f"control: the launcher printed the alert: {err!r}")
    check("\x1b" not in err and "\r" not in err,
          f"control characters from the agent reached the terminal: {err!r}")
    check(not any(x.startswith(FORGED) or x.startswith("ok") for x in err.split("\n")),
          f"the agent started a line of its own on the terminal: {err!r}")
    # the launcher exited with its command, before session_end: not a launcher that lags
    d.wait_session_end(sid)
    log = open(d.logfile, errors="replace").read()
    check("is not reading its notices" not in log,
          "the daemon calls a launcher that exited one that does not read its notices")


def test_run_killed_at_first_exec_says_so(t):
    """The command itself is killed at its exec (rm -r of a production path from
    a staging session): the launcher must learn it even though the kill comes
    before the command ran a single instruction, so it exits 123 naming the
    rule, not 137 (a SIGKILL of unknown origin). Control: outside a session
    the same command exits 0 (the path does not exist: nothing is removed)."""
    d = t.daemon()
    target = f"/srv/production/{rand_marker('sl-e2e-absent')}"
    check(not os.path.exists(target), f"{target} must not exist")
    eq(t.outside(["rm", "-rf", target]).rc, 0, "control: rm -rf outside a session")
    for i in range(5):
        r = d.run(["rm", "-rf", target])
        eq(r.rc, KILLED, f"run {i}: exit status of the session killed at its first exec ({r})")
        check("KILLED: rule 'remove-outside-scope'" in r.stderr,
              f"run {i}: the launcher names the rule: {r.stderr!r}")


def test_run_notify_desktop(t):
    """--notify-desktop: the kill is also a desktop notification, through
    notify-send found on the launcher's PATH (a recording stand-in here, on a
    stand-in D-Bus address). Controls: without the option notify-send is
    never run; with it but no desktop session, the terminal says so once and
    the session is told as usual."""
    d = t.daemon()
    target = f"/srv/production/{rand_marker('sl-e2e-absent')}"
    check(not os.path.exists(target), f"{target} must not exist")
    bindir = t.tmp / "fakebin"
    bindir.mkdir()
    calls = t.tmp / "notify-send.calls"
    fake = bindir / "notify-send"
    fake.write_text("#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done >> "
                    f"{calls}\necho --- >> {calls}\n")
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
               DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent-sl-e2e")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)

    # control: without --notify-desktop nothing is run
    r = d.run(["rm", "-rf", target], env=env)
    eq(r.rc, KILLED, f"exit status of the killed session ({r})")
    check(not calls.exists(), "notify-send ran without --notify-desktop")

    r = d.cli("run", "--scope", "staging", "--allow-root", "--notify-desktop", "--", "rm", "-rf", target,
              env=env, timeout=120)
    eq(r.rc, KILLED, f"exit status of the killed session with --notify-desktop ({r})")
    check("KILLED: rule 'remove-outside-scope'" in r.stderr, f"the terminal notice: {r.stderr!r}")
    text = calls.read_text() if calls.exists() else ""
    check("--urgency=critical" in text and "scopelock: session KILLED" in text
          and "remove-outside-scope" in text,
          f"the desktop notification (notify-send arguments): {text!r}")

    # no desktop session: said once on the terminal, nothing run
    calls.unlink()
    env.pop("DBUS_SESSION_BUS_ADDRESS")
    r = d.cli("run", "--scope", "staging", "--allow-root", "--notify-desktop", "--", "rm", "-rf", target,
              env=env, timeout=120)
    eq(r.rc, KILLED, f"exit status without a desktop session ({r})")
    eq(r.stderr.count("no desktop session here"), 1, f"said once: {r.stderr!r}")
    check(not calls.exists(), "notify-send ran without a desktop session")
