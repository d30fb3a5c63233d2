# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Review of wip/prov (not adversarial: legitimate provider conversations
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

# HTTP/2 conversation, one request: write 1 = HEADERS + three 10 KB DATA frames
# of history (no keyword: not held; longer than the capture and across frames:
# the daemon's decoder cannot skip, it starts again at the next write); write
# 2 = the last DATA frame, which discusses the incident (the rules would stop
# it: held for decoding)
CLIENT = r'''
import json, socket, ssl, struct, sys, time
port, vol = int(sys.argv[1]), sys.argv[2]

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
tail = ('the agent ran mutation { volumeDelete(volumeId: \\"%s\\") } yesterday"}]}' % vol).encode()
head = b'{"model": "m", "messages": [{"role": "user", "content": "'
hist = b"h" * 30000
body = head + hist + tail
w1 = frame(4, 1, 0, b"") + frame(1, 0x4, 1, block)
for i in range(0, len(head) + len(hist), 10000):
    w1 += frame(0, 0, 1, body[i:min(i + 10000, len(head) + len(hist))])
s.sendall(w1)
time.sleep(0.3)
s.sendall(frame(0, 0x1, 1, tail))
got = b""
deadline = time.time() + 5
try:
    while time.time() < deadline and b"ok" not in got:
        b = s.recv(65536)
        if not b:
            break
        got += b
except socket.timeout:
    pass
print("read", len(got))
'''


def test_provider_h2_conversation_after_resync(t):
    """A legitimate HTTP/2 conversation to the provider is released (not held
    for a person) when a write of it before was longer than the capture and
    crossed DATA frames. Control: the same conversation arrives outside."""
    w = World(t)
    srv = ReqServer(t)
    rules = [{"name": "graphql-destroy", "channel": "tls", "pattern": "graphql_destroy",
              "target": "outside_scope", "action": "kill"}]
    policy = (policy_text(w.envs(), ["graphql_destroy"], rules, settings={"syslog": False})
              + "destinations:\n  model_providers:\n    - api.anthropic.com\n")
    d = start_daemon(t, write_policy(t, policy))
    client = t.write("client.py", CLIENT)
    argv = [sys.executable, str(client), str(srv.port), w.prod_vol]
    mark = srv.mark()
    r = t.outside(argv)
    eq(r.rc, 0, f"outside ({r})")
    check(any(b"volumeDelete" in x for x in srv.received(mark)),
          f"outside a session the conversation did not arrive\n{srv.summary()}")
    mark = srv.mark()
    name = rand_marker("h2-conv")
    try:
        r = d.run(agent_script(t, "agent", [" ".join(q(a) for a in argv)],
                               expect_killed=False), name=name, timeout=30)
    except subprocess.TimeoutExpired:
        r = None
    sid = d.session_id(name)
    al = [a for a in alerts(d, sid) if a.get("rule") != "credential_exposure"]
    check(r is not None and not al, "the conversation was held (the session did not end: "
          f"{r})\n{json.dumps(al)[:3000]}")
    dump = d.dump(session=sid, types=("alert", "verdict", "tls_write"))
    held = [x for x in d.records(session=sid, type="tls_write") if x.get("held_for_decoding")]
    check(held, f"the last write was not held for decoding: the test exercises nothing\n{dump}")
    al = [a for a in alerts(d, sid) if a.get("rule") != "credential_exposure"]
    check(not al, f"the conversation was stopped or held ({r})\n{json.dumps(al)[:3000]}")
    eq(r.rc, 0, f"the conversation in a session ({r})\n{dump[:4000]}")
    check(any(b"volumeDelete" in x for x in srv.received(mark)),
          f"the conversation did not reach the provider\n{srv.summary()}")
    d.wait_session_end(sid)
    finish(t, d, w)
