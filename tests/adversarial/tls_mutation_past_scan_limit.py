# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The incident's mutation after 1.1 MiB of padding in one SSL_write: the
kernel walks the capture and 1 MiB past it, the mutation lies beyond. What it
could not read is not "nothing": `mutation` was seen (a pattern partly
matched) and the session is tainted: held for a person, denied, the
mutation never arrives. Control: the same body outside a session arrives."""

from _tls_hold import control_arrives, done, held_then_denied, setup
from harness import blocked

EXPECT = "BLOCKED"


def test_tls_mutation_past_scan_limit(t):
    w, srv, d = setup(t)
    body = t.write("body.json", '{"query": "mutation { #' + "x" * (1100 * 1024) +
                   '\\n volumeDelete(volumeId: \\"' + w.prod_vol + '\\") }"}')
    control_arrives(t, srv, w, body)
    rec = held_then_denied(t, srv, w, d, body, "", "past_scan_limit")
    assert rec.get("partial_match") is True, rec
    done(t, d, w)
    blocked(t, "held at SSL_write (plaintext past the 1 MiB scan limit, partly matched, "
               "tainted); denied, never arrived")
