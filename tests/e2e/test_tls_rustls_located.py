# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""rustls on aws-lc read where it seals each TLS record (issue 8; Codex is
the real case, tests/agents/test_codex.py): bpf/tls.bpf.c sl_aead_seal and
sl_aead_seal_scatter at aws-lc's EVP_AEAD_CTX_seal and _seal_scatter,
located without symbols (user/lib/tls_locate.h).

The client is tests/unit/fixtures/fake_awslc.c built with -DRUNNABLE,
stripped (tests/e2e/lib/fakeawslc.py): it seals each write in place with the
record's header as additional data, as rustls does, and sends the record.
- TLS 1.3 (EVP_AEAD_CTX_seal): each write is a tls_write record (lib
  rustls) of exactly the plaintext (the inner content type is not part of
  it); the first records confirm the location; the incident's mutation is
  killed and never arrives. Control: outside a session it arrives.
- TLS 1.2 (EVP_AEAD_CTX_seal_scatter): the same.
- rustls on ring (tests/unit/fixtures/fake_ring.c: ring's algorithm statics,
  its seal's Rust ABI): the same through AES-GCM's and ChaCha20-Poly1305's
  seals.
- A seal whose additional data is not its record's header is not a write:
  no tls_write record of it (and the record it is sent in has no seal
  behind it: tests/adversarial/tls_rustls_record_unseen.py).
- Records a non-blocking socket did not take at once are sent again from
  where they stopped (the same bytes reach the system call twice): each is
  counted once against its seal, no record is unseen, the process stays
  read and connects again."""

import subprocess

from enforce import World, policy_blind_tls, start_daemon, tls_policy, wait_alert, write_policy
from fakeawslc import RING_FIXTURE, build
from fakebssl import decoded, request
from harness import KILLED, B, TCPListener, check, eq, rand_marker, short, wait_until

RULE = "graphql-destroy"


def _get(marker):
    return f"GET /{marker} HTTP/1.1\r\nHost: api.example\r\n\r\n"


def _writes(d, sid):
    return [r for r in d.records(session=sid, type="tls_write") if r.get("lib") == "rustls"]


def _kill_case(t, env, fn, fixture=None):
    w = World(t)
    srv = TCPListener(t)
    exe = build(t, "fake-rustls", **({"fixture": fixture} if fixture else {}))
    hello = _get(rand_marker("hello"))
    req = request(w, w.prod_vol)
    argv = [str(exe), str(srv.port), hello, hello, req]
    r0 = t.outside(argv, env=env)
    eq(r0.rc, 0, f"control outside a session ({r0})")
    wait_until(lambda: any(b"volumeDelete" in x for x in decoded(srv)), 10,
               "the control's mutation at the server")
    n0 = len(srv.received)
    d = start_daemon(t, write_policy(t, tls_policy(w)))
    name = rand_marker("rustls")
    p = d.spawn(argv, name=name, env=env, stdout=subprocess.PIPE)
    sid = d.session_id(name)
    try:
        rec = wait_alert(d, sid, RULE)
    except AssertionError:
        print(d.dump(session=sid, types=("tls_write", "verdict", "alert", "connect")))
        raise
    eq(rec.get("verdict"), "killed", f"the mutation's verdict: {short(rec, 1500)}")
    check("location_unconfirmed" not in rec, f"judged on a confirmed location: {short(rec)}")
    p.wait(30)
    eq(p.returncode, KILLED, "the session's client")
    wait_until(lambda: len(srv.received) > n0, 10, "the session's connection closed")
    check(not any(w.prod_vol.encode() in x for x in decoded(srv)[n0:]),
          "the mutation reached the server")
    ws = _writes(d, sid)
    eq([B(r["data"]) for r in ws[:2]], [hello.encode()] * 2,
       "the first records' plaintext, exactly")
    check(all(r.get("function") == fn for r in ws), f"captured at {fn}: {[short(r) for r in ws]}")
    check(any(b"volumeDelete" in B(r["data"]) for r in ws), "the mutation's tls_write record")
    loc = wait_until(lambda: [x for x in d.records(type="tls_location")
                              if B(x.get("path")) == str(exe).encode()
                              and x.get("state") == "confirmed"], 10,
                     "a tls_location record (confirmed)")
    eq(loc[0].get("unseen"), 0, f"no record unseen: {short(loc[0])}")
    print(f"  {fn}: captured, confirmed, the mutation killed; control arrived")


def test_tls_rustls_tls13_killed(t):
    _kill_case(t, None, "EVP_AEAD_CTX_seal")


def test_tls_rustls_tls12_killed(t):
    _kill_case(t, {"SL_FAKE_TLS12": "1"}, "EVP_AEAD_CTX_seal_scatter")


def test_tls_rustls_ring_killed(t):
    _kill_case(t, None, "ring_seal", RING_FIXTURE)


def test_tls_rustls_ring_chacha_killed(t):
    _kill_case(t, {"SL_FAKE_CHACHA": "1"}, "ring_seal", RING_FIXTURE)


def test_tls_rustls_not_a_record_not_captured(t):
    """Seals whose additional data is not the record's header (the length
    off by one) are not writes: no tls_write record of them; the writes of
    the second connection (sealed right) are."""
    srv = TCPListener(t)
    exe = build(t, "fake-awslc-badad")
    first, second = _get(rand_marker("first")), _get(rand_marker("second"))
    # blind_tls: alert: what is not read may go out (deny holds it:
    # tests/adversarial/tls_rustls_record_unseen.py)
    d = start_daemon(t, policy_blind_tls(t, "alert"))
    r = d.run([str(exe), str(srv.port), first, "--", second],
              env={"SL_FAKE_BAD_AD": "1"}, timeout=60)
    sid = d.finished_session(r)
    datas = [B(x["data"]) for x in _writes(d, sid)]
    check(not any(first.encode() in x for x in datas),
          f"a seal that is not its record's was captured: {datas}")
    check(any(first.encode() in x for x in decoded(srv)), "the first records at the server")


def test_tls_rustls_resent_records_counted_once(t):
    srv = TCPListener(t)
    exe = build(t, "fake-awslc-eagain")
    d = start_daemon(t, write_policy(t, tls_policy(World(t), action="alert")))
    r = d.run([str(exe), str(srv.port), _get(rand_marker("last")), "--",
               _get(rand_marker("after"))], env={"SL_FAKE_EAGAIN": "24"}, timeout=120)
    check("sent 25" in r.stdout and "connect again: ok" in r.stdout,
          f"all sent, and the process not blind: {r}")
    wait_until(lambda: any(b"fill-23" in x for x in decoded(srv)), 10, "the records at the server")
    tg = [x for x in d.status()["tls"]["targets"] if B(x.get("path")) == str(exe).encode()]
    check(tg and tg[0]["live_confirmation"]["unseen"] == 0,
          f"no record unseen: {tg and tg[0].get('live_confirmation')}")
