# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Destructive CLIs for the exec enforcement tests and adversarial cases:
scripts named railway, psql and terraform on a test PATH, each writing a
marker file as its first action (a killed exec never gets there), a daemon on
a policy with the default's railway_destroy, terraform_destroy and sql_drop_cli
patterns (rule destroy-cli: channel exec, target outside_scope, kill), and the
killed / allowed assertions."""

import os
import shlex

from enforce import (World, agent_script, alerts, policy_text, start_daemon, wait_alert,
                     wait_session_killed, write_policy)
from harness import KILLED, B, check, eq, fail, rand_marker, short

q = shlex.quote
RULE = "destroy-cli"
TOOLS = ("railway", "psql", "terraform")


def setup(t, extra_rules=(), settings=None, register_secrets=True):
    """register_secrets=False: the production token's file is labelled by
    path only (the incident: nobody registered the token)."""
    w = World(t)
    bindir = t.tmp / "bin"
    for tool in TOOLS:
        # first action: the marker; a killed exec never gets here
        t.write(f"bin/{tool}", f'#!/bin/sh\nprintf "%s\\n" "$*" > "$MARKER"\necho {tool} ran\n',
                0o755)
    envs = w.envs(prod_hosts=[w.prod_db_host], stg_hosts=[w.stg_db_host])
    if not register_secrets:
        del envs["production"]["secrets"]
    rules = [{"name": RULE, "channel": "exec",
              "pattern": ["railway_destroy", "terraform_destroy", "sql_drop_cli"],
              "target": "outside_scope", "action": "kill"}] + list(extra_rules)
    pol = policy_text(envs, ["railway_destroy", "terraform_destroy", "sql_drop_cli"], rules,
                      settings=dict({"syslog": False}, **(settings or {})))
    d = start_daemon(t, write_policy(t, pol))
    return w, bindir, d


def env_for(bindir, marker):
    env = dict(os.environ)
    env["PATH"] = f"{bindir}:/usr/bin:/bin"
    env["MARKER"] = str(marker)
    env.pop("RAILWAY_TOKEN", None)
    return env


def killed_case(t, d, bindir, what, argv, needle, agent_lines=None, cwd=None):
    """argv run directly as the session's command, or agent_lines as a bash
    agent whose last step is the destructive command."""
    marker = t.tmp / f"marker-{rand_marker()}"
    name = rand_marker("x")
    if agent_lines:
        argv = agent_script(t, f"agent-{name}", agent_lines, expect_killed=True)
    r = d.run(argv, name=name, env=env_for(bindir, marker), cwd=cwd, timeout=90)
    sid = d.session_id(name)
    dump = d.dump(session=sid, types=("exec", "alert", "verdict", "session_killed", "open"))
    if marker.exists():
        fail(f"{what}: the program ran (marker written: {marker.read_text()[:300]!r})\n{dump}")
    eq(r.rc, KILLED, f"{what}: exit status of the session ({r})\n{dump}")
    rec = wait_alert(d, sid, RULE)
    s = short(rec, 1500)
    eq(rec.get("verdict"), "killed", f"{what}: verdict of {s}")
    eq(rec.get("channel"), "exec", f"{what}: channel of {s}")
    eq(rec.get("target"), "outside_scope", f"{what}: target of {s}")
    check("production" in (rec.get("target_env") or []), f"{what}: target_env of {s}")
    eq(rec.get("scope"), "staging", f"{what}: scope of {s}")
    ev = rec.get("evidence") or {}
    args = b" ".join(B(a) for a in ev.get("argv") or [])
    check(needle.encode() in args, f"{what}: evidence.argv lacks {needle!r}: {s}")
    wait_session_killed(d, sid)
    d.wait_session_end(sid)
    return rec


def outside_runs(t, bindir, what, argv, cwd=None):
    """The control: the same command outside any session runs (marker)."""
    marker = t.tmp / f"marker-{rand_marker()}"
    r = t.outside(argv, env=env_for(bindir, marker), cwd=cwd or str(t.tmp))
    eq(r.rc, 0, f"{what} outside a session: exit status ({r})")
    check(marker.exists(), f"{what} outside a session: the program did not run")


def allowed_case(t, d, bindir, what, argv=None, agent_lines=None, cwd=None):
    marker = t.tmp / f"marker-{rand_marker()}"
    name = rand_marker("ok")
    if agent_lines:
        argv = agent_script(t, f"agent-{name}", agent_lines, expect_killed=False)
    r = d.run(argv, name=name, env=env_for(bindir, marker), cwd=cwd, timeout=60)
    sid = d.session_id(name)
    dump = d.dump(session=sid, types=("exec", "alert", "verdict", "session_killed"))
    eq(r.rc, 0, f"{what}: exit status ({r})\n{dump}")
    check(marker.exists(), f"{what}: the program did not run (no marker)\n{dump}")
    d.wait_session_end(sid)
    check(not alerts(d, sid), f"{what}: alerts for staging work\n{dump}")
    check(not d.records(session=sid, type="session_killed"), f"{what}: session killed\n{dump}")


