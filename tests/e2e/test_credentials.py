# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Credentials nobody registered (issue 10, docs/credentials.md).

The incident as it really happened: only the staging workspace is labelled,
a root-scoped token sits in an unrelated file outside it, registered
nowhere. A session of scope staging reads the file (cat), then sends the
GraphQL volumeDelete mutation with the token over HTTPS: the write never
reaches the server, the session is held with an alert naming the token's
fingerprint and the file it was found in, and no token value is in any file
scopelock wrote. Controls: the same request outside any session arrives; the
same flow with the workspace's own token is not held.
"""

import shlex

from credworld import (FOREIGN_RULE, CredWorld, fingerprint, run_incident, start, wait_found)
from enforce import client_command, finish, status_holds, wait_alert
from harness import KILLED, check, eq, short, wait_until

q = shlex.quote


def test_credentials_stray_token_held(t):
    w = CredWorld(t)
    srv, d = start(t, w)
    # the stray file is read with cat, the token taken from what it printed
    read = [f"TOKEN=$(cat {q(str(w.stray))} | sed -n 's/^RAILWAY_TOKEN=//p')"]
    p, sid, found, cred = run_incident(t, d, w, srv, read, w.root_token, w.stray)
    rec = wait_alert(d, sid, FOREIGN_RULE, timeout=30)
    what = f"alert {short(rec, 1500)}"
    eq(rec.get("verdict"), "held", f"verdict of {what}")
    eq(rec.get("target"), "foreign", f"target of {what}")
    check("foreign" in (rec.get("target_env") or []), f"target_env lacks foreign: {what}")
    hid = rec.get("hold_id")
    check(isinstance(hid, str) and hid.startswith("h"), f"no hold id: {what}")
    creds = (rec.get("evidence") or {}).get("credentials") or []
    fp = fingerprint(w.root_token)
    named = [c for c in creds if c.get("fingerprint") == fp]
    check(named, f"the alert does not name the token's fingerprint {fp}: {creds!r}")
    c = named[0]
    eq(c.get("env"), "foreign", f"env of the credential in {what}")
    eq(c.get("source"), "discovered", f"source of the credential in {what}")
    eq(c.get("source_file"), str(w.stray), f"source_file of the credential in {what}")
    eq(c.get("ino"), found.get("ino"), f"ino of the credential in {what}")
    # held: nothing arrives while the session waits for a person
    check(p.poll() is None, f"the held session ended (exit {p.returncode})")
    check(hid in [h.get("hold_id") for h in status_holds(d)], f"hold {hid} not listed")
    srv_data = srv.received()
    check(b"volumeDelete" not in srv_data, f"the mutation arrived\n{srv.summary()}")
    r = d.cli("deny", "--reason", "e2e: a root token found in an unrelated file", hid)
    eq(r.rc, 0, f"scopelock deny {hid} ({r})")
    p.wait(30)
    eq(p.returncode, KILLED, "exit status of the denied session")
    d.wait_session_end(sid)
    srv.wait_all_closed()
    check(b"volumeDelete" not in srv.received(), f"the mutation arrived\n{srv.summary()}")
    check(not [x for x in srv.requests() if b"mutation" in x["body"]],
          f"the server received a mutation\n{srv.summary()}")

    st = d.status().get("credentials") or {}
    check(st.get("discovered", 0) >= 1 and st.get("enforced", 0) >= 1
          and st.get("window_max_us", 0) > 0, f"status --json credentials: {st!r}")
    # control: the same request outside any session arrives
    cmd = client_command("curl", t, srv, w.mutation(), w.root_token)
    o = t.outside(["/bin/bash", "-c", cmd])
    eq(o.rc, 0, f"curl outside any session ({o})")
    srv.wait_request(lambda x: b"volumeDelete" in x["body"], "the mutation sent outside")
    check(not [x for x in d.records(type="alert") if x.get("session") is None],
          "an alert for the request outside any session")
    # the whole audit dir: no token, raw or base64 (finish stops the daemon, verifies)
    finish(t, d, w)


def test_credentials_workspace_token_not_held(t):
    """Control: the same flow with the token of the staging workspace's .env
    (labelled staging) is not held; the mutation arrives."""
    w = CredWorld(t)
    srv, d = start(t, w)
    read = [f"TOKEN=$(cat .env | sed -n 's/^RAILWAY_TOKEN=//p')"]
    p, sid, found, cred = run_incident(t, d, w, srv, read, w.stg_token, w.stg_env,
                                       env="staging")
    req = srv.wait_request(lambda x: b"volumeDelete" in x["body"], "the staging mutation",
                           timeout=30)
    check(not [x for x in d.records(session=sid, type="alert")],
          f"an alert for the workspace's own token\n{d.dump(session=sid)}")
    # the session goes on (not frozen): end it
    check(p.poll() is None, f"the session ended by itself (exit {p.returncode})")
    r = d.cli("end", sid)
    eq(r.rc, 0, f"scopelock end {sid} ({r})")
    p.wait(30)
    d.wait_session_end(sid)
    # the workspace file's token was redacted too (a known credential)
    tw = [x for x in d.records(session=sid, type="tls_write")
          if "[secret " + fingerprint(w.stg_token) in str(x)]
    check(tw, f"no tls_write shows the staging token's fingerprint\n{d.dump(session=sid)}")
    finish(t, d, w)


def test_credentials_environment_and_redaction(t):
    """The session's initial environment is scanned at its start (its scope's);
    a discovered value is redacted from every record, argv included."""
    w = CredWorld(t)
    srv, d = start(t, w)
    tok = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    env = {"PATH": "/usr/bin:/bin", "GITHUB_TOKEN": tok}
    r = d.run(["/bin/bash", "-c", "/bin/echo \"$GITHUB_TOKEN\" >/dev/null"], workspace=str(w.shop),
              env=env)
    eq(r.rc, 0, f"session ({r})")
    sid = d.finished_session(r)
    found = wait_found(d, sid, fingerprint(tok))
    eq(found.get("source_env"), "environment", f"source of {short(found)}")
    eq(found.get("env"), "staging", f"env of {short(found)}")
    # the shell's working directories are not credentials
    pwd = [x for x in d.records(session=sid, type="credential_found")
           if x.get("key") in ("PWD", "OLDPWD")]
    check(not pwd, f"PWD taken for a credential: {pwd!r}")
    ex = [x for x in d.records(session=sid, type="exec") if x.get("filename") == "/bin/echo"]
    check(ex and "[secret " + fingerprint(tok) in str(ex[0]),
          f"the echo's argv does not show the fingerprint\n{d.dump(session=sid)}")
    w.secrets.append(tok)
    finish(t, d, w)


def test_credentials_past_the_automaton_fail_closed(t):
    """More discovered credentials than the kernel's automaton holds: those
    that do not fit are redacted but not enforced; an alert
    (credential_unenforced) names each, and the session fails closed: its
    actions target foreign, so the mutation, even without any token, is
    held. Control: outside a session it arrives."""
    import secrets as _s
    w = CredWorld(t)
    toks = []
    files = []
    for k in range(3):
        lines = []
        for i in range(60):
            v = "tk_" + _s.token_hex(22)
            toks.append(v)
            lines.append(f"SERVICE_{k}_{i}_TOKEN={v}")
        files.append(t.write(f"home/dev/old-scripts/bulk{k}.env", "\n".join(lines) + "\n"))
    srv, d = start(t, w)
    go = t.tmp / "go"
    from credworld import agent
    read = ["TOKEN=none"] + [f"cat {q(str(f))} > /dev/null" for f in files]
    p = d.spawn(agent(t, w, srv, read, go, t.tmp / "out"), workspace=w.shop, name="bulk")
    sid = d.session_id("bulk", 20)
    un = wait_until(lambda: [x for x in d.records(session=sid, type="alert")
                             if x.get("rule") == "credential_unenforced"] or None, 30,
                    "credential_unenforced alerts\n" + d.dump(session=sid))
    rec = un[0]
    check(rec.get("failed_closed") is True, f"failed_closed: {short(rec)}")
    c = ((rec.get("evidence") or {}).get("credentials") or [{}])[0]
    check(str(c.get("fingerprint", "")).startswith("sha256:"), f"fingerprint: {short(rec)}")
    enforced = sum(len(x.get("credentials") or []) for x in d.records(type="credentials_enforced")
                   if any(str(y.get("source_file", "")).startswith(str(w.old))
                          for y in x.get("credentials") or []))
    check(enforced > 0, "no credential of the bulk files was enforced before the bound")
    go.write_text("go\n")
    held = wait_alert(d, sid, FOREIGN_RULE, timeout=30)
    eq(held.get("verdict"), "held", f"verdict {short(held)}")
    eq(held.get("target"), "foreign", f"target {short(held)}")
    check(b"volumeDelete" not in srv.received(), f"the mutation arrived\n{srv.summary()}")
    r = d.cli("deny", held["hold_id"])
    eq(r.rc, 0, f"deny ({r})")
    p.wait(30)
    d.wait_session_end(sid)
    srv.wait_all_closed()
    check(b"volumeDelete" not in srv.received(), f"the mutation arrived\n{srv.summary()}")
    cmd = client_command("curl", t, srv, w.mutation(), "none")
    o = t.outside(["/bin/bash", "-c", cmd])
    eq(o.rc, 0, f"curl outside any session ({o})")
    srv.wait_request(lambda x: b"volumeDelete" in x["body"], "the mutation sent outside")
    w.secrets += toks
    finish(t, d, w)
