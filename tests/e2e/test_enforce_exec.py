# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Enforcement on the exec channel: CLI-like scripts named railway, psql and
terraform on PATH, each writing a marker file as its first action. Invoked
against production labels (a production resource id, host, token, or after
reading a production-labelled file: taint) from a staging session they are
killed before the program runs (no marker, exit 137, alert, session killed);
the same against staging labels run (marker written, exit 0, no alert).

Policy: the default policy's railway_destroy, terraform_destroy and sql_drop
patterns; rule destroy-cli, channel exec, target outside_scope, action kill.
"""

import os
import shlex

from enforce import (World, agent_script, alerts, finish, policy_text, start_daemon,
                     wait_alert, wait_session_killed, write_policy)
from harness import B, check, eq, fail, rand_marker, short

q = shlex.quote
RULE = "destroy-cli"
TOOLS = ("railway", "psql", "terraform")


def setup(t):
    w = World(t)
    bindir = t.tmp / "bin"
    for tool in TOOLS:
        # first action: the marker; a killed exec never gets here
        t.write(f"bin/{tool}", f'#!/bin/sh\nprintf "%s\\n" "$*" > "$MARKER"\necho {tool} ran\n',
                0o755)
    envs = w.envs(prod_hosts=[w.prod_db_host], stg_hosts=[w.stg_db_host])
    rules = [{"name": RULE, "channel": "exec",
              "pattern": ["railway_destroy", "terraform_destroy", "sql_drop"],
              "target": "outside_scope", "action": "kill"}]
    pol = policy_text(envs, ["railway_destroy", "terraform_destroy", "sql_drop"], rules,
                      settings={"syslog": False})
    d = start_daemon(t, write_policy(t, pol))
    return w, bindir, d


def env_for(bindir, marker):
    env = dict(os.environ)
    env["PATH"] = f"{bindir}:/usr/bin:/bin"
    env["MARKER"] = str(marker)
    env.pop("RAILWAY_TOKEN", None)
    return env


def killed_case(t, d, bindir, what, argv, needle, agent_lines=None):
    """argv run directly as the session's command, or agent_lines as a bash
    agent whose last step is the destructive command."""
    marker = t.tmp / f"marker-{rand_marker()}"
    name = rand_marker("x")
    if agent_lines:
        argv = agent_script(t, f"agent-{name}", agent_lines, expect_killed=True)
    r = d.run(argv, name=name, env=env_for(bindir, marker), timeout=90)
    sid = d.session_id(name)
    dump = d.dump(session=sid, types=("exec", "alert", "verdict", "session_killed", "open"))
    if marker.exists():
        fail(f"{what}: the program ran (marker written: {marker.read_text()!r})\n{dump}")
    eq(r.rc, 137, f"{what}: exit status of the session ({r})\n{dump}")
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


def test_enforce_exec_railway_production_killed(t):
    w, bindir, d = setup(t)
    # the production volume's id in argv
    killed_case(t, d, bindir, "railway with the production volume id",
                ["railway", "volume", "delete", "--environment", "production", "--volume",
                 w.prod_vol], "delete")
    # the production token (read from the unrelated file) in argv
    killed_case(t, d, bindir, "railway with the production token in argv", None, "delete",
                agent_lines=[f"TOKEN=$(cat {q(str(w.prod_file))})",
                             'railway volume delete --environment production --token "$TOKEN"'])
    # the production token in the environment: the session read the production
    # file (taint); the argv names nothing
    killed_case(t, d, bindir, "railway with the production token in its environment", None,
                "delete",
                agent_lines=[f"export RAILWAY_TOKEN=$(cat {q(str(w.prod_file))})",
                             "railway volume delete --environment production"])
    finish(t, d, w)


def test_enforce_exec_psql_drop_production_killed(t):
    w, bindir, d = setup(t)
    killed_case(t, d, bindir, "psql DROP DATABASE on the production host",
                ["psql", "-h", w.prod_db_host, "-U", "admin", "-c", "DROP DATABASE prod"],
                "DROP DATABASE")
    finish(t, d, w)


def test_enforce_exec_terraform_destroy_production_killed(t):
    w, bindir, d = setup(t)
    # the agent looks at the production infra dir (taint), then destroys from it
    killed_case(t, d, bindir, "terraform destroy in a production-labelled dir", None,
                "destroy",
                agent_lines=[f"cd {q(str(w.prod_infra))}", "cat main.tf > /dev/null",
                             "terraform destroy -auto-approve"])
    finish(t, d, w)


def test_enforce_exec_staging_allowed(t):
    w, bindir, d = setup(t)
    allowed_case(t, d, bindir, "railway volume delete of the staging volume",
                 ["railway", "volume", "delete", "--environment", "staging", "--volume",
                  w.stg_vol])
    allowed_case(t, d, bindir, "railway with the staging token in argv", agent_lines=[
        f"TOKEN=$(sed -n 's/^RAILWAY_TOKEN=//p' {q(str(w.stg_env))})",
        'railway volume delete --environment staging --token "$TOKEN"'])
    allowed_case(t, d, bindir, "psql DROP DATABASE on the staging host",
                 ["psql", "-h", w.stg_db_host, "-U", "admin", "-c", "DROP DATABASE staging"])
    allowed_case(t, d, bindir, "terraform destroy in the staging workspace", agent_lines=[
        f"cd {q(str(w.stg_infra))}", "cat main.tf > /dev/null",
        "terraform destroy -auto-approve"])
    finish(t, d, w)
