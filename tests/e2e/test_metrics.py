# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""`scopelock metrics`: the daemon's counters in the Prometheus text format,
parsed by the Prometheus client library's own parser (python3-prometheus-
client): events by type after a real session, losses, the audit log, the
daemon's CPU; --textfile writes the same atomically, and says scopelock_up 0
when the daemon is gone (the control: with the daemon up it says 1)."""

import json
import subprocess

from harness import PY, check, cli, eq, fail, rand_marker

PARSE = r'''
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    out[fam.name] = {"type": fam.type,
                     "samples": [[s.name, s.labels, s.value] for s in fam.samples]}
print(json.dumps(out))
'''


def parse(text):
    p = subprocess.run([PY, "-c", PARSE], input=text.encode(), capture_output=True, timeout=60)
    if p.returncode:
        fail(f"the Prometheus parser refused the metrics: {p.stderr.decode()[-800:]}\n"
             f"{text[:2000]}")
    return json.loads(p.stdout)


def value(fams, family, sample=None, **labels):
    for name, lab, v in fams.get(family, {}).get("samples", []):
        if (sample or family) == name and all(lab.get(k) == x for k, x in labels.items()):
            return v
    return None


def test_metrics_text_and_textfile(t):
    d = t.daemon()
    r = d.run(["/bin/sh", "-c", "cat /etc/hostname >/dev/null; /bin/true " + rand_marker("m")])
    eq(r.rc, 0, f"session ({r})")
    d.finished_session(r)
    m = d.cli("metrics")
    eq(m.rc, 0, f"scopelock metrics ({m})")
    fams = parse(m.stdout)
    eq(value(fams, "scopelock_up"), 1.0, "scopelock_up")
    # the Prometheus parser names a counter family without its _total
    check(fams.get("scopelock_events", {}).get("type") == "counter",
          f"scopelock_events_total is not a counter: {fams.get('scopelock_events')}")
    check((value(fams, "scopelock_events", "scopelock_events_total", type="exec") or 0) >= 2,
          f"exec events: {fams.get('scopelock_events')}")
    check((value(fams, "scopelock_events", "scopelock_events_total", type="open") or 0) >= 1,
          "open events")
    eq(value(fams, "scopelock_lost", "scopelock_lost_total", cause="ringbuf_full", type="open"),
       0.0, "ring buffer losses of opens")
    st = json.loads(d.cli("status", "--json").stdout)
    check((value(fams, "scopelock_audit_last_seq") or 0) >= 5, "audit last seq")
    check(value(fams, "scopelock_audit_last_seq") <= st["audit"]["last_seq"],
          "metrics read before the later status")
    eq(value(fams, "scopelock_audit_failing"), 0.0, "audit failing")
    eq(value(fams, "scopelock_sessions"), 0.0, "sessions after the session ended")
    check((value(fams, "scopelock_daemon_cpu_seconds", "scopelock_daemon_cpu_seconds_total",
                 mode="user") or 0) > 0, "daemon user CPU time")
    check((value(fams, "scopelock_daemon_max_rss_bytes") or 0) > 1 << 20, "daemon RSS")
    check("scopelock_verdicts" in fams, "the verdicts family is declared")
    info = [s for s in fams["scopelock_info"]["samples"]]
    eq(info[0][1].get("policy_sha256"), st["policy_sha256"], "policy hash label")

    tf = t.tmp / "scopelock.prom"
    r = d.cli("metrics", "--textfile", str(tf))
    eq(r.rc, 0, f"metrics --textfile ({r})")
    eq(value(parse(tf.read_text()), "scopelock_up"), 1.0, "textfile with the daemon up")
    check(not list(t.tmp.glob("scopelock.prom.*.tmp")), "a temporary file was left")
    eq(d.stop(), 0, "daemon stop")
    r = cli("--socket", d.sock, "metrics", "--textfile", str(tf))
    eq(r.rc, 1, f"metrics --textfile with the daemon gone ({r})")
    eq(value(parse(tf.read_text()), "scopelock_up"), 0.0, "textfile with the daemon gone")
    r = cli("--socket", d.sock, "metrics", "--bogus")
    eq(r.rc, 2, f"unknown option ({r})")
