# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A forwarding HTTP proxy on loopback for the plaintext request tests
(tests/e2e/lib/reqforms.py, form plain_proxy): a request line with an
absolute URI ("POST http://host:port/path HTTP/1.1") is sent on to host:port
with the path only, a CONNECT host:port opens a tunnel; then bytes are
copied both ways until either side closes. Only loopback targets are
served.

  python3 http_proxy.py PORTFILE        (writes its port to PORTFILE)
"""

import os
import socket
import socketserver
import sys
import threading
from urllib.parse import urlsplit


def pipe(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        head = b""
        while b"\r\n" not in head:
            b = c.recv(65536)
            if not b:
                return
            head += b
        line, rest = head.split(b"\r\n", 1)
        method, uri, version = line.split(b" ", 2)
        if method == b"CONNECT":
            # a tunnel: "CONNECT host:port", the head read to its end
            while b"\r\n\r\n" not in head:
                b = c.recv(65536)
                if not b:
                    return
                head += b
            host, _, port = uri.decode().rpartition(":")
            if host not in ("127.0.0.1", "localhost") or not port.isdigit():
                c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            up = socket.create_connection(("127.0.0.1", int(port)), timeout=30)
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            up.sendall(head.split(b"\r\n\r\n", 1)[1])
            self.relay(c, up)
            return
        u = urlsplit(uri.decode())
        if u.hostname not in ("127.0.0.1", "localhost") or not u.port:
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        up = socket.create_connection(("127.0.0.1", u.port), timeout=30)
        path = (u.path or "/") + ("?" + u.query if u.query else "")
        up.sendall(b"%s %s %s\r\n" % (method, path.encode(), version) + rest)
        self.relay(c, up)

    def relay(self, c, up):
        t = threading.Thread(target=pipe, args=(up, c), daemon=True)
        t.start()
        pipe(c, up)
        t.join(30)
        up.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    f.write(f"{srv.server_address[1]}\n")
os.rename(tmp, sys.argv[1])
srv.serve_forever()
