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

from enforce import World, start_daemon
from fakebssl import (TLS13, UNLABELLED, build, control, never_arrived, prod_host_policy,
                      request, stopped)
from harness import TCPListener, blocked, check, eq, short

EXPECT = "BLOCKED"


def test_tls_located_first_write_production_host(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-bssl-first-write")
    argv = [str(exe), str(srv.port), TLS13, request(w, UNLABELLED)]
    n0 = control(t, argv, srv, UNLABELLED.encode())
    d = start_daemon(t, prod_host_policy(t, w, srv.port))
    rec = stopped(d, d.spawn(argv))
    check("production" in (rec.get("target_env") or []), f"target_env: {short(rec, 1500)}")
    eq(rec.get("rechecked_during_write"), True, f"judged again at the send: {short(rec, 1500)}")
    never_arrived(srv, n0, UNLABELLED.encode())
    blocked(t, "the first write of a located connection is judged with its destination at "
            "its send")
