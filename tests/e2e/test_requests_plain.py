# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Plaintext HTTP on non-TLS sockets (issue 9): a session's write, writev,
sendto or sendmsg on a TCP stream that is not TLS is captured at system call
entry, judged by the same rules as a TLS write (the kernel's byte matcher,
the two-stage hold for forms it cannot judge from the bytes) and recorded as
`plain_write` with the decoded `request`. Every case has its control: the
same client outside a session reaches the server (tests/e2e/lib/reqforms.py:
run_form)."""

import gzip
import json
import secrets
import shlex

from enforce import World, agent_script, finish, start_daemon, write_policy
from harness import B, check, eq, rand_marker, short, wait_until
from reqforms import ReqServer, check_decoded_alert, mutation, req_policy, run_form

q = shlex.quote


def plain_writes(d, sid):
    return d.records(session=sid, type="plain_write")


def with_request(d, sid, want):
    """plain_write records of the session whose decoded request shows want."""
    return [x for x in plain_writes(d, sid)
            if x.get("request") and want in json.dumps(x["request"]).encode()]


def test_plain_http_incident(t):
    """The incident: the GraphQL volumeDelete with the production token over
    plain HTTP to a loopback server from a staging session is stopped before
    the server reads it; outside the session it arrives."""
    d, w, sid, rec = run_form(t, "plain_http")
    eq(rec.get("trigger"), "plain_write", f"trigger of {short(rec, 1500)}")
    got = with_request(d, sid, b"volumeDelete")
    check(got, "no plain_write record shows the decoded request\n"
          + d.dump(session=sid, types=("plain_write",)))
    r = got[-1]
    # curl sends with send(2): sendto
    eq(r.get("function"), "sendto", f"function of {short(r, 800)}")
    eq((r.get("peer") or {}).get("addr"), "127.0.0.1", f"peer of {short(r, 800)}")
    check(isinstance(r.get("socket"), int) and r["socket"] > 0, f"socket of {short(r, 800)}")
    eq(r["request"].get("method"), "POST", f"method of {short(r['request'], 800)}")
    finish(t, d, w)


def test_plain_http_chunked_gzip(t):
    """HTTP/1.1 with a chunked, gzip-compressed body: the kernel cannot judge
    the bytes; the writes are held, decoded by the daemon and the request is
    stopped."""
    d, w, sid, rec = run_form(t, "plain_chunked_gzip")
    req = check_decoded_alert(rec, "plain_chunked_gzip")
    check(b"volumeDelete" in json.dumps(req).encode(),
          f"the alert's request does not show volumeDelete: {short(req, 2000)}")
    check(with_request(d, sid, b"volumeDelete"),
          "no plain_write record shows the decoded request\n"
          + d.dump(session=sid, types=("plain_write",)))
    finish(t, d, w)


def test_plain_h2c(t):
    """HTTP/2 with prior knowledge on a plaintext socket (curl
    --http2-prior-knowledge): HPACK and frames decoded by the daemon."""
    d, w, sid, rec = run_form(t, "plain_h2c")
    req = check_decoded_alert(rec, "plain_h2c")
    eq(req.get("proto"), "http/2", f"proto of {short(req, 1500)}")
    finish(t, d, w)


def test_plain_http_proxy(t):
    """Through a forwarding HTTP proxy on loopback (the request line names
    the target): stopped at the session's write to the proxy."""
    d, w, sid, rec = run_form(t, "plain_proxy")
    finish(t, d, w)


def test_plain_benign_held_and_released(t):
    """The control of the two-stage path: a benign chunked, gzip-compressed
    POST from a staging session is held, decoded, released and arrives; the
    release is recorded with its hold latency, and the session is not
    killed."""
    w = World(t)
    srv = ReqServer(t)
    d = start_daemon(t, write_policy(t, req_policy(w)))
    marker = "benign_" + secrets.token_hex(6)
    gz = t.tmp / "benign.gz"
    gz.write_bytes(gzip.compress(json.dumps({"query": f'query {{ volume(id: "{marker}") }}'})
                                 .encode()))
    cmd = " ".join(q(a) for a in [
        "/usr/bin/curl", "-sS", "--max-time", "30", "-H", "Content-Type: application/json",
        "-H", "Content-Encoding: gzip", "-H", "Transfer-Encoding: chunked",
        "--data-binary", f"@{gz}", f"http://127.0.0.1:{srv.http_port}/graphql/v2"])
    name = rand_marker("plain-benign")
    r = d.run(agent_script(t, "agent", [cmd + " > /dev/null"], expect_killed=False),
              name=name, timeout=90)
    sid = d.session_id(name)
    eq(r.rc, 0, f"the benign session's exit status ({r})\n{d.dump(session=sid)}")
    got = [x for x in srv.received() if marker.encode() in x]
    check(got, f"the benign request did not arrive\n{srv.summary()}")
    d.wait_session_end(sid)
    held = [x for x in plain_writes(d, sid) if x.get("held_for_decoding")]
    check(held, "no plain_write was held for decoding\n"
          + d.dump(session=sid, types=("plain_write", "verdict")))
    rel = [x for x in d.records(session=sid, type="verdict")
           if x.get("verdict") == "released" and x.get("decoded")]
    check(rel and all(isinstance(x.get("hold_us"), int) for x in rel),
          "no released verdict with hold_us\n" + d.dump(session=sid, types=("verdict",)))
    check(not [x for x in d.records(session=sid, type="alert")],
          "the benign session raised an alert\n" + d.dump(session=sid, types=("alert",)))
    check(with_request(d, sid, marker.encode()),
          "no plain_write record shows the decoded benign request\n"
          + d.dump(session=sid, types=("plain_write",)))
    finish(t, d, w)


def test_plain_connect_tunnel_benign(t):
    """HTTPS through the proxy's CONNECT tunnel from a session: the CONNECT
    request is a plain_write; the TLS inside the tunnel is not (its
    plaintext is read at the TLS library: a tls_write with the request),
    and a benign request arrives."""
    w = World(t)
    srv = ReqServer(t)
    d = start_daemon(t, write_policy(t, req_policy(w)))
    marker = "tunnel_" + secrets.token_hex(6)
    body = json.dumps({"query": f'query {{ volume(id: "{marker}") }}'})
    cmd = " ".join(q(a) for a in [
        "/usr/bin/curl", "-sS", "--max-time", "30", "--http1.1", "--cacert", str(srv.cert),
        "--proxy", f"http://127.0.0.1:{srv.proxy_port()}", "-H",
        "Content-Type: application/json", "--data-binary", body,
        f"https://localhost:{srv.port}/graphql/v2"])
    name = rand_marker("plain-tunnel")
    r = d.run(agent_script(t, "agent", [cmd + " > /dev/null"], expect_killed=False),
              name=name, timeout=90)
    sid = d.session_id(name)
    eq(r.rc, 0, f"the session's exit status ({r})\n{d.dump(session=sid)}")
    check([x for x in srv.received() if marker.encode() in x],
          f"the tunnelled request did not arrive\n{srv.summary()}")
    d.wait_session_end(sid)
    pw = plain_writes(d, sid)
    check(pw and all(B(x.get("data") or "").startswith(b"CONNECT ") for x in pw),
          "the plain_write records are not (only) the CONNECT request\n"
          + d.dump(session=sid, types=("plain_write",)))
    check([x for x in d.records(session=sid, type="tls_write")
           if marker.encode() in json.dumps(x.get("request") or {}).encode()],
          "no tls_write record shows the tunnelled request\n"
          + d.dump(session=sid, types=("tls_write",)))
    check(not d.records(session=sid, type="alert"),
          "the benign tunnel raised an alert\n" + d.dump(session=sid, types=("alert",)))
    finish(t, d, w)


SINK = r'''
import socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(4)
open(sys.argv[1] + ".tmp", "w").write(str(srv.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = srv.accept()
    got = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        got += b
    open(sys.argv[2], "ab").write(got)
    c.close()
'''

OTHER_CLIENT = r'''
import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"SSH-2.0-OpenSSH_9.2 e2e\r\n")
# binary that shows decode markers (a JSON escape, a GraphQL word) by chance
s.sendall(os.urandom(64) + b"\\u0044 mutation tools/call" + os.urandom(64))
s.sendall(b"end-" + sys.argv[2].encode())
s.close()
'''


def test_plain_other_protocol_not_held(t):
    """A stream that is not HTTP (an SSH banner, then binary that happens
    to contain decode markers) is judged on its bytes and recorded, never
    held for decoding: the session is not stopped and the bytes arrive."""
    from harness import PY
    w = World(t)
    d = start_daemon(t, write_policy(t, req_policy(w)))
    portfile, sink = t.tmp / "sink-port", t.tmp / "sink.bin"
    sink.touch()
    t.popen([PY, "-c", SINK, str(portfile), str(sink)])
    port = int(wait_until(lambda: portfile.exists() and portfile.read_text(), 15,
                          "the sink's port"))
    marker = "other_" + secrets.token_hex(6)
    client = t.write("other_client.py", OTHER_CLIENT)
    name = rand_marker("plain-other")
    r = d.run(agent_script(t, "agent", [f"{q(PY)} {q(str(client))} {port} {marker}"],
                           expect_killed=False), name=name, timeout=60)
    sid = d.session_id(name)
    eq(r.rc, 0, f"the session's exit status ({r})\n{d.dump(session=sid)}")
    wait_until(lambda: marker.encode() in sink.read_bytes(), 15, "the bytes at the sink")
    d.wait_session_end(sid)
    pw = plain_writes(d, sid)
    check(len(pw) >= 3, "the writes are not recorded\n"
          + d.dump(session=sid, types=("plain_write",)))
    check(not [x for x in pw if x.get("held_for_decoding")],
          "a write of a stream that is not HTTP was held for decoding\n"
          + d.dump(session=sid, types=("plain_write",)))
    check(not d.records(session=sid, type="alert"),
          "alert on a stream that is not HTTP\n" + d.dump(session=sid, types=("alert",)))
    finish(t, d, w)
