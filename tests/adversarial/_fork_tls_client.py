# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Helper of tls_fork_inherited_connection (not a case): opens one HTTPS
connection to URL, forks; the child writes one POST of BODYFILE with
"Authorization: Bearer $API_TOKEN" on the connection it inherited (its own
copy of the parent's memory and TLS state, no new connect, no exec) and
exits with 0 if a response came back; the parent waits and exits with the
child's status. usage: _fork_tls_client.py URL BODYFILE CAFILE"""
import os
import socket
import ssl
import sys
from urllib.parse import urlsplit

url, body_file, ca = sys.argv[1:4]
u = urlsplit(url)
body = open(body_file, "rb").read()
ctx = ssl.create_default_context(cafile=ca)
raw = socket.create_connection((u.hostname, u.port))
s = ctx.wrap_socket(raw, server_hostname=u.hostname)
pid = os.fork()
if pid == 0:
    req = (f"POST {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
           f"Authorization: Bearer {os.environ.get('API_TOKEN', '')}\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
           f"Connection: close\r\n\r\n").encode() + body
    s.sendall(req)
    resp = s.recv(65536)
    os._exit(0 if resp.startswith(b"HTTP/1.1 ") else 3)
_, status = os.waitpid(pid, 0)
if os.WIFSIGNALED(status):
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
