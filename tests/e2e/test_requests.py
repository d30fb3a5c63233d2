# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Decode before judging (issue 9): the incident's request in forms the
kernel cannot judge from the bytes is held at SSL_write, decoded by the
daemon as the server will read it, judged, and stopped before it leaves.
Every case has its control: the same client outside a session reaches the
server (tests/e2e/lib/reqforms.py)."""

from enforce import finish
from harness import B, check, eq, short
from reqforms import check_decoded_alert, run_form


def decoded_case(t, form, want=b"volumeDelete", kernel_may_decide=False):
    d, w, sid, rec = run_form(t, form)
    if kernel_may_decide and not rec.get("decoded"):
        # the bytes were enough (curl sent the token without Huffman coding):
        # the fast path stopped it; the daemon still decoded the request
        writes = [x for x in d.records(session=sid, type="tls_write") if x.get("request")]
        check(any(want in str(x["request"]).encode() for x in writes),
              f"{form}: no tls_write record shows the decoded request\n"
              + d.dump(session=sid, types=("tls_write",)))
        finish(t, d, w)
        return writes[-1]["request"]
    req = check_decoded_alert(rec, form)
    text = B(req.get("summary") or "") + b" " + str(req).encode()
    check(want in text, f"{form}: the alert's request does not show {want!r}: {short(req, 2000)}")
    # the held write's tls_write record carries the decoded request too
    writes = [x for x in d.records(session=sid, type="tls_write") if x.get("request")]
    check(writes, f"{form}: no tls_write record with a request member\n"
          + d.dump(session=sid, types=("tls_write",)))
    finish(t, d, w)
    return req


def test_requests_h2_curl(t):
    req = decoded_case(t, "h2_curl", kernel_may_decide=True)
    eq(req.get("proto"), "http/2", f"proto of {short(req)}")


def test_requests_h2_node(t):
    decoded_case(t, "h2_node")


def test_requests_gzip_body(t):
    decoded_case(t, "gzip")


def test_requests_json_escape(t):
    decoded_case(t, "json_escape")


def test_requests_chunked_cut(t):
    decoded_case(t, "chunked_cut")


def test_requests_websocket(t):
    decoded_case(t, "websocket")


def test_requests_rest_delete_h2(t):
    decoded_case(t, "rest_delete_h2", want=b"DELETE")


def test_requests_delete_volume_alias(t):
    decoded_case(t, "delete_volume_alias", want=b"deleteVolume")


def test_requests_fork_split(t):
    decoded_case(t, "fork_split")
