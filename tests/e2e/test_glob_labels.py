# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Path labels with wildcards inside a component are decided in the kernel at
the open (issue 10), not by the daemon after the fact.

The policy labels production only by a glob with a wildcard inside a
component (`.../home/*/.config/prod/*.json`); no exact or directory label,
and no identity, names the file. A staging session opens a matching file
and, in the same process with no wait, writes a destructive request
(`DELETE /v1/volumes/<staging volume>`) on a TLS connection it opened
before: the write's
target is staging unless the session's taint says production, so only a
taint the kernel knew at SSL_write stops it. The request never reaches the
server, the session is killed, the alert says the kernel's verdict with the
taint production, and the open record carries the label without
`labelled_by`. Controls: the same with a file the glob does not label (the
request arrives) and outside a session (it arrives).

Also: a policy whose globs need more DFA states than the kernel holds is
refused with the file, line, field and glob.
"""

from globcase import GlobWorld, run_arrives, run_killed, run_outside, start
from enforce import finish, policy_check, write_policy
from harness import check, eq


def test_glob_label_taint_decided_at_open(t):
    w = GlobWorld(t, "home/*/.config/prod/*.json", "home/dev/.config/prod/db.json",
                  "home/dev/.config/prod/db.yaml")
    d, srv = start(t, w)
    # control: outside a session the request arrives
    run_outside(t, w, srv, w.prod_file, "outside a session")
    # control: a file the glob does not label (not *.json): the request arrives
    run_arrives(t, w, d, srv, w.other_file, "unlabelled file")
    # the glob-labelled file, then the request at once: killed at the write
    run_killed(t, w, d, srv, w.prod_file, "glob-labelled file")
    finish(t, d, None)


def test_glob_label_state_bound_refused(t):
    text = ("version: 1\nenvironments:\n  production:\n    paths:\n"
            "      - /srv/prod/**\n"
            "      - /srv/x/*a??????????????\n")
    p = write_policy(t, text, "glob-bound.yaml")
    r = policy_check(p)
    eq(r.rc, 1, f"scopelock policy check of a policy past the glob bound ({r})")
    out = r.stdout + r.stderr
    for said in (f"{p}:6:", "environments.production.paths[1]", "/srv/x/*a??????????????",
                 "more than 4096 DFA states"):
        check(said in out, f"policy check does not say {said!r}: {out!r}")
