# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Review of wip/prov (not adversarial: a legitimate provider conversation
that must not be held for a person)."""

import json
import shlex
import subprocess
import sys

from enforce import World, agent_script, alerts, finish, policy_text, start_daemon, \
    write_policy
from harness import check, eq, rand_marker
from reqforms import ReqServer

q = shlex.quote

# HTTP/2 to the provider: stream 1's request is cancelled by the client while
# its body is uploading (RST_STREAM CANCEL: the user pressed Esc, or the server
# answered early), then stream 3 asks again and completes
CLIENT = r'''
import socket, ssl, struct, sys, time
port = int(sys.argv[1])

def frame(t, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload

def lit(idx, value):
    v = value.encode()
    return bytes([idx]) + bytes([len(v)]) + v

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["h2"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname="api.anthropic.com")
assert s.selected_alpn_protocol() == "h2"
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b""))
time.sleep(0.3)
block = b"\x83\x87" + lit(4, "/v1/messages") + lit(1, "api.anthropic.com") + \
    b"\x00\x0ccontent-type\x10application/json"
s.sendall(frame(4, 1, 0, b"") + frame(1, 0x4, 1, block) +
          frame(0, 0, 1, b'{"model": "m", "messages": [{"role": "user", "content": "'))
time.sleep(0.3)
s.sendall(frame(3, 0, 1, struct.pack(">I", 8)))  # RST_STREAM CANCEL
time.sleep(0.3)
s.sendall(frame(1, 0x4, 3, block) +
          frame(0, 0x1, 3, b'{"model": "m", "messages": [{"role": "user", "content": "again"}]}'))
got = b""
deadline = time.time() + 5
try:
    while time.time() < deadline and b"again" not in got and len(got) < 200:
        b = s.recv(65536)
        if not b:
            break
        got += b
except socket.timeout:
    pass
print("read", len(got))
'''


def test_provider_h2_cancelled_upload(t):
    """A provider request the client cancels during its upload (RST_STREAM
    CANCEL) never reached the server whole: the write that cancels it is
    released, not held for a person. Control: outside a session the second
    request arrives."""
    w = World(t)
    srv = ReqServer(t)
    rules = [{"name": "graphql-destroy", "channel": "tls", "pattern": "graphql_destroy",
              "target": "outside_scope", "action": "kill"}]
    policy = (policy_text(w.envs(), ["graphql_destroy"], rules, settings={"syslog": False})
              + "destinations:\n  model_providers:\n    - api.anthropic.com\n")
    d = start_daemon(t, write_policy(t, policy))
    client = t.write("client.py", CLIENT)
    argv = [sys.executable, str(client), str(srv.port)]
    mark = srv.mark()
    r = t.outside(argv)
    eq(r.rc, 0, f"outside ({r})")
    check(any(b"again" in x for x in srv.received(mark)),
          f"outside a session the second request did not arrive\n{srv.summary()}")
    mark = srv.mark()
    name = rand_marker("h2-cancel")
    try:
        r = d.run(agent_script(t, "agent", [" ".join(q(a) for a in argv)],
                               expect_killed=False), name=name, timeout=30)
    except subprocess.TimeoutExpired:
        r = None
    sid = d.session_id(name)
    dump = d.dump(session=sid, types=("alert", "verdict", "tls_write"))
    al = [a for a in alerts(d, sid) if a.get("rule") != "credential_exposure"]
    check(r is not None and not al, "the conversation was held (the session did not end: "
          f"{r})\n{json.dumps(al)[:3000]}\n{dump[:4000]}")
    held = [x for x in d.records(session=sid, type="tls_write") if x.get("held_for_decoding")]
    check(held, f"no write was held for decoding: the test exercises nothing\n{dump}")
    eq(r.rc, 0, f"the conversation in a session ({r})\n{dump[:4000]}")
    check(any(b"again" in x for x in srv.received(mark)),
          f"the second request did not reach the provider\n{srv.summary()}")
    d.wait_session_end(sid)
    finish(t, d, w)
