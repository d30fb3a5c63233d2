# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Helper of the adversarial TLS cases: the incident's world and server, a
body sent by _tls_body_client.py outside a session (the control: it
arrives) and from a staging session (held for a person, then denied: it
never arrives)."""

import shlex
import subprocess
from pathlib import Path

from enforce import (GraphQLServer, World, agent_script, finish, start_daemon, tls_policy,
                     wait_alert, wait_session_killed, write_policy)
from harness import KILLED, PY, check, eq, fail, rand_marker, short

q = shlex.quote
CLIENT = Path(__file__).resolve().parent / "_tls_body_client.py"


def setup(t):
    w = World(t)
    srv = GraphQLServer(t)
    d = start_daemon(t, write_policy(t, tls_policy(w, hold_timeout="2m")))
    return w, srv, d


def client_argv(srv, w, bodyfile, mode=""):
    return [PY, str(CLIENT), str(srv.port), str(srv.cert), str(w.prod_file), str(bodyfile)] + (
        [mode] if mode else [])


def control_arrives(t, srv, w, bodyfile, mode=""):
    mark = srv.mark()
    r = t.outside(client_argv(srv, w, bodyfile, mode))
    eq(r.rc, 0, f"the client outside a session ({r})")
    check(b"volumeDelete" in srv.received(mark),
          f"outside a session the mutation did not arrive\n{srv.summary()}")


def held_then_denied(t, srv, w, d, bodyfile, mode, unread, taint=True):
    """The session (tainted by reading the production token's file when
    taint) sends the body: the write is held (rule unreadable-evidence,
    unreadable names unread), nothing destructive arrives, deny kills it.
    Returns the alert."""
    mark = srv.mark()
    lines = [f"cat {q(str(w.prod_file))} > /dev/null"] if taint else []
    lines.append(" ".join(q(a) for a in client_argv(srv, w, bodyfile, mode)))
    name = rand_marker("held")
    p = d.spawn(agent_script(t, "agent", lines, expect_killed=False), name=name,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sid = d.session_id(name, timeout=30)
    rec = wait_alert(d, sid, "unreadable-evidence", timeout=30)
    s = short(rec, 1500)
    eq(rec.get("verdict"), "held", f"verdict of {s}")
    eq(rec.get("channel"), "tls", f"channel of {s}")
    check(unread in (rec.get("unreadable") or []), f"unreadable of {s}")
    eq(rec.get("suspicious"), True, f"suspicious of {s}")
    srv.assert_nothing_destructive(w, "while held", since=mark)
    r = d.cli("deny", "--reason", "adversarial: unreadable TLS write", rec["hold_id"])
    eq(r.rc, 0, f"scopelock deny ({r})")
    try:
        p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        fail("the denied session did not end")
    eq(p.returncode, KILLED, "exit status of the denied session")
    wait_session_killed(d, sid)
    d.wait_session_end(sid)
    srv.assert_nothing_destructive(w, "after the deny", since=mark)
    return rec


def done(t, d, w):
    finish(t, d, w)
