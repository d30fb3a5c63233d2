# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Claude Code (the pinned release, its native Bun executable) against the
scripted Anthropic Messages API and a loopback MCP server, in the test's own
network namespace (tests/agents/lib/agents.py).

- outside a session: the round trip (prompt to the model, tool_use Bash, the
  command runs, its output goes back as tool_result, final answer);
- in a session (scope staging): the same round trip with the daemon up, the
  tool command's exec in the session's audit records, and every connect of
  the session going to the scripted model only;
- MCP outside a session: the model asks for mcp__cloud__volume_delete and the
  tools/call arrives at the MCP server over HTTPS with the configured token;
- capture (issue 8: BoringSSL located in the Bun executable without symbols,
  uprobes attached while the kernel's TLS gate holds the exec): the API
  request with the prompt, and the MCP tools/call, in tls_write records of
  the session (lib boringssl);
- enforcement: the model asks for volume_delete of a production volume
  with the production credential in the MCP server's headers; in a staging
  session the tools/call is stopped at SSL_write (it never arrives at the
  MCP server) and the session killed (not held: the located SSL_write was
  confirmed on the agent's earlier model requests, tls_location); control:
  the same run outside a session arrives.
"""

import agents
from harness import check, eq, rand_marker, short, wait_until


def _session_round_trip(t):
    agents.private_netns(t)
    rt = agents.RoundTrip(t, "claude")
    d = t.daemon()
    run = rt.run(daemon=d)
    rt.check_completed(run)
    return rt, d, run


def test_round_trip_outside_session(t):
    agents.private_netns(t)
    rt = agents.RoundTrip(t, "claude")
    run = rt.run()
    reqs = rt.check_completed(run)
    # the conversation: a /v1/messages request offering Bash, streamed
    conv = [r for r in reqs if r["answer"] == "tool_call"]
    check(all(r["path"].startswith("/v1/messages") and r["stream"] for r in conv),
          f"Claude Code's conversation request: {[(r['path'], r['stream']) for r in conv]}")
    print(f"  claude-code round trip outside a session: {run.seconds:.1f}s")


def test_round_trip_in_session(t):
    rt, d, run = _session_round_trip(t)
    sid = run.session
    check(agents.exec_of(d, sid, "/usr/bin/touch", str(rt.effect)),
          f"no exec of /usr/bin/touch {rt.effect} in session {sid}\n"
          + d.dump(session=sid, types=("exec",)))
    check(agents.exec_of(d, sid, str(rt.agent.exe), "-p"),
          f"no exec of {rt.agent.exe} in session {sid}\n" + d.dump(session=sid, types=("exec",)))
    agents.check_loopback_only(d, sid, {rt.model.port})
    print(f"  claude-code round trip in a session: {run.seconds:.1f}s")


def test_mcp_tool_call_outside_session(t):
    agents.private_netns(t)
    mcp = agents.McpServer(t)
    vol = rand_marker("vol-prod")
    token = rand_marker("tok-prod")
    final = f"final answer {vol}"
    model = agents.ModelServer(t, "mcp__cloud__volume_delete", {"volume_id": vol}, final)
    agent = agents.ClaudeCode(t, model, mcp=mcp, mcp_headers={"Authorization": f"Bearer {token}"})
    run = agent.run(f"Delete the volume {vol}.")
    info = f"{run}\n{model.summary()}\nMCP server:\n{mcp.summary()}"
    calls = mcp.tool_calls()
    eq(len(calls), 1, f"tools/call volume_delete requests at the MCP server ({info})")
    eq(calls[0]["arguments"], {"volume_id": vol}, "arguments of the tools/call")
    eq(calls[0]["authorization"], f"Bearer {token}", "the token the tools/call carried")
    rpcs = [r.get("rpc") for r in mcp.requests() if r.get("method") == "POST"]
    check(rpcs[:2] == ["initialize", "notifications/initialized"] and "tools/list" in rpcs,
          f"MCP session before the call: {rpcs}")
    results = [r for r in model.api_requests() if r.get("tool_result") is not None]
    check(results and f"deleted volume {vol}" in results[-1]["tool_result"],
          f"the MCP tool's result did not go back to the model ({info})")
    eq(run.result.rc, 0, f"exit status ({info})")
    check(final in run.result.stdout, f"final answer not printed ({info})")
    print(f"  claude-code MCP round trip outside a session: {run.seconds:.1f}s")


def test_api_request_captured_in_session(t):
    rt, d, run = _session_round_trip(t)
    agents.check_request_captured(d, run.session, rb"POST /v1/messages(\?[^ ]*)? HTTP/1\.1\r\n",
                                  [rt.marker.encode()], "Claude Code's API request")
    agents.check_request_captured(d, run.session, rb"POST /v1/messages(\?[^ ]*)? HTTP/1\.1\r\n",
                                  [rt.out_marker.encode()], "Claude Code's tool result")


def test_mcp_tool_call_captured_in_session(t):
    agents.private_netns(t)
    mcp = agents.McpServer(t)
    vol = rand_marker("vol-prod")
    model = agents.ModelServer(t, "mcp__cloud__volume_delete", {"volume_id": vol}, "done")
    agent = agents.ClaudeCode(t, model, mcp=mcp, mcp_headers={"Authorization": "Bearer x"})
    d = t.daemon()
    run = agent.run(f"Delete the volume {vol}.", daemon=d)
    eq(len(mcp.tool_calls()), 1, f"tools/call at the MCP server ({run}\n{mcp.summary()})")
    agents.check_request_captured(d, run.session, rb"POST /mcp HTTP/1\.1\r\n",
                                  [b'"tools/call"', vol.encode()], "the MCP tools/call")
    r = agents.check_request_captured(d, run.session, rb"POST /mcp HTTP/1\.1\r\n",
                                      [b'"tools/call"', vol.encode()], "the MCP tools/call")
    eq((r.get("lib"), r.get("function")), ("boringssl", "SSL_write"), "captured by")


def test_mcp_tool_call_blocked_in_session(t):
    d, run, rec, w = agents.mcp_kill_case(t, "claude", "mcp__cloud__volume_delete")
    # it was captured and judged at SSL_write in the Bun executable
    check(w[0].get("lib") == "boringssl", "the tools/call's tls_write record (lib "
          f"boringssl): {[short(r) for r in w]}")
    # a kill, not a hold: the located SSL_write was confirmed on live traffic
    # (the TLS records of the agent's model requests carried their lengths)
    # before the tools/call
    check("location_unconfirmed" not in rec and "location_unconfirmed" not in w[0],
          f"the tools/call judged on a confirmed location: {short(rec)}")
    conf = wait_until(lambda: [x for x in d.records(type="tls_location")
                               if x.get("state") == "confirmed"], 10,
                      "a tls_location record (confirmed)")
    check(conf and conf[0].get("matches", 0) >= 1 and conf[0].get("mismatches") == 0,
          f"a tls_location record: confirmed, no mismatch: {[short(x) for x in conf]}")
    bun = [x for x in d.status()["tls"]["targets"] if "live_confirmation" in x]
    check(bun and bun[0]["live_confirmation"]["state"] == "confirmed",
          f"status: the Bun executable's location confirmed: {bun}")
