# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Live confirmation of an SSL_write located without symbols (bpf/tls.bpf.c,
sl_tls_confirm_io; include/scopelock_abi.h, struct sl_tls_loc).

The client is tests/unit/fixtures/fake_bssl.c built with -DRUNNABLE and
stripped: the locator finds its SSL_write by BoringSSL's structure (as in
Claude Code), the daemon attaches there, and the client sends each write as
one record that looks like TLS application data, of the write's length + N
bytes (N = 17: what TLS 1.3 adds; another N: a location that is wrong).
- Until a record has carried a located write's length, a kill decision on
  what it captured holds the session for a person instead (a wrong guess
  never kills); the request never leaves.
- After one has, the kill is a kill.
- Records that never carry the lengths refute the location: the process is
  blind (its next connect is refused under the default blind_tls: deny), its
  writes are still captured and judged as unconfirmed, the file is a blind
  spot, and the audit log says so.
Controls: the same client outside a session sends everything and connects
again."""

import os
import shutil
import signal
import subprocess

from enforce import World, alerts, start_daemon, status_holds, tls_policy, wait_alert, \
    write_policy
from fakebssl import TLS13, build, decoded, never_arrived, request
from harness import KILLED, B, TCPListener, check, eq, rand_marker, short, wait_until

RULE = "graphql-destroy"


def target(d, exe):
    for x in d.status()["tls"]["targets"]:
        if B(x.get("path")) == str(exe).encode():
            return x
    return None


def location_records(d, exe, state):
    return [x for x in d.records(type="tls_location")
            if B(x.get("path")) == str(exe).encode() and x.get("state") == state]


def test_tls_located_unconfirmed_kill_is_a_hold(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-bssl-hold")
    req = request(w, w.prod_vol)
    # control: outside a session the request goes out
    r0 = t.outside([str(exe), str(srv.port), TLS13, req])
    eq(r0.rc, 0, f"control outside a session ({r0})")
    wait_until(lambda: any(b"volumeDelete" in x for x in decoded(srv)), 10,
               "the control's request at the server")
    n0 = len(srv.received)
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    name = rand_marker("unconfirmed")
    p = d.spawn([str(exe), str(srv.port), TLS13, req], name=name, stdout=subprocess.PIPE)
    sid = d.session_id(name)
    rec = wait_alert(d, sid, RULE)
    eq(rec.get("verdict"), "held", f"verdict on an unconfirmed location: {short(rec, 1500)}")
    eq(rec.get("action"), "freeze", "action taken")
    eq(rec.get("location_unconfirmed"), True, f"location_unconfirmed: {short(rec, 1500)}")
    eq(rec.get("held_instead_of"), "kill", "held_instead_of")
    hid = rec.get("hold_id")
    check(hid in [h.get("hold_id") for h in status_holds(d)], f"hold {hid} in status")
    writes = [x for x in d.records(session=sid, type="tls_write")
              if b"volumeDelete" in B(x.get("data"))]
    check(writes and writes[0].get("lib") == "boringssl"
          and writes[0].get("location_unconfirmed") is True,
          f"the capture: lib boringssl, location_unconfirmed: {[short(x) for x in writes]}")
    check(p.poll() is None, f"the held client ended (exit {p.returncode}): a kill?")
    tg = target(d, exe)
    check(tg and tg.get("live_confirmation", {}).get("state") == "unconfirmed",
          f"status: the located target unconfirmed: {tg}")
    r = d.cli("deny", "--reason", "e2e: unconfirmed location", hid)
    eq(r.rc, 0, f"scopelock deny ({r})")
    p.wait(30)
    eq(p.returncode, KILLED, "the denied session")
    d.wait_session_end(sid)
    # the held write never left: the connection closed with nothing of it
    never_arrived(srv, n0, b"volumeDelete")


def test_tls_located_confirmed_then_kill(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-bssl-confirm")
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    benign = request(w, w.stg_vol)
    # a first session: its writes' records carry their lengths: confirmed
    r = d.run([str(exe), str(srv.port), TLS13, benign, benign])
    eq(r.rc, 0, f"benign writes ({r})")
    check("connect again: ok" in r.stdout, f"the client connects again: {r.stdout!r}")
    wait_until(lambda: location_records(d, exe, "confirmed"), 10,
               "a tls_location record: confirmed\n" + d.dump(types=("tls_location",)))
    x = location_records(d, exe, "confirmed")[0]
    check(x.get("matches", 0) >= 1 and x.get("located"), f"tls_location: {short(x)}")
    tg = target(d, exe)
    check(tg and tg["live_confirmation"]["state"] == "confirmed"
          and tg["live_confirmation"]["matches"] >= 1, f"status: confirmed: {tg}")
    sid = d.finished_session(r)
    w1 = [x for x in d.records(session=sid, type="tls_write") if x.get("lib") == "boringssl"]
    eq(len(w1), 2, "tls_write records of the benign writes")
    # the first unconfirmed (judged before its record was sent), the second not
    eq(w1[0].get("location_unconfirmed"), True, "the first capture: unconfirmed")
    check("location_unconfirmed" not in w1[1], f"the second capture: {short(w1[1])}")
    eq(alerts(d, sid), [], "alerts of the benign session")
    # confirmed: the incident's request is killed before it leaves
    n0 = len(srv.received)
    r = d.run([str(exe), str(srv.port), TLS13, request(w, w.prod_vol)])
    eq(r.rc, KILLED, f"the mutation after confirmation ({r})")
    sid = d.finished_session(r)
    rec = wait_alert(d, sid, RULE)
    eq(rec.get("verdict"), "killed", f"verdict: {short(rec, 1500)}")
    check("location_unconfirmed" not in rec, f"no location_unconfirmed: {short(rec, 1500)}")
    never_arrived(srv, n0, b"volumeDelete")


def test_tls_located_refuted_is_blind(t):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-bssl-wrong")
    msgs = [request(w, w.stg_vol)] * 10
    r0 = t.outside([str(exe), str(srv.port), "300", *msgs])
    eq(r0.rc, 0, f"control outside a session ({r0})")
    check("connect again: ok" in r0.stdout, f"control: connects again: {r0.stdout!r}")
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    # records 300 bytes longer than the writes: not what TLS adds
    r = d.run([str(exe), str(srv.port), "300", *msgs], timeout=20)
    eq(r.rc, 0, f"the client in a session ({r})")
    check("sent 10" in r.stdout and "connect again: EPERM" in r.stdout,
          f"refuted: the client's next connect refused (blind_tls: deny): {r.stdout!r}")
    sid = d.finished_session(r)
    wait_until(lambda: location_records(d, exe, "refuted"), 10,
               "a tls_location record: refuted\n" + d.dump(types=("tls_location",)))
    x = location_records(d, exe, "refuted")[0]
    eq(x.get("matches"), 0, "matches")
    check(x.get("mismatches", 0) >= 8 and "did not match live traffic" in (x.get("reason") or ""),
          f"tls_location refuted: {short(x)}")
    # its writes are still captured and judged (a refuted location frees nothing:
    # tests/adversarial/tls_located_refute_then_same_connection.py), unconfirmed
    caps = [x for x in d.records(session=sid, type="tls_write") if x.get("lib") == "boringssl"]
    eq(len(caps), 10, "captures after the refutation too")
    check(all(c.get("location_unconfirmed") is True for c in caps), "captures unconfirmed")
    conns = [x for x in d.records(session=sid, type="connect") if x.get("port") == srv.port]
    check(len(conns) == 2 and conns[1].get("refused") == "tls_gate",
          f"the second connect refused by the TLS gate: {[short(c) for c in conns]}")
    eq(alerts(d, sid), [], "alerts (nothing was killed or held)")
    tg = target(d, exe)
    check(tg and tg["live_confirmation"]["state"] == "refuted", f"status: refuted: {tg}")
    blind = [b for b in d.status()["tls"]["blind_spots"] if B(b.get("path")) == str(exe).encode()]
    check(blind and "did not match live traffic" in blind[0].get("reason", ""),
          f"status blind_spots lists the file: {d.status()['tls']['blind_spots']}")
    # the next exec of the file is blind from its start: reported, refused
    r2 = d.run([str(exe), str(srv.port), TLS13, "x"])
    eq(r2.rc, 2, f"the next run's connect refused ({r2})")
    sid2 = d.finished_session(r2)
    b2 = d.records(session=sid2, type="tls_blind_spot")
    check(len(b2) == 1 and "did not match live traffic" in b2[0].get("reason", ""),
          f"tls_blind_spot of the next session: {[short(x) for x in b2]}")


def test_tls_located_sni_from_client_hello(t):
    """BoringSSL located without symbols has no SNI hook: the server name is
    the one its ClientHello carried (bpf/tls.bpf.c, sl_hello_sni), from the
    write after which the connection's socket is known. Control: the same
    client without a ClientHello: sni null."""
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-bssl-sni")
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    req = request(w, w.stg_vol)
    for host in ("api.example.com", None):
        env = dict(os.environ, SL_FAKE_SNI=host) if host else None
        r = d.run([str(exe), str(srv.port), TLS13, req, req], env=env)
        eq(r.rc, 0, f"the client ({r})")
        sid = d.finished_session(r)
        caps = [x for x in d.records(session=sid, type="tls_write") if x.get("lib") == "boringssl"]
        eq(len(caps), 2, "tls_write records")
        eq(caps[1].get("peer"), {"addr": "127.0.0.1", "port": srv.port}, "peer of the second")
        got = B(caps[1]["sni"]) if caps[1].get("sni") is not None else None
        eq(got, host.encode() if host else None, f"sni of the second write: {short(caps[1])}")


def test_tls_located_reused_ssl_new_connection(t):
    """BoringSSL located without symbols has no SSL_free hook and its
    allocator reuses a freed SSL's address: the same SSL driving a second
    connection (to another server, with another name) is a new connection
    for scopelock from its first send on the new socket: the writes after it
    carry the new peer and name (the first one's record was built at its
    entry, before the send: it may carry the old ones; it is judged again at
    its send, test below). On the previous build the second connection's
    records carried the first one's peer and name (judged with the new
    destination: tests/adversarial/tls_located_reused_ssl_other_host.py)."""
    w = World(t)
    a, b = TCPListener(t), TCPListener(t)
    exe = build(t, "fake-bssl-reuse")
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    m1, m2, m3 = rand_marker("first"), rand_marker("second"), rand_marker("third")
    env = dict(os.environ, SL_FAKE_SNI="a.example", SL_FAKE_SNI2="b.example", SL_FAKE_READ="1",
               SL_FAKE_PORT2=str(b.port))
    req = request(w, w.stg_vol)
    r = d.run([str(exe), str(a.port), TLS13, req.replace("/v2 ", f"/v2?{m1} ", 1), "--",
               req.replace("/v2 ", f"/v2?{m2} ", 1), req.replace("/v2 ", f"/v2?{m3} ", 1)],
              env=env, timeout=60)
    eq(r.rc, 0, f"the client ({r})")
    sid = d.finished_session(r)
    caps = {}
    for x in d.records(session=sid, type="tls_write"):
        for m in (m1, m2, m3):
            if m.encode() in B(x.get("data")):
                caps[m] = x
    check(len(caps) == 3, f"the three writes captured: {list(caps)}\n" + d.dump(session=sid))
    check(caps[m1]["conn"] == caps[m3]["conn"], "one SSL for both connections")
    for m, srv, host in ((m1, a, b"a.example"), (m3, b, b"b.example")):
        eq(caps[m].get("peer"), {"addr": "127.0.0.1", "port": srv.port}, f"peer of {m}")
        eq(B(caps[m].get("sni") or ""), host, f"sni of {m}: {short(caps[m])}")


def test_tls_located_confirmation_kept_across_restart(t):
    """A location confirmed under one daemon is confirmed for the next daemon
    of the instance (the kernel keeps sl_tls_locs pinned; the new daemon finds
    the entry of the file and offset): its first mutation is killed, not
    held. A copy of the file (another inode, the same offset) has an entry of
    its own: unconfirmed, held."""
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-bssl-restart")
    copy = t.tmp / "fake-bssl-restart-copy"
    shutil.copy2(exe, copy)
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    r = d.run([str(exe), str(srv.port), TLS13, request(w, w.stg_vol)])
    eq(r.rc, 0, f"benign writes ({r})")
    wait_until(lambda: location_records(d, exe, "confirmed"), 10, "a tls_location: confirmed")
    # SIGKILL: the enforcement and its maps stay pinned for the next daemon
    os.kill(d.proc.pid, signal.SIGKILL)
    eq(d.proc.wait(30), -signal.SIGKILL, "scopelockd killed")
    d2 = d.successor()
    r = d2.run([str(exe), str(srv.port), TLS13, request(w, w.prod_vol)])
    eq(r.rc, KILLED, f"the mutation under the next daemon ({r})")
    rec = wait_alert(d2, d2.finished_session(r), RULE)
    eq(rec.get("verdict"), "killed", f"confirmed before the restart: {short(rec, 1500)}")
    check("location_unconfirmed" not in rec, f"no location_unconfirmed: {short(rec, 1500)}")
    tg = target(d2, exe)
    check(tg and tg["live_confirmation"]["state"] == "confirmed", f"status: {tg}")
    p = d2.spawn([str(copy), str(srv.port), TLS13, request(w, w.prod_vol)])
    rec = wait_alert(d2, d2.session_id(p.name), RULE)
    eq(rec.get("verdict"), "held", f"the copy's own location, unconfirmed: {short(rec, 1500)}")
    eq(rec.get("location_unconfirmed"), True, "location_unconfirmed of the copy")
    r = d2.cli("deny", rec["hold_id"])
    eq(r.rc, 0, f"scopelock deny ({r})")
    p.wait(30)
    eq(p.returncode, KILLED, "the copy's denied session")
