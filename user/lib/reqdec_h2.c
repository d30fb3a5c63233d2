// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * HTTP/2 requests (user/lib/reqdec.h) with libnghttp2: a server session is
 * fed the client's bytes (nghttp2_session_mem_recv) and does the framing,
 * HPACK, CONTINUATION, padding, flow control and HTTP messaging checks; its
 * callbacks give each stream's header fields and body. What the session
 * would send (SETTINGS ACK, WINDOW_UPDATE, PING ACK) is drained and dropped,
 * so its queue stays small. Frame boundaries are followed here only to name
 * the offset of the frame an error is in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nghttp2/nghttp2.h>

#include "reqdec_priv.h"

#define H2_MAX_WINDOW ((int32_t)0x7fffffff)

static const char *frame_name(uint8_t t)
{
	static const char *const names[] = {
	    "DATA",	    "HEADERS", "PRIORITY", "RST_STREAM",    "SETTINGS",
	    "PUSH_PROMISE", "PING",    "GOAWAY",   "WINDOW_UPDATE", "CONTINUATION"};

	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "extension";
}

static struct rq_build *stream_find(struct sl_reqdec *d, int32_t id, struct rq_build ***link)
{
	struct rq_build **l = &d->streams;

	for (; *l; l = &(*l)->next) {
		if ((*l)->stream_id == id) {
			if (link)
				*link = l;
			return *l;
		}
	}
	return NULL;
}

/* take the stream's request out of the open list */
static struct rq_build *stream_take(struct sl_reqdec *d, int32_t id)
{
	struct rq_build **l, *b = stream_find(d, id, &l);

	if (b) {
		*l = b->next;
		b->next = NULL;
		d->n_streams--;
	}
	return b;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct sl_reqdec *d = ud;
	struct rq_build *b;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (d->n_streams >= d->lim.max_streams) {
		rd_fail(d, SL_RQ_R_LIMIT, d->h2_frame_off,
			"more than %u HTTP/2 streams open (stream %d at offset %llu)",
			d->lim.max_streams, f->hd.stream_id, (unsigned long long)d->h2_frame_off);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	b = rd_begin(d, SL_RQ_HTTP2, d->h2_frame_off);
	if (!b) {
		rd_fail(d, d->mem_over ? SL_RQ_R_LIMIT : SL_RQ_R_NOMEM, d->h2_frame_off,
			"out of memory at offset %llu", (unsigned long long)d->h2_frame_off);
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	b->stream_id = f->hd.stream_id;
	b->n->r.stream_id = (uint32_t)f->hd.stream_id;
	b->next = d->streams;
	d->streams = b;
	d->n_streams++;
	return 0;
}

static void set_str(char **dst, const uint8_t *v, size_t len)
{
	free(*dst);
	*dst = rq_strndup((const char *)v, len);
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
		     const uint8_t *value, size_t vlen, uint8_t flags, void *ud)
{
	struct sl_reqdec *d = ud;
	struct rq_build *b = stream_find(d, f->hd.stream_id, NULL);
	struct sl_rq *r;

	if (!b || b->emitted)
		return 0;
	r = &b->n->r;
	if (nlen && name[0] == ':') {
		b->header_bytes += nlen + vlen;
		if (b->header_bytes > d->lim.max_header_bytes) {
			rd_give_up(d, b, SL_RQ_R_LIMIT, "header section over %zu bytes",
				   d->lim.max_header_bytes);
			return 0;
		}
		if (nlen == 7 && memcmp(name, ":method", 7) == 0) {
			set_str(&r->method, value, vlen);
		} else if (nlen == 7 && memcmp(name, ":scheme", 7) == 0) {
			set_str(&r->scheme, value, vlen);
		} else if (nlen == 10 && memcmp(name, ":authority", 10) == 0) {
			set_str(&r->authority, value, vlen);
			b->authority_from_url = true;
		} else if (nlen == 5 && memcmp(name, ":path", 5) == 0) {
			if (rq_set_target(r, (const char *)value, vlen, false, NULL,
					  d->lim.max_items))
				rd_give_up(d, b, SL_RQ_R_NOMEM, "out of memory");
		} else if (nlen == 9 && memcmp(name, ":protocol", 9) == 0) {
			rd_give_up(d, b, SL_RQ_R_UNSUPPORTED,
				   "extended CONNECT (:protocol %.*s) on HTTP/2 stream %d",
				   (int)(vlen > 32 ? 32 : vlen), value, f->hd.stream_id);
		}
		return 0;
	}
	if (!rd_header(d, b, (const char *)name, nlen, (const char *)value, vlen,
		       f->headers.cat == NGHTTP2_HCAT_HEADERS))
		return 0;
	/* Host stands for :authority when there is none (RFC 9113 8.3.1) */
	if (nlen == 4 && memcmp(name, "host", 4) == 0 && !b->authority_from_url)
		set_str(&r->authority, value, vlen);
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
		   void *ud)
{
	struct sl_reqdec *d = ud;
	struct rq_build *b = stream_find(d, id, NULL);

	if (b && b->skipping)
		b->wire_total += len; /* sl_reqdec_skip's filler: not the body */
	else if (b)
		rd_body(d, b, data, len);
	return 0;
}

/* the request of the DATA frame being received, when len bytes of its
 * payload are still to come (sl_reqdec_skip) */
struct rq_build *rd_h2_skip_target(struct sl_reqdec *d, size_t len)
{
	if (d->h2_skip || d->h2_hdr_len || d->h2_type != NGHTTP2_DATA || d->h2_left < len)
		return NULL;
	return stream_find(d, (int32_t)d->h2_sid, NULL);
}

struct rq_build *rd_h2_stream(struct sl_reqdec *d, int32_t id)
{
	return stream_find(d, id, NULL);
}

static void complete(struct sl_reqdec *d, nghttp2_session *s, int32_t id)
{
	struct rq_build *b = stream_take(d, id);

	if (!b)
		return;
	rd_complete(d, b);
	/* nothing will answer it: close the stream so the session forgets it */
	nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct sl_reqdec *d = ud;

	/* the real server's windows are unknown: never refuse a body for flow
	 * control (the stream exists from here on, not yet at begin_headers) */
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
		struct rq_build *b = stream_find(d, f->hd.stream_id, NULL);

		/* the whole header block (CONTINUATIONs included) was decoded */
		if (b && b->n && !b->emitted)
			b->n->r.head_done = true;
		nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, f->hd.stream_id,
						      H2_MAX_WINDOW);
	}
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		complete(d, s, f->hd.stream_id);
	return 0;
}

static int on_invalid(nghttp2_session *s, const nghttp2_frame *f, int err, void *ud)
{
	struct sl_reqdec *d = ud;
	struct rq_build *b = stream_find(d, f->hd.stream_id, NULL);

	d->h2_lib_err = err;
	if (b)
		rd_give_up(d, b, err == NGHTTP2_ERR_HEADER_COMP ? SL_RQ_R_HPACK : SL_RQ_R_MALFORMED,
			   "HTTP/2 %s frame at offset %llu on stream %d: %s",
			   frame_name(f->hd.type), (unsigned long long)d->h2_frame_off,
			   f->hd.stream_id, nghttp2_strerror(err));
	return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	struct sl_reqdec *d = ud;
	struct rq_build *b = stream_take(d, id);

	if (!b)
		return 0;
	/* closed before END_STREAM: a reset by the client or a protocol error */
	if (!b->emitted) {
		if (code == NGHTTP2_NO_ERROR || code == NGHTTP2_CANCEL)
			rd_give_up(d, b, SL_RQ_R_INCOMPLETE,
				   "HTTP/2 stream %d closed before its end (%s) at offset %llu", id,
				   nghttp2_http2_strerror(code),
				   (unsigned long long)d->h2_frame_off);
		else
			rd_give_up(d, b,
				   code == NGHTTP2_COMPRESSION_ERROR ? SL_RQ_R_HPACK
								     : SL_RQ_R_MALFORMED,
				   "HTTP/2 stream %d reset (%s%s%s) at offset %llu", id,
				   nghttp2_http2_strerror(code), d->h2_msg[0] ? ": " : "",
				   d->h2_msg, (unsigned long long)d->h2_frame_off);
	}
	rd_build_free(d, b);
	return 0;
}

/* the session sends GOAWAY only to end the connection on an error */
static int on_send(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	struct sl_reqdec *d = ud;

	if (f->hd.type == NGHTTP2_GOAWAY && !d->h2_lib_err) {
		d->h2_lib_err = f->goaway.error_code == NGHTTP2_COMPRESSION_ERROR
				    ? NGHTTP2_ERR_HEADER_COMP
				    : NGHTTP2_ERR_PROTO;
		snprintf(d->h2_msg, sizeof(d->h2_msg), "connection error %s",
			 nghttp2_http2_strerror(f->goaway.error_code));
	}
	if (f->hd.type == NGHTTP2_GOAWAY)
		d->h2_goaway = true;
	return 0;
}

static int on_error(nghttp2_session *s, int code, const char *msg, size_t len, void *ud)
{
	struct sl_reqdec *d = ud;

	d->h2_lib_err = code;
	snprintf(d->h2_msg, sizeof(d->h2_msg), "%.*s", (int)len, msg);
	return 0;
}

static void *h2_malloc(size_t n, void *ud)
{
	return rd_malloc(ud, n);
}

static void h2_free(void *p, void *ud)
{
	rd_free(ud, p);
}

static void *h2_calloc(size_t n, size_t m, void *ud)
{
	return rd_calloc(ud, n, m);
}

static void *h2_realloc(void *p, size_t n, void *ud)
{
	return rd_realloc(ud, p, n);
}

int rd_h2_start(struct sl_reqdec *d)
{
	nghttp2_mem mem = {d, h2_malloc, h2_free, h2_calloc, h2_realloc};
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	/* frames as large as the real server may have allowed (applied at the
	 * client's SETTINGS ACK, which comes before it sends them). No
	 * INITIAL_WINDOW_SIZE: each stream's window is opened when it starts */
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, (1u << 24) - 1},
	};
	int err = -ENOMEM;

	if (nghttp2_session_callbacks_new(&cb) || nghttp2_option_new(&opt))
		goto out;
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	nghttp2_session_callbacks_set_error_callback2(cb, on_error);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_send);
	/* a header block of any size reaches the callbacks, which apply the limit */
	nghttp2_option_set_max_settings(opt, 64);
	if (nghttp2_session_server_new3(&d->h2, cb, d, opt, &mem))
		goto out;
	if (nghttp2_submit_settings(d->h2, NGHTTP2_FLAG_NONE, iv, 1) ||
	    nghttp2_session_set_local_window_size(d->h2, NGHTTP2_FLAG_NONE, 0, H2_MAX_WINDOW))
		goto out;
	d->proto = SL_RQ_HTTP2;
	d->h2_skip = 24;
	d->h2_hdr_len = 0;
	d->h2_left = 0;
	err = 0;
out:
	if (err && d->h2) {
		nghttp2_session_del(d->h2);
		d->h2 = NULL;
	}
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	return err;
}

void rd_h2_reset(struct sl_reqdec *d)
{
	struct rq_build *b = d->streams;

	/* the session's callbacks must not see half-freed streams */
	d->streams = NULL;
	d->n_streams = 0;
	if (d->h2) {
		nghttp2_session_del(d->h2);
		d->h2 = NULL;
	}
	while (b) {
		struct rq_build *next = b->next;

		rd_build_free(d, b);
		b = next;
	}
	d->h2_lib_err = 0;
	d->h2_goaway = false;
	d->h2_msg[0] = '\0';
}

/* drop what the session wants to send */
static void drain(struct sl_reqdec *d)
{
	const uint8_t *out;

	while (nghttp2_session_mem_send(d->h2, &out) > 0)
		;
}

static void h2_failed(struct sl_reqdec *d, ssize_t rv)
{
	int code = rv < 0 ? (int)rv : d->h2_lib_err;
	enum sl_rq_reason why = SL_RQ_R_MALFORMED;

	if (code == NGHTTP2_ERR_HEADER_COMP)
		why = SL_RQ_R_HPACK;
	else if (code == NGHTTP2_ERR_NOMEM)
		why = d->mem_over ? SL_RQ_R_LIMIT : SL_RQ_R_NOMEM;
	else if (code == NGHTTP2_ERR_FLOODED)
		why = SL_RQ_R_LIMIT;
	rd_fail(d, why, d->h2_frame_off, "HTTP/2 %s frame at offset %llu (stream %u): %s%s%s",
		frame_name(d->h2_type), (unsigned long long)d->h2_frame_off, d->h2_sid,
		code ? nghttp2_strerror(code) : "session terminated", d->h2_msg[0] ? ": " : "",
		d->h2_msg);
}

size_t rd_h2_feed(struct sl_reqdec *d, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len && d->mode == RD_H2) {
		size_t n = len - done;
		ssize_t rv;

		/* one piece: the preface, a frame header, or (part of) a payload */
		if (d->h2_skip) {
			if (n > d->h2_skip)
				n = d->h2_skip;
			d->h2_skip -= n;
			d->h2_frame_off = d->off + done;
		} else if (d->h2_left == 0) {
			if (d->h2_hdr_len == 0)
				d->h2_frame_off = d->off + done;
			if (n > 9 - d->h2_hdr_len)
				n = 9 - d->h2_hdr_len;
			memcpy(d->h2_hdr + d->h2_hdr_len, buf + done, n);
			d->h2_hdr_len += n;
			if (d->h2_hdr_len == 9) {
				d->h2_left =
				    (uint64_t)d->h2_hdr[0] << 16 | d->h2_hdr[1] << 8 | d->h2_hdr[2];
				d->h2_type = d->h2_hdr[3];
				d->h2_sid = ((uint32_t)d->h2_hdr[5] << 24 | d->h2_hdr[6] << 16 |
					     d->h2_hdr[7] << 8 | d->h2_hdr[8]) &
					    0x7fffffff;
				d->h2_hdr_len = 0;
			}
		} else {
			if (n > d->h2_left)
				n = d->h2_left;
			d->h2_left -= n;
		}
		d->h2_msg[0] = '\0';
		d->h2_lib_err = 0;
		rv = nghttp2_session_mem_recv(d->h2, buf + done, n);
		if (rv >= 0)
			drain(d);
		if (d->mode != RD_H2)
			return len;
		if (rv < 0 || (size_t)rv != n) {
			h2_failed(d, rv < 0 ? rv : NGHTTP2_ERR_PROTO);
			return len;
		}
		if (d->h2_goaway) {
			/* the session ended the connection: it reads no more */
			h2_failed(d, 0);
			return len;
		}
		done += n;
	}
	return len;
}

/* an HPACK integer of an N-bit prefix at *p (RFC 7541 5.1); false past end */
static bool hpack_int(const uint8_t **p, const uint8_t *end, unsigned int bits, size_t *v)
{
	size_t max = (1U << bits) - 1, m = 0;

	if (*p >= end)
		return false;
	*v = **p & max;
	(*p)++;
	if (*v < max)
		return true;
	while (*p < end && m < 28) {
		uint8_t b = *(*p)++;

		*v += (size_t)(b & 0x7f) << m;
		m += 7;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

int sl_rq_hpack_huffman(const void *value, size_t len, uint8_t **out, size_t *outlen)
{
	/* one field, never indexed, by a deflater without a dynamic table: the
	 * literal's value is the Huffman code when nghttp2 finds it shorter */
	nghttp2_nv nv = {.name = (uint8_t *)"authorization",
			 .value = (uint8_t *)value,
			 .namelen = 13,
			 .valuelen = len,
			 .flags = NGHTTP2_NV_FLAG_NO_INDEX};
	nghttp2_hd_deflater *def = NULL;
	const uint8_t *p, *end;
	uint8_t *buf = NULL;
	size_t cap, idx, vlen;
	ssize_t n;
	int err = -EINVAL;
	bool huff;

	*out = NULL;
	*outlen = 0;
	if (!len || len > (1U << 20))
		return -EINVAL;
	if (nghttp2_hd_deflate_new(&def, 0))
		return -ENOMEM;
	cap = nghttp2_hd_deflate_bound(def, &nv, 1);
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	n = nghttp2_hd_deflate_hd(def, buf, cap, &nv, 1);
	if (n <= 0)
		goto out;
	p = buf;
	end = buf + n;
	/* a dynamic table size update first (the table of size 0) */
	while (p < end && (*p & 0xe0) == 0x20)
		if (!hpack_int(&p, end, 5, &idx))
			goto out;
	/* literal never indexed (0001xxxx) or without indexing (0000xxxx) */
	if (p >= end || (*p & 0xe0) || !hpack_int(&p, end, 4, &idx))
		goto out;
	if (!idx) {
		/* a literal name: skip it */
		if (!hpack_int(&p, end, 7, &vlen) || vlen > (size_t)(end - p))
			goto out;
		p += vlen;
	}
	if (p >= end)
		goto out;
	huff = *p & 0x80;
	if (!hpack_int(&p, end, 7, &vlen) || vlen != (size_t)(end - p))
		goto out;
	if (!huff) {
		err = -ENOENT;
		goto out;
	}
	memmove(buf, p, vlen);
	*out = buf;
	*outlen = vlen;
	buf = NULL;
	err = 0;
out:
	free(buf);
	nghttp2_hd_deflate_del(def);
	return err;
}
