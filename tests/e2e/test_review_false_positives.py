# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Benign work stopped or alerted by the shipped default policy (review of
issue 6, "programs are the files that run"). The policy is
policies/default.yaml verbatim except that production's first path label
points into the test's directory (so a session can read a production file)
and syslog is off.

On Debian, the program word "dropdb " of the default's dropdb pattern is
looked up in settings.program_paths as /usr/bin/dropdb, a symbolic link to
/usr/share/postgresql-common/pg_wrapper: the perl script that psql,
pg_dump, createdb, pg_restore ... all are. Every one of them is then "known
by the file that runs" to be dropdb."""

import shlex

from enforce import agent_script, alerts, start_daemon, write_policy
from harness import REPO, check, eq, need_binary, rand_marker

q = shlex.quote
PG_WRAPPER = "/usr/share/postgresql-common/pg_wrapper"


def _daemon(t):
    prod = t.tmp / "srv" / "production"
    t.write("srv/production/app.env", "DATABASE_URL=postgres://prod/app\n")
    text = (REPO / "policies" / "default.yaml").read_text()
    check("      - /srv/production/**\n" in text, "default.yaml lost its /srv/production label")
    text = text.replace("      - /srv/production/**\n", f"      - {prod}/**\n")
    text = text.replace("  syslog: true", "  syslog: false")
    return prod, start_daemon(t, write_policy(t, text))


def _psql_session(t, d, lines):
    out = t.tmp / f"psql-{rand_marker()}.out"
    name = rand_marker("psql")
    argv = agent_script(t, f"agent-{name}", lines + [f"/usr/bin/psql --version > {q(str(out))}"],
                        expect_killed=False)
    r = d.run(argv, name=name, timeout=60)
    sid = d.session_id(name)
    d.wait_session_end(sid)
    return r, sid, out


def test_psql_version_is_not_dropdb(t):
    """`psql --version` in a staging session: no destructive pattern, no alert."""
    need_binary("/usr/bin/psql")
    check(__import__("os").path.realpath("/usr/bin/psql") == PG_WRAPPER, "psql is pg_wrapper")
    # control: outside a session psql runs
    r = t.outside(["/usr/bin/psql", "--version"])
    eq(r.rc, 0, f"psql --version outside a session ({r})")
    prod, d = _daemon(t)
    r, sid, out = _psql_session(t, d, [])
    eq(r.rc, 0, f"psql --version in a session ({r})")
    check(out.exists() and "PostgreSQL" in out.read_text(), f"psql did not run: {r}")
    bad = [a for a in alerts(d, sid) if "dropdb" in (a.get("patterns") or [])]
    check(not bad, "`psql --version` alerted as dropdb:\n" + d.dump(session=sid,
                                                                     types=("exec", "alert")))


def test_psql_in_tainted_session_not_killed(t):
    """A staging session that read a production file (an alert, the session is
    tainted) and then runs `psql --version`: nothing destructive, it must run."""
    need_binary("/usr/bin/psql")
    prod, d = _daemon(t)
    r, sid, out = _psql_session(t, d, [f"cat {q(str(prod / 'app.env'))} > /dev/null"])
    dump = d.dump(session=sid, types=("exec", "alert", "session_killed"))
    check(not d.records(session=sid, type="session_killed"),
          f"the session was killed for `psql --version`\n{dump}")
    eq(r.rc, 0, f"psql --version in a tainted session ({r})\n{dump}")
    check(out.exists() and "PostgreSQL" in out.read_text(), f"psql did not run: {r}\n{dump}")


def test_rm_rf_build_dir_in_tainted_session_not_killed(t):
    """A staging session that once read a production file (alert, taint) and
    later cleans its own build directory (`rm -rf build`, a relative path in
    an unlabelled directory): the rm names nothing of production, yet the
    exec's target is evidence + taint, rm_recursive matches, the session is
    killed. Control: the same session without the read runs it."""
    prod, d = _daemon(t)
    ws = t.tmp / "ws"
    for run, lines in (("untainted", []),
                       ("tainted", [f"cat {q(str(prod / 'app.env'))} > /dev/null"])):
        (ws / "build" / "obj").mkdir(parents=True, exist_ok=True)
        name = rand_marker(run)
        argv = agent_script(t, f"agent-{name}", lines + [f"cd {q(str(ws))}", "rm -rf build",
                                                         "test ! -e build"],
                            expect_killed=False)
        r = d.run(argv, name=name, timeout=60)
        sid = d.session_id(name)
        d.wait_session_end(sid)
        dump = d.dump(session=sid, types=("exec", "alert", "session_killed"))
        check(not d.records(session=sid, type="session_killed"),
              f"{run}: the session was killed for `rm -rf build`\n{dump}")
        eq(r.rc, 0, f"{run}: rm -rf build ({r})\n{dump}")
