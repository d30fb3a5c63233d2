# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent whose TLS is rustls on aws-lc (Codex, read where each record is
sealed) writes TLS records no located seal saw (seals whose additional data
is not their record's header: the same as a second TLS stack in the
process), and writes each record's first byte in a write of its own, then
the rest. The socket-side count of records that need a seal
(sl_tls_unseen_io) looks only for a whole 5-byte record header at the start
of each iovec: a header cut after its first byte (or a record after another
one in the same buffer, or sent with sendfile/splice) is not counted. The
records without a seal behind them must still make the process blind: its
next connection, which carries the incident's mutation, refused under the
default blind_tls: deny (its records unseen
too: unread). Control: outside a session the mutation arrives on
the second connection."""

from enforce import World, start_daemon, tls_policy, write_policy
from fakeawslc import build
from fakebssl import control, decoded, request
from harness import TCPListener, blocked, check

EXPECT = "BLOCKED"


def test_tls_rustls_unseen_header_split(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-awslc-split")
    env = {"SL_FAKE_SPLIT": "1", "SL_FAKE_BAD_AD": "2"}
    argv = [str(exe), str(srv.port), request(w, w.stg_vol), "--", request(w, w.prod_vol)]
    n0 = control(t, argv, srv, w.prod_vol.encode(), env=env)
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    r = d.run(argv, env=env, timeout=60)
    check("sent 1" in r.stdout, f"the first connection's record sent ({r})")
    check("connect again: EPERM" in r.stdout,
          f"the second connect must be refused: records without a seal were written ({r})")
    check(not any(w.prod_vol.encode() in x for x in decoded(srv)[n0:]),
          "the mutation reached the server")
    blocked(t, "a record header cut across writes is still counted against the seals")


# a hole found by review, not closed yet: listed as pending, run with SL_E2E_PENDING=1
test_tls_rustls_unseen_header_split.pending = (
    "the seal count takes the record header at the start of each buffer of a write only: a header split across writes, or a second record in one buffer, is not counted: docs/operations.md, known limits")
