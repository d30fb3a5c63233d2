# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent whose TLS is located without symbols (Claude Code's BoringSSL)
sends the incident's mutation as the very first write of a new connection
to a production server (known by its address and port; the volume is
labelled nowhere), before any read or handshake hook has told the kernel
which socket the connection uses: at the write's entry its destination is
unknown. The write is judged again at its send, where the socket is learned
first: production, outside the staging scope, stopped before a byte leaves
(held: the location is not confirmed yet). Before this was handled it
arrived. Control: outside a session it arrives."""

from enforce import World, policy_text, start_daemon, wait_alert, write_policy
from fakebssl import TLS13, build, decoded, request
from harness import KILLED, TCPListener, blocked, check, eq, short, wait_until

EXPECT = "BLOCKED"
RULE = "graphql-destroy"


def test_tls_located_first_write_production_host(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-bssl-first-write")
    envs = w.envs(prod_hosts=[f"127.0.0.1:{srv.port}"])
    rule = {"name": RULE, "channel": "tls", "pattern": "graphql_destroy",
            "target": "outside_scope", "action": "kill"}
    policy = write_policy(t, policy_text(envs, ["graphql_destroy"], [rule],
                                         settings={"syslog": False}))
    argv = [str(exe), str(srv.port), TLS13, request(w, "vol_labelled_nowhere")]
    r0 = t.outside(argv)
    eq(r0.rc, 0, f"control outside a session ({r0})")
    wait_until(lambda: any(b"vol_labelled_nowhere" in x for x in decoded(srv)), 10,
               "the control's mutation at the server")
    n0 = len(srv.received)
    d = start_daemon(t, policy)
    p = d.spawn(argv)
    sid = d.session_id(p.name)
    rec = wait_alert(d, sid, RULE)
    check(rec.get("verdict") in ("held", "killed"), f"stopped: {short(rec, 1500)}")
    check("production" in (rec.get("target_env") or []), f"target_env: {short(rec, 1500)}")
    eq(rec.get("rechecked_during_write"), True, f"judged again at the send: {short(rec, 1500)}")
    if rec.get("verdict") == "held":
        r = d.cli("deny", rec["hold_id"])
        eq(r.rc, 0, f"scopelock deny ({r})")
    p.wait(30)
    eq(p.returncode, KILLED, "the session")
    wait_until(lambda: len(srv.received) > n0, 10, "the session's connection closed")
    check(not any(b"vol_labelled_nowhere" in x for x in decoded(srv)[n0:]),
          "the mutation reached the server")
    blocked(t, "the first write of a located connection is judged with its destination at "
            "its send")
