# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Secret values never reach a file scopelock writes: a secret registered by
value (a file) and one registered only by its SHA-256 fingerprint, both passed
on a session's command line (so they are in session_start and exec records),
are replaced by their fingerprints; the records say which secrets they
carried. Nothing is enforced here: the policy has no rules."""

import hashlib
import secrets
import shutil

from enforce import (GraphQLServer, assert_no_secrets, policy_text, start_daemon, verify_chain,
                     write_policy)
from harness import PY, B, check, eq, short


def test_enforce_secrets_redacted_value_and_fingerprint(t):
    by_value = "valtok_" + secrets.token_hex(16)
    by_fp = "fptok_" + secrets.token_hex(16)
    tok_file = t.write("prod/token", by_value + "\n", 0o600)
    fp = hashlib.sha256(by_fp.encode()).hexdigest()
    envs = {
        "production": {"secrets": [{"file": str(tok_file), "format": "raw"},
                                   {"fingerprint": "sha256:" + fp}]},
        "staging": {},
    }
    d = start_daemon(t, write_policy(t, policy_text(envs, {}, [])))
    r = d.run(["/bin/echo", f"Authorization: Bearer {by_value}", f"token={by_fp}"])
    eq(r.rc, 0, f"session exit status ({r})")
    # session_end is written after a drain: the session's exec record is in the log by then
    sid = d.finished_session(r)
    start = d.session_start(sid)
    execs = [x for x in d.records(session=sid, type="exec") if x.get("comm") == "echo"]
    eq(len(execs), 1, "exec records of echo")
    for rec, what in ((start, "session_start"), (execs[0], "exec")):
        fps = sorted({s.get("fingerprint", "")[:23] for s in rec.get("secrets", [])})
        eq(fps, sorted({"sha256:" + fp[:16],
                        "sha256:" + hashlib.sha256(by_value.encode()).hexdigest()[:16]}),
           f"fingerprints of the secrets listed in the {what} record")
        check(all(s.get("env") == "production" for s in rec["secrets"]),
              f"{what} record: every secret labelled production: {rec['secrets']}")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    verify_chain(d)
    assert_no_secrets(t, d, [by_value, by_fp])


def test_enforce_secret_in_comm_redacted(t):
    """A secret that is a program's name is the process's comm (its first 15
    bytes): redacted in every record that carries comm (exec, open, exit...),
    not only in the members a list of names would cover. Control: a program
    with an ordinary name keeps its comm."""
    tok = "cmt" + secrets.token_hex(6)  # 15 bytes: all of comm
    tok_file = t.write("prod/token", tok + "\n", 0o600)
    envs = {"production": {"secrets": [{"file": str(tok_file), "format": "raw"}]},
            "staging": {}}
    d = start_daemon(t, write_policy(t, policy_text(envs, {}, [])))
    prog = t.tmp / tok
    shutil.copy("/bin/cat", prog)
    ctl = t.tmp / "plaincat"
    shutil.copy("/bin/cat", ctl)
    r = d.run(["/bin/sh", "-c", f"{prog} /etc/hostname; {ctl} /etc/hostname"])
    eq(r.rc, 0, f"session exit status ({r})")
    sid = d.finished_session(r)
    recs = d.records(session=sid)
    redacted = [x for x in recs if "[secret sha256:" in str(x.get("comm", ""))]
    check(any(x.get("type") == "open" for x in redacted) and
          any(x.get("type") == "exit" for x in redacted),
          "open and exit records of the program named like the secret with comm redacted: "
          + str([(x.get("type"), x.get("comm")) for x in recs][:40]))
    check(all(x.get("secrets") for x in redacted), "records with a redacted comm list the secret")
    check(any(x.get("comm") == "plaincat" and x.get("type") == "open" for x in recs),
          "the control program's open records keep their comm")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    verify_chain(d)
    assert_no_secrets(t, d, [tok])


# a TLS client that sends "Authorization: Bearer <token>" cut inside the token:
# two SSL_write calls, the first ending with the token's first half
SPLIT_CLIENT = r'''
import socket, ssl, sys, time
port, ca, tok, cut = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
body = b'{"query":"query { me { name } }"}'
head = ("POST /graphql/v2 HTTP/1.1\r\nHost: localhost:%d\r\nAuthorization: Bearer %s" %
        (port, tok[:cut])).encode()
rest = ("%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close"
        "\r\n\r\n" % (tok[cut:], len(body))).encode() + body
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection(("localhost", port), timeout=20) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(head)
        time.sleep(0.2)
        s.sendall(rest)
        resp = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            resp += c
sys.stdout.write(resp.decode(errors="replace")[:200])
'''


def test_enforce_secret_split_across_tls_writes_redacted(t):
    """A credential cut in two by the writes of one TLS connection: each
    tls_write record holds one piece, and each piece is redacted at the edge
    of its write (the first write ends with the token's first half, the
    second begins with its second half): neither half reaches a file.
    Control: the server received the whole token (the request was sent as
    written)."""
    tok = "splittok_" + secrets.token_hex(12)
    cut = 14
    tok_file = t.write("prod/token", tok + "\n", 0o600)
    envs = {"production": {"secrets": [{"file": str(tok_file), "format": "raw"}]},
            "staging": {}}
    srv = GraphQLServer(t)
    d = start_daemon(t, write_policy(t, policy_text(envs, {}, [])))
    client = t.write("split_client.py", SPLIT_CLIENT)
    r = d.run([PY, str(client), str(srv.port), str(srv.cert), tok, str(cut)])
    eq(r.rc, 0, f"session exit status ({r})")
    sid = d.finished_session(r)
    got = srv.log.read_bytes()
    check(tok.encode() in got, "the server received the whole token in the request (control): "
          + got[-600:].decode(errors="replace"))
    writes = [x for x in d.records(session=sid, type="tls_write")]
    parts = [x for x in writes if b" part]" in B(x.get("data") or "")]
    check(len(parts) >= 2, "both writes carry a redacted piece of the token: "
          + "\n".join(short(x, 400) for x in writes))
    check(all(x.get("secrets") for x in parts), "the writes with a piece list the secret")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    verify_chain(d)
    assert_no_secrets(t, d, [tok, tok[:cut], tok[cut:]])
