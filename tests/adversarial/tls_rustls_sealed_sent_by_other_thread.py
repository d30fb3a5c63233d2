# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent whose TLS is rustls on aws-lc (Codex, read where each record is
sealed) opens a new connection to production (known by its address only: the
volume the mutation names is labelled nowhere) and its record is sealed on
one thread and written to the socket by another, as a multi-threaded tokio
runtime does when the socket's send buffer was full at the seal (the task
flushes later, on whichever worker polls it). At the seal the connection's
destination is not known yet; it used to be learned, and the record judged
again with it, only at the sealing thread's next socket I/O (per-thread
state). The process' write whose first record has the sealed record's
length binds the connection to its socket, whichever thread makes it, and
judges the record there with production as its destination: the
incident's mutation is stopped before a byte of it leaves. Control:
outside a session it arrives."""

from enforce import World, start_daemon
from fakeawslc import build
from fakebssl import UNLABELLED, control, never_arrived, prod_host_policy, request, stopped
from harness import TCPListener, blocked, check, short

EXPECT = "BLOCKED"


def test_tls_rustls_sealed_sent_by_other_thread(t):
    w = World(t)
    prod = TCPListener(t)
    exe = build(t, "fake-awslc-thread")
    env = {"SL_FAKE_SEND_THREAD": "1"}
    argv = [str(exe), str(prod.port), request(w, UNLABELLED)]
    n0 = control(t, argv, prod, UNLABELLED.encode(), env=env)
    d = start_daemon(t, prod_host_policy(t, w, prod.port))
    rec = stopped(d, d.spawn(argv, env=env))
    check("production" in (rec.get("target_env") or []), f"target_env: {short(rec, 1500)}")
    never_arrived(prod, n0, UNLABELLED.encode())
    blocked(t, "a rustls record sealed on one thread and sent by another is judged with its "
            "connection's destination")
