// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The request decoder (user/lib/reqdec.h), HTTP/1.1 and what bodies say:
 * real clients' bytes (tests/unit/fixtures/reqdec, recorded by capture.sh)
 * decode the same in one piece and byte by byte; pipelining, chunked framing,
 * upgrades; content codings (gzip, deflate, br, zstd, stacked) and bombs;
 * JSON escapes and depth; GraphQL operations, aliases, variables, fragments,
 * batches, GET and form transports; MCP calls; the record member and the
 * summary line; every malformed input undecidable with its reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <cmocka.h>
#include <errno.h>
#include <time.h>
#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

#include "jwriter.h"
#include "reqdec_helpers.h"

/* ---- real clients ---- */

static void check_fixture_steps(const char *name, struct rqs *out)
{
	size_t len, steps[] = {1, 7, 4096};
	void *buf = read_fixture(name, &len);

	rq_run(NULL, buf, len, 0, true, out);
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		struct rqs again = {0};

		rq_run(NULL, buf, len, steps[s], true, &again);
		assert_int_equal(again.n, out->n);
		for (size_t i = 0; i < out->n; i++) {
			assert_string_equal(again.r[i]->text, out->r[i]->text);
			assert_int_equal(again.r[i]->offset, out->r[i]->offset);
		}
		rqs_free(&again);
	}
	free(buf);
}

static void test_fixture_curl_h2(void **state)
{
	struct rqs o = {0};
	const struct sl_rq_header *h;

	check_fixture_steps("h2_curl.bin", &o);
	assert_int_equal(o.n, 1);
	assert_decoded(o.r[0]);
	assert_int_equal(o.r[0]->proto, SL_RQ_HTTP2);
	assert_int_equal(o.r[0]->stream_id, 1);
	assert_string_equal(o.r[0]->method, "POST");
	assert_string_equal(o.r[0]->path, "/graphql/v2");
	h = rq_hdr(o.r[0], "authorization");
	assert_non_null(h);
	assert_true(h->credential);
	assert_string_equal(h->value, "Bearer prod-token-123");
	assert_int_equal(o.r[0]->n_gql, 1);
	assert_int_equal(o.r[0]->gql[0].type, SL_RQ_GQL_MUTATION);
	assert_string_equal(o.r[0]->gql[0].fields[0].name, "volumeDelete");
	assert_text_has(o.r[0], "authorization: Bearer prod-token-123\n");
	assert_text_has(o.r[0], "graphql mutation volumeDelete(volumeId: \"vol-prod-7\")");
	rqs_free(&o);
}

static void test_fixture_curl_h2_big(void **state)
{
	struct rqs o = {0};

	/* 75000 bytes: DATA past the default 65535-byte window */
	check_fixture_steps("h2_curl_big.bin", &o);
	assert_int_equal(o.n, 1);
	assert_decoded(o.r[0]);
	assert_int_equal(o.r[0]->body_len, 75000);
	assert_text_has(o.r[0], "line 02499 DROP TABLE nothing");
	rqs_free(&o);
}

static void test_fixture_node_h2(void **state)
{
	struct rqs o = {0};

	check_fixture_steps("h2_node.bin", &o);
	assert_int_equal(o.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_decoded(o.r[i]);
	assert_string_equal(o.r[0]->authority, "backboard.example.com");
	assert_true(o.r[0]->gql[0].selected);
	assert_string_equal(o.r[0]->gql[0].name, "DeleteIt");
	assert_text_has(o.r[0], "graphql mutation volumeDelete(volumeId: \"vol-prod-7\")");
	/* REST DELETE over HTTP/2 */
	assert_string_equal(o.r[1]->method, "DELETE");
	assert_string_equal(o.r[1]->path, "/v1/volumes/vol-prod-7");
	assert_true(rq_hdr(o.r[1], "x-api-key")->credential);
	/* an MCP call in a brotli body */
	assert_string_equal(o.r[2]->encodings, "br");
	assert_int_equal(o.r[2]->n_mcp, 1);
	assert_string_equal(o.r[2]->mcp[0].tool, "drop_database");
	assert_string_equal(json_string_value(json_object_get(o.r[2]->mcp[0].params, "database")),
			    "production");
	rqs_free(&o);
}

static void test_fixture_curl_h1(void **state)
{
	struct rqs o = {0};

	check_fixture_steps("h1_curl_gzip.bin", &o);
	assert_int_equal(o.n, 1);
	assert_decoded(o.r[0]);
	assert_string_equal(o.r[0]->encodings, "gzip");
	assert_true(rq_hdr(o.r[0], "cookie")->credential);
	assert_string_equal(o.r[0]->gql[0].fields[0].name, "volumeDelete");
	rqs_free(&o);
	/* chunked, and the verb-first name spelled \u0064eleteVolume */
	check_fixture_steps("h1_curl_chunked.bin", &o);
	assert_int_equal(o.n, 1);
	assert_decoded(o.r[0]);
	assert_string_equal(o.r[0]->gql[0].fields[0].name, "deleteVolume");
	assert_text_has(o.r[0], "graphql mutation deleteVolume(id: \"vol-prod-7\")");
	rqs_free(&o);
}

static void test_fixture_websocket(void **state)
{
	struct rqs o = {0};

	/* python websockets: permessage-deflate with context takeover */
	check_fixture_steps("ws_python.bin", &o);
	assert_int_equal(o.n, 5);
	assert_int_equal(o.r[0]->proto, SL_RQ_HTTP1);
	assert_true(rq_hdr(o.r[0], "sec-websocket-protocol")->credential);
	for (size_t i = 1; i < 5; i++) {
		assert_decoded(o.r[i]);
		assert_int_equal(o.r[i]->proto, SL_RQ_WS);
		assert_string_equal(o.r[i]->encodings, "permessage-deflate");
		assert_string_equal(o.r[i]->path, "/graphql");
	}
	assert_string_equal(o.r[2]->gql[0].fields[0].name, "volumeDelete");
	assert_string_equal(o.r[3]->mcp[0].tool, "delete_bucket");
	/* a fragmented message */
	assert_string_equal((char *)o.r[4]->body, "part one, part two: deleteVolume");
	rqs_free(&o);
	/* node's WebSocket (undici): text and binary, no compression */
	check_fixture_steps("ws_node.bin", &o);
	assert_int_equal(o.n, 3);
	assert_string_equal(o.r[1]->mcp[0].tool, "purge_cache");
	assert_int_equal(o.r[2]->ws_opcode, 2);
	assert_int_equal(o.r[2]->body_len, 5);
	rqs_free(&o);
}

/* ---- HTTP/1.1 ---- */

static void run_str(const char *s, struct rqs *o)
{
	rq_run(NULL, s, strlen(s), 0, true, o);
}

static void test_h1_pipelined_and_framing(void **state)
{
	const char *in = "GET /a?x=1&token=t0p HTTP/1.1\r\nHost: a.test\r\n\r\n"
			 "POST /b HTTP/1.1\r\nHost: b.test\r\nContent-Length: 5\r\n\r\nhello"
			 "POST /c HTTP/1.1\r\nHost: c.test\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "3;name=value\r\nDRO\r\n6\r\nP TABL\r\n1\r\nE\r\n0\r\nX-Sig: abc\r\n\r\n";
	struct rqs o = {0};

	for (size_t step = 1; step <= strlen(in); step += 13) {
		rq_run(NULL, in, strlen(in), step, true, &o);
		assert_int_equal(o.n, 3);
		assert_decoded(o.r[0]);
		assert_string_equal(o.r[0]->authority, "a.test");
		assert_int_equal(o.r[0]->n_params, 2);
		assert_true(o.r[0]->params[1].credential);
		assert_string_equal((char *)o.r[1]->body, "hello");
		assert_int_equal(o.r[1]->offset, 47);
		/* chunk framing does not cut the keyword; extensions skipped, trailer kept */
		assert_string_equal((char *)o.r[2]->body, "DROP TABLE");
		assert_true(rq_hdr(o.r[2], "x-sig")->trailer);
		rqs_free(&o);
	}
}

/* bytes not captured inside a body of known length: the framing goes on */
static void run_feed(struct sl_reqdec *d, const char *s)
{
	assert_int_equal(sl_reqdec_feed(d, s, strlen(s)), 0);
}

static void test_h1_skip(void **state)
{
	const char *head = "POST /x HTTP/1.1\r\nHost: a.test\r\nContent-Length: 100\r\n\r\n";
	const char *next = "GET /next HTTP/1.1\r\nHost: b.test\r\n\r\n";
	char body[100];
	struct sl_reqdec *d;
	struct rqs o = {0};

	memset(body, 'x', sizeof(body));
	assert_int_equal(sl_reqdec_new(NULL, &d), 0);
	/* in the head: not skippable */
	assert_int_equal(sl_reqdec_feed(d, head, 10), 0);
	assert_int_equal(sl_reqdec_skip(d, 5), -EAGAIN);
	assert_int_equal(sl_reqdec_feed(d, head + 10, strlen(head) - 10), 0);
	assert_int_equal(sl_reqdec_feed(d, body, 10), 0);
	/* more than the body has left: not skippable, nothing changed */
	assert_int_equal(sl_reqdec_skip(d, 91), -EAGAIN);
	assert_int_equal(sl_reqdec_skip(d, 80), 0);
	rqs_take(d, &o);
	assert_int_equal(o.n, 0); /* the request has not ended */
	assert_int_equal(sl_reqdec_feed(d, body, 10), 0);
	assert_int_equal(sl_reqdec_feed(d, next, strlen(next)), 0);
	rqs_take(d, &o);
	assert_int_equal(o.n, 2);
	assert_int_equal(o.r[0]->status, SL_RQ_UNDECIDABLE);
	assert_int_equal(o.r[0]->reason, SL_RQ_R_LIMIT);
	assert_non_null(strstr(o.r[0]->detail, "80 bytes of the body were not captured"));
	assert_true(o.r[0]->head_done);
	assert_string_equal(o.r[0]->authority, "a.test");
	assert_int_equal(o.r[0]->wire_len, 100);
	assert_decoded(o.r[1]);
	assert_true(o.r[1]->head_done);
	assert_string_equal(o.r[1]->authority, "b.test");
	assert_int_equal(o.r[1]->offset, strlen(head) + 100);
	rqs_free(&o);
	/* a skip to the body's very end hands the request out */
	assert_int_equal(sl_reqdec_feed(d, head, strlen(head)), 0);
	assert_int_equal(sl_reqdec_skip(d, 100), 0);
	rqs_take(d, &o);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.r[0]->reason, SL_RQ_R_LIMIT);
	rqs_free(&o);
	/* a chunked body: not skippable */
	sl_reqdec_reset(d);
	run_feed(d, "POST /c HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
	assert_int_equal(sl_reqdec_skip(d, 2), -EAGAIN);
	sl_reqdec_free(d);
}

static void test_h1_absolute_form_and_userinfo(void **state)
{
	struct rqs o = {0};

	run_str("GET http://user:pa%73s@api.test:8080/p%61th/x?q=a+b%21 HTTP/1.1\r\n"
		"Host: other.test\r\n\r\n",
		&o);
	assert_int_equal(o.n, 1);
	assert_decoded(o.r[0]);
	assert_string_equal(o.r[0]->authority, "api.test:8080");
	assert_string_equal(o.r[0]->scheme, "http");
	assert_string_equal(o.r[0]->userinfo, "user:pass");
	assert_string_equal(o.r[0]->path, "/path/x");
	assert_string_equal(o.r[0]->params[0].value, "a b!");
	rqs_free(&o);
}

static void test_h1_malformed(void **state)
{
	struct rqs o = {0};
	struct sl_reqdec_limits lim;

	/* a chunk size that is not hex */
	run_str("POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &o);
	assert_int_equal(o.n, 1);
	assert_undecidable(o.r[0], SL_RQ_R_MALFORMED, "chunk size");
	assert_undecidable(o.r[0], SL_RQ_R_MALFORMED, "at offset 57");
	rqs_free(&o);
	/* the body ends before Content-Length */
	run_str("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc", &o);
	assert_int_equal(o.n, 1);
	assert_undecidable(o.r[0], SL_RQ_R_INCOMPLETE, "ended inside a request");
	rqs_free(&o);
	/* Content-Length and chunked together (smuggling) */
	run_str("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: "
		"chunked\r\n\r\n0\r\n\r\n",
		&o);
	assert_true(o.n >= 1);
	assert_int_equal(o.r[0]->status, SL_RQ_UNDECIDABLE);
	rqs_free(&o);
	/* not HTTP; then every later write is answered too */
	{
		struct sl_reqdec *d;
		struct sl_rq *r;

		assert_int_equal(sl_reqdec_new(NULL, &d), 0);
		assert_int_equal(sl_reqdec_feed(d, "\x01\x02garbage\r\n\r\n", 13), 0);
		r = sl_reqdec_next(d);
		assert_non_null(r);
		assert_undecidable(r, SL_RQ_R_MALFORMED, "offset 0");
		sl_rq_free(r);
		assert_int_equal(sl_reqdec_feed(d, "GET / HTTP/1.1\r\n\r\n", 18), 0);
		r = sl_reqdec_next(d);
		assert_non_null(r);
		assert_undecidable(r, SL_RQ_R_FAILED_EARLIER, "since offset 0");
		sl_rq_free(r);
		/* reset: a new connection decodes again */
		sl_reqdec_reset(d);
		assert_int_equal(sl_reqdec_feed(d, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27), 0);
		r = sl_reqdec_next(d);
		assert_non_null(r);
		assert_decoded(r);
		sl_rq_free(r);
		sl_reqdec_free(d);
	}
	/* TLS bytes where plaintext was expected */
	rq_run(NULL, "\x16\x03\x01\x02\x00\x01", 6, 0, true, &o);
	assert_int_equal(o.n, 1);
	assert_undecidable(o.r[0], SL_RQ_R_UNSUPPORTED, "TLS handshake");
	rqs_free(&o);
	/* header limits */
	sl_reqdec_limits_default(&lim);
	lim.max_headers = 2;
	rq_run(&lim,
	       "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\nGET /n HTTP/1.1\r\nA: 1\r\n\r\n", 61,
	       0, true, &o);
	assert_int_equal(o.n, 2);
	assert_undecidable(o.r[0], SL_RQ_R_LIMIT, "more than 2 header fields");
	assert_true(o.r[0]->truncated);
	/* the framing is followed past the refused request */
	assert_decoded(o.r[1]);
	assert_string_equal(o.r[1]->path, "/n");
	rqs_free(&o);
	/* an Upgrade to something else */
	run_str("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: foo/1\r\n\r\nxyz",
		&o);
	assert_int_equal(o.n, 2);
	assert_undecidable(o.r[1], SL_RQ_R_UNSUPPORTED, "Upgrade");
	rqs_free(&o);
}

static void test_h1_body_limit_and_connect(void **state)
{
	struct sl_reqdec_limits lim;
	struct rqs o = {0};
	char big[2048];
	int n;

	sl_reqdec_limits_default(&lim);
	lim.max_wire_body = 100;
	n = snprintf(big, sizeof(big),
		     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n");
	memset(big + n, 'x', 1000);
	memcpy(big + n + 1000, "GET /next HTTP/1.1\r\n\r\n", 22);
	rq_run(&lim, big, (size_t)n + 1022, 10, true, &o);
	assert_int_equal(o.n, 2);
	assert_undecidable(o.r[0], SL_RQ_R_LIMIT, "body over 100 bytes");
	assert_int_equal(o.r[0]->body_len, 100);
	assert_decoded(o.r[1]);
	rqs_free(&o);
	/* CONNECT: the tunnel carries a new connection (here HTTP/1.1 again) */
	run_str("CONNECT db.test:443 HTTP/1.1\r\nHost: db.test:443\r\nProxy-Authorization: Basic "
		"eDp5\r\n\r\nDELETE /v1/x HTTP/1.1\r\nHost: in.test\r\n\r\n",
		&o);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.r[0]->authority, "db.test:443");
	assert_true(rq_hdr(o.r[0], "proxy-authorization")->credential);
	assert_string_equal(o.r[1]->method, "DELETE");
	rqs_free(&o);
}

/* ---- content codings ---- */

static size_t gz(const void *in, size_t len, uint8_t *out, size_t cap, int wbits)
{
	z_stream z = {0};

	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, wbits, 9, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (uint8_t *)in;
	z.avail_in = len;
	z.next_out = out;
	z.avail_out = cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return cap - z.avail_out;
}

/* a request with body and Content-Encoding */
static void run_body(const struct sl_reqdec_limits *lim, const char *ce, const char *ct,
		     const void *body, size_t len, struct rqs *o)
{
	size_t cap = len + 512;
	char *req = malloc(cap);
	int n;

	assert_non_null(req);
	n = snprintf(req, cap,
		     "POST /api HTTP/1.1\r\nHost: h.test\r\n%s%s%sContent-Type: %s\r\n"
		     "Content-Length: %zu\r\n\r\n",
		     ce ? "Content-Encoding: " : "", ce ? ce : "", ce ? "\r\n" : "", ct, len);
	memcpy(req + n, body, len);
	rq_run(lim, req, (size_t)n + len, 0, true, o);
	free(req);
}

static void test_encodings(void **state)
{
	const char *json = "{\"query\":\"mutation { volumeDelete(volumeId: \\\"v1\\\") }\"}";
	uint8_t a[4096], b[4096];
	size_t la, lb;
	struct rqs o = {0};

	/* gzip, deflate (zlib), deflate (raw) */
	la = gz(json, strlen(json), a, sizeof(a), 15 + 16);
	run_body(NULL, "gzip", "application/json", a, la, &o);
	assert_decoded(o.r[0]);
	assert_string_equal((char *)o.r[0]->body, json);
	rqs_free(&o);
	la = gz(json, strlen(json), a, sizeof(a), 15);
	run_body(NULL, "deflate", "application/json", a, la, &o);
	assert_decoded(o.r[0]);
	assert_string_equal(o.r[0]->gql[0].fields[0].name, "volumeDelete");
	rqs_free(&o);
	la = gz(json, strlen(json), a, sizeof(a), -15);
	run_body(NULL, "deflate", "application/json", a, la, &o);
	assert_decoded(o.r[0]);
	rqs_free(&o);
	/* br */
	la = sizeof(a);
	assert_true(BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, strlen(json),
					  (const uint8_t *)json, &la, a));
	run_body(NULL, "br", "application/json", a, la, &o);
	assert_decoded(o.r[0]);
	assert_string_equal((char *)o.r[0]->body, json);
	rqs_free(&o);
	/* zstd */
	la = ZSTD_compress(a, sizeof(a), json, strlen(json), 3);
	assert_false(ZSTD_isError(la));
	run_body(NULL, "zstd", "application/json", a, la, &o);
	assert_decoded(o.r[0]);
	assert_string_equal((char *)o.r[0]->body, json);
	rqs_free(&o);
	/* stacked: gzip applied first, then zstd */
	la = gz(json, strlen(json), a, sizeof(a), 15 + 16);
	lb = ZSTD_compress(b, sizeof(b), a, la, 3);
	run_body(NULL, "gzip, identity, zstd", "application/json", b, lb, &o);
	assert_decoded(o.r[0]);
	assert_string_equal((char *)o.r[0]->body, json);
	assert_string_equal(o.r[0]->encodings, "gzip, identity, zstd");
	rqs_free(&o);
	/* unknown, too many, corrupt, truncated, trailing garbage */
	run_body(NULL, "compress", "text/plain", "abc", 3, &o);
	assert_undecidable(o.r[0], SL_RQ_R_UNSUPPORTED, "\"compress\"");
	rqs_free(&o);
	run_body(NULL, "gzip, gzip, gzip, gzip", "text/plain", "abc", 3, &o);
	assert_undecidable(o.r[0], SL_RQ_R_LIMIT, "more than 3 content codings");
	rqs_free(&o);
	la = gz(json, strlen(json), a, sizeof(a), 15 + 16);
	a[12] ^= 0xff;
	run_body(NULL, "gzip", "application/json", a, la, &o);
	assert_undecidable(o.r[0], SL_RQ_R_ENCODING, "gzip:");
	rqs_free(&o);
	la = gz(json, strlen(json), a, sizeof(a), 15 + 16);
	run_body(NULL, "gzip", "application/json", a, la - 6, &o);
	assert_undecidable(o.r[0], SL_RQ_R_ENCODING, "gzip: truncated");
	rqs_free(&o);
	memcpy(a + la, "junk", 4);
	run_body(NULL, "gzip", "application/json", a, la + 4, &o);
	assert_undecidable(o.r[0], SL_RQ_R_ENCODING, "4 bytes after the end");
	rqs_free(&o);
	run_body(NULL, "br", "text/plain", "\xff\xff\xff\xff", 4, &o);
	assert_undecidable(o.r[0], SL_RQ_R_ENCODING, "br:");
	rqs_free(&o);
	run_body(NULL, "zstd", "text/plain", "\x28\xb5\x2f\xfd\xff\xff", 6, &o);
	assert_int_equal(o.r[0]->status, SL_RQ_UNDECIDABLE);
	assert_true(strstr(o.r[0]->detail, "zstd:") != NULL);
	rqs_free(&o);
}

static void test_bombs(void **state)
{
	size_t big = 256u << 20, cap = 1u << 20, la, lz;
	uint8_t *zeros = calloc(1, big), *a = malloc(cap), *z = malloc(cap);
	struct timespec t0, t1;
	struct rqs o = {0};
	double ms;

	assert_non_null(zeros);
	assert_non_null(a);
	assert_non_null(z);
	/* 256 MiB of zeros in about 250 KB of gzip */
	la = gz(zeros, big, a, cap, 15 + 16);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_body(NULL, "gzip", "text/plain", a, la, &o);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_undecidable(o.r[0], SL_RQ_R_BOMB, "body over 4194304 bytes decoded");
	assert_true(o.r[0]->truncated);
	assert_int_equal(o.r[0]->body_len, 4u << 20);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("gzip bomb: %zu bytes sent, refused after %.1f ms\n", la, ms);
	assert_true(ms < 2000);
	rqs_free(&o);
	/* the same through zstd and br */
	lz = ZSTD_compress(z, cap, zeros, big, 1);
	assert_false(ZSTD_isError(lz));
	run_body(NULL, "zstd", "text/plain", z, lz, &o);
	assert_undecidable(o.r[0], SL_RQ_R_BOMB, "zstd: body over");
	rqs_free(&o);
	la = cap;
	assert_true(BrotliEncoderCompress(1, 22, BROTLI_MODE_GENERIC, 64u << 20, zeros, &la, a));
	run_body(NULL, "br", "text/plain", a, la, &o);
	assert_undecidable(o.r[0], SL_RQ_R_BOMB, "br: body over");
	rqs_free(&o);
	/* gzip in gzip: the limit holds at every stage */
	la = gz(zeros, 64u << 20, a, cap, 15 + 16);
	lz = gz(a, la, z, cap, 15 + 16);
	run_body(NULL, "gzip, gzip", "text/plain", z, lz, &o);
	assert_int_equal(o.r[0]->reason, SL_RQ_R_BOMB);
	rqs_free(&o);
	free(zeros);
	free(a);
	free(z);
}

/* ---- JSON, forms ---- */

static void test_json(void **state)
{
	struct rqs o = {0};
	char deep[400];
	const char *s;

	/* \u escapes decode, keys too */
	s = "{\"q\\u0075ery\":\"mutation { \\u0076olumeDelete(volumeId: \\\"\\u0044\\\") }\","
	    "\"a\":{\"b\":[1,{\"c\":\"DROP\\tTABLE\"}]},\"n\":123456789012345678901234567890}";
	run_body(NULL, NULL, "application/json", s, strlen(s), &o);
	assert_decoded(o.r[0]);
	assert_string_equal(o.r[0]->gql[0].fields[0].name, "volumeDelete");
	assert_text_has(o.r[0], "graphql mutation volumeDelete(volumeId: \"D\")");
	assert_text_has(o.r[0], "a.b[1].c: DROP\tTABLE\n");
	rqs_free(&o);
	/* too deep */
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	run_body(NULL, NULL, "application/json", deep, 200, &o);
	assert_undecidable(o.r[0], SL_RQ_R_LIMIT, "nested deeper than 64");
	rqs_free(&o);
	/* invalid JSON where JSON was declared, or shaped like it */
	run_body(NULL, NULL, "application/json", "{\"a\":", 5, &o);
	assert_undecidable(o.r[0], SL_RQ_R_JSON, "JSON body:");
	rqs_free(&o);
	run_body(NULL, NULL, "text/plain", "{\"a\": NaN}", 10, &o);
	assert_undecidable(o.r[0], SL_RQ_R_JSON, "JSON body:");
	rqs_free(&o);
	/* invalid UTF-8 inside a JSON string */
	run_body(NULL, NULL, "application/json", "{\"a\":\"\xc3\x28\"}", 10, &o);
	assert_undecidable(o.r[0], SL_RQ_R_JSON, "unable to decode byte 0xc3");
	rqs_free(&o);
	/* text that is not JSON-shaped stays text */
	run_body(NULL, NULL, "text/plain", "hello {", 7, &o);
	assert_decoded(o.r[0]);
	assert_null(o.r[0]->json);
	rqs_free(&o);
	/* form body: percent-decoding, credentials */
	s = "a=DROP%20TABLE&password=hunter2&x=%E2%82%AC+1";
	run_body(NULL, NULL, "application/x-www-form-urlencoded", s, strlen(s), &o);
	assert_decoded(o.r[0]);
	assert_int_equal(o.r[0]->n_form, 3);
	assert_string_equal(o.r[0]->form[0].value, "DROP TABLE");
	assert_true(o.r[0]->form[1].credential);
	assert_string_equal(o.r[0]->form[2].value, "\xe2\x82\xac 1");
	assert_text_has(o.r[0], "form a=DROP TABLE\n");
	rqs_free(&o);
}

/* ---- GraphQL ---- */

static void gql(const char *json, struct rqs *o)
{
	run_body(NULL, NULL, "application/json", json, strlen(json), o);
}

static void test_graphql(void **state)
{
	struct rqs o = {0};
	const struct sl_rq_gql_field *f;

	/* aliases, variables, defaults, fragments at the root, inline fragments */
	gql("{\"query\":\"mutation M($id: ID!, $all: Boolean = true) { gone: "
	    "volumeDelete(volumeId: "
	    "$id, opts: {all: $all, tags: [\\\"a\\\", $id]}) ...F ... on Mutation { "
	    "deleteProject(id: 3) { id } } } fragment F on Mutation { serviceDelete(id: $id) "
	    "@include(if: true) }\",\"variables\":{\"id\":\"vol-9\"},\"operationName\":\"M\"}",
	    &o);
	assert_decoded(o.r[0]);
	assert_int_equal(o.r[0]->n_gql, 1);
	assert_true(o.r[0]->gql[0].selected);
	assert_int_equal(o.r[0]->gql[0].n_fields, 3);
	f = &o.r[0]->gql[0].fields[0];
	assert_string_equal(f->name, "volumeDelete");
	assert_string_equal(f->alias, "gone");
	assert_string_equal(json_string_value(f->args[0].value), "vol-9");
	assert_true(json_is_true(json_object_get(f->args[1].value, "all")));
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(f->args[1].value, "tags"), 1)),
	    "vol-9");
	assert_string_equal(o.r[0]->gql[0].fields[1].name, "deleteProject");
	assert_string_equal(o.r[0]->gql[0].fields[2].name, "serviceDelete");
	assert_string_equal(json_string_value(o.r[0]->gql[0].fields[2].args[0].value), "vol-9");
	rqs_free(&o);
	/* batched; variables as a JSON string; block strings and escapes */
	gql("[{\"query\":\"query { me { id } }\"},{\"query\":\"mutation($v: String) { a(x: "
	    "\\\"\\\"\\\"multi\\nline\\\"\\\"\\\", y: \\\"\\\\u0041\\\", z: $v) }\","
	    "\"variables\":\"{\\\"v\\\": \\\"w\\\"}\"}]",
	    &o);
	assert_decoded(o.r[0]);
	assert_int_equal(o.r[0]->n_gql, 2);
	assert_int_equal(o.r[0]->gql[0].type, SL_RQ_GQL_QUERY);
	assert_int_equal(o.r[0]->gql[1].type, SL_RQ_GQL_MUTATION);
	f = &o.r[0]->gql[1].fields[0];
	assert_string_equal(json_string_value(f->args[0].value), "multi\nline");
	assert_string_equal(json_string_value(f->args[1].value), "A");
	assert_string_equal(json_string_value(f->args[2].value), "w");
	rqs_free(&o);
	/* GET ?query= and a form body */
	run_str("GET /graphql?query=mutation%7BdeleteVolume(id%3A%221%22)%7D HTTP/1.1\r\nHost: "
		"g\r\n\r\n",
		&o);
	assert_decoded(o.r[0]);
	assert_string_equal(o.r[0]->gql[0].fields[0].name, "deleteVolume");
	rqs_free(&o);
	run_body(NULL, NULL, "application/x-www-form-urlencoded",
		 "query=mutation+%7B+x+%7D&operationName=", 38, &o);
	assert_decoded(o.r[0]);
	assert_string_equal(o.r[0]->gql[0].fields[0].name, "x");
	rqs_free(&o);
	run_body(NULL, NULL, "application/graphql", "subscription { s }", 18, &o);
	assert_int_equal(o.r[0]->gql[0].type, SL_RQ_GQL_SUBSCRIPTION);
	rqs_free(&o);
	/* a search API's query= that is not GraphQL is left alone */
	run_str("GET /search?query=cats HTTP/1.1\r\nHost: g\r\n\r\n", &o);
	assert_decoded(o.r[0]);
	assert_int_equal(o.r[0]->n_gql, 0);
	rqs_free(&o);
	/* errors */
	gql("{\"query\":\"mutation { volumeDelete(volumeId: \\\"x) }\"}", &o);
	assert_undecidable(o.r[0], SL_RQ_R_GRAPHQL, "unterminated string");
	rqs_free(&o);
	gql("{\"query\":\"mutation { a(x: 1 }\"}", &o);
	assert_undecidable(o.r[0], SL_RQ_R_GRAPHQL, "expected a name at byte 18");
	rqs_free(&o);
	gql("{\"query\":\"{ ...A } fragment A on Q { ...B } fragment B on Q { ...A }\"}", &o);
	assert_undecidable(o.r[0], SL_RQ_R_GRAPHQL, "fragment spreads nested too deep");
	rqs_free(&o);
	gql("{\"query\":\"{ ...Missing }\"}", &o);
	assert_undecidable(o.r[0], SL_RQ_R_GRAPHQL, "undefined fragment");
	rqs_free(&o);
	gql("{\"extensions\":{\"persistedQuery\":{\"version\":1,\"sha256Hash\":\"ab\"}}}", &o);
	assert_undecidable(o.r[0], SL_RQ_R_UNSUPPORTED, "persisted query");
	assert_true(o.r[0]->gql_persisted);
	rqs_free(&o);
	{
		char q[1200];
		int n = snprintf(q, sizeof(q), "{\"query\":\"{ ");

		for (int i = 0; i < 100; i++)
			n += snprintf(q + n, sizeof(q) - n, "a { ");
		snprintf(q + n, sizeof(q) - n, "\"}");
		gql(q, &o);
		assert_undecidable(o.r[0], SL_RQ_R_LIMIT, "nested too deep");
		rqs_free(&o);
	}
}

/* ---- MCP ---- */

static void test_mcp(void **state)
{
	struct rqs o = {0};

	gql("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
	    "\"delete_database\",\"arguments\":{\"db\":\"prod\"}}},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
	    "{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"method\":\"resources/read\",\"params\":{\"uri\":"
	    "\"file:///etc/shadow\"}}]",
	    &o);
	assert_decoded(o.r[0]);
	assert_int_equal(o.r[0]->n_mcp, 3);
	assert_string_equal(o.r[0]->mcp[0].method, "tools/call");
	assert_string_equal(o.r[0]->mcp[0].tool, "delete_database");
	assert_int_equal(json_integer_value(o.r[0]->mcp[0].id), 1);
	assert_null(o.r[0]->mcp[1].id);
	assert_null(o.r[0]->mcp[2].tool);
	assert_text_has(o.r[0], "mcp tools/call delete_database {\"db\":\"prod\"}\n");
	assert_text_has(o.r[0], "mcp resources/read {\"uri\":\"file:///etc/shadow\"}\n");
	rqs_free(&o);
}

/* ---- records ---- */

static int redact(void *ctx, const void *in, size_t len, const void **out, size_t *outlen)
{
	if (memmem(in, len, "SECRET", 6)) {
		*out = "[redacted]";
		*outlen = 10;
	}
	return 0;
}

static void test_record_and_summary(void **state)
{
	const char *body = "{\"query\":\"mutation { volumeDelete(volumeId: \\\"SECRET-1\\\") }\"}";
	char in[512];
	struct rqs o = {0};
	struct sl_jw w;
	const char *text;
	size_t len;
	char line[160], *doc;
	json_t *root, *v, *h;

	snprintf(in, sizeof(in),
		 "POST /graphql?api_key=k1 HTTP/1.1\r\nHost: api.test\r\n"
		 "Authorization: Bearer T0K\r\nX-Request-Id: 42\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(body), body);
	run_str(in, &o);
	assert_int_equal(o.n, 1);
	assert_decoded(o.r[0]);
	sl_jw_init(&w, redact, NULL);
	sl_rq_record(&w, "request", o.r[0], 40);
	assert_int_equal(sl_jw_members(&w, &text, &len), 0);
	assert_true(asprintf(&doc, "{%.*s}", (int)len, text) > 0);
	root = json_loads(doc, 0, NULL);
	assert_non_null(root);
	v = json_object_get(root, "request");
	assert_string_equal(json_string_value(json_object_get(v, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(v, "authority")), "api.test");
	h = json_object_get(v, "headers");
	assert_string_equal(json_string_value(json_array_get(json_array_get(h, 1), 0)),
			    "authorization");
	assert_true(json_is_null(json_array_get(json_array_get(h, 1), 1)));
	assert_string_equal(json_string_value(json_array_get(json_array_get(h, 2), 1)), "42");
	assert_true(
	    json_is_null(json_array_get(json_array_get(json_object_get(v, "query"), 0), 1)));
	/* the body excerpt: 40 bytes; the GraphQL argument went through the filter */
	assert_int_equal(json_string_length(json_object_get(v, "body")), 40);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(
		    json_array_get(
			json_object_get(json_array_get(json_object_get(v, "graphql"), 0), "fields"),
			0),
		    "args"),
		"volumeId")),
	    "[redacted]");
	assert_null(strstr(doc, "T0K"));
	assert_null(strstr(doc, "k1\""));
	free(doc);
	json_decref(root);
	sl_jw_free(&w);
	sl_rq_summary(o.r[0], line, sizeof(line));
	assert_string_equal(line, "HTTP/1.1 POST api.test/graphql mutation volumeDelete");
	/* the matcher's text is not a record: nothing in it is redacted */
	assert_text_has(o.r[0], "authorization: Bearer T0K\n");
	rqs_free(&o);
	run_str("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n", &o);
	sl_rq_summary(o.r[0], line, sizeof(line));
	assert_non_null(strstr(line, "UNDECIDABLE malformed: HTTP/1.1: invalid character in chunk "
				     "size header at offset 55"));
	rqs_free(&o);
}

static void test_limits_pending_text_memory(void **state)
{
	struct sl_reqdec_limits lim;
	struct rqs o = {0};
	char many[64 * 20];
	size_t n = 0;

	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "GET /%02d HTTP/1.1\r\n\r\n", i);
	sl_reqdec_limits_default(&lim);
	lim.max_pending = 10;
	rq_run(&lim, many, n, 0, true, &o);
	/* nothing dropped: the requests decoded before the limit, then the refusal */
	assert_int_equal(o.n, 12);
	assert_decoded(o.r[9]);
	assert_undecidable(o.r[11], SL_RQ_R_LIMIT, "more than 10 decoded requests waiting");
	rqs_free(&o);
	/* canonical text limit */
	sl_reqdec_limits_default(&lim);
	lim.max_text = 40;
	run_body(&lim, NULL, "text/plain", "0123456789012345678901234567890123456789", 40, &o);
	assert_undecidable(o.r[0], SL_RQ_R_LIMIT, "canonical text over 40 bytes");
	assert_int_equal(o.r[0]->text_len, 40);
	rqs_free(&o);
	/* working memory: a body larger than the connection may hold */
	sl_reqdec_limits_default(&lim);
	lim.max_memory = 64 << 10;
	{
		size_t blen = 200 << 10;
		char *b = malloc(blen);

		memset(b, 'y', blen);
		run_body(&lim, NULL, "text/plain", b, blen, &o);
		assert_undecidable(o.r[0], SL_RQ_R_LIMIT, "connection memory over 65536 bytes");
		free(b);
	}
	rqs_free(&o);
	/* bad limits */
	{
		struct sl_reqdec *d;

		lim.max_memory = 0;
		assert_int_equal(sl_reqdec_new(&lim, &d), -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_curl_h2),
	    cmocka_unit_test(test_fixture_curl_h2_big),
	    cmocka_unit_test(test_fixture_node_h2),
	    cmocka_unit_test(test_fixture_curl_h1),
	    cmocka_unit_test(test_fixture_websocket),
	    cmocka_unit_test(test_h1_pipelined_and_framing),
	    cmocka_unit_test(test_h1_skip),
	    cmocka_unit_test(test_h1_absolute_form_and_userinfo),
	    cmocka_unit_test(test_h1_malformed),
	    cmocka_unit_test(test_h1_body_limit_and_connect),
	    cmocka_unit_test(test_encodings),
	    cmocka_unit_test(test_bombs),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_graphql),
	    cmocka_unit_test(test_mcp),
	    cmocka_unit_test(test_record_and_summary),
	    cmocka_unit_test(test_limits_pending_text_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
