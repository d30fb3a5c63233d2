// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What a decoded request looks like to others (user/lib/reqdec.h): the
 * canonical text the byte/keyword matcher scans, the `request` member of
 * records (docs/events.md), and the one-line summary `scopelock tail` shows.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwriter.h"
#include "reqdec_priv.h"

struct tb {
	char *p;
	size_t len, cap, max;
	bool over, nomem;
};

static void tb_put(struct tb *t, const void *s, size_t n)
{
	if (t->over || t->nomem)
		return;
	if (t->len + n > t->max) {
		n = t->max - t->len;
		t->over = true;
	}
	if (t->len + n + 1 > t->cap) {
		size_t nc = t->cap ? t->cap : 1024;
		char *np;

		while (nc < t->len + n + 1)
			nc *= 2;
		np = realloc(t->p, nc);
		if (!np) {
			t->nomem = true;
			return;
		}
		t->p = np;
		t->cap = nc;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void tb_str(struct tb *t, const char *s)
{
	if (s)
		tb_put(t, s, strlen(s));
}

static void tb_fmt(struct tb *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_fmt(struct tb *t, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		tb_put(t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void tb_json(struct tb *t, const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	if (s) {
		tb_str(t, s);
		free(s);
	} else {
		t->nomem = true;
	}
}

/* every leaf of a JSON value as "path: value", strings as they decode */
static void tb_leaves(struct tb *t, const json_t *v, char *path, size_t plen, size_t pcap)
{
	const char *k;
	json_t *c;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, c) {
			int n = snprintf(path + plen, pcap - plen, "%s%s", plen ? "." : "", k);

			tb_leaves(t, c, path, n > 0 && plen + n < pcap ? plen + n : pcap - 1, pcap);
			path[plen] = '\0';
		}
		return;
	}
	if (json_is_array(v)) {
		json_array_foreach (v, i, c) {
			int n = snprintf(path + plen, pcap - plen, "[%zu]", i);

			tb_leaves(t, c, path, n > 0 && plen + n < pcap ? plen + n : pcap - 1, pcap);
			path[plen] = '\0';
		}
		return;
	}
	tb_str(t, path);
	tb_str(t, ": ");
	if (json_is_string(v))
		tb_put(t, json_string_value(v), json_string_length(v));
	else
		tb_json(t, v);
	tb_str(t, "\n");
}

static const char *gql_type(enum sl_rq_gql_type t)
{
	return t == SL_RQ_GQL_MUTATION	     ? "mutation"
	       : t == SL_RQ_GQL_SUBSCRIPTION ? "subscription"
					     : "query";
}

static void tb_field(struct tb *t, const struct sl_rq_gql_field *f)
{
	tb_str(t, f->name);
	tb_str(t, "(");
	for (uint32_t a = 0; a < f->n_args; a++) {
		tb_fmt(t, "%s%s: ", a ? ", " : "", f->args[a].name);
		tb_json(t, f->args[a].value);
	}
	tb_str(t, ")");
}

void rq_build_text(const struct sl_reqdec_limits *lim, struct sl_rq *r)
{
	struct tb t = {.max = lim->max_text};

	if (r->proto == SL_RQ_WS)
		tb_fmt(&t, "WS %s ", r->ws_opcode == 1 ? "text" : "binary");
	else
		tb_fmt(&t, "%s ", r->method ? r->method : "-");
	if (r->scheme && r->authority)
		tb_fmt(&t, "%s://", r->scheme);
	tb_str(&t, r->authority);
	tb_str(&t, r->target);
	tb_fmt(&t, " %s\n", sl_rq_proto_name(r->proto));
	if (r->path && r->target && strncmp(r->path, r->target, strlen(r->path)) != 0) {
		tb_str(&t, "path: ");
		tb_str(&t, r->path);
		tb_str(&t, "\n");
	}
	if (r->userinfo) {
		tb_str(&t, "userinfo: ");
		tb_str(&t, r->userinfo);
		tb_str(&t, "\n");
	}
	for (uint32_t i = 0; i < r->n_params; i++) {
		tb_str(&t, "query ");
		tb_put(&t, r->params[i].name, r->params[i].name_len);
		tb_str(&t, "=");
		tb_put(&t, r->params[i].value, r->params[i].value_len);
		tb_str(&t, "\n");
	}
	for (uint32_t i = 0; i < r->n_headers; i++) {
		tb_str(&t, r->headers[i].name);
		tb_str(&t, ": ");
		tb_put(&t, r->headers[i].value, r->headers[i].value_len);
		tb_str(&t, "\n");
	}
	tb_str(&t, "\n");
	if (r->json) {
		char path[512] = "";

		tb_leaves(&t, r->json, path, 0, sizeof(path));
	} else if (r->n_form) {
		for (uint32_t i = 0; i < r->n_form; i++) {
			tb_str(&t, "form ");
			tb_put(&t, r->form[i].name, r->form[i].name_len);
			tb_str(&t, "=");
			tb_put(&t, r->form[i].value, r->form[i].value_len);
			tb_str(&t, "\n");
		}
	} else if (r->body_len) {
		tb_put(&t, r->body, r->body_len);
		tb_str(&t, "\n");
	}
	for (uint32_t i = 0; i < r->n_gql; i++) {
		const struct sl_rq_gql_op *op = &r->gql[i];

		for (uint32_t j = 0; j < op->n_fields; j++) {
			tb_fmt(&t, "graphql %s ", gql_type(op->type));
			tb_field(&t, &op->fields[j]);
			if (op->fields[j].alias)
				tb_fmt(&t, " alias %s", op->fields[j].alias);
			if (op->name)
				tb_fmt(&t, " operation %s", op->name);
			tb_str(&t, "\n");
		}
	}
	for (uint32_t i = 0; i < r->n_mcp; i++) {
		tb_fmt(&t, "mcp %s", r->mcp[i].method);
		if (r->mcp[i].tool) {
			tb_str(&t, " ");
			tb_str(&t, r->mcp[i].tool);
		}
		if (r->mcp[i].params) {
			tb_str(&t, " ");
			tb_json(&t, r->mcp[i].params);
		}
		tb_str(&t, "\n");
	}
	if (t.over)
		rq_undecidable(r, SL_RQ_R_LIMIT, "canonical text over %zu bytes", lim->max_text);
	if (t.nomem)
		rq_undecidable(r, SL_RQ_R_NOMEM, "out of memory");
	free(r->text);
	r->text = t.p;
	r->text_len = t.len;
	if (!r->text) {
		r->text = strdup("");
		r->text_len = 0;
	}
}

/* ---- records ---- */

static void jw_params(struct sl_jw *w, const char *key, const struct sl_rq_param *p, uint32_t n)
{
	if (!n)
		return;
	sl_jw_arr(w, key);
	for (uint32_t i = 0; i < n; i++) {
		sl_jw_arr(w, NULL);
		sl_jw_bytes(w, NULL, p[i].name, p[i].name_len);
		if (p[i].credential)
			sl_jw_null(w, NULL);
		else
			sl_jw_bytes(w, NULL, p[i].value, p[i].value_len);
		sl_jw_end(w);
	}
	sl_jw_end(w);
}

void sl_rq_record(struct sl_jw *w, const char *key, const struct sl_rq *r, size_t body_excerpt)
{
	sl_jw_obj(w, key);
	sl_jw_str(w, "proto", sl_rq_proto_name(r->proto));
	sl_jw_str(w, "status", r->status == SL_RQ_DECODED ? "decoded" : "undecidable");
	if (r->status != SL_RQ_DECODED) {
		sl_jw_str(w, "reason", sl_rq_reason_name(r->reason));
		sl_jw_str(w, "detail", r->detail);
	}
	sl_jw_uint(w, "offset", r->offset);
	if (r->stream_id)
		sl_jw_uint(w, "stream", r->stream_id);
	sl_jw_str(w, "method", r->method);
	sl_jw_str(w, "scheme", r->scheme);
	sl_jw_str(w, "authority", r->authority);
	sl_jw_str(w, "path", r->path);
	jw_params(w, "query", r->params, r->n_params);
	if (r->userinfo)
		sl_jw_bool(w, "userinfo", true);
	sl_jw_arr(w, "headers");
	for (uint32_t i = 0; i < r->n_headers; i++) {
		const struct sl_rq_header *h = &r->headers[i];

		sl_jw_arr(w, NULL);
		sl_jw_str(w, NULL, h->name);
		if (h->credential)
			sl_jw_null(w, NULL);
		else
			sl_jw_bytes(w, NULL, h->value, h->value_len);
		sl_jw_end(w);
	}
	sl_jw_end(w);
	if (r->encodings)
		sl_jw_str(w, "encodings", r->encodings);
	if (r->proto == SL_RQ_WS)
		sl_jw_str(w, "ws_opcode", r->ws_opcode == 1 ? "text" : "binary");
	sl_jw_uint(w, "body_len", r->body_len);
	if (r->body_len && body_excerpt)
		sl_jw_bytes(w, "body", r->body,
			    r->body_len < body_excerpt ? r->body_len : body_excerpt);
	jw_params(w, "form", r->form, r->n_form);
	if (r->n_gql) {
		sl_jw_arr(w, "graphql");
		for (uint32_t i = 0; i < r->n_gql; i++) {
			const struct sl_rq_gql_op *op = &r->gql[i];

			sl_jw_obj(w, NULL);
			sl_jw_str(w, "type", gql_type(op->type));
			sl_jw_str(w, "name", op->name);
			sl_jw_bool(w, "selected", op->selected);
			sl_jw_arr(w, "fields");
			for (uint32_t j = 0; j < op->n_fields; j++) {
				const struct sl_rq_gql_field *f = &op->fields[j];

				sl_jw_obj(w, NULL);
				sl_jw_str(w, "name", f->name);
				if (f->alias)
					sl_jw_str(w, "alias", f->alias);
				sl_jw_obj(w, "args");
				for (uint32_t a = 0; a < f->n_args; a++)
					sl_jw_json(w, f->args[a].name, f->args[a].value);
				sl_jw_end(w);
				sl_jw_end(w);
			}
			sl_jw_end(w);
			sl_jw_end(w);
		}
		sl_jw_end(w);
	}
	if (r->gql_persisted)
		sl_jw_bool(w, "graphql_persisted", true);
	if (r->n_mcp) {
		sl_jw_arr(w, "mcp");
		for (uint32_t i = 0; i < r->n_mcp; i++) {
			const struct sl_rq_mcp *c = &r->mcp[i];

			sl_jw_obj(w, NULL);
			sl_jw_str(w, "method", c->method);
			if (c->id)
				sl_jw_json(w, "id", c->id);
			if (c->tool)
				sl_jw_str(w, "tool", c->tool);
			if (c->params)
				sl_jw_json(w, c->tool ? "arguments" : "params", c->params);
			sl_jw_end(w);
		}
		sl_jw_end(w);
	}
	sl_jw_bool(w, "truncated", r->truncated);
	sl_jw_end(w);
}

size_t sl_rq_summary(const struct sl_rq *r, char *buf, size_t size)
{
	struct tb t = {.max = 4096};
	size_t n;

	if (r->proto == SL_RQ_WS)
		tb_fmt(&t, "websocket %s ", r->ws_opcode == 1 ? "text" : "binary");
	else
		tb_fmt(&t, "%s %s ",
		       r->proto == SL_RQ_HTTP2	 ? "HTTP/2"
		       : r->proto == SL_RQ_HTTP1 ? "HTTP/1.1"
						 : "?",
		       r->method ? r->method : "-");
	if (r->authority || r->path) {
		tb_put(&t, r->authority ? r->authority : "",
		       r->authority ? strlen(r->authority) : 0);
		tb_str(&t, r->path ? r->path : "");
	}
	for (uint32_t i = 0; i < r->n_gql; i++)
		for (uint32_t j = 0; j < r->gql[i].n_fields; j++)
			tb_fmt(&t, " %s %s", gql_type(r->gql[i].type), r->gql[i].fields[j].name);
	for (uint32_t i = 0; i < r->n_mcp; i++)
		tb_fmt(&t, " %s%s%s", r->mcp[i].method, r->mcp[i].tool ? " " : "",
		       r->mcp[i].tool ? r->mcp[i].tool : "");
	if (r->proto == SL_RQ_WS || (!r->n_gql && !r->n_mcp && r->body_len))
		tb_fmt(&t, " %zu bytes", r->body_len);
	if (r->status != SL_RQ_DECODED)
		tb_fmt(&t, " UNDECIDABLE %s: %s", sl_rq_reason_name(r->reason), r->detail);
	n = t.len;
	if (size) {
		size_t c = n < size - 1 ? n : size - 1;

		if (c)
			memcpy(buf, t.p, c);
		buf[c] = '\0';
		/* never a control character on a terminal line */
		for (size_t i = 0; i < c; i++)
			if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
				buf[i] = '?';
	}
	free(t.p);
	return n;
}
