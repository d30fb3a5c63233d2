# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent whose TLS is rustls on aws-lc (Codex, read where each record is
sealed) encrypts records where no located seal sees them (here: seals whose
additional data is not their record's header, so the kernel does not take
them as records; the same as a second TLS stack in the process, or a path
the location misses), hoping its traffic goes unread. Every TLS record the
process writes must have a seal behind it: the first record without one,
in a session whose scope does not let unread TLS out (the default
blind_tls: deny), is held for a person at its write, the session's egress
dropped before a byte of it leaves (alert rule unread-tls); denied, the
session is killed. The location counts it (unseen) and the file is a blind
spot for its next exec. Control: outside a session everything arrives."""

import subprocess

from enforce import World, start_daemon, tls_policy, wait_alert, write_policy
from fakeawslc import build
from fakebssl import control, decoded, request
from harness import KILLED, B, TCPListener, blocked, check, eq, rand_marker, short, wait_until

EXPECT = "BLOCKED"


def test_tls_rustls_record_unseen(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-awslc-unseen")
    env = {"SL_FAKE_BAD_AD": "1"}
    argv = [str(exe), str(srv.port), request(w, w.stg_vol), "--", request(w, w.prod_vol)]
    n0 = control(t, argv, srv, w.prod_vol.encode(), env=env)
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    name = rand_marker("unseen")
    p = d.spawn(argv, name=name, env=env, stdout=subprocess.PIPE)
    sid = d.session_id(name)
    rec = wait_alert(d, sid, "unread-tls")
    eq(rec.get("verdict"), "held", f"the unread record's verdict: {short(rec, 1500)}")
    r = d.cli("deny", rec["hold_id"])
    eq(r.rc, 0, f"scopelock deny ({r})")
    p.wait(30)
    eq(p.returncode, KILLED, "the session's client")
    wait_until(lambda: len(srv.received) > n0, 10, "the session's connection closed")
    check(not any(w.stg_vol.encode() in x for x in decoded(srv)[n0:]),
          "the unread record reached the server")
    loc = wait_until(lambda: [x for x in d.records(type="tls_location")
                              if B(x.get("path")) == str(exe).encode()
                              and x.get("unseen", 0) >= 1], 10,
                     "a tls_location record with unseen records")
    check("no located function saw them" in (loc[0].get("reason") or ""),
          f"the reason: {short(loc[0])}")
    # the file is a blind spot for its next exec: refused at once
    r2 = d.run([str(exe), str(srv.port), request(w, w.stg_vol)], timeout=60)
    check("connect: EPERM" in r2.stdout, f"its next exec is blind: {r2}")
    blocked(t, "a TLS record written without a seal behind it is held before it leaves")
