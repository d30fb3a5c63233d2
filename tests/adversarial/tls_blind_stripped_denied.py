# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The production mutation through TLS scopelock cannot read: OpenSSL linked
statically and stripped (no symbols to attach to; what rustls in Codex or an
unknown static binary is too). Under the default `blind_tls: deny` the
process is a tls_blind_spot and its connect is refused (EPERM) before a byte
leaves. Control: outside a session the same program delivers the mutation."""

from _tls_native_case import Case
from _tls_native_clients import c_client
from enforce import finish
from harness import blocked, check, eq, short

EXPECT = "BLOCKED"


def test_tls_blind_stripped_denied(t):
    c = Case(t, c_client(t, strip=True))
    c.control()
    d, r, sid, mark = c.run()
    eq(r.rc, 2, f"the client's connect must fail (its exit 2) ({r})")
    c.srv.assert_nothing_destructive(c.w, "stripped static client", since=mark)
    eq(c.srv.requests(mark), [], "requests from the session at the server")
    d.wait_session_end(sid)
    b = d.records(session=sid, type="tls_blind_spot")
    check(len(b) == 1 and b[0].get("impl") == "openssl" and b[0].get("blind_tls") == "deny",
          f"the tls_blind_spot record: {[short(x) for x in b]}")
    conns = [x for x in d.records(session=sid, type="connect") if x.get("port") == c.srv.port]
    check(conns and all(x.get("refused") == "tls_gate" for x in conns),
          f"connects refused by the TLS gate: {[short(x) for x in conns]}")
    finish(t, d, c.w)
    blocked(t, "TLS scopelock cannot read may not connect (blind_tls: deny)")
