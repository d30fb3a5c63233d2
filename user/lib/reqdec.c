// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The request decoder's connection object (user/lib/reqdec.h): accounted
 * memory, protocol detection, the request life cycle shared by the HTTP/1.1,
 * HTTP/2 and WebSocket engines, and the queue of decoded requests.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reqdec_priv.h"

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN 24

void sl_reqdec_limits_default(struct sl_reqdec_limits *l)
{
	*l = (struct sl_reqdec_limits){
	    .max_memory = 8u << 20,
	    .max_header_bytes = 64u << 10,
	    .max_headers = 256,
	    .max_wire_body = 1u << 20,
	    .max_body = 4u << 20,
	    .max_ratio = 200,
	    .max_encodings = 3,
	    .max_depth = 64,
	    .max_items = 256,
	    .max_streams = 256,
	    .max_ws_message = 1u << 20,
	    .max_text = 4u << 20,
	    .max_pending = 1024,
	};
}

static const char *const reason_names[SL_RQ_R_MAX] = {
    [SL_RQ_R_NONE] = "none",
    [SL_RQ_R_MALFORMED] = "malformed",
    [SL_RQ_R_UNSUPPORTED] = "unsupported",
    [SL_RQ_R_LIMIT] = "limit",
    [SL_RQ_R_BOMB] = "bomb",
    [SL_RQ_R_HPACK] = "hpack",
    [SL_RQ_R_ENCODING] = "encoding",
    [SL_RQ_R_JSON] = "json",
    [SL_RQ_R_GRAPHQL] = "graphql",
    [SL_RQ_R_UTF8] = "utf8",
    [SL_RQ_R_INCOMPLETE] = "incomplete",
    [SL_RQ_R_FAILED_EARLIER] = "failed_earlier",
    [SL_RQ_R_NOMEM] = "nomem",
};

const char *sl_rq_reason_name(enum sl_rq_reason r)
{
	return (unsigned int)r < SL_RQ_R_MAX ? reason_names[r] : "unknown";
}

const char *sl_rq_proto_name(enum sl_rq_proto p)
{
	switch (p) {
	case SL_RQ_HTTP1:
		return "http/1.1";
	case SL_RQ_HTTP2:
		return "http/2";
	case SL_RQ_WS:
		return "websocket";
	default:
		return "unknown";
	}
}

/* ---- accounted memory: a size word before each block ---- */

#define RD_HDR 16

void *rd_malloc(struct sl_reqdec *d, size_t n)
{
	uint8_t *p;

	if (n > d->lim.max_memory || d->mem > d->lim.max_memory - n) {
		d->mem_over = true;
		return NULL;
	}
	p = malloc(n + RD_HDR);
	if (!p)
		return NULL;
	*(size_t *)p = n;
	d->mem += n;
	return p + RD_HDR;
}

void *rd_calloc(struct sl_reqdec *d, size_t n, size_t m)
{
	void *p;

	if (m && n > SIZE_MAX / m)
		return NULL;
	p = rd_malloc(d, n * m);
	if (p)
		memset(p, 0, n * m);
	return p;
}

void rd_free(struct sl_reqdec *d, void *p)
{
	uint8_t *b = p;

	if (!p)
		return;
	b -= RD_HDR;
	d->mem -= *(size_t *)b;
	free(b);
}

void *rd_realloc(struct sl_reqdec *d, void *p, size_t n)
{
	uint8_t *b, *nb;
	size_t old;

	if (!p)
		return rd_malloc(d, n);
	b = (uint8_t *)p - RD_HDR;
	old = *(size_t *)b;
	if (n > old && (n - old > d->lim.max_memory || d->mem > d->lim.max_memory - (n - old))) {
		d->mem_over = true;
		return NULL;
	}
	nb = realloc(b, n + RD_HDR);
	if (!nb)
		return NULL;
	*(size_t *)nb = n;
	d->mem = d->mem - old + n;
	return nb + RD_HDR;
}

int rd_append(struct sl_reqdec *d, uint8_t **buf, size_t *len, size_t *cap, const void *data,
	      size_t n)
{
	if (n == 0)
		return 0;
	if (*len + n > *cap) {
		size_t nc = *cap ? *cap : 256;
		uint8_t *nb;

		while (nc < *len + n)
			nc *= 2;
		nb = rd_realloc(d, *buf, nc);
		if (!nb) {
			/* a doubling may not fit where the exact size does */
			nc = *len + n;
			nb = rd_realloc(d, *buf, nc);
			if (!nb)
				return -ENOMEM;
		}
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	return 0;
}

void *rd_zalloc(void *opaque, unsigned int items, unsigned int size)
{
	return rd_calloc(opaque, items, size);
}

void rd_zfree(void *opaque, void *p)
{
	rd_free(opaque, p);
}

/* ---- requests ---- */

char *rq_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void rq_vundecidable(struct sl_rq *r, enum sl_rq_reason reason, const char *fmt, va_list ap)
{
	if (r->status == SL_RQ_UNDECIDABLE)
		return;
	r->status = SL_RQ_UNDECIDABLE;
	r->reason = reason;
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	if (reason == SL_RQ_R_LIMIT || reason == SL_RQ_R_BOMB)
		r->truncated = true;
}

void rq_undecidable(struct sl_rq *r, enum sl_rq_reason reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rq_vundecidable(r, reason, fmt, ap);
	va_end(ap);
}

static void params_free(struct sl_rq_param *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

void sl_rq_free(struct sl_rq *r)
{
	if (!r)
		return;
	free(r->method);
	free(r->scheme);
	free(r->authority);
	free(r->target);
	free(r->path);
	free(r->query);
	free(r->userinfo);
	params_free(r->params, r->n_params);
	for (uint32_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	free(r->content_type);
	free(r->encodings);
	free(r->body);
	json_decref(r->json);
	params_free(r->form, r->n_form);
	rq_gql_free_ops(r->gql, r->n_gql);
	for (uint32_t i = 0; i < r->n_mcp; i++) {
		free(r->mcp[i].method);
		free(r->mcp[i].tool);
		json_decref(r->mcp[i].id);
		json_decref(r->mcp[i].params);
	}
	free(r->mcp);
	free(r->text);
	free(r);
}

struct rq_node *rd_node_new(struct sl_reqdec *d, enum sl_rq_proto proto, uint64_t off)
{
	struct rq_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->r.proto = proto;
	n->r.offset = off;
	if (d->origin_scheme)
		n->r.scheme = strdup(d->origin_scheme);
	if (d->origin_authority)
		n->r.authority = strdup(d->origin_authority);
	return n;
}

void rd_enqueue(struct sl_reqdec *d, struct rq_node *n)
{
	n->r.seq = d->seq++;
	n->next = NULL;
	if (d->q_tail)
		d->q_tail->next = n;
	else
		d->q_head = n;
	d->q_tail = n;
	d->n_pending++;
	if (d->n_pending > d->lim.max_pending && d->mode != RD_FAILED)
		rd_fail(d, SL_RQ_R_LIMIT, d->off, "more than %u decoded requests waiting",
			d->lim.max_pending);
}

struct rq_build *rd_begin(struct sl_reqdec *d, enum sl_rq_proto proto, uint64_t off)
{
	struct rq_build *b = rd_calloc(d, 1, sizeof(*b));

	if (!b)
		return NULL;
	b->n = rd_node_new(d, proto, off);
	if (!b->n) {
		rd_free(d, b);
		return NULL;
	}
	return b;
}

void rd_build_free(struct sl_reqdec *d, struct rq_build *b)
{
	if (!b)
		return;
	if (b->n)
		sl_rq_free(&b->n->r);
	rd_free(d, b->wire);
	rd_free(d, b->hname);
	rd_free(d, b->hval);
	rd_free(d, b->url);
	rd_free(d, b->ce);
	rd_free(d, b->te);
	rd_free(d, b);
}

static int list_add(struct sl_reqdec *d, char **list, const char *v, size_t len)
{
	size_t old = *list ? strlen(*list) : 0;
	char *n = rd_realloc(d, *list, old + len + 3);

	if (!n)
		return -ENOMEM;
	if (old) {
		memcpy(n + old, ", ", 2);
		old += 2;
	}
	memcpy(n + old, v, len);
	n[old + len] = '\0';
	*list = n;
	return 0;
}

static bool has_token(const char *v, size_t len, const char *tok)
{
	size_t tl = strlen(tok);

	for (size_t i = 0; i + tl <= len; i++)
		if (strncasecmp(v + i, tok, tl) == 0)
			return true;
	return false;
}

void rd_tell_credential(struct sl_reqdec *d, const char *name, size_t nlen, const char *value,
			size_t vlen)
{
	char nm[128];

	if (!d->cred_fn || nlen >= sizeof(nm) || !vlen)
		return;
	memcpy(nm, name, nlen);
	nm[nlen] = '\0';
	if (sl_rq_credential_header(nm))
		d->cred_fn(d->cred_ctx, name, nlen, value, vlen);
}

bool rd_header(struct sl_reqdec *d, struct rq_build *b, const char *name, size_t nlen,
	       const char *value, size_t vlen, bool trailer)
{
	struct sl_rq *r;
	struct sl_rq_header *h;
	char *n, *v;

	/* a credential is told at once, even past a limit (its bytes were sent) */
	rd_tell_credential(d, name, nlen, value, vlen);
	if (b->emitted)
		return false;
	r = &b->n->r;
	if (r->n_headers >= d->lim.max_headers) {
		rd_give_up(d, b, SL_RQ_R_LIMIT, "more than %u header fields", d->lim.max_headers);
		return false;
	}
	b->header_bytes += nlen + vlen;
	if (b->header_bytes > d->lim.max_header_bytes) {
		rd_give_up(d, b, SL_RQ_R_LIMIT, "header section over %zu bytes",
			   d->lim.max_header_bytes);
		return false;
	}
	if ((r->n_headers & (r->n_headers - 1)) == 0) {
		uint32_t cap = r->n_headers ? r->n_headers * 2 : 8;
		struct sl_rq_header *nh = realloc(r->headers, cap * sizeof(*nh));

		if (!nh)
			goto nomem;
		r->headers = nh;
	}
	n = rq_strndup(name, nlen);
	v = rq_strndup(value, vlen);
	if (!n || !v) {
		free(n);
		free(v);
		goto nomem;
	}
	for (size_t i = 0; i < nlen; i++)
		n[i] = tolower((unsigned char)n[i]);
	h = &r->headers[r->n_headers++];
	*h = (struct sl_rq_header){.name = n,
				   .value = v,
				   .value_len = vlen,
				   .trailer = trailer,
				   .credential = sl_rq_credential_header(n)};
	if (trailer)
		return true;
	if (strcmp(n, "host") == 0 && !b->authority_from_url && r->proto != SL_RQ_HTTP2) {
		free(r->authority);
		r->authority = rq_strndup(value, vlen);
	} else if (strcmp(n, "content-type") == 0 && !r->content_type) {
		r->content_type = strdup(v);
		if (r->content_type)
			for (char *c = r->content_type; *c; c++)
				*c = tolower((unsigned char)*c);
	} else if (strcmp(n, "content-encoding") == 0) {
		if (list_add(d, &b->ce, value, vlen))
			goto nomem;
	} else if (strcmp(n, "transfer-encoding") == 0) {
		if (list_add(d, &b->te, value, vlen))
			goto nomem;
	} else if (strcmp(n, "upgrade") == 0) {
		b->ws_upgrade |= has_token(value, vlen, "websocket");
		b->h2c_upgrade |= has_token(value, vlen, "h2c");
	} else if (strcmp(n, "sec-websocket-extensions") == 0) {
		b->ws_deflate |= has_token(value, vlen, "permessage-deflate");
	}
	return true;
nomem:
	rd_give_up(d, b, SL_RQ_R_NOMEM, "out of memory");
	return false;
}

bool rd_body(struct sl_reqdec *d, struct rq_build *b, const void *data, size_t len)
{
	b->wire_total += len;
	if (b->emitted)
		return false;
	if (b->wire_len + len > d->lim.max_wire_body) {
		size_t fit = d->lim.max_wire_body - b->wire_len;

		rd_append(d, &b->wire, &b->wire_len, &b->wire_cap, data, fit);
		rd_give_up(d, b, SL_RQ_R_LIMIT, "body over %zu bytes as sent",
			   d->lim.max_wire_body);
		return false;
	}
	if (rd_append(d, &b->wire, &b->wire_len, &b->wire_cap, data, len)) {
		rd_give_up(d, b, SL_RQ_R_LIMIT, "connection memory over %zu bytes",
			   d->lim.max_memory);
		return false;
	}
	return true;
}

/* the codings in the order the sender applied them: content, then transfer */
static char *codings(struct sl_reqdec *d, struct rq_build *b)
{
	size_t cl = b->ce ? strlen(b->ce) : 0, tl = 0;
	char *te = NULL, *out;

	if (b->te) {
		/* transfer codings except the framing (chunked) */
		te = strdup(b->te);
		if (!te)
			return NULL;
		char *w = te, *save = NULL;

		for (char *t = strtok_r(b->te, ", \t", &save); t;
		     t = strtok_r(NULL, ", \t", &save)) {
			if (strcasecmp(t, "chunked") == 0)
				continue;
			if (w != te)
				*w++ = ',';
			memmove(w, t, strlen(t));
			w += strlen(t);
		}
		*w = '\0';
		tl = strlen(te);
	}
	out = malloc(cl + tl + 2);
	if (out) {
		snprintf(out, cl + tl + 2, "%s%s%s", b->ce ? b->ce : "", cl && tl ? "," : "",
			 te ? te : "");
	}
	free(te);
	return out;
}

static void rd_finish(struct sl_reqdec *d, struct rq_build *b, bool decode)
{
	struct sl_rq *r = &b->n->r;
	char *enc = codings(d, b);
	bool encoded = false;

	r->wire_len = b->wire_total;
	if (enc) {
		/* any coding but "identity" */
		for (const char *c = enc; *c && !encoded;) {
			size_t l;

			c += strspn(c, ", \t");
			l = strcspn(c, ", \t");
			if (l && !(l == 8 && strncasecmp(c, "identity", 8) == 0))
				encoded = true;
			c += l;
		}
		if (encoded)
			r->encodings = strdup(enc);
	} else if (b->ce || b->te) {
		rq_undecidable(r, SL_RQ_R_NOMEM, "out of memory");
	}
	if (encoded && decode) {
		enum sl_rq_reason why;

		why = rq_decode_body(d, enc, b->wire, b->wire_len, &r->body, &r->body_len,
				     r->detail, sizeof(r->detail));
		if (why != SL_RQ_R_NONE && r->status == SL_RQ_DECODED) {
			r->status = SL_RQ_UNDECIDABLE;
			r->reason = why;
			if (why == SL_RQ_R_LIMIT || why == SL_RQ_R_BOMB)
				r->truncated = true;
		}
	} else if (!encoded && b->wire_len) {
		r->body = malloc(b->wire_len + 1);
		if (r->body) {
			memcpy(r->body, b->wire, b->wire_len);
			r->body[b->wire_len] = '\0';
			r->body_len = b->wire_len;
		} else {
			rq_undecidable(r, SL_RQ_R_NOMEM, "out of memory");
		}
	}
	free(enc);
	/* a body cut at a limit is not parsed: its JSON would not be complete */
	if (decode && !r->truncated)
		rq_parse_body(d, r);
	rq_build_text(&d->lim, r);
	rd_enqueue(d, b->n);
	b->n = NULL;
	rd_free(d, b->wire);
	b->wire = NULL;
	b->wire_len = b->wire_cap = 0;
}

void rd_give_up(struct sl_reqdec *d, struct rq_build *b, enum sl_rq_reason reason, const char *fmt,
		...)
{
	va_list ap;

	if (b->emitted)
		return;
	va_start(ap, fmt);
	rq_vundecidable(&b->n->r, reason, fmt, ap);
	va_end(ap);
	b->emitted = true;
	rd_finish(d, b, false);
}

void rd_complete(struct sl_reqdec *d, struct rq_build *b)
{
	if (b->skipped)
		rd_give_up(d, b, SL_RQ_R_LIMIT, "%llu bytes of the body were not captured",
			   (unsigned long long)b->skipped);
	if (!b->emitted)
		rd_finish(d, b, true);
	rd_build_free(d, b);
}

/* ---- the connection ---- */

void rd_fail(struct sl_reqdec *d, enum sl_rq_reason reason, uint64_t off, const char *fmt, ...)
{
	bool any = false;
	va_list ap;

	if (d->mode == RD_FAILED)
		return;
	d->mode = RD_FAILED;
	d->fail_reason = reason;
	d->fail_off = off;
	va_start(ap, fmt);
	vsnprintf(d->fail_detail, sizeof(d->fail_detail), fmt, ap);
	va_end(ap);
	/* the requests in progress never complete */
	if (d->h1 && !d->h1->emitted) {
		rd_give_up(d, d->h1, reason, "%s", d->fail_detail);
		any = true;
	}
	for (struct rq_build *b = d->streams; b; b = b->next) {
		if (!b->emitted) {
			rd_give_up(d, b, reason, "%s", d->fail_detail);
			any = true;
		}
	}
	if (!any) {
		struct rq_node *n = rd_node_new(d, d->proto ? d->proto : SL_RQ_UNKNOWN, off);

		if (n) {
			rq_undecidable(&n->r, reason, "%s", d->fail_detail);
			rq_build_text(&d->lim, &n->r);
			rd_enqueue(d, n);
		}
	}
}

int sl_reqdec_new(const struct sl_reqdec_limits *limits, struct sl_reqdec **out)
{
	struct sl_reqdec *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	if (limits)
		d->lim = *limits;
	else
		sl_reqdec_limits_default(&d->lim);
	if (!d->lim.max_memory || !d->lim.max_pending || !d->lim.max_text) {
		free(d);
		return -EINVAL;
	}
	d->proto = SL_RQ_UNKNOWN;
	*out = d;
	return 0;
}

int sl_reqdec_set_origin(struct sl_reqdec *d, const char *scheme, const char *authority)
{
	char *s = scheme ? strdup(scheme) : NULL, *a = authority ? strdup(authority) : NULL;

	if ((scheme && !s) || (authority && !a)) {
		free(s);
		free(a);
		return -ENOMEM;
	}
	free(d->origin_scheme);
	free(d->origin_authority);
	d->origin_scheme = s;
	d->origin_authority = a;
	return 0;
}

static void engines_reset(struct sl_reqdec *d)
{
	rd_h1_reset(d);
	rd_h2_reset(d);
	rd_ws_reset(d);
}

void sl_reqdec_set_credential_hook(struct sl_reqdec *d, sl_reqdec_cred_fn fn, void *ctx)
{
	d->cred_fn = fn;
	d->cred_ctx = ctx;
}

void sl_reqdec_reset(struct sl_reqdec *d)
{
	struct rq_node *n = d->q_head;

	engines_reset(d);
	while (n) {
		struct rq_node *next = n->next;

		sl_rq_free(&n->r);
		n = next;
	}
	d->q_head = d->q_tail = NULL;
	d->n_pending = 0;
	d->off = 0;
	d->seq = 0;
	d->mode = RD_DETECT;
	d->proto = SL_RQ_UNKNOWN;
	d->fail_reason = SL_RQ_R_NONE;
	d->fail_detail[0] = '\0';
	d->pre_len = 0;
	d->mem_over = false;
}

void sl_reqdec_free(struct sl_reqdec *d)
{
	if (!d)
		return;
	sl_reqdec_reset(d);
	free(d->origin_scheme);
	free(d->origin_authority);
	free(d);
}

/* how many bytes of buf decide the protocol: 0 = need more */
static size_t detect(struct sl_reqdec *d, const uint8_t *buf, size_t len)
{
	size_t n = len < H2_PREFACE_LEN ? len : H2_PREFACE_LEN;

	if (len && buf[0] == 0x16) {
		rd_fail(d, SL_RQ_R_UNSUPPORTED, d->off,
			"a TLS handshake record at offset %llu: encrypted, not plaintext",
			(unsigned long long)d->off);
		return len;
	}
	if (memcmp(buf, h2_preface, n) == 0) {
		if (len < H2_PREFACE_LEN)
			return 0;
		if (rd_h2_start(d))
			rd_fail(d, SL_RQ_R_NOMEM, d->off, "out of memory starting HTTP/2");
		else
			d->mode = RD_H2;
		return len;
	}
	d->mode = RD_H1;
	return len;
}

static size_t feed_mode(struct sl_reqdec *d, const uint8_t *buf, size_t len)
{
	switch (d->mode) {
	case RD_H1:
		return rd_h1_feed(d, buf, len);
	case RD_H2:
		return rd_h2_feed(d, buf, len);
	case RD_WS:
		return rd_ws_feed(d, buf, len);
	default:
		return 0;
	}
}

size_t sl_reqdec_open_heads(const struct sl_reqdec *d, bool (*fn)(void *ctx, const struct sl_rq *r),
			    void *ctx)
{
	const struct rq_build *b = NULL;
	size_t n = 0;

	if (d->mode == RD_H1)
		b = d->h1;
	else if (d->mode == RD_H2)
		b = d->streams;
	for (; b; b = d->mode == RD_H2 ? b->next : NULL) {
		if (b->emitted || !b->n || !b->n->r.head_done)
			continue;
		n++;
		if (!fn(ctx, &b->n->r))
			break;
	}
	return n;
}

bool sl_reqdec_failed(const struct sl_reqdec *d)
{
	return d->mode == RD_FAILED;
}

int sl_reqdec_skip(struct sl_reqdec *d, size_t len)
{
	static const uint8_t filler[65536];
	enum rd_mode mode = d->mode;
	int32_t sid = (int32_t)d->h2_sid;
	struct rq_build *b = NULL;

	if (!len)
		return 0;
	if (d->pre_len)
		return -EAGAIN;
	if (mode == RD_H1 && rd_h1_can_skip(d, len))
		b = d->h1;
	else if (mode == RD_H2)
		b = rd_h2_skip_target(d, len);
	if (!b)
		return -EAGAIN;
	/* the parser keeps the framing; the body callbacks ignore the filler
	 * and the request's end gives it up (rd_complete) */
	b->skipped += len;
	b->skipping = true;
	while (len) {
		size_t k = len < sizeof(filler) ? len : sizeof(filler);
		int rc = sl_reqdec_feed(d, filler, k);

		if (rc)
			return rc;
		len -= k;
	}
	/* len never runs past the body (DATA frame): the request ended at most
	 * here, and then it is gone */
	if (d->mode == mode)
		b = mode == RD_H1 ? d->h1 : rd_h2_stream(d, sid);
	else
		b = NULL;
	if (b)
		b->skipping = false;
	return 0;
}

int sl_reqdec_feed(struct sl_reqdec *d, const void *data, size_t len)
{
	const uint8_t *buf = data;
	bool failed_before = d->mode == RD_FAILED;

	while (len > 0) {
		size_t n;

		if (d->mode == RD_FAILED && !failed_before) {
			/* the failure's own record answers for the rest of this write */
			d->off += len + d->pre_len;
			d->pre_len = 0;
			break;
		}
		if (d->mode == RD_FAILED) {
			struct rq_node *fn = rd_node_new(d, d->proto, d->off);

			if (!fn)
				return -ENOMEM;
			rq_undecidable(&fn->r, SL_RQ_R_FAILED_EARLIER,
				       "connection undecodable since offset %llu (%s: %s)",
				       (unsigned long long)d->fail_off,
				       sl_rq_reason_name(d->fail_reason), d->fail_detail);
			rq_build_text(&d->lim, &fn->r);
			rd_enqueue(d, fn);
			d->off += len + d->pre_len;
			d->pre_len = 0;
			break;
		}
		if (d->mode == RD_DETECT) {
			/* the buffered start and the new bytes, as one */
			size_t take = sizeof(d->pre) - d->pre_len;

			if (take > len)
				take = len;
			memcpy(d->pre + d->pre_len, buf, take);
			if (detect(d, d->pre, d->pre_len + take) == 0) {
				d->pre_len += take;
				buf += take;
				len -= take;
				continue;
			}
			if (d->mode == RD_FAILED) {
				d->off += d->pre_len + len;
				d->pre_len = 0;
				break;
			}
			if (d->pre_len) {
				/* feed the buffered bytes first, then the rest of buf */
				size_t held = d->pre_len, off = 0;

				d->pre_len = 0;
				while (off < held && d->mode != RD_FAILED && d->mode != RD_DETECT) {
					n = feed_mode(d, d->pre + off, held - off);
					d->off += n;
					off += n;
				}
				if (off < held) {
					/* the protocol changed inside the held bytes */
					uint8_t tmp[sizeof(d->pre)];

					memcpy(tmp, d->pre + off, held - off);
					memcpy(d->pre, tmp, held - off);
					d->pre_len = held - off;
				}
			}
			continue;
		}
		n = feed_mode(d, buf, len);
		d->off += n;
		buf += n;
		len -= n;
	}
	return 0;
}

int sl_reqdec_finish(struct sl_reqdec *d)
{
	if (d->mode == RD_FAILED)
		return 0;
	if (sl_reqdec_in_progress(d) || d->pre_len)
		rd_fail(d, SL_RQ_R_INCOMPLETE, d->off + d->pre_len,
			"the connection ended inside a request (offset %llu)",
			(unsigned long long)(d->off + d->pre_len));
	return 0;
}

struct sl_rq *sl_reqdec_next(struct sl_reqdec *d)
{
	struct rq_node *n = d->q_head;

	if (!n)
		return NULL;
	d->q_head = n->next;
	if (!d->q_head)
		d->q_tail = NULL;
	d->n_pending--;
	n->next = NULL;
	return &n->r;
}

uint32_t sl_reqdec_in_progress(const struct sl_reqdec *d)
{
	uint32_t n = d->n_streams;

	if (d->h1)
		n++;
	if (d->mode == RD_WS && (d->ws.in_message || d->ws.hdr_len || d->ws.remain))
		n++;
	return n;
}

enum sl_rq_proto sl_reqdec_proto(const struct sl_reqdec *d)
{
	return d->proto;
}

uint64_t sl_reqdec_offset(const struct sl_reqdec *d)
{
	return d->off + d->pre_len;
}

/* ---- credential positions ---- */

static const char *const cred_headers[] = {
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
    "apikey",
    "x-goog-api-key",
    "x-anthropic-api-key",
    "openai-api-key",
    "x-openai-api-key",
    "anthropic-api-key",
    "x-auth-token",
    "x-access-token",
    "private-token",
    "job-token",
    "x-vault-token",
    "x-amz-security-token",
    "x-github-token",
    "project-access-token",
    "team-access-token",
    "x-shopify-access-token",
    "dd-api-key",
    "dd-application-key",
    "x-honeycomb-team",
    "x-figma-token",
    "x-csrf-token",
    "x-xsrf-token",
    "sec-websocket-protocol", /* carries bearer tokens (Kubernetes, others) */
};

bool sl_rq_credential_header(const char *name)
{
	static const char *const suffixes[] = {
	    "-token",	    "-key",  "-secret", "-password",	  "-credential",
	    "-credentials", "-auth", "apikey",	"-authorization", "-session"};
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(cred_headers) / sizeof(cred_headers[0]); i++)
		if (strcasecmp(name, cred_headers[i]) == 0)
			return true;
	/* a nonce, not a secret */
	if (strcasecmp(name, "sec-websocket-key") == 0)
		return false;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len >= sl && strcasecmp(name + len - sl, suffixes[i]) == 0)
			return true;
	}
	return false;
}

bool sl_rq_credential_param(const char *name, size_t len)
{
	static const char *const names[] = {
	    "access_token",
	    "api_key",
	    "apikey",
	    "api-key",
	    "key",
	    "token",
	    "auth",
	    "password",
	    "passwd",
	    "secret",
	    "client_secret",
	    "refresh_token",
	    "id_token",
	    "signature",
	    "x-amz-signature",
	    "x-amz-security-token",
	    "sig",
	    "session",
	    "private_token",
	    "code",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncasecmp(name, names[i], len) == 0)
			return true;
	if (len >= 6 && strncasecmp(name + len - 6, "_token", 6) == 0)
		return true;
	if (len >= 4 && strncasecmp(name + len - 4, "_key", 4) == 0)
		return true;
	return false;
}
