# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""blind_tls: proxy, then get rid of the proxy: the agent (same user as the
session's scopelock-proxy) kills the proxy and starts its own relay on the
proxy's port, so that its blind client (static stripped OpenSSL: what
scopelock cannot read) would reach the server through a relay that forwards
ciphertext unread. The port stays taken: scopelockd holds the session's
listening socket until the session ends, so the relay's bind fails
(EADDRINUSE) and the blind client's CONNECT is never answered; every other
destination is refused to it as under deny. Nothing of the production
mutation arrives. Control: once the session has ended the daemon has let the
port go (a bind outside the session succeeds), and the same client outside a
session delivers the mutation."""

import errno
import os
import shlex
import socket

from enforce import GraphQLServer, World, finish, start_daemon
from harness import blocked, check, eq, rand_marker, short
from proxyclient import blind_client, proxy_policy

EXPECT = "BLOCKED"
q = shlex.quote

# in the session: kill the session's proxy (only processes of this session's cgroup), bind
# its port, relay to the server if that worked; prints "bind OK" or "bind ERRNO"
RELAY = r'''
import os, signal, socket, sys, threading, time
port, dst = int(sys.argv[1]), int(sys.argv[2])
me = open("/proc/self/cgroup").read()
for p in os.listdir("/proc"):
    try:
        if (p.isdigit() and open(f"/proc/{p}/comm").read().strip() == "scopelock-proxy"
                and open(f"/proc/{p}/cgroup").read() == me):
            os.kill(int(p), signal.SIGKILL)
            print("killed proxy", p, flush=True)
    except OSError:
        pass
time.sleep(0.3)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", port))
except OSError as e:
    print("bind", e.errno, flush=True)
    sys.exit(0)
print("bind OK", flush=True)
s.listen(8)
if os.fork():
    sys.exit(0)
def pipe(a, b):
    while True:
        d = a.recv(65536)
        if not d:
            break
        b.sendall(d)
while True:
    c, _ = s.accept()
    hdr = b""
    while b"\r\n\r\n" not in hdr:
        hdr += c.recv(1)
    u = socket.create_connection(("127.0.0.1", dst))
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
'''


def test_tls_proxy_port_takeover(t):
    w = World(t)
    srv = GraphQLServer(t)
    exe = blind_client(t)
    mutation = t.write("mutation.json", w.mutation(w.prod_vol))
    relay = t.write("relay.py", RELAY)

    # control: outside a session the client delivers the mutation
    mark = srv.mark()
    r = t.outside([str(exe), srv.url, str(mutation), str(srv.cert)],
                  env=dict(os.environ, API_TOKEN=w.prod_token))
    eq(r.rc, 0, f"control: the client outside a session ({r})")
    check([x for x in srv.requests(mark) if b"volumeDelete" in x["body"]],
          f"control: the mutation did not arrive outside a session\n{srv.summary()}")

    d = start_daemon(t, proxy_policy(t, w))
    mark = srv.mark()
    lines = [
        "set -u",
        f"export API_TOKEN=$(cat {q(str(w.prod_file))})",
        'port=${HTTPS_PROXY##*:}',
        f"/usr/bin/python3 {q(str(relay))} $port {srv.port}",
        # the client trusts the server's own CA: a relay would hand it the real server
        f"timeout -s KILL 6 {q(str(exe))} {q(srv.url)} {q(str(mutation))} {q(str(srv.cert))}",
        'echo "client rc=$?" >&2',
        "exit 0",
    ]
    script = t.write("agent.sh", "#!/bin/bash\n" + "\n".join(lines) + "\n", 0o755)
    name = rand_marker("takeover")
    r = d.run(["/bin/bash", str(script)], name=name, timeout=90,
              env=dict(os.environ, SSL_CERT_FILE=str(srv.cert)))
    sid = d.session_id(name)
    d.wait_session_end(sid)
    check("killed proxy" in r.stdout, f"the agent killed the session's proxy ({r})")
    check(f"bind {errno.EADDRINUSE}" in r.stdout,
          f"the proxy's port must stay taken (EADDRINUSE) ({r})")
    check("client rc=0" not in r.stderr, f"the blind client must not get through ({r})")
    srv.assert_nothing_destructive(w, "blind client after the proxy was killed", since=mark)
    eq([x for x in srv.requests(mark)], [], "requests from the session at the server")
    start = d.records(session=sid, type="session_start")
    pport = start[0].get("proxy_port") if start else None
    check(isinstance(pport, int), f"session_start names the proxy port: {short(start[0])}")

    # control: the session over, the daemon let the port go
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", pport))
    finally:
        s.close()
    finish(t, d, w)
    blocked(t, "the session's proxy killed, its port cannot be taken over by a relay: the "
               "blind client reaches nothing")
