# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Policy handling around enforcement: `scopelock policy check` positions,
the daemon refusing an invalid policy at start, reload (SIGHUP and
`scopelock policy reload`) of an invalid policy refused with the running one
still enforcing the incident, and a valid reload replacing it (the rule in
monitor mode: the request then arrives and a "monitor" alert is recorded)."""

import os
import re
import shlex
import signal

from enforce import (GraphQLServer, World, agent_script, client_command, daemon_start_fails,
                     finish, policy_check, start_daemon, tls_policy, wait_alert,
                     wait_session_killed, write_policy)
from harness import KILLED, check, eq, fail, rand_marker, short, wait_until

q = shlex.quote
RULE = "graphql-destroy"

BAD = """version: 1
environments:
  production:
    hosts: [prod.example.com, 10.0.0.0/33]
  staging: {}
rules:
  - name: graphql-destroy
    channel: tls
    target: outside_scope
    action: deny
"""


def col_of(text, line, needle):
    """1-based column of needle in 1-based line of text."""
    return text.splitlines()[line - 1].index(needle) + 1


def broken_from(valid):
    """valid policy text with its rule's action replaced by an unknown one;
    returns (text, line of the error)."""
    lines = valid.splitlines()
    for i, l in enumerate(lines):
        if l.strip() == 'action: "kill"':
            lines[i] = l.replace('"kill"', '"obliterate"')
            return "\n".join(lines) + "\n", i + 1
    fail("no action: kill line in the generated policy")


def test_enforce_policy_check_reports_positions(t):
    p = t.write("bad.yaml", BAD)
    r = policy_check(p)
    eq(r.rc, 1, f"policy check exit status on a broken file ({r})")
    c1 = col_of(BAD, 4, "10.0.0.0/33")
    c2 = col_of(BAD, 10, "deny")
    want = [rf"^{re.escape(str(p))}:4:{c1}: field 'environments\.production\.hosts\[1\]': .+",
            rf"^{re.escape(str(p))}:10:{c2}: field 'rules\[0\]\.action': .+"]
    for pat in want:
        check(re.search(pat, r.stdout + r.stderr, re.M),
              f"policy check output lacks a line like {pat!r}: {r}")
    check(re.search(rf"^{re.escape(str(p))}: 2 errors$", r.stdout + r.stderr, re.M),
          f"policy check summary: {r}")
    # a secret file that is missing: an error at the secret's entry, no contents
    sec = t.write("sec.yaml", "version: 1\nenvironments:\n  production:\n    secrets:\n"
                  f"      - file: {t.tmp}/missing.token\n        format: raw\n")
    r = policy_check(sec)
    eq(r.rc, 1, f"policy check with a missing secret file ({r})")
    check(re.search(rf"^{re.escape(str(sec))}:5:\d+: field "
                    r"'environments\.production\.secrets\[0\]\.file'", r.stdout + r.stderr,
                    re.M), f"missing secret file error: {r}")


def test_enforce_daemon_refuses_invalid_policy(t):
    w = World(t)
    text, line = broken_from(tls_policy(w))
    p = write_policy(t, text, "broken.yaml")
    rc, out = daemon_start_fails(t, p)
    check(rc != 0, f"scopelockd exit status on an invalid policy: {rc}\n{out}")
    check(f"{p}:{line}:" in out,
          f"scopelockd's message does not name {p}:{line}: (its output: {out[-2000:]!r})")
    for v in w.secrets:
        check(v not in out, "a secret value in scopelockd's output")


def incident_run(t, d, w, srv, expect_killed):
    """The incident (curl, production token from the unrelated file)."""
    out = t.tmp / f"curl-{rand_marker()}.out"
    argv = agent_script(t, f"agent-{rand_marker()}", [
        f"TOKEN=$(cat {q(str(w.prod_file))})",
        client_command("curl", t, srv, w.mutation(w.prod_vol), "$TOKEN") + f" > {q(str(out))}",
    ], expect_killed=expect_killed)
    name = rand_marker("agent")
    r = d.run(argv, name=name, timeout=90)
    return d.session_id(name), r


def assert_killed(d, w, srv, sid, r, what, since):
    if r.rc != KILLED:
        fail(f"{what}: the incident was not killed: exit {r.rc} {r}\n{srv.summary()}\n"
             + d.dump(session=sid, types=("alert", "verdict", "session_killed",
                                          "policy_loaded", "policy_refused")))
    srv.assert_nothing_destructive(w, what, since)
    rec = wait_alert(d, sid, RULE)
    eq(rec.get("verdict"), "killed", f"{what}: verdict {short(rec)}")
    wait_session_killed(d, sid)


def assert_monitored(d, w, srv, sid, r, what):
    eq(r.rc, 0, f"{what}: the agent's exit status in monitor mode ({r})")
    srv.wait_request(lambda x: w.prod_vol.encode() in x["body"], f"{what}: the mutation")
    rec = wait_alert(d, sid, RULE)
    s = short(rec, 1500)
    eq(rec.get("verdict"), "monitor", f"{what}: verdict of {s}")
    eq(rec.get("monitor"), True, f"{what}: monitor flag of {s}")
    eq(rec.get("target"), "outside_scope", f"{what}: target of {s}")
    d.wait_session_end(sid)
    check(not d.records(session=sid, type="session_killed"), f"{what}: session killed")


def wait_policy_record(d, type, n):
    return wait_until(lambda: len(d.records(type=type)) >= n and d.records(type=type)[n - 1],
                      15, f"{n} {type} record(s)\n" + d.dump(types=("policy_loaded",
                                                                   "policy_refused")))


def test_enforce_reload_sighup(t):
    w = World(t)
    srv = GraphQLServer(t)
    valid = tls_policy(w)
    p = write_policy(t, valid)
    d = start_daemon(t, p)
    text, line = broken_from(valid)
    write_policy(t, text)
    os.kill(d.proc.pid, signal.SIGHUP)
    rec = wait_policy_record(d, "policy_refused", 1)
    check(f"{p}:{line}:" in str(rec.get("errors")), f"policy_refused errors: {short(rec)}")
    check(d.proc.poll() is None, "scopelockd exited after a refused reload")
    sid, r = incident_run(t, d, w, srv, expect_killed=True)
    assert_killed(d, w, srv, sid, r, "after a refused SIGHUP reload", 0)
    # a valid policy with the rule in monitor mode replaces it
    write_policy(t, tls_policy(w, monitor=True))
    os.kill(d.proc.pid, signal.SIGHUP)
    wait_policy_record(d, "policy_loaded", 1)
    sid, r = incident_run(t, d, w, srv, expect_killed=False)
    assert_monitored(d, w, srv, sid, r, "after a SIGHUP reload to monitor")
    # the monitored run really sent the token: no secret check of the server,
    # only of what scopelock wrote
    finish(t, d, w)


def test_enforce_reload_cli(t):
    w = World(t)
    srv = GraphQLServer(t)
    valid = tls_policy(w)
    p = write_policy(t, valid)
    d = start_daemon(t, p)
    text, line = broken_from(valid)
    write_policy(t, text)
    r = d.cli("policy", "reload")
    check(r.rc != 0, f"policy reload of an invalid policy succeeded ({r})")
    check(f"{p}:{line}:" in r.stdout + r.stderr,
          f"policy reload does not name {p}:{line}: ({r})")
    sid, rr = incident_run(t, d, w, srv, expect_killed=True)
    assert_killed(d, w, srv, sid, rr, "after a refused policy reload", 0)
    write_policy(t, tls_policy(w, monitor=True))
    r = d.cli("policy", "reload")
    eq(r.rc, 0, f"policy reload of a valid policy ({r})")
    check("generation" in r.stdout, f"policy reload output: {r}")
    sid, rr = incident_run(t, d, w, srv, expect_killed=False)
    assert_monitored(d, w, srv, sid, rr, "after policy reload to monitor")
    # back to enforce (a second valid reload)
    write_policy(t, valid)
    r = d.cli("policy", "reload")
    eq(r.rc, 0, f"policy reload back to enforce ({r})")
    since = srv.mark()
    sid, rr = incident_run(t, d, w, srv, expect_killed=True)
    assert_killed(d, w, srv, sid, rr, "after reloading the enforcing policy again", since)
    finish(t, d, w)
