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
counted as unseen: the seals of records that are not written as application
data are not counted, and the record without a seal is held for a person at
its write (rule unread-tls, the default blind_tls: deny) before it leaves.
Control: outside a session everything arrives."""

import subprocess

from enforce import World, start_daemon, tls_policy, wait_alert, write_policy
from fakeawslc import build
from fakebssl import control, decoded, request
from harness import KILLED, TCPListener, blocked, check, eq, rand_marker, short, wait_until

EXPECT = "BLOCKED"


def test_tls_rustls_unseen_hidden_by_tls12_finished(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-awslc-fin12")
    env = {"SL_FAKE_TLS12": "1", "SL_FAKE_FINISHED": "1", "SL_FAKE_BAD_AD": "2"}
    argv = [str(exe), str(srv.port), request(w, w.stg_vol), "--", request(w, w.prod_vol)]
    n0 = control(t, argv, srv, w.prod_vol.encode(), env=env)
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    name = rand_marker("fin12")
    p = d.spawn(argv, name=name, env=env, stdout=subprocess.PIPE)
    rec = wait_alert(d, d.session_id(name), "unread-tls")
    eq(rec.get("verdict"), "held", f"the record without a seal: {short(rec, 1500)}")
    r = d.cli("deny", rec["hold_id"])
    eq(r.rc, 0, f"scopelock deny ({r})")
    p.wait(30)
    eq(p.returncode, KILLED, "the session's client")
    wait_until(lambda: len(srv.received) > n0, 10, "the session's connection closed")
    check(not any(w.stg_vol.encode() in x or w.prod_vol.encode() in x
                  for x in decoded(srv)[n0:]), "a record without a seal reached the server")
    blocked(t, "a TLS 1.2 Finished's seal does not cover a record written without one")
