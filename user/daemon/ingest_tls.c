// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * SL_OP_TLS_WRITE, SL_OP_TLS_READ -> audit record members
 * (docs/events.md: tls_write, tls_read).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ingest_decode.h"
#include "jsonbytes.h"

static const char *const lib_names[] = {
    [SL_TLS_OPENSSL] = "openssl",
    [SL_TLS_GNUTLS] = "gnutls",
    [SL_TLS_BORINGSSL] = "boringssl",
    [SL_TLS_GO] = "go",
};

static const char *const fn_names[] = {
    [SL_TLS_FN_SSL_WRITE] = "SSL_write",
    [SL_TLS_FN_SSL_WRITE_EX] = "SSL_write_ex",
    [SL_TLS_FN_SSL_READ] = "SSL_read",
    [SL_TLS_FN_SSL_READ_EX] = "SSL_read_ex",
    [SL_TLS_FN_GNUTLS_SEND] = "gnutls_record_send",
    [SL_TLS_FN_GNUTLS_RECV] = "gnutls_record_recv",
    [SL_TLS_FN_GO_CONN_WRITE] = "crypto/tls.(*Conn).Write",
};

static json_t *name_or_number(const char *const *names, size_t n, unsigned int v)
{
	if (v < n && names[v])
		return json_string(names[v]);
	return json_integer(v);
}

static json_t *peer_json(const struct sl_tls_event *e)
{
	char buf[INET6_ADDRSTRLEN];
	json_t *p;

	if (e->peer_family != AF_INET && e->peer_family != AF_INET6)
		return json_null();
	if (!inet_ntop(e->peer_family, e->peer_addr, buf, sizeof(buf)))
		return json_null();
	p = json_object();
	if (!p)
		return NULL;
	if (json_object_set_new(p, "addr", json_string(buf)) ||
	    json_object_set_new(p, "port", json_integer(e->peer_port))) {
		json_decref(p);
		return NULL;
	}
	return p;
}

int sl_decode_tls(const void *data, size_t len, json_t *rec)
{
	const struct sl_tls_event *e = data;
	char conn[2 + 16 + 1];

	if (len < sizeof(*e) || e->data_len > len - sizeof(*e) || e->sni_len >= SL_SNI_MAX ||
	    e->data_len > e->len)
		return -EBADMSG;
	if (e->hdr.op != SL_OP_TLS_WRITE && e->hdr.op != SL_OP_TLS_READ)
		return -EBADMSG;
	snprintf(conn, sizeof(conn), "0x%" PRIx64, (uint64_t)e->conn);
	if (json_object_set_new(
		rec, "lib",
		name_or_number(lib_names, sizeof(lib_names) / sizeof(lib_names[0]), e->lib)) ||
	    json_object_set_new(
		rec, "function",
		name_or_number(fn_names, sizeof(fn_names) / sizeof(fn_names[0]), e->fn)) ||
	    json_object_set_new(rec, "conn", json_string(conn)) ||
	    json_object_set_new(rec, "len", json_integer((json_int_t)e->len)) ||
	    json_object_set_new(rec, "captured", json_integer(e->data_len)) ||
	    json_object_set_new(rec, "truncated", json_boolean(e->hdr.flags & SL_EVF_TRUNCATED)))
		return -ENOMEM;
	if (e->sni_len) {
		if (sl_json_set_bytes(rec, "sni", e->sni, e->sni_len))
			return -ENOMEM;
	} else if (json_object_set_new(rec, "sni", json_null())) {
		return -ENOMEM;
	}
	if (json_object_set_new(rec, "peer", peer_json(e)) ||
	    sl_json_set_bytes(rec, "data", e->data, e->data_len))
		return -ENOMEM;
	return 0;
}
