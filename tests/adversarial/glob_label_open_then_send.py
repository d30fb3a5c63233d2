# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""An agent reads a production file that only a wildcard glob labels
(`.../srv/prod-[0-9]/secret?.env`: a class and a `?` inside components, no
exact or directory label, no identity) through a symlink in its staging
workspace, and sends a destructive request at once, on a TLS connection it
opened beforehand, hoping the write leaves before anything has learnt that
the file was production (a daemon matching the glob after reading the open
record would be microseconds too late). The kernel labels the open itself
(the symlink resolves to the real file): the session is tainted before the
open returns, the DELETE is judged outside the scope at SSL_write and
killed there; it never reaches the server. Control: the same client outside
a session reaches the server."""

import os

from enforce import finish
from globcase import GlobWorld, run_killed, run_outside, start
from harness import blocked

EXPECT = "BLOCKED"


def test_glob_label_open_then_send(t):
    w = GlobWorld(t, "srv/prod-[0-9]/secret?.env", "srv/prod-3/secret1.env",
                  "srv/prod-x/secret1.env")
    link = w.shop / "settings.env"
    os.symlink(w.prod_file, link)
    d, srv = start(t, w)
    run_outside(t, w, srv, link, "control: outside a session")
    rec, op = run_killed(t, w, d, srv, link, "open through a symlink, then send",
                         resolved=w.prod_file)
    finish(t, d, None)
    blocked(t, f"the open of {w.prod_file} (through {link.name}) was labelled production by the "
               f"glob in the kernel; the DELETE written right after was killed at SSL_write "
               f"(alert {rec.get('alert_id')}, taint {rec.get('taint')}); nothing reached the "
               f"server")
