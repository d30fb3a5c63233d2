# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A dynamically linked program whose TLS scopelock cannot read (OpenSSL
linked into it statically, stripped) started through the dynamic loader
(`ld-linux-x86-64.so.2 PROGRAM`): the exec is the loader's, the program is
only mapped. The TLS gate holds the mapping, the daemon analyses the
program as an exec, finds the blind spot and marks the process blind:
under the default `blind_tls: deny` its connect is refused. Control: the
same command outside a session delivers the mutation."""

import os

from _tls_native_case import Case
from _tls_native_clients import c_client_dynamic_blind
from enforce import finish
from harness import Skip, blocked, check, eq, short

EXPECT = "BLOCKED"
LDSO = "/lib64/ld-linux-x86-64.so.2"


def test_tls_blind_via_dynamic_loader(t):
    if not os.path.exists(LDSO):
        raise Skip(f"no {LDSO}")
    c = Case(t, c_client_dynamic_blind(t))
    c.argv = [LDSO] + c.argv
    c.control()
    d, r, sid, mark = c.run()
    eq(r.rc, 2, f"the client's connect must fail (its exit 2) ({r})")
    c.srv.assert_nothing_destructive(c.w, "blind program through ld.so", since=mark)
    eq(c.srv.requests(mark), [], "requests from the session at the server")
    d.wait_session_end(sid)
    b = [x for x in d.records(session=sid, type="tls_blind_spot")
         if x.get("path") == str(c.exe)]
    check(len(b) == 1 and b[0].get("blind_tls") == "deny" and b[0].get("impl") == "openssl",
          f"the program's tls_blind_spot record: {[short(x) for x in b]}")
    conns = [x for x in d.records(session=sid, type="connect") if x.get("port") == c.srv.port]
    check(conns and all(x.get("refused") == "tls_gate" for x in conns),
          f"connects refused by the TLS gate: {[short(x) for x in conns]}")
    finish(t, d, c.w)
    blocked(t, "a blind program started through the dynamic loader may not connect")
