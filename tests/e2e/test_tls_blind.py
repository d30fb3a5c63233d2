# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""TLS outside the system libraries: executables that embed OpenSSL with
symbols (static, unstripped) or link a private libssl copy are instrumented
at exec, before their first instruction (the kernel's TLS gate holds the exec
until the daemon attached: no delay in the clients); Go's crypto/tls, even
stripped, is located by .gopclntab and captured; executables whose TLS
cannot be instrumented (static stripped OpenSSL, NSS) are reported as
tls_blind_spot records and in status, and under `blind_tls: deny` (the
default) their connections are refused; the common clients are never
reported."""

import os
import shutil
import subprocess

from checks import check_common, dev_matches
from enforce import policy_blind_tls
from harness import (PY, B, Skip, TLSServer, check, eq, need_binary, rand_marker, short,
                     wait_until)

# POST argv[3] to 127.0.0.1:argv[1] with SNI argv[2] after argv[4] ms, print
# the response
CLIENT_C = r'''
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
	char req[4096], buf[4096];
	int fd, n;
	SSL *s;

	usleep(atoi(argv[4]) * 1000);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ctx || connect(fd, (void *)&a, sizeof(a)))
		return 2;
	s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, argv[2]);
	if (SSL_connect(s) != 1)
		return 3;
	n = snprintf(req, sizeof(req), "POST /%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s", argv[3], argv[2], strlen(argv[3]), argv[3]);
	if (SSL_write(s, req, n) != n)
		return 4;
	while ((n = SSL_read(s, buf, sizeof(buf) - 1)) > 0)
		fwrite(buf, 1, n, stdout);
	SSL_free(s);
	close(fd);
	return 0;
}
'''

GO_CLIENT = r'''
package main

import (
	"crypto/tls"
	"net/http"
	"os"
	"strings"
)

func main() {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	r, err := (&http.Client{Transport: tr}).Post(os.Args[1], "text/plain",
		strings.NewReader(os.Args[2]))
	if err != nil {
		os.Exit(1)
	}
	r.Body.Close()
}
'''

LIBDIR = "/usr/lib/x86_64-linux-gnu"


def cc(t, out, src, *args):
    need_binary("/usr/bin/cc")
    if not os.path.exists("/usr/include/openssl/ssl.h"):
        raise Skip("libssl-dev is not installed")
    p = subprocess.run(["/usr/bin/cc", "-O1", "-o", str(out), str(src), *args],
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    check(p.returncode == 0 and out.exists(),
          f"cc {' '.join(args)} failed: {p.stderr.decode(errors='replace')[-2000:]}")
    return out


def client_c(t):
    return t.write("client.c", CLIENT_C)


def blind_records(d, sid):
    return d.records(session=sid, type="tls_blind_spot")


def tls_writes_with(d, sid, marker):
    return [x for x in d.records(session=sid, type="tls_write")
            if marker.encode() in B(x.get("data"))]


def check_blind(d, sid, path, reason, marker_contains, impl=None, action="alert"):
    recs = [x for x in blind_records(d, sid) if B(x.get("path")) == str(path).encode()]
    eq(len(recs), 1, f"tls_blind_spot records for {path} in the session\n"
       + d.dump(session=sid, types=("exec", "tls_blind_spot")))
    x = recs[0]
    check_common(x)
    eq(x.get("session"), sid, "blind spot session")
    check(isinstance(x.get("pid"), int) and x["pid"] > 0, f"blind spot pid: {short(x)}")
    eq(x.get("reason"), reason, "blind spot reason")
    if impl:
        eq(x.get("impl"), impl, "blind spot impl")
    eq(x.get("blind_tls"), action, "blind spot blind_tls")
    check(marker_contains in (x.get("marker") or ""), f"blind spot marker: {short(x)}")
    st = os.stat(path)
    check(dev_matches(x.get("dev"), st.st_dev), f"blind spot dev: {short(x)}")
    eq(x.get("ino"), st.st_ino, "blind spot ino")
    status = d.status()
    listed = [b for b in status["tls"]["blind_spots"] if B(b.get("path")) == str(path).encode()]
    eq(len(listed), 1, f"status tls.blind_spots lists {path}: {status['tls']['blind_spots']!r}")
    eq(listed[0].get("reason"), reason, "status blind spot reason")
    check(sid in listed[0].get("sessions", []), f"status blind spot sessions: {listed[0]!r}")


def test_static_openssl_with_symbols_instrumented(t):
    srv = TLSServer(t)
    m = rand_marker("static")
    exe = cc(t, t.tmp / "client-static", client_c(t), "-static", "-lssl", "-lcrypto",
             "-lpthread")
    d = t.daemon()
    # its request right after exec: attached while the gate held it
    r = d.run([str(exe), str(srv.port), "static.localhost", m, "0"])
    eq(r.rc, 0, f"static client ({r})")
    srv.wait_request(lambda q: q["body"] == m.encode(), "the static client's body")
    sid = d.finished_session(r)
    recs = tls_writes_with(d, sid, m)
    eq(len(recs), 1, "tls_write records with the body\n" + d.dump(session=sid))
    x = recs[0]
    eq(x.get("lib"), "openssl", "lib")
    eq(x.get("function"), "SSL_write", "function")
    eq(B(x.get("sni")), b"static.localhost", "sni")
    eq(x.get("peer"), {"addr": "127.0.0.1", "port": srv.port}, "peer")
    eq(blind_records(d, sid), [], "no blind spot for an instrumented static binary")
    targets = {B(x.get("path")): x for x in d.status()["tls"]["targets"]}
    tg = targets.get(str(exe).encode())
    check(tg is not None and tg.get("status") == "attached" and tg.get("origin") == "session exec",
          f"status tls.targets lacks the static client: {list(targets)}")


def test_private_libssl_copy_instrumented(t):
    srv = TLSServer(t)
    m = rand_marker("rpath")
    priv = t.tmp / "priv"
    priv.mkdir()
    shutil.copy(f"{LIBDIR}/libssl.so.3", priv / "libssl.so.3")
    exe = cc(t, t.tmp / "client-rpath", client_c(t), f"-L{priv}", "-l:libssl.so.3",
             "-lcrypto", "-Wl,-rpath,$ORIGIN/priv")
    d = t.daemon()
    r = d.run([str(exe), str(srv.port), "rpath.localhost", m, "0"])
    eq(r.rc, 0, f"rpath client ({r})")
    sid = d.finished_session(r)
    recs = tls_writes_with(d, sid, m)
    eq(len(recs), 1, "tls_write records with the body\n" + d.dump(session=sid))
    eq(B(recs[0].get("sni")), b"rpath.localhost", "sni")
    paths = [B(x.get("path")) for x in d.status()["tls"]["targets"]]
    check(str(priv / "libssl.so.3").encode() in paths,
          f"status tls.targets lacks the private libssl: {paths}")


# the same client, libssl opened with dlopen by path (argv[5])
DLOPEN_C = r'''
#include <arpa/inet.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define F(name, ret, ...) ret (*name)(__VA_ARGS__) = (ret(*)(__VA_ARGS__))dlsym(h, #name)

int main(int argc, char **argv)
{
	void *h = dlopen(argv[5], RTLD_NOW);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
	char req[4096], buf[4096];
	int fd, n;

	if (!h)
		return 5;
	F(TLS_client_method, const void *, void);
	F(SSL_CTX_new, void *, const void *);
	F(SSL_new, void *, void *);
	F(SSL_set_fd, int, void *, int);
	F(SSL_ctrl, long, void *, int, long, void *);
	F(SSL_connect, int, void *);
	F(SSL_write, int, void *, const void *, int);
	F(SSL_read, int, void *, void *, int);
	void *ctx = SSL_CTX_new(TLS_client_method()), *s;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ctx || connect(fd, (void *)&a, sizeof(a)))
		return 2;
	s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	SSL_ctrl(s, 55, 0, argv[2]);
	if (SSL_connect(s) != 1)
		return 3;
	n = snprintf(req, sizeof(req), "POST /%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s", argv[3], argv[2], strlen(argv[3]), argv[3]);
	if (SSL_write(s, req, n) != n)
		return 4;
	while ((n = SSL_read(s, buf, sizeof(buf) - 1)) > 0)
		fwrite(buf, 1, n, stdout);
	return 0;
}
'''


def private_libssl(t):
    priv = t.tmp / "priv"
    priv.mkdir()
    shutil.copy(f"{LIBDIR}/libssl.so.3", priv / "libssl.so.3")
    return priv


def check_private_capture(d, sid, m, priv, sni):
    recs = tls_writes_with(d, sid, m)
    eq(len(recs), 1, "tls_write records with the body\n" + d.dump(session=sid))
    eq(B(recs[0].get("sni")), sni, "sni")
    tg = [g for g in d.status()["tls"]["targets"]
          if B(g.get("path")) == str(priv / "libssl.so.3").encode()]
    check(tg and tg[0].get("origin") == "mapped by a session process",
          f"status tls.targets: the private libssl, attached when it was mapped: {tg}")


def test_private_libssl_ld_library_path_captured(t):
    """A copy of libssl found through LD_LIBRARY_PATH (no RPATH: nothing at
    exec names it): held when the loader maps it, attached, then let go."""
    srv = TLSServer(t)
    m = rand_marker("ldpath")
    priv = private_libssl(t)
    exe = cc(t, t.tmp / "client-dyn", client_c(t), "-lssl", "-lcrypto")
    d = t.daemon()
    r = d.run(["/usr/bin/env", f"LD_LIBRARY_PATH={priv}", str(exe), str(srv.port),
               "ldpath.localhost", m, "0"])
    eq(r.rc, 0, f"client ({r})")
    sid = d.finished_session(r)
    check_private_capture(d, sid, m, priv, b"ldpath.localhost")


def test_private_libssl_dlopen_captured(t):
    """A copy of libssl loaded with dlopen by path, used at once."""
    srv = TLSServer(t)
    m = rand_marker("dlopen")
    priv = private_libssl(t)
    exe = cc(t, t.tmp / "client-dlopen", t.write("dlopen.c", DLOPEN_C), "-ldl")
    d = t.daemon()
    r = d.run([str(exe), str(srv.port), "dlopen.localhost", m, "0", str(priv / "libssl.so.3")])
    eq(r.rc, 0, f"client ({r})")
    sid = d.finished_session(r)
    check_private_capture(d, sid, m, priv, b"dlopen.localhost")


def stripped_client(t):
    return cc(t, t.tmp / "client-stripped", client_c(t), "-static", "-s", "-lssl", "-lcrypto",
              "-lpthread")


STRIPPED_REASON = "statically linked OpenSSL without symbols"


def test_static_stripped_openssl_blind_spot(t):
    """blind_tls: alert: reported, and its request goes out unread."""
    srv = TLSServer(t)
    m = rand_marker("stripped")
    exe = stripped_client(t)
    d = t.daemon(policy=policy_blind_tls(t, "alert"))
    r = d.run([str(exe), str(srv.port), "stripped.localhost", m, "0"])
    eq(r.rc, 0, f"stripped client ({r})")
    # the request went out, and scopelock says it could not see it
    srv.wait_request(lambda q: q["body"] == m.encode(), "the stripped client's body")
    sid = d.finished_session(r)
    wait_until(lambda: blind_records(d, sid), 5, "a tls_blind_spot record")
    check_blind(d, sid, exe, STRIPPED_REASON, "TLS_AES_256", impl="openssl")
    eq(tls_writes_with(d, sid, m), [], "tls_write records of a blind spot")
    # once per session and executable
    r2 = d.run(["/bin/sh", "-c", f"{exe} {srv.port} x {m}2 0; {exe} {srv.port} x {m}3 0"])
    eq(r2.rc, 0, f"second session ({r2})")
    sid2 = d.finished_session(r2)
    eq(len(blind_records(d, sid2)), 1, "blind spot records of a session running it twice")


def test_static_stripped_openssl_denied(t):
    """blind_tls: deny (the shipped default): its connect is refused, the
    request never leaves; control: outside a session it arrives."""
    srv = TLSServer(t)
    m = rand_marker("stripped")
    exe = stripped_client(t)
    r0 = t.outside([str(exe), str(srv.port), "stripped.localhost", m + "-outside", "0"])
    eq(r0.rc, 0, f"control outside a session ({r0})")
    srv.wait_request(lambda q: q["body"] == (m + "-outside").encode(), "the control's body")
    d = t.daemon()
    r = d.run([str(exe), str(srv.port), "stripped.localhost", m, "0"])
    eq(r.rc, 2, f"the client's connect must fail (its exit 2) ({r})")
    sid = d.finished_session(r)
    check_blind(d, sid, exe, STRIPPED_REASON, "TLS_AES_256", impl="openssl", action="deny")
    conns = [x for x in d.records(session=sid, type="connect") if x.get("port") == srv.port]
    check(len(conns) == 1 and conns[0].get("refused") == "tls_gate",
          f"the connect record, refused by the TLS gate: {[short(x) for x in conns]}")
    check(not any(q["body"] == m.encode() for q in srv.requests()),
          "the session's request reached the server")


def test_nss_linked_blind_spot(t):
    if not os.path.exists(f"{LIBDIR}/libssl3.so"):
        raise Skip("NSS (libnss3) is not installed")
    src = t.write("nss.c", "int main(void) { return 0; }\n")
    exe = cc(t, t.tmp / "nss-linked", src, "-Wl,--no-as-needed", f"{LIBDIR}/libssl3.so")
    d = t.daemon()
    r = d.run([str(exe)])
    eq(r.rc, 0, f"NSS-linked program ({r})")
    sid = d.finished_session(r)
    wait_until(lambda: blind_records(d, sid), 5, "a tls_blind_spot record")
    check_blind(d, sid, exe, "dynamically linked against NSS (libssl3.so), not instrumented",
                "libssl3.so", impl="library", action="deny")


def go_client(t, *ldflags):
    go = shutil.which("go") or "/usr/bin/go"
    if not os.path.exists(go):
        raise Skip("no Go toolchain (apt-get install golang-go)")
    src = t.write("goclient/main.go", GO_CLIENT)
    exe = t.tmp / "goclient-bin"
    env = dict(os.environ, CGO_ENABLED="0", GO111MODULE="off", HOME=str(t.tmp),
               GOCACHE=str(t.tmp / "gocache"), GOPATH=str(t.tmp / "gopath"))
    p = subprocess.run([go, "build", *ldflags, "-o", str(exe), str(src)], capture_output=True,
                       timeout=300, env=env, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, f"go build failed: {p.stderr.decode(errors='replace')[-2000:]}")
    return exe


def test_go_stripped_captured(t):
    """A static, stripped Go client (-s -w): crypto/tls.(*Conn).Write located
    by .gopclntab, its request captured right after exec."""
    srv = TLSServer(t)
    m = rand_marker("go")
    exe = go_client(t, "-ldflags=-s -w")
    d = t.daemon()
    r = d.run([str(exe), f"https://127.0.0.1:{srv.port}/{m}", m])
    eq(r.rc, 0, f"Go client ({r})")
    srv.wait_request(lambda q: q["body"] == m.encode(), "the Go client's body")
    sid = d.finished_session(r)
    recs = [x for x in d.records(session=sid, type="tls_write")
            if f"POST /{m} HTTP/1.1".encode() in B(x.get("data"))]
    eq(len(recs), 1, "tls_write records with the request line\n" + d.dump(session=sid))
    x = recs[0]
    eq((x.get("lib"), x.get("function")), ("go", "crypto/tls.(*Conn).Write"), "captured by")
    eq(x.get("peer"), {"addr": "127.0.0.1", "port": srv.port}, "peer")
    check(tls_writes_with(d, sid, m), "the body in the session's tls_write records")
    eq(blind_records(d, sid), [], "no blind spot for a located Go binary")
    tg = [g for g in d.status()["tls"]["targets"] if B(g.get("path")) == str(exe).encode()]
    check(tg and tg[0].get("lib") == "go" and tg[0].get("located"),
          f"status tls.targets lists the Go client as located: {tg}")


def test_go_sni_from_client_hello(t):
    """Go has no hook where its server name is set: the name comes from the
    ClientHello it wrote (bpf/tls.bpf.c, sl_hello_sni), in the record of its
    first write. Control: an IP address sends no server name: sni null."""
    srv = TLSServer(t)
    m = rand_marker("gosni")
    exe = go_client(t, "-ldflags=-s -w")
    d = t.daemon()
    for host, sni in (("localhost", b"localhost"), ("127.0.0.1", None)):
        r = d.run([str(exe), f"https://{host}:{srv.port}/{m}-{host}", m])
        eq(r.rc, 0, f"Go client to {host} ({r})")
        sid = d.finished_session(r)
        recs = [x for x in d.records(session=sid, type="tls_write")
                if f"POST /{m}-{host} HTTP/1.1".encode() in B(x.get("data"))]
        eq(len(recs), 1, "tls_write records with the request line\n" + d.dump(session=sid))
        eq(B(recs[0]["sni"]) if recs[0].get("sni") is not None else None, sni,
           f"sni of the Go client's write to {host}: {short(recs[0])}")


def test_common_clients_no_blind_spot(t):
    d = t.daemon()
    cmds = ["/usr/bin/curl --version", f"{PY} -c 'import ssl'", "/usr/bin/git --version",
            "/usr/bin/openssl version", "/bin/ls /"]
    if os.path.exists("/usr/bin/node"):
        cmds.append("/usr/bin/node -e 0")
    r = d.run(["/bin/sh", "-c", "; ".join(cmds) + " >/dev/null"])
    eq(r.rc, 0, f"clients ({r})")
    sid = d.finished_session(r)
    eq([short(x) for x in blind_records(d, sid)], [], "blind spots of the common clients")


