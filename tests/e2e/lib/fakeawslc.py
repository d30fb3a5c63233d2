# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A client whose TLS is rustls on aws-lc, as Codex's is:
tests/unit/fixtures/fake_awslc.c built with -DRUNNABLE, PIE and stripped (the
locator finds its EVP_AEAD_CTX_seal and _seal_scatter by aws-lc's error
sites). `fake PORT MSG... [-- AGAIN...]` seals each MSG as rustls seals a
TLS 1.3 record (in place, the record's header as additional data, the inner
content type after it; XOR and a tag of 16 bytes) and sends it as one record
on a connection to 127.0.0.1:PORT, then connects again (printing "connect
again: ok" or the errno name) and sends each AGAIN there, with the same key
object at the same address and a new key. Environment: SL_FAKE_TLS12 (TLS
1.2 records through EVP_AEAD_CTX_seal_scatter), SL_FAKE_BAD_AD (the MSGs
sealed with additional data that is not their record's header),
SL_FAKE_PORT2 (the second connection's port), SL_FAKE_SAME_KEY (the same key
on the second connection). What arrives is fakebssl.decoded's."""

import subprocess

from harness import REPO, check, need_binary

FIXTURE = REPO / "tests" / "unit" / "fixtures" / "fake_awslc.c"
# rustls on ring: `fake_ring PORT MSG...` seals each MSG through ring's
# AES-256-GCM seal (SL_FAKE_CHACHA: ChaCha20-Poly1305) as one TLS 1.3 record
RING_FIXTURE = REPO / "tests" / "unit" / "fixtures" / "fake_ring.c"
CFLAGS = ["-O2", "-fno-reorder-blocks-and-partition", "-fcf-protection=none",
          "-Wno-unused-result"]


def build(t, name, fixture=FIXTURE):
    """A new stripped copy: its own inode, so a location not yet confirmed."""
    need_binary("/usr/bin/cc")
    exe = t.tmp / name
    p = subprocess.run(["/usr/bin/cc", *CFLAGS, "-fpie", "-pie", "-DRUNNABLE", "-s", "-o",
                        str(exe), str(fixture)], capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    check(p.returncode == 0 and exe.exists(),
          f"cc failed: {p.stderr.decode(errors='replace')[-2000:]}")
    return exe
