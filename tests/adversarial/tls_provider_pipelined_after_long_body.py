# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""On a connection whose ClientHello names a model provider
(api.anthropic.com): a first request to the provider with a long benign body
written in 64 KB pieces (each longer than the capture, so the daemon sees
only their starts unless it holds them), and in the same write as the
body's last bytes a second request, pipelined, whose Host is production
(known by name only) and whose body is the incident's mutation. Every write
of a provider's connection is held and read whole: the decoder follows the
first request's framing, finds the second request and its Host, and the
mutation is stopped before it is sent. Control: outside a session both
requests arrive."""

import shlex
import sys

from enforce import World, agent_script, finish, policy_text, start_daemon, wait_alert, \
    write_policy
from harness import KILLED, blocked, check, eq, rand_marker, short
from reqforms import ReqServer

EXPECT = "BLOCKED"
q = shlex.quote

CLIENT = r'''
import socket, ssl, sys
port, mutation = int(sys.argv[1]), sys.argv[2].encode()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                    server_hostname="api.anthropic.com")
body = b"x" * 200000
s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
          b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body))
for i in range(0, len(body) - 1000, 65536):
    s.sendall(body[i:min(i + 65536, len(body) - 1000)])
second = (b"POST /graphql HTTP/1.1\r\nHost: api.prod.example.test\r\n"
          b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(mutation)
          + mutation)
s.sendall(body[-1000:] + second)
got = b""
while got.count(b"HTTP/1.1 ") < 2:
    b = s.recv(65536)
    if not b:
        break
    got += b
print("responses", got.count(b"HTTP/1.1 "))
'''


def test_tls_provider_pipelined_after_long_body(t):
    w = World(t)
    srv = ReqServer(t)
    rules = [{"name": "graphql-destroy", "channel": "tls", "pattern": "graphql_destroy",
              "target": "outside_scope", "action": "kill"}]
    envs = w.envs(prod_hosts=["*.prod.example.test"])
    policy = (policy_text(envs, ["graphql_destroy"], rules, settings={"syslog": False})
              + "destinations:\n  model_providers:\n    - api.anthropic.com\n")
    d = start_daemon(t, write_policy(t, policy))
    client = t.write("client.py", CLIENT)
    argv = [sys.executable, str(client), str(srv.port), w.mutation(w.prod_vol)]
    mark = srv.mark()
    r = t.outside(argv)
    eq(r.rc, 0, f"the client outside a session ({r})")
    got = srv.received(mark)
    check(any(b"volumeDelete" in x for x in got) and len(got) >= 2,
          f"outside a session the pipelined mutation did not arrive\n{srv.summary()}")
    mark = srv.mark()
    name = rand_marker("pipelined")
    r = d.run(agent_script(t, "agent", [" ".join(q(a) for a in argv)], expect_killed=True),
              name=name, timeout=90)
    sid = d.session_id(name)
    dump = d.dump(session=sid, types=("alert", "verdict", "tls_write"))
    eq(r.rc, KILLED, f"the session was not killed ({r})\n{srv.summary()}\n{dump}")
    check(not any(b"volumeDelete" in x for x in srv.received(mark)),
          f"the mutation reached the server\n{srv.summary()}")
    rec = wait_alert(d, sid, "graphql-destroy")
    check("production" in (rec.get("target_env") or []), f"target_env: {short(rec, 1500)}")
    found = [x for x in d.records(session=sid, type="tls_write")
             if x.get("provider_host_mismatch") == "api.prod.example.test"]
    check(found, f"no tls_write record names the pipelined request's Host\n{dump}")
    d.wait_session_end(sid)
    finish(t, d, w)
    blocked(t, "a request pipelined after a long provider request is found and judged")
