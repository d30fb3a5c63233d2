# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Gemini CLI (the pinned release, on /usr/bin/node: OpenSSL with exported
symbols) against the scripted Gemini API (generateContent for its routing
classifier, streamGenerateContent?alt=sse for the conversation), in the
test's own network namespace (tests/agents/lib/agents.py).

- outside a session: the round trip (functionCall run_shell_command, the
  command runs, functionResponse with its output, final answer);
- in a session (scope staging): the same with the daemon up, the tool
  command's exec in the session's records, every connect to the model only;
- in a session: the API request with the prompt, and the one with the tool's
  output, in tls_write records of the session (captured today: node's
  SSL_write);
- enforcement: the model asks for the MCP server's volume_delete of a
  production volume with the production credential in the server's headers;
  in a staging session the tools/call is stopped at node's SSL_write (it never
  arrives) and the session killed; control: outside a session it arrives.
"""

import secrets

import agents
from enforce import wait_alert
from harness import check, eq, rand_marker, short

STREAM = rb"POST /v1beta/models/[^ ]+:streamGenerateContent\?alt=sse HTTP/1\.1\r\n"


def test_round_trip_outside_session(t):
    agents.private_netns(t)
    rt = agents.RoundTrip(t, "gemini")
    run = rt.run()
    reqs = rt.check_completed(run)
    conv = [r for r in reqs if r["answer"] == "tool_call"]
    check(all(":streamGenerateContent" in r["path"] for r in conv),
          f"Gemini CLI's conversation request: {[r['path'] for r in conv]}")
    print(f"  gemini-cli round trip outside a session: {run.seconds:.1f}s")


def _session_round_trip(t):
    agents.private_netns(t)
    rt = agents.RoundTrip(t, "gemini")
    d = t.daemon()
    run = rt.run(daemon=d)
    rt.check_completed(run)
    return rt, d, run


def test_round_trip_in_session(t):
    rt, d, run = _session_round_trip(t)
    sid = run.session
    check(agents.exec_of(d, sid, "/usr/bin/touch", str(rt.effect)),
          f"no exec of /usr/bin/touch {rt.effect} in session {sid}\n"
          + d.dump(session=sid, types=("exec",)))
    check(agents.exec_of(d, sid, "/usr/bin/node", str(rt.agent.script)),
          f"no exec of node {rt.agent.script} in session {sid}\n"
          + d.dump(session=sid, types=("exec",)))
    agents.check_loopback_only(d, sid, {rt.model.port})
    print(f"  gemini-cli round trip in a session: {run.seconds:.1f}s")


def test_api_request_captured_in_session(t):
    rt, d, run = _session_round_trip(t)
    rec = agents.check_request_captured(d, run.session, STREAM, [rt.marker.encode()],
                                        "Gemini CLI's API request")
    check(rec.get("lib") == "openssl" and rec.get("function") in ("SSL_write", "SSL_write_ex"),
          f"captured by {rec.get('lib')}/{rec.get('function')}")
    agents.check_request_captured(d, run.session, STREAM, [rt.out_marker.encode()],
                                  "Gemini CLI's request with the tool's output")


# the MCP server's volume_delete as Gemini CLI offers it to the model (server "cloud")
MCP_TOOL = "mcp_cloud_volume_delete"


def test_mcp_tool_call_blocked_in_session(t):
    """Gemini CLI's own request to an MCP server over HTTPS (node's TLS):
    the model asks for the MCP server's volume_delete of a production volume
    with the production token in the server's headers; in a staging session
    the tools/call is judged at node's SSL_write and the session killed
    before it arrives. Control: the same run outside a session arrives."""
    agents.private_netns(t)
    mcp = agents.McpServer(t)
    vol = rand_marker("vol-prod")
    token = "prodtok_" + secrets.token_hex(16)
    hdrs = {"Authorization": f"Bearer {token}"}
    policy = agents.mcp_delete_policy(t, token, vol)
    model = agents.ModelServer(t, MCP_TOOL, {"volume_id": vol}, "done")
    out = agents.GeminiCli(t, model, mcp=mcp, mcp_headers=hdrs).run(f"Delete the volume {vol}.")
    calls = mcp.tool_calls()
    eq(len(calls), 1, f"control: tools/call at the MCP server ({out}\n{model.summary()}\n"
       f"{mcp.summary()})")
    eq(calls[0]["authorization"], f"Bearer {token}", "control: the token it carried")
    model2 = agents.ModelServer(t, MCP_TOOL, {"volume_id": vol}, "done")
    d = t.daemon(policy=policy)
    run = agents.GeminiCli(t, model2, mcp=mcp, mcp_headers=hdrs).run(
        f"Delete the volume {vol}.", daemon=d)
    info = f"{run}\n{model2.summary()}\n{mcp.summary()}"
    rec = wait_alert(d, run.session, "mcp-destroy-outside-scope")
    eq(rec.get("verdict"), "killed", f"verdict of {short(rec)}")
    check("production" in (rec.get("target_env") or []), f"target_env of {short(rec)}")
    d.wait_session_end(run.session)
    eq(len(mcp.tool_calls()), 1, "tools/call at the MCP server: the control's only (the "
       f"session's must not arrive) ({info})")
    w = [r for r, data in agents.tls_writes(d, run.session)
         if b'"tools/call"' in data and vol.encode() in data]
    check(w and w[0].get("lib") == "openssl", "the tools/call's tls_write record (lib "
          f"openssl: node): {[short(r) for r in w]}")
    check(run.result.rc != 0, f"the agent did not finish normally ({info})")
    print(f"  gemini-cli MCP volume_delete with the production token: killed in "
          f"{run.seconds:.1f}s; control arrived")
