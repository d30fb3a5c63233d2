# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Helper of the adversarial TLS cases (not a case: the runner skips files
starting with '_'). A client that POSTs a body to the GraphQL server with a
token, the headers in one SSL_write and the body in one more:

  python3 _tls_body_client.py PORT CA TOKENFILE BODYFILE [mmap]

With "mmap" the body is written straight from a fresh read-only mapping of
BODYFILE: none of its pages has been touched when SSL_write_ex is entered
(python passes the mapping's address to OpenSSL as it is)."""

import mmap
import os
import socket
import ssl
import sys

port, ca, tokfile, bodyfile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
use_mmap = len(sys.argv) > 5 and sys.argv[5] == "mmap"
token = open(tokfile).read().strip()
size = os.path.getsize(bodyfile)
head = ("POST /graphql/v2 HTTP/1.1\r\nHost: localhost:%d\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        % (port, token, size)).encode()
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection(("localhost", port), timeout=30) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(head)
        if use_mmap:
            fd = os.open(bodyfile, os.O_RDONLY)
            mm = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
            s.sendall(mm)
        else:
            s.sendall(open(bodyfile, "rb").read())
        resp = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
sys.stdout.write(resp.decode(errors="replace")[-200:])
