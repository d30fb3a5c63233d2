# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""TLS plaintext capture: an HTTPS POST to a loopback server from curl (libssl),
python3 urllib (libssl loaded by dlopen), node fetch (embedded OpenSSL) and
git (GnuTLS); each body in a tls_write record, the response in a tls_read
record, the server having received the body, and the same client run outside
any session never recorded. Truncation at the configured capture size."""

import json
import os
import re

from checks import check_common, peer_matches
from harness import (PY, B, TLSServer, check, eq, fail, need_binary, rand_marker,
                     record_mentions, short)

OPENSSL_WRITE = ("SSL_write", "SSL_write_ex")
OPENSSL_READ = ("SSL_read", "SSL_read_ex")
GNUTLS_WRITE = ("gnutls_record_send",)
GNUTLS_READ = ("gnutls_record_recv",)

PY_CLIENT = r'''
import ssl, sys, urllib.request
url, body, ca = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=ca)
req = urllib.request.Request(url, data=body.encode(), method="POST")
sys.stdout.write(urllib.request.urlopen(req, context=ctx, timeout=20).read().decode())
'''

NODE_CLIENT = r'''
const [url, body] = process.argv.slice(1);
fetch(url, { method: "POST", body })
  .then((r) => r.text())
  .then((t) => process.stdout.write(t))
  .catch((e) => { console.error(e); process.exit(1); });
'''

# one SSL_write_ex of the whole request (python's sendall on an SSLSocket)
PY_RAW_CLIENT = r'''
import socket, ssl, sys
port, ca, path, size = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
body = (path.encode() * (size // len(path) + 1))[:size]
req = (b"POST /" + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\nContent-Length: "
       + str(size).encode() + b"\r\nConnection: close\r\n\r\n" + body)
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection(("localhost", port)) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(req)
        resp = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
sys.stdout.write(str(len(req)) + "\n")
sys.stdout.buffer.write(resp)
'''


def client_argv(kind, t, srv, path, body):
    url = f"https://localhost:{srv.port}/{path}"
    env = dict(os.environ)
    if kind == "curl":
        need_binary("/usr/bin/curl")
        return ["/usr/bin/curl", "-sS", "--cacert", str(srv.cert), "--data-binary", body,
                url], env
    if kind == "python":
        script = t.write("py_client.py", PY_CLIENT)
        return [PY, str(script), url, body, str(srv.cert)], env
    if kind == "node":
        need_binary("/usr/bin/node")
        env["NODE_EXTRA_CA_CERTS"] = str(srv.cert)
        return ["/usr/bin/node", "-e", NODE_CLIENT, url, body], env
    if kind == "git":
        need_binary("/usr/bin/git")
        env.update(GIT_SSL_CAINFO=str(srv.cert), HOME=str(t.tmp), GIT_CONFIG_NOSYSTEM="1",
                   GIT_TERMINAL_PROMPT="0")
        return ["/usr/bin/git", "-c", f"http.extraHeader=X-Marker: {body}", "ls-remote",
                f"https://localhost:{srv.port}/{path}"], env
    raise ValueError(kind)


def tls_records(d, sid, type):
    return [x for x in d.records(session=sid, type=type)]


def check_tls_rec(x, sid, lib, fns, port, what):
    check_common(x, sid)
    check(re.fullmatch(r"0x[0-9a-f]+", str(x.get("conn"))), f"{what}: conn {x.get('conn')!r}")
    eq(x.get("lib"), lib, f"{what}: lib")
    check(x.get("function") in fns, f"{what}: function {x.get('function')!r} not in {fns}")
    data = B(x.get("data"))
    eq(x.get("captured"), len(data), f"{what}: captured == len(data)")
    eq(x.get("len"), len(data), f"{what}: len (not truncated)")
    eq(x.get("truncated"), False, f"{what}: truncated")
    eq(x.get("sni"), "localhost", f"{what}: sni")
    check(peer_matches(x.get("peer"), port),
          f"{what}: peer {x.get('peer')!r} is not 127.0.0.1/::1 port {port}")


def https_post_case(t, kind):
    srv = TLSServer(t)
    d = t.daemon()
    m = rand_marker(kind)
    lib, wfns, rfns = (("gnutls", GNUTLS_WRITE, GNUTLS_READ) if kind == "git" else
                       ("openssl", OPENSSL_WRITE, OPENSSL_READ))
    path = f"repo-{m}" if kind == "git" else f"{kind}-{m}"
    body = f"{kind}-body-{m}"

    # the same client outside any session, first
    out_m = rand_marker("outside")
    argv, env = client_argv(kind, t, srv, f"{kind}-{out_m}", f"{kind}-body-{out_m}")
    o = t.outside(argv, env=env)
    eq(o.rc, 0, f"{kind} outside a session ({o})")

    argv, env = client_argv(kind, t, srv, path, body)
    r = d.run(argv, env=env)
    eq(r.rc, 0, f"{kind} in a session: exit status ({r})")
    if kind == "git":
        req = srv.wait_request(lambda q: q["method"] == "POST" and q["path"] ==
                               f"/{path}/git-upload-pack", "git's ls-refs POST")
        eq(req["headers"].get("x-marker"), body, "X-Marker header the server received")
        check(b"command=ls-refs" in req["body"], f"git POST body: {req['body']!r}")
    else:
        req = srv.wait_request(lambda q: q["path"] == f"/{path}", f"the {kind} POST")
        eq(req["method"], "POST", "method the server received")
        eq(req["body"], body.encode(), "body the server received")
        eq(r.stdout, f"resp-{path}\n", f"{kind}'s output (the response body)")

    sid = d.finished_session(r)
    dump = d.dump(session=sid, types=("tls_write", "tls_read", "tls_blind_spot"))
    writes = tls_records(d, sid, "tls_write")
    reads = tls_records(d, sid, "tls_read")
    if kind == "git":
        needles = [f"POST /{path}/git-upload-pack HTTP/1.1".encode(),
                   f"GET /{path}/info/refs?service=git-upload-pack HTTP/1.1".encode(),
                   f"X-Marker: {body}".encode(), b"command=ls-refs"]
        read_needle = b"version 2\n"
    else:
        needles = [f"POST /{path} HTTP/1.1".encode(), body.encode()]
        read_needle = f"resp-{path}\n".encode()
    for n in needles:
        hits = [x for x in writes if n in B(x.get("data"))]
        if not hits:
            fail(f"{kind}: no tls_write record holds {n!r}\n{dump}")
        check_tls_rec(hits[0], sid, lib, wfns, srv.port, f"{kind} tls_write with {n!r}")
    hits = [x for x in reads if read_needle in B(x.get("data"))]
    if not hits:
        fail(f"{kind}: no tls_read record holds the response {read_needle!r}\n{dump}")
    check_tls_rec(hits[0], sid, lib, rfns, srv.port, f"{kind} tls_read")
    if kind != "git":
        wr = [x for x in writes if body.encode() in B(x.get("data"))][0]
        eq((hits[0]["pid"], hits[0]["conn"]), (wr["pid"], wr["conn"]),
           f"{kind}: the response is read on the connection the request was written on")
    blind = [x for x in d.records(type="tls_blind_spot")]
    check(not blind, f"{kind}: unexpected tls_blind_spot: " + "; ".join(short(x) for x in blind))

    for x in d.records():
        if record_mentions(x, out_m):
            fail(f"{kind} outside any session was recorded: {short(x)}")
    return d


def test_https_post_curl(t):
    https_post_case(t, "curl")


def test_https_post_python_urllib(t):
    https_post_case(t, "python")


def test_https_post_node_fetch(t):
    d = https_post_case(t, "node")
    st = d.status()
    targets = json.dumps(st.get("tls", {}).get("targets"))
    check("node" in targets, f"status tls.targets does not list node: {targets}")


def test_https_post_git_gnutls(t):
    https_post_case(t, "git")


def truncation_case(t, capture, size):
    srv = TLSServer(t)
    d = t.daemon(tls_capture_bytes=capture) if capture else t.daemon()
    want_cap = capture or 16384
    m = rand_marker("big")
    script = t.write("raw_client.py", PY_RAW_CLIENT)
    r = d.run([PY, str(script), str(srv.port), str(srv.cert), m, str(size)])
    eq(r.rc, 0, f"raw TLS client in a session ({r})")
    total = int(r.stdout.split("\n", 1)[0])
    body = (m.encode() * (size // len(m) + 1))[:size]
    req = srv.wait_request(lambda q: q["path"] == f"/{m}", "the big POST")
    eq(req["body"], body, "body the server received (the capture must not alter it)")
    sid = d.finished_session(r)
    writes = [x for x in d.records(session=sid, type="tls_write")
              if B(x.get("data")).startswith(f"POST /{m} ".encode())]
    dump = d.dump(session=sid, types=("tls_write", "loss"))
    eq(len(writes), 1, f"tls_write records of the {total}-byte SSL_write_ex\n{dump}")
    x = writes[0]
    check_common(x, sid)
    eq(x.get("function"), "SSL_write_ex", "function")
    eq(x.get("len"), total, "len: the true length of the write")
    eq(x.get("captured"), want_cap, "captured bytes")
    eq(x.get("truncated"), True, "truncated flag")
    head = (f"POST /{m} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {size}\r\n"
            f"Connection: close\r\n\r\n").encode() + body
    eq(B(x.get("data")), head[:want_cap], f"the first {want_cap} captured bytes")
    st = d.status()
    loss = st.get("loss", {})
    trunc = loss.get("truncated", loss.get("truncation", {}))
    check(isinstance(trunc, dict) and trunc.get("tls_write", 0) >= 1,
          f"status loss counters do not count the truncated tls_write: {loss!r}")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    lrecs = [x for x in d.records(type="loss") if x.get("cause") in ("truncated", "truncation")
             and x.get("op") == "tls_write"]
    check(lrecs, "no loss record for the truncated tls_write in the audit log\n" + d.dump(
        types=("loss",)))


def test_tls_truncated_at_configured_size(t):
    truncation_case(t, 4096, 100000)


def test_tls_truncated_at_default_16k(t):
    truncation_case(t, None, 20000)

