# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The agent hides a production-labelled directory under another path: an
unprivileged `unshare -Urm` gives it a mount namespace where a bind mount puts
/…/prod at /…/hide, and the token read through /…/hide/token no longer carries
the production label (the kernel resolves the path through the bind mount), so
no taint and no alert. Confined sessions cannot make the namespace: the read
never happens, a confine_refused record says why.

Controls: outside any session the same user does it. In a scope whose policy
opts out of the user namespace confinement (confine: {userns: false}) the
mount succeeds, yet the read through it is still labelled: the directory is
labelled by identity (device and inode) too, and the walk from the opened
file up through the bind mount meets it. So the label holds either way; the
confinement stops the namespace itself."""

import os

from harness import B, blocked, check, eq, rand_marker
from confine import AGENT, agent_dir, as_agent, one_refusal, write_policy

EXPECT = "BLOCKED"


def test_bind_mount_hides_label(t):
    prod = t.tmp / "prod"
    hide = t.tmp / "hide"
    prod.mkdir()
    hide.mkdir()
    os.chmod(prod, 0o755)
    token = rand_marker("prod-token")
    t.write("prod/token", token + "\n", 0o644)
    policy = write_policy(t, "policy.yaml", f"""\
  production:
    paths: ["{prod}/**"]
  staging: {{}}
  lab:
    confine: {{userns: false}}
rules:
  - name: open-production
    channel: open
    target: outside_scope
    action: alert
""")
    d = t.daemon(policy=str(policy))
    out = agent_dir(t) / rand_marker("stolen")
    trick = ["/usr/bin/unshare", "-Urm", "/bin/sh", "-c",
             f'mount --bind "{prod}" "{hide}" && cat "{hide}/token" > "{out}"']

    def token_opens(sid):
        return [r for r in d.records(session=sid, type="open")
                if B(r.get("path", "")).endswith(b"/token") and r.get("result", -1) >= 0]

    # confined (the default): no namespace, no mount, no read
    r = d.run(trick, user=AGENT, scope="staging")
    sid = d.finished_session(r)
    check(r.rc != 0, f"the trick must fail in a confined session: {r}")
    check(not out.exists(), "the token was copied out of a confined session")
    eq(token_opens(sid), [], "opens of the token in the confined session")
    eq(one_refusal(d, sid, "unshare", "unshare -Urm").get("confine"), "userns", "confine key")

    # a scope that opts out: the mount works, the read through it is
    # labelled by identity all the same
    r = d.run(trick, user=AGENT, scope="lab")
    sid = d.finished_session(r)
    eq(r.rc, 0, f"the trick in a scope with confine.userns false: {r}")
    eq(out.read_text().strip(), token, "the token read through the bind mount")
    opens = token_opens(sid)
    check(opens and all(B(o["path"]) == f"{hide}/token".encode() and
                        "production" in (o.get("env") or []) for o in opens),
          f"the read through {hide} is not labelled production:\n{d.dump(session=sid)}")
    alerts = d.records(session=sid, type="alert")
    check(any(a.get("rule") == "open-production" for a in alerts),
          f"the read through the bind mount raises the open alert:\n{d.dump(session=sid)}")
    out.unlink()

    # ... while the direct read of the same file is labelled and alerts
    r = d.run(["/bin/cat", str(prod / "token")], user=AGENT, scope="lab")
    sid = d.finished_session(r)
    eq(r.rc, 0, f"direct read in the lab scope: {r}")
    alerts = d.records(session=sid, type="alert")
    check(any(a.get("rule") == "open-production" for a in alerts),
          f"the direct read raises the open alert:\n{d.dump(session=sid)}")

    # control 2: outside any session
    c = t.outside(as_agent(trick))
    eq(c.rc, 0, f"the trick by {AGENT} outside any session: {c}")
    eq(out.read_text().strip(), token, "the token read outside sessions")
    blocked(t, "a bind mount hiding a labelled directory needs a user namespace: refused in "
               "sessions, recorded")
