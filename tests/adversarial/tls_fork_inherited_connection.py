# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The incident's mutation written by a fork on the TLS connection its
parent opened: no exec, no connect, no library mapped by the child; its
memory is a copy of its parent's, breakpoints included, but uprobes are
attached per process (processes outside sessions never trap), and the
parent's do not fire for the child. The kernel's TLS gate stops the child
on its return from fork until the daemon attached the child's own probes;
its write is captured and judged, the session killed before a byte of the
mutation leaves. Control: outside a session the same client's mutation
arrives."""

import os

from _tls_native_case import Case
from enforce import check_tls_alert, finish, wait_alert, wait_session_killed
from harness import KILLED, PY, blocked, check, eq

EXPECT = "BLOCKED"
HERE = os.path.dirname(os.path.abspath(__file__))


def test_tls_fork_inherited_connection(t):
    client = os.path.join(HERE, "_fork_tls_client.py")
    c = Case(t, client)
    c.argv = [PY, client, c.srv.url, str(c.body), str(c.srv.cert)]
    c.control()
    d, r, sid, mark = c.run()
    eq(r.rc, KILLED, f"the forked writer in a staging session was not killed ({r})")
    c.srv.assert_nothing_destructive(c.w, "a fork's write on an inherited connection",
                                     since=mark)
    rec = wait_alert(d, sid, "graphql-destroy", timeout=30)
    check_tls_alert(rec, c.w, sid)
    wait_session_killed(d, sid, timeout=30)
    st = d.status()
    check(st.get("tls", {}).get("gate_fork_released", 0) >= 1,
          f"the fork was not held for its probes: {st.get('tls')}")
    finish(t, d, c.w)
    blocked(t, "a fork writing the mutation on its parent's TLS connection: held on its "
               "return from fork until its own probes were attached, captured, the session "
               "killed before the mutation left; outside a session it arrives")
