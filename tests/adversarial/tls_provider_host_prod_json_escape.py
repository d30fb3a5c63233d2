# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The ClientHello names a model provider, the Host names production (known
by name only), the body is the incident's mutation (the production volume,
labelled) with `mutation` written as a JSON escape (`mut\\u0061tion`): the
kernel's automaton does not see the keyword, so it does not stop the write,
and on a provider's connection a write it does not stop goes at once (the
decode marker `\\u` that holds any other connection's write for the daemon
is not looked at). The server's JSON parser reads `mutation`.
Controls: outside a session it arrives; with the production host's own name
in the ClientHello the same request is stopped (_provider_host_hole)."""

from _provider_host_hole import run

EXPECT = "BLOCKED"


def test_tls_provider_host_prod_json_escape(t):
    run(t, lambda w: '{"query": "mut\\u0061tion { volumeDelete(volumeId: \\"%s\\") }"}'
        % w.prod_vol, "identity", b"volumeDelete",
        "an escaped keyword does not let a request to production through on a provider's "
        "connection")
