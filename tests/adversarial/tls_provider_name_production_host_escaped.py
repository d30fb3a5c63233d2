# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The ClientHello names a model provider (api.anthropic.com), the request's
Host names production (known by name only), and the incident's mutation is
written with a JSON escape (volume\\u0044elete): the kernel's bytes show no
destructive keyword, only a decode marker. A provider's connection in
decode mode is held for decoding like any other; the daemon finds the Host
is not the provider's, decodes the escape and stops the mutation. Before,
the provider's name let it through unjudged. Control: outside a session it
arrives (_provider_host_case)."""

from _provider_host_case import run

EXPECT = "BLOCKED"


def test_tls_provider_name_production_host_escaped(t):
    run(t, "--http1.1", escaped=True)
