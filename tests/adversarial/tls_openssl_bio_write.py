# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The incident's mutation written with BIO_write on a BIO_f_ssl chain
(BIO_new_ssl_connect) by an OpenSSL client that never calls SSL_write or
SSL_write_ex: the write reaches OpenSSL's internal write function, which
scopelock locates from the two exported ones and probes; it is captured and
judged like any other TLS write, the session is killed before a byte of it
leaves. Control: outside a session the same client's mutation arrives."""

import os
import subprocess

from _tls_native_case import Case
from enforce import check_tls_alert, finish, wait_alert, wait_session_killed
from harness import KILLED, blocked, check, eq

EXPECT = "BLOCKED"
HERE = os.path.dirname(os.path.abspath(__file__))


def test_tls_openssl_bio_write(t):
    out = t.tmp / "bio_ssl_client"
    p = subprocess.run(["/usr/bin/gcc", "-O1", "-Wall", "-Werror", "-o", str(out),
                        os.path.join(HERE, "_bio_ssl_client.c"), "-lssl", "-lcrypto"],
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, f"gcc _bio_ssl_client.c: {p.stderr.decode(errors='replace')}")
    c = Case(t, out)
    c.argv = [str(out), c.srv.url, str(c.body), str(c.srv.cert)]
    c.control()
    d, r, sid, mark = c.run()
    eq(r.rc, KILLED, f"the BIO_f_ssl client in a staging session was not killed ({r})")
    c.srv.assert_nothing_destructive(c.w, "BIO_write in a session", since=mark)
    rec = wait_alert(d, sid, "graphql-destroy", timeout=30)
    check_tls_alert(rec, c.w, sid)
    wait_session_killed(d, sid, timeout=30)
    writes = [x for x in d.records(session=sid, type="tls_write")
              if x.get("function") == "ssl_write_internal"]
    check(writes, "no tls_write record from ssl_write_internal")
    finish(t, d, c.w)
    blocked(t, "BIO_write through BIO_f_ssl: the plaintext captured at OpenSSL's internal "
               "write (located from SSL_write and SSL_write_ex), the session killed before "
               "the mutation left; outside a session it arrives")
