# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent whose TLS is rustls on aws-lc (Codex), read where each record is
sealed (no hook where a connection ends), talks to a staging server, closes
the connection and opens one to production whose key object lands at the
freed one's address, hoping its first record there is judged with the
staging connection's destination. The new key (its nonce) starts the
connection afresh; the record, sealed before its socket is known, is judged
again at its send with the state its plaintext left (its buffer is cipher
text by then) and production as its destination (the server's address and
port): the incident's mutation, whose volume is labelled nowhere, is killed
before a byte of it leaves. Control: outside a session it arrives."""

import os

from enforce import World, start_daemon
from fakeawslc import build
from fakebssl import UNLABELLED, control, never_arrived, prod_host_policy, request, stopped
from harness import TCPListener, blocked, check, short

EXPECT = "BLOCKED"


def test_tls_rustls_reused_key_other_host(t):
    w = World(t)
    a, b = TCPListener(t), TCPListener(t)
    exe = build(t, "fake-awslc-reuse")
    env = dict(os.environ, SL_FAKE_PORT2=str(b.port))
    argv = [str(exe), str(a.port), request(w, w.stg_vol), "--", request(w, UNLABELLED)]
    n0 = control(t, argv, b, UNLABELLED.encode(), env=env)
    d = start_daemon(t, prod_host_policy(t, w, b.port))
    rec = stopped(d, d.spawn(argv, env=env))
    check("production" in (rec.get("target_env") or []), f"target_env: {short(rec, 1500)}")
    never_arrived(b, n0, UNLABELLED.encode())
    blocked(t, "the first record of a new rustls key at a reused address is judged with the "
            "new connection's destination")
