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

from enforce import World, policy_text, start_daemon, wait_alert, write_policy
from fakebssl import TLS13, build, decoded, request
from harness import KILLED, TCPListener, blocked, check, eq, short, wait_until

EXPECT = "BLOCKED"
RULE = "graphql-destroy"


def test_tls_provider_name_to_production_peer(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-bssl-provider-name")
    envs = w.envs(prod_hosts=[f"127.0.0.1:{srv.port}"])
    rule = {"name": RULE, "channel": "tls", "pattern": "graphql_destroy",
            "target": "outside_scope", "action": "kill"}
    text = policy_text(envs, ["graphql_destroy"], [rule], settings={"syslog": False})
    text += "destinations:\n  model_providers:\n    - api.anthropic.com\n"
    policy = write_policy(t, text)
    env = dict(os.environ, SL_FAKE_SNI="api.anthropic.com", SL_FAKE_READ="1")
    argv = [str(exe), str(srv.port), TLS13, request(w, "vol_labelled_nowhere")]
    r0 = t.outside(argv, env=env)
    eq(r0.rc, 0, f"control outside a session ({r0})")
    wait_until(lambda: any(b"vol_labelled_nowhere" in x for x in decoded(srv)), 10,
               "the control's mutation at the server")
    n0 = len(srv.received)
    d = start_daemon(t, policy)
    p = d.spawn(argv, env=env)
    sid = d.session_id(p.name)
    rec = wait_alert(d, sid, RULE)
    check(rec.get("verdict") in ("held", "killed"), f"stopped: {short(rec, 1500)}")
    check("production" in (rec.get("target_env") or []), f"target_env: {short(rec, 1500)}")
    if rec.get("verdict") == "held":
        r = d.cli("deny", rec["hold_id"])
        eq(r.rc, 0, f"scopelock deny ({r})")
    p.wait(30)
    eq(p.returncode, KILLED, "the session")
    wait_until(lambda: len(srv.received) > n0, 10, "the session's connection closed")
    check(not any(b"vol_labelled_nowhere" in x for x in decoded(srv)[n0:]),
          "the mutation reached the server")
    blocked(t, "a provider's server name does not exempt a connection to a labelled peer")
