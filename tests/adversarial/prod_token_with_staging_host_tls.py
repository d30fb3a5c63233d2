# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The incident's mutation with the production token, read from a
production-labelled file that is not registered as a secret (the incident:
nobody knew the token was there), in a request that also names staging: a
staging Host header and the staging volume id. The session is tainted with
production, the request names staging; one mention of the scope must not
cancel the taint (before the union target it was judged in scope and
arrived). Control: the same request outside a session arrives."""

import json
import shlex

from enforce import (GraphQLServer, World, agent_script, finish, policy_text, start_daemon,
                     wait_alert, write_policy)
from harness import KILLED, blocked, check, eq, fail, need_binary, rand_marker, short

EXPECT = "BLOCKED"
q = shlex.quote


def curl(srv, w, body, token):
    need_binary("/usr/bin/curl")
    return ["/usr/bin/curl", "-sS", "--max-time", "20", "--cacert", str(srv.cert),
            "-H", "Host: api.staging.example.com", "-H", f"Authorization: Bearer {token}",
            "-H", "Content-Type: application/json", "--data-binary", body,
            "--connect-to", f"api.staging.example.com:{srv.port}:localhost:{srv.port}",
            srv.url]


def test_prod_token_with_staging_host_tls(t):
    w = World(t)
    srv = GraphQLServer(t)
    envs = w.envs(stg_hosts=["*.staging.example.com"])
    del envs["production"]["secrets"]  # labelled by path only
    rules = [{"name": "graphql-destroy", "channel": "tls", "pattern": "graphql_destroy",
              "target": "outside_scope", "action": "kill"}]
    d = start_daemon(t, write_policy(t, policy_text(envs, ["graphql_destroy"], rules,
                                                    settings={"syslog": False})))
    body = json.dumps({"query": f'mutation {{ volumeDelete(volumeId: "{w.stg_vol}") }}'})
    # control: outside a session the request arrives
    mark = srv.mark()
    r = t.outside(curl(srv, w, body, w.prod_token))
    eq(r.rc, 0, f"the request outside a session ({r})")
    check(any(b"volumeDelete" in x["body"] for x in srv.requests(mark)),
          f"outside a session the mutation did not arrive\n{srv.summary()}")
    mark = srv.mark()
    cmd = " ".join(q(a) for a in curl(srv, w, body, "TOKEN_HERE"))
    argv = agent_script(t, "agent", [f"cd {q(str(w.shop))}",
                                     f"TOKEN=$(cat {q(str(w.prod_file))})",
                                     cmd.replace("TOKEN_HERE", '"$TOKEN"')],
                        expect_killed=True)
    name = rand_marker("agent")
    r = d.run(argv, name=name, timeout=90)
    sid = d.session_id(name)
    if r.rc != KILLED:
        fail(f"session not killed: exit {r.rc} {r}\n{srv.summary()}\n" +
             d.dump(session=sid, types=("alert", "verdict", "tls_write")))
    srv.assert_nothing_destructive(w, "production token next to staging labels", since=mark)
    rec = wait_alert(d, sid, "graphql-destroy")
    eq(rec.get("target"), "outside_scope", f"target of {short(rec)}")
    check({"production", "staging"} <= set(rec.get("target_env") or []),
          f"target_env should name both environments: {short(rec)}")
    check("production" in (rec.get("taint") or []), f"taint of {short(rec)}")
    d.wait_session_end(sid)
    # the production token is not registered, so nothing knows to redact it
    # (credentials nobody registered: a later issue); the staging one is
    w.secrets = [w.stg_token]
    finish(t, d, w)
    blocked(t, "the mutation never reached the server: production credential + staging host")
