# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""blind_tls: proxy (issue 8): a process whose TLS scopelock cannot read (the
stand-in: a C client with OpenSSL linked statically and stripped, a
tls_blind_spot like rustls in Codex, that honours HTTPS_PROXY as reqwest
does) reaches its server only through the session's inspecting proxy
(scopelock-proxy, started by `scopelock run` inside the session), whose
upstream SSL_write is captured and judged like curl's:

- a harmless request arrives, and its plaintext is in the log as a tls_write
  of the proxy (with the decoded request);
- the incident's production volumeDelete through the proxy never reaches the
  server: killed at the proxy's SSL_write, as for curl;
- a direct connect that ignores the proxy is refused (EPERM, the connect
  record says tls_gate);
- a client that does not trust the session CA fails closed: nothing of its
  request arrives.

Controls: outside a session the same client, direct, delivers the mutation;
the proxy relays a harmless request (it is not what refuses)."""

import os
import shlex
import subprocess

from enforce import GraphQLServer, World, finish, start_daemon, wait_hold
from harness import B, check, eq, rand_marker, short, wait_until
from proxyclient import blind_client, proxy_policy

q = shlex.quote


def harmless(marker):
    return '{"query": "{ me { id } }", "operationName": "%s"}' % marker


def test_blind_client_through_proxy(t):
    w = World(t)
    srv = GraphQLServer(t)
    exe = blind_client(t)
    mutation = t.write("mutation.json", w.mutation(w.prod_vol))
    m_ok, m_noca, m_direct = (rand_marker("viaproxy"), rand_marker("noca"),
                              rand_marker("direct"))
    ok_body = t.write("ok.json", harmless(m_ok))
    noca_body = t.write("noca.json", harmless(m_noca))
    direct_body = t.write("direct.json", harmless(m_direct))
    empty_ca = t.write("other-ca.pem", open(srv.cert).read())  # trusts the server, not the proxy

    # control: outside a session the blind client, direct, delivers the mutation
    mark = srv.mark()
    r = t.outside([str(exe), srv.url, str(mutation), str(srv.cert)],
                  env=dict(os.environ, API_TOKEN=w.prod_token))
    eq(r.rc, 0, f"control: the client outside a session ({r})")
    check([x for x in srv.requests(mark) if b"volumeDelete" in x["body"]],
          f"control: the mutation did not arrive outside a session\n{srv.summary()}")

    d = start_daemon(t, proxy_policy(t, w))
    mark = srv.mark()
    c = q(str(exe))
    url = q(srv.url)
    lines = [
        "set -u",
        f"export API_TOKEN=$(cat {q(str(w.prod_file))})",
        'echo "proxy=$HTTPS_PROXY ca=$SSL_CERT_FILE" >&2',
        # harmless, through the proxy: arrives, read by scopelock
        f"{c} {url} {q(str(ok_body))}; echo \"ok rc=$?\" >&2",
        # ignoring the proxy: refused by the kernel
        f"env -u HTTPS_PROXY -u https_proxy {c} {url} {q(str(direct_body))} "
        f"{q(str(srv.cert))}; echo \"direct rc=$?\" >&2",
        # a client that does not trust the session CA: fails closed
        f"{c} {url} {q(str(noca_body))} {q(str(empty_ca))}; echo \"noca rc=$?\" >&2",
        # the incident, through the proxy: killed at the proxy's SSL_write
        f"{c} {url} {q(str(mutation))}; echo \"mutation rc=$?\" >&2",
        "exit 0",
    ]
    script = t.write("agent.sh", "#!/bin/bash\n" + "\n".join(lines) + "\n", 0o755)
    name = rand_marker("proxy")
    # the proxy verifies the server against the CA the session was given
    r = d.run(["/bin/bash", str(script)], name=name, timeout=90,
              env=dict(os.environ, SSL_CERT_FILE=str(srv.cert)))
    sid = d.session_id(name)
    d.wait_session_end(sid)

    # every connection closed but the killed one (its egress is dropped from the kill on,
    # its FIN included): what the server logged is all it got
    def closed_but_killed():
        ev = srv.events(mark)
        acc = [e["conn"] for e in ev if e["ev"] == "accept"]
        return len(set(acc) - {e["conn"] for e in ev if e["ev"] == "close"}) <= 1
    wait_until(closed_but_killed, 15, "the server's connections to close\n" + srv.summary())
    out = r.stderr
    check("ok rc=0" in out, f"the harmless request through the proxy ({r})")
    check("direct rc=2" in out, f"the direct connect must fail (exit 2) ({r})")
    check("noca rc=4" in out, f"the client without the session CA must fail its handshake "
          f"(exit 4) ({r})")
    eq(r.rc, 123, f"the session is killed by the mutation ({r})")

    # what arrived: the harmless request only
    got = srv.requests(mark)
    check([x for x in got if m_ok.encode() in x["body"]],
          f"the harmless request did not arrive through the proxy\n{srv.summary()}")
    check(m_noca.encode() not in srv.received(mark),
          f"the request of the client that refused the CA arrived\n{srv.summary()}")
    check(m_direct.encode() not in srv.received(mark),
          f"the direct request arrived\n{srv.summary()}")
    srv.assert_nothing_destructive(w, "blind client through the proxy", since=mark)

    # the log: the blind spot, the proxy's readable writes, the refusal, the kill
    b = [x for x in d.records(session=sid, type="tls_blind_spot")
         if x.get("path", "").endswith("blind-proxy-client")]
    check(len(b) == 1 and b[0].get("blind_tls") == "proxy",
          f"the client's tls_blind_spot record: {[short(x) for x in b]}")
    start = d.records(session=sid, type="session_start")
    check(start and isinstance(start[0].get("proxy_port"), int),
          f"session_start names the proxy's port: {[short(x) for x in start]}")
    pport = start[0]["proxy_port"]
    writes = [x for x in d.records(session=sid, type="tls_write")
              if x.get("comm") == "scopelock-proxy"]
    ok_w = [x for x in writes if m_ok.encode() in B(x["data"])]
    check(ok_w and ok_w[0].get("lib") == "openssl" and ok_w[0].get("sni") == "localhost",
          f"the harmless request as a tls_write of the proxy: "
          f"{[short(x) for x in writes]}")
    check(ok_w[0].get("request", {}).get("method") == "POST",
          f"the proxy's tls_write carries the decoded request: {short(ok_w[0])}")
    check(not [x for x in writes if x.get("peer", {}) and
               x["peer"].get("port") not in (srv.port, None)],
          f"tls_writes of the proxy to anything but the server (its replies must not be "
          f"recorded): {[short(x) for x in writes]}")
    conns = [x for x in d.records(session=sid, type="connect")
             if x.get("comm") == "blind-proxy-cli"]
    direct = [x for x in conns if x.get("port") == srv.port]
    check(direct and all(x.get("refused") == "tls_gate" for x in direct),
          f"the direct connect refused by the TLS gate: {[short(x) for x in conns]}")
    viaproxy = [x for x in conns if x.get("port") == pport]
    check(viaproxy and not [x for x in viaproxy if x.get("refused")],
          f"the connects to the proxy let through: {[short(x) for x in conns]}")
    alerts = [x for x in d.records(session=sid, type="alert")
              if x.get("rule") == "graphql-destroy"]
    check(alerts and alerts[0].get("verdict") == "killed" and
          alerts[0].get("comm") == "scopelock-proxy",
          f"the mutation killed at the proxy's write: {[short(x) for x in alerts]}")
    finish(t, d, w)


def test_proxy_control_harmless_and_deny(t):
    """Controls: the same harmless request from the blind client arrives through
    the proxy (nothing refuses it: the refusals above are the policy's), and the
    same session under blind_tls: deny gets no proxy (the client's connect to
    the server fails, no HTTPS_PROXY)."""
    w = World(t)
    srv = GraphQLServer(t)
    exe = blind_client(t)
    m = rand_marker("ctl")
    body = t.write("ok.json", harmless(m))
    for value in ("proxy", "deny"):
        d = start_daemon(t, proxy_policy(t, w, value))
        mark = srv.mark()
        script = t.write(f"agent-{value}.sh",
                         "#!/bin/bash\nexport API_TOKEN=x\n"
                         'echo "proxy=${HTTPS_PROXY:-none}" >&2\n'
                         f"{q(str(exe))} {q(srv.url)} {q(str(body))}\n", 0o755)
        name = rand_marker(value)
        r = d.run(["/bin/bash", str(script)], name=name, timeout=60,
                  env=dict(os.environ, SSL_CERT_FILE=str(srv.cert)))
        sid = d.session_id(name)
        d.wait_session_end(sid)
        if value == "proxy":
            eq(r.rc, 0, f"blind_tls: proxy: the harmless request ({r})")
            wait_until(lambda: [x for x in srv.requests(mark) if m.encode() in x["body"]],
                       10, "the harmless request at the server")
        else:
            check("proxy=none" in r.stderr, f"blind_tls: deny gets no proxy ({r})")
            eq(r.rc, 2, f"blind_tls: deny: the client's connect is refused ({r})")
            srv.wait_all_closed()
            check(m.encode() not in srv.received(mark), "blind_tls: deny: nothing arrived")
        finish(t, d, w)


def test_blind_client_held_then_approved(t):
    """A freeze rule holds the proxy's write of the mutation exactly as it holds curl's:
    nothing of it at the server while held (the write is stopped at SSL_write's entry),
    `scopelock approve` lets it go, it arrives, the session runs on (its next request
    through the proxy arrives too) and exits 0."""
    w = World(t)
    srv = GraphQLServer(t)
    exe = blind_client(t)
    mutation = t.write("mutation.json", w.mutation(w.prod_vol))
    m = rand_marker("after")
    after = t.write("after.json", harmless(m))
    d = start_daemon(t, proxy_policy(t, w, action="freeze"))
    mark = srv.mark()
    script = t.write("agent.sh", "#!/bin/bash\nset -e\n"
                     f"export API_TOKEN=$(cat {q(str(w.prod_file))})\n"
                     f"{q(str(exe))} {q(srv.url)} {q(str(mutation))}\n"
                     f"{q(str(exe))} {q(srv.url)} {q(str(after))}\n", 0o755)
    name = rand_marker("held")
    p = d.spawn(["/bin/bash", str(script)], name=name,
                env=dict(os.environ, SSL_CERT_FILE=str(srv.cert)),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sid, rec = wait_hold(d, name, "graphql-destroy")
    eq(rec.get("comm"), "scopelock-proxy", f"the held write is the proxy's: {short(rec)}")
    srv.assert_nothing_destructive(w, "while the proxy's write is held", since=mark)
    r = d.cli("approve", "--reason", "e2e: proxy hold", rec["hold_id"])
    eq(r.rc, 0, f"scopelock approve ({r})")
    out, err = p.communicate(timeout=60)
    eq(p.returncode, 0, f"the approved session's exit (stderr {err[-800:]!r})\n{srv.summary()}")
    req = srv.wait_request(lambda x: b"volumeDelete" in x["body"], "the approved mutation")
    check(w.prod_vol.encode() in req["body"], f"approved body {req['body']!r}")
    srv.wait_request(lambda x: m.encode() in x["body"], "the request after the approved one")
    d.wait_session_end(sid)
    check(not d.records(session=sid, type="session_killed"), "session_killed after approve")
    finish(t, d, w)
