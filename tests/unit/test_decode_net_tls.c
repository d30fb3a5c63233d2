// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Decoders of network and TLS records (user/daemon/ingest_net.c,
 * ingest_tls.c; docs/events.md): every member, v4-mapped addresses, errno
 * names, bytes values, and records that do not fit refused with -EBADMSG.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <jansson.h>

/* the decoders are daemon code: linked from libscopelockd.a */
#include "ingest_decode.h"

/* the members a decoder wrote, as a tree (decoders write text: jwriter.h) */
static json_t *members_tree(const struct sl_jw *w)
{
	const char *text;
	size_t len;
	char *buf;
	json_t *rec;

	assert_int_equal(sl_jw_members(w, &text, &len), 0);
	buf = malloc(len + 2);
	assert_non_null(buf);
	buf[0] = '{';
	memcpy(buf + 1, text, len);
	buf[len + 1] = '}';
	rec = json_loadb(buf, len + 2, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	assert_non_null(rec);
	free(buf);
	return rec;
}

static json_t *decode_net(const struct sl_net_event *e, size_t len, int want_err)
{
	struct sl_jw w;
	json_t *rec;

	sl_jw_init(&w, NULL, NULL);
	assert_int_equal(sl_decode_net(e, len, &w), want_err);
	rec = want_err ? json_object() : members_tree(&w);
	sl_jw_free(&w);
	return rec;
}

static void net_event(struct sl_net_event *e, unsigned int op, int family, const char *addr,
		      unsigned int port)
{
	memset(e, 0, sizeof(*e));
	e->hdr.op = op;
	e->hdr.size = sizeof(*e);
	e->family = family;
	e->port = port;
	e->sock_type = SOCK_STREAM;
	e->protocol = IPPROTO_TCP;
	e->fd = -1;
	if (addr)
		assert_int_equal(inet_pton(family, addr, e->addr), 1);
}

static const char *str(json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_int_t num(json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_connect_v4(void **state)
{
	struct sl_net_event e;
	json_t *rec;

	net_event(&e, SL_OP_CONNECT, AF_INET, "127.0.0.1", 8443);
	rec = decode_net(&e, sizeof(e), 0);
	assert_string_equal(str(rec, "family"), "inet");
	assert_string_equal(str(rec, "addr"), "127.0.0.1");
	assert_int_equal(num(rec, "port"), 8443);
	assert_string_equal(str(rec, "protocol"), "tcp");
	assert_string_equal(str(rec, "sock_type"), "stream");
	assert_null(json_object_get(rec, "mapped_ipv4"));
	assert_null(json_object_get(rec, "fd"));
	assert_null(json_object_get(rec, "result"));
	json_decref(rec);
}

static void test_connect_v6_and_mapped(void **state)
{
	struct sl_net_event e;
	json_t *rec;

	net_event(&e, SL_OP_CONNECT, AF_INET6, "::1", 443);
	rec = decode_net(&e, sizeof(e), 0);
	assert_string_equal(str(rec, "family"), "inet6");
	assert_string_equal(str(rec, "addr"), "::1");
	assert_null(json_object_get(rec, "mapped_ipv4"));
	json_decref(rec);

	net_event(&e, SL_OP_CONNECT, AF_INET6, "::ffff:10.1.2.3", 443);
	rec = decode_net(&e, sizeof(e), 0);
	assert_string_equal(str(rec, "family"), "inet6");
	assert_string_equal(str(rec, "addr"), "::ffff:10.1.2.3");
	assert_string_equal(str(rec, "mapped_ipv4"), "10.1.2.3");
	json_decref(rec);
}

static void test_udp_send(void **state)
{
	struct sl_net_event e;
	json_t *rec;

	net_event(&e, SL_OP_UDP_SEND, AF_INET, "127.0.0.53", 53);
	e.sock_type = SOCK_DGRAM;
	e.protocol = IPPROTO_UDP;
	rec = decode_net(&e, sizeof(e), 0);
	assert_string_equal(str(rec, "protocol"), "udp");
	assert_string_equal(str(rec, "sock_type"), "dgram");
	assert_int_equal(num(rec, "port"), 53);
	json_decref(rec);

	e.protocol = 132; /* SCTP: by number */
	rec = decode_net(&e, sizeof(e), 0);
	assert_int_equal(num(rec, "protocol"), 132);
	json_decref(rec);
}

static void test_connect_result(void **state)
{
	struct sl_net_event e;
	json_t *rec;

	net_event(&e, SL_OP_CONNECT_RESULT, AF_INET, "127.0.0.1", 1);
	e.fd = 5;
	e.ret = -ECONNREFUSED;
	rec = decode_net(&e, sizeof(e), 0);
	assert_int_equal(num(rec, "fd"), 5);
	assert_int_equal(num(rec, "result"), -ECONNREFUSED);
	assert_int_equal(num(rec, "errno"), ECONNREFUSED);
	assert_string_equal(str(rec, "error"), "ECONNREFUSED");
	json_decref(rec);

	e.ret = 0;
	rec = decode_net(&e, sizeof(e), 0);
	assert_int_equal(num(rec, "result"), 0);
	assert_null(json_object_get(rec, "errno"));
	assert_null(json_object_get(rec, "error"));
	json_decref(rec);

	/* descriptor that was not a socket: nothing known about the destination */
	net_event(&e, SL_OP_CONNECT_RESULT, 0, NULL, 0);
	e.sock_type = 0;
	e.protocol = 0;
	e.fd = 0;
	e.ret = -ENOTSOCK;
	rec = decode_net(&e, sizeof(e), 0);
	assert_true(json_is_null(json_object_get(rec, "family")));
	assert_true(json_is_null(json_object_get(rec, "addr")));
	assert_true(json_is_null(json_object_get(rec, "port")));
	assert_true(json_is_null(json_object_get(rec, "protocol")));
	assert_string_equal(str(rec, "error"), "ENOTSOCK");
	json_decref(rec);

	/* a result refused by the TLS gate: its errno once (found by fuzz_ingest) */
	net_event(&e, SL_OP_CONNECT_RESULT, AF_INET, "127.0.0.1", 443);
	e.hdr.flags |= SL_EVF_TLS_GATE;
	e.ret = -EPERM;
	rec = decode_net(&e, sizeof(e), 0);
	assert_string_equal(str(rec, "refused"), "tls_gate");
	assert_int_equal(num(rec, "errno"), EPERM);
	json_decref(rec);

	/* a result no errno can be: its number, no name, no overflow */
	e.hdr.flags = 0;
	e.ret = INT32_MIN;
	rec = decode_net(&e, sizeof(e), 0);
	assert_int_equal(num(rec, "errno"), 2147483648LL);
	json_decref(rec);
}

static void test_net_bad_records(void **state)
{
	struct sl_net_event e;
	json_t *rec;

	net_event(&e, SL_OP_CONNECT, AF_INET, "127.0.0.1", 80);
	rec = decode_net(&e, sizeof(e) - 1, -EBADMSG);
	json_decref(rec);
	e.hdr.op = SL_OP_OPEN;
	rec = decode_net(&e, sizeof(e), -EBADMSG);
	json_decref(rec);
}

/* ---- TLS ---- */

struct tls_rec {
	struct sl_tls_event e;
	char data[256];
};

static void tls_event(struct tls_rec *r, unsigned int op, const char *data, size_t len,
		      size_t data_len)
{
	memset(r, 0, sizeof(*r));
	r->e.hdr.op = op;
	r->e.conn = 0x55d0c1a2b3c0ULL;
	r->e.len = len;
	r->e.lib = SL_TLS_OPENSSL;
	r->e.fn = op == SL_OP_TLS_WRITE ? SL_TLS_FN_SSL_WRITE_EX : SL_TLS_FN_SSL_READ;
	r->e.data_len = data_len;
	memcpy(r->e.data, data, data_len);
	r->e.hdr.size = sizeof(r->e) + data_len;
}

static json_t *decode_tls(const struct tls_rec *r, size_t len, int want_err)
{
	struct sl_jw w;
	json_t *rec;

	sl_jw_init(&w, NULL, NULL);
	assert_int_equal(sl_decode_tls(r, len, &w), want_err);
	rec = want_err ? json_object() : members_tree(&w);
	sl_jw_free(&w);
	return rec;
}

static void test_tls_write_full(void **state)
{
	static const char body[] = "POST / HTTP/1.1\r\n\r\nbody";
	struct tls_rec r;
	json_t *rec, *peer;

	tls_event(&r, SL_OP_TLS_WRITE, body, strlen(body), strlen(body));
	strcpy(r.e.sni, "api.example.com");
	r.e.sni_len = strlen("api.example.com");
	r.e.peer_family = AF_INET6;
	r.e.peer_port = 8443;
	inet_pton(AF_INET6, "::1", r.e.peer_addr);
	rec = decode_tls(&r, sizeof(r.e) + strlen(body), 0);
	assert_string_equal(str(rec, "lib"), "openssl");
	assert_string_equal(str(rec, "function"), "SSL_write_ex");
	assert_string_equal(str(rec, "conn"), "0x55d0c1a2b3c0");
	assert_int_equal(num(rec, "len"), strlen(body));
	assert_int_equal(num(rec, "captured"), strlen(body));
	assert_true(json_is_false(json_object_get(rec, "truncated")));
	assert_string_equal(str(rec, "sni"), "api.example.com");
	peer = json_object_get(rec, "peer");
	assert_string_equal(str(peer, "addr"), "::1");
	assert_int_equal(num(peer, "port"), 8443);
	assert_string_equal(str(rec, "data"), body);
	json_decref(rec);
}

static void test_tls_read_unknown_and_binary(void **state)
{
	static const char bin[] = {0x00, 0x01, (char)0xff, (char)0xfe};
	struct tls_rec r;
	json_t *rec, *data;

	tls_event(&r, SL_OP_TLS_READ, bin, sizeof(bin), sizeof(bin));
	r.e.lib = SL_TLS_GNUTLS;
	r.e.fn = SL_TLS_FN_GNUTLS_RECV;
	rec = decode_tls(&r, sizeof(r.e) + sizeof(bin), 0);
	assert_string_equal(str(rec, "lib"), "gnutls");
	assert_string_equal(str(rec, "function"), "gnutls_record_recv");
	assert_true(json_is_null(json_object_get(rec, "sni")));
	assert_true(json_is_null(json_object_get(rec, "peer")));
	data = json_object_get(rec, "data");
	assert_true(json_is_object(data));
	assert_string_equal(str(data, "b64"), "AAH//g==");
	json_decref(rec);
}

static void test_tls_truncated(void **state)
{
	struct tls_rec r;
	json_t *rec;

	tls_event(&r, SL_OP_TLS_WRITE, "abcd", 100000, 4);
	r.e.hdr.flags = SL_EVF_TRUNCATED;
	rec = decode_tls(&r, sizeof(r.e) + 4, 0);
	assert_int_equal(num(rec, "len"), 100000);
	assert_int_equal(num(rec, "captured"), 4);
	assert_true(json_is_true(json_object_get(rec, "truncated")));
	assert_string_equal(str(rec, "data"), "abcd");
	json_decref(rec);
}

static void test_tls_bad_records(void **state)
{
	struct tls_rec r;
	json_t *rec;

	/* data_len beyond the record */
	tls_event(&r, SL_OP_TLS_WRITE, "abcd", 4, 4);
	rec = decode_tls(&r, sizeof(r.e) + 3, -EBADMSG);
	json_decref(rec);
	/* shorter than the fixed part */
	rec = decode_tls(&r, sizeof(r.e) - 1, -EBADMSG);
	json_decref(rec);
	/* sni_len out of range */
	tls_event(&r, SL_OP_TLS_WRITE, "abcd", 4, 4);
	r.e.sni_len = SL_SNI_MAX;
	rec = decode_tls(&r, sizeof(r.e) + 4, -EBADMSG);
	json_decref(rec);
	/* more captured than the call's length */
	tls_event(&r, SL_OP_TLS_WRITE, "abcd", 2, 4);
	rec = decode_tls(&r, sizeof(r.e) + 4, -EBADMSG);
	json_decref(rec);
	/* not a TLS op */
	tls_event(&r, SL_OP_CONNECT, "abcd", 4, 4);
	rec = decode_tls(&r, sizeof(r.e) + 4, -EBADMSG);
	json_decref(rec);
}

static void test_plain_write(void **state)
{
	static const char body[] = "POST /graphql HTTP/1.1\r\n\r\n";
	struct tls_rec r;
	json_t *rec, *peer;

	tls_event(&r, SL_OP_PLAIN_WRITE, body, strlen(body), strlen(body));
	r.e.conn = 7187222; /* the socket's inode */
	r.e.fd = 5;
	r.e.lib = SL_TLS_PLAIN;
	r.e.fn = SL_NET_FN_WRITEV;
	r.e.peer_family = AF_INET;
	r.e.peer_port = 8080;
	inet_pton(AF_INET, "127.0.0.1", r.e.peer_addr);
	rec = decode_tls(&r, sizeof(r.e) + strlen(body), 0);
	/* no TLS library, no server name: the system call and the socket */
	assert_null(json_object_get(rec, "lib"));
	assert_null(json_object_get(rec, "sni"));
	assert_string_equal(str(rec, "function"), "writev");
	assert_int_equal(num(rec, "socket"), 7187222);
	assert_int_equal(num(rec, "fd"), 5);
	assert_string_equal(str(rec, "conn"), "0x6dab16");
	peer = json_object_get(rec, "peer");
	assert_string_equal(str(peer, "addr"), "127.0.0.1");
	assert_int_equal(num(peer, "port"), 8080);
	assert_string_equal(str(rec, "data"), body);
	json_decref(rec);
	/* every system call has its name */
	for (unsigned int fn = SL_NET_FN_WRITE; fn <= SL_NET_FN_SENDMSG; fn++) {
		static const char *const names[] = {"write", "writev", "sendto", "sendmsg"};

		r.e.fn = fn;
		rec = decode_tls(&r, sizeof(r.e) + strlen(body), 0);
		assert_string_equal(str(rec, "function"), names[fn - SL_NET_FN_WRITE]);
		json_decref(rec);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect_v4),
	    cmocka_unit_test(test_connect_v6_and_mapped),
	    cmocka_unit_test(test_udp_send),
	    cmocka_unit_test(test_connect_result),
	    cmocka_unit_test(test_net_bad_records),
	    cmocka_unit_test(test_tls_write_full),
	    cmocka_unit_test(test_tls_read_unknown_and_binary),
	    cmocka_unit_test(test_tls_truncated),
	    cmocka_unit_test(test_tls_bad_records),
	    cmocka_unit_test(test_plain_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
