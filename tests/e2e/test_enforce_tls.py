# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Enforcement on the TLS channel: the incident replayed.

A GraphQL HTTPS server on loopback plays the cloud API and logs every byte
that arrives. A staging session's workspace holds the staging token; an
unrelated file holds the production token (a production secret and a
production path label). The agent reads that file and POSTs
`mutation { volumeDelete(...) }` with the production token. The policy's rule
graphql-destroy (the default policy's graphql_destroy pattern, target
outside_scope, action kill) must stop the write in the kernel: the server
never receives the mutation, the session is killed (exit 123, session_killed),
the alert names the file the token came from, the audit chain verifies, and
no token value is written anywhere by scopelock.

Also: the keyword cut in two by a write boundary; no false positive for the
same mutation with the staging token; ordinary requests never held.
"""

import shlex

from enforce import (PY_PIECES, GraphQLServer, World, agent_script, alerts, check_tls_alert,
                     client_command, finish, start_daemon, status_holds, tls_policy,
                     wait_alert, wait_session_killed, write_policy)
from harness import KILLED, PY, B, check, eq, fail, rand_marker, short

q = shlex.quote


def incident_case(t, kind):
    w = World(t)
    srv = GraphQLServer(t)
    d = start_daemon(t, write_policy(t, tls_policy(w, open_alert=True)))
    out, err = t.tmp / "client.out", t.tmp / "client.err"
    argv = agent_script(t, "agent", [
        f"cd {q(str(w.shop))}",
        "cat README.md .env > /dev/null",                # its own task: staging
        f"TOKEN=$(cat {q(str(w.prod_file))})",          # the unrelated file
        client_command(kind, t, srv, w.mutation(w.prod_vol), "$TOKEN")
        + f" > {q(str(out))} 2> {q(str(err))}",
    ], expect_killed=True)
    name = rand_marker("agent")
    r = d.run(argv, name=name, timeout=90)
    sid = d.session_id(name)
    dump = d.dump(session=sid, types=("alert", "verdict", "session_killed", "tls_write",
                                      "exec", "exit"))
    if r.rc != KILLED:
        fail(f"{kind}: the agent's session was not killed: scopelock run exit {r.rc} "
             f"(expected {KILLED}: killed by scopelock) {r}\n{srv.summary()}\n{dump}")
    srv.assert_nothing_destructive(w, f"{kind} incident")
    # the launching terminal was told why (stderr, not the agent's stdout)
    for said in ("scopelock: KILLED: rule 'graphql-destroy' on tls", "(production)",
                 f"session {sid} was killed by scopelock: rule 'graphql-destroy'"):
        check(said in r.stderr, f"{kind}: scopelock run did not say {said!r}: {r.stderr[-1200:]!r}")
    check("scopelock:" not in r.stdout, f"{kind}: notices in the agent's stdout: {r.stdout!r}")
    rec = wait_alert(d, sid, "graphql-destroy")
    check_tls_alert(rec, w, sid)
    # the session read the production file: taint and the file as evidence
    check("production" in (rec.get("taint") or []), f"taint of the alert: {short(rec, 1500)}")
    tf = [x.get("path") for x in rec.get("taint_files") or []
          if "production" in (x.get("env") if isinstance(x.get("env"), list) else [x.get("env")])]
    check(str(w.prod_file) in tf, f"taint_files does not name {w.prod_file}: "
          f"{rec.get('taint_files')!r}")
    killed = wait_session_killed(d, sid)
    check(isinstance(killed.get("reason"), str) and killed["reason"],
          f"session_killed has no reason: {short(killed)}")
    d.wait_session_end(sid)
    # the open of the production file raised its own alert (rule open-outside-scope)
    opens = alerts(d, sid, "open-outside-scope")
    check(any(B(a.get("evidence", {}).get("path") or "") == str(w.prod_file).encode()
              for a in opens),
          f"no open-outside-scope alert for {w.prod_file}: "
          + "; ".join(short(a) for a in opens) + "\n" + dump)
    tail = d.cli("tail", "--alerts", "-n", "50")
    eq(tail.rc, 0, f"scopelock tail --alerts ({tail})")
    check("graphql-destroy" in tail.stdout and "killed" in tail.stdout,
          f"tail --alerts does not show the kill: {tail.stdout!r}")
    # nothing arrived later either (the client is dead, the session gone)
    srv.assert_nothing_destructive(w, f"{kind} incident, after the session ended")
    finish(t, d, w, extra=[("tail --alerts", tail.stdout)])


def test_enforce_incident_curl(t):
    incident_case(t, "curl")


def test_enforce_incident_python_urllib(t):
    incident_case(t, "python")


def test_enforce_incident_node_fetch(t):
    incident_case(t, "node")


def split_case(t):
    """Headers (with the production token) in one SSL_write, then
    '...mutation { volume' and 'Delete(volumeId: ...) }' in two more: the
    third write completes graphql_destroy and must never leave. Returns the
    daemon, the world, the session and its alert."""
    w = World(t)
    srv = GraphQLServer(t)
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    script = t.write("pieces.py", PY_PIECES)
    body = w.mutation(w.prod_vol)
    cut = body.index("Delete(volumeId")
    check(body[:cut].endswith("mutation { volume"), f"cut: {body[:cut]!r}")
    argv = agent_script(t, "agent", [
        f"{PY} {q(str(script))} {srv.port} {q(str(srv.cert))} {q(str(w.prod_file))} "
        f"{q(body)} {cut}",
    ], expect_killed=True)
    name = rand_marker("split")
    r = d.run(argv, name=name, timeout=90)
    sid = d.session_id(name)
    got = srv.received()
    if r.rc != KILLED:
        fail(f"split write: session not killed: exit {r.rc} {r}\n{srv.summary()}\n"
             + d.dump(session=sid, types=("alert", "tls_write", "session_killed")))
    if b"volumeDelete" in got or b"Delete(" in got:
        fail(f"split write: the write completing the mutation reached the server\n"
             f"{srv.summary()}")
    # the harmless writes before it went out: the verdict is taken at the
    # write that completes the pattern, not earlier
    check(b"POST /graphql/v2 HTTP/1.1" in got,
          f"the headers (first write) never reached the server\n{srv.summary()}")
    check("wrote piece 1" in r.stdout and "wrote piece 2" not in r.stdout,
          f"client progress: {r.stdout!r}")
    rec = wait_alert(d, sid, "graphql-destroy")
    wait_session_killed(d, sid)
    srv.assert_nothing_destructive(w, "split write")
    return d, w, sid, rec


def test_enforce_keyword_split_across_writes(t):
    d, w, sid, rec = split_case(t)
    check_tls_alert(rec, w, sid, need_text=False)
    kws = rec.get("keywords") or []
    check("mutation" in kws and "volumeDelete" in kws,
          f"keywords of the alert: {kws} (the connection's stream, not only the last write)")
    finish(t, d, w)


def test_enforce_split_write_alert_shows_request(t):
    """The alert of a request split across writes still shows what was
    sent: the request line (first write) and the mutation (second and
    third), from the connection's stream."""
    d, w, sid, rec = split_case(t)
    ev = rec.get("evidence") or {}
    check(ev.get("request_line") and B(ev["request_line"]).startswith(b"POST /graphql/v2"),
          f"evidence.request_line of a split request: {short(rec, 2000)}")
    check(ev.get("graphql") and b"volumeDelete" in B(ev["graphql"]),
          f"evidence.graphql of a split request: {short(rec, 2000)}")
    finish(t, d, w)


def test_enforce_no_false_positive_staging(t):
    """The same mutation with the staging token, aimed at the staging volume,
    from a staging session: allowed, no alert. Ordinary requests (a GET, a
    query without mutation, even a read with the production token) are never
    held, with a freeze rule for unknown targets in force."""
    w = World(t)
    srv = GraphQLServer(t)
    d = start_daemon(t, write_policy(t, tls_policy(w, unknown_freeze=True)))
    curl = f"/usr/bin/curl -sS --fail --max-time 20 --cacert {q(str(srv.cert))}"
    query = '{"query":"query { me { name environment } }"}'
    base = f"https://localhost:{srv.port}"
    m = rand_marker("get")
    lines = [
        f"cd {q(str(w.shop))}",
        "TOKEN=$(sed -n 's/^RAILWAY_TOKEN=//p' .env)",
        f"{curl} {q(base + '/health/' + m)} || exit 11",
        f"{curl} -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' "
        f"--data-binary {q(query)} {q(srv.url)} || exit 12",
        client_command("curl", t, srv, w.mutation(w.stg_vol), "$TOKEN") + " || exit 13",
        client_command("python", t, srv, w.mutation(w.stg_vol), "$TOKEN") + " || exit 14",
        f"PTOKEN=$(cat {q(str(w.prod_file))})",
        f"{curl} -H \"Authorization: Bearer $PTOKEN\" -H 'Content-Type: application/json' "
        f"--data-binary {q(query)} {q(srv.url)} || exit 15",
        "exit 0",
    ]
    name = rand_marker("staging")
    r = d.run(agent_script(t, "agent", lines, expect_killed=False), name=name, timeout=90)
    sid = d.session_id(name)
    dump = d.dump(session=sid, types=("alert", "verdict", "session_killed", "tls_write"))
    eq(r.rc, 0, f"the staging agent's exit status ({r})\n{srv.summary()}\n{dump}")
    reqs = srv.requests()
    check(any(x["path"] == f"/health/{m}" and x["method"] == "GET" for x in reqs),
          f"the GET did not arrive\n{srv.summary()}")
    muts = [x for x in reqs if b"volumeDelete" in x["body"]]
    eq(len(muts), 2, f"staging mutations received (curl, python)\n{srv.summary()}")
    for x in muts:
        check(w.stg_vol.encode() in x["body"], f"mutation body {x['body']!r}")
        eq(x["headers"].get("authorization"), f"Bearer {w.stg_token}",
           "the staging token the server received")
    eq(len([x for x in reqs if b"query { me" in x["body"]]), 2,
       f"queries received\n{srv.summary()}")
    d.wait_session_end(sid)
    check(not alerts(d, sid), f"alerts for a staging session doing staging work\n{dump}")
    check(not d.records(session=sid, type="session_killed"), f"session killed\n{dump}")
    check(not [x for x in d.records(session=sid) if x.get("type") in ("hold_approved",
                                                                          "hold_denied")],
          f"hold records\n{dump}")
    eq(status_holds(d), [], "pending holds after ordinary staging work")
    finish(t, d, w)
