# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The system-call tracepoints are attached only while a session exists
(docs/operations.md, "What processes outside sessions pay"): what the kernel
says about a daemon's tracepoints, the pins of its instance, and a policy that
labels a directory production and alerts when a staging session opens it."""

import json
import subprocess
from pathlib import Path

from enforce import policy_text, start_daemon, write_policy
from harness import check, eq, wait_until


def kernel_tracepoints(pid):
    """The tracepoints the process pid holds BPF programs on, as the kernel
    reports them (`bpftool perf list`: BPF_TASK_FD_QUERY on each of its
    descriptors): {name: count}."""
    r = subprocess.run(["bpftool", "--json", "perf", "list"], capture_output=True, timeout=60)
    eq(r.returncode, 0, f"bpftool perf list: {r.stderr!r}")
    out = {}
    for x in json.loads(r.stdout or b"[]"):
        if x.get("pid") == pid and x.get("tracepoint"):
            out[x["tracepoint"]] = out.get(x["tracepoint"], 0) + 1
    return out


def syscall_tps(pid):
    """Of them, the system-call tracepoints (sys_enter_*, sys_exit_*)."""
    return {k: v for k, v in kernel_tracepoints(pid).items() if k.startswith("sys_")}


def pinned_syscall_links(pin_dir):
    """The names of the system-call tracepoint links pinned in the instance's
    links/ directory that the kernel knows as live links."""
    names = []
    links = Path(pin_dir, "links")
    if not links.is_dir():
        return names
    for p in links.iterdir():
        r = subprocess.run(["bpftool", "--json", "link", "show", "pinned", str(p)],
                           capture_output=True, timeout=30)
        if r.returncode != 0:
            continue
        prog = json.loads(r.stdout).get("prog_id")
        r = subprocess.run(["bpftool", "--json", "prog", "show", "id", str(prog)],
                           capture_output=True, timeout=30)
        if r.returncode == 0 and json.loads(r.stdout).get("type") == "tracepoint" and \
                p.name != "sl_exit":
            names.append(p.name)
    return names


def status_sys(d):
    return d.status().get("syscall_tracepoints") or {}


def wait_detached(d, timeout=20):
    """status says detached and the worker is done; the kernel agrees: the
    daemon holds no system-call tracepoint (but its other tracepoints: the
    check is not blind)."""
    wait_until(lambda: not status_sys(d).get("attached") and not status_sys(d).get("detaching"),
               timeout, "status: syscall tracepoints detached")
    wait_until(lambda: not syscall_tps(d.proc.pid), timeout,
               "the kernel: no system-call tracepoint of the daemon")
    tps = kernel_tracepoints(d.proc.pid)
    check("sched_process_exit" in tps and "sched_process_exec" in tps,
          f"the daemon's scheduler tracepoints are attached all the time: {tps}")


def check_attached(d, sessions):
    """status and the kernel: every system-call tracepoint attached, held by
    `sessions` sessions."""
    st = status_sys(d)
    check(st.get("attached") is True, f"status: syscall tracepoints attached: {st}")
    eq(st.get("sessions"), sessions, f"sessions holding them ({st})")
    tps = syscall_tps(d.proc.pid)
    for name in ("sys_exit_openat", "sys_exit_open", "sys_enter_execve", "sys_exit_execve",
                 "sys_enter_connect", "sys_exit_connect", "sys_enter_write",
                 "sys_enter_writev", "sys_enter_sendmsg", "sys_enter_mmap"):
        check(name in tps, f"the kernel: {name} attached for the daemon ({sorted(tps)})")
    eq(sum(tps.values()), st.get("links"), f"system-call tracepoints the kernel reports ({tps})")


def label_policy(t, settings=None):
    """Production: t.tmp/prod/**; an open of it by a staging session alerts."""
    envs = {"production": {"paths": [str(t.tmp / "prod") + "/**"]}, "staging": {}}
    rules = [{"name": "open-outside-scope", "channel": "open", "target": "outside_scope",
              "action": "alert"}]
    return write_policy(t, policy_text(envs, [], rules,
                                       settings={"syslog": False, **(settings or {})}))


def start_labelled(t, settings=None, **kw):
    """A daemon on label_policy and the labelled file (its path)."""
    prod = t.write("prod/secret.txt", "production secret\n", 0o644)
    return start_daemon(t, label_policy(t, settings), **kw), prod
