# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Never write a credential down (issue 10): values scopelock was never told
about (in no file, environment or policy) but standing at a credential
position are replaced by "[secret sha256:<fingerprint>]" in every record,
the alerts file, the daemon's output and `scopelock tail`: an Authorization
header on curl's command line and in its TLS write, X_TOKEN=... and
"--token VALUE" in an argv, a URL's userinfo password, a Cookie over plain
HTTP, and an HTTP/2 authorization header whose value is HPACK-Huffman-coded
in the raw bytes of the tls_write record (learned from the decoded request
before that record is written). Controls: the server received every value
in clear (the test sends them), and the process printed the argv values."""

import base64
import ctypes
import ctypes.util
import hashlib
import secrets
import shlex

from enforce import World, agent_script, assert_no_secrets, start_daemon, verify_chain, \
    write_policy
from harness import B, check, eq, rand_marker, short
from reqforms import ReqServer, req_policy

q = shlex.quote


def label(v):
    return "[secret sha256:" + hashlib.sha256(v.encode()).hexdigest()[:16] + "]"


class _NV(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("value", ctypes.c_char_p),
                ("namelen", ctypes.c_size_t), ("valuelen", ctypes.c_size_t),
                ("flags", ctypes.c_uint8)]


def hpack_block(value):
    """The HPACK block libnghttp2 (the library curl uses) writes for one
    authorization field with this value: an encoder with the default 4 KiB
    dynamic table, as a client has. Its value bytes are the Huffman code."""
    lib = ctypes.CDLL(ctypes.util.find_library("nghttp2"))
    lib.nghttp2_hd_deflate_hd.restype = ctypes.c_ssize_t
    lib.nghttp2_hd_deflate_hd.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                          ctypes.POINTER(_NV), ctypes.c_size_t]
    deflater = ctypes.c_void_p()
    eq(lib.nghttp2_hd_deflate_new(ctypes.byref(deflater), 4096), 0, "nghttp2_hd_deflate_new")
    nv = _NV(b"authorization", value.encode(), 13, len(value), 0)
    buf = ctypes.create_string_buffer(1024)
    n = lib.nghttp2_hd_deflate_hd(deflater, buf, 1024, ctypes.byref(nv), 1)
    lib.nghttp2_hd_deflate_del(deflater)
    check(n > 0, "nghttp2_hd_deflate_hd")
    block = buf.raw[:n]
    # name index 23 (authorization): with indexing 0x57, never indexed 0x1f 0x08
    # (what nghttp2 does with authorization); then H|length and the value
    if block[0] == 0x40 | 23:
        at = 1
    else:
        eq(block[:2], b"\x1f\x08", f"HPACK representation of the field: {block.hex()}")
        at = 2
    check(block[at] & 0x80, f"the value is Huffman-coded: {block.hex()}")
    check((block[at] & 0x7f) < 0x7f, f"a value of one length byte: {block.hex()}")
    eq(len(block) - at - 1, block[at] & 0x7f, f"the value's length: {block.hex()}")
    return block[at + 1:]


def test_redaction_positions(t):
    w = World(t)
    srv = ReqServer(t)
    d = start_daemon(t, write_policy(t, req_policy(w)))
    tok_h1 = "h1tok" + secrets.token_hex(14)
    tok_env = "envtok" + secrets.token_hex(14)
    tok_opt = "opttok" + secrets.token_hex(14)
    tok_url = "urltok" + secrets.token_hex(14)
    tok_cookie = "cktok" + secrets.token_hex(14)
    tok_h2 = "h2tok" + secrets.token_hex(14)
    basic = base64.b64encode(f"app:{tok_url}".encode()).decode()
    huff = hpack_block(f"Bearer {tok_h2}")
    check(tok_h2.encode() not in huff, "the HTTP/2 value is sent Huffman-coded")
    tls = ["/usr/bin/curl", "-sS", "--fail", "--max-time", "20", "--cacert", str(srv.cert)]
    plain = ["/usr/bin/curl", "-sS", "--fail", "--max-time", "20", "--http1.1"]
    base = f"https://localhost:{srv.port}"
    lines = [
        " ".join(q(a) for a in tls + ["--http1.1", "-H", f"Authorization: Bearer {tok_h1}",
                                      f"{base}/health"]) + " || exit 11",
        f"/usr/bin/env X_TOKEN={tok_env} /bin/echo printed-env X_TOKEN={tok_env} || exit 12",
        f"/bin/echo printed-opt --token {tok_opt} || exit 13",
        " ".join(q(a) for a in plain + [
            f"http://app:{tok_url}@localhost:{srv.http_port}/health"]) + " || exit 14",
        " ".join(q(a) for a in plain + ["-H", f"Cookie: sid={tok_cookie}",
                                        f"http://localhost:{srv.http_port}/health"])
        + " || exit 15",
        " ".join(q(a) for a in tls + ["--http2", "-H", f"authorization: Bearer {tok_h2}",
                                      f"{base}/health"]) + " || exit 16",
        "exit 0",
    ]
    mark = srv.mark()
    name = rand_marker("credpos")
    r = d.run(agent_script(t, "agent", lines, expect_killed=False), name=name, timeout=90)
    eq(r.rc, 0, f"the session ({r})\n{srv.summary()}")
    sid = d.finished_session(r)

    # controls: the values were sent in clear, and printed by the processes
    heads = [e.get("headers") or {} for e in srv.events(mark) if e["ev"] == "request"]
    protos = [e.get("proto") for e in srv.events(mark) if e["ev"] == "request"]
    auth = [h.get("authorization") for h in heads]
    check(f"Bearer {tok_h1}" in auth, f"the server received the HTTP/1.1 token: {heads}")
    check(f"Bearer {tok_h2}" in auth and "2.0" in protos,
          f"the server received the HTTP/2 token over HTTP/2: {heads} {protos}")
    check(f"Basic {basic}" in auth, f"the server received the URL's userinfo: {heads}")
    check(f"sid={tok_cookie}" in [h.get("cookie") for h in heads],
          f"the server received the cookie: {heads}")
    check(f"X_TOKEN={tok_env}" in r.stdout and f"--token {tok_opt}" in r.stdout,
          f"the processes printed their argv: {r.stdout!r}")

    # the fingerprints stand where the values stood
    recs = d.records(session=sid)
    execs = [x for x in recs if x.get("type") == "exec"]
    argv = "\n".join(" ".join(B(a).decode(errors="replace") for a in x.get("argv", []))
                     for x in execs)
    # a Cookie header's value is all of it
    for v in (tok_h1, tok_env, tok_opt, tok_url, f"sid={tok_cookie}", tok_h2):
        check(label(v) in argv, f"the exec records show {label(v)} for {v[:6]}...:\n{argv}")
    writes = [x for x in recs if x.get("type") in ("tls_write", "plain_write")]
    data = b"\n".join(B(x["data"]) for x in writes if x.get("data") is not None)
    for v in (tok_h1, basic, f"sid={tok_cookie}", tok_h2):
        check(label(v).encode() in data,
              f"the write records show {label(v)}:\n"
              + "\n".join(short(x, 500) for x in writes))
    h2 = [x for x in writes if (x.get("request") or {}).get("proto") == "http/2"]
    check(h2, "a tls_write record with the decoded HTTP/2 request\n"
          + "\n".join(short(x, 500) for x in writes))

    secret_values = [tok_h1, tok_env, tok_opt, tok_url, tok_cookie, tok_h2, basic, huff]
    # while the daemon runs: its files, status, tail and tail --alerts
    assert_no_secrets(t, d, secret_values)
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    verify_chain(d)
    # and every file once it has stopped (segments compressed, stderr complete)
    assert_no_secrets(t, d, secret_values)


def test_redaction_positions_alert(t):
    """The brief's psql case, in an alert: `psql postgres://app:PASSWORD@...
    -c 'drop table ...'` with PGPASSWORD=... before it, under the default
    policy (sql_drop_cli on exec, no label on the target: an alert). The
    alert's evidence (argv), the alerts file, syslog's and the daemon's
    line of the alert, `tail --alerts` and the launcher's notices carry the
    passwords' labels, never the passwords. Control: the shell printed the
    URL with its password (the session had it in clear)."""
    d = t.daemon()
    pw_url = "pgurl" + secrets.token_hex(14)
    pw_env = "pgenv" + secrets.token_hex(14)
    marker = rand_marker("tbl")
    url = f"postgres://app:{pw_url}@127.0.0.1:1/app"
    script = (f"/bin/echo using {url}; PGPASSWORD={pw_env} /usr/bin/psql {url} "
              f"-c 'drop table {marker}'; exit 0")
    r = d.run(["/bin/sh", "-c", script])
    eq(r.rc, 0, f"the session ({r})")
    check(pw_url in r.stdout, f"control: the shell printed the URL in clear: {r.stdout!r}")
    sid = d.finished_session(r)
    alerts = [a for a in d.records(session=sid, type="alert") if marker in str(a)]
    check(alerts, "an alert for psql's drop table\n" + d.dump(session=sid))
    text = str(alerts)
    check(label(pw_url) in text and label(pw_env) in text,
          f"the alert shows the labels of both passwords: {short(alerts[0], 2000)}")
    check("scopelock: ALERT" in r.stderr, f"control: the launcher printed the alert: {r.stderr!r}")
    secret_values = [pw_url, pw_env]
    assert_no_secrets(t, d, secret_values, extra=[("scopelock run's stderr", r.stderr)])
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    verify_chain(d)
    assert_no_secrets(t, d, secret_values)
