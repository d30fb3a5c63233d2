# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""scopelock report SESSION LOG...: the credential inventory of the
incident's session, from its audit log. The session read a stray root
token outside its workspace and sent the volumeDelete mutation with it (held,
then denied): the report names the token's fingerprint, kind, environment
(foreign) and the file it was found in, the host it was sent to, and the
rule and verdict that stopped it; never the value. Controls: a session that
touched no credential has an empty inventory; an unknown session exits 1."""

import json
import shlex

from credworld import (FOREIGN_RULE, CredWorld, fingerprint, held_then_denied, run_incident,
                       start)
from harness import check, cli, eq

q = shlex.quote


def test_report_incident_inventory(t):
    w = CredWorld(t)
    srv, d = start(t, w)
    read = [f"TOKEN=$(cat {q(str(w.stray))} | sed -n 's/^RAILWAY_TOKEN=//p')"]
    p, sid, found, _ = run_incident(t, d, w, srv, read, w.root_token, w.stray)
    held_then_denied(t, d, w, srv, p, sid, w.root_token, w.stray)
    quiet = d.run(["/bin/true"])
    eq(quiet.rc, 0, f"a quiet session ({quiet})")
    quiet_sid = d.finished_session(quiet)
    eq(d.stop(), 0, "scopelockd exit status")

    r = cli("report", "--json", sid, d.audit, timeout=60)
    eq(r.rc, 0, f"scopelock report --json ({r})")
    rep = json.loads(r.stdout)
    eq(rep.get("session"), sid, "the report's session")
    fp = fingerprint(w.root_token)
    creds = {c.get("fingerprint"): c for c in rep.get("credentials", [])}
    check(fp in creds, f"the stray token {fp} is not in the inventory: {list(creds)}")
    c = creds[fp]
    eq(c.get("env"), "foreign", f"environment of {fp}")
    eq(c.get("source_file"), str(w.stray), f"where {fp} was found")
    eq(c.get("kind"), found.get("kind"), f"kind of {fp}")
    check(c.get("found"), f"when {fp} was found: {c}")
    check(sum(c.get("sent_to", {}).values()) >= 1, f"{fp} was sent nowhere: {c}")
    acts = [a for a in c.get("actions", []) if a.get("rule") == FOREIGN_RULE]
    check(acts and acts[0].get("verdict") == "held",
          f"the held action of {FOREIGN_RULE} is not in {fp}'s actions: {c.get('actions')}")
    check(w.root_token not in r.stdout, "the report prints the token's value")

    txt = cli("report", sid, d.audit, timeout=60)
    eq(txt.rc, 0, f"scopelock report ({txt})")
    for s in (fp, "environment foreign", str(w.stray), FOREIGN_RULE):
        check(s in txt.stdout, f"the text report lacks {s!r}:\n{txt.stdout}")
    check(w.root_token not in txt.stdout, "the text report prints the token's value")

    # controls: a session with no credential, a session that is not there
    r = cli("report", "--json", quiet_sid, d.audit, timeout=60)
    eq(r.rc, 0, f"report of the quiet session ({r})")
    eq(json.loads(r.stdout).get("credentials"), [], "the quiet session's inventory")
    r = cli("report", "0123456789abcdef", d.audit, timeout=60)
    eq(r.rc, 1, f"report of an unknown session ({r})")
    check("no session '0123456789abcdef'" in r.stderr, f"it says why: {r.stderr!r}")
