# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A credential nobody told scopelock about, in an Authorization header
written over three TLS writes, cut in the header's name ("Author" |
"ization:") and inside the token, the name's case and the spacing odd
("ization:\\t bearer  <first part>" | "<rest>\\r\\n..."): the second write's
record has no header line to find by position, the third begins inside the
token. The request decoder follows the header across the writes: the part of
the value the second write ends with is learned before its record is
written, the whole value before the third's. Outcome: neither part of the
token is in any file, status or tail (DETECTED: the request was not meant
to be stopped, only never written down). Control: the server received the
whole token."""

import hashlib
import secrets

from enforce import GraphQLServer, assert_no_secrets, policy_text, start_daemon, \
    verify_chain, write_policy
from harness import PY, B, check, detected, eq, short

EXPECT = "DETECTED"

CLIENT = r'''
import socket, ssl, sys, time
port, ca, cut = int(sys.argv[1]), sys.argv[2], int(sys.argv[4])
tok = open(sys.argv[3]).read().strip()
body = b'{"query":"query { me { name } }"}'
pieces = [("POST /graphql/v2 HTTP/1.1\r\nHost: localhost:%d\r\nAuthor" % port).encode(),
          ("ization:\t bearer  %s" % tok[:cut]).encode(),
          ("%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close"
           "\r\n\r\n" % (tok[cut:], len(body))).encode() + body]
ctx = ssl.create_default_context(cafile=ca)
with socket.create_connection(("localhost", port), timeout=20) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        for p in pieces:
            s.sendall(p)
            time.sleep(0.2)
        resp = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            resp += c
sys.stdout.write(resp.decode(errors="replace")[:200])
'''


def test_cred_position_header_split_writes(t):
    tok = "advtok" + secrets.token_hex(14)
    cut = 16
    srv = GraphQLServer(t)
    d = start_daemon(t, write_policy(t, policy_text({"production": {}, "staging": {}}, {}, [])))
    client = t.write("split_client.py", CLIENT)
    # the token from a file: it is in no argv (not a position) and no label
    tok_file = t.write("tok", tok + "\n", 0o600)
    r = d.run([PY, str(client), str(srv.port), str(srv.cert), str(tok_file), str(cut)])
    eq(r.rc, 0, f"session exit status ({r})")
    sid = d.finished_session(r)
    got = srv.log.read_bytes()
    check(tok.encode() in got, "the server received the whole token (control): "
          + got[-600:].decode(errors="replace"))
    writes = d.records(session=sid, type="tls_write")
    data = [B(x["data"]) for x in writes if x.get("data") is not None]
    first = "[secret sha256:" + hashlib.sha256(tok[:cut].encode()).hexdigest()[:16] + "]"
    whole = "[secret sha256:" + hashlib.sha256(tok.encode()).hexdigest()[:16]
    check(any(first.encode() in x for x in data),
          f"the second write's record shows the label of the part it carried ({first}):\n"
          + "\n".join(short(x, 500) for x in writes))
    check(any(whole.encode() in x for x in data),
          f"the third write's record shows the label of the whole token ({whole}...):\n"
          + "\n".join(short(x, 500) for x in writes))
    assert_no_secrets(t, d, [tok, tok[:cut], tok[cut:]])
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    verify_chain(d)
    assert_no_secrets(t, d, [tok, tok[:cut], tok[cut:]])
    detected(t, "a credential nobody registered, cut over three TLS writes in an odd-cased, "
                "odd-spaced Authorization header, is in no file, status or tail")
