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

from enforce import World, start_daemon
from fakebssl import (TLS13, UNLABELLED, build, control, never_arrived, prod_host_policy,
                      request, stopped)
from harness import TCPListener, blocked, check, eq, short

EXPECT = "BLOCKED"


def test_tls_located_reused_ssl_other_host(t):
    w = World(t)
    a, b = TCPListener(t), TCPListener(t)
    exe = build(t, "fake-bssl-reuse-kill")
    env = dict(os.environ, SL_FAKE_READ="1", SL_FAKE_PORT2=str(b.port), SL_FAKE_SNI="a.example",
               SL_FAKE_SNI2="b.example")
    argv = [str(exe), str(a.port), TLS13, request(w, w.stg_vol), "--", request(w, UNLABELLED)]
    n0 = control(t, argv, b, UNLABELLED.encode(), env=env)
    d = start_daemon(t, prod_host_policy(t, w, b.port))
    # the first connection's write confirms the location: a kill
    rec = stopped(d, d.spawn(argv, env=env), verdicts=("killed",))
    eq(rec.get("rechecked_during_write"), True, f"judged again at the send: {short(rec, 1500)}")
    check("production" in (rec.get("target_env") or []), f"target_env: {short(rec, 1500)}")
    never_arrived(b, n0, UNLABELLED.encode())
    blocked(t, "the first write of a reused SSL on a new connection is judged again at its "
            "send with the new destination")
