# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""`unshare -Urm` in a session (a user namespace, then a mount namespace in
which the agent is root and can mount what it likes): refused, the command
after it never runs, a confine_refused record with the flags. Control: the same
command as the same user outside any session runs (unprivileged user
namespaces are allowed on this machine)."""

import os

from harness import blocked, check, eq, rand_marker
from confine import AGENT, AGENT_UID, as_agent, agent_dir, one_refusal

EXPECT = "BLOCKED"
CLONE_NEWUSER = 0x10000000
CLONE_NEWNS = 0x00020000


def test_userns_unshare_command(t):
    d = t.daemon()
    marker = agent_dir(t) / rand_marker("inside-userns")
    cmd = ["/usr/bin/unshare", "-Urm", "/bin/sh", "-c", f'id -u > "{marker}"']

    r = d.run(cmd, user=AGENT)
    sid = d.finished_session(r)
    check(r.rc != 0, f"unshare -Urm in a session must fail: {r}")
    check("Operation not permitted" in r.stderr, f"unshare's error names EPERM: {r.stderr!r}")
    check(not marker.exists(), "the command after unshare ran in the session")
    rec = one_refusal(d, sid, "unshare", "unshare -Urm")
    eq(rec.get("confine"), "userns", "confine key")
    flags = int(rec.get("flags", "0"), 16)
    eq(flags & (CLONE_NEWUSER | CLONE_NEWNS), CLONE_NEWUSER | CLONE_NEWNS,
       f"flags {rec.get('flags')}")
    check(not rec.get("target_pid"), "no target for a namespace refusal")

    # control: outside any session the same user gets a user namespace (root in it)
    c = t.outside(as_agent(cmd))
    eq(c.rc, 0, f"unshare -Urm by {AGENT} outside any session (control): {c}")
    eq(marker.read_text().strip(), "0", "uid inside the control's user namespace")
    check(os.stat(marker).st_uid == AGENT_UID, "the control ran as the agent user")
    blocked(t, "unshare -Urm in a session: EPERM, recorded; works outside sessions")
