# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Helper of the GnuTLS write entry point cases (not a case): builds
_gnutls_client.c, sends the incident's mutation with the production token
through one entry point from a staging session (killed at the write, the
mutation never arrives) and outside a session (the control: it arrives)."""

import os
import subprocess

from _tls_native_case import Case
from enforce import check_tls_alert, finish, wait_alert, wait_session_killed
from harness import KILLED, blocked, check, eq

HERE = os.path.dirname(os.path.abspath(__file__))
GCC = "/usr/bin/gcc"


def build(t):
    out = t.tmp / "gnutls_client"
    p = subprocess.run([GCC, "-O1", "-Wall", "-Werror", "-o", str(out),
                        os.path.join(HERE, "_gnutls_client.c"), "-lgnutls"],
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, f"gcc _gnutls_client.c: {p.stderr.decode(errors='replace')}")
    os.chmod(out, 0o755)
    return out


def run(t, mode, function):
    c = Case(t, build(t))
    c.argv = [str(c.exe), mode, c.srv.url, str(c.body), str(c.srv.cert)]
    c.control()
    d, r, sid, mark = c.run()
    eq(r.rc, KILLED, f"the GnuTLS client ({mode}) in a staging session was not killed ({r})")
    c.srv.assert_nothing_destructive(c.w, f"{function} in a session", since=mark)
    rec = wait_alert(d, sid, "graphql-destroy", timeout=30)
    check_tls_alert(rec, c.w, sid)
    wait_session_killed(d, sid, timeout=30)
    writes = [x for x in d.records(session=sid, type="tls_write")
              if x.get("lib") == "gnutls"]
    check(writes, f"no tls_write record from GnuTLS for {function}")
    finish(t, d, c.w)
    blocked(t, f"{function}: the plaintext captured at the write, the session killed before "
               "the mutation left; outside a session it arrives")
