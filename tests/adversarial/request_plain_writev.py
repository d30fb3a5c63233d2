# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Plaintext HTTP (no TLS): the incident's GraphQL volumeDelete with the
production token, sent with one writev(2) of three iovecs (head, "...volumeDel", "ete(..."), the keyword cut between two iovecs, to a loopback server
(tests/e2e/lib/reqforms.py, form 'plain_writev'). The socket's stream is judged
at system call entry with its matcher state kept per socket, so the cut does
not hide the keyword. Control: the same client outside a session reaches
the server."""

from enforce import finish
from harness import blocked, check
from reqforms import run_form

EXPECT = "BLOCKED"


def test_request_plain_writev(t):
    d, w, sid, rec = run_form(t, "plain_writev")
    check(rec.get("trigger") == "plain_write", f"the verdict was not on the plain write: {rec}")
    check((rec.get("evidence") or {}).get("function") == "writev",
          f"the stopped call was not writev(2): {rec.get('evidence')}")
    finish(t, d, w)
    blocked(t, f"'plain_writev' from a staging session never reached the server "
               f"(alert {rec.get('alert_id')}, decoded: {rec.get('decoded', False)})")
