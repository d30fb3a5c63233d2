// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The request decoder (user/lib/reqdec.h), HTTP/2 and WebSocket: frames
 * made by nghttp2 as a client (HPACK, CONTINUATION, padding, interleaved
 * streams) decode; truncated frames, bad HPACK, resets, stream limits are
 * undecidable with their reason and offset. WebSocket: masking, fragments
 * with control frames between them, permessage-deflate with the window kept
 * across messages, a deflate bomb, invalid UTF-8, unmasked and unnegotiated
 * frames, a refused upgrade.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include "reqdec_helpers.h"

/* ---- HTTP/2 frames from nghttp2's client ---- */

struct h2c {
	nghttp2_session *s;
	uint8_t *out;
	size_t len, cap;
	size_t pad; /* padding per frame */
};

static ssize_t pad_cb(nghttp2_session *s, const nghttp2_frame *f, size_t max, void *ud)
{
	struct h2c *c = ud;
	size_t want = f->hd.length + c->pad;

	return (ssize_t)(want < max ? want : max);
}

static void h2c_init(struct h2c *c, size_t pad)
{
	nghttp2_session_callbacks *cb;

	memset(c, 0, sizeof(*c));
	c->pad = pad;
	assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
	if (pad)
		nghttp2_session_callbacks_set_select_padding_callback(cb, pad_cb);
	assert_int_equal(nghttp2_session_client_new(&c->s, cb, c), 0);
	nghttp2_session_callbacks_del(cb);
	assert_int_equal(nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, NULL, 0), 0);
}

static void h2c_flush(struct h2c *c)
{
	const uint8_t *p;
	ssize_t n;

	while ((n = nghttp2_session_mem_send(c->s, &p)) > 0) {
		if (c->len + (size_t)n > c->cap) {
			c->cap = (c->len + (size_t)n) * 2;
			c->out = realloc(c->out, c->cap);
			assert_non_null(c->out);
		}
		memcpy(c->out + c->len, p, (size_t)n);
		c->len += (size_t)n;
	}
	assert_true(n == 0);
}

struct body {
	const char *p;
	size_t len, off;
};

static ssize_t read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
		       nghttp2_data_source *src, void *ud)
{
	struct body *b = src->ptr;
	size_t n = b->len - b->off < len ? b->len - b->off : len;

	memcpy(buf, b->p + b->off, n);
	b->off += n;
	if (b->off == b->len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE         \
	}

static int32_t h2c_request(struct h2c *c, const char *method, const char *path,
			   const nghttp2_nv *extra, size_t n_extra, struct body *b)
{
	nghttp2_nv nv[16] = {NV(":method", method), NV(":scheme", "https"),
			     NV(":authority", "h2.test"), NV(":path", path)};
	nghttp2_data_provider dp = {.source.ptr = b, .read_callback = read_cb};
	int32_t id;

	memcpy(nv + 4, extra, n_extra * sizeof(*nv));
	id = nghttp2_submit_request(c->s, NULL, nv, 4 + n_extra, b ? &dp : NULL, NULL);
	assert_true(id > 0);
	return id;
}

static void test_h2_hpack_continuation_padding(void **state)
{
	static char big[20000];
	struct body b1 = {"{\"query\":\"mutation { volumeDelete(volumeId: \\\"v\\\") }\"}"}, b2;
	struct rqs o = {0};
	struct h2c c;

	memset(big, 'b', sizeof(big) - 1);
	nghttp2_nv h1[] = {NV("authorization", "Bearer h2-secret"),
			   NV("content-type", "application/json")};
	nghttp2_nv h2[] = {NV("x-big", big), NV("cookie", "c=1")};

	b1.len = strlen(b1.p);
	b2 = (struct body){"second body", 11, 0};
	h2c_init(&c, 50);
	h2c_request(&c, "POST", "/graphql", h1, 2, &b1);
	/* a 20 KB header: HEADERS + CONTINUATION */
	h2c_request(&c, "PUT", "/v1/x?y=%7A", h2, 2, &b2);
	h2c_flush(&c);
	/* the same header again: now an HPACK index */
	h2c_request(&c, "DELETE", "/v1/x", h1, 1, NULL);
	h2c_flush(&c);
	for (size_t step = 1; step < 20; step += 9) {
		rq_run(NULL, c.out, c.len, step == 1 ? 0 : step, true, &o);
		assert_int_equal(o.n, 3);
		for (size_t i = 0; i < 3; i++)
			assert_decoded(o.r[i]);
		assert_string_equal(o.r[0]->method, "POST");
		assert_string_equal(o.r[0]->authority, "h2.test");
		assert_string_equal(o.r[0]->gql[0].fields[0].name, "volumeDelete");
		assert_true(rq_hdr(o.r[0], "authorization")->credential);
		assert_int_equal(rq_hdr(o.r[1], "x-big")->value_len, sizeof(big) - 1);
		assert_string_equal(o.r[1]->params[0].value, "z");
		assert_string_equal((char *)o.r[1]->body, "second body");
		assert_string_equal(o.r[2]->method, "DELETE");
		assert_string_equal(rq_hdr(o.r[2], "authorization")->value, "Bearer h2-secret");
		assert_int_equal(o.r[2]->stream_id, 5);
		rqs_free(&o);
	}
	nghttp2_session_del(c.s);
	free(c.out);
}

/* what the credential hook was told */
struct told {
	char name[32], value[128];
	size_t n, at; /* calls; bytes fed at the first one */
	size_t fed;
};

/* bytes not captured inside a DATA frame's payload: the framing goes on */
static void test_h2_skip(void **state)
{
	static char big[10000];
	struct body b1 = {big, sizeof(big), 0};
	size_t off = 24, data = 0;
	struct sl_reqdec *d;
	struct rqs o = {0};
	struct h2c c;

	memset(big, 'x', sizeof(big));
	h2c_init(&c, 0);
	h2c_request(&c, "POST", "/big", NULL, 0, &b1);
	h2c_request(&c, "GET", "/next", NULL, 0, NULL);
	h2c_flush(&c);
	/* the first DATA frame's payload */
	while (off + 9 <= c.len && !data) {
		size_t flen = (size_t)c.out[off] << 16 | c.out[off + 1] << 8 | c.out[off + 2];

		if (c.out[off + 3] == NGHTTP2_DATA)
			data = off + 9;
		off += 9 + flen;
	}
	assert_true(data && data + 10000 <= c.len);
	assert_int_equal(sl_reqdec_new(NULL, &d), 0);
	assert_int_equal(sl_reqdec_feed(d, c.out, data + 100), 0);
	/* past the frame's end: not skippable */
	assert_int_equal(sl_reqdec_skip(d, 9901), -EAGAIN);
	assert_int_equal(sl_reqdec_skip(d, 9000), 0);
	assert_int_equal(sl_reqdec_feed(d, c.out + data + 9100, c.len - data - 9100), 0);
	rqs_take(d, &o);
	assert_int_equal(o.n, 2);
	/* the GET's HEADERS end its stream before the POST's DATA */
	assert_decoded(o.r[0]);
	assert_true(o.r[0]->head_done);
	assert_string_equal(o.r[0]->path, "/next");
	assert_int_equal(o.r[1]->status, SL_RQ_UNDECIDABLE);
	assert_int_equal(o.r[1]->reason, SL_RQ_R_LIMIT);
	assert_non_null(strstr(o.r[1]->detail, "9000 bytes of the body were not captured"));
	assert_true(o.r[1]->head_done);
	assert_string_equal(o.r[1]->authority, "h2.test");
	assert_string_equal(o.r[1]->path, "/big");
	rqs_free(&o);
	sl_reqdec_free(d);
	nghttp2_session_del(c.s);
	free(c.out);
}

static void on_cred(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct told *t = ctx;

	if (!t->n++)
		t->at = t->fed;
	snprintf(t->name, sizeof(t->name), "%.*s", (int)nlen, name);
	snprintf(t->value, sizeof(t->value), "%.*s", (int)vlen, value);
}

/*
 * The credential hook: an HTTP/2 authorization header is told when its
 * HEADERS frame is decoded, before the request (its body in a DATA frame)
 * is complete; the Huffman form of its value is in the client's bytes.
 * HTTP/1.1: a write that ends inside the value tells the part so far.
 */
static void test_credential_hook(void **state)
{
	const char *value = "Bearer zQ3xk9LmP0aB7vT2yW5nR8cE1dF4gH6j";
	nghttp2_nv h1[] = {NV("authorization", value)};
	struct body b = {"{\"a\":1}", 7, 0};
	struct told t = {0};
	struct sl_reqdec *d;
	struct sl_rq *r = NULL;
	size_t complete = 0, hlen;
	uint8_t *huff;
	struct h2c c;

	(void)state;
	h2c_init(&c, 0);
	h2c_request(&c, "POST", "/v1", h1, 1, &b);
	h2c_flush(&c);
	assert_int_equal(sl_reqdec_new(NULL, &d), 0);
	sl_reqdec_set_credential_hook(d, on_cred, &t);
	for (size_t i = 0; i < c.len && !r; i++) {
		assert_int_equal(sl_reqdec_feed(d, c.out + i, 1), 0);
		t.fed = i + 1;
		r = sl_reqdec_next(d);
		if (r)
			complete = i + 1;
	}
	assert_non_null(r);
	sl_rq_free(r);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.name, "authorization");
	assert_string_equal(t.value, value);
	assert_true(t.at < complete);
	assert_int_equal(sl_rq_hpack_huffman(value, strlen(value), &huff, &hlen), 0);
	assert_non_null(memmem(c.out, c.len, huff, hlen));
	free(huff);
	sl_reqdec_free(d);
	nghttp2_session_del(c.s);
	free(c.out);

	/* HTTP/1.1 cut in the name, then inside the value */
	memset(&t, 0, sizeof(t));
	assert_int_equal(sl_reqdec_new(NULL, &d), 0);
	sl_reqdec_set_credential_hook(d, on_cred, &t);
	assert_int_equal(sl_reqdec_feed(d, "GET / HTTP/1.1\r\nHost: x\r\nAuthor", 31), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(sl_reqdec_feed(d, "ization: bearer  abcdefgh", 25), 0);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.name, "Authorization");
	assert_string_equal(t.value, "bearer  abcdefgh");
	assert_int_equal(sl_reqdec_feed(d, "ijkl\r\nAccept: */*\r\n\r\n", 21), 0);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.value, "bearer  abcdefghijkl");
	r = sl_reqdec_next(d);
	assert_non_null(r);
	sl_rq_free(r);
	sl_reqdec_free(d);
}

static void test_h2_malformed(void **state)
{
	static const uint8_t preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	uint8_t buf[256];
	struct rqs o = {0};
	struct sl_reqdec_limits lim;
	struct h2c c;
	size_t n;

	/* a HEADERS block that is not HPACK (index 0 is invalid) */
	memcpy(buf, preface, 24);
	memcpy(buf + 24, "\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9); /* SETTINGS */
	memcpy(buf + 33, "\x00\x00\x02\x01\x05\x00\x00\x00\x01\x80\x80", 11);
	rq_run(NULL, buf, 44, 0, true, &o);
	assert_int_equal(o.n, 1);
	assert_undecidable(o.r[0], SL_RQ_R_HPACK, "HEADERS frame at offset 33");
	rqs_free(&o);
	/* a request cut inside its DATA */
	h2c_init(&c, 0);
	{
		struct body b = {"0123456789", 10, 0};

		h2c_request(&c, "POST", "/cut", NULL, 0, &b);
	}
	h2c_flush(&c);
	rq_run(NULL, c.out, c.len - 4, 0, true, &o);
	assert_int_equal(o.n, 1);
	assert_undecidable(o.r[0], SL_RQ_R_INCOMPLETE, "ended inside a request");
	assert_string_equal(o.r[0]->path, "/cut");
	rqs_free(&o);
	/* a frame on stream 0 that needs a stream (DATA on 0): a connection error */
	n = c.len;
	memcpy(buf, c.out, 24 + 9);
	memcpy(buf + 33, "\x00\x00\x01\x00\x00\x00\x00\x00\x00x", 10);
	rq_run(NULL, buf, 43, 0, true, &o);
	assert_true(o.n >= 1);
	assert_undecidable(o.r[o.n - 1], SL_RQ_R_MALFORMED, "DATA frame at offset 33");
	rqs_free(&o);
	(void)n;
	nghttp2_session_del(c.s);
	free(c.out);
	/* a client reset of a stream in progress */
	h2c_init(&c, 0);
	h2c_request(&c, "POST", "/r", NULL, 0, &(struct body){"x", 1, 0});
	h2c_flush(&c);
	c.len -= 10; /* drop the DATA frame: the stream stays open */
	assert_int_equal(nghttp2_submit_rst_stream(c.s, 0, 1, NGHTTP2_CANCEL), 0);
	h2c_flush(&c);
	rq_run(NULL, c.out, c.len, 0, true, &o);
	assert_true(o.n >= 1);
	assert_undecidable(o.r[0], SL_RQ_R_INCOMPLETE, "stream 1 closed before its end (CANCEL)");
	rqs_free(&o);
	nghttp2_session_del(c.s);
	free(c.out);
	/* more streams open than the limit */
	sl_reqdec_limits_default(&lim);
	lim.max_streams = 2;
	h2c_init(&c, 0);
	for (int i = 0; i < 3; i++) {
		nghttp2_nv nv[] = {NV(":method", "POST"), NV(":scheme", "https"),
				   NV(":authority", "a"), NV(":path", "/")};

		nghttp2_submit_headers(c.s, NGHTTP2_FLAG_NONE, -1, NULL, nv, 4, NULL);
	}
	h2c_flush(&c);
	rq_run(&lim, c.out, c.len, 0, true, &o);
	assert_true(o.n >= 1);
	assert_undecidable(o.r[o.n - 1], SL_RQ_R_LIMIT, "more than 2 HTTP/2 streams open");
	rqs_free(&o);
	nghttp2_session_del(c.s);
	free(c.out);
	/* a preface cut short, and the working memory too small for nghttp2 */
	rq_run(NULL, preface, 10, 0, true, &o);
	assert_int_equal(o.n, 1);
	assert_undecidable(o.r[0], SL_RQ_R_INCOMPLETE, "ended inside a request");
	rqs_free(&o);
	sl_reqdec_limits_default(&lim);
	lim.max_memory = 1024;
	rq_run(&lim, preface, 24, 0, true, &o);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.r[0]->status, SL_RQ_UNDECIDABLE);
	rqs_free(&o);
}

/* ---- WebSocket ---- */

static const char upgrade[] =
    "GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n";

struct wsb {
	uint8_t b[1 << 16];
	size_t len;
};

static void ws_frame(struct wsb *w, uint8_t first, const void *p, size_t n, bool mask)
{
	static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
	uint8_t *o = w->b + w->len;
	size_t h = 2;

	o[0] = first;
	if (n < 126) {
		o[1] = (uint8_t)n;
	} else {
		o[1] = 126;
		o[2] = (uint8_t)(n >> 8);
		o[3] = (uint8_t)n;
		h = 4;
	}
	if (mask) {
		o[1] |= 0x80;
		memcpy(o + h, key, 4);
		h += 4;
	}
	for (size_t i = 0; i < n; i++)
		o[h + i] = ((const uint8_t *)p)[i] ^ (mask ? key[i & 3] : 0);
	w->len += h + n;
}

static void ws_start(struct wsb *w)
{
	w->len = strlen(upgrade);
	memcpy(w->b, upgrade, w->len);
}

/* permessage-deflate: the message with the same compressor (context takeover) */
static size_t pmd(z_stream *z, const char *msg, uint8_t *out, size_t cap)
{
	z->next_in = (uint8_t *)msg;
	z->avail_in = strlen(msg);
	z->next_out = out;
	z->avail_out = cap;
	assert_int_equal(deflate(z, Z_SYNC_FLUSH), Z_OK);
	return cap - z->avail_out - 4; /* without 00 00 ff ff */
}

static void test_ws_frames(void **state)
{
	const char *m1 = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
			 "\"name\":\"delete_everything\",\"arguments\":{}}}";
	uint8_t c[2048];
	struct wsb *w = malloc(sizeof(*w));
	struct rqs o = {0};
	z_stream z = {0};
	size_t n;

	assert_non_null(w);
	ws_start(w);
	/* fragmented text with a ping between the fragments */
	ws_frame(w, 0x01, "{\"jsonrpc\":\"2.0\",\"method\":\"tools/", 33, true);
	ws_frame(w, 0x89, "ping", 4, true);
	ws_frame(w, 0x80, "call\",\"params\":{\"name\":\"wipe\"}}", 31, true);
	/* compressed, twice with the same context: the second refers to the first */
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
	n = pmd(&z, m1, c, sizeof(c));
	ws_frame(w, 0xc1, c, n, true);
	n = pmd(&z, m1, c, sizeof(c));
	assert_true(n < 20); /* a back-reference into the previous message */
	ws_frame(w, 0xc1, c, n, true);
	deflateEnd(&z);
	ws_frame(w, 0x82, "\x00\x01", 2, true);
	ws_frame(w, 0x88, "\x03\xe8", 2, true);
	for (size_t step = 1; step < 40; step += 19) {
		rq_run(NULL, w->b, w->len, step, true, &o);
		assert_int_equal(o.n, 5);
		assert_decoded(o.r[1]);
		assert_string_equal(o.r[1]->mcp[0].tool, "wipe");
		assert_string_equal(o.r[1]->path, "/ws");
		assert_string_equal(o.r[1]->authority, "ws.test");
		assert_int_equal(o.r[1]->offset, strlen(upgrade));
		for (int i = 2; i <= 3; i++) {
			assert_decoded(o.r[i]);
			assert_string_equal((char *)o.r[i]->body, m1);
			assert_string_equal(o.r[i]->mcp[0].tool, "delete_everything");
		}
		assert_int_equal(o.r[4]->ws_opcode, 2);
		rqs_free(&o);
	}
	free(w);
}

static void test_ws_malformed(void **state)
{
	struct wsb *w = malloc(sizeof(*w));
	struct sl_reqdec_limits lim;
	struct rqs o = {0};
	z_stream z = {0};
	uint8_t *zeros = calloc(1, 8u << 20), *c = malloc(1 << 16);
	size_t n;

	assert_non_null(w);
	/* unmasked client frame */
	ws_start(w);
	ws_frame(w, 0x81, "hi", 2, false);
	rq_run(NULL, w->b, w->len, 0, true, &o);
	assert_undecidable(o.r[1], SL_RQ_R_MALFORMED, "without a mask");
	rqs_free(&o);
	/* invalid UTF-8 in a text message */
	ws_start(w);
	ws_frame(w, 0x81, "\xc3\x28", 2, true);
	rq_run(NULL, w->b, w->len, 0, true, &o);
	assert_undecidable(o.r[1], SL_RQ_R_UTF8, "not valid UTF-8");
	rqs_free(&o);
	/* a continuation with no message; a new message inside a fragmented one */
	ws_start(w);
	ws_frame(w, 0x80, "x", 1, true);
	rq_run(NULL, w->b, w->len, 0, true, &o);
	assert_undecidable(o.r[1], SL_RQ_R_MALFORMED, "a continuation without a message");
	rqs_free(&o);
	ws_start(w);
	ws_frame(w, 0x01, "x", 1, true);
	ws_frame(w, 0x81, "y", 1, true);
	rq_run(NULL, w->b, w->len, 0, true, &o);
	assert_undecidable(o.r[1], SL_RQ_R_MALFORMED, "a new message inside a fragmented one");
	rqs_free(&o);
	/* RSV1 when permessage-deflate was not offered */
	{
		const char *up = "GET /ws HTTP/1.1\r\nHost: w\r\nUpgrade: websocket\r\nConnection: "
				 "Upgrade\r\n\r\n";

		w->len = strlen(up);
		memcpy(w->b, up, w->len);
		ws_frame(w, 0xc1, "x", 1, true);
		rq_run(NULL, w->b, w->len, 0, true, &o);
		assert_undecidable(o.r[1], SL_RQ_R_MALFORMED, "reserved bits");
		rqs_free(&o);
	}
	/* a frame cut short */
	ws_start(w);
	ws_frame(w, 0x81, "hello", 5, true);
	rq_run(NULL, w->b, w->len - 2, 0, true, &o);
	assert_undecidable(o.r[1], SL_RQ_R_INCOMPLETE, "ended inside a request");
	rqs_free(&o);
	/* corrupt deflate data */
	ws_start(w);
	ws_frame(w, 0xc1, "\xff\xff\xff", 3, true);
	rq_run(NULL, w->b, w->len, 0, true, &o);
	assert_undecidable(o.r[1], SL_RQ_R_ENCODING, "permessage-deflate:");
	rqs_free(&o);
	/* a message over the limit, then the next one still decodes */
	sl_reqdec_limits_default(&lim);
	lim.max_ws_message = 10;
	ws_start(w);
	ws_frame(w, 0x01, "0123456789", 10, true);
	ws_frame(w, 0x80, "abc", 3, true);
	ws_frame(w, 0x81, "ok", 2, true);
	rq_run(&lim, w->b, w->len, 0, true, &o);
	assert_int_equal(o.n, 3);
	assert_undecidable(o.r[1], SL_RQ_R_LIMIT, "WebSocket message over 10 bytes");
	assert_decoded(o.r[2]);
	assert_string_equal((char *)o.r[2]->body, "ok");
	rqs_free(&o);
	/* a deflate bomb: 8 MiB of zeros in one message */
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = zeros;
	z.avail_in = 8u << 20;
	z.next_out = c;
	z.avail_out = 1 << 16;
	assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
	n = (1 << 16) - z.avail_out - 4;
	deflateEnd(&z);
	ws_start(w);
	ws_frame(w, 0xc2, c, n, true);
	ws_frame(w, 0x81, "after", 5, true);
	rq_run(NULL, w->b, w->len, 0, true, &o);
	assert_undecidable(o.r[1], SL_RQ_R_BOMB, "inflate bomb");
	/* the window is lost: what follows is undecidable */
	assert_int_equal(o.r[o.n - 1]->status, SL_RQ_UNDECIDABLE);
	rqs_free(&o);
	/* the server refused the upgrade: the client speaks HTTP/1.1 again */
	ws_start(w);
	memcpy(w->b + w->len, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n", 32);
	w->len += 32;
	rq_run(NULL, w->b, w->len, 0, true, &o);
	assert_int_equal(o.n, 2);
	assert_decoded(o.r[1]);
	assert_string_equal(o.r[1]->path, "/again");
	rqs_free(&o);
	free(zeros);
	free(c);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_h2_hpack_continuation_padding),
	    cmocka_unit_test(test_h2_skip),
	    cmocka_unit_test(test_h2_malformed),
	    cmocka_unit_test(test_credential_hook),
	    cmocka_unit_test(test_ws_frames),
	    cmocka_unit_test(test_ws_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
