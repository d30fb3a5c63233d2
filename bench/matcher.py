#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""scopelock matcher bench: what the in-kernel policy matcher costs per TLS
write (1, 4, 16 KiB) and per exec, as a ratio to the capture-only path, in
one run. Run as root from anywhere:

    /usr/bin/python3 bench/matcher.py           # about 2-3 minutes
    /usr/bin/python3 bench/matcher.py --quick   # about 1 minute

Four configurations, in rounds whose order rotates (N C L M, C L M N, ...);
each daemon is started afresh (own socket, state dir, audit dir, cgroup
parent scopelock-benchm-<random>, --fsync none):

  none     no daemon of this bench, workloads outside any session: what the
           loops cost on this machine (context only: the uprobe trap alone
           costs far more than the matcher here)
  capture  a policy with the two environments but no labels, patterns or
           rules: both keyword DFAs are empty, so a TLS write is captured
           and no byte is walked; an exec finds no exec rule and stops.
           The closest to "no matcher" the daemon can run (it always loads a
           policy, so generation 0 only exists before start-up).
  labels   the shipped environments (labels and the registered secret) but
           no patterns and no rules: the TLS write still walks every byte
           through the label DFAs (the TLS path has no "no rule" shortcut);
           an exec stops at "no exec rule".
  matcher  policies/default.yaml plus a production secret (a temp token
           file): the realistic DFAs, patterns and rules.

In each, inside a session (scopelock run -q --scope staging), the workloads
time themselves (bench/workloads): one TLS connection to a loopback sink
(outside the session) and N SSL_write calls of 1, 4 and 16 KiB of plaintext
that matches no pattern; and fork+exec+wait of /bin/true N times. Then a
shorter pass with BPF run-time statistics on (BPF_ENABLE_STATS, held only
for that pass) reads run_time_ns / run_cnt of the daemon's own programs from
/proc/PID/fdinfo. Nothing may be killed: a verdict or a lost event during a
run is reported as an error.

Raw results: bench/results/matcher-<UTC timestamp>.json. Every process
started here is stopped by pid; cgroups and temp dirs are removed on
success, failure and Ctrl-C. Loopback only.
"""

import argparse
import ctypes
import datetime
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
BUILD = REPO / "bench" / ".build"
WORKLOADS_SRC = REPO / "bench" / "workloads"
DEFAULT_POLICY = REPO / "policies" / "default.yaml"
SCOPE = "staging"
CONFIGS = ["none", "capture", "labels", "matcher"]
# workload -> (timed iterations full, --quick; stats pass iterations)
TLS_SIZES = [1024, 4096, 16384]
ITER = {
    "tls1k": (20000, 8000, 5000),
    "tls4k": (10000, 4000, 2500),
    "tls16k": (3000, 1200, 800),
    "exec": (1500, 600, 400),
}
WORKLOADS = list(ITER)
TLS_WARMUP = 200
EXEC_WARMUP = 20
# programs whose per-run cost is the headline of the stats pass
MAIN_PROG = {"tls1k": "sl_ssl_write", "tls4k": "sl_ssl_write", "tls16k": "sl_ssl_write",
             "exec": "sl_exec"}
# plaintext words: none of them is (or contains) a keyword of the default policy
WORDS = ["alpha", "beta", "gamma", "items", "name", "value", "count", "status", "page",
         "cursor", "node", "edges", "title", "updated", "created", "owner", "region", "size",
         "limit", "offset", "order", "asc", "label", "color", "weight", "height", "note"]
# substrings the payload must not contain (case-insensitive): every keyword of the
# shipped TLS patterns, checked again here in case the word list is edited
FORBIDDEN = ["mutation", "delete", "destroy", "purge", "remove", "drop ", "truncate",
             "flushall", "flushdb", "delete from"]
BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0
NR_BPF = 321  # x86_64
FOREIGN_COMMS = {"scopelockd", "auditd", "bpftrace", "tcpconnect", "tetragon", "falco",
                 "sysdig", "perf"}


class BenchError(Exception):
    pass


class Interrupted(Exception):
    pass


def log(msg):
    print(f"matcher: {msg}", file=sys.stderr, flush=True)


def tail(path, lines=15):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_cmd(argv, timeout=60, check=True, env=None):
    p = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout, env=env)
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


def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            if parts[sep + 1] == "cgroup2":
                return Path(parts[4])
    return None


def foreign_daemons(ours):
    """Monitors this bench did not start (another scopelockd, auditd, a snoop tool,
    bpftrace, another bench): their hooks fire for every process, ours included."""
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


def wait_quiet(ctx, budget):
    """Wait (at most budget[0] seconds over the whole bench) for foreign monitors to go."""
    ours = {p.pid for p, _ in ctx.procs}
    t0 = time.monotonic()
    f = foreign_daemons(ours)
    if f and budget[0] > 0:
        log(f"waiting up to {budget[0]:.0f}s for {', '.join(f)} to go away")
        wait_until(lambda: not foreign_daemons(ours), budget[0], 0.5)
        budget[0] -= time.monotonic() - t0


# ---------------------------------------------------------------- BPF stats

class BpfStats:
    """BPF_ENABLE_STATS(BPF_STATS_RUN_TIME): run time is counted while the fd is open."""

    def __init__(self):
        self.fd = -1

    def __enter__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        attr = ctypes.create_string_buffer(16)  # union bpf_attr { .enable_stats.type }
        ctypes.c_uint32.from_buffer(attr, 0).value = BPF_STATS_RUN_TIME
        fd = libc.syscall(ctypes.c_long(NR_BPF), ctypes.c_long(BPF_ENABLE_STATS), attr,
                          ctypes.c_uint(len(attr)))
        if fd < 0:
            e = ctypes.get_errno()
            raise BenchError(f"BPF_ENABLE_STATS: {os.strerror(e)}")
        self.fd = fd
        return self

    def __exit__(self, *exc):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        return False


def prog_names():
    p = run_cmd(["bpftool", "-j", "prog", "show"], timeout=30)
    return {int(x["id"]): x.get("name", "?") for x in json.loads(p.stdout)}


def daemon_progs(pid):
    """prog_id -> (run_time_ns, run_cnt) of the BPF programs the daemon holds."""
    out = {}
    fddir = Path(f"/proc/{pid}/fd")
    for fd in fddir.iterdir():
        try:
            if os.readlink(fd) != "anon_inode:bpf-prog":
                continue
            info = {}
            for line in Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text().splitlines():
                k, _, v = line.partition(":")
                info[k.strip()] = v.strip()
        except OSError:
            continue
        if "prog_id" in info:
            out[int(info["prog_id"])] = (int(info.get("run_time_ns", 0)),
                                         int(info.get("run_cnt", 0)))
    return out


# ---------------------------------------------------------------- set-up

class Ctx:
    """Temp dir and every process started here, stopped by pid in reverse order."""

    def __init__(self, keep):
        self.tmp = Path(tempfile.mkdtemp(prefix="scopelock-benchm-"))
        self.keep = keep
        self.procs = []

    def spawn(self, argv, name, stdout=None, stderr=None):
        p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                             stdout=stdout or subprocess.DEVNULL,
                             stderr=stderr or subprocess.DEVNULL)
        self.procs.append((p, name))
        return p

    def stop(self, p, timeout=20):
        self.procs = [(q, n) for q, n in self.procs if q is not p]
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"pid {p.pid} did not stop in {timeout}s: SIGKILL")
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


def build_workloads():
    BUILD.mkdir(parents=True, exist_ok=True)
    cflags = ["-O2", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE"]
    for name, libs in (("tls_write_loop", ["-lssl", "-lcrypto"]),
                       ("tls_sink", ["-lssl", "-lcrypto"]), ("exec_loop", [])):
        run_cmd(["cc", *cflags, "-o", BUILD / name, WORKLOADS_SRC / f"{name}.c", *libs],
                timeout=120)


def make_payload(size):
    """An HTTP/1.1 POST of exactly size bytes whose JSON body names nothing destructive."""
    body_len = 0
    for _ in range(3):  # the header's Content-Length digits settle in two passes
        head = ("POST /v1/items HTTP/1.1\r\nHost: api.bench.invalid\r\n"
                "Content-Type: application/json\r\nAuthorization: Bearer stg_bench_readonly\r\n"
                f"Content-Length: {body_len}\r\n\r\n")
        body_len = size - len(head)
    if body_len < 16:
        raise BenchError(f"payload size {size} too small")
    parts, i = ['{"query":"query { items(first: 50) { edges { node { id name } } } }","notes":"'], 0
    n = len(parts[0]) + 2
    while n < body_len:
        w = WORDS[(i * 7 + i // len(WORDS)) % len(WORDS)] + (" " if i % 9 else ", ")
        parts.append(w)
        n += len(w)
        i += 1
    body = "".join(parts)[:body_len - 2] + '"}'
    data = (head + body).encode()
    assert len(data) == size, (len(data), size)
    low = data.lower()
    for k in FORBIDDEN:
        if k.encode() in low:
            raise BenchError(f"payload contains '{k}'")
    return data


def make_policies(d, token_file):
    """capture / labels / matcher policy files from policies/default.yaml."""
    src = DEFAULT_POLICY.read_text().splitlines(keepends=True)
    secret = ["    secrets:\n", f"      - file: {token_file}\n", "        format: raw\n"]
    with_secret, found = [], False
    for line in src:
        with_secret.append(line)
        if line.rstrip() == "  production:":
            with_secret.extend(secret)
            found = True
    if not found:
        raise BenchError(f"{DEFAULT_POLICY}: no '  production:' environment to add a secret to")

    def sections(lines):
        """top-level key -> its lines (comments before a key go with it)"""
        out, cur, pending = {}, None, []
        for line in lines:
            if line[:1].isalpha():
                cur = line.split(":", 1)[0]
                out[cur] = pending + [line]
                pending = []
            elif cur is None or line.startswith("#") or not line.strip():
                pending.append(line)
            else:
                out[cur].extend(pending + [line])
                pending = []
        return out

    sec = sections(with_secret)
    for k in ("version", "environments", "patterns", "rules"):
        if k not in sec:
            raise BenchError(f"{DEFAULT_POLICY}: no top-level '{k}'")
    envs = [line.strip().rstrip(":") for line in sec["environments"]
            if line.startswith("  ") and not line.startswith("   ") and line.strip().endswith(":")
            and not line.strip().startswith("#")]
    if SCOPE not in envs:
        raise BenchError(f"{DEFAULT_POLICY}: no '{SCOPE}' environment (found {envs})")
    head = "# generated by bench/matcher.py\nversion: 1\nmode: enforce\n"
    pols = {
        "capture": head + "environments:\n" + "".join(f"  {e}: {{}}\n" for e in envs),
        "labels": head + "".join(sec.get("settings", [])) + "".join(sec["environments"]),
        "matcher": "".join(with_secret),
    }
    out = {}
    for name, text in pols.items():
        p = d / f"{name}.yaml"
        p.write_text(text)
        out[name] = p
    return out, envs


# ---------------------------------------------------------------- daemon

class Daemon:
    def __init__(self, ctx, bins, config, policy, ringbuf):
        self.ctx, self.bins, self.config, self.policy = ctx, bins, config, policy
        self.ringbuf = ringbuf
        self.proc = None
        self.cg_name = None

    def cli(self, *args):
        return [self.bins["scopelock"], "--socket", self.sock, *args]

    def start(self):
        d = Path(tempfile.mkdtemp(prefix=f"{self.config}-", dir=self.ctx.tmp))
        self.dir, self.sock = d, d / "sock"
        self.cg_name = f"scopelock-benchm-{secrets.token_hex(4)}"
        self.logf = d / "daemon.log"
        argv = [self.bins["scopelockd"], "--policy", self.policy, "--audit-dir", d / "audit",
                "--socket", self.sock, "--state-dir", d / "state", "--cgroup-parent",
                self.cg_name, "--fsync", "none", "--ringbuf-size", self.ringbuf]
        with open(self.logf, "w") as f:
            self.proc = self.ctx.spawn(argv, f"scopelockd/{self.config}", stdout=f, stderr=f)

        def ready():
            if self.proc.poll() is not None:
                return True
            return run_cmd(self.cli("status"), check=False).returncode == 0

        wait_until(ready, 60, 0.1)
        if self.proc.poll() is not None or run_cmd(self.cli("status"), check=False).returncode:
            raise BenchError(f"scopelockd ({self.config}) did not start:\n"
                             f"  {' '.join(map(str, argv))}\n{tail(self.logf)}")
        st = self.status()
        if not st.get("policy_generation"):
            raise BenchError(f"scopelockd ({self.config}): no policy in force")

    def status(self):
        return json.loads(run_cmd(self.cli("status", "--json")).stdout)

    def counters(self):
        st = self.status()
        loss = st.get("loss") or {}
        lost = sum(int(v) for cause in ("ringbuf_full", "map_full", "read_fault")
                   for v in (loss.get(cause) or {}).values())
        ev = st.get("events") or {}
        return {"seq": int(st.get("audit_last_seq") or 0), "lost": lost,
                "verdicts": int(ev.get("verdict") or 0),
                "tls_write": int(ev.get("tls_write") or 0), "exec": int(ev.get("exec") or 0)}

    def settle(self, timeout=60):
        """Wait until the daemon has written what the kernel handed over."""
        last, stable, end = None, 0, time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise BenchError(f"scopelockd died (status {self.proc.returncode}):\n"
                                 f"{tail(self.logf)}")
            seq = self.counters()["seq"]
            stable = stable + 1 if seq == last else 0
            if stable >= 2:
                return
            last = seq
            time.sleep(0.1)
        log(f"scopelockd ({self.config}) still writing after {timeout}s")

    def stop(self):
        if self.proc:
            rc = self.ctx.stop(self.proc, timeout=30)
            self.proc = None
            if rc not in (0, -signal.SIGTERM):
                log(f"scopelockd ({self.config}) exited with status {rc}:\n{tail(self.logf)}")
        self.cleanup_cgroups()
        if not self.ctx.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def cleanup_cgroups(self):
        mnt = cgroup2_mount()
        if not self.cg_name or not mnt or not (mnt / self.cg_name).exists():
            return
        parent = mnt / self.cg_name
        # only this bench's own sessions live under this random parent
        for procs in sorted(parent.rglob("cgroup.procs"), reverse=True):
            try:
                pids = procs.read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        for d in sorted((p for p in parent.rglob("*") if p.is_dir()), reverse=True) + [parent]:
            wait_until(lambda: not (d / "cgroup.procs").exists()
                       or not (d / "cgroup.procs").read_text().strip(), 5)
            try:
                d.rmdir()
            except OSError as e:
                log(f"cannot remove {d}: {e}")


# ---------------------------------------------------------------- runs

def workload_argv(wl, n, port, payloads):
    if wl == "exec":
        return [BUILD / "exec_loop", n, EXEC_WARMUP, "/bin/true"]
    size = {"tls1k": 1024, "tls4k": 4096, "tls16k": 16384}[wl]
    return [BUILD / "tls_write_loop", port, payloads[size], n, TLS_WARMUP]


def run_workload(dm, wl, n, port, payloads, env, timeout):
    if dm is None:  # config none
        p = run_cmd(workload_argv(wl, n, port, payloads), timeout=timeout, check=False, env=env)
        if p.returncode:
            raise BenchError(f"{wl} without a daemon: exit {p.returncode}: {p.stderr.strip()}")
        res = json.loads(p.stdout.strip().splitlines()[-1])
        res.update(verdicts=0, lost=0, records=0, captured=0)
        return res
    argv = dm.cli("run", "-q", "--scope", SCOPE, "--allow-root", "--",
                  *workload_argv(wl, n, port, payloads))
    c0 = dm.counters()
    p = run_cmd(argv, timeout=timeout, check=False, env=env)
    if p.returncode:
        raise BenchError(f"{wl} in a {dm.config} session: exit {p.returncode}: "
                         f"{p.stderr.strip()}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    dm.settle()
    c1 = dm.counters()
    res["verdicts"] = c1["verdicts"] - c0["verdicts"]
    res["lost"] = c1["lost"] - c0["lost"]
    res["records"] = c1["seq"] - c0["seq"]
    res["captured"] = (c1["exec"] - c0["exec"]) if wl == "exec" else (
        c1["tls_write"] - c0["tls_write"])
    if res["verdicts"]:
        raise BenchError(f"{wl} in a {dm.config} session drew {res['verdicts']} verdicts: "
                         "the plaintext or argv matched a pattern")
    return res


def prog_delta(before, after, names_cache):
    if any(i not in names_cache for i in after):
        names_cache.update(prog_names())
    progs = {}
    for pid_, (t1, c1) in after.items():
        t0, c0 = before.get(pid_, (0, 0))
        if c1 - c0 > 0:
            e = progs.setdefault(names_cache.get(pid_, f"id{pid_}"),
                                 {"run_time_ns": 0, "run_cnt": 0})
            e["run_time_ns"] += t1 - t0
            e["run_cnt"] += c1 - c0
    return progs


def stats_pass(dm, args, port, payloads, env, names_cache):
    """
    run_time_ns / run_cnt of this daemon's programs, per workload. The hooks
    are machine-wide: calls from processes outside the session (other tests,
    other benches) run the same programs and return early. Their count is
    known (runs beyond the workload's own calls) and their cost is measured
    here first, from the same workloads run outside any session; the hook's
    program cost per own call is corrected for them.
    """
    out = {"_outside": {}, "_outside_wall": {}}
    with BpfStats():
        for wl, n in (("tls1k", 2000), ("exec", 200)):
            before = daemon_progs(dm.proc.pid)
            res = run_workload(None, wl, n, port, payloads, env, args.timeout)
            progs = prog_delta(before, daemon_progs(dm.proc.pid), names_cache)
            out["_outside"][wl] = progs
            out["_outside_wall"][wl] = res
        for wl in args.workloads:
            n = ITER[wl][2] if not args.quick else max(1, ITER[wl][2] // 2)
            before = daemon_progs(dm.proc.pid)
            res = run_workload(dm, wl, n, port, payloads, env, args.timeout)
            progs = prog_delta(before, daemon_progs(dm.proc.pid), names_cache)
            main = MAIN_PROG[wl]
            # own calls: the timed ones, the warm-up, and exec: scopelock run's exec of the loop
            expected = n + (EXEC_WARMUP + 1 if wl == "exec" else TLS_WARMUP)
            cal = out["_outside"]["exec" if wl == "exec" else "tls1k"].get(main)
            c_out = cal["run_time_ns"] / cal["run_cnt"] if cal else 0
            p = progs.get(main, {"run_time_ns": 0, "run_cnt": 0})
            extra = p["run_cnt"] - expected
            out[wl] = {"n": n, "per_op_ns_stats_on": res["mean_ns"], "progs": progs,
                       "bpf_ns_per_op_raw": sum(e["run_time_ns"] for e in progs.values()) / n,
                       "lost": res["lost"], "main_prog": main, "main_expected_runs": expected,
                       "main_extra_runs": extra, "main_outside_ns_per_run": c_out,
                       "main_ns_per_run": (p["run_time_ns"] - max(extra, 0) * c_out) / expected
                       if extra >= 0 else None}
    return out


def run_config(ctx, args, bins, config, policy, port, payloads, env, rnd, data, names_cache):
    dm = Daemon(ctx, bins, config, policy, args.ringbuf_size) if policy else None
    wait_quiet(ctx, args.quiet_budget)
    foreign = foreign_daemons({p.pid for p, _ in ctx.procs})
    try:
        if dm:
            dm.start()
        log(f"round {rnd + 1}: {config}" + (f" (pid {dm.proc.pid})" if dm else "")
            + (f"; other monitors running: {foreign}" if foreign else ""))
        order = args.workloads[rnd % len(args.workloads):] + \
            args.workloads[:rnd % len(args.workloads)]
        for rep in range(args.reps):
            for wl in order:
                n = ITER[wl][1 if args.quick else 0]
                res = run_workload(dm, wl, n, port, payloads, env, args.timeout)
                res.update(config=config, round=rnd, rep=rep, key=wl,
                           foreign=foreign_daemons({p.pid for p, _ in ctx.procs}))
                data["runs"].append(res)
                log(f"  {config:8} {wl:7} mean {res['mean_ns'] / 1000:8.2f} us"
                    f"  median {res['median_ns'] / 1000:8.2f} us"
                    + (f"  LOST {res['lost']}" if res["lost"] else ""))
        if dm and not args.no_stats:
            st = stats_pass(dm, args, port, payloads, env, names_cache)
            data["stats"].append({"config": config, "round": rnd, "workloads": st})
    finally:
        if dm:
            dm.stop()


# ---------------------------------------------------------------- report

def summarize(runs, workloads):
    s = {}
    for wl in workloads:
        s[wl] = {}
        for c in CONFIGS:
            rs = [r for r in runs if r["key"] == wl and r["config"] == c]
            if not rs:
                continue
            clean = [r for r in rs if not r.get("foreign")]
            n_all = len(rs)
            rs = clean or rs
            s[wl][c] = {
                "runs": len(rs),
                "overlapped_excluded": n_all - len(clean) if clean else 0,
                "only_overlapped": not clean,
                "mean_ns": statistics.median(r["mean_ns"] for r in rs),
                "median_ns": statistics.median(r["median_ns"] for r in rs),
                "mean_ns_min": min(r["mean_ns"] for r in rs),
                "mean_ns_max": max(r["mean_ns"] for r in rs),
                "cpu_per_op_ns": statistics.median(r["cpu_ns"] / r["n"] for r in rs),
                "lost": sum(r["lost"] for r in rs),
                "captured_per_op": statistics.median(r["captured"] / r["n"] for r in rs),
            }
    return s


def summarize_stats(stats, workloads):
    out = {"_outside_wall": {}}
    for wl in ("tls1k", "exec"):
        v = [x["workloads"]["_outside_wall"][wl]["median_ns"] for x in stats
             if wl in x["workloads"].get("_outside_wall", {})]
        if v:
            out["_outside_wall"][wl] = statistics.median(v)
    for wl in workloads:
        out[wl] = {}
        for c in CONFIGS:
            ps = [x["workloads"][wl] for x in stats if x["config"] == c and wl in x["workloads"]]
            per_run = [p["main_ns_per_run"] for p in ps if p["main_ns_per_run"] is not None]
            if not per_run:
                continue
            out[wl][c] = {
                "main_prog": MAIN_PROG[wl],
                "main_ns_per_run": statistics.median(per_run),
                "main_ns_per_run_all": per_run,
                "extra_runs": [p["main_extra_runs"] for p in ps],
                "outside_ns_per_run": statistics.median(p["main_outside_ns_per_run"]
                                                        for p in ps),
            }
    return out


def fmt(ns):
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    return f"{ns:.0f} ns"


def ratio(a, b, key):
    return f"{a[key] / b[key]:.2f}x" if a and b and b.get(key) else "-"


def report(data):
    s, st = data["summary"], data.get("stats_summary") or {}
    out = []
    for key, title in (
            ("median_ns", "Per operation, inside a session: median latency of one SSL_write / "
                          "fork+exec+wait (median over runs)"),
            ("mean_ns", "Per operation, loop wall time / N (median over runs): also pays for "
                        "the daemon and the sink competing for the 2 CPUs")):
        out.append(title)
        out.append(f"{'workload':9}" + "".join(f"{c:>12}" for c in CONFIGS)
                   + f"{'matcher/capture':>17}{'matcher/labels':>16}{'capture/none':>14}")
        for wl, per in s.items():
            cells = "".join(f"{fmt(per[c][key]) if c in per else 'n/a':>12}" for c in CONFIGS)
            m, cap, lab, none = (per.get(c) for c in ("matcher", "capture", "labels", "none"))
            out.append(f"{wl:9}{cells}{ratio(m, cap, key):>17}{ratio(m, lab, key):>16}"
                       f"{ratio(cap, none, key):>14}")
        out.append("")
    if st:
        out.append("BPF run time of the hook's program (BPF_ENABLE_STATS), ns per own call "
                   "(median over daemon starts)")
        cs = [c for c in CONFIGS if c != "none"]
        out.append(f"{'workload':9}{'program':>14}{'outside':>10}" + "".join(f"{c:>12}" for c in cs)
                   + f"{'matcher-capture':>17}{'per byte':>10}")
        for wl, per in st.items():
            if wl.startswith("_"):
                continue
            cells = "".join(f"{fmt(per[c]['main_ns_per_run']) if c in per else 'n/a':>12}"
                            for c in cs)
            m, cap = per.get("matcher"), per.get("capture")
            d = m["main_ns_per_run"] - cap["main_ns_per_run"] if m and cap else None
            size = {"tls1k": 1024, "tls4k": 4096, "tls16k": 16384}.get(wl)
            pb = f"{d / size:.2f} ns" if d is not None and size else "-"
            anyc = next(iter(per.values()), None)
            out.append(f"{wl:9}{MAIN_PROG[wl]:>14}"
                       f"{fmt(anyc['outside_ns_per_run']) if anyc else '-':>10}{cells}"
                       f"{fmt(d):>17}{pb:>10}")
    ow = st.get("_outside_wall") or {}
    if ow:
        none = s.get("tls1k", {}).get("none")
        out.append("")
        out.append("Outside any session while a daemon runs (the hooks fire and return at once: "
                   "the trap itself): " + ", ".join(
                       f"{wl} median {fmt(v)}" for wl, v in ow.items())
                   + (f" (none: tls1k {fmt(none['median_ns'])})" if none else ""))
    lost = [(wl, c, x["lost"]) for wl, per in s.items() for c, x in per.items() if x["lost"]]
    for wl, c, n in lost:
        out.append(f"  ! {wl}/{c}: {n} events lost (ring buffer full, map full or read "
                   "fault): that cell did less work than it should")
    fr = sum(1 for r in data["runs"] if r.get("foreign"))
    if fr:
        only = sorted({f"{wl}/{c}" for wl, per in s.items() for c, x in per.items()
                       if x["only_overlapped"]})
        out.append(f"  {fr} of {len(data['runs'])} runs overlapped monitors this bench did not "
                   "start (their hooks fire for every process): left out where a clean run "
                   "exists" + (f"; only overlapped runs for {', '.join(only)}" if only else ""))
    if data.get("fatal") or data.get("interrupted"):
        out.append(f"  INCOMPLETE: {data.get('fatal') or data.get('interrupted')}")
    return "\n".join(out)


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench/matcher.py",
        description="cost of the in-kernel policy matcher per TLS write and per exec, as a "
                    "ratio to the capture-only path (run as root)")
    ap.add_argument("--quick", action="store_true", help="fewer iterations (about 1 minute)")
    ap.add_argument("--rounds", type=int,
                    help="daemon starts per configuration (default 2)")
    ap.add_argument("--reps", type=int,
                    help="runs of every workload per daemon start (default 3, --quick 2)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help="comma-separated subset of " + ",".join(WORKLOADS))
    ap.add_argument("--no-stats", action="store_true", help="skip the BPF run-time pass")
    ap.add_argument("--ringbuf-size", default="64M",
                    help="daemon ring buffer (default 64M: a 16 KiB run fits without loss)")
    ap.add_argument("--bin-dir", default=str(REPO / "bin"),
                    help="where scopelockd and scopelock are (copied first; default bin/)")
    ap.add_argument("--timeout", type=int, default=120, help="seconds per workload run")
    ap.add_argument("--quiet-wait", type=float, default=60,
                    help="seconds in all to wait for monitors this bench did not start to go "
                         "away before a configuration starts (default 60)")
    ap.add_argument("--out", help="raw JSON (default bench/results/matcher-<timestamp>.json)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args(argv)
    a.workloads = [w for w in a.workloads.split(",") if w]
    for w in a.workloads:
        if w not in ITER:
            ap.error(f"unknown workload '{w}'")
    a.reps = a.reps or (2 if a.quick else 3)
    a.rounds = a.rounds or 2
    a.quiet_budget = [a.quiet_wait]
    if a.rounds < 1 or a.reps < 1:
        ap.error("--rounds and --reps must be positive")
    return a


def workload_env():
    """A fixed environment for the session (the exec verdict walks it): about 600 bytes."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": "/root", "LANG": "C.UTF-8", "TERM": "xterm-256color", "USER": "root",
           "SHELL": "/bin/bash", "LOGNAME": "root", "PWD": str(REPO),
           "EDITOR": "vi", "PAGER": "less", "TZ": "UTC",
           "LS_COLORS": "rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35:do=01;35:bd=40;33;01:"
                        "cd=40;33;01:or=40;31;01:mi=00:su=37;41:sg=30;43:ca=00:tw=30;42:"
                        "ow=34;42:st=37;44:ex=01;32:*.tar=01;31:*.tgz=01;31:*.zip=01;31:"
                        "*.gz=01;31:*.bz2=01;31:*.jpg=01;35:*.png=01;35:*.mp3=00;36",
           "npm_config_cache": "/root/.npm", "PYTHONDONTWRITEBYTECODE": "1",
           "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "CI": "false"}
    return env


def machine_info():
    info = {"kernel": platform.release(), "nproc": os.cpu_count()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["bpf_stats_enabled_sysctl"] = Path(
            "/proc/sys/kernel/bpf_stats_enabled").read_text().strip()
    except OSError:
        pass
    p = run_cmd(["git", "-C", REPO, "rev-parse", "HEAD"], check=False)
    info["commit"] = p.stdout.strip()
    p = run_cmd(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                check=False)
    info["dirty"] = bool(p.stdout.strip())
    return info


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("run as root (the daemon and BPF statistics need it)")
        return 1
    for b in ("scopelockd", "scopelock"):
        if not os.access(Path(args.bin_dir) / b, os.X_OK):
            log(f"{Path(args.bin_dir) / b} is missing: run `make` first")
            return 1
    if not shutil.which("bpftool") and not args.no_stats:
        log("bpftool is missing (apt-get install bpftool), or pass --no-stats")
        return 1

    def on_signal(signum, frame):
        raise Interrupted(f"signal {signum}")

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    started = datetime.datetime.now(datetime.timezone.utc)
    data = {"started": started.isoformat(), "machine": machine_info(),
            "params": {"rounds": args.rounds, "reps": args.reps, "quick": args.quick,
                       "workloads": args.workloads, "scope": SCOPE,
                       "iterations": {w: ITER[w][1 if args.quick else 0]
                                      for w in args.workloads},
                       "ringbuf_size": args.ringbuf_size, "tls_warmup": TLS_WARMUP,
                       "exec_warmup": EXEC_WARMUP},
            "runs": [], "stats": []}
    ctx = Ctx(args.keep)
    status = 0
    t0 = time.monotonic()
    try:
        build_workloads()
        bins = {}
        for b in ("scopelockd", "scopelock"):  # a fixed copy: make may run meanwhile
            bins[b] = ctx.tmp / b
            shutil.copy2(Path(args.bin_dir) / b, bins[b])
        srv = ctx.tmp / "srv"
        srv.mkdir()
        run_cmd(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", srv / "key.pem", "-out",
                 srv / "cert.pem", "-days", "2", "-subj", "/CN=api.bench.invalid"])
        token = srv / "prod.token"
        token.write_text("prod_" + secrets.token_hex(20) + "\n")
        token.chmod(0o600)
        policies, envs = make_policies(srv, token)
        for name, p in policies.items():
            r = run_cmd([bins["scopelock"], "policy", "check", p], check=False)
            if r.returncode:
                raise BenchError(f"generated {name} policy is refused:\n{r.stdout}{r.stderr}")
            data["params"][f"policy_{name}"] = r.stdout.strip().splitlines()[-1]
        payloads = {}
        for size in TLS_SIZES:
            payloads[size] = srv / f"payload-{size}"
            payloads[size].write_bytes(make_payload(size))
        env = workload_env()
        data["params"]["env_bytes"] = sum(len(k) + len(v) + 2 for k, v in env.items())
        with open(srv / "sink.port", "w") as fo, open(srv / "sink.err", "w") as fe:
            sink = ctx.spawn([BUILD / "tls_sink", srv / "cert.pem", srv / "key.pem"], "tls_sink",
                             stdout=fo, stderr=fe)
        port = wait_until(lambda: (srv / "sink.port").read_text().strip()
                          or sink.poll() is not None, 10)
        if sink.poll() is not None or not str(port).isdigit():
            raise BenchError(f"tls_sink did not start: {tail(srv / 'sink.err')}")
        port = int(port)
        names_cache = {}
        for rnd in range(args.rounds):
            k = rnd % len(CONFIGS)
            for config in CONFIGS[k:] + CONFIGS[:k]:
                run_config(ctx, args, bins, config, policies.get(config), port, payloads, env,
                           rnd, data, names_cache)
    except Interrupted as e:
        log(f"interrupted ({e}): cleaning up")
        data["interrupted"] = str(e)
        status = 130
    except (BenchError, subprocess.TimeoutExpired) as e:
        log(str(e))
        data["fatal"] = str(e)
        status = 1
    except Exception as e:  # a bug here: still clean up and keep what was measured
        import traceback
        traceback.print_exc()
        data["fatal"] = f"{type(e).__name__}: {e}"
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        ctx.close()
    data["elapsed_s"] = round(time.monotonic() - t0, 1)
    data["summary"] = summarize(data["runs"], args.workloads)
    data["stats_summary"] = summarize_stats(data["stats"], args.workloads)
    text = report(data)
    data["report"] = text
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = Path(args.out) if args.out else \
        RESULTS / ("matcher-" + started.strftime("%Y%m%dT%H%M%SZ") + ".json")
    out.write_text(json.dumps(data, indent=1, default=str) + "\n")
    print(text)
    print(f"\nraw results: {out} ({data['elapsed_s']} s)")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
