# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The TLS gate holds a new executable's exec with SIGSTOP until the daemon
has attached to it. The agent sends SIGCONT to the held process in a tight
loop, to let it run (and write) before the uprobes are on. A process released
early is still marked held in the kernel: its connect is refused (EPERM)
until the daemon is done; once done, its SSL_write is judged (killed). The
mutation never arrives either way; the case reports which way it went.
Control: outside a session it arrives."""

from _tls_native_case import Case
from _tls_native_clients import c_client
from enforce import finish
from harness import KILLED, blocked, check, fail

EXPECT = "BLOCKED"


def test_tls_gate_sigcont_early(t):
    c = Case(t, c_client(t, strip=False))
    c.control()
    d, r, sid, mark = c.run(cmd="CLIENT & p=$!; while kill -CONT $p 2>/dev/null; do :; done; "
                                "wait $p")
    c.srv.assert_nothing_destructive(c.w, "SIGCONT to the held client", since=mark)
    d.wait_session_end(sid)
    refused = [x for x in d.records(session=sid, type="connect")
               if x.get("port") == c.srv.port and x.get("refused") == "tls_gate"]
    if r.rc == KILLED:
        how = "it ran after the attach: its SSL_write was judged and the session killed"
    elif r.rc == 2:
        check(refused, f"exit 2 without a refused connect record ({r})")
        how = "released early: its connect was refused by the gate"
    else:
        fail(f"unexpected outcome: exit {r.rc} ({r})\n{c.srv.summary()}")
    finish(t, d, c.w)
    blocked(t, how)
