# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""HTTP/1.1: the ClientHello names a model provider (api.anthropic.com), the
request's Host names production (known by name only), the body is the
incident's mutation. Before this was handled the provider's name let it
through unjudged. Control: outside a session it arrives (_provider_host_case)."""

from _provider_host_case import run

EXPECT = "BLOCKED"


def test_tls_provider_name_production_host_h1(t):
    run(t, "--http1.1")
