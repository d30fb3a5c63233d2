# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The ClientHello names a model provider, the Host names production (known
by name only), the body is the incident's mutation compressed
(`Content-Encoding: gzip`): the kernel sees neither the keywords nor the
labelled volume, so it does not stop the write, and on a provider's
connection a write it does not stop goes at once (the decode marker
`content-encoding:` is not looked at there). The server inflates the body.
Controls: outside a session it arrives; with the production host's own name
in the ClientHello the same request is stopped (_provider_host_hole)."""

from _provider_host_hole import run

EXPECT = "BLOCKED"


def test_tls_provider_host_prod_gzip_body(t):
    run(t, lambda w: w.mutation(w.prod_vol), "gzip", b"volumeDelete",
        "a compressed body does not let a request to production through on a provider's "
        "connection")
