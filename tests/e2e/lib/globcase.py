# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Helpers of the wildcard-glob label tests (issue 10): a policy that labels
production only by a glob with a wildcard inside a component, and a client
that opens a file and sends a destructive HTTP request (`DELETE /v1/volumes/
<id>`, the default policy's http_delete pattern) on an already open TLS
connection at once (same process, no wait: the write leaves microseconds
after the open returned). The request names a staging resource: its target
is staging (in scope) unless the session's taint says production, so only a
taint the kernel knew at the write stops it. (A GraphQL mutation would not
do: "mutation" is a decode marker, such a write is held for the daemon to
judge when no rule stops it in the kernel.)"""

import secrets
import shlex
import subprocess

from enforce import GraphQLServer, policy_text, start_daemon, write_policy
from harness import KILLED, PY, B, check, eq, fail, rand_marker, short

q = shlex.quote

# argv: port ca path volume. Connects and shakes hands first, then opens the
# file and writes the whole request right after the open returned.
OPEN_THEN_SEND = r'''
import os, socket, ssl, sys
port, ca, path, vol = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
req = ("DELETE /v1/volumes/%s HTTP/1.1\r\nHost: localhost:%d\r\nConnection: close\r\n\r\n"
       % (vol, port)).encode()
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection(("localhost", port), timeout=20) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        fd = os.open(path, os.O_RDONLY)
        s.sendall(req)
        os.close(fd)
        print("sent", flush=True)
        resp = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
sys.stdout.write(resp.decode(errors="replace"))
'''


class GlobWorld:
    """Files under t.tmp: glob-labelled production config, a staging
    workspace; the policy: production = `prod_glob` only (no exact or
    directory label names the file), staging = the workspace and a volume
    id; http_delete on tls with target outside_scope kills."""

    def __init__(self, t, prod_glob_rel, prod_file_rel, other_file_rel):
        self.t = t
        self.shop = t.tmp / "home" / "dev" / "shop"
        t.write("home/dev/shop/README.md", "staging workspace\n")
        self.prod_glob = f"{t.tmp}/{prod_glob_rel}"
        self.prod_file = t.write(prod_file_rel, '{"database": "primary"}\n')
        self.other_file = t.write(other_file_rel, '{"database": "primary"}\n')
        self.stg_vol = f"vol_{secrets.token_hex(4)}-staging-volume"
        envs = {
            "production": {"description": "production, by glob only",
                           "paths": [self.prod_glob]},
            "staging": {"description": "the agent's task", "paths": [f"{self.shop}/**"],
                        "resources": [self.stg_vol]},
        }
        rules = [{"name": "http-delete", "channel": "tls", "pattern": "http_delete",
                  "target": "outside_scope", "action": "kill"}]
        self.policy = write_policy(t, policy_text(envs, ["http_delete"], rules,
                                                  settings={"syslog": False}))
        self.script = t.write("open_then_send.py", OPEN_THEN_SEND)

    def client(self, srv, path):
        return [PY, str(self.script), str(srv.port), str(srv.cert), str(path), self.stg_vol]

    def arrived(self, srv, since=0):
        return f"DELETE /v1/volumes/{self.stg_vol}".encode() in srv.received(since)


def opens_of(d, sid, path):
    return [r for r in d.records(session=sid, type="open")
            if B(r.get("path") or "") == str(path).encode()]


def run_killed(t, w, d, srv, path, what, resolved=None):
    """A session opens path (the glob labels it) and sends at once: killed
    in the kernel at the write; the request never arrived. resolved: the
    file the kernel opens when path is a symlink. Returns the alert and the
    open record."""
    mark = srv.mark()
    name = rand_marker("glob")
    r = d.run(w.client(srv, path), name=name, timeout=90)
    sid = d.session_id(name)
    dump = d.dump(session=sid, types=("open", "alert", "verdict", "tls_write",
                                      "session_killed"))
    srv.wait_all_closed()
    if r.rc != KILLED:
        fail(f"{what}: the session was not killed: scopelock run exit {r.rc} {r}\n"
             f"{srv.summary()}\n{dump}")
    check(not w.arrived(srv, mark), f"{what}: the DELETE reached the server\n{srv.summary()}")
    check("sent" not in r.stdout, f"{what}: the client's write returned: {r.stdout!r}")
    rec = d.wait_record(lambda x: x.get("type") == "alert" and x.get("session") == sid
                        and x.get("rule") == "http-delete", 15,
                        f"the http-delete alert of session {sid}")
    what_a = f"{what}: alert {short(rec, 1500)}"
    eq(rec.get("verdict"), "killed", f"verdict of {what_a}")
    eq(rec.get("channel"), "tls", f"channel of {what_a}")
    eq(rec.get("target"), "outside_scope", f"target of {what_a}")
    # the kernel decided at the write with the taint of the open (no decoded
    # second stage, the taint and target carry production)
    check(not rec.get("decoded"), f"decided by the daemon, not at the write: {what_a}")
    check("production" in (rec.get("taint") or []), f"taint lacks production: {what_a}")
    check("production" in (rec.get("target_env") or []), f"target_env: {what_a}")
    op = opens_of(d, sid, resolved or path)
    check(op, f"{what}: no open record of the labelled file\n{dump}")
    eq(op[0].get("env"), ["production"], f"{what}: labels of the open {short(op[0])}")
    check("labelled_by" not in op[0], f"{what}: labelled after the fact: {short(op[0])}")
    eq(op[0].get("pid"), rec.get("pid"), f"{what}: the open and the write are one process")
    d.wait_session_end(sid)
    return rec, op[0]


def run_arrives(t, w, d, srv, path, what):
    """The same in a session with a file the glob does not label: the request
    arrives, the session ends normally, the open carries no label."""
    mark = srv.mark()
    name = rand_marker("globctl")
    r = d.run(w.client(srv, path), name=name, timeout=90)
    sid = d.session_id(name)
    eq(r.rc, 0, f"{what}: scopelock run exit status ({r})")
    check("sent" in r.stdout, f"{what}: client output {r.stdout!r}")
    srv.wait_request(lambda x: x["method"] == "DELETE", f"{what}: the DELETE")
    check(w.arrived(srv, mark), f"{what}: the DELETE did not arrive\n{srv.summary()}")
    op = opens_of(d, sid, path)
    check(op, f"{what}: no open record of {path}")
    check(not op[0].get("env"), f"{what}: the open is labelled: {short(op[0])}")
    d.wait_session_end(sid)


def run_outside(t, w, srv, path, what):
    """The same client outside any session: the request arrives."""
    mark = srv.mark()
    p = subprocess.run(w.client(srv, path), capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    eq(p.returncode, 0, f"{what}: client outside a session: {p.stderr[-800:]!r}")
    srv.wait_request(lambda x: x["method"] == "DELETE", f"{what}: the DELETE")
    check(w.arrived(srv, mark), f"{what}: nothing arrived from outside\n{srv.summary()}")


def start(t, w):
    srv = GraphQLServer(t)
    d = start_daemon(t, w.policy)
    return d, srv
