# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent whose TLS is located without symbols makes the located SSL_write
look wrong (nine writes whose records never carry the captured lengths: the
location is refuted) and then sends the incident's mutation on the same,
already open connection, where refusing connects cannot reach it. A refuted
location still captures and judges the writes of its processes (a kill
taken as a hold): the mutation is held before it is sent and never arrives.
Control: outside a session it arrives."""

from enforce import World, start_daemon, status_holds, tls_policy, wait_alert, write_policy
from fakebssl import build, decoded, request
from harness import KILLED, TCPListener, B, blocked, check, eq, short, wait_until

EXPECT = "BLOCKED"
WRONG = "300"
RULE = "graphql-destroy"


def test_tls_located_refute_then_same_connection(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-bssl-refute-same")
    argv = [str(exe), str(srv.port), WRONG, *[request(w, w.stg_vol)] * 9, request(w, w.prod_vol)]
    r0 = t.outside(argv)
    eq(r0.rc, 0, f"control outside a session ({r0})")
    wait_until(lambda: any(w.prod_vol.encode() in x for x in decoded(srv)), 10,
               "the control's mutation at the server")
    n0 = len(srv.received)
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    p = d.spawn(argv)
    sid = d.session_id(p.name)
    rec = wait_alert(d, sid, RULE)
    eq(rec.get("verdict"), "held", f"the mutation after the refutation: {short(rec, 1500)}")
    eq(rec.get("location_unconfirmed"), True, "location_unconfirmed")
    loc = wait_until(lambda: [x for x in d.records(type="tls_location")
                              if B(x.get("path")) == str(exe).encode()], 10,
                     "a tls_location record")
    eq(loc[0].get("state"), "refuted", "the location's state")
    r = d.cli("deny", rec["hold_id"])
    eq(r.rc, 0, f"scopelock deny ({r})")
    p.wait(30)
    eq(p.returncode, KILLED, "the denied session")
    check(rec["hold_id"] not in [h.get("hold_id") for h in status_holds(d)], "hold gone")
    wait_until(lambda: len(srv.received) > n0, 10, "the session's connection closed")
    check(not any(w.prod_vol.encode() in x for x in decoded(srv)[n0:]),
          "the mutation reached the server")
    blocked(t, "writes of a refuted location are still judged: the mutation was held")
