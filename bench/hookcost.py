#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""What seeing opens costs a process outside every session, per hook
arrangement this kernel allows (issue 11): the open loop (open + close of one
file, bench/workloads/openloop.c) outside every session, under each
arrangement in turn, in one run against the unmonitored baseline.

  baseline         nothing attached
  slowpath         an empty program on getppid's exit (a syscall the loop never
                   makes): the slow system-call path every task takes once any
                   system-call tracepoint is attached, and nothing else
  slowpath-both    the same on getppid's entry and exit
  tp-empty         an empty program on sys_exit_openat (perf tracepoint path)
  tp-session       the same with scopelock's first test (the current cgroup in a
                   hash of sessions): what each of scopelock's open programs does
                   for a process outside every session
  raw-empty        an empty raw tracepoint program on sys_exit: runs for every
                   system call of the host
  raw-dispatch     the same reading the syscall number, then the session test
                   for openat: "dispatch in one program"
  btf-dispatch     the same as a BTF tracepoint (direct reads) with a per-task
                   mark (task storage) instead of the hash
  fentry-session   fentry on do_sys_openat2 with the session test, and
  lsm-session      lsm/file_open with the session test: no system-call
                   tracepoint at all; reported as not loadable where the kernel
                   refuses them (this one: EPERM)
  scopelockd       the real daemon (shipped policy) while another, idle session
                   exists: its system-call tracepoints are attached (bench.py's
                   sl-outside-busy)

Arrangements are rotated every repetition. Prints the median time per open
and its ratio to baseline; raw numbers go to bench/results/hookcost-<UTC>.json.
Run as root:

  bench/hookcost.py [-n 1000000] [--reps 5] [--no-daemon]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
BUILD = RESULTS / ".build"

ARRANGEMENTS = {
    "baseline": [],
    "slowpath": ["hc_slowpath_exit"],
    "slowpath-both": ["hc_slowpath_enter", "hc_slowpath_exit"],
    "tp-empty": ["hc_tp_empty"],
    "tp-session": ["hc_tp_session"],
    "raw-empty": ["hc_raw_empty"],
    "raw-dispatch": ["hc_raw_dispatch"],
    "btf-dispatch": ["hc_btf_dispatch"],
    "fentry-session": ["hc_fentry_session"],
    "lsm-session": ["hc_lsm_session"],
    "scopelockd": None,
}


def build():
    BUILD.mkdir(parents=True, exist_ok=True)
    src = REPO / "bench" / "hookcost"
    bench.run_cmd(["clang", "-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86", "-Wall",
                   "-Werror", f"-I{REPO / 'vmlinux' / 'x86'}", "-c", src / "hookcost.bpf.c",
                   "-o", BUILD / "hookcost.bpf.o"], timeout=120)
    bench.run_cmd(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", BUILD / "hookcost",
                   src / "hookcost.c", "-lbpf"], timeout=120)
    bench.run_cmd(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE",
                   f"-I{REPO / 'bench' / 'workloads'}", "-o", BUILD / "openloop",
                   REPO / "bench" / "workloads" / "openloop.c"], timeout=120)


def attach(ctx, progs):
    out = ctx.tmp / "hookcost.out"
    f = open(out, "w")
    p = ctx.spawn([BUILD / "hookcost", BUILD / "hookcost.bpf.o", *progs], "hookcost",
                  stdout=f, stderr=f)
    ok = bench.wait_until(lambda: p.poll() is not None or "ready" in out.read_text(), 30)
    f.close()
    if p.poll() is not None or not ok:
        ctx.stop(p)
        lines = out.read_text().strip().splitlines() or ["no output"]
        raise bench.BenchError(f"{' '.join(progs)}: {lines[-1]}")
    return p


def one(ctx, arr, n, target, cpu, daemon):
    holder = loader = None
    try:
        if arr == "scopelockd":
            holder = daemon.hold_session()
        elif ARRANGEMENTS[arr]:
            loader = attach(ctx, ARRANGEMENTS[arr])
        res = bench.run_workload([BUILD / "openloop", n, target], 600, cpu)
    finally:
        if loader:
            ctx.stop(loader)
        if holder:
            daemon.release_session(holder)
            # the links are closed on a worker after the session ends: the next
            # arrangement must not run while they are still attached
            daemon.wait_detached()
    return res["wall_ns"] / n


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1000000, help="opens per run")
    ap.add_argument("--reps", type=int, default=5, help="repetitions of every arrangement")
    ap.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1,
                    help="the CPU the loop runs on (-1: unpinned)")
    ap.add_argument("--no-daemon", action="store_true", help="leave out the scopelockd row")
    ap.add_argument("--no-build", action="store_true", help="use bench/results/.build as is")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args(argv)
    if os.geteuid():
        print("hookcost: run as root (it loads BPF programs)", file=sys.stderr)
        return 1
    if not a.no_build:
        build()
    cpu = None if a.cpu < 0 else a.cpu
    arrs = [k for k in ARRANGEMENTS if not (a.no_daemon and k == "scopelockd")]
    ctx = bench.Ctx(a.keep)
    runs = {k: [] for k in arrs}
    refused = {}
    daemon = None
    try:
        target = ctx.tmp / "target"
        target.write_text("x\n")
        for k in list(arrs):
            if not ARRANGEMENTS[k]:
                continue
            try:
                ctx.stop(attach(ctx, ARRANGEMENTS[k]))
            except bench.BenchError as e:
                refused[k] = str(e)
                arrs.remove(k)
                bench.log(f"{k}: not loadable here: {e}")
        if "scopelockd" in arrs:
            daemon = bench.Scopelockd(ctx, "bench")
            daemon.start()
        for rep in range(a.reps):
            order = arrs[rep % len(arrs):] + arrs[:rep % len(arrs)]
            for arr in order:
                runs[arr].append(one(ctx, arr, a.n, target, cpu, daemon))
            bench.log(f"rep {rep + 1}/{a.reps} done")
    except (bench.BenchError, subprocess.SubprocessError) as e:
        print(f"hookcost: {e}", file=sys.stderr)
        return 1
    finally:
        if daemon:
            daemon.stop()
        ctx.close()
    base = statistics.median(runs["baseline"])
    print(f"open + close outside every session, {a.n} per run, median of {a.reps} "
          f"(CPU {a.cpu}, {os.uname().release})")
    print(f"{'arrangement':16s} {'ns/open':>8s} {'ratio':>6s}  runs (ns/open)")
    for k in arrs:
        m = statistics.median(runs[k])
        print(f"{k:16s} {m:8.1f} {m / base:5.3f}x  {' '.join(f'{v:.0f}' for v in runs[k])}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"hookcost-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps({"n": a.n, "reps": a.reps, "cpu": a.cpu,
                               "kernel": os.uname().release, "ns_per_open": runs,
                               "refused": refused}, indent=1))
    for k, why in refused.items():
        print(f"{k:16s} not loadable here: {why}")
    print(f"raw: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
