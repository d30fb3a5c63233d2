# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A static OpenSSL client (symbols kept) built just now, so its file is new
to the daemon, sends the production mutation immediately after exec. Before
the TLS gate the daemon attached to a new executable only when it got to its
exec record, and a first write right after exec went out unseen. Now the
exec is held (SIGSTOP before its first instruction) until the uprobes are on
its SSL_write: judged and killed. Control: outside a session it arrives."""

from _tls_native_case import Case
from _tls_native_clients import c_client
from enforce import finish, wait_alert
from harness import KILLED, B, blocked, check, eq, fail, short

EXPECT = "BLOCKED"


def test_tls_static_copy_first_write(t):
    c = Case(t, c_client(t, strip=False))
    c.control()
    d, r, sid, mark = c.run()
    if r.rc != KILLED:
        fail(f"session not killed: exit {r.rc} {r}\n{c.srv.summary()}\n"
             + d.dump(session=sid, types=("exec", "alert", "tls_write")))
    c.srv.assert_nothing_destructive(c.w, "fresh static client", since=mark)
    rec = wait_alert(d, sid, "graphql-destroy")
    eq(rec.get("verdict"), "killed", f"verdict of {short(rec)}")
    w = [x for x in d.records(session=sid, type="tls_write")
         if b"volumeDelete" in B(x.get("data"))]
    check(w and (w[0].get("lib"), w[0].get("function")) == ("openssl", "SSL_write"),
          f"the mutation's tls_write: {w[:1]}")
    st = d.status()["tls"]
    check(st.get("gate_released", 0) >= 1, f"status tls.gate_released: {st.get('gate_released')}")
    d.wait_session_end(sid)
    finish(t, d, c.w)
    blocked(t, "a new executable's first SSL_write, right after exec, was judged")
