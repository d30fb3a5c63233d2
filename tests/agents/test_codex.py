# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Codex (the pinned release, its static musl executable: rustls on aws-lc)
against the scripted OpenAI Responses API (SSE), in the test's own network
namespace (tests/agents/lib/agents.py).

- outside a session: Codex first asks for a WebSocket (GET /v1/responses with
  Upgrade: websocket), the server refuses it (426), Codex falls back to POST
  /v1/responses; then the round trip (function_call exec_command, the command
  runs, function_call_output with its output, final answer);
- in a session (issue 8): Codex is read where rustls seals each record
  (aws-lc's EVP_AEAD_CTX_seal, located without symbols): the round trip
  completes, its requests (the WebSocket request, the prompt, the tool's
  output) are tls_write records of Codex itself, its location is confirmed
  on live traffic, it is no blind spot, and it connects to the model only;
- under the shipped default (`blind_tls: deny`): a Codex that is read is not
  refused: the round trip completes;
- a Codex build whose aws-lc is not found (a copy with aws-lc's file name
  changed: what a future release the locator misses looks like) is a blind
  spot named rustls: under `deny` its connects are refused (EPERM) and
  nothing reaches the model; under `proxy` it goes through the session's
  inspecting proxy, its requests tls_write records of scopelock-proxy;
- Codex 0.99 carries rustls on ring and, for its API client, OpenSSL
  linked in without symbols: the locator finds ring's seals, which never see
  its requests; its first TLS record, with no seal behind it, is held at its
  write (alert rule unread-tls) under the default policy and never reaches
  the model; denied, the session is killed; the file is then a blind spot;
- enforcement: the model asks for the MCP server's volume_delete of a
  production volume with the production credential in the server's
  headers; in a staging session the tools/call is killed at Codex's own
  seal (a kill, not a hold: the location was confirmed by the model
  requests before it) and never arrives; control: outside a session it
  arrives.
"""

import subprocess

import agent_builds
import agents
from enforce import policy_blind_tls, wait_alert
from harness import KILLED, B, check, eq, rand_marker, short, wait_until

# the MCP server's volume_delete as Codex offers it to the model (server "cloud")
MCP_TOOL = "mcp__cloud__volume_delete"


def _blind_spots(d, sid, exe):
    return [r for r in d.records(session=sid, type="tls_blind_spot")
            if r.get("path") == str(exe)]


def _check_rustls_blind_spot(d, sid, exe, action):
    recs = wait_until(lambda: _blind_spots(d, sid, exe), 10, f"a tls_blind_spot record of {exe}")
    r = recs[0]
    eq(r.get("impl"), "rustls", f"impl of {short(r)}")
    check(r.get("reason", "").startswith("rustls 0.23.") and "also embeds OpenSSL" in r["reason"]
          and "aws-lc's AEAD functions not found" in r["reason"], f"reason of {short(r)}")
    eq(r.get("blind_tls"), action, f"blind_tls of {short(r)}")
    return r


def _requests(rt):
    """Codex's requests of a round trip: (request line regex, needles, what)"""
    post = rb"POST /v1/responses HTTP/1\.1\r\n"
    return ((rb"GET /v1/responses HTTP/1\.1\r\n", [b"Upgrade: websocket"],
             "Codex's WebSocket request"),
            (post, [rt.marker.encode()], "Codex's API request"),
            (post, [rt.out_marker.encode()], "Codex's tool result"))


def _check_read_by_codex(d, sid, rt):
    """Codex's own requests in tls_write records of Codex (rustls, aws-lc's
    seal), confirmed, and Codex no blind spot"""
    for line, needles, what in _requests(rt):
        r = agents.check_request_captured(d, sid, line, needles, what)
        eq((r.get("lib"), r.get("function")), ("rustls", "EVP_AEAD_CTX_seal"),
           f"{what}: captured by {short(r)}")
        check(r.get("comm") != "scopelock-proxy", f"{what}: written by Codex: {short(r)}")
    eq(_blind_spots(d, sid, rt.agent.exe), [], "Codex is not a blind spot")
    conf = wait_until(lambda: [x for x in d.records(type="tls_location")
                               if x.get("path") == str(rt.agent.exe)
                               and x.get("state") == "confirmed"], 10,
                      "a tls_location record of Codex (confirmed)")
    check(conf[0].get("matches", 0) >= 1 and conf[0].get("mismatches") == 0,
          f"confirmed, no mismatch: {short(conf[0])}")
    fns = {f.get("function") for f in conf[0].get("located") or []}
    eq(fns, {"EVP_AEAD_CTX_seal", "EVP_AEAD_CTX_seal_scatter", "EVP_AEAD_CTX_open",
             "ring aes_gcm_seal", "ring chacha20_poly1305_seal"},
       "the functions located (aws-lc's and ring's)")
    # what the model answered, read where rustls opens each record
    reads = [r for r in d.records(session=sid, type="tls_read")
             if r.get("lib") == "rustls" and r.get("function") == "EVP_AEAD_CTX_open"]
    check(any(rt.final.encode() in B(r.get("data")) for r in reads),
          f"the model's final answer in a tls_read record of Codex: {[short(r) for r in reads[:5]]}")
    # every TLS record Codex wrote had a seal behind it
    tg = [x for x in d.status()["tls"]["targets"] if x.get("path") == str(rt.agent.exe)]
    check(tg and tg[0]["live_confirmation"]["unseen"] == 0
          and tg[0]["live_confirmation"]["state"] == "confirmed",
          f"status: Codex's location confirmed, no record unseen: {tg}")


def _unlocatable_codex(t, rt):
    """A copy of Codex the locator cannot read: aws-lc's __FILE__
    "crypto/fipsmodule/cipher/aead.c" changed to ".../aeXd.c" and ring's
    cargo paths "/ring-0.17." to "/rinX-0.17." (same lengths; only error
    messages print them). It runs as Codex does."""
    src = rt.agent.exe.read_bytes()
    old = b"crypto/fipsmodule/cipher/aead.c\0"
    check(src.count(old) == 1, "aws-lc's aead.c file name once in Codex")
    check(b"/ring-0.17." in src, "ring's cargo path in Codex")
    d = t.tmp / "codex-unlocated"
    d.mkdir(mode=0o755)
    exe = d / "codex"
    exe.write_bytes(src.replace(old, b"crypto/fipsmodule/cipher/aeXd.c\0")
                    .replace(b"/ring-0.17.", b"/rinX-0.17."))
    exe.chmod(0o755)
    return exe


def _check_websocket_then_post(rt):
    reqs = rt.model.requests()
    ws = [r for r in reqs if r.get("answer") == "websocket_refused"]
    check(ws, f"Codex did not ask for a WebSocket first\n{rt.model.summary()}")
    eq_hdr = ws[0]["headers"]
    check(eq_hdr.get("upgrade", "").lower() == "websocket"
          and eq_hdr.get("sec-websocket-version") == "13",
          f"the WebSocket request's headers: {eq_hdr}")
    posts = [r for r in reqs if r.get("method") == "POST" and r.get("api") == "openai"]
    check(posts and posts[0]["seq"] > ws[0]["seq"],
          f"no POST /v1/responses after the refused WebSocket\n{rt.model.summary()}")
    check(all(r["stream"] for r in posts), "Codex's POSTs ask for a stream (SSE)")


def test_round_trip_outside_session(t):
    agents.private_netns(t)
    rt = agents.RoundTrip(t, "codex")
    run = rt.run()
    rt.check_completed(run)
    _check_websocket_then_post(rt)
    print(f"  codex round trip outside a session: {run.seconds:.1f}s")


def test_round_trip_in_session(t):
    """Codex read where rustls seals its records (blind_tls: alert, so that a
    Codex the locator missed would still run and show as a blind spot)"""
    agents.private_netns(t)
    rt = agents.RoundTrip(t, "codex")
    d = t.daemon(policy=policy_blind_tls(t, "alert"))
    run = rt.run(daemon=d)
    rt.check_completed(run)
    sid = run.session
    _check_websocket_then_post(rt)
    check(agents.exec_of(d, sid, "/usr/bin/touch", str(rt.effect)),
          f"no exec of /usr/bin/touch {rt.effect} in session {sid}\n"
          + d.dump(session=sid, types=("exec",)))
    check(agents.exec_of(d, sid, str(rt.agent.exe), "exec"),
          f"no exec of {rt.agent.exe} in session {sid}\n" + d.dump(session=sid, types=("exec",)))
    agents.check_loopback_only(d, sid, {rt.model.port})
    _check_read_by_codex(d, sid, rt)
    print(f"  codex round trip in a session, read at its seal: {run.seconds:.1f}s")


def test_round_trip_default_policy(t):
    """The shipped default (blind_tls: deny): Codex is read, so it is not
    refused; its round trip completes and its prompt is in the log."""
    agents.private_netns(t)
    rt = agents.RoundTrip(t, "codex")
    d = t.daemon()
    run = rt.run(daemon=d)
    rt.check_completed(run)
    agents.check_request_captured(d, run.session, rb"POST /v1/responses HTTP/1\.1\r\n",
                                  [rt.marker.encode()], "Codex's API request")
    refused = [r for r in d.records(session=run.session, type="connect") if r.get("refused")]
    eq(refused, [], "no connect of Codex refused")
    print(f"  codex under the default policy: {run.seconds:.1f}s")


def test_unlocated_denied_in_session(t):
    """A Codex whose aws-lc is not found is a blind spot: under blind_tls:
    deny (the default) nothing it sends over its rustls leaves the session
    unread: its connects are refused."""
    agents.private_netns(t)
    rt = agents.RoundTrip(t, "codex")
    rt.agent.exe = _unlocatable_codex(t, rt)
    # control: outside a session the copy's request reaches the model
    rt.check_completed(rt.run())
    before = len(rt.model.api_requests())
    d = t.daemon()
    # refused, Codex retries with back-off for minutes: it gets 15 s
    argv = rt.agent.argv
    rt.agent.argv = lambda prompt: ["/usr/bin/timeout", "-s", "KILL", "15"] + argv(prompt)
    run = rt.run(daemon=d, timeout=60)
    sid = run.session
    info = f"{run}\n{rt.model.summary()}"
    eq(len(rt.model.api_requests()), before, f"requests from the session reached the model ({info})")
    check(run.result.rc != 0, f"Codex reported success without its model ({info})")
    _check_rustls_blind_spot(d, sid, rt.agent.exe, "deny")
    conns = [r for r in d.records(session=sid, type="connect") if r.get("port") == rt.model.port]
    check(conns and all(r.get("refused") == "tls_gate" and r.get("errno") == 1 for r in conns),
          f"Codex's connects to the model, refused by the TLS gate: {[short(r) for r in conns]}")
    print(f"  unlocated codex in a blind_tls: deny session: {len(conns)} connects refused, "
          f"exit {run.result.rc} after {run.seconds:.1f}s; control arrived")


def test_unlocated_through_proxy(t):
    """blind_tls: proxy: a Codex whose aws-lc is not found goes through the
    session's inspecting proxy (HTTPS_PROXY, CODEX_CA_CERTIFICATE with the
    session CA added); the round trip completes, and its requests are
    tls_write records of scopelock-proxy: the WebSocket request, the POST
    with the prompt and the POST with the tool's output."""
    agents.private_netns(t)
    rt = agents.RoundTrip(t, "codex")
    rt.agent.exe = _unlocatable_codex(t, rt)
    d = t.daemon(policy=policy_blind_tls(t, "proxy"))
    run = rt.run(daemon=d)
    rt.check_completed(run)
    sid = run.session
    _check_websocket_then_post(rt)
    _check_rustls_blind_spot(d, sid, rt.agent.exe, "proxy")
    for line, needles, what in _requests(rt):
        r = agents.check_request_captured(d, sid, line, needles, what)
        eq(r.get("comm"), "scopelock-proxy", f"{what}: written by the proxy: {short(r)}")
    # Codex itself reached only its session's proxy
    start = d.records(session=sid, type="session_start")
    pport = start[0].get("proxy_port") if start else None
    conns = [r for r in d.records(session=sid, type="connect")
             if r.get("pid") in {b.get("pid") for b in _blind_spots(d, sid, rt.agent.exe)}]
    check(conns and all(r.get("port") == pport and not r.get("refused") for r in conns),
          f"Codex's connects go to the proxy (port {pport}) only: {[short(r) for r in conns]}")
    print(f"  unlocated codex through the session's proxy: {run.seconds:.1f}s")


def test_mcp_tool_call_killed_in_session(t):
    """Codex's own request to an MCP server over HTTPS: the production
    volume_delete is judged where rustls seals it, in Codex, and the session
    killed before it arrives (agents.mcp_kill_case, with its control
    outside a session)."""
    d, run, rec, w = agents.mcp_kill_case(t, "codex", MCP_TOOL)
    check(w[0].get("lib") == "rustls" and w[0].get("comm") != "scopelock-proxy",
          f"the tools/call's tls_write record, written by Codex (rustls): "
          f"{[short(r) for r in w]}")
    # a kill, not a hold: the location was confirmed by the model requests first
    check("location_unconfirmed" not in rec and "location_unconfirmed" not in w[0],
          f"the tools/call judged on a confirmed location: {short(rec)}")


def test_older_build_unread_record_held(t):
    # from the registry (once), before the test's network namespace cuts it off
    exe = agent_builds.codex(agent_builds.CODEX_RING_VERSION)
    agents.private_netns(t)
    rt = agents.RoundTrip(t, "codex")
    a = rt.agent
    a.exe = exe
    env0 = a.env
    # Codex 0.99 takes its CA from the system's variable (CODEX_CA_CERTIFICATE came later)
    a.env = lambda: dict(env0(), SSL_CERT_FILE=str(a.ca))
    # control: outside a session the round trip completes
    rt.check_completed(rt.run())
    before = len(rt.model.api_requests())
    d = t.daemon()
    a.configure()
    a.ws.own()
    name = rand_marker("codex099")
    p = d.spawn(a.argv(rt.prompt), name=name, user=agents.USER, env=a.env(), cwd=str(a.ws.work),
                workspace=str(a.ws.work), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sid = d.session_id(name)
    rec = wait_alert(d, sid, "unread-tls")
    eq(rec.get("verdict"), "held", f"its first unread record: {short(rec, 1500)}")
    eq(len(rt.model.api_requests()), before, "a request of the session reached the model")
    r = d.cli("deny", rec["hold_id"])
    eq(r.rc, 0, f"scopelock deny ({r})")
    p.wait(30)
    eq(p.returncode, KILLED, "Codex 0.99 in the session")
    eq(len(rt.model.api_requests()), before, "a request of the session reached the model")
    loc = wait_until(lambda: [x for x in d.records(type="tls_location")
                              if x.get("path") == str(a.exe) and x.get("unseen", 0) >= 1], 10,
                     "a tls_location record of Codex 0.99 with records unseen")
    fns = {f.get("function") for f in loc[0].get("located") or []}
    eq(fns, {"ring aes_gcm_seal", "ring chacha20_poly1305_seal"}, "what was located")
    print(f"  codex 0.99: its first record held as unread-tls, denied, killed; control arrived")
