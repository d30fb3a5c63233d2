# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The incident's mutation with the production token, sent by a static,
stripped Go program (crypto/tls, no symbols: before issue 8 a blind spot that
only got reported) built just now (a file the daemon has never seen) and
writing at once after exec. crypto/tls.(*Conn).Write is located through
.gopclntab while the kernel's TLS gate holds the exec; the write is judged at
its entry and the session killed. Control: the same program outside a
session delivers the mutation."""

from _tls_native_case import Case
from _tls_native_clients import go_client
from enforce import finish, wait_alert
from harness import KILLED, B, blocked, check, eq, fail, short

EXPECT = "BLOCKED"


def test_tls_go_stripped_mutation(t):
    c = Case(t, go_client(t, stripped=True))
    c.control()
    d, r, sid, mark = c.run()
    if r.rc != KILLED:
        fail(f"session not killed: exit {r.rc} {r}\n{c.srv.summary()}\n"
             + d.dump(session=sid, types=("exec", "alert", "tls_write", "tls_blind_spot")))
    c.srv.assert_nothing_destructive(c.w, "stripped Go client", since=mark)
    rec = wait_alert(d, sid, "graphql-destroy")
    eq(rec.get("verdict"), "killed", f"verdict of {short(rec)}")
    w = [x for x in d.records(session=sid, type="tls_write")
         if b"volumeDelete" in B(x.get("data"))]
    check(w and w[0].get("lib") == "go", f"the mutation's tls_write (lib go): {w[:1]}")
    eq(d.records(session=sid, type="tls_blind_spot"), [], "blind spot records")
    d.wait_session_end(sid)
    finish(t, d, c.w)
    blocked(t, "a stripped Go client's mutation was judged at crypto/tls.(*Conn).Write")
