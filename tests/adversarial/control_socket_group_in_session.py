# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A socket-group and admin_group member inside a session (issue 6).

The daemon runs with --socket-group G and its policy names G as admin_group.
Inside a session, a process of an unprivileged user (nobody) that is a
member of G (supplementary group, given by setgroups: /etc/group is not
changed) connects and sends every state-changing request itself (run as
itself, end, policy_reload, approve, deny): all refused as coming from
inside a session, nothing changes, each refusal recorded with the uid and
session. Controls: the same user with the same groups outside any session
succeeds at every request (admin through SO_PEERGROUPS), and root too.
"""

from control import ControlWorld
from harness import blocked, eq

EXPECT = "BLOCKED"


def test_control_socket_group_in_session(t):
    cw = ControlWorld(t, holds=4)
    drop = f"65534:65534:{cw.group.gr_gid}"
    what = f"uid 65534 in group {cw.group.gr_name} inside a session"
    reqs = cw.requests()
    doc, sid = cw.in_session("direct", reqs, drop=drop)
    # each request on its own connection: one record per connecting pid
    recs = cw.check_refused(doc, "in_session", what)
    for r in recs:
        eq(r["requester"].get("uid"), 65534, f"{what}: requester uid")
        eq(r["requester"].get("session"), sid, f"{what}: requester session")
    cw.check_no_run_session(reqs, what)
    cw.assert_unchanged(what)
    # control 1: the same user, same groups, outside every session
    cw.controls(drop=drop, expect_user="nobody")
    # control 2: root, on the two holds left and a fresh session to end
    cw.next_round()
    cw.controls(expect_user="root")
    blocked(t, "a socket-group and admin_group member inside a session was refused every "
            "state-changing request; the same user outside sessions was not")
