# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent whose TLS is located without symbols (as Claude Code's BoringSSL)
makes the located SSL_write look wrong (its records never carry the lengths
the probe captured: a location that would be guessed wrong), hoping that
scopelock stops reading it, then opens a new connection for the incident's
mutation. The refutation makes the process blind, not free: under the
default blind_tls: deny its new connect is refused and the mutation never
leaves. Control: outside a session the mutation arrives on the second
connection."""

from enforce import World, start_daemon, tls_policy, write_policy
from fakebssl import build, decoded, request
from harness import TCPListener, B, blocked, check, eq, wait_until

EXPECT = "BLOCKED"
WRONG = "300"


def test_tls_located_refuted_reconnect(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-bssl-refute")
    argv = [str(exe), str(srv.port), WRONG, *[request(w, w.stg_vol)] * 9, "--",
            request(w, w.prod_vol)]
    r0 = t.outside(argv)
    eq(r0.rc, 0, f"control outside a session ({r0})")
    wait_until(lambda: any(b"volumeDelete" in x and w.prod_vol.encode() in x
                           for x in decoded(srv)), 10, "the control's mutation at the server")
    n0 = len(srv.received)
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    r = d.run(argv, timeout=60)
    check("sent 9" in r.stdout and "connect again: EPERM" in r.stdout,
          f"the second connect must be refused ({r})")
    sid = d.finished_session(r)
    loc = wait_until(lambda: [x for x in d.records(type="tls_location")
                              if B(x.get("path")) == str(exe).encode()], 10,
                     "a tls_location record")
    eq(loc[0].get("state"), "refuted", "the location's state")
    conns = [x for x in d.records(session=sid, type="connect") if x.get("port") == srv.port]
    check(len(conns) == 2 and conns[1].get("refused") == "tls_gate",
          f"the second connect refused by the TLS gate: {conns}")
    check(not any(w.prod_vol.encode() in x for x in decoded(srv)[n0:]),
          "the mutation reached the server")
    blocked(t, "a refuted location makes the process blind: its new connect is refused")
