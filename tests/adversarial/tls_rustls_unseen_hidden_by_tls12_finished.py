# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent whose TLS is rustls on aws-lc (Codex, read where each record is
sealed) writes TLS records no located seal saw (seals whose additional data
is not their record's header: the same as a second TLS stack in the
process), over TLS 1.2. Every TLS 1.2 connection begins with the client's
Finished, sealed by EVP_AEAD_CTX_seal_scatter like any record (the seal
probe counts it in sl_tls_sealed) but written with the handshake's outer
content type (22), which the socket-side count (sl_tls_unseen_io: outer type
23 only) never takes back: each handshake (and each alert) leaves one seal
to spare, and the record without a seal behind it uses it. It must still be
counted as unseen: the process blind, its next connection, which carries the
incident's mutation, refused under the default blind_tls: deny (its records unseen
too: unread). Control:
outside a session the mutation arrives on the second connection."""

from enforce import World, start_daemon, tls_policy, write_policy
from fakeawslc import build
from fakebssl import control, decoded, request
from harness import TCPListener, blocked, check

EXPECT = "BLOCKED"


def test_tls_rustls_unseen_hidden_by_tls12_finished(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-awslc-fin12")
    env = {"SL_FAKE_TLS12": "1", "SL_FAKE_FINISHED": "1", "SL_FAKE_BAD_AD": "2"}
    argv = [str(exe), str(srv.port), request(w, w.stg_vol), "--", request(w, w.prod_vol)]
    n0 = control(t, argv, srv, w.prod_vol.encode(), env=env)
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    r = d.run(argv, env=env, timeout=60)
    check("sent 1" in r.stdout, f"the first connection's record sent ({r})")
    check("connect again: EPERM" in r.stdout,
          f"the second connect must be refused: a record without a seal was written ({r})")
    check(not any(w.prod_vol.encode() in x for x in decoded(srv)[n0:]),
          "the mutation reached the server")
    blocked(t, "a TLS 1.2 Finished's seal does not cover a record written without one")
