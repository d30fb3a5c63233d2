# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""HTTP/1.1: the ClientHello names a model provider, the Host names
production (known by name only) and the mutation's body names nothing
labelled (a volume id the policy does not list): only the Host says where it
goes. The kernel's automaton labels host names in the bytes, so it sees the
production host in the Host header and holds the write; the daemon judges
it. (Passes on 29fbcab: a regression case next to the HTTP/2 one, where the
:authority is Huffman-coded.) Controls: outside a session it arrives; with
the production host's own name in the ClientHello it is stopped."""

import json

from _provider_host_hole import run

EXPECT = "BLOCKED"


def test_tls_provider_host_prod_body_unlabelled(t):
    run(t, lambda w: json.dumps(
        {"query": 'mutation { volumeDelete(volumeId: "vol_0badc0de-unlisted") }'}),
        "identity", b"volumeDelete",
        "a request whose Host names production is judged on a provider's connection "
        "even when its body names nothing labelled")
