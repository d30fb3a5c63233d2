# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A client whose SSL_write is located without symbols, as Claude Code's
BoringSSL is: tests/unit/fixtures/fake_bssl.c built with -DRUNNABLE and
stripped. `fake PORT EXTRA MSG... [-- AGAIN...]` sends each MSG as one
SSL_write on a connection to 127.0.0.1:PORT, as a record that looks like TLS
application data of MSG's length + EXTRA bytes (17: what TLS 1.3 adds; any
other value makes the location look wrong), then connects again with the same
SSL (printing "connect again: ok" or the errno name) and writes each AGAIN
there. Environment: SL_FAKE_SNI, SL_FAKE_SNI2 (a ClientHello naming it first
on the first, second connection), SL_FAKE_READ (an SSL_read whose handshake
step reads the socket, before the writes), SL_FAKE_PORT2 (the second
connection's port)."""

import subprocess

from harness import KILLED, REPO, check, eq, need_binary, short, wait_until

FIXTURE = REPO / "tests" / "unit" / "fixtures" / "fake_bssl.c"
# the Makefile's FIXTURE_CFLAGS: the shape the locator's unit tests know
CFLAGS = ["-O2", "-fno-reorder-blocks-and-partition", "-fcf-protection=none",
          "-Wno-unused-result"]
TLS13 = "17"


def build(t, name):
    """A new stripped copy: its own inode, so a location not yet confirmed."""
    need_binary("/usr/bin/cc")
    exe = t.tmp / name
    p = subprocess.run(["/usr/bin/cc", *CFLAGS, "-DRUNNABLE", "-s", "-o", str(exe),
                        str(FIXTURE)], capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    check(p.returncode == 0 and exe.exists(),
          f"cc failed: {p.stderr.decode(errors='replace')[-2000:]}")
    return exe


def request(world, vol):
    """The incident's GraphQL mutation on volume vol, as an HTTP request."""
    body = world.mutation(vol)
    return (f"POST /graphql/v2 HTTP/1.1\r\nHost: backboard.example\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}")


def decoded(listener):
    """What each closed connection of a harness.TCPListener carried, un-XORed."""
    return [bytes(b ^ 0x5a for b in data) for data in listener.received]


# the volume of the mutations sent to a production server known by its address
UNLABELLED = "vol_labelled_nowhere"
RULE = "graphql-destroy"


def prod_host_policy(t, world, port, extra=""):
    """The incident's rule (graphql_destroy, target outside_scope, kill) with
    production's hosts the loopback server at port (its address and port);
    extra: YAML appended (top-level keys). Returns its path."""
    from enforce import policy_text, write_policy
    envs = world.envs(prod_hosts=[f"127.0.0.1:{port}"])
    rule = {"name": RULE, "channel": "tls", "pattern": "graphql_destroy",
            "target": "outside_scope", "action": "kill"}
    return write_policy(t, policy_text(envs, ["graphql_destroy"], [rule],
                                       settings={"syslog": False}) + extra)


def control(t, argv, listener, needle, env=None):
    """Outside a session the client's bytes with needle reach listener;
    returns the count of its connections so far (for never_arrived)."""
    r = t.outside(argv, env=env)
    eq(r.rc, 0, f"control outside a session ({r})")
    wait_until(lambda: any(needle in x for x in decoded(listener)), 10,
               "the control's mutation at the server")
    return len(listener.received)


def stopped(d, p, verdicts=("held", "killed")):
    """The session of the client p (daemon.spawn) stopped by RULE: its alert
    (held ones denied), the client killed. Returns the alert."""
    from enforce import wait_alert
    sid = d.session_id(p.name)
    rec = wait_alert(d, sid, RULE)
    check(rec.get("verdict") in verdicts, f"stopped: {short(rec, 1500)}")
    if rec.get("verdict") == "held":
        r = d.cli("deny", rec["hold_id"])
        eq(r.rc, 0, f"scopelock deny ({r})")
    p.wait(30)
    eq(p.returncode, KILLED, "the session's client")
    return rec


def never_arrived(listener, since, needle):
    """The session's connections (after the first `since`) closed, none
    carried needle."""
    wait_until(lambda: len(listener.received) > since, 10, "the session's connection closed")
    check(not any(needle in x for x in decoded(listener)[since:]),
          "the mutation reached the server")
