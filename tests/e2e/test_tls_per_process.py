# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""TLS uprobes are attached per session process: the breakpoint is in the
memory of session processes only. Read from the kernel's side (each process
reads the first byte of SSL_write_ex in its own memory: 0xcc where a uprobe
sits): a python in a session that imported ssl has it, the same python
outside any session, running at the same time, does not (it never traps,
whatever the host runs), and its request is not recorded. A fork of the
session process (its own copy of memory) gets probes of its own before it
runs and its write on the inherited connection is captured. When the
session's processes exit their probes are detached and unpinned."""

import os
import signal

from harness import (PY, B, TLSServer, check, eq, fail, rand_marker, record_mentions, short,
                     wait_until)

CLIENT = r'''
import ctypes, os, socket, ssl, sys, time
port, ca, tag, out, wait = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
lib = ctypes.CDLL("libssl.so.3")
addr = ctypes.cast(lib.SSL_write_ex, ctypes.c_void_p).value
def byte():
    return ctypes.string_at(addr, 1)[0]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("localhost", port)), server_hostname="localhost")
def post(path):
    body = path.encode()
    s.sendall(b"POST /" + body + b" HTTP/1.1\r\nHost: localhost\r\nContent-Length: "
              + str(len(body)).encode() + b"\r\n\r\n" + body)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
lines = ["parent %d %02x" % (os.getpid(), byte())]
post(tag + "-parent")
if sys.argv[6:] == ["fork"]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        b = byte()
        post(tag + "-child")
        os.write(w, ("child %d %02x\n" % (os.getpid(), b)).encode())
        os._exit(0)
    os.close(w)
    lines.append(os.read(r, 100).decode().strip())
    os.waitpid(pid, 0)
with open(out + ".tmp", "w") as f:
    f.write("\n".join(lines) + "\n")
os.rename(out + ".tmp", out)
deadline = time.monotonic() + 60
while wait != "-" and not os.path.exists(wait) and time.monotonic() < deadline:
    time.sleep(0.02)
if sys.argv[6:] == ["again"]:
    post(tag + "-again")
'''


def report(path):
    """{"parent": (pid, byte), "child": (pid, byte)} from the client's file"""
    out = {}
    for line in path.read_text().split("\n"):
        if line:
            who, pid, b = line.split()
            out[who] = (int(pid), int(b, 16))
    return out


def tls_probe_pins(d):
    tls = os.path.join(d.pin_dir(), "tls")
    return sorted(n for n in os.listdir(tls) if n.startswith("p")) if os.path.isdir(tls) else []


def test_outside_process_never_trapped(t):
    srv = TLSServer(t)
    script = t.write("client.py", CLIENT)
    tag, out_tag = rand_marker("in"), rand_marker("outside")
    inside, outside = t.tmp / "inside.txt", t.tmp / "outside.txt"
    # the byte with no daemon of this test (another tool's uprobe on the host would be there too)
    before = t.tmp / "before.txt"
    o = t.outside([PY, str(script), str(srv.port), str(srv.cert), rand_marker("before"),
                   str(before), "-"])
    eq(o.rc, 0, f"the client outside, before the daemon ({o})")
    d = t.daemon()
    release = t.tmp / "release"
    p = d.spawn([PY, str(script), str(srv.port), str(srv.cert), tag, str(inside),
                 str(release)])
    wait_until(lambda: inside.exists() or p.poll() is not None, 60, "the session's client")
    check(inside.exists(), f"the session's client exited {p.returncode} without its report")
    # the same client outside, while the session's has its probes
    o = t.outside([PY, str(script), str(srv.port), str(srv.cert), out_tag, str(outside), "-"])
    eq(o.rc, 0, f"the client outside a session ({o})")
    st = d.status().get("tls", {})
    release.write_text("")
    eq(p.wait(timeout=60), 0, "the session's client")
    ins, outs = report(inside), report(outside)
    eq(ins["parent"][1], 0xcc, "first byte of SSL_write_ex in the session process (a uprobe)")
    eq(outs["parent"][1], report(before)["parent"][1],
       "first byte of SSL_write_ex outside every session, with the daemon and its session's "
       "probes (0xcc: a breakpoint: it traps) as without")
    check(st.get("probes", {}).get("processes", 0) >= 1,
          f"status: no process with probes while the session's client ran: {st}")
    srv.wait_request(lambda q: q["path"] == f"/{out_tag}-parent", "the outside POST")
    srv.wait_request(lambda q: q["path"] == f"/{tag}-parent", "the session's POST")
    sid = d.session_id(p.name)
    d.wait_session_end(sid)
    hits = [x for x in d.records(session=sid, type="tls_write")
            if f"/{tag}-parent".encode() in B(x.get("data"))]
    check(hits, "the session's request is not in a tls_write record:\n"
          + d.dump(session=sid, types=("tls_write",)))
    eq(hits[0].get("pid"), ins["parent"][0], "pid of the tls_write")
    for x in d.records():
        if record_mentions(x, out_tag):
            fail(f"the client outside any session was recorded: {short(x)}")
    # the session's processes are gone: so are their probes and pins
    wait_until(lambda: d.status().get("tls", {}).get("probes", {}).get("processes") == 0,
               30, "the probes of the exited session processes detached")
    wait_until(lambda: not tls_probe_pins(d), 30, "the pins of their probes removed")


def test_fork_gets_own_probes(t):
    srv = TLSServer(t)
    d = t.daemon()
    script = t.write("client.py", CLIENT)
    tag = rand_marker("fork")
    inside = t.tmp / "inside.txt"
    r = d.run([PY, str(script), str(srv.port), str(srv.cert), tag, str(inside), "-", "fork"])
    eq(r.rc, 0, f"the forking client in a session ({r})")
    rep = report(inside)
    eq(rep["child"][1], 0xcc, "first byte of SSL_write_ex in the fork (its own uprobe)")
    srv.wait_request(lambda q: q["path"] == f"/{tag}-child", "the fork's POST")
    sid = d.finished_session(r)
    hits = [x for x in d.records(session=sid, type="tls_write")
            if f"/{tag}-child".encode() in B(x.get("data"))]
    check(hits, "the fork's write on the inherited connection is not recorded:\n"
          + d.dump(session=sid, types=("tls_write",)))
    eq(hits[0].get("pid"), rep["child"][0], "pid of the fork's tls_write")
    eq(hits[0].get("lib"), "openssl", "lib")
    check(d.status().get("tls", {}).get("gate_fork_released", 0) >= 1,
          "status: the fork was not held for its probes")


def test_probes_adopted_by_next_daemon(t):
    """The daemon stops (SIGTERM: its enforcement stays) while a session's
    client has its probes; the next daemon adopts them (the same pins, not
    attached again) and the client's next write on its connection is
    captured once, by the adopted probes."""
    srv = TLSServer(t)
    d = t.daemon()
    script = t.write("client.py", CLIENT)
    tag = rand_marker("adopt")
    inside, release = t.tmp / "inside.txt", t.tmp / "release"
    p = d.spawn([PY, str(script), str(srv.port), str(srv.cert), tag, str(inside),
                 str(release), "again"])
    wait_until(lambda: inside.exists() or p.poll() is not None, 60, "the session's client")
    check(inside.exists(), f"the session's client exited {p.returncode} without its report")
    pid = report(inside)["parent"][0]
    pins = [n for n in tls_probe_pins(d) if n.startswith(f"p{pid}-")]
    check(pins, f"no probe pinned for the client (pid {pid}): {tls_probe_pins(d)}")
    os.kill(d.proc.pid, signal.SIGTERM)
    eq(d.proc.wait(30), 0, "scopelockd exit status on SIGTERM")
    d2 = d.successor()
    st = d2.status().get("tls", {}).get("probes", {})
    check(st.get("processes", 0) >= 1 and st.get("links", 0) >= len(pins),
          f"the next daemon did not adopt the client's probes: {st}")
    eq([n for n in tls_probe_pins(d2) if n.startswith(f"p{pid}-")], pins,
       "the client's probe pins after the adoption (adopted, not attached again)")
    release.write_text("")
    eq(p.wait(timeout=60), 0, "the session's client")
    srv.wait_request(lambda q: q["path"] == f"/{tag}-again", "the client's write after adoption")
    sid = d2.session_id(p.name)
    d2.wait_session_end(sid)
    hits = [x for x in d2.records(session=sid, type="tls_write")
            if f"/{tag}-again".encode() in B(x.get("data"))]
    eq(len(hits), 1, "tls_write records of the write after the adoption (once):\n"
       + d2.dump(session=sid, types=("tls_write",)))
    eq(hits[0].get("pid"), pid, "pid of the tls_write")
