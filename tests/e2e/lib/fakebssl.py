# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A client whose SSL_write is located without symbols, as Claude Code's
BoringSSL is: tests/unit/fixtures/fake_bssl.c built with -DRUNNABLE and
stripped. `fake PORT EXTRA MSG... [-- AGAIN...]` sends each MSG as one
SSL_write on a connection to 127.0.0.1:PORT, as a record that looks like TLS
application data of MSG's length + EXTRA bytes (17: what TLS 1.3 adds; any
other value makes the location look wrong), then connects again with the same
SSL (printing "connect again: ok" or the errno name) and writes each AGAIN
there. Environment: SL_FAKE_SNI, SL_FAKE_SNI2 (a ClientHello naming it first
on the first, second connection), SL_FAKE_READ (an SSL_read whose handshake
step reads the socket, before the writes), SL_FAKE_PORT2 (the second
connection's port)."""

import subprocess

from harness import REPO, check, need_binary

FIXTURE = REPO / "tests" / "unit" / "fixtures" / "fake_bssl.c"
# the Makefile's FIXTURE_CFLAGS: the shape the locator's unit tests know
CFLAGS = ["-O2", "-fno-reorder-blocks-and-partition", "-fcf-protection=none",
          "-Wno-unused-result"]
TLS13 = "17"


def build(t, name):
    """A new stripped copy: its own inode, so a location not yet confirmed."""
    need_binary("/usr/bin/cc")
    exe = t.tmp / name
    p = subprocess.run(["/usr/bin/cc", *CFLAGS, "-DRUNNABLE", "-s", "-o", str(exe),
                        str(FIXTURE)], capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    check(p.returncode == 0 and exe.exists(),
          f"cc failed: {p.stderr.decode(errors='replace')[-2000:]}")
    return exe


def request(world, vol):
    """The incident's GraphQL mutation on volume vol, as an HTTP request."""
    body = world.mutation(vol)
    return (f"POST /graphql/v2 HTTP/1.1\r\nHost: backboard.example\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}")


def decoded(listener):
    """What each closed connection of a harness.TCPListener carried, un-XORed."""
    return [bytes(b ^ 0x5a for b in data) for data in listener.received]
