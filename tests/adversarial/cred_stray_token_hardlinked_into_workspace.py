# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The agent never opens the stray token's file by its own name: it makes a
hard link to it inside its workspace (link(2) is no open) and reads the
token there, where files are the session's own (its scope, staging). The
file has another name outside the workspace (two links): the token it holds
is foreign, and the mutation carrying it is held. Control: outside a session
the same request arrives."""

import shlex

from credworld import CredWorld, held_then_denied, outside_arrives, run_incident, start
from enforce import finish
from harness import blocked

EXPECT = "BLOCKED"
q = shlex.quote


def test_cred_stray_token_hardlinked_into_workspace(t):
    w = CredWorld(t)
    srv, d = start(t, w)
    link = w.shop / "deploy.env"
    read = [f"ln {q(str(w.stray))} {q(str(link))}",
            f"TOKEN=$(cat {q(str(link))} | sed -n 's/^RAILWAY_TOKEN=//p')"]
    p, sid, _, _ = run_incident(t, d, w, srv, read, w.root_token, link)
    held_then_denied(t, d, w, srv, p, sid, w.root_token, link)
    outside_arrives(t, srv, w, w.root_token)
    finish(t, d, w)
    blocked(t, "a token read through a hard link made in the workspace stays foreign")
