# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Helper of the provider-name review cases (not a case): a raw TLS client
whose ClientHello names a model provider (api.anthropic.com) sends one
HTTP/1.1 request (curl-h2: HTTP/2 by curl) whose Host is production, known by name only
(`*.prod.example.test`), with a destructive GraphQL mutation written so the
kernel's automaton cannot see what the daemon would (a body naming nothing
labelled; a JSON escape; a compressed body). The policy is the shipped
default's pair of TLS rules (outside_scope: kill, unknown: alert).
Controls: outside a session the mutation arrives; in a session, the same
request with an honest server name (the production host's) is stopped."""

import base64
import shlex
import subprocess
import sys

from enforce import World, agent_script, finish, policy_text, start_daemon, \
    write_policy
from harness import KILLED, blocked, check, eq, need_binary, rand_marker, short, wait_until
from reqforms import ReqServer

q = shlex.quote
PROD_HOST = "api.prod.example.test"

CLIENT = r'''
import base64, gzip, socket, ssl, sys
port, sni, host, enc, body = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], \
    base64.b64decode(sys.argv[5])
extra = b""
if enc == "gzip":
    body = gzip.compress(body)
    extra = b"Content-Encoding: gzip\r\n"
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                    server_hostname=sni)
s.sendall(b"POST /graphql HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
          b"Content-Type: application/json\r\n" + extra +
          b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
print(got.split(b"\r\n", 1)[0].decode())
'''


def stopped_or_held(t, d, lines, name):
    """Run the agent in a session: it is killed at the write, or held for a
    person at a request whose head went first (its Host is not the
    provider's), then denied. Returns (exit status, the alert that stopped
    it, session id)."""
    p = d.spawn(agent_script(t, "agent", lines, expect_killed=True), name=name,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sid = d.session_id(name, 30)

    def stopping():
        for a in d.records(session=sid, type="alert"):
            if a.get("verdict") in ("killed", "held") and a.get("rule") != "credential_exposure":
                return a
        return None
    rec = wait_until(stopping, 60, f"a kill or a hold in session {sid}")
    if rec.get("verdict") == "held":
        check("sent before its body" in (rec.get("undecidable") or ""),
              f"held, but not for a head sent before its body: {short(rec, 1500)}")
        r = d.cli("deny", "--reason", "e2e: a production request on a provider's connection",
                  rec["hold_id"])
        eq(r.rc, 0, f"scopelock deny ({r})")
    p.communicate(timeout=60)
    d.wait_session_end(sid)
    return p.returncode, rec, sid


def run(t, body, enc, needle, why):
    w = World(t)
    srv = ReqServer(t)
    rules = [{"name": "graphql-destroy", "channel": "tls", "pattern": "graphql_destroy",
              "target": "outside_scope", "action": "kill"},
             {"name": "graphql-destroy-unknown", "channel": "tls", "pattern": "graphql_destroy",
              "target": "unknown", "action": "alert"}]
    envs = w.envs(prod_hosts=["*.prod.example.test"])
    policy = (policy_text(envs, ["graphql_destroy"], rules, settings={"syslog": False})
              + "destinations:\n  model_providers:\n    - api.anthropic.com\n")
    d = start_daemon(t, write_policy(t, policy))
    client = t.write("client.py", CLIENT)
    b64 = base64.b64encode(body(w).encode()).decode()

    def argv(sni):
        if enc == "curl-h2":
            need_binary("/usr/bin/curl")
            return ["/usr/bin/curl", "-sS", "--max-time", "20", "-k", "--http2",
                    "--resolve", f"{sni}:{srv.port}:127.0.0.1", "-H", f"Host: {PROD_HOST}",
                    "-H", "Content-Type: application/json", "--data-binary", body(w),
                    f"https://{sni}:{srv.port}/graphql"]
        return [sys.executable, str(client), str(srv.port), sni, PROD_HOST, enc, b64]

    def arrived(mark):
        return any(needle in x for x in srv.received(mark))

    # control 1: outside a session the mutation arrives (the server undoes gzip)
    mark = srv.mark()
    r = t.outside(argv("api.anthropic.com"))
    eq(r.rc, 0, f"the client outside a session ({r})")
    check(arrived(mark), f"outside a session the mutation did not arrive\n{srv.summary()}")

    # control 2: the policy stops this request when the server name is honest
    mark = srv.mark()
    name = rand_marker("honest-sni")
    r = d.run(agent_script(t, "agent", [" ".join(q(a) for a in argv(PROD_HOST))],
                           expect_killed=True), name=name, timeout=90)
    sid = d.session_id(name)
    eq(r.rc, KILLED, f"honest server name: the session was not killed ({r})\n{srv.summary()}\n"
       f"{d.dump(session=sid, types=('alert', 'verdict', 'tls_write'))}")
    check(not arrived(mark), f"honest server name: the mutation arrived\n{srv.summary()}")
    d.wait_session_end(sid)

    # the case: the provider's name in the ClientHello, production in Host;
    # a request whose head goes before its body (curl over HTTP/2) is held
    # for a person at its head, which this test denies
    mark = srv.mark()
    name = rand_marker("provider-host")
    rc, rec, sid = stopped_or_held(t, d, [" ".join(q(a) for a in argv("api.anthropic.com"))],
                                   name)
    dump = d.dump(session=sid, types=("alert", "verdict", "tls_write"))
    check(not arrived(mark), f"the mutation reached the server\n{srv.summary()}\n{dump}")
    eq(rc, KILLED, f"the session was not killed ({rc})\n{srv.summary()}\n{dump}")
    if rec.get("verdict") == "killed":
        check("production" in (rec.get("target_env") or []), f"target_env: {short(rec, 1500)}")
    finish(t, d, w)
    blocked(t, why)
