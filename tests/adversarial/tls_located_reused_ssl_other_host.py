# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent whose TLS is BoringSSL located without symbols (Claude Code's
Bun: no SSL_free hook) talks to a staging server, closes the connection and
opens one to production with the same SSL object (an allocator reuses the
freed address), hoping its first write there is judged with the staging
connection's destination. The write is judged at entry with what the kernel
knew, and again at its send, where the kernel sees the new socket: with
production as its destination (the server's address and port) the
incident's mutation, whose volume is labelled nowhere, is killed before a
byte leaves. Before this was handled it arrived. Control: outside a session
it arrives."""

import os

from enforce import World, policy_text, start_daemon, wait_alert, write_policy
from fakebssl import TLS13, build, decoded, request
from harness import KILLED, TCPListener, blocked, check, eq, short, wait_until

EXPECT = "BLOCKED"
RULE = "graphql-destroy"


def test_tls_located_reused_ssl_other_host(t):
    w = World(t)
    a, b = TCPListener(t), TCPListener(t)
    exe = build(t, "fake-bssl-reuse-kill")
    envs = w.envs(prod_hosts=[f"127.0.0.1:{b.port}"])
    rule = {"name": RULE, "channel": "tls", "pattern": "graphql_destroy",
            "target": "outside_scope", "action": "kill"}
    policy = write_policy(t, policy_text(envs, ["graphql_destroy"], [rule],
                                         settings={"syslog": False}))
    env = dict(os.environ, SL_FAKE_READ="1", SL_FAKE_PORT2=str(b.port), SL_FAKE_SNI="a.example",
               SL_FAKE_SNI2="b.example")
    argv = [str(exe), str(a.port), TLS13, request(w, w.stg_vol), "--",
            request(w, "vol_labelled_nowhere")]
    r0 = t.outside(argv, env=env)
    eq(r0.rc, 0, f"control outside a session ({r0})")
    wait_until(lambda: any(b"vol_labelled_nowhere" in x for x in decoded(b)), 10,
               "the control's mutation at the second server")
    n0 = len(b.received)
    d = start_daemon(t, policy)
    r = d.run(argv, env=env, timeout=60)
    eq(r.rc, KILLED, f"the mutation on the reused SSL ({r})")
    sid = d.finished_session(r)
    rec = wait_alert(d, sid, RULE)
    eq(rec.get("verdict"), "killed", f"verdict: {short(rec, 1500)}")
    eq(rec.get("rechecked_during_write"), True, f"judged again at the send: {short(rec, 1500)}")
    check("production" in (rec.get("target_env") or []), f"target_env: {short(rec, 1500)}")
    wait_until(lambda: len(b.received) > n0, 10, "the second connection closed")
    check(not any(b"vol_labelled_nowhere" in x for x in decoded(b)[n0:]),
          "the mutation reached the server")
    blocked(t, "the first write of a reused SSL on a new connection is judged again at its "
            "send with the new destination")
