# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A session process resumes a TLS client in a tight SIGCONT loop from the
moment it exists, so that the client runs on while the kernel's TLS gate
holds it for its probes (attached per process by the daemon when it maps
libssl): it must not send a byte of TLS scopelock has not seen. Until its
probes are attached its connects are refused (EPERM, recorded); once they
are, its write of the incident's mutation is captured and killed. Either
way the mutation never arrives. Control: outside a session the same client
under the same storm delivers it."""

import os

from _tls_native_case import Case
from enforce import finish
from harness import PY, blocked, check

EXPECT = "BLOCKED"
HERE = os.path.dirname(os.path.abspath(__file__))


def test_tls_gate_sigcont_before_probes(t):
    c = Case(t, PY)
    c.argv = [PY, os.path.join(HERE, "_sigcont_storm.py"), PY,
              os.path.join(HERE, "_tls_body_client.py"), str(c.srv.port), str(c.srv.cert),
              str(c.w.prod_file), str(c.body)]
    c.control()
    d, r, sid, mark = c.run()
    check(r.rc != 0, f"the stormed client in a staging session succeeded ({r})")
    d.wait_session_end(sid, timeout=30)
    c.srv.assert_nothing_destructive(c.w, "a client resumed before its probes", since=mark)
    refused = [x for x in d.records(session=sid, type="connect")
               if x.get("refused") == "tls_gate"]
    killed = [x for x in d.records(session=sid, type="alert")
              if x.get("rule") == "graphql-destroy"]
    check(refused or killed, "neither a connect refused by the TLS gate nor the rule's alert:\n"
          + d.dump(session=sid, types=("connect", "alert", "tls_write")))
    finish(t, d, c.w)
    blocked(t, "a TLS client resumed in a SIGCONT storm while held for its probes: its "
               "connect refused until they are attached, its write captured and killed "
               "after; outside a session the mutation arrives")
