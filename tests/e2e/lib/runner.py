# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Discover tests/e2e/test_*.py, tests/adversarial/*.py and
tests/agents/test_*.py, run every test_* function with a fresh Ctx, print one
line per test and a closing "N passed, N failed, N skipped". Exit status 1 if
anything failed.

The agent tests (tests/agents, named agents.<file>.<function>) drive the real
agents that tests/agents/install.sh installs from npm. When any is selected,
the runner runs install.sh first (a no-op when the pinned versions are
installed; skipped when SL_AGENTS_INSTALL_TRIED=1, set by tools/run-tests.sh
which ran it already). If the agents are still not installed, none of the
agent tests runs and each one is reported as FAILED with install.sh's reason:
never a silent skip.

A test marked pending (fn.pending = REASON, tests/agents/lib/agents.py
pending()) waits for work not done yet: it is listed as "PENDING name:
REASON", not run and not counted, unless SL_E2E_PENDING=1 or --pending.

An adversarial case (tests/adversarial/<case>.py, one case per file) declares
EXPECT = "BLOCKED" or "DETECTED" and has one test_* function, which must call
harness.blocked(t, why) or harness.detected(t, why) after asserting the
outcome; the case passes only when the outcome it reported is the one it
expects.

usage: runner.py [-k SUBSTRING]... [-j JOBS] [--keep] [--list] [--pending]
                 [--timeout SECONDS]
"""

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

# adversarial cases share helpers (tests/adversarial/_*.py)
sys.path.insert(1, str(harness.ADVERSARIAL))
# the agent tests' helpers (tests/agents/lib)
AGENTS = harness.REPO / "tests" / "agents"
sys.path.insert(2, str(AGENTS / "lib"))


class TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimeout("test exceeded its time limit")


def _load(path, modname):
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def discover(e2e_dir, adv_dir, agents_dir=AGENTS):
    """(name, fn, timeout, expect) of every test; expect is None for e2e
    and agent tests, "BLOCKED" / "DETECTED" for adversarial cases."""
    tests = []
    for prefix, d in (("", e2e_dir), ("agents.", agents_dir)):
        if prefix:
            # tests/agents/lib/agents.py, not tests/e2e/lib/agents.py (same name)
            sys.modules.pop("agents", None)
            sys.path.insert(0, str(d / "lib"))
        for path in sorted(d.glob("test_*.py")) if d.is_dir() else ():
            mod = _load(path, prefix.replace(".", "_") + path.stem)
            for name in sorted(vars(mod)):
                fn = getattr(mod, name)
                if name.startswith("test_") and callable(fn):
                    tests.append((f"{prefix}{path.stem}.{name}", fn, getattr(fn, "timeout", None),
                                  None))
    for path in sorted(adv_dir.glob("*.py")) if adv_dir.is_dir() else ():
        if path.name.startswith("_"):
            continue
        mod = _load(path, "adversarial_" + path.stem)
        fns = [getattr(mod, n) for n in sorted(vars(mod))
               if n.startswith("test_") and callable(getattr(mod, n))]
        expect = getattr(mod, "EXPECT", None)
        if len(fns) != 1 or expect not in harness.OUTCOMES:
            raise SystemExit(f"{path}: an adversarial case has exactly one test_* function "
                             f"and EXPECT in {harness.OUTCOMES}")
        tests.append((f"adversarial.{path.stem}", fns[0], getattr(fns[0], "timeout", None),
                      expect))
    return tests


def agents_problem(tests):
    """When agent tests are selected: install the pinned agents unless the
    test command did already (tools/run-tests.sh), then None if they are
    installed, else why not."""
    if not any(t[0].startswith("agents.") for t in tests):
        return None
    import agents  # tests/agents/lib
    problem = agents.install_problem()
    if problem and os.environ.get("SL_AGENTS_INSTALL_TRIED") != "1":
        print("== installing the pinned agents (tests/agents/install.sh)", flush=True)
        subprocess.run(["/bin/sh", str(agents.INSTALL)], stdout=subprocess.DEVNULL,
                       stdin=subprocess.DEVNULL)
        problem = agents.install_problem()
    return problem


def run_one(name, fn, tmo, expect, args):
    """Run one test in this process; print its line (and details on failure).
    Returns "PASS", "FAIL" or "SKIP"."""
    t = harness.Ctx(name.split(".")[-1].removeprefix("test_")[:40], keep=args.keep)
    t0 = time.monotonic()
    status, detail = "PASS", ""
    signal.alarm(tmo or args.timeout)
    try:
        fn(t)
        if expect and t.outcome != expect:
            raise harness.TestFailure(
                f"adversarial case expects {expect}, the test reported "
                f"{t.outcome or 'no outcome'}")
    except harness.Skip as e:
        status, detail = "SKIP", str(e)
    except harness.TestFailure as e:
        status, detail = "FAIL", str(e)
    except TestTimeout as e:
        status, detail = "FAIL", f"{e} ({tmo or args.timeout}s)\n" + traceback.format_exc()
    except Exception:  # noqa: BLE001 - a crash in a test is a failure
        status, detail = "FAIL", traceback.format_exc()
    finally:
        signal.alarm(0)
    signal.alarm(60)
    try:
        errs = t.cleanup()
    except TestTimeout:
        errs = ["cleanup timed out"]
    finally:
        signal.alarm(0)
    if errs and status == "PASS":
        status, detail = "FAIL", "\n".join(errs)
    dt = time.monotonic() - t0
    shown = f" [{t.outcome}: {t.outcome_why}]" if expect and status == "PASS" else ""
    print(f"{status} {name} ({dt:.1f}s)" + (f": {detail}" if status == "SKIP" else "")
          + shown, flush=True)
    if status == "FAIL":
        msg = detail.rstrip()
        for d in t.daemons:
            msg += "\n" + d.log_tail(25)
        if errs:
            msg += "\ncleanup: " + "; ".join(errs)
        print("  " + msg.replace("\n", "\n  "), flush=True)
    t.remove_tmp()
    return status


def run_parallel(tests, args):
    """Each test in a child runner (--one NAME), at most args.jobs at a time;
    tests marked serial (fn.serial = True: timing or load sensitive) run
    alone afterwards. Output of each child is printed whole when it ends."""
    results = {}
    me = [sys.executable, os.path.abspath(__file__)]
    common = (["--keep"] if args.keep else []) + ["--timeout", str(args.timeout)]
    par = [t for t in tests if not getattr(t[1], "serial", False)]
    ser = [t for t in tests if getattr(t[1], "serial", False)]

    def launch(name):
        return subprocess.Popen(me + common + ["--one", name], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def collect(name, p):
        out = p.communicate()[0].decode("utf-8", "replace")
        sys.stdout.write(out)
        sys.stdout.flush()
        status = "FAIL"
        for line in out.splitlines():
            word = line.split(" ", 1)[0]
            if word in ("PASS", "FAIL", "SKIP") and f" {name} " in line + " ":
                status = word
        if p.returncode not in (0, 1) and status == "PASS":
            status = "FAIL"
        results[name] = status

    running = []
    queue = [t[0] for t in par]
    while queue or running:
        while queue and len(running) < args.jobs:
            n = queue.pop(0)
            running.append((n, launch(n)))
        time.sleep(0.05)
        for n, p in list(running):
            if p.poll() is not None:
                running.remove((n, p))
                collect(n, p)
    for name, *_ in ser:
        collect(name, launch(name))
    return [results[t[0]] for t in tests]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[], help="run tests whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep temp dirs")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("SL_E2E_TIMEOUT", "180")))
    ap.add_argument("-j", "--jobs", type=int, default=int(os.environ.get("SL_E2E_JOBS", "1")),
                    help="tests run at once (each in its own process); serial ones run alone")
    ap.add_argument("--pending", action="store_true",
                    default=os.environ.get("SL_E2E_PENDING") == "1",
                    help="also run the tests marked pending (they fail until their work lands)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()

    tests = discover(harness.E2E, harness.ADVERSARIAL)
    if args.k:
        tests = [t for t in tests if any(k in t[0] for k in args.k)]
    if args.list:
        for name, fn, _, expect in tests:
            pend = getattr(fn, "pending", None)
            print(name + (f" [{expect}]" if expect else "") + (f" [{pend}]" if pend else ""))
        return 0
    pending = [t for t in tests if getattr(t[1], "pending", None)]
    if not args.pending and not args.one:
        tests = [t for t in tests if not getattr(t[1], "pending", None)]
        for name, fn, *_ in pending:
            print(f"PENDING {name}: {fn.pending} (not run; SL_E2E_PENDING=1 runs it)",
                  flush=True)

    signal.signal(signal.SIGALRM, _alarm)
    if args.one:
        match = [x for x in tests if x[0] == args.one]
        if len(match) != 1:
            print(f"FAIL {args.one}: no such test")
            return 1
        return 0 if run_one(*match[0], args) != "FAIL" else 1
    problem = agents_problem(tests)
    not_run = {}
    if problem:
        not_run = {t[0]: "FAIL" for t in tests if t[0].startswith("agents.")}
        bar = "=" * 78
        print(f"{bar}\nFAILURE: the real agents are not installed, {len(not_run)} agent test(s) "
              f"NOT RUN and counted as failed:\n  {problem}\n{bar}", flush=True)
        for name in not_run:
            print(f"FAIL {name} (0.0s): not run: the agents are not installed", flush=True)
    runnable = [t for t in tests if t[0] not in not_run]
    if args.jobs > 1:
        ran = run_parallel(runnable, args)
    else:
        ran = [run_one(*x, args) for x in runnable]
    done = dict(zip([t[0] for t in runnable], ran), **not_run)
    statuses = [done[t[0]] for t in tests]
    passed = statuses.count("PASS")
    failed = statuses.count("FAIL")
    skipped = statuses.count("SKIP")
    failures = [x[0] for x, st in zip(tests, statuses) if st == "FAIL"]

    if failures:
        print("failed: " + " ".join(failures))
    if pending and not args.pending:
        print(f"pending, not run: {len(pending)} (SL_E2E_PENDING=1 runs them)")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
