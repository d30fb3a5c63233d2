# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Discover tests/e2e/test_*.py and tests/adversarial/*.py, run every test_*
function with a fresh Ctx, print one line per test and a closing
"N passed, N failed, N skipped". Exit status 1 if anything failed.

An adversarial case (tests/adversarial/<case>.py, one case per file) declares
EXPECT = "BLOCKED" or "DETECTED" and has one test_* function, which must call
harness.blocked(t, why) or harness.detected(t, why) after asserting the
outcome; the case passes only when the outcome it reported is the one it
expects.

usage: runner.py [-k SUBSTRING]... [-j JOBS] [--keep] [--list] [--timeout SECONDS]
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


class TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimeout("test exceeded its time limit")


def _load(path, modname):
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def discover(e2e_dir, adv_dir):
    """(name, fn, timeout, expect) of every test; expect is None for e2e
    tests, "BLOCKED" / "DETECTED" for adversarial cases."""
    tests = []
    for path in sorted(e2e_dir.glob("test_*.py")):
        mod = _load(path, path.stem)
        for name in sorted(vars(mod)):
            fn = getattr(mod, name)
            if name.startswith("test_") and callable(fn):
                tests.append((f"{path.stem}.{name}", fn, getattr(fn, "timeout", None), None))
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
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()

    tests = discover(harness.E2E, harness.ADVERSARIAL)
    if args.k:
        tests = [t for t in tests if any(k in t[0] for k in args.k)]
    if args.list:
        for name, _, _, expect in tests:
            print(name + (f" [{expect}]" if expect else ""))
        return 0

    signal.signal(signal.SIGALRM, _alarm)
    if args.one:
        match = [x for x in tests if x[0] == args.one]
        if len(match) != 1:
            print(f"FAIL {args.one}: no such test")
            return 1
        return 0 if run_one(*match[0], args) != "FAIL" else 1
    if args.jobs > 1:
        statuses = run_parallel(tests, args)
    else:
        statuses = [run_one(*x, args) for x in tests]
    passed = statuses.count("PASS")
    failed = statuses.count("FAIL")
    skipped = statuses.count("SKIP")
    failures = [x[0] for x, st in zip(tests, statuses) if st == "FAIL"]

    if failures:
        print("failed: " + " ".join(failures))
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
