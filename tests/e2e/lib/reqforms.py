# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The incident's request in the forms the kernel cannot judge from the
bytes (issue 9): HTTP/2 (curl, node), a gzip body, JSON \\u escapes, chunked
framing that cuts the keyword, WebSocket masked frames, REST DELETE over
HTTP/2, the verb-first deleteVolume naming behind an alias, and a request
split between a parent and its forked child on one connection.

Each form is a client command (argv) sending the production mutation (or
DELETE) with the production token to tests/e2e/servers/req_server.js on
loopback. run_form() runs it first outside a session (it must arrive: the
control), then from a staging session: the write that completes the request
is held by the kernel, decoded and judged by the daemon, and the session is
killed before the request leaves; the server never receives it.
"""

import base64
import gzip
import json
import secrets
import shlex
import subprocess
import tempfile
from pathlib import Path

from enforce import (World, agent_script, policy_text, start_daemon, wait_alert,
                     wait_session_killed, write_policy, finish)
from harness import (KILLED, PY, REPO, SERVERS, check, eq, fail, make_cert, need_binary, rand_marker,
                     short, wait_until)

q = shlex.quote
NODE = "/usr/bin/node"


class ReqServer:
    """tests/e2e/servers/req_server.js: HTTP/2 + HTTP/1.1 and WebSocket on
    loopback, and plaintext HTTP/1.1 (http_port) and h2c (h2c_port); logs
    what the application reads."""

    def __init__(self, t):
        need_binary(NODE)
        self.t = t
        self.cert, self.key = make_cert(t)
        d = Path(tempfile.mkdtemp(prefix="req-", dir=t.tmp))
        self.log = d / "server.jsonl"
        self.log.touch()
        portfile = d / "port"
        self.stderr = d / "stderr"
        self.proc = t.popen([NODE, str(SERVERS / "req_server.js"), str(self.cert),
                             str(self.key), str(self.log), str(portfile)],
                            stdout=subprocess.DEVNULL, stderr=open(self.stderr, "wb"))

        def ready():
            if self.proc.poll() is not None:
                fail(f"req_server.js exited {self.proc.returncode}: "
                     + self.stderr.read_text(errors="replace"))
            try:
                ports = [int(x) for x in portfile.read_text().split()]
                return ports if len(ports) == 4 else None
            except (OSError, ValueError):
                return None
        self.port, self.ws_port, self.http_port, self.h2c_port = \
            wait_until(ready, 15, "the request server's ports")

    def proxy_port(self):
        """tests/e2e/servers/http_proxy.py on loopback (started once)."""
        if getattr(self, "_proxy_port", None):
            return self._proxy_port
        portfile = self.log.parent / "proxy-port"
        proc = self.t.popen([PY, str(SERVERS / "http_proxy.py"), str(portfile)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def ready():
            if proc.poll() is not None:
                fail(f"http_proxy.py exited {proc.returncode}")
            try:
                return int(portfile.read_text())
            except (OSError, ValueError):
                return None
        self._proxy_port = wait_until(ready, 15, "the HTTP proxy's port")
        return self._proxy_port

    def events(self, since=0):
        out = [json.loads(x) for x in self.log.read_text().splitlines() if x.strip()]
        return out[since:]

    def mark(self):
        return len(self.events())

    def received(self, since=0):
        """What the application read: request heads, bodies, WS messages."""
        out = []
        for e in self.events(since):
            if e["ev"] == "request":
                out.append((f"{e['method']} {e['path']} http/{e['proto']}\n").encode()
                           + base64.b64decode(e["body_b64"]))
            elif e["ev"] == "ws":
                out.append(base64.b64decode(e["b64"]))
        return out

    def wait_all_closed(self, since=0, timeout=15):
        def closed():
            ev = self.events(since)
            acc = {e["conn"] for e in ev if e["ev"] == "accept"}
            return acc <= {e["conn"] for e in ev if e["ev"] == "close"}
        wait_until(closed, timeout, "every connection to the request server to close\n"
                   + self.summary())

    def summary(self):
        lines = []
        for e in self.events()[-40:]:
            if e["ev"] == "request":
                lines.append(f"conn {e.get('conn')} {e['method']} {e['path']} "
                             f"http/{e['proto']} "
                             f"{base64.b64decode(e['body_b64'])[:200]!r}")
            elif e["ev"] == "ws":
                lines.append(f"conn {e.get('conn')} ws {base64.b64decode(e['b64'])[:200]!r}")
            else:
                lines.append(f"conn {e.get('conn')} {e['ev']}")
        return "---- request server saw ----\n" + "\n".join(lines) + "\n----"


# ---------------------------------------------------------------- clients

# a raw TLS client: argv port ca token mode body; mode: chunked-cut, ws, fork
PY_RAW = r'''
import base64, os, socket, ssl, sys, time
port, ca, token, mode, body = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].encode()
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                    server_hostname="localhost")
def head(extra):
    return ("POST /graphql/v2 HTTP/1.1\r\nHost: localhost:%d\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\n%sConnection: close\r\n\r\n"
            % (port, token, extra)).encode()
def read_all():
    out = b""
    while True:
        try:
            c = s.recv(65536)
        except OSError:
            break
        if not c:
            break
        out += c
        if out.endswith(b"}\n") or out.endswith(b"0\r\n\r\n"):
            break
    return out
if mode == "chunked-cut":
    cut = body.index(b"Delete(") + 3          # "volumeDel" | "ete(": no keyword whole
    chunks = [body[:cut], body[cut:]]
    msg = head("Transfer-Encoding: chunked\r\n")
    for c in chunks:
        msg += b"%x\r\n%s\r\n" % (len(c), c)
    msg += b"0\r\n\r\n"
    s.sendall(msg)
    sys.stdout.write(read_all().decode(errors="replace"))
elif mode == "ws":
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /graphql HTTP/1.1\r\nHost: localhost:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Authorization: Bearer %s\r\n\r\n" % (port, key, token)).encode())
    resp = b""
    while b"\r\n\r\n" not in resp:
        resp += s.recv(4096)
    assert b" 101 " in resp, resp
    mask = os.urandom(4)
    n = len(body)
    hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big"))
    s.sendall(hdr + mask + bytes(b ^ mask[i & 3] for i, b in enumerate(body)))
    sys.stdout.write(s.recv(4096)[2:].decode(errors="replace"))
elif mode == "fork":
    cut = body.index(b"Delete(") - 2
    s.sendall(head("Content-Length: %d\r\n" % len(body)) + body[:cut])
    print("parent wrote", flush=True)
    pid = os.fork()
    if pid == 0:
        time.sleep(0.3)
        s.sendall(body[cut:])
        print("child wrote", flush=True)
        sys.stdout.write(read_all().decode(errors="replace"))
        os._exit(0)
    _, st = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(st))
'''

# node http2 client: argv url body; token from $API_TOKEN, CA from NODE_EXTRA_CA_CERTS
NODE_H2 = r'''
const http2 = require('http2');
const [url, body] = process.argv.slice(1);
const u = new URL(url);
const s = http2.connect(u.origin);
s.on('error', (e) => { console.error(e); process.exit(1); });
const r = s.request({':method': 'POST', ':path': u.pathname,
  'authorization': 'Bearer ' + process.env.API_TOKEN, 'content-type': 'application/json'});
let out = '';
r.on('data', (d) => { out += d; });
r.on('end', () => { process.stdout.write(out); s.close(); });
r.end(body);
'''

# a raw plaintext client: argv port token mode body; mode: split (two write
# calls, the keyword cut between them), writev (several iovecs, the keyword
# cut between two), sendmsg (the same iovecs in one sendmsg)
PY_PLAIN = r'''
import os, socket, sys
port, token, mode, body = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].encode()
s = socket.create_connection(("127.0.0.1", port), timeout=20)
head = ("POST /graphql/v2 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        % (port, token, len(body))).encode()
cut = body.index(b"Delete(") + 3          # "volumeDel" | "ete(": no keyword whole
parts = [head, body[:cut], body[cut:]]
if mode == "split":
    os.write(s.fileno(), head + body[:cut])
    print("first write done", flush=True)
    os.write(s.fileno(), body[cut:])
elif mode == "writev":
    n = os.writev(s.fileno(), parts)
    assert n == sum(map(len, parts)), n
elif mode == "sendmsg":
    n = s.sendmsg(parts)
    assert n == sum(map(len, parts)), n
else:
    raise SystemExit("unknown mode " + mode)
out = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    out += c
sys.stdout.write(out.decode(errors="replace")[-200:])
'''

PLAIN_FORMS = ("plain_http", "plain_chunked_gzip", "plain_h2c", "plain_split_write",
               "plain_writev", "plain_sendmsg", "plain_proxy")

FORMS = ("h2_curl", "h2_node", "gzip", "json_escape", "chunked_cut", "websocket",
         "rest_delete_h2", "delete_volume_alias", "fork_split", "mcp_tool_call")


def mutation(vol, field="volumeDelete", alias=None):
    f = f"{alias}: {field}" if alias else field
    return json.dumps({"query": f'mutation {{ {f}(volumeId: "{vol}") }}'})


def form_argv(t, srv, form, vol, token):
    """argv of the client sending form with token (a value)."""
    curl = ["/usr/bin/curl", "-sS", "--max-time", "20", "--cacert", str(srv.cert)]
    url = f"https://localhost:{srv.port}/graphql/v2"
    auth = ["-H", f"Authorization: Bearer {token}", "-H", "Content-Type: application/json"]
    raw = t.write("raw_client.py", PY_RAW) if not (t.tmp / "raw_client.py").exists() \
        else t.tmp / "raw_client.py"
    if form == "h2_curl":
        return curl + ["--http2"] + auth + ["--data-binary", mutation(vol), url]
    if form == "h2_node":
        return ["/usr/bin/env", f"API_TOKEN={token}", f"NODE_EXTRA_CA_CERTS={srv.cert}", NODE,
                "-e", NODE_H2, url, mutation(vol)]
    if form == "gzip":
        gz = t.tmp / f"body-{vol}.gz"
        gz.write_bytes(gzip.compress(mutation(vol).encode()))
        return curl + ["--http1.1"] + auth + ["-H", "Content-Encoding: gzip",
                                              "--data-binary", f"@{gz}", url]
    if form == "json_escape":
        body = mutation(vol).replace("volumeDelete", "volume\\u0044elete")
        return curl + ["--http1.1"] + auth + ["--data-binary", body, url]
    if form == "chunked_cut":
        return [PY, str(raw), str(srv.port), str(srv.cert), token, "chunked-cut", mutation(vol)]
    if form == "websocket":
        msg = json.dumps({"id": "1", "type": "subscribe", "payload": json.loads(mutation(vol))})
        return [PY, str(raw), str(srv.ws_port), str(srv.cert), token, "ws", msg]
    if form == "rest_delete_h2":
        return curl + ["--http2", "-X", "DELETE", "-H", f"Authorization: Bearer {token}",
                       f"https://localhost:{srv.port}/v1/volumes/{vol}"]
    if form == "delete_volume_alias":
        return curl + ["--http1.1"] + auth + [
            "--data-binary", mutation(vol, "deleteVolume", "gone"), url]
    if form == "mcp_tool_call":
        call = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "name": "drop_volume", "arguments": {"volume": vol, "force": True}}})
        return curl + ["--http1.1"] + auth + ["-H", "Accept: application/json, text/event-stream",
                                              "--data-binary", call,
                                              f"https://localhost:{srv.port}/mcp"]
    if form == "fork_split":
        return [PY, str(raw), str(srv.port), str(srv.cert), token, "fork", mutation(vol)]
    # plaintext HTTP: no TLS anywhere (the socket's own bytes are judged)
    plain_curl = ["/usr/bin/curl", "-sS", "--max-time", "20"]
    plain_url = f"http://127.0.0.1:{srv.http_port}/graphql/v2"
    if form == "plain_http":
        return plain_curl + auth + ["--data-binary", mutation(vol), plain_url]
    if form == "plain_chunked_gzip":
        gz = t.tmp / f"body-{vol}.gz"
        gz.write_bytes(gzip.compress(mutation(vol).encode()))
        return plain_curl + auth + ["-H", "Content-Encoding: gzip",
                                    "-H", "Transfer-Encoding: chunked",
                                    "--data-binary", f"@{gz}", plain_url]
    if form == "plain_h2c":
        return plain_curl + ["--http2-prior-knowledge"] + auth + [
            "--data-binary", mutation(vol), f"http://127.0.0.1:{srv.h2c_port}/graphql/v2"]
    if form == "plain_proxy":
        # through an HTTP proxy on loopback: the request line names the target
        return plain_curl + ["--proxy", f"http://127.0.0.1:{srv.proxy_port()}"] + auth + [
            "--data-binary", mutation(vol), f"http://localhost:{srv.http_port}/graphql/v2"]
    if form in ("plain_split_write", "plain_writev", "plain_sendmsg"):
        client = t.tmp / "plain_client.py"
        if not client.exists():
            client.write_text(PY_PLAIN)
        mode = {"plain_split_write": "split", "plain_writev": "writev",
                "plain_sendmsg": "sendmsg"}[form]
        return [PY, str(client), str(srv.http_port), token, mode, mutation(vol)]
    raise ValueError(form)


def destructive(srv, w, form, since):
    """What of the production action the application read."""
    got = srv.received(since)
    if form == "rest_delete_h2":
        return [x for x in got if x.startswith(b"DELETE /v1/volumes/" + w.vol.encode())]
    if form == "mcp_tool_call":
        return [x for x in got if w.vol.encode() in x and b"tools/call" in x]
    return [x for x in got if w.vol.encode() in x and b"mutation" in x]


def req_policy(w):
    rules = [{"name": "destroy-api-outside-scope", "channel": "tls",
              "pattern": ["graphql_destroy", "mcp_destroy", "http_delete"],
              "target": "outside_scope", "action": "kill"}]
    return policy_text(w.envs(), ["graphql_destroy", "mcp_destroy", "http_delete"], rules,
                       settings={"syslog": False})


def run_form(t, form):
    """Control outside a session (arrives), then blocked in a staging
    session. The agent has the production token (its value, not a read of
    the labelled file: the session is not tainted) and aims at a volume no
    label names: only the credential, once decoded, says where the request
    goes. Returns (daemon, world, session id, alert)."""
    w = World(t)
    w.vol = "vol_" + secrets.token_hex(6)
    srv = ReqServer(t)
    d = start_daemon(t, write_policy(t, req_policy(w)))
    mark = srv.mark()
    r = t.outside(form_argv(t, srv, form, w.vol, w.prod_token), timeout=60)
    eq(r.rc, 0, f"{form}: the request outside a session ({r})\n{srv.summary()}")
    srv.wait_all_closed(mark)
    check(destructive(srv, w, form, mark),
          f"{form}: outside a session the request did not arrive\n{srv.summary()}")
    mark = srv.mark()
    cmd = " ".join(q(a) for a in form_argv(t, srv, form, w.vol, w.prod_token))
    agent = agent_script(t, "agent", [f"cd {q(str(w.shop))}", "cat README.md .env > /dev/null",
                                      cmd], expect_killed=True)
    name = rand_marker(form.replace("_", "-"))
    r = d.run(agent, name=name, timeout=90)
    sid = d.session_id(name)
    dump = d.dump(session=sid, types=("alert", "verdict", "session_killed", "tls_write"))
    if r.rc != KILLED:
        fail(f"{form}: the session was not killed: exit {r.rc} {r}\n{srv.summary()}\n{dump}")
    # every process of the session is gone (its egress was dropped since
    # the kill): nothing more can arrive from it
    d.wait_session_end(sid)
    got = destructive(srv, w, form, mark)
    check(not got, f"{form}: the server read the production action from the session: {got!r}"
          f"\n{srv.summary()}\n{dump}")
    rec = wait_alert(d, sid, "destroy-api-outside-scope")
    eq(rec.get("verdict"), "killed", f"verdict of {short(rec, 1500)}")
    eq(rec.get("target"), "outside_scope", f"target of {short(rec, 1500)}")
    check("production" in (rec.get("target_env") or []), f"target_env of {short(rec, 1500)}")
    wait_session_killed(d, sid)
    return d, w, sid, rec


def check_decoded_alert(rec, form):
    """The alert came from the second stage: decoded, with the request and
    the hold latency."""
    what = short(rec, 2000)
    eq(rec.get("decoded"), True, f"{form}: decoded of {what}")
    check(isinstance(rec.get("hold_us"), int) and rec["hold_us"] >= 0,
          f"{form}: hold_us of {what}")
    req = rec.get("request")
    check(isinstance(req, dict), f"{form}: no request member in {what}")
    return req
