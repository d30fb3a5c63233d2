# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The exited-peer trick on the control socket (issue 6).

A process inside a session connects to the control socket, forks a child
that keeps the socket, and exits; the child then sends every state-changing
request (run, end, policy_reload, approve, deny). The daemon used to read
/proc/<SO_PEERCRED pid>/cgroup at request time: the exited connector made
the check error out and the request was allowed.

Two timings: the daemon accepted the connection while the connector was
alive (identified inside the session), and the daemon accepted it only
after the connector had exited and been reaped (the daemon is stopped
meanwhile: unidentified). Both refuse every request, change nothing, and
leave a control_refused record; the same requests from outside by root
succeed.
"""

from control import ControlWorld
from harness import blocked

EXPECT = "BLOCKED"


def test_control_exited_peer(t):
    cw = ControlWorld(t)
    for stall, reason in ((False, "in_session"), (True, "unidentified")):
        what = f"exited peer ({'accepted after it was reaped' if stall else 'accepted alive'})"
        reqs = cw.requests()
        doc, sid = cw.in_session("exited", reqs, stall=stall)
        check_sender = doc["sender"] != doc["connector"]
        assert check_sender, f"{what}: the requests were sent by the connector itself"
        recs = cw.check_refused(doc, reason, what)
        if reason == "in_session":
            for r in recs:
                assert (r["requester"].get("session") == sid), f"{what}: {r}"
        cw.check_no_run_session(reqs, what)
        cw.assert_unchanged(what)
    cw.controls(expect_user="root")
    blocked(t, "every state-changing request sent on a socket whose connector exited "
            "(identified in the session, or unidentified) was refused and recorded")
