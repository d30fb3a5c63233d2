# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A control connection handed over inside a session (issue 6).

A process inside a session connects to the control socket and passes the
socket (SCM_RIGHTS over a socketpair) to a sibling process of the same
session, then exits; once it is reaped the sibling sends every
state-changing request (run, end, policy_reload, approve, deny).

Two timings, as for the exited-peer trick: accepted while the connector was
alive (inside the session), accepted only after it was reaped (the daemon is
stopped meanwhile: unidentified). Every request is refused, nothing changes,
each refusal is recorded; the same requests from outside by root succeed.
"""

from control import ControlWorld
from harness import blocked

EXPECT = "BLOCKED"


def test_control_fd_passed(t):
    cw = ControlWorld(t)
    for stall, reason in ((False, "in_session"), (True, "unidentified")):
        what = f"passed socket ({'accepted after the connector was reaped' if stall else 'accepted alive'})"
        reqs = cw.requests()
        doc, sid = cw.in_session("passed", reqs, stall=stall)
        assert doc["sender"] != doc["connector"], f"{what}: sent by the connector itself"
        recs = cw.check_refused(doc, reason, what)
        if reason == "in_session":
            for r in recs:
                assert r["requester"].get("session") == sid, f"{what}: {r}"
        cw.check_no_run_session(reqs, what)
        cw.assert_unchanged(what)
    cw.controls(expect_user="root")
    blocked(t, "every state-changing request sent on a socket handed over (SCM_RIGHTS) by a "
            "session process that then exited was refused and recorded")
