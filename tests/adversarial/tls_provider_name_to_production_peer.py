# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent sends the incident's mutation to a production server (known by
its address and port) with a ClientHello naming a model provider
(api.anthropic.com: a model provider's conversation is recorded, not
judged). The server name is the client's to choose; a connection whose peer
address belongs to an environment is judged whatever name it gives: the
mutation is stopped before a byte leaves. Before this was handled the
provider's name let it through unjudged. Control: outside a session it
arrives."""

import os

from enforce import World, start_daemon
from fakebssl import (TLS13, UNLABELLED, build, control, never_arrived, prod_host_policy,
                      request, stopped)
from harness import TCPListener, blocked, check, short

EXPECT = "BLOCKED"


def test_tls_provider_name_to_production_peer(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-bssl-provider-name")
    policy = prod_host_policy(t, w, srv.port,
                              "destinations:\n  model_providers:\n    - api.anthropic.com\n")
    env = dict(os.environ, SL_FAKE_SNI="api.anthropic.com", SL_FAKE_READ="1")
    argv = [str(exe), str(srv.port), TLS13, request(w, UNLABELLED)]
    n0 = control(t, argv, srv, UNLABELLED.encode(), env=env)
    d = start_daemon(t, policy)
    rec = stopped(d, d.spawn(argv, env=env))
    check("production" in (rec.get("target_env") or []), f"target_env: {short(rec, 1500)}")
    never_arrived(srv, n0, UNLABELLED.encode())
    blocked(t, "a provider's server name does not exempt a connection to a labelled peer")
