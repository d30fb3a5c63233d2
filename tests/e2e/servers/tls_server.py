#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""HTTPS server for the e2e tests, loopback only.

Listens on 127.0.0.1 and ::1 on the same ephemeral port, writes the port to
--port-file once both are bound, and appends one JSON line per request to
--log: {"method", "path", "headers", "body_b64", "peer"}.

Responses: 200 "resp-<last path component>\\n" for any GET/POST, except the
git smart-HTTP discovery request (GET .../info/refs?service=git-upload-pack),
answered with a protocol v2 capability advertisement (or an empty v0 ref
advertisement to a v0 client); the v2 client then POSTs its ls-refs command
to .../git-upload-pack, answered with an empty ref list, so that
`git ls-remote` succeeds against an empty repository.
"""

import argparse
import base64
import http.server
import json
import os
import socket
import ssl
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _record(self, body):
        rec = {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_b64": base64.b64encode(body).decode(),
            "peer": list(self.client_address[:2]),
        }
        with self.server.lock:
            with open(self.server.log_path, "a") as f:
                f.write(json.dumps(rec) + "\n")
                f.flush()

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _reply(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._record(b"")
        if self.path.endswith("/info/refs?service=git-upload-pack"):
            if "version=2" in self.headers.get("Git-Protocol", ""):
                adv = pkt(b"version 2\n") + pkt(b"agent=e2e\n") + pkt(b"ls-refs\n") + b"0000"
            else:
                adv = pkt(b"# service=git-upload-pack\n") + b"0000" + b"0000"
            self._reply(200, adv, "application/x-git-upload-pack-advertisement")
            return
        self._reply(200, b"resp-" + self.path.rsplit("/", 1)[-1].encode() + b"\n")

    def do_POST(self):
        body = self._body()
        self._record(body)
        if self.path.endswith("/git-upload-pack"):
            # protocol v2 ls-refs: no refs
            self._reply(200, b"0000", "application/x-git-upload-pack-result")
            return
        self._reply(200, b"resp-" + self.path.rsplit("/", 1)[-1].encode() + b"\n")


def pkt(data):
    return b"%04x" % (len(data) + 4) + data


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, sock, ctx, log_path):
        self.lock = threading.Lock()
        self.log_path = log_path
        self.ctx = ctx
        super().__init__(sock.getsockname()[:2], Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.address_family = sock.family

    def get_request(self):
        conn, addr = self.socket.accept()
        conn.settimeout(15)
        return self.ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        print(f"tls_server: error from {client_address}: {sys.exc_info()[1]!r}",
              file=sys.stderr, flush=True)


def bind_pair():
    """Sockets on 127.0.0.1 and ::1 with the same ephemeral port."""
    for _ in range(100):
        s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s4.bind(("127.0.0.1", 0))
        port = s4.getsockname()[1]
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s6.bind(("::1", port))
        except OSError:
            s4.close()
            s6.close()
            continue
        s4.listen(64)
        s6.listen(64)
        return port, [s4, s6]
    raise SystemExit("tls_server: no port free on both 127.0.0.1 and ::1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["http/1.1"])
    port, socks = bind_pair()
    servers = [Server(s, ctx, a.log) for s in socks]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for th in threads:
        th.start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.rename(tmp, a.port_file)
    threading.Event().wait()


if __name__ == "__main__":
    main()
