# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The incident's mutation written with gnutls_record_send_range (not gnutls_record_send) by a
GnuTLS client in a staging session, with the production token: the write is
captured and judged like any other TLS write, the session is killed before a
byte of it leaves. Control: outside a session the same client's mutation
arrives."""

from _gnutls_case import run

EXPECT = "BLOCKED"


def test_tls_gnutls_range(t):
    run(t, "range", "gnutls_record_send_range")
