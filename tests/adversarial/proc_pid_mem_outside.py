# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A session process writes into a process of the same user outside the
session through /proc/PID/mem (no ptrace or process_vm system call for a
seccomp filter to see): the session's Landlock domain makes the kernel refuse
the open (EACCES), the memory is unchanged; the failed open is in the log.
Control: outside any session the same user writes the memory."""

from harness import B, Skip, blocked, check, eq
from confine import AGENT, Target, build_probe, expect_err, expect_ok, in_session, outside

EXPECT = "BLOCKED"


def test_proc_pid_mem_outside(t):
    d = t.daemon()
    feats = {f["name"]: f for f in d.status()["features"]}
    if not feats.get("landlock", {}).get("available"):
        raise Skip("Landlock with scopes (ABI 6, Linux 6.12) is not available: "
                   "/proc/PID/mem is not confined on this kernel (docs/operations.md)")
    probe = build_probe(t)
    target = Target(t, probe)
    mem = f"/proc/{target.pid}/mem".encode()

    o, sid = in_session(d, probe, "mem-write", target.pid, target.addr, "WRITTEN-BY-SESSION")
    expect_err(o, "EACCES", "open /proc/PID/mem of the outside process for writing")
    target.check_untouched("after the /proc/PID/mem attempt")
    opens = [r for r in d.records(session=sid, type="open") if B(r.get("requested")) == mem]
    check(opens and all(r.get("result") == -13 for r in opens),
          f"the refused open of {mem!r} is recorded with -EACCES:\n{d.dump(session=sid)}")

    o, sid = in_session(d, probe, "mem-read", target.pid, target.addr, "26")
    expect_err(o, "EACCES", "open /proc/PID/mem of the outside process for reading")

    expect_ok(outside(t, probe, "mem-write", target.pid, target.addr, "WRITTEN-BY-OUTSIDER"),
              f"/proc/PID/mem write by {AGENT} outside any session (control)")
    eq(target.memory(19), b"WRITTEN-BY-OUTSIDER", "the control's write reached the target")
    blocked(t, "/proc/PID/mem of an outside process: EACCES (Landlock), memory unchanged")
