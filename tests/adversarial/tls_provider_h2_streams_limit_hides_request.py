# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""HTTP/2 on a connection whose ClientHello names a model provider: one
write opens 256 streams whose :authority is the provider's (HEADERS without
END_STREAM: requests whose bodies are still to come), then a 257th stream
whose :authority is production (known by name only, sent as a literal so the
kernel sees it) with the incident's mutation. The kernel stops the write and
holds it for decoding; the decoder's stream limit (max_streams 256) fails the
connection at the 257th HEADERS, which gives up the 256 open streams (heads
read whole, the provider's: the conversation) and leaves the rest of the
write, the production request, undecoded: nothing is judged and the write is
released. The server (no such limit) runs the mutation.
Controls: outside a session the mutation arrives; with the production host's
name in the ClientHello the same write is stopped."""

import shlex
import subprocess
import sys

from enforce import World, agent_script, finish, policy_text, start_daemon, wait_hold, \
    write_policy
from harness import KILLED, blocked, check, eq, rand_marker, short
from reqforms import ReqServer

EXPECT = "BLOCKED"
q = shlex.quote
PROD_HOST = "api.prod.example.test"

CLIENT = r'''
import socket, ssl, struct, sys, time
port, sni, n_open, mutation = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()

def frame(t, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload

def lit(idx, value):
    # literal header field without indexing, indexed name, raw (not Huffman) value
    v = value.encode()
    assert idx < 15 and len(v) < 127
    return bytes([idx]) + bytes([len(v)]) + v

def lit_new(name, value):
    n, v = name.encode(), value.encode()
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v

def headers(sid, authority, path, end):
    block = b"\x83" + b"\x87" + lit(4, path) + lit(1, authority) + \
        lit_new("content-type", "application/json")
    return frame(1, 0x4 | (0x1 if end else 0), sid, block)

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["h2"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname=sni)
assert s.selected_alpn_protocol() == "h2", s.selected_alpn_protocol()
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b""))
time.sleep(0.3)
out = b""
sid = 1
for i in range(n_open):
    out += headers(sid, "api.anthropic.com", "/v1/messages", False)
    sid += 2
out += headers(sid, "api.prod.example.test", "/graphql", False)
out += frame(0, 0x1, sid, mutation)
s.sendall(frame(4, 0x1, 0, b"") + out)
deadline = time.time() + 5
got = b""
try:
    while time.time() < deadline:
        b = s.recv(65536)
        if not b:
            break
        got += b
except socket.timeout:
    pass
print("read", len(got))
'''


def test_tls_provider_h2_streams_limit_hides_request(t):
    w = World(t)
    srv = ReqServer(t)
    rules = [{"name": "graphql-destroy", "channel": "tls", "pattern": "graphql_destroy",
              "target": "outside_scope", "action": "kill"}]
    envs = w.envs(prod_hosts=["*.prod.example.test"])
    policy = (policy_text(envs, ["graphql_destroy"], rules, settings={"syslog": False})
              + "destinations:\n  model_providers:\n    - api.anthropic.com\n")
    d = start_daemon(t, write_policy(t, policy))
    client = t.write("client.py", CLIENT)

    def argv(sni):
        return [sys.executable, str(client), str(srv.port), sni, "256",
                w.mutation(w.prod_vol)]

    def arrived(mark):
        return any(b"volumeDelete" in x for x in srv.received(mark))

    mark = srv.mark()
    r = t.outside(argv("api.anthropic.com"))
    eq(r.rc, 0, f"the client outside a session ({r})")
    check(arrived(mark), f"outside a session the mutation did not arrive\n{srv.summary()}")

    mark = srv.mark()
    name = rand_marker("honest-sni")
    r = d.run(agent_script(t, "agent", [" ".join(q(a) for a in argv(PROD_HOST))],
                           expect_killed=True), name=name, timeout=90)
    sid = d.session_id(name)
    eq(r.rc, KILLED, f"honest server name: the session was not killed ({r})\n{srv.summary()}")
    check(not arrived(mark), f"honest server name: the mutation arrived\n{srv.summary()}")
    d.wait_session_end(sid)

    # the decoder loses the connection at its stream limit: what the write
    # sends past it is not known, so the write is held for a person (it is
    # not released on the provider heads the decoder gave up with it)
    mark = srv.mark()
    name = rand_marker("streams-limit")
    p = d.spawn(agent_script(t, "agent", [" ".join(q(a) for a in argv("api.anthropic.com"))],
                             expect_killed=True), name=name,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sid, rec = wait_hold(d, name, "undecidable-request", timeout=60)
    check("lost the connection" in (rec.get("undecidable") or ""),
          f"the hold does not say the decoder lost the connection: {short(rec, 1500)}")
    r = d.cli("deny", "--reason", "e2e: the decoder lost the connection", rec["hold_id"])
    eq(r.rc, 0, f"scopelock deny ({r})")
    p.communicate(timeout=60)
    eq(p.returncode, KILLED, "exit status of the denied session")
    d.wait_session_end(sid)
    check(not arrived(mark), f"the mutation reached the server\n{srv.summary()}\n"
          + d.dump(session=sid, types=("alert", "verdict", "tls_write"))[:6000])
    finish(t, d, w)
    blocked(t, "a request after the decoder's stream limit is judged on a provider's connection")
