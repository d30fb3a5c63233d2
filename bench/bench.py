#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""scopelock bench driver (bench/run.sh builds the workloads and calls this).

Measures, in one run on one machine, the cost of each workload loop
(open, fork+exec, TCP connect, HTTPS requests on one TLS connection, curl)
under five configurations:

  baseline     no monitor
  sl-outside   scopelockd running with no session, workload outside any session
               (the system-call tracepoints are detached: nothing to pay)
  sl-outside-busy
               scopelockd running while another (idle) session exists, workload
               outside any session: the system-call tracepoints are attached
               and every process of the host takes the slow system-call path
  sl-session   scopelockd running, workload inside a session (scopelock run)
  auditd       auditd with rules on execve/openat/connect
  snoop        libbpf-tools opensnoop + execsnoop (+ tcpconnect if it loads)
  uprobe-floor the libssl functions scopelockd hooks, probed through tracefs
               with no BPF program at all: what any uprobe costs on this
               machine (https and curl only)

Each repetition starts every monitor afresh; the order of the monitors
rotates from one repetition to the next, so slow drift of the machine is
spread over all configurations. Workloads time themselves (common.h), so
starting a session or a monitor is never counted. Then a ramp finds the
highest open rate a session can sustain with every event in the audit log
and nothing lost, and the daemon's memory is read.

Other monitors on the machine (another scopelockd, auditd, a snoop tool,
bpftrace) make every process pay for their hooks, the baseline included: the
bench waits a while for them to go away before each run and marks the runs
they overlapped; the summary uses the clean runs when there are any.

Results are ratios to be read, never assertions: this is not a test.
Everything started here is stopped by pid; audit rules, cgroups and temp
dirs are removed on success, failure and Ctrl-C.
"""

import argparse
import ctypes
import datetime
import gzip
import io
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
BUILD = RESULTS / ".build"
DAEMON = REPO / "bin" / "scopelockd"
CLI = REPO / "bin" / "scopelock"
POLICY = REPO / "policies" / "default.yaml"
CLK_TCK = os.sysconf("SC_CLK_TCK")

CONFIGS = ["baseline", "sl-outside", "sl-outside-busy", "sl-session", "auditd", "snoop",
           "uprobe-floor"]
STATES = {  # monitor state -> the configurations measured while it runs
    "none": ["baseline"],
    "scopelockd": ["sl-outside", "sl-outside-busy", "sl-session"],
    "auditd": ["auditd"],
    "snoop": ["snoop"],
    "uprobes": ["uprobe-floor"],
}
ONLY = {"uprobe-floor": ("https", "curl")}  # configurations that apply to a few workloads
# workload -> (iterations full, iterations --quick)
WORKLOADS = {
    # 100k opens fit the default 16 MiB ring buffer of a session: nothing lost
    "open": (100000, 25000),
    "exec": (2000, 500),
    "connect": (20000, 5000),
    "https": (20000, 5000),
    "curl": (20, 8),
}
AUDIT_KEY = "scopelock-bench"
AUDIT_RULE = ["-F", "arch=b64", "-S", "execve,openat,connect", "-k", AUDIT_KEY]
SNOOP_TOOLS = ["opensnoop", "execsnoop", "tcpconnect"]
LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"
# what scopelockd probes in libssl (user/daemon/tls.c): entry, and return for reads
LIBSSL_PROBES = [("SSL_write", False), ("SSL_write_ex", False), ("SSL_read", True),
                 ("SSL_read_ex", True), ("SSL_do_handshake", False), ("SSL_ctrl", False),
                 ("SSL_free", False)]
TRACEFS = Path("/sys/kernel/tracing")
# processes that watch the whole machine: while one runs, every process pays for it
FOREIGN_COMMS = {"scopelockd", "auditd", "bpftrace", "tcpconnect", "tetragon", "falco",
                 "sysdig", "perf"}


class BenchError(Exception):
    pass


class Interrupted(Exception):
    pass


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def tail(path, lines=15):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def proc_cpu_ns(pid):
    """CPU time of a process: its threads, live or exited, and its reaped children."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    # after the comm: state is fields[0]; utime=13, stime=14, cutime=15, cstime=16 (1-based)
    ticks = sum(int(x) for x in fields[11:15])
    return ticks * 1000000000 // CLK_TCK


def proc_mem_kib(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def kthread_pid(comm):
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "comm").read_text().strip() == comm:
                    return int(p.name)
            except OSError:
                continue
    return None


def foreign_monitors(ctx):
    """Monitors running on this machine that this bench did not start."""
    ours = {p.pid for p, _, _ in ctx.procs}
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) in ours:
            continue
        try:
            comm = (p / "comm").read_text().strip()
        except OSError:
            continue
        if comm in FOREIGN_COMMS or comm.endswith("snoop"):
            out.append(f"{comm}[{p.name}]")
    return sorted(out)


class Watch(threading.Thread):
    """While a run lasts: which foreign monitors showed up (sampled every 0.2 s, so a
    short-lived one is seen too) and how much CPU the rest of the machine used."""

    def __init__(self, ctx, extra_pids):
        super().__init__(daemon=True)
        self.ctx = ctx
        self.extra = extra_pids  # servers, monitors: ours, not children of this process
        self.seen = set()
        self.halt = threading.Event()

    @staticmethod
    def busy_ns():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v[i] for i in (0, 1, 2, 5, 6)) * 1000000000 // CLK_TCK  # usr nice sys irq sirq

    def ours_ns(self):
        t = os.times()
        own = (t.user + t.system + t.children_user + t.children_system) * 1e9
        return own + sum(proc_cpu_ns(p) for p in self.extra)

    def run(self):
        while not self.halt.wait(0.2):
            self.seen.update(foreign_monitors(self.ctx))

    def __enter__(self):
        self.seen.update(foreign_monitors(self.ctx))
        self.t0, self.busy0, self.ours0 = time.monotonic(), self.busy_ns(), self.ours_ns()
        self.start()
        return self

    def __exit__(self, *exc):
        self.halt.set()
        self.join()
        self.seen.update(foreign_monitors(self.ctx))
        wall = time.monotonic() - self.t0
        other = (self.busy_ns() - self.busy0) - (self.ours_ns() - self.ours0)
        self.other_cpu_frac = max(other, 0) / (wall * 1e9 * os.cpu_count())
        # ticks are 10 ms: below 30 ms of other CPU nothing can be told apart
        self.loaded = other > max(0.05 * wall * 1e9 * os.cpu_count(), 30e6)
        return False

    def disturbed(self):
        why = sorted(self.seen)
        if self.loaded:
            why.append(f"other load {self.other_cpu_frac:.0%} of the CPUs")
        return why


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            if parts[sep + 1] == "cgroup2":
                return Path(parts[4])
    return None


def run_cmd(argv, timeout=30, check=True):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if check and p.returncode:
        raise BenchError(f"{' '.join(map(str, argv))}: exit {p.returncode}: "
                         f"{(p.stderr or p.stdout).strip()}")
    return p


def wait_until(fn, timeout, interval=0.05):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > end:
            return v
        time.sleep(interval)


def pin(cpu):
    """preexec_fn running the child on one CPU (None: wherever the scheduler likes)"""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


class Ctx:
    """Temp dir and every process started here, stopped by pid in reverse order."""

    def __init__(self, keep):
        self.tmp = Path(tempfile.mkdtemp(prefix="scopelock-bench-"))
        self.keep = keep
        self.procs = []  # (Popen, name, stop signal)

    def spawn(self, argv, name, stdout=None, stderr=None, sig=signal.SIGTERM, cpu=None):
        p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                             stdout=stdout or subprocess.DEVNULL,
                             stderr=stderr or subprocess.DEVNULL, preexec_fn=pin(cpu))
        self.procs.append((p, name, sig))
        return p

    def stop(self, p, timeout=20):
        for i, (q, name, sig) in enumerate(self.procs):
            if q is p:
                del self.procs[i]
                break
        else:
            return p.returncode
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{name} (pid {p.pid}) did not stop in {timeout}s: SIGKILL")
                p.kill()
                p.wait()
        return p.returncode

    def close(self):
        while self.procs:
            self.stop(self.procs[-1][0], timeout=10)
        if self.keep:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- servers

class Servers:
    def __init__(self, ctx, cpu):
        self.ctx = ctx
        self.cpu = cpu
        d = ctx.tmp / "servers"
        d.mkdir()
        run_cmd(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", d / "key.pem", "-out",
                 d / "cert.pem", "-days", "2", "-subj", "/CN=bench.local"])
        self.pids = []
        self.tcp_port = self._start([BUILD / "tcpsink"], "tcpsink", d)
        self.tls_port = self._start([BUILD / "tlsserver", d / "cert.pem", d / "key.pem"],
                                    "tlsserver", d)
        self.target = ctx.tmp / "open-target"
        self.target.write_text("scopelock bench\n")

    def _start(self, argv, name, d):
        out = d / f"{name}.port"
        with open(out, "w") as fo, open(d / f"{name}.err", "w") as fe:
            p = self.ctx.spawn(argv, name, stdout=fo, stderr=fe, cpu=self.cpu)
        port = wait_until(lambda: out.read_text().strip() or p.poll() is not None, 10)
        if p.poll() is not None or not str(port).isdigit():
            raise BenchError(f"{name} did not start: {tail(d / f'{name}.err')}")
        self.pids.append(p.pid)
        return int(port)


# ---------------------------------------------------------------- monitors

class Monitor:
    name = "?"
    error = None  # why it cannot run here, when it cannot

    def start(self):
        pass

    def pids(self):
        """our processes whose CPU the snapshots count"""
        return []

    def stop(self):
        pass

    def snapshot(self):
        return {}

    def settle(self):
        pass

    def delta(self, a, b):
        return {k: b[k] - a[k] for k in a if isinstance(a[k], (int, float)) and k in b}


class NoMonitor(Monitor):
    name = "none"


class Scopelockd(Monitor):
    """One daemon with its own socket, state dir, audit dir and cgroup parent."""

    name = "scopelockd"
    instances = 0

    def __init__(self, ctx, scope, extra_args=()):
        self.ctx = ctx
        self.scope = scope
        self.extra = list(extra_args)
        self.proc = None
        self.mem = []

    def start(self):
        Scopelockd.instances += 1
        d = self.ctx.tmp / f"sl{Scopelockd.instances}"
        d.mkdir()
        self.dir = d
        self.sock = d / "sock"
        self.audit_dir = d / "audit"
        self.cg_name = f"scopelock-bench-{secrets.token_hex(4)}"
        self.logf = d / "daemon.log"
        # the shipped policy, with loss: drop for the bench's scope: the ramp measures
        # what the daemon writes, not how far it slows a session (the throttle step does)
        policy = self.ctx.tmp / "policy.yaml"
        if not policy.exists():
            policy.write_text(f"extends: {POLICY}\nenvironments:\n  {self.scope}:\n"
                              "    loss: drop\n")
        argv = [DAEMON, "--policy", policy, "--audit-dir", self.audit_dir, "--socket",
                self.sock, "--state-dir", d / "state", "--cgroup-parent", self.cg_name,
                *self.extra]
        with open(self.logf, "w") as f:
            self.proc = self.ctx.spawn(argv, "scopelockd", stdout=f, stderr=f)
        t0 = time.monotonic()

        def ready():
            if self.proc.poll() is not None:
                return True
            return run_cmd([CLI, "--socket", self.sock, "status"], check=False).returncode == 0

        wait_until(ready, 60, 0.1)
        if self.proc.poll() is not None:
            rc = self.proc.returncode
            self.ctx.stop(self.proc)
            self.proc = None
            raise BenchError(f"scopelockd exited with status {rc} during start-up:\n"
                             f"  {' '.join(map(str, argv))}\n{tail(self.logf)}")
        if run_cmd([CLI, "--socket", self.sock, "status"], check=False).returncode:
            raise BenchError(f"scopelockd did not answer `scopelock status` within 60s:\n"
                             f"{tail(self.logf)}")
        self.start_s = time.monotonic() - t0
        self.mem.append(("idle", proc_mem_kib(self.proc.pid)))

    def pids(self):
        return [self.proc.pid] if self.proc else []

    def status(self):
        p = run_cmd([CLI, "--socket", self.sock, "status", "--json"])
        return json.loads(p.stdout)

    def snapshot(self):
        st = self.status()
        loss = st.get("loss") or {}
        snap = {"cpu_ns": proc_cpu_ns(self.proc.pid),
                "records": int(st.get("audit_last_seq") or 0),
                "decode_errors": int(st.get("decode_errors") or 0),
                "audit_errors": int(st.get("audit_errors") or 0)}
        # where the daemon's CPU goes (status "cpu": per-room counters, ns)
        for k, v in (st.get("cpu") or {}).items():
            if isinstance(v, int):
                snap[f"room_{k}"] = v
        for cause, per in loss.items():
            snap[f"loss_{cause}"] = sum(int(v) for v in (per or {}).values())
        # the TLS gate: processes held for their per-process probes, and for how long
        tls = st.get("tls") or {}
        snap["tls_held_ms"] = int(tls.get("gate_held_ms") or 0)
        snap["tls_attach_ms"] = int((tls.get("probes") or {}).get("attach_ms") or 0)
        snap["tls_probed"] = sum(int(x.get("processes_attached") or 0)
                                 for x in tls.get("targets") or [])
        snap["lost"] = sum(snap.get(f"loss_{c}", 0)
                           for c in ("ringbuf_full", "map_full", "read_fault"))
        return snap

    def settle(self, timeout=300):
        """Wait until the daemon has written everything the kernel handed over;
        returns when (time.monotonic()) its last record was seen appear."""
        last, stable, changed, end = None, 0, time.monotonic(), time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise BenchError(f"scopelockd died (status {self.proc.returncode}):\n"
                                 f"{tail(self.logf)}")
            seq = self.status().get("audit_last_seq")
            if seq == last:
                stable += 1
            else:
                stable, changed = 0, time.monotonic()
            if stable >= 3:
                return changed
            last = seq
            time.sleep(0.1)
        log(f"scopelockd still writing after {timeout}s")
        return time.monotonic()

    def syscall_hooks(self):
        return self.status().get("syscall_tracepoints") or {}

    def wait_detached(self, timeout=30):
        """No session: the system-call tracepoints are gone (and the detach done)."""
        wait_until(lambda: not self.syscall_hooks().get("attached")
                   and not self.syscall_hooks().get("detaching"), timeout, 0.1)
        st = self.syscall_hooks()
        if st.get("attached") or st.get("detaching"):
            raise BenchError(f"system-call tracepoints still attached with no session: {st}")
        return st

    def hold_session(self):
        """Another session, idle (cat waiting on its stdin): the system-call
        tracepoints are attached while it exists. Returns its launcher."""
        p = subprocess.Popen([str(a) for a in self.wrap(["/bin/cat"])], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: p.poll() is not None or self.syscall_hooks().get("sessions"), 30,
                   0.1)
        if p.poll() is not None or not self.syscall_hooks().get("attached"):
            self.release_session(p)
            raise BenchError(f"the idle session did not start: {self.syscall_hooks()}")
        return p

    def release_session(self, p):
        """End the idle session (its cat reads end of file) and wait for its end."""
        if p.poll() is None:
            p.stdin.close()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        wait_until(lambda: not self.status().get("sessions"), 30, 0.1)

    def wrap(self, argv, scope=None):
        # the workloads run as root, as the baseline does: an explicit root session
        return [CLI, "--socket", self.sock, "run", "--scope", scope or self.scope,
                "--allow-root", "--", *argv]

    def stop(self):
        if not self.proc:
            return
        self.mem.append(("stop", proc_mem_kib(self.proc.pid)))
        rc = self.ctx.stop(self.proc, timeout=30)
        self.proc = None
        if rc not in (0, -signal.SIGTERM):
            log(f"scopelockd exited with status {rc} on SIGTERM:\n{tail(self.logf)}")
        # a SIGTERM keeps the enforcement pinned for the next daemon: detach it
        r = subprocess.run([DAEMON, "--stop-enforcement", "--state-dir", self.dir / "state"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode:
            log(f"scopelockd --stop-enforcement: {r.stderr.strip()}")
        self._cleanup_cgroups()
        if not self.ctx.keep:
            shutil.rmtree(self.audit_dir, ignore_errors=True)

    def _cleanup_cgroups(self):
        mnt = cgroup2_mount()
        parent = mnt / self.cg_name if mnt else None
        if not parent or not parent.exists():
            return
        log(f"scopelockd left {parent} behind: removing it")
        # only sessions of this bench's own daemon live there: our workloads
        for procs in sorted(parent.rglob("cgroup.procs"), reverse=True):
            for pid in procs.read_text().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for d in sorted((p for p in parent.rglob("*") if p.is_dir()), reverse=True) + [parent]:
            wait_until(lambda: not (d / "cgroup.procs").exists()
                       or not (d / "cgroup.procs").read_text().strip(), 5)
            try:
                d.rmdir()
            except OSError as e:
                log(f"cannot remove {d}: {e}")


def audit_status():
    out = {}
    for line in run_cmd(["auditctl", "-s"]).stdout.splitlines():
        k, _, v = line.partition(" ")
        if v.strip().lstrip("-").isdigit():
            out[k] = int(v.split()[0])
    return out


class Auditd(Monitor):
    """Our own auditd (-n, private config and log), our rule, prior state restored."""

    name = "auditd"

    def __init__(self, ctx):
        self.ctx = ctx
        self.proc = None
        self.prior = None
        self.rule_added = False
        self.n = 0
        if not shutil.which("auditd") or not shutil.which("auditctl"):
            self.error = "auditd/auditctl not installed (Debian package auditd)"
            return
        try:
            st = audit_status()
        except (BenchError, OSError) as e:
            self.error = f"the kernel audit interface does not answer: {e}"
            return
        if st.get("pid"):
            self.error = (f"an auditd (pid {st['pid']}) already owns the kernel audit "
                          "socket: not touched")
        elif st.get("enabled") == 2:
            self.error = "the audit configuration is locked (enabled 2) until reboot"

    def start(self):
        self.n += 1
        d = self.ctx.tmp / f"auditd{self.n}"
        (d / "conf").mkdir(parents=True)
        (d / "log").mkdir()
        self.logfile = d / "log" / "audit.log"
        conf = Path("/etc/audit/auditd.conf")
        text = conf.read_text() if conf.exists() else "flush = INCREMENTAL_ASYNC\nfreq = 50\n"
        text = re.sub(r"(?m)^log_file\s*=.*$", "", text) + f"\nlog_file = {self.logfile}\n"
        text = re.sub(r"(?m)^log_group\s*=.*$", "log_group = root", text)
        cf = d / "conf" / "auditd.conf"
        cf.write_text(text)
        os.chmod(cf, 0o640)
        self.prior = audit_status()
        self.out = d / "auditd.out"
        with open(self.out, "w") as f:
            self.proc = self.ctx.spawn(["auditd", "-n", "-c", d / "conf"], "auditd", stdout=f,
                                       stderr=f)
        ok = wait_until(lambda: self.proc.poll() is not None
                        or audit_status().get("pid") == self.proc.pid, 15, 0.1)
        if self.proc.poll() is not None or not ok:
            raise BenchError(f"auditd did not take the audit socket: {tail(self.out)}")
        # the buffers of Debian's shipped rules (/etc/audit/rules.d/audit.rules)
        run_cmd(["auditctl", "-b", "8192"])
        run_cmd(["auditctl", "--backlog_wait_time", "60000"])
        run_cmd(["auditctl", "-a", "always,exit", *AUDIT_RULE])
        self.rule_added = True
        self.kauditd = kthread_pid("kauditd")

    def pids(self):
        kauditd = getattr(self, "kauditd", None)
        return [p for p in (self.proc.pid if self.proc else None, kauditd) if p]

    def snapshot(self):
        st = audit_status()
        cpu = proc_cpu_ns(self.proc.pid) + (proc_cpu_ns(self.kauditd) if self.kauditd else 0)
        try:
            size = self.logfile.stat().st_size
        except OSError:
            size = 0
        return {"cpu_ns": cpu, "lost": st.get("lost", 0), "log_bytes": size,
                # time tasks waited for backlog room (kernel counter, in jiffies)
                "backlog_wait_jiffies": st.get("backlog_wait_time_actual", 0)}

    def settle(self, timeout=20):
        """Wait until the kernel's queue is empty (auditd has taken every record).
        The log itself may keep growing: everything on the machine is audited."""
        stable, end = 0, time.monotonic() + timeout
        while time.monotonic() < end and stable < 3:
            stable = stable + 1 if not audit_status().get("backlog") else 0
            time.sleep(0.05)

    def stop(self):
        restore_errors = []
        if self.rule_added:
            p = run_cmd(["auditctl", "-d", "always,exit", *AUDIT_RULE], check=False)
            if p.returncode:
                restore_errors.append(f"auditctl -d: {p.stderr.strip()}")
            self.rule_added = False
        if self.proc:
            self.ctx.stop(self.proc)
            self.proc = None
        if self.prior:
            for opt, key in (("-e", "enabled"), ("-b", "backlog_limit"),
                             ("--backlog_wait_time", "backlog_wait_time")):
                if key in self.prior:
                    p = run_cmd(["auditctl", opt, str(self.prior[key])], check=False)
                    if p.returncode:
                        restore_errors.append(f"auditctl {opt}: {p.stderr.strip()}")
            self.prior = None
        left = run_cmd(["auditctl", "-l"], check=False).stdout
        if AUDIT_KEY in left:
            restore_errors.append(f"rules with key {AUDIT_KEY} remain: {left.strip()}")
        if restore_errors:
            log("audit state NOT fully restored: " + "; ".join(restore_errors))
        if not self.ctx.keep and getattr(self, "logfile", None):
            shutil.rmtree(self.logfile.parent, ignore_errors=True)


class Snoop(Monitor):
    """libbpf-tools opensnoop, execsnoop and tcpconnect, output to files."""

    name = "snoop"

    def __init__(self, ctx):
        self.ctx = ctx
        self.procs = {}
        self.n = 0
        self.unavailable = {}  # tool -> why it cannot run here
        missing = [t for t in SNOOP_TOOLS if not shutil.which(t, path="/usr/sbin:/usr/bin")]
        for t in missing:
            self.unavailable[t] = "not installed (Debian package libbpf-tools)"
        if len(missing) == len(SNOOP_TOOLS):
            self.error = "libbpf-tools is not installed"

    def start(self):
        self.n += 1
        d = self.ctx.tmp / f"snoop{self.n}"
        d.mkdir()
        self.dir = d
        for t in SNOOP_TOOLS:
            if t in self.unavailable:
                continue
            out, err = d / f"{t}.out", d / f"{t}.err"
            with open(out, "w") as fo, open(err, "w") as fe:
                p = self.ctx.spawn([shutil.which(t, path="/usr/sbin:/usr/bin")], t, stdout=fo,
                                   stderr=fe, sig=signal.SIGINT)
            # each tool prints its header once its programs are attached
            wait_until(lambda: p.poll() is not None or out.stat().st_size > 0, 20, 0.05)
            if p.poll() is not None:
                why = " ".join(tail(err, 3).split("\n"))
                self.unavailable[t] = f"exits with status {p.returncode}: {why}"
                self.ctx.stop(p)
                log(f"snoop: {t} unavailable: {self.unavailable[t]}")
            else:
                self.procs[t] = p
        if not self.procs:
            raise BenchError("no libbpf-tools snoop tool runs here: " + "; ".join(
                f"{t}: {w}" for t, w in self.unavailable.items()))

    def pids(self):
        return [p.pid for p in self.procs.values()]

    def snapshot(self):
        snap = {"cpu_ns": sum(proc_cpu_ns(p.pid) for p in self.procs.values()), "lost": 0,
                "lines": 0}
        for t in self.procs:
            with open(self.dir / f"{t}.out", "rb") as f:
                snap["lines"] += sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20),
                                                                      b""))
            for m in re.finditer(r"Lost (\d+) events",
                                 (self.dir / f"{t}.err").read_text(errors="replace")):
                snap["lost"] += int(m.group(1))
        return snap

    def settle(self):
        time.sleep(0.3)

    def stop(self):
        for p in self.procs.values():
            self.ctx.stop(p)
        self.procs = {}
        if not self.ctx.keep and getattr(self, "dir", None):
            shutil.rmtree(self.dir, ignore_errors=True)


def elf_file_offsets(path, names):
    """File offsets of the dynamic symbols in names (what tracefs uprobes take)."""
    loads = []
    for line in run_cmd(["readelf", "-lW", path]).stdout.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            loads.append((int(f[2], 16), int(f[1], 16), int(f[4], 16)))  # vaddr, off, filesz
    out = {}
    for line in run_cmd(["readelf", "-Ws", "--dyn-syms", path]).stdout.splitlines():
        f = line.split()
        if len(f) < 8 or f[3] != "FUNC" or f[6] == "UND":
            continue
        name, _, ver = f[7].partition("@")
        if name not in names or (name in out and not ver.startswith("@")):
            continue
        va = int(f[1], 16)
        for vaddr, off, size in loads:
            if vaddr <= va < vaddr + size:
                out[name] = va - vaddr + off
    return out


class Uprobes(Monitor):
    """tracefs uprobes (no BPF) on the libssl functions scopelockd hooks, recorded
    into a private tracing instance: the floor any uprobe-based capture pays."""

    name = "uprobes"

    def __init__(self, ctx):
        self.ctx = ctx
        self.group = f"slbench{os.getpid()}"
        self.instance = TRACEFS / "instances" / self.group
        self.events = []
        if not (TRACEFS / "uprobe_events").exists():
            p = run_cmd(["mount", "-t", "tracefs", "none", TRACEFS], check=False)
            if p.returncode or not (TRACEFS / "uprobe_events").exists():
                self.error = f"tracefs is not available at {TRACEFS}: {p.stderr.strip()}"
                return
        if not Path(LIBSSL).exists():
            self.error = f"{LIBSSL} is missing"
            return
        try:
            self.offsets = elf_file_offsets(LIBSSL, {f for f, _ in LIBSSL_PROBES})
        except (BenchError, OSError) as e:
            self.error = f"cannot read the symbols of {LIBSSL}: {e}"
            return
        if "SSL_write" not in self.offsets:
            self.error = f"no SSL_write in {LIBSSL}"

    def _define(self, line):
        # no buffered "a" mode: tracefs refuses the seek to the end it does
        fd = os.open(TRACEFS / "uprobe_events", os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def start(self):
        try:
            for fn, ret in LIBSSL_PROBES:
                if fn not in self.offsets:
                    continue
                for kind, ev in (("p", fn), ("r", fn + "_ret")) if ret else (("p", fn),):
                    self._define(f"{kind}:{self.group}/{ev} {LIBSSL}:{self.offsets[fn]:#x}")
                    self.events.append(ev)
            self.instance.mkdir()
            (self.instance / "events" / self.group / "enable").write_text("1")
        except OSError as e:
            raise BenchError(f"cannot define tracefs uprobes on {LIBSSL}: {e}")

    def stop(self):
        if self.instance.exists():
            try:
                (self.instance / "events" / self.group / "enable").write_text("0")
            except OSError:
                pass
            try:
                self.instance.rmdir()
            except OSError as e:
                log(f"cannot remove the tracing instance {self.instance}: {e}")
        for ev in self.events:
            try:
                self._define(f"-:{self.group}/{ev}")
            except OSError as e:
                log(f"cannot remove the uprobe event {self.group}/{ev}: {e}")
        self.events = []


# ---------------------------------------------------------------- runs

def workload_argv(name, n, servers):
    b = BUILD
    return {
        "open": [b / "openloop", n, servers.target],
        "exec": [b / "forkexec", "exec", n, "/bin/true"],
        "connect": [b / "connloop", n, servers.tcp_port],
        "https": [b / "tlsloop", n, servers.tls_port, 512],
        "curl": [b / "forkexec", "curl", n, "/usr/bin/curl", "-sk", "-o", "/dev/null",
                 f"https://127.0.0.1:{servers.tls_port}/"],
    }[name]


def run_workload(argv, timeout, cpu=None):
    p = subprocess.run([str(a) for a in argv], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, preexec_fn=pin(cpu))
    res = None
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            try:
                res = json.loads(line)
            except ValueError:
                pass
    if p.returncode or not res:
        raise BenchError(f"exit status {p.returncode}: {(p.stderr or p.stdout).strip()[-600:]}")
    return res


def measure(config, wl, n, mon, servers, timeout, ctx):
    argv = workload_argv(wl, n, servers)
    r = {"config": config, "workload": wl, "n": n}
    holder = None
    if config == "sl-session":
        argv = mon.wrap(argv)
    elif config == "sl-outside":
        r["syscall_tracepoints"] = mon.wait_detached()
    elif config == "sl-outside-busy":
        holder = mon.hold_session()
        r["syscall_tracepoints"] = mon.syscall_hooks()
    before = mon.snapshot()
    try:
        with Watch(ctx, servers.pids + mon.pids()) as w:
            try:
                res = run_workload(argv, timeout, servers.cpu)
            except (BenchError, subprocess.TimeoutExpired) as e:
                r["error"] = str(e)
                res = None
            if res:
                mon.settle()
                after = mon.snapshot()
    finally:
        if holder:
            mon.release_session(holder)
    r["other_cpu_frac"] = round(w.other_cpu_frac, 4)
    if w.disturbed():
        r["disturbed"] = w.disturbed()
    if not res:
        return r
    r.update(res)
    r["per_op_ns"] = res["wall_ns"] / n
    r["cpu_per_op_ns"] = res["cpu_ns"] / n
    r["monitor"] = mon.delta(before, after)
    r["monitor_cpu_per_op_ns"] = r["monitor"].get("cpu_ns", 0) / n
    return r


def applies(config, wl):
    return wl in ONLY.get(config, (wl,))


def wait_quiet(ctx, budget):
    """Wait (within what is left of the budget) for foreign monitors to go."""
    found = foreign_monitors(ctx)
    if found and budget["left"] > 0:
        log(f"waiting up to {budget['left']:.0f}s for monitors this bench did not start: "
            f"{', '.join(found)}")
        t0 = time.monotonic()
        while found and time.monotonic() - t0 < budget["left"]:
            time.sleep(0.5)
            found = foreign_monitors(ctx)
        budget["left"] -= time.monotonic() - t0
    return found


def run_reps(args, ctx, servers, monitors, runs, errors):
    workloads = args.workloads
    budget = {"left": args.quiet_wait}
    states = [s for s in STATES
              if any(c in args.configs and any(applies(c, w) for w in workloads)
                     for c in STATES[s])]
    for rep in range(args.reps):
        k = rep % len(states)
        order = states[k:] + states[:k]
        for state in order:
            mon = monitors[state]
            if mon.error:
                continue
            configs = [c for c in STATES[state] if c in args.configs]
            if rep % 2:
                configs.reverse()
            log(f"rep {rep + 1}/{args.reps}: {state}")
            try:
                mon.start()
            except BenchError as e:
                mon.error = str(e)
                errors[state] = str(e)
                log(f"{state} cannot run: {e}")
                mon.stop()
                continue
            try:
                wls = workloads[k % len(workloads):] + workloads[:k % len(workloads)]
                for wl in wls:
                    n = args.n[wl]
                    for config in configs:
                        if not applies(config, wl):
                            continue
                        wait_quiet(ctx, budget)
                        r = measure(config, wl, n, mon, servers, args.timeout, ctx)
                        r["rep"] = rep
                        foreign = r.get("disturbed")
                        runs.append(r)
                        if "error" in r:
                            log(f"  {config:12} {wl:8} FAILED: {r['error']}")
                        else:
                            m = r["monitor"]
                            extra = ""
                            if "records" in m:
                                extra = f" records={m['records']} lost={m.get('lost', 0)}"
                            elif "lost" in m:
                                extra = f" lost={m['lost']}"
                            if foreign:
                                extra += " (disturbed: " + ", ".join(foreign) + ")"
                            log(f"  {config:12} {wl:8} {r['per_op_ns'] / 1000:10.2f} us/op"
                                f"{extra}")
            finally:
                mon.stop()


# ---------------------------------------------------------------- BPF profile

class BpfStats:
    """Per-program run time accounting (BPF_ENABLE_STATS) while the fd is open: it
    switches itself off when the fd closes, even if this process dies."""

    BPF_ENABLE_STATS, NR_BPF = 32, 321  # x86_64

    def __enter__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        attr = ctypes.create_string_buffer(16)  # {u32 type = BPF_STATS_RUN_TIME (0)}
        self.fd = libc.syscall(self.NR_BPF, self.BPF_ENABLE_STATS, attr, len(attr))
        if self.fd < 0:
            raise BenchError(f"BPF_ENABLE_STATS: {os.strerror(ctypes.get_errno())}")
        return self

    def __exit__(self, *exc):
        os.close(self.fd)
        return False


def bpf_prog_ids(pid):
    """ids of the BPF programs a process holds (its fds' fdinfo)"""
    ids = set()
    for fi in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            for line in fi.read_text().splitlines():
                if line.startswith("prog_id:"):
                    ids.add(int(line.split()[1]))
        except (OSError, ValueError):
            continue
    return ids


def bpf_prog_stats(ids):
    out = {}
    for p in json.loads(run_cmd(["bpftool", "prog", "show", "-j"]).stdout):
        if p.get("id") in ids:
            out[p["id"]] = (p.get("name", "?"), p.get("run_cnt", 0), p.get("run_time_ns", 0))
    return out


def profile(args, ctx, servers, results):
    """Where the kernel-side time goes: each workload once outside and once inside a
    session with per-program BPF run time on (it costs a little itself, hence not
    during the timed repetitions). Counts include every other process on the machine
    that hit the same hooks meanwhile."""
    sl = Scopelockd(ctx, args.scope)
    prof = {}
    try:
        sl.start()
        ids = bpf_prog_ids(sl.proc.pid)
        if not ids:
            raise BenchError("no BPF program fds found in the daemon")
        with BpfStats():
            for wl in args.workloads:
                n = args.n[wl]  # the same n: some costs depend on how far the loop got
                prof[wl] = {}
                for config in ("sl-outside", "sl-session"):
                    argv = workload_argv(wl, n, servers)
                    if config == "sl-session":
                        argv = sl.wrap(argv)
                    a = bpf_prog_stats(ids)
                    run_workload(argv, args.timeout, args.cpu)
                    sl.settle()
                    b = bpf_prog_stats(ids)
                    progs = {}
                    for pid, (name, cnt, ns) in b.items():
                        _, cnt0, ns0 = a.get(pid, (name, 0, 0))
                        if cnt - cnt0:
                            progs[name] = {"runs_per_op": round((cnt - cnt0) / n, 3),
                                           "ns_per_op": round((ns - ns0) / n, 1),
                                           "ns_per_run": round((ns - ns0) / (cnt - cnt0), 1)}
                    prof[wl][config] = {"n": n, "ns_per_op": round(sum(
                        p["ns_per_op"] for p in progs.values()), 1), "programs": progs}
                log(f"bpf profile {wl:8}: outside {prof[wl]['sl-outside']['ns_per_op']:.0f} ns/op,"
                    f" session {prof[wl]['sl-session']['ns_per_op']:.0f} ns/op")
        results["bpf_profile"] = prof
    except (BenchError, subprocess.TimeoutExpired, OSError) as e:
        results["bpf_profile_error"] = str(e)
        log(f"bpf profile: {e}")
    finally:
        sl.stop()


# ---------------------------------------------------------------- ramp

def audit_segments(audit_dir):
    """(first seq, path) of every segment, oldest first; a plain file wins over its
    .zst (.gz from older versions)."""
    segs = {}
    for p in Path(audit_dir).iterdir():
        m = re.fullmatch(r"audit-(\d+)\.jsonl(\.gz|\.zst)?", p.name)
        if m:
            first = int(m.group(1))
            if first not in segs or not m.group(2):
                segs[first] = p
    out = sorted(segs.items())
    cur = Path(audit_dir) / "audit.jsonl"
    if cur.exists():
        out.append((float("inf"), cur))
    return out


def count_records(audit_dir, after_seq, path):
    """Records with seq > after_seq: (open records naming path, loss records, all).
    The daemon compresses closed segments meanwhile: start over when a file goes."""
    for attempt in range(40):
        try:
            return _count_records(audit_dir, after_seq, path)
        except (FileNotFoundError, EOFError, gzip.BadGzipFile, OSError) as e:
            err = e
            time.sleep(0.25)
    raise BenchError(f"cannot read the audit log in {audit_dir}: {err}")


def _count_records(audit_dir, after_seq, path):
    segs = audit_segments(audit_dir)
    start = 0
    for i, (first, _) in enumerate(segs):
        if first <= after_seq + 1:
            start = i
    quoted = json.dumps(str(path)).encode()
    opens = losses = total = 0
    for _, p in segs[start:]:
        if p.suffix == ".zst":
            r = subprocess.run(["zstd", "-dcq", str(p)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            if r.returncode:
                raise OSError(f"{p}: {r.stderr.decode(errors='replace').strip()}")
            f = io.BytesIO(r.stdout)
        else:
            f = gzip.open(p, "rb") if p.suffix == ".gz" else open(p, "rb")
        with f:
            for line in f:
                if not line.startswith(b'{"seq":'):
                    continue
                seq = int(line[7:line.index(b",")])
                if seq <= after_seq:
                    continue
                total += 1
                if b'"type":"open"' in line and quoted in line:
                    opens += 1
                elif b'"type":"loss"' in line:
                    losses += 1
    return opens, losses, total


def ramp(args, ctx, results):
    """Paced open loops in a session at rising rates, until an event is lost.
    First the same loop unpaced with no monitor: the baseline rate, in the same run."""
    base_path = ctx.tmp / "ramp-baseline"
    base_path.write_text("ramp\n")
    try:
        n = 400000 * args.ramp_seconds
        res = run_workload([BUILD / "openloop", "-t", int(args.ramp_seconds * 1000), int(n),
                            base_path], args.timeout, args.cpu)
        results["ramp_baseline_rate"] = round(res["n"] / (res["wall_ns"] / 1e9))
        log(f"ramp baseline (no monitor, unpaced): {results['ramp_baseline_rate']}/s")
    except (BenchError, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
        log(f"ramp baseline: {e}")
    sl = Scopelockd(ctx, args.scope)
    try:
        sl.start()
    except BenchError as e:
        results["ramp_error"] = str(e)
        log(f"ramp: {e}")
        return
    steps = []
    ringbuf = None
    try:
        with open(sl.audit_dir / "audit.jsonl") as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("type") == "daemon_start":
                    ringbuf = rec.get("ringbuf_size")
                    break
    except (OSError, ValueError):
        pass
    try:
        def step(rate, i):
            path = ctx.tmp / f"ramp-{i}"
            path.write_text("ramp\n")
            # at most ramp_seconds: a throttled loop must not stretch the step
            n = rate * args.ramp_seconds if rate else 10**9
            argv = [BUILD / "openloop", *(["-r", rate] if rate else []), "-t",
                    int(args.ramp_seconds * 1000), int(n), path]
            before = sl.snapshot()
            t0 = time.monotonic()
            try:
                res = run_workload(sl.wrap(argv), args.timeout, args.cpu)
            except (BenchError, subprocess.TimeoutExpired) as e:
                raise BenchError(f"ramp step {rate}/s: {e}")
            except (OSError, ValueError, KeyError) as e:
                raise BenchError(f"ramp step {rate}/s: {type(e).__name__}: {e}")
            t_run = time.monotonic() - t0
            t_drain = max(sl.settle() - t0, t_run)
            after = sl.snapshot()
            d = sl.delta(before, after)
            found, loss_recs, total = count_records(sl.audit_dir, before["records"], path)
            s = {"target_rate": rate or None, "n": res["n"],
                 "achieved_rate": round(res["n"] / (res["wall_ns"] / 1e9)),
                 "records_found": found, "lost": d.get("lost", 0),
                 "loss_records": loss_recs, "records_written": d["records"],
                 "run_s": round(t_run, 3), "drain_s": round(t_drain, 3),
                 "daemon_rate": round(total / t_drain),
                 "daemon_cpu_s": round(d.get("cpu_ns", 0) / 1e9, 3),
                 "daemon_cpu_per_record_ns": round(d.get("cpu_ns", 0) / max(total, 1)),
                 "rooms_ns_per_record": {k[5:]: round(v / max(total, 1)) for k, v in d.items()
                                         if k.startswith("room_") and k != "room_write_batches"},
                 "write_batches": d.get("room_write_batches", 0),
                 "daemon_mem_kib": proc_mem_kib(sl.proc.pid)}
            s["zero_loss"] = s["lost"] == 0 and found == res["n"]
            foreign = foreign_monitors(ctx)
            if foreign:
                s["foreign"] = foreign
            # the daemon kept pace: it had written everything shortly after the loop ended
            # (otherwise the ring buffer only absorbed a backlog for this step's length)
            s["kept_up"] = t_drain - t_run <= max(0.3, 0.1 * t_run)
            steps.append(s)
            log(f"ramp {('%d/s' % rate) if rate else 'unpaced':>10}: achieved "
                f"{s['achieved_rate']}/s, {found}/{res['n']} open records, lost {s['lost']}, "
                f"daemon wrote {s['daemon_rate']}/s, drained {t_drain - t_run:.2f}s after")
            return s

        def bisect(good, bad, ok):
            nonlocal i
            for _ in range(2):
                if bad is None or bad - good < max(good // 4, 1000):
                    break
                mid = (good + bad) // 2
                i += 1
                if ok(step(mid, i)):
                    good = mid
                else:
                    bad = mid

        i = 0
        for rate in args.ramp_rates:
            i += 1
            if not step(rate, i)["zero_loss"]:
                break
        else:
            i += 1
            step(0, i)  # unpaced burst: the daemon's write rate when it cannot keep up
        def bounds(ok):
            paced = [s for s in steps if s["target_rate"]]
            return (max((s["target_rate"] for s in paced if ok(s)), default=0),
                    min((s["target_rate"] for s in paced if not ok(s)), default=None))

        # where losses start, then where the daemon stops keeping pace
        for ok in (lambda s: s["zero_loss"], lambda s: s["zero_loss"] and s["kept_up"]):
            good, bad = bounds(ok)
            if bad is not None and bad > good:
                bisect(good, bad, ok)
        steps.sort(key=lambda s: s["target_rate"] or float("inf"))
        throttle = throttle_step(args, ctx, sl)
        results["ramp"] = {
            "seconds_per_step": args.ramp_seconds,
            "ringbuf_bytes": ringbuf,
            "steps": steps,
            "sustained_zero_loss_rate": max((s["achieved_rate"] for s in steps
                                             if s["zero_loss"] and s["kept_up"]), default=0),
            "burst_zero_loss_rate": max((s["achieved_rate"] for s in steps if s["zero_loss"]),
                                        default=0),
            "first_lossy_rate": min((s["achieved_rate"] for s in steps if not s["zero_loss"]),
                                    default=None),
            "daemon_max_write_rate": max((s["daemon_rate"] for s in steps), default=0),
            "baseline_rate": results.get("ramp_baseline_rate"),
            "throttle": throttle,
        }
        r = results["ramp"]
        if r["baseline_rate"]:
            r["sustained_ratio_to_baseline"] = round(r["sustained_zero_loss_rate"] /
                                                     r["baseline_rate"], 3)
    except BenchError as e:
        results["ramp_error"] = str(e)
        log(f"ramp: {e}")
    finally:
        if sl.proc:
            sl.mem.append(("after_ramp", proc_mem_kib(sl.proc.pid)))
        results["daemon_mem_kib"]["ramp"] = sl.mem
        sl.stop()


def throttle_step(args, ctx, sl):
    """The unpaced open loop in a session of a scope the policy does not
    declare: loss: throttle, the default. Nothing may be lost; the loop runs at
    the daemon's pace. Reports the rate, the records found, the session's
    throttle stops and its slowdown against the unmonitored baseline."""
    path = ctx.tmp / "ramp-throttle"
    path.write_text("ramp\n")
    n = 10**9
    argv = [BUILD / "openloop", "-t", int(args.ramp_seconds * 1000), n, path]
    before = sl.snapshot()
    try:
        res = run_workload(sl.wrap(argv, scope=f"{args.scope}-throttle"), args.timeout, args.cpu)
    except (BenchError, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
        log(f"throttle step: {e}")
        return {"error": str(e)}
    sl.settle()
    after = sl.snapshot()
    d = sl.delta(before, after)
    found, _, _ = count_records(sl.audit_dir, before["records"], path)
    ends = []
    for f in sorted(sl.audit_dir.glob("audit*.jsonl")):
        with open(f, "rb") as fh:
            for line in fh:
                if b'"type":"session_end"' in line and b'-throttle"' in line:
                    ends.append(json.loads(line))
    end = ends[-1] if ends else {}
    out = {"n": res["n"], "achieved_rate": round(res["n"] / (res["wall_ns"] / 1e9)),
           "records_found": found, "lost": d.get("lost", 0),
           "throttle_stops": end.get("throttle_stops"), "throttled_ms": end.get("throttled_ms")}
    out["zero_loss"] = out["lost"] == 0 and found == res["n"]
    log(f"ramp throttle (unpaced, loss: throttle): {out['achieved_rate']}/s, "
        f"{found}/{res['n']} open records, lost {out['lost']}, stopped "
        f"{out['throttle_stops']} times ({out['throttled_ms']} ms)")
    return out


def backlog(args, ctx, results):
    """The daemon's own rate, whatever the loop can do: with the daemon stopped
    (SIGSTOP), an open loop in a session fills a 256 MiB ring buffer; then the
    daemon continues (SIGCONT) and the bench times how long it takes to write
    the backlog, and its CPU for it. On a machine with other load the wall
    time stretches, the CPU per record does not."""
    sl = Scopelockd(ctx, args.scope, extra_args=["--ringbuf-size", str(256 << 20)])
    n = 400000 if args.quick else 1000000
    stopped = False
    try:
        sl.start()
        path = ctx.tmp / "backlog"
        path.write_text("backlog\n")
        go = ctx.tmp / "backlog-go"
        warm = ctx.tmp / "backlog-warm"
        # the loop's program runs once first, while the daemon runs: a session's
        # first exec of a file waits for the TLS room (the TLS gate), which a
        # stopped daemon would never answer
        argv = sl.wrap(["/bin/sh", "-c", '"$2" 1 "$4" >/dev/null && : > "$5"; '
                        'while [ ! -e "$1" ]; do sleep 0.02; done; '
                        'exec "$2" "$3" "$4"', "sh", go, BUILD / "openloop", n, path, warm])
        p = ctx.spawn(argv, "backlog loop", stdout=subprocess.PIPE, cpu=args.cpu)
        if not wait_until(lambda: warm.exists(), 60, 0.05):
            raise BenchError("backlog: the session did not start")
        before = sl.snapshot()
        os.kill(sl.proc.pid, signal.SIGSTOP)
        stopped = True
        go.touch()
        out, _ = p.communicate(timeout=args.timeout)
        ctx.stop(p)
        os.kill(sl.proc.pid, signal.SIGCONT)
        stopped = False
        t0 = time.monotonic()
        done = wait_until(lambda: sl.snapshot()["records"] - before["records"] >= n, 300, 0.02)
        t = time.monotonic() - t0
        after = sl.snapshot()
        d = sl.delta(before, after)
        if not done:
            raise BenchError(f"backlog: {d['records']} of {n} records written after 300 s")
        rooms = {k[5:]: round(v / max(d["records"], 1)) for k, v in d.items()
                 if k.startswith("room_") and k != "room_write_batches"}
        main_ns = rooms.get("ingest_ns", 0) + rooms.get("journal_write_ns", 0)
        results["backlog"] = {
            "records": d["records"], "lost": d.get("lost", 0), "drain_s": round(t, 3),
            "rate": round(d["records"] / t), "daemon_cpu_per_record_ns":
            round(d.get("cpu_ns", 0) / max(d["records"], 1)), "rooms_ns_per_record": rooms,
            "loop_thread_capacity": round(1e9 / main_ns) if main_ns else None,
            "loop": json.loads(out.strip().splitlines()[-1]) if out and out.strip() else None}
        b = results["backlog"]
        log(f"backlog: {b['records']} records written in {b['drain_s']}s ({b['rate']}/s), "
            f"lost {b['lost']}; daemon CPU {b['daemon_cpu_per_record_ns']}ns/record")
    except (BenchError, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
        results["backlog_error"] = str(e)
        log(f"backlog: {e}")
    finally:
        if stopped and sl.proc:
            os.kill(sl.proc.pid, signal.SIGCONT)
        if sl.proc:
            sl.stop()


# ---------------------------------------------------------------- report

def summarize(runs, configs, workloads):
    summary = {}
    for wl in workloads:
        summary[wl] = {}
        for c in configs:
            ok = [r for r in runs if r["workload"] == wl and r["config"] == c and "error" not in r]
            clean = [r for r in ok if not r.get("disturbed")]
            overlapped = len(ok) - len(clean)
            ok = clean or ok
            failed = [r for r in runs if r["workload"] == wl and r["config"] == c
                      and "error" in r]
            if not ok:
                if failed:
                    summary[wl][c] = {"error": failed[0]["error"]}
                continue
            s = {"runs": len(ok), "failed": len(failed), "overlapped_excluded":
                 overlapped if clean else 0, "only_overlapped": not clean,
                 "per_op_ns": statistics.median(r["per_op_ns"] for r in ok),
                 "per_op_ns_min": min(r["per_op_ns"] for r in ok),
                 "per_op_ns_max": max(r["per_op_ns"] for r in ok),
                 "cpu_per_op_ns": statistics.median(r["cpu_per_op_ns"] for r in ok),
                 "monitor_cpu_per_op_ns": statistics.median(r["monitor_cpu_per_op_ns"]
                                                            for r in ok),
                 "lost": sum(r["monitor"].get("lost", 0) for r in ok)}
            if any("records" in r["monitor"] for r in ok):
                s["records_per_op"] = statistics.median(r["monitor"]["records"] / r["n"]
                                                        for r in ok)
            probed = sum(r["monitor"].get("tls_probed", 0) for r in ok)
            if probed:
                s["tls_probed"] = probed
                s["tls_attach_ms_per_process"] = sum(
                    r["monitor"].get("tls_attach_ms", 0) for r in ok) / probed
                s["tls_held_ms_per_process"] = sum(
                    r["monitor"].get("tls_held_ms", 0) for r in ok) / probed
            summary[wl][c] = s
        base = summary[wl].get("baseline")
        for c, s in summary[wl].items():
            if base and "per_op_ns" in s and "per_op_ns" in base:
                s["ratio"] = s["per_op_ns"] / base["per_op_ns"]
                tot = s["cpu_per_op_ns"] + s["monitor_cpu_per_op_ns"]
                btot = base["cpu_per_op_ns"] + base["monitor_cpu_per_op_ns"]
                s["cpu_ratio"] = tot / btot if btot else None
    return summary


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f}ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f}us"
    return f"{ns:.0f}ns"


def print_report(results):
    summary, configs = results["summary"], results["params"]["configs"]
    out = []
    w = 17
    out.append("Wall time per operation (median of %d), ratio to baseline"
               % results["params"]["reps"])
    out.append(f"{'workload':9} {'n':>7} " + " ".join(f"{c:>{w}}" for c in configs))

    def row(title, key, ratio):
        for wl, per in summary.items():
            cells = []
            for c in configs:
                s = per.get(c)
                if s is None:
                    cells.append(f"{'n/a':>{w}}")
                elif "error" in s:
                    cells.append(f"{'FAILED':>{w}}")
                else:
                    v = s[key] if key != "total_cpu" else s["cpu_per_op_ns"] + s[
                        "monitor_cpu_per_op_ns"]
                    r = s.get(ratio)
                    mark = ("!" if s.get("lost") else "") + ("~" if s["only_overlapped"] else "")
                    cell = fmt_ns(v) + (f" {r:5.2f}x" if r is not None and c != "baseline"
                                        else "") + mark
                    cells.append(f"{cell:>{w}}")
            out.append(f"{wl:9} {results['params']['n'][wl]:>7} " + " ".join(cells))

    row("wall", "per_op_ns", "ratio")
    out.append("")
    out.append("CPU per operation: workload + monitor (daemon, auditd+kauditd, snoop tools)")
    out.append(f"{'workload':9} {'n':>7} " + " ".join(f"{c:>{w}}" for c in configs))
    row("cpu", "total_cpu", "cpu_ratio")
    out.append("")
    notes = []
    for wl, per in summary.items():
        for c, s in per.items():
            if s.get("lost"):
                notes.append(f"  ! {wl}/{c}: {s['lost']} events lost by the monitor")
            if "error" in s:
                notes.append(f"  FAILED {wl}/{c}: {s['error']}")
    sl = {wl: per.get("sl-session", {}).get("records_per_op") for wl, per in summary.items()}
    if any(v is not None for v in sl.values()):
        out.append("audit records per operation in a session: " + ", ".join(
            f"{wl} {v:.2f}" for wl, v in sl.items() if v is not None))
    tg = {wl: per["sl-session"] for wl, per in summary.items()
          if per.get("sl-session", {}).get("tls_probed")}
    if tg:
        out.append("TLS probes attached per session process (the gate holds it meanwhile): "
                   + ", ".join(f"{wl} {s['tls_attach_ms_per_process']:.1f} ms attaching, "
                               f"{s['tls_held_ms_per_process']:.1f} ms held "
                               f"({s['tls_probed']} processes)" for wl, s in tg.items()))
    so = {wl: per.get("sl-outside", {}).get("records_per_op") for wl, per in summary.items()}
    if any(v is not None for v in so.values()):
        out.append("audit records per operation outside sessions: " + ", ".join(
            f"{wl} {v:.4f}" for wl, v in so.items() if v is not None))
    out.extend(notes)
    n_over = sum(1 for r in results["runs"] if r.get("disturbed"))
    if n_over:
        seen = sorted({f.split("[")[0] if "[" in f else "other load"
                       for r in results["runs"] for f in r.get("disturbed", [])})
        out.append(f"  {n_over} of {len(results['runs'])} runs were disturbed ({', '.join(seen)}):"
                   " left out where a clean run exists; ~ marks cells with only such runs")
    for name, why in results["unavailable"].items():
        out.append(f"  {name}: not measured: {why}")
    prof = results.get("bpf_profile")
    if prof:
        out.append("")
        out.append("BPF run time per operation (BPF_ENABLE_STATS, bpftool; one extra run each; "
                   "top programs in a session):")
        for wl, per in prof.items():
            top = sorted(per["sl-session"]["programs"].items(),
                         key=lambda kv: -kv[1]["ns_per_op"])[:3]
            out.append(f"  {wl:8} outside {fmt_ns(per['sl-outside']['ns_per_op']):>8}"
                       f"  session {fmt_ns(per['sl-session']['ns_per_op']):>8}: " + ", ".join(
                           f"{k} {fmt_ns(v['ns_per_op'])}" for k, v in top))
    if results.get("bpf_profile_error"):
        out.append(f"BPF profile not measured: {results['bpf_profile_error']}")
    ramp_r = results.get("ramp")
    if ramp_r:
        out.append("")
        out.append(f"Zero-loss ramp (open loop in a session, {ramp_r['seconds_per_step']}s "
                   "per step, every event checked in the audit log):")
        for s in ramp_r["steps"]:
            tgt = f"{s['target_rate']}/s" if s["target_rate"] else "unpaced"
            out.append(f"  {tgt:>10}: {s['achieved_rate']:>8}/s achieved, "
                       f"{s['records_found']}/{s['n']} records, lost {s['lost']}, "
                       f"daemon wrote {s['daemon_rate']}/s, drained {s['drain_s'] - s['run_s']:.2f}s"
                       f" after, RSS {s['daemon_mem_kib'].get('VmRSS', 0) // 1024} MiB,"
                       f" daemon CPU {s.get('daemon_cpu_per_record_ns', 0)}ns/record"
                       f"{'' if s['zero_loss'] else '  LOSS'}"
                       f"{'' if s['kept_up'] or not s['zero_loss'] else '  (ring buffer absorbed it)'}"
                       f"{'  ~' if s.get('foreign') else ''}"
                       f"{'  (loop slowed)' if s['target_rate'] and s['achieved_rate'] < 0.9 * s['target_rate'] else ''}")
        out.append(f"  sustained zero-loss rate (daemon keeps pace): "
                   f"{ramp_r['sustained_zero_loss_rate']} events/s; zero loss for "
                   f"{ramp_r['seconds_per_step']}s bursts up to {ramp_r['burst_zero_loss_rate']}"
                   f" events/s ({(ramp_r['ringbuf_bytes'] or 0) >> 20} MiB ring buffer); "
                   "daemon writes at most "
                   f"{ramp_r['daemon_max_write_rate']} records/s")
        if ramp_r.get("baseline_rate"):
            out.append(f"  unmonitored open loop in the same run: {ramp_r['baseline_rate']}/s; "
                       f"sustained zero-loss rate / baseline = "
                       f"{ramp_r.get('sustained_ratio_to_baseline')}")
        thr = ramp_r.get("throttle") or {}
        if thr.get("achieved_rate"):
            slow = (f"; {round(ramp_r['baseline_rate'] / thr['achieved_rate'], 2)}x slower than "
                    "the unmonitored loop" if ramp_r.get("baseline_rate") else "")
            out.append(f"  loss: throttle (default), unpaced loop: {thr['achieved_rate']}/s, "
                       f"{thr['records_found']}/{thr['n']} records, lost {thr['lost']}, "
                       f"stopped {thr.get('throttle_stops')} times ({thr.get('throttled_ms')} ms)"
                       f"{slow}")
        best = max((s for s in ramp_r["steps"] if s["zero_loss"] and s["kept_up"]),
                   key=lambda s: s["achieved_rate"], default=None)
        if best and best.get("rooms_ns_per_record"):
            rooms = best["rooms_ns_per_record"]
            out.append("  daemon CPU per record by room at the sustained rate (ns): " + ", ".join(
                f"{k.replace('_ns', '')} {v}" for k, v in rooms.items()) +
                f"; {best.get('write_batches', 0)} write batches for "
                f"{best['records_written']} records")
    if results.get("ramp_error"):
        out.append(f"ramp FAILED: {results['ramp_error']}")
    b = results.get("backlog")
    if b:
        out.append(f"Backlog (daemon stopped while the loop filled a 256 MiB ring, then timed):"
                   f" {b['records']} records written in {b['drain_s']}s = {b['rate']}/s, lost "
                   f"{b['lost']}; daemon CPU {b['daemon_cpu_per_record_ns']}ns/record (" +
                   ", ".join(f"{k.replace('_ns', '')} {v}" for k, v in
                             b["rooms_ns_per_record"].items()) +
                   f"): the event loop's thread alone keeps up with "
                   f"{b['loop_thread_capacity']} records/s when it has a CPU")
    if results.get("backlog_error"):
        out.append(f"backlog not measured: {results['backlog_error']}")
    mem = results.get("daemon_mem_kib") or {}
    idle = [m for runs in mem.values() for tag, m in runs if tag == "idle" and m]
    hwm = [m.get("VmHWM", 0) for runs in mem.values() for tag, m in runs if m]
    if idle:
        out.append(f"scopelockd RSS: idle {int(statistics.median(m['VmRSS'] for m in idle)) >> 10}"
                   f" MiB, peak (VmHWM) {max(hwm) // 1024} MiB")
    return "\n".join(out)


def machine_info():
    info = {"kernel": platform.release(), "nproc": os.cpu_count()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        info["commit"] = run_cmd(["git", "-C", REPO, "rev-parse", "HEAD"]).stdout.strip()
        info["dirty"] = bool(run_cmd(["git", "-C", REPO, "status", "--porcelain",
                                      "--untracked-files=no"]).stdout.strip())
    except (BenchError, OSError):
        pass
    for pkg in ("auditd", "libbpf-tools", "openssl", "curl"):
        p = run_cmd(["dpkg-query", "-W", "-f=${Version}", pkg], check=False)
        info[pkg] = p.stdout.strip() if not p.returncode else None
    return info


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench/run.sh",
        description="scopelock overhead, side by side with auditd and libbpf-tools "
                    "(ratios to read, not a test). Run as root.",
        epilog="examples:\n  bench/run.sh\n  bench/run.sh --quick\n"
               "  bench/run.sh --configs baseline,sl-outside,sl-session --workloads open,exec\n"
               "  bench/run.sh --reps 9 --no-ramp\n"
               "  bench/run.sh --configs sl-session --workloads open --policy my.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer iterations (about 2 minutes)")
    ap.add_argument("--reps", type=int, help="repetitions (default 5, --quick 3)")
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help="comma-separated subset of " + ",".join(CONFIGS))
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help="comma-separated subset of " + ",".join(WORKLOADS))
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every iteration count")
    ap.add_argument("--scope", default="bench", help="scope of the bench sessions")
    ap.add_argument("--policy", default=None,
                    help="policy the daemon runs (default policies/default.yaml; the bench "
                         "extends it with loss: drop for its scope)")
    ap.add_argument("--no-ramp", action="store_true", help="skip the zero-loss ramp")
    ap.add_argument("--no-profile", action="store_true",
                    help="skip the per-program BPF run time profile")
    ap.add_argument("--ramp-seconds", type=float, help="seconds per ramp step (3, --quick 1.5)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per workload run")
    ap.add_argument("--quiet-wait", type=float, default=120,
                    help="seconds in all to wait for monitors this bench did not start "
                         "(another scopelockd, auditd...) to go away (default 120)")
    ap.add_argument("--out", help="results JSON (default bench/results/<timestamp>.json)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir and audit logs")
    ap.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1,
                    help="CPU the workloads and their loopback servers run on (default: the "
                         "last; -1: not pinned). Keeps client/server ping-pong off cross-CPU "
                         "wake-ups, which vary from run to run")
    ap.add_argument("--bin-dir", help="where scopelockd and scopelock are (default bin/)")
    ap.add_argument("--no-build", action="store_true",
                    help="do not run make first (bench/run.sh reads this)")
    a = ap.parse_args(argv)
    a.configs = [c for c in a.configs.split(",") if c]
    a.workloads = [w for w in a.workloads.split(",") if w]
    for c in a.configs:
        if c not in CONFIGS:
            ap.error(f"unknown config '{c}' (one of {', '.join(CONFIGS)})")
    for w in a.workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload '{w}' (one of {', '.join(WORKLOADS)})")
    if "baseline" not in a.configs:
        a.configs.insert(0, "baseline")
    a.configs = [c for c in CONFIGS if c in a.configs]
    a.reps = a.reps or (3 if a.quick else 5)
    if a.cpu < 0:
        a.cpu = None
    elif a.cpu not in os.sched_getaffinity(0):
        ap.error(f"--cpu {a.cpu}: not a CPU this process may use")
    if a.reps < 1 or a.scale <= 0:
        ap.error("--reps and --scale must be positive")
    a.n = {w: max(1, int(WORKLOADS[w][1 if a.quick else 0] * a.scale)) for w in a.workloads}
    a.ramp_seconds = a.ramp_seconds or (1.5 if a.quick else 3.0)
    a.ramp_rates = [10000, 25000, 50000, 100000, 200000, 400000, 500000, 600000, 800000]
    return a


def main(argv):
    args = parse_args(argv)
    global DAEMON, CLI, POLICY
    if args.policy:
        POLICY = Path(args.policy).resolve()
    if args.bin_dir:
        DAEMON, CLI = Path(args.bin_dir) / "scopelockd", Path(args.bin_dir) / "scopelock"
    if os.geteuid() != 0:
        log("run as root (the daemon, auditd and the BPF tools need it)")
        return 1
    for b in (DAEMON, CLI):
        if not os.access(b, os.X_OK):
            log(f"{b} is missing: run `make` first")
            return 1
    if not POLICY.exists():
        log(f"{POLICY} is missing")
        return 1

    def on_signal(signum, frame):
        raise Interrupted(f"signal {signum}")

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    started = datetime.datetime.now(datetime.timezone.utc)
    results = {"started": started.isoformat(), "machine": machine_info(),
               "params": {"reps": args.reps, "daemon": str(DAEMON), "cpu": args.cpu, "configs": args.configs,
                          "workloads": args.workloads, "n": args.n, "quick": args.quick,
                          "scope": args.scope, "audit_rule": " ".join(AUDIT_RULE),
                          "ramp_rates": args.ramp_rates, "ramp_seconds": args.ramp_seconds},
               "unavailable": {}, "errors": {}, "runs": []}
    ctx = Ctx(args.keep)
    status = 0
    try:
        servers = Servers(ctx, args.cpu)
        sl = Scopelockd(ctx, args.scope)
        monitors = {"none": NoMonitor(), "scopelockd": sl, "auditd": Auditd(ctx),
                    "snoop": Snoop(ctx), "uprobes": Uprobes(ctx)}
        for state, mon in monitors.items():
            if mon.error and any(c in args.configs for c in STATES[state]):
                results["unavailable"][state] = mon.error
                log(f"{state}: not measured: {mon.error}")
        run_reps(args, ctx, servers, monitors, results["runs"], results["errors"])
        results["unavailable"].update(results["errors"])
        if "tcpconnect" in monitors["snoop"].unavailable and "snoop" in args.configs:
            results["unavailable"]["snoop/tcpconnect"] = monitors["snoop"].unavailable[
                "tcpconnect"]
        results["daemon_mem_kib"] = {"reps": sl.mem}
        if not args.no_profile and not sl.error:
            profile(args, ctx, servers, results)
        if not args.no_ramp and not sl.error:
            ramp(args, ctx, results)
            backlog(args, ctx, results)
        if "scopelockd" in results["unavailable"] or results.get("ramp_error"):
            status = 1
    except Interrupted as e:
        log(f"interrupted ({e}): cleaning up")
        results["interrupted"] = str(e)
        status = 130
    except BenchError as e:
        log(str(e))
        results["fatal"] = str(e)
        status = 1
    except Exception as e:  # a bug here: still clean up and save what was measured
        import traceback
        traceback.print_exc()
        results["fatal"] = f"{type(e).__name__}: {e}"
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for m in list(locals().get("monitors", {}).values()):
            try:
                m.stop()
            except Exception as e:  # keep cleaning up
                log(f"stopping {m.name}: {e}")
        ctx.close()

    results["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
    results["summary"] = summarize(results["runs"], args.configs, args.workloads)
    report = print_report(results)
    results["report"] = report
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = Path(args.out) if args.out else RESULTS / (started.strftime("%Y%m%dT%H%M%SZ") + ".json")
    out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(report)
    print(f"\nraw results: {out}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
