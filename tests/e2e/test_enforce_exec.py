# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Enforcement on the exec channel: CLI-like scripts named railway, psql and
terraform on PATH, each writing a marker file as its first action. Invoked
against production labels (a production resource id, host, token, or after
reading a production-labelled file: taint) from a staging session they are
killed before the program runs (no marker, exit 123, alert, session killed);
the same against staging labels run (marker written, exit 0, no alert).

Policy: the default policy's railway_destroy, terraform_destroy and sql_drop_cli
patterns; rule destroy-cli, channel exec, target outside_scope, action kill.
"""

import shlex

from clis import allowed_case, killed_case, setup
from enforce import finish
from harness import check, eq

q = shlex.quote


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


def test_exec_sql_pattern_needs_a_sql_client(t):
    """The shipped default's SQL patterns on exec are about SQL clients: an
    agent grepping its migrations for 'DROP TABLE' is not a destructive
    action (no alert), a psql run with the same words is (the alert of
    destroy-cli-unknown-target: no label says where it goes). Both run in
    the same session kind, with the same words in their argv."""
    d = t.daemon()
    mig = t.tmp / "migrations"
    mig.mkdir()
    (mig / "0003_drop.sql").write_text("DROP TABLE users;\n")
    bindir = t.tmp / "sqlbin"
    bindir.mkdir()
    fake = bindir / "psql"
    fake.write_text("#!/bin/sh\necho psql ran\n")
    fake.chmod(0o755)
    r = d.run(["grep", "-rn", "DROP TABLE", str(mig)], name="grep-migrations")
    eq(r.rc, 0, f"grep in a session ({r})")
    gsid = d.finished_session(r)
    r = d.run([str(fake), "-h", "db.example", "-c", "DROP TABLE users"], name="psql-drop")
    eq(r.rc, 0, f"the psql stand-in in a session ({r})")
    psid = d.finished_session(r)
    eq(d.stop(), 0, "scopelockd exit status")
    eq([a.get("rule") for a in d.records(session=gsid, type="alert")], [],
       "alerts of the grep session")
    rules = [a.get("rule") for a in d.records(session=psid, type="alert")]
    check("destroy-cli-unknown-target" in rules,
          f"control: psql -c 'DROP TABLE users' raised no destroy-cli alert: {rules}")
