# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""HTTP/2 (curl): the ClientHello names a model provider, the :authority
names production (known by name only) and the mutation's body names nothing
labelled. HPACK sends the :authority Huffman-coded, so the kernel's
automaton (which labels host names it sees in the bytes) does not see the
production host: a destructive mutation with an unknown target, which the
default policy only alerts on; the provider's write is not held and the
daemon never reads its :authority. Over HTTP/1.1 the same request is stopped
(tls_provider_host_prod_body_unlabelled). Controls: outside a session it
arrives; with the production host's own name in the ClientHello it is
stopped (_provider_host_hole)."""

import json

from _provider_host_hole import run

EXPECT = "BLOCKED"


def test_tls_provider_host_prod_h2_unlabelled(t):
    run(t, lambda w: json.dumps(
        {"query": 'mutation { volumeDelete(volumeId: "vol_0badc0de-unlisted") }'}),
        "curl-h2", b"volumeDelete",
        "an HTTP/2 request whose :authority names production is judged on a provider's "
        "connection even when its body names nothing labelled")
