// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Throughput of the request decoder (user/lib/reqdec.h), not a test: one
 * connection of N requests per protocol, fed in writes of a fixed size,
 * every request taken and freed (canonical text, JSON, GraphQL included).
 * Prints MB/s of client bytes and microseconds per request.
 *
 *   make reqdec-bench && .output/bench/reqdec_bench [N] [WRITE_SIZE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include "reqdec.h"

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			exit(1);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static const char body[] =
    "{\"query\":\"mutation Up($id: ID!, $in: ServiceInput!) { serviceUpdate(id: $id, input: "
    "$in) { id name } }\",\"variables\":{\"id\":\"svc-1234\",\"in\":{\"name\":\"api\","
    "\"replicas\":3,\"env\":{\"LOG_LEVEL\":\"info\",\"REGION\":\"eu-west\"}}},"
    "\"operationName\":\"Up\"}";

static void gen_h1(struct buf *b, int n)
{
	char h[512];

	for (int i = 0; i < n; i++) {
		int l =
		    snprintf(h, sizeof(h),
			     "POST /graphql/v2 HTTP/1.1\r\nHost: api.example.com\r\n"
			     "Authorization: Bearer tok-%d\r\nContent-Type: application/json\r\n"
			     "User-Agent: bench/1\r\nContent-Length: %zu\r\n\r\n",
			     i, strlen(body));
		put(b, h, (size_t)l);
		put(b, body, strlen(body));
	}
}

static ssize_t h2_read(nghttp2_session *s, int32_t id, uint8_t *out, size_t len, uint32_t *flags,
		       nghttp2_data_source *src, void *ud)
{
	size_t *off = src->ptr, n = strlen(body) - *off;

	if (n > len)
		n = len;
	memcpy(out, body + *off, n);
	*off += n;
	if (*off == strlen(body))
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE         \
	}

static void gen_h2(struct buf *b, int n)
{
	nghttp2_session_callbacks *cb;
	nghttp2_session *s;
	nghttp2_data_provider dp = {.read_callback = h2_read};
	nghttp2_nv nv[] = {NV(":method", "POST"),
			   NV(":scheme", "https"),
			   NV(":authority", "api.example.com"),
			   NV(":path", "/graphql/v2"),
			   NV("authorization", "Bearer tok-1"),
			   NV("content-type", "application/json"),
			   NV("user-agent", "bench/1")};
	nghttp2_settings_entry iv = {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100000};
	const uint8_t *p;
	ssize_t l;

	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_client_new(&s, cb, NULL);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(s, 0, NULL, 0);
	size_t *offs = calloc((size_t)n, sizeof(*offs));

	/* as if the server allowed as many streams as we open, and a large window */
	nghttp2_session_mem_recv(s, (const uint8_t *)"\0\0\6\4\0\0\0\0\0\0\3\0\1\x86\xa0", 15);
	nghttp2_session_mem_recv(s, (const uint8_t *)"\0\0\4\x8\0\0\0\0\0\x7f\xfe\0\0", 13);
	(void)iv;
	for (int i = 0; i < n; i++) {
		dp.source.ptr = &offs[i];
		nghttp2_submit_request(s, NULL, nv, sizeof(nv) / sizeof(nv[0]), &dp, NULL);
		while ((l = nghttp2_session_mem_send(s, &p)) > 0)
			put(b, p, (size_t)l);
	}
	nghttp2_session_del(s);
	free(offs);
}

static void ws_frame(struct buf *b, uint8_t first, const uint8_t *p, size_t n)
{
	uint8_t h[8] = {first, 0x80 | 126, (uint8_t)(n >> 8), (uint8_t)n, 1, 2, 3, 4};
	size_t start;

	put(b, h, 8);
	start = b->len;
	put(b, p, n);
	for (size_t i = 0; i < n; i++)
		b->p[start + i] ^= h[4 + (i & 3)];
}

static void gen_ws(struct buf *b, int n, bool compress)
{
	static char pad[301];
	char up[] = "GET /ws HTTP/1.1\r\nHost: api.example.com\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
	z_stream z = {0};
	uint8_t c[4096];

	memset(pad, 'p', 300);
	for (int i = 0; i < 300; i += 10)
		memcpy(pad + i, "lorem ipsu", 10);
	put(b, up, strlen(up));
	deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	for (int i = 0; i < n; i++) {
		char m[1024];
		int l =
		    snprintf(m, sizeof(m),
			     "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":"
			     "{\"name\":\"run_query\",\"arguments\":{\"sql\":\"select * from t "
			     "where id = %d\",\"limit\":100}},\"pad\":\"%.300s\"}",
			     i, i, pad);

		if (!compress) {
			ws_frame(b, 0x81, (uint8_t *)m, (size_t)l);
			continue;
		}
		z.next_in = (uint8_t *)m;
		z.avail_in = (unsigned)l;
		z.next_out = c;
		z.avail_out = sizeof(c);
		deflate(&z, Z_SYNC_FLUSH);
		ws_frame(b, 0xc1, c, sizeof(c) - z.avail_out - 4);
	}
	deflateEnd(&z);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void run(const char *name, const struct buf *b, int n, size_t wsize)
{
	double best = 1e9;
	int got = 0, bad = 0;

	for (int rep = 0; rep < 5; rep++) {
		struct sl_reqdec *d;
		struct sl_rq *r;
		double t0 = now(), t;

		got = bad = 0;
		sl_reqdec_new(NULL, &d);
		for (size_t i = 0; i < b->len; i += wsize) {
			sl_reqdec_feed(d, b->p + i, b->len - i < wsize ? b->len - i : wsize);
			while ((r = sl_reqdec_next(d))) {
				got++;
				if (r->status != SL_RQ_DECODED && !bad++ && rep == 0)
					printf("  first undecidable: %s: %s\n",
					       sl_rq_reason_name(r->reason), r->detail);
				sl_rq_free(r);
			}
		}
		sl_reqdec_free(d);
		t = now() - t0;
		if (t < best)
			best = t;
	}
	printf("%-22s %7d requests %9zu bytes  %8.1f MB/s  %7.2f us/request  (%d undecidable)\n",
	       name, got, b->len, b->len / best / 1e6, best * 1e6 / n, bad);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	size_t ws = argc > 2 ? (size_t)atoi(argv[2]) : 16384;
	struct buf h1 = {0}, h2 = {0}, w = {0}, wd = {0};

	gen_h1(&h1, n);
	gen_h2(&h2, n);
	gen_ws(&w, n, false);
	gen_ws(&wd, n, true);
	printf("writes of %zu bytes, best of 5\n", ws);
	run("http/1.1 graphql", &h1, n, ws);
	run("http/2 graphql", &h2, n, ws);
	run("websocket mcp", &w, n, ws);
	run("websocket mcp deflate", &wd, n + 1, ws);
	return 0;
}
