#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""What the inspecting TLS proxy of blind_tls: proxy (issue 8) adds to a
request, against the uprobe path of a client whose TLS scopelock reads
itself. Both run in the same session of a daemon with the shipped policy and
`blind_tls: proxy` for the bench's scope (so every write is judged: the
client's own SSL_write on the direct path, the proxy's on the proxied one):

  direct   python ssl (system libssl: uprobes) straight to the server
  proxy    the same client through the session's proxy (HTTP CONNECT to
           $HTTPS_PROXY, TLS to the proxy, which re-originates to the server)

Two forms each: "keep" (N requests on one connection: what the relay costs
per request) and "conn" (a new connection per request, handshakes included:
the proxy adds the CONNECT, a second handshake and a certificate it mints).
The server (tests/e2e/servers/req_server.js) runs outside the session.
Prints p50/p99 per request and the proxy/direct ratio; raw numbers go to
bench/results/proxy-<UTC>.json. Run as root:

  bench/proxy_bench.py [-n 300] [--reps 3]
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "tests" / "e2e" / "servers" / "req_server.js"
RESULTS = REPO / "bench" / "results"

# argv: port ca via(direct|proxy) form(keep|conn) n; prints a JSON list of per-request ns
PY_CLIENT = r'''
import json, os, socket, ssl, sys, time
port, ca, via, form, n = (int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4],
                          int(sys.argv[5]))
if via == "proxy":
    ca = os.environ["SCOPELOCK_PROXY_CA"]
    pport = int(os.environ["HTTPS_PROXY"].rsplit(":", 1)[1])
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["http/1.1"])
body = json.dumps({"query": "query { me { name } }", "pad": "x" * 400}).encode()
req = ("POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
       "Content-Length: %d\r\n\r\n" % len(body)).encode() + body

def connect():
    if via == "proxy":
        raw = socket.create_connection(("127.0.0.1", pport))
        raw.sendall(b"CONNECT localhost:%d HTTP/1.1\r\nHost: localhost:%d\r\n\r\n"
                    % (port, port))
        head = b""
        while b"\r\n\r\n" not in head:
            head += raw.recv(1)
        if not head.startswith(b"HTTP/1.1 200"):
            raise SystemExit("proxy: %r" % head)
    else:
        raw = socket.create_connection(("127.0.0.1", port))
    return ctx.wrap_socket(raw, server_hostname="localhost")

buf = b""
def read_http(s):
    global buf
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    head, _, rest = buf.partition(b"\r\n\r\n")
    k = int([l.split(b":")[1] for l in head.split(b"\r\n")
             if l.lower().startswith(b"content-length")][0])
    while len(rest) < k:
        rest += s.recv(65536)
    buf = rest[k:]

out = []
s = connect() if form == "keep" else None
for i in range(n):
    t0 = time.monotonic_ns()
    if form == "conn":
        s = connect()
        buf = b""
    s.sendall(req)
    read_http(s)
    if form == "conn":
        s.close()
    out.append(time.monotonic_ns() - t0)
print(json.dumps(out))
'''


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
        port = int(ports.split()[0])
        client = ctx.tmp / "client.py"
        client.write_text(PY_CLIENT)
        # the shipped policy, blind_tls: proxy for the bench's scope (Scopelockd uses
        # ctx.tmp/policy.yaml as it is when it exists)
        (ctx.tmp / "policy.yaml").write_text(
            f"extends: {REPO / 'policies' / 'default.yaml'}\nenvironments:\n  bench:\n"
            "    loss: drop\n    blind_tls: proxy\n")
        # the proxy verifies the server with the CA the session was given
        os.environ["SSL_CERT_FILE"] = str(d / "cert.pem")
        cells = [(via, form) for form in ("keep", "conn") for via in ("direct", "proxy")]
        for rep in range(a.reps):
            mon = bench.Scopelockd(ctx, "bench")
            mon.start()
            try:
                for via, form in cells:
                    n = a.n if form == "keep" else max(a.n // 3, 10)
                    cmd = [str(x) for x in mon.wrap(["/usr/bin/python3", client, port,
                                                     d / "cert.pem", via, form, n])]
                    p = bench.run_cmd(cmd, timeout=600)
                    line = p.stdout.strip().splitlines()[-1]
                    results.setdefault(form, {}).setdefault(via, []).extend(json.loads(line))
                    bench.log(f"rep {rep + 1}: {via} {form} done")
            finally:
                mon.stop()
    finally:
        ctx.close()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / time.strftime("proxy-%Y%m%dT%H%M%SZ.json", time.gmtime())
    out.write_text(json.dumps({"n": a.n, "reps": a.reps, "ns": results}))
    print(f"per request in a session (write + answer), {a.reps} repetitions; ratio to direct\n")
    print(f"{'form':5} {'via':7} {'p50 us':>9} {'p99 us':>9} {'p50 x':>7} {'p99 x':>7}")
    for form, per in results.items():
        base = per["direct"]
        for via in ("direct", "proxy"):
            v = per[via]
            p50, p99 = statistics.median(v), pct(v, 99)
            print(f"{form:5} {via:7} {p50 / 1000:9.1f} {p99 / 1000:9.1f} "
                  f"{p50 / statistics.median(base):7.2f} {p99 / pct(base, 99):7.2f}")
    print(f"\nraw: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
