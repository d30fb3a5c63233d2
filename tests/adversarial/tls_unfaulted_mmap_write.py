# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The mutation written to TLS straight from a file mapping none of whose
pages has been touched: the probe at SSL_write_ex cannot read a byte of it
(no page faults in the kernel's probe), and before this issue the write went
out unjudged. In a tainted session it is held, denied, never arrives.
Control: the same client outside a session delivers it."""

from _tls_hold import control_arrives, done, held_then_denied, setup
from harness import blocked

EXPECT = "BLOCKED"


def test_tls_unfaulted_mmap_write(t):
    w, srv, d = setup(t)
    # several pages, none touched by the client before SSL_write_ex
    body = t.write("body.json", '{"query": "mutation { volumeDelete(volumeId: \\"' + w.prod_vol +
                   '\\") }", "pad": "' + "y" * 20000 + '"}')
    control_arrives(t, srv, w, body, "mmap")
    held_then_denied(t, srv, w, d, body, "mmap", "read_fault")
    done(t, d, w)
    blocked(t, "held at SSL_write_ex (the buffer could not be read, tainted session); denied, "
               "never arrived")
