// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * SL_OP_TLS_WRITE, SL_OP_TLS_READ, SL_OP_PLAIN_WRITE -> audit record members
 * (docs/events.md: tls_write, tls_read, plain_write).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ingest_decode.h"

static const char *const lib_names[] = {
    [SL_TLS_OPENSSL] = "openssl", [SL_TLS_GNUTLS] = "gnutls", [SL_TLS_BORINGSSL] = "boringssl",
    [SL_TLS_GO] = "go",		  [SL_TLS_PLAIN] = "none",    [SL_TLS_RUSTLS] = "rustls",
};

static const char *const fn_names[] = {
    [SL_TLS_FN_SSL_WRITE] = "SSL_write",
    [SL_TLS_FN_SSL_WRITE_EX] = "SSL_write_ex",
    [SL_TLS_FN_SSL_READ] = "SSL_read",
    [SL_TLS_FN_SSL_READ_EX] = "SSL_read_ex",
    [SL_TLS_FN_GNUTLS_SEND] = "gnutls_record_send",
    [SL_TLS_FN_GNUTLS_RECV] = "gnutls_record_recv",
    [SL_TLS_FN_GO_CONN_WRITE] = "crypto/tls.(*Conn).Write",
    [SL_NET_FN_WRITE] = "write",
    [SL_NET_FN_WRITEV] = "writev",
    [SL_NET_FN_SENDTO] = "sendto",
    [SL_NET_FN_SENDMSG] = "sendmsg",
    [SL_TLS_FN_SSL_WRITE_INTERNAL] = "ssl_write_internal",
    [SL_TLS_FN_AEAD_SEAL] = "EVP_AEAD_CTX_seal",
    [SL_TLS_FN_AEAD_SEAL_SCATTER] = "EVP_AEAD_CTX_seal_scatter",
    [SL_TLS_FN_RING_SEAL] = "ring_seal",
    [SL_TLS_FN_AEAD_OPEN] = "EVP_AEAD_CTX_open",
};

static void name_or_number(struct sl_jw *w, const char *key, const char *const *names, size_t n,
			   unsigned int v)
{
	if (v < n && names[v])
		sl_jw_str(w, key, names[v]);
	else
		sl_jw_int(w, key, v);
}

static void put_peer(struct sl_jw *w, const struct sl_tls_event *e)
{
	char buf[INET6_ADDRSTRLEN];

	if ((e->peer_family != AF_INET && e->peer_family != AF_INET6) ||
	    !inet_ntop(e->peer_family, e->peer_addr, buf, sizeof(buf))) {
		sl_jw_null(w, "peer");
		return;
	}
	sl_jw_obj(w, "peer");
	sl_jw_str(w, "addr", buf);
	sl_jw_int(w, "port", e->peer_port);
	sl_jw_end(w);
}

int sl_decode_tls(const void *data, size_t len, struct sl_jw *w)
{
	const struct sl_tls_event *e = data;
	char conn[2 + 16 + 1];

	if (len < sizeof(*e) || e->data_len > len - sizeof(*e) || e->sni_len >= SL_SNI_MAX ||
	    e->data_len > e->len)
		return -EBADMSG;
	if (e->hdr.op != SL_OP_TLS_WRITE && e->hdr.op != SL_OP_TLS_READ &&
	    e->hdr.op != SL_OP_PLAIN_WRITE)
		return -EBADMSG;
	snprintf(conn, sizeof(conn), "0x%" PRIx64, (uint64_t)e->conn);
	if (e->hdr.op != SL_OP_PLAIN_WRITE)
		name_or_number(w, "lib", lib_names, sizeof(lib_names) / sizeof(lib_names[0]),
			       e->lib);
	name_or_number(w, "function", fn_names, sizeof(fn_names) / sizeof(fn_names[0]), e->fn);
	/* located without symbols, not yet confirmed on live traffic */
	if (e->hdr.op == SL_OP_TLS_WRITE && (e->hdr.flags & SL_EVF_UNCONFIRMED))
		sl_jw_bool(w, "location_unconfirmed", true);
	sl_jw_str(w, "conn", conn);
	/* the socket's inode number: socket:[N] in /proc/PID/fd */
	if (e->hdr.op == SL_OP_PLAIN_WRITE) {
		sl_jw_uint(w, "socket", e->conn);
		sl_jw_int(w, "fd", e->fd);
	}
	sl_jw_uint(w, "len", e->len);
	sl_jw_int(w, "captured", e->data_len);
	sl_jw_bool(w, "truncated", e->hdr.flags & SL_EVF_TRUNCATED);
	if (e->sni_len)
		sl_jw_bytes(w, "sni", e->sni, e->sni_len);
	else if (e->hdr.op != SL_OP_PLAIN_WRITE)
		sl_jw_null(w, "sni");
	put_peer(w, e);
	/* one write of a stream: a credential split across writes is redacted at the edges */
	sl_jw_stream(w);
	sl_jw_bytes(w, "data", e->data, e->data_len);
	return w->err;
}
