# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent whose TLS is rustls on aws-lc (Codex, read where each record is
sealed) encrypts records where no located seal sees them (here: seals whose
additional data is not their record's header, so the kernel does not take
them as records; the same as a second TLS stack in the process, or a path
the location misses), hoping its traffic goes unread. Every TLS record the
process writes must have a seal behind it: the records without one are
counted (the location's unseen), the process is blind from then on, the file
a blind spot, and under the default blind_tls: deny its next connection,
which carries the incident's mutation, is refused. Control: outside a
session the mutation arrives on the second connection."""

from enforce import World, start_daemon, tls_policy, write_policy
from fakeawslc import build
from fakebssl import control, decoded, request
from harness import B, TCPListener, blocked, check, eq, short, wait_until

EXPECT = "BLOCKED"


def test_tls_rustls_record_unseen(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-awslc-unseen")
    env = {"SL_FAKE_BAD_AD": "1"}
    argv = [str(exe), str(srv.port), request(w, w.stg_vol), "--", request(w, w.prod_vol)]
    n0 = control(t, argv, srv, w.prod_vol.encode(), env=env)
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    r = d.run(argv, env=env, timeout=60)
    check("sent 1" in r.stdout and "connect again: EPERM" in r.stdout,
          f"the second connect must be refused ({r})")
    sid = d.finished_session(r)
    loc = wait_until(lambda: [x for x in d.records(type="tls_location")
                              if B(x.get("path")) == str(exe).encode()
                              and x.get("unseen", 0) >= 1], 10,
                     "a tls_location record with unseen records")
    check("no located function saw them" in (loc[0].get("reason") or ""),
          f"the reason: {short(loc[0])}")
    conns = [x for x in d.records(session=sid, type="connect") if x.get("port") == srv.port]
    eq(len(conns), 2, f"two connects: {conns}")
    eq(conns[1].get("refused"), "tls_gate", f"the second refused by the TLS gate: {conns[1]}")
    check(not any(w.prod_vol.encode() in x for x in decoded(srv)[n0:]),
          "the mutation reached the server")
    # the file is a blind spot for its next exec
    r2 = d.run([str(exe), str(srv.port), request(w, w.stg_vol)], timeout=60)
    check("connect: EPERM" in r2.stdout, f"its next exec is blind: {r2}")
    blocked(t, "TLS records written without a seal behind them make the rustls process blind")
