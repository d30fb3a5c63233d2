# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""`scopelock replay LOG... --policy FILE` on a recorded incident: the
staging agent reads the production token from an unrelated file and POSTs
`mutation { volumeDelete }` with it (test_enforce_tls.py's incident); the
daemon killed it at the TLS write. Replayed with the policy that was in
force, every action is decided as recorded (exit 0: the user-side model
agrees with the kernel on this log, the control); with a modified policy
(the rule holds instead of killing; a new rule on exec) the changed
verdicts are printed (exit 1) and nothing else is."""

import json
import shlex

from enforce import (GraphQLServer, World, agent_script, client_command, start_daemon,
                     tls_policy, verify_chain, write_policy)
from harness import KILLED, check, cli, eq, fail, rand_marker

q = shlex.quote


def record_incident(t):
    w = World(t)
    srv = GraphQLServer(t)
    policy = write_policy(t, tls_policy(w, open_alert=True), name="in-force.yaml")
    d = start_daemon(t, policy)
    argv = agent_script(t, "agent", [
        f"cd {q(str(w.shop))}",
        "cat README.md .env > /dev/null",
        f"TOKEN=$(cat {q(str(w.prod_file))})",
        client_command("curl", t, srv, w.mutation(w.prod_vol), "$TOKEN") + " > /dev/null",
    ], expect_killed=True)
    name = rand_marker("agent")
    r = d.run(argv, name=name, timeout=90)
    eq(r.rc, KILLED, f"the incident's session is killed ({r})")
    sid = d.session_id(name)
    d.wait_session_end(sid)
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    verify_chain(d)
    return w, policy, d.audit, sid


def replay(*args):
    r = cli("replay", *args, timeout=60)
    return r


def jlines(r):
    try:
        return [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    except ValueError as e:
        fail(f"replay --json output is not JSON lines ({e}): {r.stdout[:800]}")


def test_replay_incident(t):
    w, policy, audit, sid = record_incident(t)

    # control: the policy in force decides every action as the daemon did
    r = replay("--policy", policy, audit)
    eq(r.rc, 0, f"replay with the policy in force ({r})")
    check("0 decided differently" in r.stdout, f"nothing changed: {r.stdout}")
    r = replay("--json", "--all", "--policy", policy, audit)
    eq(r.rc, 0, f"replay --json --all ({r})")
    acts = jlines(r)
    summary = acts[-1]
    eq(summary.get("type"), "summary", "the last line is the summary")
    kills = [a for a in acts[:-1] if a["session"] == sid and a["channel"] == "tls"
             and (a["recorded"] or {}).get("action") == "kill"]
    check(kills and kills[0]["candidate"] == kills[0]["recorded"] and
          kills[0]["candidate"]["rule"] == "graphql-destroy",
          f"the killed TLS write is replayed as a kill by graphql-destroy: {acts}")
    check("volumeDelete" in kills[0]["subject"], f"its subject: {kills[0]}")
    opens = [a for a in acts[:-1] if a["session"] == sid and a["channel"] == "open" and
             (a["recorded"] or {}).get("rule") == "open-outside-scope"]
    check(opens and all(a["candidate"] == a["recorded"] for a in opens),
          f"the production file's open alert is replayed: {acts}")

    # a modified policy: hold instead of kill, and a new rule that kills cat
    cand = t.write("candidate.yaml", tls_policy(w, action="freeze", open_alert=True).replace(
        "rules:\n", "rules:\n  - name: no-cat\n    channel: exec\n    pattern: cat_word\n"
        "    target: any\n    action: kill\n", 1).replace(
        "patterns:\n", "patterns:\n  cat_word:\n    channel: exec\n    all: [\"cat \"]\n", 1))
    r = cli("policy", "check", str(cand))
    eq(r.rc, 0, f"the candidate policy checks ({r})")
    r = replay("--policy", cand, audit)
    eq(r.rc, 1, f"replay with the candidate: changes found ({r})")
    check("recorded  kill (rule graphql-destroy)" in r.stdout and
          "candidate freeze (rule graphql-destroy)" in r.stdout,
          f"the kill becomes a hold: {r.stdout}")
    check("candidate kill (rule no-cat)" in r.stdout, f"the new rule kills cat: {r.stdout}")
    acts = jlines(replay("--json", "--policy", cand, audit))
    changed = acts[:-1]
    check(all(a["changed"] for a in changed), "only changes are printed without --all")
    check({a["channel"] for a in changed} == {"tls", "exec"},
          f"only the TLS write and the cat execs changed: {changed}")
    eq(acts[-1]["changed"], len(changed), "the summary counts the changes")
    check(acts[-1]["stronger"] >= 1 and acts[-1]["weaker"] >= 1,
          f"a weaker (freeze) and a stronger (new kill) decision: {acts[-1]}")

    # usage errors
    eq(replay(audit).rc, 2, "replay without --policy")
    bad = t.write("bad.yaml", "version: 1\nenvironments: []\n")
    r = replay("--policy", str(bad), audit)
    check(r.rc == 2 and f"{bad}:2:" in r.stderr, f"a bad policy names its file and line ({r})")
