#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A GraphQL-over-HTTPS server playing a cloud API (Railway's backboard) for
the enforcement tests and `make demo`. Loopback only.

Listens on every --host (default 127.0.0.1 and ::1) on the same ephemeral
port (or --port), writes the port to --port-file once all are bound, and
appends JSON lines to --log, flushed at once:

  {"ev": "accept", "conn": N, "peer": [addr, port]}
  {"ev": "data", "conn": N, "b64": ...}       every decrypted chunk as it arrives
  {"ev": "request", "conn": N, "method", "path", "headers", "body_b64"}
  {"ev": "close", "conn": N, "why": ...}

so that a test sees every byte that arrived, also of a request that never
completed (a client killed between two writes). Responses: POST with a JSON
body {"query": ...}: 200 {"data": {...}} (a mutation answers
{"data": {"<name>": true}}); anything else: 200 "ok <path>\\n".
"""

import argparse
import base64
import json
import os
import re
import socket
import ssl
import sys
import threading

LOCK = threading.Lock()
LOG = None
CONN_SEQ = [0]


def log(rec):
    line = json.dumps(rec) + "\n"
    with LOCK:
        LOG.write(line)
        LOG.flush()


def answer(method, path, body):
    if method == "POST":
        try:
            q = json.loads(body.decode("utf-8")).get("query", "")
        except (ValueError, UnicodeDecodeError, AttributeError):
            q = ""
        m = re.search(r"mutation\s*\{\s*([A-Za-z_]\w*)", q)
        if m:
            data = {m.group(1): True}
        else:
            data = {"me": {"name": "agent", "environment": "staging"}}
        return b"application/json", json.dumps({"data": data}).encode()
    return b"text/plain", b"ok " + path.encode() + b"\n"


def handle(ctx, raw, peer):
    with LOCK:
        CONN_SEQ[0] += 1
        n = CONN_SEQ[0]
    log({"ev": "accept", "conn": n, "peer": list(peer[:2])})
    why = "eof"
    try:
        raw.settimeout(30)
        s = ctx.wrap_socket(raw, server_side=True)
        buf = b""
        while True:
            # one request: headers, then the body by Content-Length or chunks
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    return
                log({"ev": "data", "conn": n, "b64": base64.b64encode(chunk).decode()})
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, path = (lines[0].split(" ") + ["", ""])[:2]
            headers = {}
            for h in lines[1:]:
                k, _, v = h.partition(":")
                headers[k.strip().lower()] = v.strip()
            body = b""
            if headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    while b"\r\n" not in buf:
                        chunk = s.recv(65536)
                        if not chunk:
                            return
                        log({"ev": "data", "conn": n, "b64": base64.b64encode(chunk).decode()})
                        buf += chunk
                    size_line, buf = buf.split(b"\r\n", 1)
                    size = int(size_line.split(b";")[0].strip() or b"0", 16)
                    while len(buf) < size + 2:
                        chunk = s.recv(65536)
                        if not chunk:
                            return
                        log({"ev": "data", "conn": n, "b64": base64.b64encode(chunk).decode()})
                        buf += chunk
                    if size == 0:
                        buf = buf[2:]
                        break
                    body += buf[:size]
                    buf = buf[size + 2:]
            else:
                want = int(headers.get("content-length") or 0)
                while len(buf) < want:
                    chunk = s.recv(65536)
                    if not chunk:
                        return
                    log({"ev": "data", "conn": n, "b64": base64.b64encode(chunk).decode()})
                    buf += chunk
                body, buf = buf[:want], buf[want:]
            log({"ev": "request", "conn": n, "method": method, "path": path,
                 "headers": headers, "body_b64": base64.b64encode(body).decode()})
            ctype, resp = answer(method, path, body)
            close = headers.get("connection", "").lower() == "close"
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\nContent-Length: "
                      + str(len(resp)).encode() + b"\r\n"
                      + (b"Connection: close\r\n" if close else b"") + b"\r\n" + resp)
            if close:
                return
    except (OSError, ssl.SSLError, ValueError) as e:
        why = repr(e)
    finally:
        log({"ev": "close", "conn": n, "why": why})
        try:
            raw.close()
        except OSError:
            pass


def serve(ctx, lsock):
    while True:
        try:
            c, peer = lsock.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(ctx, c, peer), daemon=True).start()


def bind_all(hosts, port):
    for _ in range(100):
        socks, p = [], port
        try:
            for h in hosts:
                fam = socket.AF_INET6 if ":" in h else socket.AF_INET
                s = socket.socket(fam, socket.SOCK_STREAM)
                socks.append(s)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((h, p))
                p = s.getsockname()[1]
        except OSError:
            for s in socks:
                s.close()
            if port:
                raise
            continue
        for s in socks:
            s.listen(64)
        return p, socks
    raise SystemExit("graphql_server: no port free on every host")


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--host", action="append", default=[])
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    hosts = a.host or ["127.0.0.1", "::1"]
    for h in hosts:
        if h not in ("::1", "localhost") and not h.startswith("127."):
            raise SystemExit(f"graphql_server: {h} is not a loopback address")
    LOG = open(a.log, "a")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["http/1.1"])
    port, socks = bind_all(hosts, a.port)
    for s in socks:
        threading.Thread(target=serve, args=(ctx, s), daemon=True).start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.rename(tmp, a.port_file)
    print(f"graphql_server: listening on port {port} ({', '.join(hosts)})", file=sys.stderr,
          flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
