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

import agents
from harness import check, short

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
    the production volume_delete is judged at node's SSL_write and the
    session killed before it arrives (agents.mcp_kill_case, with its
    control outside a session)."""
    d, run, rec, w = agents.mcp_kill_case(t, "gemini", MCP_TOOL)
    check(w[0].get("lib") == "openssl", "the tools/call's tls_write record (lib openssl: "
          f"node): {[short(r) for r in w]}")
