#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Per-write cost of the two-stage verdicts (issue 9): a write the kernel
judges from its bytes (fast path) against a write held at SSL_write, decoded
and judged by the daemon, then released; HTTP/1.1, HTTP/2 and WebSocket, and
plaintext HTTP/1.1 (no TLS: judged at the socket write: "plain", "plain held").

Each client sends N requests on one TLS connection to a loopback server
(tests/e2e/servers/req_server.js, outside any session) and times every
request (the write and the server's answer), so a held write's stop, decode
and release are inside the time. Configurations, all in one run:

  outside      the client outside any session (scopelockd running)
  capture      in a session, a policy without TLS rules: capture only
  judged       in a session, policies/default.yaml: the kernel judges every
               write; h1 is the fast path, "h1 held" carries a decode marker
               (Content-Encoding: identity), h2 (connection preface) and ws
               (Upgrade) connections are held at every write

Prints p50/p99 per request and the ratio to capture in the same run; the
raw numbers go to bench/results/requests-<UTC>.json. Run as root:

  bench/requests_bench.py [-n 300] [--reps 3]
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "tests" / "e2e" / "servers" / "req_server.js"
RESULTS = REPO / "bench" / "results"

# python client: argv port ca mode n; prints a JSON list of per-request ns
PY_CLIENT = r'''
import base64, json, os, socket, ssl, sys, time
port, ca, mode, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.create_connection(("127.0.0.1", port))
if not mode.startswith("plain"):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    ctx.set_alpn_protocols(["http/1.1"])
    s = ctx.wrap_socket(s, server_hostname="localhost")
else:
    mode = mode[len("plain-"):]
body = json.dumps({"query": "query { me { name } }", "pad": "x" * 400}).encode()
extra = "Content-Encoding: identity\r\n" if mode == "h1-held" else ""
req = ("POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
       "%sContent-Length: %d\r\n\r\n" % (extra, len(body))).encode() + body
out = []
buf = b""
def read_http():
    global buf
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    head, _, rest = buf.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(rest) < n:
        rest += s.recv(65536)
    buf = rest[n:]
if mode == "ws":
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    buf = buf.partition(b"\r\n\r\n")[2]
    mask = b"\x01\x02\x03\x04"
    frame = bytes([0x81, 0x80 | 126]) + len(body).to_bytes(2, "big") + mask + \
        bytes(b ^ mask[i & 3] for i, b in enumerate(body))
for i in range(n):
    t0 = time.monotonic_ns()
    if mode == "ws":
        s.sendall(frame)
        while len(buf) < 4:
            buf += s.recv(4096)
        buf = buf[4:]
    else:
        s.sendall(req)
        read_http()
    out.append(time.monotonic_ns() - t0)
print(json.dumps(out))
'''

NODE_H2 = r'''
const http2 = require('http2');
const fs = require('fs');
const [port, ca, n] = process.argv.slice(1);
const s = http2.connect('https://localhost:' + port, {ca: fs.readFileSync(ca)});
const body = JSON.stringify({query: 'query { me { name } }', pad: 'x'.repeat(400)});
const out = [];
const one = (i) => {
  if (i >= +n) { console.log(JSON.stringify(out)); s.close(); return; }
  const t0 = process.hrtime.bigint();
  const r = s.request({':method': 'POST', ':path': '/graphql', 'content-type': 'application/json'});
  r.on('data', () => {});
  r.on('end', () => { out.push(Number(process.hrtime.bigint() - t0)); one(i + 1); });
  r.end(body);
};
one(0);
'''

CAPTURE_POLICY = """version: 1
environments:
  production:
    hosts: [prod.example.com]
  bench: {}
rules:
  - name: connect-outside-scope
    channel: connect
    target: outside_scope
    action: deny
"""


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=300, help="requests per client run")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of every cell")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args(argv)
    ctx = bench.Ctx(a.keep)
    results = {}
    try:
        d = ctx.tmp / "srv"
        d.mkdir()
        bench.run_cmd(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                       d / "key.pem", "-out", d / "cert.pem", "-days", "2", "-subj",
                       "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"])
        srv = ctx.spawn(["/usr/bin/node", SERVER, d / "cert.pem", d / "key.pem", "/dev/null",
                         d / "port"], "req_server")
        ports = bench.wait_until(lambda: (d / "port").exists() and (d / "port").read_text(), 10)
        if not ports:
            raise bench.BenchError(f"req_server.js did not start (exit {srv.poll()})")
        h2_port, ws_port, http_port = (int(x) for x in ports.split()[:3])
        client = ctx.tmp / "client.py"
        client.write_text(PY_CLIENT)
        forms = {
            "h1": ["/usr/bin/python3", client, h2_port, d / "cert.pem", "h1", a.n],
            "h1 held": ["/usr/bin/python3", client, h2_port, d / "cert.pem", "h1-held", a.n],
            "h2": ["/usr/bin/node", "-e", NODE_H2, h2_port, d / "cert.pem", a.n],
            "ws": ["/usr/bin/python3", client, ws_port, d / "cert.pem", "ws", a.n],
            # plaintext HTTP/1.1 (no TLS): judged at the socket write
            "plain": ["/usr/bin/python3", client, http_port, d / "cert.pem", "plain-h1", a.n],
            "plain held": ["/usr/bin/python3", client, http_port, d / "cert.pem",
                           "plain-h1-held", a.n],
        }
        cap_policy = ctx.tmp / "capture.yaml"
        cap_policy.write_text(CAPTURE_POLICY)
        configs = [("outside", cap_policy, False), ("capture", cap_policy, True),
                   ("judged", REPO / "policies" / "default.yaml", True)]
        for rep in range(a.reps):
            for cname, policy, inside in configs:
                bench.POLICY = policy
                mon = bench.Scopelockd(ctx, "bench")
                mon.start()
                try:
                    for fname, argv_ in forms.items():
                        cmd = [str(x) for x in argv_]
                        if inside:
                            cmd = [str(x) for x in mon.wrap(cmd)]
                        p = bench.run_cmd(cmd, timeout=600)
                        line = p.stdout.strip().splitlines()[-1]
                        results.setdefault(fname, {}).setdefault(cname, []).extend(
                            json.loads(line))
                        bench.log(f"rep {rep + 1}: {cname} {fname} done")
                finally:
                    mon.stop()
    finally:
        ctx.close()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / time.strftime("requests-%Y%m%dT%H%M%SZ.json", time.gmtime())
    out.write_text(json.dumps({"n": a.n, "reps": a.reps, "ns": results}))
    print(f"per request (write + answer), {a.n} x {a.reps} each; ratio to capture "
          f"(same run)\n")
    print(f"{'form':8} {'config':8} {'p50 us':>9} {'p99 us':>9} {'p50 x':>7} {'p99 x':>7}")
    for fname, per in results.items():
        base = per.get("capture")
        for cname in ("outside", "capture", "judged"):
            v = per.get(cname)
            if not v:
                continue
            p50, p99 = statistics.median(v), pct(v, 99)
            r50 = p50 / statistics.median(base) if base else float("nan")
            r99 = p99 / pct(base, 99) if base else float("nan")
            print(f"{fname:8} {cname:8} {p50 / 1000:9.1f} {p99 / 1000:9.1f} {r50:7.2f} "
                  f"{r99:7.2f}")
    print(f"\nraw: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
