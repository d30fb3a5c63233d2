# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The production action with the production token in the form 'rest_delete_h2'
(tests/e2e/lib/reqforms.py): the kernel cannot judge it from the bytes, so
the write is held, decoded by the daemon and stopped. Control: the same
client outside a session reaches the server."""

from enforce import finish
from harness import blocked
from reqforms import run_form

EXPECT = "BLOCKED"


def test_request_form_rest_delete_h2(t):
    d, w, sid, rec = run_form(t, "rest_delete_h2")
    finish(t, d, w)
    blocked(t, f"'rest_delete_h2' from a staging session never reached the server "
               f"(alert {rec.get('alert_id')}, decoded: {rec.get('decoded', False)})")
