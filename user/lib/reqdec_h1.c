// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * HTTP/1.1 requests (user/lib/reqdec.h) with libhttp_parser: the parser does
 * the framing (request line, headers, Content-Length, chunked with
 * extensions and trailers, pipelining, Upgrade, CONNECT); this file collects
 * its pieces into requests. The parser is paused at the end of every message
 * so that a request knows its exact end and the connection can change
 * protocol right after an Upgrade.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqdec_priv.h"

static struct sl_reqdec *dec(http_parser *p)
{
	return p->data;
}

static int stop(struct sl_reqdec *d)
{
	return d->mode == RD_FAILED ? -1 : 0;
}

static int on_message_begin(http_parser *p)
{
	struct sl_reqdec *d = dec(p);

	d->h1 = rd_begin(d, SL_RQ_HTTP1, d->hp_base);
	if (!d->h1) {
		rd_fail(d, d->mem_over ? SL_RQ_R_LIMIT : SL_RQ_R_NOMEM, d->hp_base,
			"out of memory at offset %llu", (unsigned long long)d->hp_base);
		return -1;
	}
	d->h1_up = RD_UP_NONE;
	return 0;
}

static int grow(struct sl_reqdec *d, struct rq_build *b, uint8_t **buf, size_t *len, size_t *cap,
		const char *at, size_t n)
{
	if (b->emitted)
		return 0;
	/* the request line and header names/values count against the header limit */
	if (b->header_bytes + *len + n > d->lim.max_header_bytes) {
		rd_give_up(d, b, SL_RQ_R_LIMIT, "header section over %zu bytes",
			   d->lim.max_header_bytes);
		return 0;
	}
	if (rd_append(d, buf, len, cap, at, n))
		rd_give_up(d, b, SL_RQ_R_LIMIT, "connection memory over %zu bytes",
			   d->lim.max_memory);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct sl_reqdec *d = dec(p);
	struct rq_build *b = d->h1;

	grow(d, b, &b->url, &b->url_len, &b->url_cap, at, n);
	return stop(d);
}

static void commit_header(struct sl_reqdec *d, struct rq_build *b)
{
	if (!b->in_value)
		return;
	if (!b->emitted)
		rd_header(d, b, (const char *)b->hname, b->hname_len, (const char *)b->hval,
			  b->hval_len, b->in_trailer);
	b->hname_len = b->hval_len = 0;
	b->in_value = false;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct sl_reqdec *d = dec(p);
	struct rq_build *b = d->h1;

	commit_header(d, b);
	grow(d, b, &b->hname, &b->hname_len, &b->hname_cap, at, n);
	return stop(d);
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct sl_reqdec *d = dec(p);
	struct rq_build *b = d->h1;

	b->in_value = true;
	/* an empty value still needs a buffer */
	if (!b->hval && !b->emitted) {
		b->hval = rd_malloc(d, 16);
		b->hval_cap = b->hval ? 16 : 0;
	}
	grow(d, b, &b->hval, &b->hval_len, &b->hval_cap, at, n);
	return stop(d);
}

static int on_headers_complete(http_parser *p)
{
	struct sl_reqdec *d = dec(p);
	struct rq_build *b = d->h1;
	struct sl_rq *r;
	bool from_url = false;

	commit_header(d, b);
	b->in_trailer = true;
	if (b->emitted)
		return stop(d);
	r = &b->n->r;
	r->head_done = true;
	r->method = strdup(http_method_str(p->method));
	if (!r->method || rq_set_target(r, b->url ? (const char *)b->url : "", b->url_len,
					p->method == HTTP_CONNECT, &from_url, d->lim.max_items))
		rd_give_up(d, b, SL_RQ_R_NOMEM, "out of memory");
	if (from_url) {
		/* an absolute-form target names the authority, not Host (RFC 9112 3.2.2) */
		b->authority_from_url = true;
	}
	rd_free(d, b->url);
	b->url = NULL;
	b->url_len = b->url_cap = 0;
	return stop(d);
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct sl_reqdec *d = dec(p);

	if (d->h1->skipping)
		d->h1->wire_total += n; /* sl_reqdec_skip's filler: not the body */
	else
		rd_body(d, d->h1, at, n);
	return stop(d);
}

static int on_message_complete(http_parser *p)
{
	struct sl_reqdec *d = dec(p);
	struct rq_build *b = d->h1;
	struct rd_ws *ws = &d->ws;

	commit_header(d, b);
	d->h1_up = RD_UP_NONE;
	if (p->upgrade) {
		if (p->method == HTTP_CONNECT)
			d->h1_up = RD_UP_CONNECT;
		else if (b->ws_upgrade)
			d->h1_up = RD_UP_WS;
		else if (b->h2c_upgrade)
			d->h1_up = RD_UP_H2C;
		else
			d->h1_up = RD_UP_OTHER;
	}
	if (d->h1_up == RD_UP_WS && b->n) {
		struct sl_rq *r = &b->n->r;

		rd_ws_reset(d);
		ws->deflate_ok = b->ws_deflate;
		ws->path = r->target ? strdup(r->target) : NULL;
		ws->authority = r->authority ? strdup(r->authority) : NULL;
		ws->scheme = r->scheme ? strdup(r->scheme) : NULL;
	}
	d->h1 = NULL;
	rd_complete(d, b);
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void rd_h1_reset(struct sl_reqdec *d)
{
	rd_build_free(d, d->h1);
	d->h1 = NULL;
	d->hp_init = false;
	d->h1_up = RD_UP_NONE;
}

static void start(struct sl_reqdec *d)
{
	http_parser_init(&d->hp, HTTP_REQUEST);
	d->hp.data = d;
	d->hp_init = true;
	d->proto = SL_RQ_HTTP1;
}

/* after a message: the protocol the next bytes are in */
static void switch_protocol(struct sl_reqdec *d)
{
	switch (d->h1_up) {
	case RD_UP_WS:
		d->mode = RD_WS;
		d->proto = SL_RQ_WS;
		d->hp_init = false;
		break;
	case RD_UP_H2C:
	case RD_UP_CONNECT:
		/* h2c: the preface if the server switched, else HTTP/1.1 again;
		 * CONNECT: a new connection inside the tunnel */
		d->mode = RD_DETECT;
		d->hp_init = false;
		break;
	case RD_UP_OTHER:
		rd_fail(d, SL_RQ_R_UNSUPPORTED, d->off,
			"Upgrade to a protocol other than websocket or h2c at offset %llu",
			(unsigned long long)d->off);
		break;
	default:
		break;
	}
	d->h1_up = RD_UP_NONE;
}

/* inside a body of known length, with at least len bytes of it to come */
bool rd_h1_can_skip(const struct sl_reqdec *d, size_t len)
{
	const http_parser *p = &d->hp;

	return d->hp_init && d->h1 && d->h1->in_trailer && !d->h1->skipping &&
	       !(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
	       p->content_length >= len && !p->upgrade;
}

size_t rd_h1_feed(struct sl_reqdec *d, const uint8_t *buf, size_t len)
{
	enum http_errno err;
	size_t n;

	if (!d->hp_init)
		start(d);
	d->hp_base = d->off;
	n = http_parser_execute(&d->hp, &settings, (const char *)buf, len);
	err = HTTP_PARSER_ERRNO(&d->hp);
	if (d->mode == RD_FAILED)
		return len;
	if (err == HPE_PAUSED) {
		http_parser_pause(&d->hp, 0);
		/* the next request starts right after this one */
		d->off += n;
		switch_protocol(d);
		d->off -= n;
		return n ? n : len;
	}
	if (err != HPE_OK) {
		uint64_t at = d->off + n;
		enum sl_rq_reason why =
		    err == HPE_HEADER_OVERFLOW ? SL_RQ_R_LIMIT : SL_RQ_R_MALFORMED;

		rd_fail(d, why, at, "HTTP/1.1: %s at offset %llu", http_errno_description(err),
			(unsigned long long)at);
		return len;
	}
	/* the write ends inside a header's value: the part so far is told (a
	 * credential cut in two by the writes is redacted in the first one too) */
	if (d->h1 && d->h1->in_value && d->h1->hname_len)
		rd_tell_credential(d, (const char *)d->h1->hname, d->h1->hname_len,
				   (const char *)d->h1->hval, d->h1->hval_len);
	return len;
}
