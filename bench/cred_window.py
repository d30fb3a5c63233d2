#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The window of a discovered credential (issue 10, docs/credentials.md):
from the open of a file holding a credential nobody registered to the
moment the kernel's automaton holds it (the flip of the slot compiled with
it), as scopelockd measures it (credential_found.scan_us: the open to the
end of the scan; credentials_enforced.window_us: the open to the flip).

Two loads, each in one session of a real daemon (the e2e harness), with
policies/default.yaml and only the session's workspace labelled:

  spaced   N files, each with a fresh token, read one at a time with a pause
           (longer than the 100 ms slot grace) between: the window of an
           agent that reads a file, thinks, then acts
  burst    M files read back to back by one process: the batching (one
           recompile and flip for many values)

Prints min / p50 / max of both numbers and the flips of the burst; raw
numbers go to bench/results/cred-window-<UTC>.json. Not a test: nothing
passes or fails on a number. Run as root:

  bench/cred_window.py [-n 20] [-m 50]
"""

import argparse
import datetime
import json
import secrets
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e" / "lib"))
from harness import Ctx, wait_until  # noqa: E402
from enforce import DEFAULT_POLICY, write_policy  # noqa: E402

RESULTS = REPO / "bench" / "results"


def stats(xs):
    if not xs:
        return "-"
    return "min %d  p50 %d  max %d  (n=%d)" % (min(xs), statistics.median(xs), max(xs), len(xs))


def run(t, n, m, pause):
    ws = t.tmp / "ws"
    ws.mkdir()
    stray = t.tmp / "stray"
    stray.mkdir()
    files = []
    for i in range(n + m):
        f = t.write(f"stray/f{i}.env", f"DEPLOY_TOKEN=tk_{secrets.token_hex(20)}\n", 0o600)
        files.append(str(f))
    pol = write_policy(t, f"extends: {DEFAULT_POLICY}\nsettings:\n  syslog: false\n"
                       f"environments:\n  staging:\n    paths: [\"{ws}/**\"]\n", "bench.yaml")
    d = t.daemon(policy=str(pol))
    spaced = files[:n]
    burst = files[n:]
    script = ("import sys, time\n"
              f"spaced, burst, pause = {spaced!r}, {burst!r}, {pause}\n"
              "for f in spaced:\n    open(f).read()\n    time.sleep(pause)\n"
              "for f in burst:\n    open(f).read()\n"
              "time.sleep(1)\n")
    r = d.run(["/usr/bin/python3", "-c", script], workspace=str(ws), timeout=600)
    if r.rc != 0:
        raise SystemExit(f"session failed: {r}")
    sid = d.finished_session(r, 60)

    def enforced():
        got = {}
        for rec in d.records(type="credentials_enforced"):
            for c in rec.get("credentials") or []:
                got[c.get("source_file")] = (rec.get("generation"), c.get("window_us"))
        return got if all(f in got for f in files) else None
    got = wait_until(enforced, 30, "every token enforced (more than the automaton holds? "
                     "see credential_unenforced alerts)")
    found = {x.get("source_file"): x.get("scan_us")
             for x in d.records(session=sid, type="credential_found")}
    out = {}
    for name, fs in (("spaced", spaced), ("burst", burst)):
        out[name] = {"scan_us": [found[f] for f in fs], "window_us": [got[f][1] for f in fs],
                     "flips": len({got[f][0] for f in fs})}
    d.stop()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=20, help="spaced files (default 20)")
    ap.add_argument("-m", type=int, default=50, help="burst files (default 50)")
    ap.add_argument("--pause", type=float, default=0.3, help="seconds between spaced reads")
    a = ap.parse_args()
    t = Ctx("cred-window")
    try:
        out = run(t, a.n, a.m, a.pause)
    finally:
        t.cleanup()
        t.remove_tmp()
    for name in ("spaced", "burst"):
        o = out[name]
        print(f"{name:7s} open -> scanned  (us): {stats(o['scan_us'])}")
        print(f"{name:7s} open -> enforced (us): {stats(o['window_us'])}"
              + (f"   {o['flips']} flips for {len(o['window_us'])} tokens"))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    p = RESULTS / f"cred-window-{stamp}.json"
    p.write_text(json.dumps(out, indent=1) + "\n")
    print(f"raw: {p}", file=sys.stderr)


if __name__ == "__main__":
    main()
