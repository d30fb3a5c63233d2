// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * WebSocket client frames (RFC 6455) after an HTTP/1.1 Upgrade
 * (user/lib/reqdec.h): frame headers, unmasking, fragmented messages, control
 * frames, and permessage-deflate (RFC 7692) with zlib raw inflate keeping the
 * window across messages (context takeover; a client that resets its context
 * per message decodes the same way). One data message is one request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwriter.h"
#include "reqdec_priv.h"

void rd_ws_reset(struct sl_reqdec *d)
{
	struct rd_ws *ws = &d->ws;

	if (ws->z_init)
		inflateEnd(&ws->z);
	rd_free(d, ws->msg);
	free(ws->path);
	free(ws->authority);
	free(ws->scheme);
	memset(ws, 0, sizeof(*ws));
}

static struct rq_node *msg_node(struct sl_reqdec *d)
{
	struct rd_ws *ws = &d->ws;
	struct rq_node *n = rd_node_new(d, SL_RQ_WS, ws->msg_offset);
	struct sl_rq *r;

	if (!n)
		return NULL;
	r = &n->r;
	r->method = strdup("WS");
	if (ws->scheme) {
		free(r->scheme);
		r->scheme = strdup(ws->scheme);
	}
	if (ws->authority) {
		free(r->authority);
		r->authority = strdup(ws->authority);
	}
	/* a message of the connection the upgrade's head (read whole) opened */
	r->head_done = true;
	if (ws->path)
		rq_set_target(r, ws->path, strlen(ws->path), false, NULL, d->lim.max_items);
	r->ws_opcode = ws->msg_opcode;
	r->wire_len = ws->msg_wire;
	if (ws->msg_compressed)
		r->encodings = strdup("permessage-deflate");
	return n;
}

static void msg_reset(struct rd_ws *ws)
{
	ws->in_message = false;
	ws->msg_over = false;
	ws->msg_compressed = false;
	ws->msg_len = 0;
	ws->msg_wire = 0;
}

/* the message cannot be decoded: hand out what there is, skip its rest */
static void msg_give_up(struct sl_reqdec *d, enum sl_rq_reason why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void msg_give_up(struct sl_reqdec *d, enum sl_rq_reason why, const char *fmt, ...)
{
	struct rd_ws *ws = &d->ws;
	struct rq_node *n;
	va_list ap;

	if (ws->msg_over)
		return;
	ws->msg_over = true;
	n = msg_node(d);
	if (!n) {
		rd_fail(d, SL_RQ_R_NOMEM, d->off, "out of memory");
		return;
	}
	va_start(ap, fmt);
	rq_vundecidable(&n->r, why, fmt, ap);
	va_end(ap);
	if (!ws->msg_compressed && ws->msg_len) {
		n->r.body = malloc(ws->msg_len + 1);
		if (n->r.body) {
			memcpy(n->r.body, ws->msg, ws->msg_len);
			n->r.body[ws->msg_len] = '\0';
			n->r.body_len = ws->msg_len;
		}
	}
	rq_build_text(&d->lim, &n->r);
	rd_enqueue(d, n);
}

/* permessage-deflate: the message plus 00 00 ff ff through the kept window */
static enum sl_rq_reason inflate_msg(struct sl_reqdec *d, struct sl_rq *r)
{
	static const uint8_t tail[4] = {0, 0, 0xff, 0xff};
	struct rd_ws *ws = &d->ws;
	size_t cap = 4096, len = 0;
	uint8_t *out = NULL;
	enum sl_rq_reason why = SL_RQ_R_NONE;

	if (!ws->z_init) {
		memset(&ws->z, 0, sizeof(ws->z));
		ws->z.zalloc = rd_zalloc;
		ws->z.zfree = rd_zfree;
		ws->z.opaque = d;
		if (inflateInit2(&ws->z, -15) != Z_OK) {
			rq_undecidable(r, SL_RQ_R_LIMIT, "permessage-deflate: no memory for zlib");
			return SL_RQ_R_LIMIT;
		}
		ws->z_init = true;
	}
	for (int part = 0; part < 2 && why == SL_RQ_R_NONE; part++) {
		ws->z.next_in = part ? (uint8_t *)tail : ws->msg;
		ws->z.avail_in = part ? sizeof(tail) : ws->msg_len;
		while (ws->z.avail_in > 0) {
			int zr;

			if (!out || len == cap) {
				uint8_t *no;

				if (out)
					cap *= 2;
				if (cap > d->lim.max_body + 1)
					cap = d->lim.max_body + 1;
				if (len == cap) {
					bool bomb = len > (1u << 20) &&
						    len / (ws->msg_len ? ws->msg_len : 1) >
							d->lim.max_ratio;

					why = bomb ? SL_RQ_R_BOMB : SL_RQ_R_LIMIT;
					rq_undecidable(r, why,
						       "permessage-deflate: message over %zu bytes "
						       "decoded from %zu%s",
						       d->lim.max_body, ws->msg_len,
						       bomb ? " (inflate bomb)" : "");
					break;
				}
				no = realloc(out, cap + 1);
				if (!no) {
					why = SL_RQ_R_NOMEM;
					rq_undecidable(r, why, "out of memory");
					break;
				}
				out = no;
			}
			ws->z.next_out = out + len;
			ws->z.avail_out = cap - len;
			zr = inflate(&ws->z, Z_SYNC_FLUSH);
			len = cap - ws->z.avail_out;
			if (zr == Z_BUF_ERROR && ws->z.avail_out)
				break;
			if (zr != Z_OK && zr != Z_BUF_ERROR) {
				why = zr == Z_MEM_ERROR ? SL_RQ_R_LIMIT : SL_RQ_R_ENCODING;
				rq_undecidable(r, why, "permessage-deflate: %s at message byte %zu",
					       ws->z.msg ? ws->z.msg : zError(zr),
					       (size_t)(ws->z.next_in - ws->msg));
				break;
			}
		}
	}
	if (out) {
		out[len] = '\0';
		r->body = out;
		r->body_len = len;
	}
	return why;
}

static void msg_complete(struct sl_reqdec *d)
{
	struct rd_ws *ws = &d->ws;
	struct rq_node *n;
	struct sl_rq *r;

	if (ws->msg_over)
		goto out;
	n = msg_node(d);
	if (!n) {
		rd_fail(d, SL_RQ_R_NOMEM, d->off, "out of memory");
		goto out;
	}
	r = &n->r;
	if (ws->msg_compressed) {
		if (inflate_msg(d, r) != SL_RQ_R_NONE) {
			/* the window is lost: later messages cannot be inflated */
			rq_build_text(&d->lim, r);
			rd_enqueue(d, n);
			rd_fail(d, r->reason, ws->msg_offset, "permessage-deflate context lost");
			goto out;
		}
	} else if (ws->msg_len) {
		r->body = malloc(ws->msg_len + 1);
		if (!r->body) {
			rq_undecidable(r, SL_RQ_R_NOMEM, "out of memory");
		} else {
			memcpy(r->body, ws->msg, ws->msg_len);
			r->body[ws->msg_len] = '\0';
			r->body_len = ws->msg_len;
		}
	}
	if (r->status == SL_RQ_DECODED && ws->msg_opcode == 1 &&
	    !sl_utf8_valid(r->body, r->body_len))
		rq_undecidable(r, SL_RQ_R_UTF8,
			       "WebSocket text message at offset %llu is not valid UTF-8",
			       (unsigned long long)ws->msg_offset);
	if (r->status == SL_RQ_DECODED)
		rq_parse_body(d, r);
	rq_build_text(&d->lim, r);
	rd_enqueue(d, n);
out:
	msg_reset(ws);
}

static void payload(struct sl_reqdec *d, const uint8_t *p, size_t n)
{
	struct rd_ws *ws = &d->ws;
	uint8_t tmp[4096];

	if (ws->control || ws->msg_over) {
		ws->mask_pos += n;
		return;
	}
	ws->msg_wire += n;
	if (ws->msg_len + n > d->lim.max_ws_message) {
		msg_give_up(d, SL_RQ_R_LIMIT, "WebSocket message over %zu bytes as sent",
			    d->lim.max_ws_message);
		return;
	}
	while (n > 0) {
		size_t k = n < sizeof(tmp) ? n : sizeof(tmp);

		for (size_t i = 0; i < k; i++)
			tmp[i] = p[i] ^ ws->mask[(ws->mask_pos + i) & 3];
		ws->mask_pos += k;
		if (rd_append(d, &ws->msg, &ws->msg_len, &ws->msg_cap, tmp, k)) {
			msg_give_up(d, SL_RQ_R_LIMIT, "connection memory over %zu bytes",
				    d->lim.max_memory);
			return;
		}
		p += k;
		n -= k;
	}
}

/* a complete frame header: check it, start or continue a message */
static bool frame_start(struct sl_reqdec *d, uint64_t at)
{
	struct rd_ws *ws = &d->ws;
	const uint8_t *h = ws->hdr;
	uint8_t op = h[0] & 0x0f;
	uint64_t len = h[1] & 0x7f;
	size_t mo = 2;

	if (len == 126) {
		len = (uint64_t)h[2] << 8 | h[3];
		mo = 4;
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | h[2 + i];
		mo = 10;
		if (len >> 63) {
			rd_fail(
			    d, SL_RQ_R_MALFORMED, at,
			    "WebSocket frame at offset %llu: 64-bit length with the top bit set",
			    (unsigned long long)at);
			return false;
		}
	}
	ws->fin = h[0] & 0x80;
	ws->rsv1 = h[0] & 0x40;
	ws->opcode = op;
	ws->masked = h[1] & 0x80;
	ws->remain = len;
	ws->mask_pos = 0;
	memcpy(ws->mask, h + mo, 4);
	ws->control = op >= 8;
	if (ws->closed) {
		rd_fail(d, SL_RQ_R_MALFORMED, at,
			"WebSocket frame at offset %llu after a close frame",
			(unsigned long long)at);
		return false;
	}
	if (!ws->masked || (h[0] & 0x30) || (ws->rsv1 && (!ws->deflate_ok || ws->control))) {
		rd_fail(d, SL_RQ_R_MALFORMED, at, "WebSocket frame at offset %llu: %s",
			(unsigned long long)at,
			!ws->masked ? "a client frame without a mask"
				    : "reserved bits set that were not negotiated");
		return false;
	}
	if (ws->control) {
		if (op > 10 || !ws->fin || len > 125) {
			rd_fail(d, SL_RQ_R_MALFORMED, at,
				"WebSocket control frame at offset %llu: opcode %u, fin %d, "
				"length %llu",
				(unsigned long long)at, op, ws->fin, (unsigned long long)len);
			return false;
		}
		if (op == 8)
			ws->closed = true;
		return true;
	}
	if (op == 0) {
		if (!ws->in_message || ws->rsv1) {
			rd_fail(d, SL_RQ_R_MALFORMED, at, "WebSocket frame at offset %llu: %s",
				(unsigned long long)at,
				ws->rsv1 ? "RSV1 on a continuation frame"
					 : "a continuation without a message");
			return false;
		}
	} else if (op == 1 || op == 2) {
		if (ws->in_message) {
			rd_fail(d, SL_RQ_R_MALFORMED, at,
				"WebSocket frame at offset %llu: a new message inside a "
				"fragmented one",
				(unsigned long long)at);
			return false;
		}
		ws->in_message = true;
		ws->msg_opcode = op;
		ws->msg_compressed = ws->rsv1;
		ws->msg_offset = at;
	} else {
		rd_fail(d, SL_RQ_R_MALFORMED, at, "WebSocket frame at offset %llu: opcode %u",
			(unsigned long long)at, op);
		return false;
	}
	return true;
}

static void frame_end(struct sl_reqdec *d)
{
	struct rd_ws *ws = &d->ws;

	if (!ws->control && ws->fin)
		msg_complete(d);
}

size_t rd_ws_feed(struct sl_reqdec *d, const uint8_t *buf, size_t len)
{
	struct rd_ws *ws = &d->ws;
	size_t i = 0;

	/* the server refused the upgrade: the client speaks HTTP/1.1 again */
	if (!ws->started && len && buf[0] >= 'A' && buf[0] <= 'Z') {
		rd_ws_reset(d);
		d->mode = RD_H1;
		d->proto = SL_RQ_HTTP1;
		return 0;
	}
	ws->started = true;
	while (i < len && d->mode == RD_WS) {
		if (ws->remain == 0 && ws->hdr_need == 0) {
			/* a frame header: its size is known from its second byte */
			if (ws->hdr_len == 0) {
				ws->hdr_need = 2;
				ws->frame_off = d->off + i;
			}
		}
		if (ws->hdr_need) {
			size_t k = ws->hdr_need - ws->hdr_len;

			if (k > len - i)
				k = len - i;
			memcpy(ws->hdr + ws->hdr_len, buf + i, k);
			ws->hdr_len += k;
			i += k;
			if (ws->hdr_len < ws->hdr_need)
				break;
			if (ws->hdr_need == 2) {
				uint8_t l7 = ws->hdr[1] & 0x7f;

				ws->hdr_need = 2 +
					       (l7 == 126   ? 2
						: l7 == 127 ? 8
							    : 0) +
					       (ws->hdr[1] & 0x80 ? 4 : 0);
				if (ws->hdr_need > 2)
					continue;
			}
			ws->hdr_need = 0;
			ws->hdr_len = 0;
			if (!frame_start(d, ws->frame_off))
				return len;
			if (ws->remain == 0)
				frame_end(d);
			continue;
		}
		{
			size_t k = len - i;

			if (k > ws->remain)
				k = ws->remain;
			payload(d, buf + i, k);
			ws->remain -= k;
			i += k;
			if (ws->remain == 0)
				frame_end(d);
		}
	}
	return len;
}
