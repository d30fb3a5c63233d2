# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Review of wip/prov: a request's head sent before its body on a model
provider's connection. The ClientHello names a provider (api.anthropic.com),
the connection goes to a production server known by name only, and the first
write is the head of `DELETE /volumes/...` whose Host is that production host,
with `Content-Length: 2` and no body yet (a client waiting for
`100-continue`, or one that never sends it). The kernel's rules would stop
that write (`DELETE /`, a production host in the bytes), but on a provider's
connection every write goes to the daemon instead, and a held write that
completes no request is released (`request_in_progress`). A server acts on
the head: a handler that does not read a body (Python's
BaseHTTPRequestHandler, Go's net/http, Node's 'request' event all dispatch at
the end of the headers). Controls: outside a session the DELETE arrives; in a
session with the production host's own name in the ClientHello, the same
write is stopped before it leaves."""

import shlex
import sys

from _provider_host_hole import stopped_or_held
from enforce import World, agent_script, finish, policy_text, start_daemon, \
    write_policy
from harness import KILLED, PY, blocked, check, eq, make_cert, rand_marker, wait_until

EXPECT = "BLOCKED"
q = shlex.quote
PROD_HOST = "api.prod.example.test"

# a server whose DELETE handler acts on the head (it never reads a body)
SERVER = r'''
import http.server, json, os, ssl, sys
cert, key, log, portfile = sys.argv[1:5]

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_DELETE(self):
        with open(log, "a") as f:
            f.write(json.dumps({"method": "DELETE", "path": self.path,
                                "host": self.headers.get("Host", "")}) + "\n")
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Length", "8")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"deleted\n")

class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def get_request(self):
        c, a = self.socket.accept()
        c.settimeout(15)
        return ctx.wrap_socket(c, server_side=True), a

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = S(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
'''

# the head alone, then wait for the answer; the body is never sent
CLIENT = r'''
import socket, ssl, sys
port, sni, host, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                    server_hostname=sni)
s.sendall(b"DELETE " + path.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
          b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n")
got = b""
while b"\r\n\r\n" not in got:
    b = s.recv(65536)
    if not b:
        break
    got += b
print(got.split(b"\r\n", 1)[0].decode())
'''


def test_tls_provider_head_before_body(t):
    w = World(t)
    cert, key = make_cert(t)
    log = t.tmp / "delete.jsonl"
    log.touch()
    portfile = t.tmp / "delete-port"
    server = t.write("server.py", SERVER)
    t.popen([PY, str(server), str(cert), str(key), str(log), str(portfile)])
    port = wait_until(lambda: portfile.exists() and int(portfile.read_text()), 15,
                      "the DELETE server's port")
    rules = [{"name": "http-delete", "channel": "tls", "pattern": "http_delete",
              "target": "outside_scope", "action": "kill"}]
    envs = w.envs(prod_hosts=["*.prod.example.test"])
    policy = (policy_text(envs, ["http_delete"], rules, settings={"syslog": False})
              + "destinations:\n  model_providers:\n    - api.anthropic.com\n")
    d = start_daemon(t, write_policy(t, policy))
    client = t.write("client.py", CLIENT)
    path = f"/volumes/{w.prod_vol}"

    def argv(sni):
        return [sys.executable, str(client), str(port), sni, PROD_HOST, path]

    def deletes():
        return [x for x in log.read_text().splitlines() if x.strip()]

    # control 1: outside a session the server acts on the head
    n = len(deletes())
    r = t.outside(argv("api.anthropic.com"))
    eq(r.rc, 0, f"the client outside a session ({r})")
    check("200" in r.stdout and len(deletes()) == n + 1,
          f"outside a session the DELETE did not arrive ({r})")

    # control 2: the production host's own name in the ClientHello: stopped at the head
    n = len(deletes())
    name = rand_marker("honest-sni")
    r = d.run(agent_script(t, "agent", [" ".join(q(a) for a in argv(PROD_HOST))],
                           expect_killed=True), name=name, timeout=90)
    sid = d.session_id(name)
    eq(r.rc, KILLED, f"honest server name: the session was not killed ({r})\n"
       f"{d.dump(session=sid, types=('alert', 'verdict', 'tls_write'))}")
    check(len(deletes()) == n, "honest server name: the DELETE arrived")
    d.wait_session_end(sid)

    # the case: the provider's name in the ClientHello, the head before its
    # body: held for a person at the head (denied here), or killed
    n = len(deletes())
    name = rand_marker("head-first")
    rc, rec, sid = stopped_or_held(t, d, [" ".join(q(a) for a in argv("api.anthropic.com"))],
                                   name)
    dump = d.dump(session=sid, types=("alert", "verdict", "tls_write"))
    check(len(deletes()) == n, f"the DELETE's head reached the server and it acted ({rc})\n"
          f"{deletes()[n:]}\n{dump}")
    eq(rc, KILLED, f"the session was not killed ({rc})\n{dump}")
    finish(t, d, w)
    blocked(t, "a request's head sent before its body on a provider's connection is judged "
            "before it leaves")
