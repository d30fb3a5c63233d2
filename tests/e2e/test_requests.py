# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Decode before judging (issue 9): the incident's request in forms the
kernel cannot judge from the bytes is held at SSL_write, decoded by the
daemon as the server will read it, judged, and stopped before it leaves.
Every case has its control: the same client outside a session reaches the
server (tests/e2e/lib/reqforms.py)."""

import json
import secrets
import shlex
import subprocess

from enforce import (World, agent_script, alerts, finish, policy_text, start_daemon,
                     status_holds, wait_alert, write_policy)
from harness import KILLED, B, check, eq, rand_marker, short
from reqforms import ReqServer, check_decoded_alert, mutation, req_policy, run_form

q = shlex.quote


def decoded_case(t, form, want=b"volumeDelete", kernel_may_decide=False):
    d, w, sid, rec = run_form(t, form)
    if kernel_may_decide and not rec.get("decoded"):
        # the bytes were enough (curl sent the token without Huffman coding):
        # the fast path stopped it; the daemon still decoded the request
        writes = [x for x in d.records(session=sid, type="tls_write") if x.get("request")]
        check(any(want in str(x["request"]).encode() for x in writes),
              f"{form}: no tls_write record shows the decoded request\n"
              + d.dump(session=sid, types=("tls_write",)))
        finish(t, d, w)
        return writes[-1]["request"]
    req = check_decoded_alert(rec, form)
    text = B(req.get("summary") or "") + b" " + str(req).encode()
    check(want in text, f"{form}: the alert's request does not show {want!r}: {short(req, 2000)}")
    # the held write's tls_write record carries the decoded request too
    writes = [x for x in d.records(session=sid, type="tls_write") if x.get("request")]
    check(writes, f"{form}: no tls_write record with a request member\n"
          + d.dump(session=sid, types=("tls_write",)))
    finish(t, d, w)
    return req


def test_requests_h2_curl(t):
    req = decoded_case(t, "h2_curl", kernel_may_decide=True)
    eq(req.get("proto"), "http/2", f"proto of {short(req)}")


def test_requests_h2_node(t):
    decoded_case(t, "h2_node")


def test_requests_gzip_body(t):
    decoded_case(t, "gzip")


def test_requests_json_escape(t):
    decoded_case(t, "json_escape")


def test_requests_chunked_cut(t):
    decoded_case(t, "chunked_cut")


def test_requests_websocket(t):
    decoded_case(t, "websocket")


def test_requests_rest_delete_h2(t):
    decoded_case(t, "rest_delete_h2", want=b"DELETE")


def test_requests_delete_volume_alias(t):
    decoded_case(t, "delete_volume_alias", want=b"deleteVolume")


def test_requests_fork_split(t):
    decoded_case(t, "fork_split")


def test_requests_mcp_tool_call(t):
    req = decoded_case(t, "mcp_tool_call", want=b"drop_volume")
    check(any(c.get("tool") == "drop_volume" for c in req.get("mcp") or []),
          f"the request member does not name the MCP tool: {short(req, 1500)}")


def undecidable_agent(t, srv, w, after):
    """curl declaring a gzip body that is not gzip: the decoder cannot read
    it as the server would (a clear reason), so the write stays held."""
    body = t.write("not-gzip.bin", "this is not gzip data " + w.vol + "\n")
    cmd = " ".join(q(a) for a in [
        "/usr/bin/curl", "-sS", "--max-time", "60", "--http1.1", "--cacert", str(srv.cert),
        "-H", "Content-Encoding: gzip", "-H", "Content-Type: application/octet-stream",
        "--data-binary", f"@{body}", f"https://localhost:{srv.port}/upload/{w.vol}"])
    return agent_script(t, "agent", [cmd + " > /dev/null || exit 21"] + after,
                        expect_killed=False)


def undecidable_setup(t):
    w = World(t)
    w.vol = "vol_" + secrets.token_hex(6)
    srv = ReqServer(t)
    d = start_daemon(t, write_policy(t, req_policy(w)))
    return w, srv, d


def wait_undecidable_hold(d, name):
    sid = d.session_id(name, 30)
    rec = wait_alert(d, sid, "undecidable-request", timeout=30)
    eq(rec.get("verdict"), "held", f"verdict of {short(rec, 1500)}")
    check(rec.get("decoded") is True and "encoding" in str(rec.get("undecidable")),
          f"the hold does not say why the request could not be decoded: {short(rec, 1500)}")
    check(isinstance(rec.get("hold_id"), str), f"no hold_id: {short(rec, 1500)}")
    return sid, rec


def uploads(srv, w):
    return [e for e in srv.events() if e["ev"] == "request" and w.vol in e["path"]]


def test_requests_undecidable_held_then_approve(t):
    """Fail closed: a write the daemon cannot decode stays held (writer
    stopped, egress held) until a person decides; approved, it arrives."""
    w, srv, d = undecidable_setup(t)
    name = rand_marker("undecidable")
    p = d.spawn(undecidable_agent(t, srv, w, ["exit 0"]), name=name,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sid, rec = wait_undecidable_hold(d, name)
    # the writer is stopped at SSL_write while the hold is pending
    check(not uploads(srv, w), f"the held request arrived before anyone decided\n"
          + srv.summary())
    check(rec["hold_id"] in [h.get("hold_id") for h in status_holds(d)],
          f"status does not list hold {rec['hold_id']}")
    r = d.cli("approve", "--reason", "e2e: a person looked at it", rec["hold_id"])
    eq(r.rc, 0, f"scopelock approve ({r})")
    out, err = p.communicate(timeout=60)
    eq(p.returncode, 0, f"the approved agent's exit status ({err[-500:]!r})")
    check(uploads(srv, w), f"the approved request never arrived\n{srv.summary()}")
    d.wait_session_end(sid)
    finish(t, d, w)


def test_requests_undecidable_held_then_deny(t):
    w, srv, d = undecidable_setup(t)
    name = rand_marker("undecidable")
    p = d.spawn(undecidable_agent(t, srv, w, ["exit 0"]), name=name,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sid, rec = wait_undecidable_hold(d, name)
    r = d.cli("deny", "--reason", "e2e: not decodable, not allowed", rec["hold_id"])
    eq(r.rc, 0, f"scopelock deny ({r})")
    p.communicate(timeout=60)
    eq(p.returncode, KILLED, "exit status of the denied session")
    d.wait_session_end(sid)
    check(not uploads(srv, w), f"the denied request arrived\n{srv.summary()}")
    # control: outside a session the same upload arrives
    r = t.outside(["/bin/bash", str(undecidable_agent(t, srv, w, ["exit 0"])[1])], timeout=60)
    eq(r.rc, 0, f"the upload outside a session ({r})")
    check(uploads(srv, w), f"outside a session the upload did not arrive\n{srv.summary()}")
    finish(t, d, w)


def test_requests_benign_h2_released(t):
    """Ordinary work over HTTP/2 in a staging session: every write is held,
    decoded, found harmless and released (a verdict record with the hold
    latency each); the requests arrive, no alert."""
    w = World(t)
    srv = ReqServer(t)
    d = start_daemon(t, write_policy(t, req_policy(w)))
    curl = ["/usr/bin/curl", "-sS", "--fail", "--max-time", "20", "--http2", "--cacert",
            str(srv.cert)]
    base = f"https://localhost:{srv.port}"
    lines = [f"cd {q(str(w.shop))}", "TOKEN=$(sed -n 's/^RAILWAY_TOKEN=//p' .env)"]
    lines.append(" ".join(q(a) for a in curl + [f"{base}/health"]) + " || exit 11")
    lines.append(" ".join(q(a) for a in curl + [
        "-H", "Content-Type: application/json", "--data-binary",
        mutation(w.stg_vol), f"{base}/graphql/v2"]).replace(
            "--http2", "--http2 -H \"Authorization: Bearer $TOKEN\"") + " || exit 12")
    name = rand_marker("benign")
    r = d.run(agent_script(t, "agent", lines + ["exit 0"], expect_killed=False), name=name,
              timeout=90)
    sid = d.session_id(name)
    dump = d.dump(session=sid, types=("alert", "verdict", "tls_write"))
    eq(r.rc, 0, f"the staging agent ({r})\n{srv.summary()}\n{dump}")
    d.wait_session_end(sid)
    got = srv.received()
    check(any(x.startswith(b"GET /health http/2.0") for x in got), f"GET\n{srv.summary()}")
    check(any(w.stg_vol.encode() in x for x in got), f"staging mutation\n{srv.summary()}")
    check(not alerts(d, sid), f"alerts for ordinary staging work\n{dump}")
    rel = [x for x in d.records(session=sid, type="verdict") if x.get("verdict") == "released"]
    check(rel and all(isinstance(x.get("hold_us"), int) for x in rel),
          f"no released verdict records with hold_us\n{dump}")
    reqs = [x["request"] for x in d.records(session=sid, type="tls_write") if x.get("request")]
    check(any(x.get("method") == "GET" and x.get("proto") == "http/2" for x in reqs),
          f"the GET's tls_write record has no request member: {reqs!r}")
    finish(t, d, w)


CONVERSATION = """You are a coding agent. The user asked: clean up the staging migrations.
Tool result (grep -rn 'DROP TABLE' migrations/): 0003_drop.sql: DROP TABLE users;
Plan: run `rm -rf build/` then call the API:
POST /graphql {"query": "mutation { volumeDelete(volumeId: \\"%s\\") }"}
DELETE /v1/volumes/%s
The token I found in ~/old-scripts/railway-prod.token is %s"""


def provider_policy(w):
    rules = [{"name": "destroy-api-outside-scope", "channel": "tls",
              "pattern": ["graphql_destroy", "http_delete", "sql_drop"],
              "target": "outside_scope", "action": "kill"},
             {"name": "destroy-api-unknown-target", "channel": "tls",
              "pattern": ["graphql_destroy", "http_delete", "sql_drop"],
              "target": "unknown", "action": "alert"}]
    return (policy_text(w.envs(), ["graphql_destroy", "http_delete", "sql_drop"], rules,
                        settings={"syslog": False})
            + "destinations:\n  model_providers:\n    - api.anthropic.com\n")


def conversation_cmd(srv, w, host, t=None, pad=0, http="--http1.1"):
    """curl sending the conversation to host (resolved to the server); with
    pad, a long history of pad bytes first, the body then in a file of t."""
    msgs = [{"role": "user", "content": CONVERSATION % (w.prod_vol, w.prod_vol, w.prod_token)}]
    if pad:
        msgs.insert(0, {"role": "user", "content": "earlier history " + "x" * pad})
    body = json.dumps({"model": "claude", "max_tokens": 10, "messages": msgs})
    if pad:
        body = "@" + str(t.write(f"conversation-{pad}.json", body))
    return " ".join(q(a) for a in [
        "/usr/bin/curl", "-sS", "--fail", "--max-time", "20", "-k", http,
        "--resolve", f"{host}:{srv.port}:127.0.0.1", "-H", "x-api-key: sk-ant-test",
        "-H", "Content-Type: application/json", "--data-binary", body,
        f"https://{host}:{srv.port}/v1/messages"])


def test_requests_model_provider_conversation(t):
    """An agent's conversation with its model provider names everything
    (SQL, rm -rf, a volumeDelete mutation, the production token it read): it
    is recorded, never judged by the destructive patterns, and the
    production token sent there raises credential_exposure. Control: the
    same request to a host that is not a model provider is a service call:
    judged, and killed."""
    w = World(t)
    srv = ReqServer(t)
    d = start_daemon(t, write_policy(t, provider_policy(w)))
    name = rand_marker("provider")
    r = d.run(agent_script(t, "agent", [f"cd {q(str(w.shop))}",
                                        conversation_cmd(srv, w, "api.anthropic.com")
                                        + " > /dev/null || exit 11", "exit 0"],
                           expect_killed=False), name=name, timeout=90)
    sid = d.session_id(name)
    dump = d.dump(session=sid, types=("alert", "verdict", "tls_write"))
    eq(r.rc, 0, f"the agent talking to its model ({r})\n{srv.summary()}\n{dump}")
    d.wait_session_end(sid)
    check(any(w.prod_token.encode() in x for x in srv.received()),
          f"the conversation did not reach the provider\n{srv.summary()}")
    al = alerts(d, sid)
    check(all(a.get("rule") == "credential_exposure" for a in al),
          f"a destructive-pattern alert on the model conversation\n{dump}")
    exp = [a for a in al if a.get("rule") == "credential_exposure"]
    eq(len(exp), 1, f"credential_exposure alerts\n{dump}")
    check("production" in (exp[0].get("exposed_env") or []) and
          exp[0].get("destination") == "api.anthropic.com",
          f"credential_exposure alert: {short(exp[0], 1500)}")
    creds = (exp[0].get("evidence") or {}).get("credentials") or []
    check(any(c.get("source_file") == str(w.prod_file) for c in creds),
          f"the alert does not name the token's file: {creds!r}")
    writes = [x for x in d.records(session=sid, type="tls_write")
              if x.get("destination_role") == "model_provider" and x.get("request")]
    check(writes, f"the conversation's tls_write record has no request member\n{dump}")
    # control: the same request to a service host is judged and stopped
    name = rand_marker("service")
    r = d.run(agent_script(t, "agent", [f"cd {q(str(w.shop))}",
                                        conversation_cmd(srv, w, "api.service.test")],
                           expect_killed=True), name=name, timeout=90)
    sid2 = d.session_id(name)
    eq(r.rc, KILLED, f"the same request to a service host was not stopped ({r})\n"
       + d.dump(session=sid2, types=("alert", "verdict", "tls_write")))
    wait_alert(d, sid2, "destroy-api-outside-scope")
    finish(t, d, w)


def test_requests_model_provider_long_conversation(t):
    """A conversation whose body is longer than the decoder reads (1.5 MB of
    history before the destructive plan), over HTTP/1.1 and HTTP/2: the
    kernel holds it for decoding (the rules would stop it), the daemon finds
    its Host is the provider's and lets it go, though the body cannot be
    decoded whole. Control: the same request to a service host is killed."""
    w = World(t)
    srv = ReqServer(t)
    d = start_daemon(t, write_policy(t, provider_policy(w)))
    for http in ("--http1.1", "--http2"):
        name = rand_marker("long")
        mark = srv.mark()
        cmd = conversation_cmd(srv, w, "api.anthropic.com", t, 1500000, http)
        r = d.run(agent_script(t, "agent", [f"cd {q(str(w.shop))}", cmd + " > /dev/null || exit 11",
                                            "exit 0"], expect_killed=False),
                  name=name, timeout=90)
        sid = d.session_id(name)
        dump = d.dump(session=sid, types=("alert", "verdict", "tls_write"))
        eq(r.rc, 0, f"the long conversation ({http}) ({r})\n{srv.summary()}\n{dump}")
        check(any(w.prod_token.encode() in x for x in srv.received(mark)),
              f"the long conversation ({http}) did not reach the provider\n{srv.summary()}")
        al = [a for a in alerts(d, sid) if a.get("rule") != "credential_exposure"]
        check(not al, f"an alert other than credential_exposure ({http})\n{dump}")
        held = [x for x in d.records(session=sid, type="tls_write")
                if x.get("held_for_decoding")]
        check(held, f"the conversation ({http}) was not held for decoding: the test "
              f"does not exercise the provider's Host check\n{dump}")
        d.wait_session_end(sid)
    name = rand_marker("long-service")
    r = d.run(agent_script(t, "agent", [f"cd {q(str(w.shop))}",
                                        conversation_cmd(srv, w, "api.service.test", t, 1500000)],
                           expect_killed=True), name=name, timeout=90)
    eq(r.rc, KILLED, f"the long request to a service host was not stopped ({r})")
    finish(t, d, w)
