# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Two threads of one process, two connections: thread A keeps sending
harmless requests that are held for decoding and released (a decode marker
on every write), thread B sends the production mutation in a form only
decoding reveals (JSON \\u escapes). Releasing A's write sends SIGCONT to the
whole process: B's write, held a moment before and not yet decided, must not
go out with it (the kernel's count of held writes keeps the session's egress
and writers held until every held write was decided). Control: outside a
session, B's request arrives."""

import json
import secrets
import shlex

from enforce import World, agent_script, finish, start_daemon, wait_alert, write_policy
from harness import KILLED, PY, blocked, check, eq, fail, rand_marker
from reqforms import ReqServer, req_policy

EXPECT = "BLOCKED"
q = shlex.quote

RACE = r'''
import json, socket, ssl, sys, threading, time
port, ca, token, bad = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].encode()
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["http/1.1"])
def conn():
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30),
                           server_hostname="localhost")
def post(s, body, extra=""):
    s.sendall(("POST /graphql/v2 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\n%sContent-Length: %d\r\n\r\n"
               % (token, extra, len(body))).encode() + body)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    head, _, rest = buf.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n")
             if l.lower().startswith(b"content-length")][0])
    while len(rest) < n:
        rest += s.recv(65536)
LIMIT = 100000
started, finished = threading.Event(), threading.Event()
def noise():
    s = conn()
    # until B is done (bounded): A is still sending whatever B's connection costs
    for i in range(LIMIT):
        if finished.is_set():
            break
        post(s, json.dumps({"query": "query { me { name } }", "i": i}).encode(),
             "Content-Encoding: identity\r\n")
        if i == 20:
            started.set()
t = threading.Thread(target=noise)
t.start()
started.wait()
post(conn(), bad)
print("bad request answered", flush=True)
finished.set()
t.join()
'''


def test_request_held_thread_race(t):
    w = World(t)
    vol = "vol_" + secrets.token_hex(6)
    srv = ReqServer(t)
    d = start_daemon(t, write_policy(t, req_policy(w)))
    script = t.write("race.py", RACE)
    bad = json.dumps({"query": f'mutation {{ volumeDelete(volumeId: "{vol}") }}'}).replace(
        "volumeDelete", "volume\\u0044elete")
    argv = [PY, str(script), str(srv.port), str(srv.cert), w.prod_token, bad]

    def arrived(since):
        return [x for x in srv.received(since) if vol.encode() in x]
    mark = srv.mark()
    r = t.outside(argv, timeout=120)
    eq(r.rc, 0, f"the race outside a session ({r})")
    check(arrived(mark), f"outside a session the mutation did not arrive\n{srv.summary()}")
    mark = srv.mark()
    name = rand_marker("race")
    r = d.run(agent_script(t, "agent", [" ".join(q(a) for a in argv)], expect_killed=True),
              name=name, timeout=120)
    sid = d.session_id(name)
    if r.rc != KILLED:
        fail(f"the session was not killed: exit {r.rc} {r}\n{srv.summary()}\n"
             + d.dump(session=sid, types=("alert", "verdict", "session_killed")))
    d.wait_session_end(sid)
    check(not arrived(mark), f"the mutation arrived from the session\n{srv.summary()}")
    rec = wait_alert(d, sid, "destroy-api-outside-scope")
    check(rec.get("decoded") is True, f"not decided on the decoded request: {rec}")
    released = [x for x in d.records(session=sid, type="verdict")
                if x.get("verdict") == "released"]
    # thread A was still sending (held, released) when B's write was held
    check(20 <= len(released) < 99000,
          f"the harmless thread's writes: {len(released)} released (expected it to be "
          f"cut short by the kill)")
    finish(t, d, w)
    blocked(t, f"the escaped mutation from a second thread never left while the first "
               f"thread's held writes were released ({len(released)} of them)")
