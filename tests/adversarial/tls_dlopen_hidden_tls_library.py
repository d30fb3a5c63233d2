# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A python client dlopens, by path, a shared library that carries its own
OpenSSL with every symbol hidden and stripped (what a native extension that
bundles TLS looks like: no SSL_write anywhere to probe) and sends the
incident's mutation through it. The kernel's TLS gate holds the process at
the library's mapping; the daemon finds TLS protocol code in it (the TLS 1.3
key schedule's labels) and no entry point: a tls_blind_spot naming the
library, the process blind, and under the shipped blind_tls: deny its
connect is refused; the mutation never arrives. Control: outside a session
it arrives."""

import os
import subprocess

from _tls_native_case import Case
from enforce import finish
from harness import PY, blocked, check, eq

EXPECT = "BLOCKED"
HERE = os.path.dirname(os.path.abspath(__file__))

CLIENT = r'''
import ctypes, sys
lib, host, port, ca, token_file, body_file = sys.argv[1:7]
body = open(body_file, "rb").read()
token = open(token_file).read().strip()
req = (f"POST /graphql/v2 HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
       f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
       f"Connection: close\r\n\r\n").encode() + body
f = ctypes.CDLL(lib).hidden_post
f.argtypes = [ctypes.c_char_p] * 4 + [ctypes.c_size_t]
sys.exit(f(host.encode(), port.encode(), ca.encode(), req, len(req)))
'''


def test_tls_dlopen_hidden_tls_library(t):
    lib = t.tmp / "libbundled.so"
    p = subprocess.run(["/usr/bin/gcc", "-O1", "-Wall", "-Werror", "-shared", "-fPIC",
                        "-fvisibility=hidden", "-o", str(lib),
                        os.path.join(HERE, "_hidden_tls_lib.c"), "-Wl,--exclude-libs,ALL",
                        "-Wl,-Bstatic", "-lssl", "-lcrypto", "-Wl,-Bdynamic", "-lpthread"],
                       capture_output=True, timeout=180, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, f"gcc _hidden_tls_lib.c: {p.stderr.decode(errors='replace')}")
    p = subprocess.run(["/usr/bin/strip", "--strip-all", str(lib)], capture_output=True,
                       timeout=60)
    eq(p.returncode, 0, f"strip: {p.stderr!r}")
    client = t.write("bundled_client.py", CLIENT)
    c = Case(t, PY)
    c.argv = [PY, str(client), str(lib), "localhost", str(c.srv.port), str(c.srv.cert),
              str(c.w.prod_file), str(c.body)]
    c.control()
    d, r, sid, mark = c.run()
    check(r.rc != 0, f"the client of the bundled TLS library succeeded in a session ({r})")
    d.wait_session_end(sid, timeout=30)
    c.srv.assert_nothing_destructive(c.w, "through a library with hidden TLS", since=mark)
    spots = [x for x in d.records(session=sid, type="tls_blind_spot")
             if x.get("path") == str(lib)]
    check(spots, "no tls_blind_spot names the library:\n"
          + d.dump(session=sid, types=("tls_blind_spot", "connect")))
    eq(spots[0].get("impl"), "openssl", "impl of the blind spot")
    refused = [x for x in d.records(session=sid, type="connect")
               if x.get("refused") == "tls_gate"]
    check(refused, "the blind process' connect was not refused by the TLS gate:\n"
          + d.dump(session=sid, types=("connect",)))
    finish(t, d, c.w)
    blocked(t, "a dlopen'd library with OpenSSL built in and hidden: reported as a blind "
               "spot at its mapping, the process' connect refused (blind_tls: deny); "
               "outside a session the mutation arrives")
