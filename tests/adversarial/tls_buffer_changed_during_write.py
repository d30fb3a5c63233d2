# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The plaintext of a TLS write is judged once, at SSL_write entry; OpenSSL
encrypts it record by record afterwards, and on a blocking socket whose peer
does not read yet, the call blocks with most of the buffer not yet
encrypted. A second thread of the client then rewrites the tail of the same
buffer: at entry the body said `mutation { volumeXxxxxx(...prod...) }` (no
destructive pattern, no verdict), what is encrypted and arrives is
`volumeDelete`, with the production token: no kill, no alert. The whole
write (about 900 KB) is within the capture plus the 1 MiB scan limit, so
nothing is "unreadable" either.

It should be stopped (as the same request written as it arrives is: the
in-session control below is killed). Controls: outside a session the swapped
request arrives; in a session, the request with volumeDelete from the start
is killed and never arrives."""

import shlex

from enforce import World, agent_script, finish, start_daemon, tls_policy, wait_alert, write_policy
from harness import PY, blocked, check, eq, fail, make_cert, rand_marker, short, wait_until

EXPECT = "BLOCKED"
q = shlex.quote

SERVER = r'''
import os, socket, ssl, sys, time
cert, key, portfile, go, out = sys.argv[1:6]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
ls.bind(("127.0.0.1", 0)); ls.listen(4)
open(portfile + ".tmp", "w").write(str(ls.getsockname()[1])); os.rename(portfile + ".tmp", portfile)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(cert, key)
while True:
    c, _ = ls.accept()
    try:
        s = ctx.wrap_socket(c, server_side=True)
        while go != "-" and not os.path.exists(go):   # "-": read at once
            time.sleep(0.01)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError("the client went away")
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
        while len(body) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        with open(out, "ab") as f:
            f.write(body[-300:] + b"\n")
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        s.close()
    except Exception as e:
        print("server:", e, file=sys.stderr, flush=True)
    finally:
        if go != "-" and os.path.exists(go):
            os.unlink(go)  # used: the next connection waits for its own
'''

CLIENT = r'''
import fcntl, os, socket, ssl, struct, sys, termios, threading, time
port, ca, tokfile, vol, swap, go = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "swap", sys.argv[6]
token = open(tokfile).read().strip()
verb = b"volumeXxxxxx" if swap else b"volumeDelete"
body = (b'{"pad":"' + b"x" * 900000 + b'","query":"mutation { ' + verb +
        b'(volumeId: \\"' + vol.encode() + b'\\") }"}')
head = ("POST /graphql/v2 HTTP/1.1\r\nHost: localhost:%s\r\nAuthorization: Bearer %s\r\n"
        "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        % (port, token, len(body))).encode()
buf = bytearray(head + body)
at = buf.rindex(verb)
raw = socket.socket()
raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
raw.connect(("127.0.0.1", int(port)))
s = ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname="localhost")

def outq():
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]

def swapper():
    # SSL_write has been entered and blocks: bytes wait in the send queue
    while outq() == 0:
        time.sleep(0.001)
    time.sleep(0.3)
    if swap:
        buf[at:at + len(verb)] = b"volumeDelete"
    if go != "-":
        open(go, "w").close()

th = threading.Thread(target=swapper); th.start()
s.sendall(memoryview(buf))
th.join()
print(s.recv(65536)[:40])
'''


def test_tls_buffer_changed_during_write(t):
    w = World(t)
    cert, key = make_cert(t)
    srv_py = t.write("srv.py", SERVER)
    cli_py = t.write("cli.py", CLIENT)
    got = t.tmp / "received"
    go = t.tmp / "go"
    portfile = t.tmp / "port"
    t.popen([PY, str(srv_py), str(cert), str(key), str(portfile), str(go), str(got)])
    port = wait_until(lambda: portfile.exists() and portfile.read_text(), 15, "server port")
    d = start_daemon(t, write_policy(t, tls_policy(w)))

    def client(mode):
        return [PY, str(cli_py), port, str(cert), str(w.prod_file), w.prod_vol, mode, str(go)]

    def received():
        return got.read_bytes() if got.exists() else b""

    # control 1: outside a session the swapped request arrives as volumeDelete
    r = t.outside(client("swap"), timeout=60)
    eq(r.rc, 0, f"the client outside a session ({r})")
    check(b"volumeDelete" in received(), f"outside: the server got {received()[-200:]!r}")
    got.unlink()
    # control 2: in a session, volumeDelete from the start: killed, never arrives
    name = rand_marker("plain")
    r = d.run(client("plain"), name=name, timeout=60)
    sid = d.session_id(name)
    rec = wait_alert(d, sid, "graphql-destroy")
    eq(rec.get("verdict"), "killed", f"verdict of {short(rec)}")
    d.wait_session_end(sid)
    go.touch()  # the server waits for it on the killed client's connection
    wait_until(lambda: not go.exists(), 15, "the server to finish the killed connection")
    check(b"volumeDelete" not in received(), "the plain mutation arrived from a session")
    # the attack: in a session, the tail rewritten while SSL_write blocks
    name = rand_marker("swap")
    r = d.run(client("swap"), name=name, timeout=60)
    sid = d.session_id(name)
    d.wait_session_end(sid)
    if b"volumeDelete" in received():
        fail(f"the mutation arrived from a session (client {r}); alerts: "
             f"{[short(a, 300) for a in d.records(session=sid, type='alert')]}")
    rec = wait_alert(d, sid, "graphql-destroy")
    eq(rec.get("verdict"), "killed", f"verdict of {short(rec)}")
    check(rec.get("rechecked_during_write") is True,
          f"the verdict says the write was judged again: {short(rec)}")
    finish(t, d, w)
    blocked(t, "the bytes encrypted are the bytes judged")
