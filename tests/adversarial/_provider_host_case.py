# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Helper of the provider-name cases (not a case): curl sends the incident's
mutation to a production server known by name only (`*.prod.example.test`,
no address label), giving a model provider's name as its server name
(`--resolve api.anthropic.com:PORT:127.0.0.1`: the ClientHello says
api.anthropic.com) and the production host as its Host (:authority for
HTTP/2). A provider's conversation is not judged; a request whose Host is
another server's is. Control: outside a session the mutation arrives."""

import shlex

from _provider_host_hole import stopped_or_held
from enforce import World, finish, policy_text, start_daemon, write_policy
from harness import KILLED, blocked, check, eq, need_binary, rand_marker, short
from reqforms import ReqServer

q = shlex.quote
PROD_HOST = "api.prod.example.test"


def curl(srv, w, http, escaped=False):
    need_binary("/usr/bin/curl")
    body = w.mutation(w.prod_vol)
    if escaped:
        body = body.replace("volumeDelete", "volume\\u0044elete")
    return ["/usr/bin/curl", "-sS", "--max-time", "20", "-k", http,
            "--resolve", f"api.anthropic.com:{srv.port}:127.0.0.1",
            "-H", f"Host: {PROD_HOST}", "-H", "Content-Type: application/json",
            "--data-binary", body, f"https://api.anthropic.com:{srv.port}/graphql"]


def run(t, http, escaped=False):
    w = World(t)
    srv = ReqServer(t)
    rules = [{"name": "graphql-destroy", "channel": "tls", "pattern": "graphql_destroy",
              "target": "outside_scope", "action": "kill"}]
    envs = w.envs(prod_hosts=["*.prod.example.test"])
    policy = (policy_text(envs, ["graphql_destroy"], rules, settings={"syslog": False})
              + "destinations:\n  model_providers:\n    - api.anthropic.com\n")
    d = start_daemon(t, write_policy(t, policy))
    argv = curl(srv, w, http, escaped)
    mark = srv.mark()
    r = t.outside(argv)
    eq(r.rc, 0, f"the request outside a session ({r})")
    check(any(b"volumeDelete" in x or b"volume\\u0044elete" in x for x in srv.received(mark)),
          f"outside a session the mutation did not arrive\n{srv.summary()}")
    mark = srv.mark()
    name = rand_marker("provider-host")
    # killed at the write, or (HTTP/2: the HEADERS go before the DATA) held
    # for a person at the head, which this test denies
    rc, rec, sid = stopped_or_held(t, d, [f"cd {q(str(w.shop))}", " ".join(q(a) for a in argv)],
                                   name)
    dump = d.dump(session=sid, types=("alert", "verdict", "tls_write"))
    eq(rc, KILLED, f"the session was not killed ({rc})\n{srv.summary()}\n{dump}")
    check(not any(b"volumeDelete" in x or b"volume\\u0044elete" in x
                  for x in srv.received(mark)),
          f"the mutation reached the server\n{srv.summary()}")
    if rec.get("verdict") == "killed":
        check("production" in (rec.get("target_env") or []), f"target_env: {short(rec, 1500)}")
    writes = [x for x in d.records(session=sid, type="tls_write")
              if x.get("provider_host_mismatch")]
    check(writes and writes[0]["provider_host_mismatch"].startswith(PROD_HOST),
          f"no tls_write record names the Host that is not the provider's\n{dump}")
    finish(t, d, w)
    blocked(t, f"a provider's server name does not exempt a request whose Host is {PROD_HOST}")
