# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Discover tests/e2e/test_*.py, run every test_* function with a fresh Ctx,
print one line per test and a closing "N passed, N failed, N skipped".
Exit status 1 if anything failed.

usage: runner.py [-k SUBSTRING]... [--keep] [--list] [--timeout SECONDS]
"""

import argparse
import importlib.util
import os
import signal
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402


class TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimeout("test exceeded its time limit")


def discover(e2e_dir):
    tests = []
    for path in sorted(e2e_dir.glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(vars(mod)):
            fn = getattr(mod, name)
            if name.startswith("test_") and callable(fn):
                tests.append((f"{path.stem}.{name}", fn, getattr(fn, "timeout", None)))
    return tests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[], help="run tests whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep temp dirs")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("SL_E2E_TIMEOUT", "180")))
    args = ap.parse_args()

    tests = discover(harness.E2E)
    if args.k:
        tests = [t for t in tests if any(k in t[0] for k in args.k)]
    if args.list:
        for name, _, _ in tests:
            print(name)
        return 0

    signal.signal(signal.SIGALRM, _alarm)
    passed = failed = skipped = 0
    failures = []
    for name, fn, tmo in tests:
        t = harness.Ctx(name.split(".")[-1][5:], keep=args.keep)
        t0 = time.monotonic()
        status, detail = "PASS", ""
        signal.alarm(tmo or args.timeout)
        try:
            fn(t)
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
        print(f"{status} {name} ({dt:.1f}s)" + (f": {detail}" if status == "SKIP" else ""),
              flush=True)
        if status == "FAIL":
            failed += 1
            msg = detail.rstrip()
            for d in t.daemons:
                msg += "\n" + d.log_tail(25)
            if errs:
                msg += "\ncleanup: " + "; ".join(errs)
            print("  " + msg.replace("\n", "\n  "), flush=True)
            failures.append(name)
        elif status == "SKIP":
            skipped += 1
        else:
            passed += 1
        t.remove_tmp()

    if failures:
        print("failed: " + " ".join(failures))
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
