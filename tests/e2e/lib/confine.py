# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Helpers of the confinement tests (issue 6, "sessions cannot reach outside
themselves"): the probe program (confine_probe.c, built with gcc into the
test's directory), an outside target process of the same unprivileged user as
the session, and the confine_refused records.

Sessions and targets run as AGENT (nobody), an unprivileged user: what is
tested is what the kernel lets an ordinary agent do to the same user's
processes outside its session. The controls run the same probe as the same
user outside any session, where it must succeed.
"""

import os
import re
import subprocess
from pathlib import Path

from harness import check, eq, fail, rand_marker, short, wait_until

LIB = Path(__file__).resolve().parent
AGENT = "nobody"
AGENT_UID = 65534
AGENT_GROUP = "nogroup"
GCC = "/usr/bin/gcc"
SETPRIV = "/usr/bin/setpriv"


def build_probe(t):
    """gcc confine_probe.c into the test's directory (mode 0755: the agent
    user runs it). Returns its path."""
    for path, pkg in ((GCC, "gcc"), (SETPRIV, "util-linux")):
        if not os.access(path, os.X_OK):
            fail(f"{path} is missing: install the Debian package '{pkg}'")
    out = t.tmp / "confine_probe"
    p = subprocess.run([GCC, "-O1", "-Wall", "-Werror", "-o", str(out),
                        str(LIB / "confine_probe.c"), "-lpthread"],
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, f"gcc confine_probe.c failed: {p.stderr.decode(errors='replace')}")
    os.chmod(out, 0o755)
    return str(out)


def agent_dir(t):
    """A directory the agent user can write to (sticky, world-writable)."""
    d = t.tmp / "agent"
    d.mkdir(exist_ok=True)
    os.chmod(d, 0o1777)
    return d


def as_agent(argv):
    """argv run as the agent user (real, effective and saved ids, no
    supplementary groups), through exec: the process is dumpable, as a
    process the user started would be."""
    return [SETPRIV, f"--reuid={AGENT}", f"--regid={AGENT_GROUP}", "--clear-groups",
            "--"] + [str(a) for a in argv]


class Outcome:
    """The probe's one line: ok (with data) or err ENAME."""

    def __init__(self, r):
        self.r = r
        lines = r.stdout.strip().splitlines()
        self.line = lines[-1] if lines else ""
        self.ok = self.line == "ok" or self.line.startswith("ok ")
        self.data = self.line[3:] if self.line.startswith("ok ") else ""
        m = re.fullmatch(r"err (E[A-Z0-9]+)", self.line)
        self.errno = m.group(1) if m else None

    def __repr__(self):
        return f"probe said {self.line!r} ({self.r})"


def expect_ok(o, what):
    check(o.ok, f"{what}: expected success, {o}")


def expect_err(o, name, what):
    check(o.errno == name, f"{what}: expected {name}, {o}")


def in_session(d, probe, *args, user=AGENT, scope="staging"):
    """Run the probe in a new session as user; returns (Outcome, session id)
    once the session has ended (its records are in the log)."""
    r = d.run([probe] + [str(a) for a in args], user=user, scope=scope)
    sid = d.finished_session(r)
    return Outcome(r), sid


def outside(t, probe, *args):
    """The same probe as the agent user, outside any session."""
    return Outcome(t.outside(as_agent([probe] + list(args))))


class Target:
    """A process of the agent user outside any session: a marker string in
    its memory, a secret file open on a descriptor."""

    MARKER = b"SCOPELOCK-MARKER-UNTOUCHED"

    def __init__(self, t, probe):
        adir = agent_dir(t)
        self.secret_text = rand_marker("outside-secret")
        self.secret = t.write(f"{rand_marker('secret')}.txt", self.secret_text + "\n", 0o644)
        state = adir / f"{rand_marker('target')}.state"
        self.proc = t.popen(as_agent([probe, "target", state, self.secret]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def ready():
            if self.proc.poll() is not None:
                fail(f"the outside target exited with {self.proc.returncode}")
            try:
                parts = state.read_text().split()
            except OSError:
                return None
            return parts if len(parts) == 3 else None
        pid, addr, fd = wait_until(ready, 10, "the outside target's state file")
        self.pid, self.addr, self.fd = int(pid), addr, int(fd)
        eq(self.pid, self.proc.pid, "target pid (setpriv execs the probe)")

    def memory(self, n=None):
        """The marker's bytes in the target, read as root from /proc/PID/mem."""
        with open(f"/proc/{self.pid}/mem", "rb") as f:
            f.seek(int(self.addr, 16))
            return f.read(n or len(self.MARKER))

    def status(self, field):
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
        return None

    def check_untouched(self, what):
        check(self.proc.poll() is None, f"{what}: the outside target died")
        eq(self.memory(), self.MARKER, f"{what}: the outside target's memory")
        eq(self.status("TracerPid"), "0", f"{what}: TracerPid of the outside target")
        check(self.status("State")[0] in "SR",
              f"{what}: the outside target is {self.status('State')!r}, not running/sleeping")


def refusals(d, sid, syscall=None):
    recs = d.records(session=sid, type="confine_refused")
    return [r for r in recs if syscall is None or r.get("syscall") == syscall]


def one_refusal(d, sid, syscall, what):
    """The one confine_refused record of syscall in session sid, with the
    members every refusal carries checked."""
    recs = refusals(d, sid, syscall)
    check(len(recs) == 1, f"{what}: expected one confine_refused record for {syscall}, "
          f"got {len(recs)}:\n{d.dump(session=sid)}")
    rec = recs[0]
    eq(rec.get("errno"), 1, f"{what}: errno of {short(rec)}")
    eq(rec.get("error"), "EPERM", f"{what}: error of {short(rec)}")
    eq(rec.get("uid"), AGENT_UID, f"{what}: uid of {short(rec)}")
    check(isinstance(rec.get("pid"), int) and rec["pid"] > 0, f"{what}: pid of {short(rec)}")
    check(isinstance(rec.get("reason"), str) and rec["reason"], f"{what}: reason {short(rec)}")
    return rec


def check_target_refusal(d, sid, syscall, target, what):
    rec = one_refusal(d, sid, syscall, what)
    eq(rec.get("confine"), "ptrace", f"{what}: confine key")
    eq(rec.get("target_pid"), target.pid, f"{what}: target_pid")
    eq(rec.get("target_uid"), AGENT_UID, f"{what}: target_uid")
    check(isinstance(rec.get("target_cgroup"), str), f"{what}: target_cgroup {short(rec)}")
    eq(rec.get("target_session"), None, f"{what}: target_session (outside every session)")
    check("outside the session" in rec.get("reason", ""), f"{what}: reason {short(rec)}")
    return rec


def write_policy(t, name, envs_yaml):
    """A policy file with the given environments block (YAML text, indented
    under `environments:`)."""
    return t.write(name, "version: 1\nsettings:\n  syslog: false\nenvironments:\n"
                   + envs_yaml)
