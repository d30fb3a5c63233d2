// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What a request says (user/lib/reqdec.h): its target (path, query string,
 * absolute-form authority and userinfo), and its decoded body as JSON
 * (jansson), a form, GraphQL (JSON "query"/"variables"/"operationName",
 * batches, graphql-ws messages, GET ?query=, application/graphql) and MCP
 * JSON-RPC 2.0 calls (tools/call name and arguments, batches).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqdec_priv.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* percent-decode (plus: '+' is a space); keep_nul: %00 stays as written */
static char *pct_decode(const char *s, size_t len, bool plus, bool keep_nul, size_t *outlen)
{
	char *o = malloc(len + 1);
	size_t j = 0;

	if (!o)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int h, l;

		if (s[i] == '%' && i + 2 < len && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (l = hexval((unsigned char)s[i + 2])) >= 0 && !(keep_nul && h == 0 && l == 0)) {
			o[j++] = (char)(h << 4 | l);
			i += 2;
		} else if (plus && s[i] == '+') {
			o[j++] = ' ';
		} else {
			o[j++] = s[i];
		}
	}
	o[j] = '\0';
	if (outlen)
		*outlen = j;
	return o;
}

int rq_parse_params(const char *s, size_t len, struct sl_rq_param **out, uint32_t *n, uint32_t max)
{
	size_t i = 0;

	while (i < len) {
		size_t e = i, eq;
		struct sl_rq_param *p;

		while (e < len && s[e] != '&' && s[e] != ';')
			e++;
		if (e == i) {
			i = e + 1;
			continue;
		}
		if (*n >= max)
			return -E2BIG;
		if ((*n & (*n - 1)) == 0) {
			uint32_t cap = *n ? *n * 2 : 4;
			struct sl_rq_param *np = realloc(*out, cap * sizeof(*np));

			if (!np)
				return -ENOMEM;
			*out = np;
		}
		for (eq = i; eq < e && s[eq] != '='; eq++)
			;
		p = &(*out)[*n];
		memset(p, 0, sizeof(*p));
		p->name = pct_decode(s + i, eq - i, true, false, &p->name_len);
		p->value = eq < e ? pct_decode(s + eq + 1, e - eq - 1, true, false, &p->value_len)
				  : pct_decode("", 0, true, false, &p->value_len);
		if (!p->name || !p->value) {
			free(p->name);
			free(p->value);
			return -ENOMEM;
		}
		p->credential = sl_rq_credential_param(p->name, p->name_len);
		(*n)++;
		i = e + 1;
	}
	return 0;
}

static int set_query(struct sl_rq *r, const char *q, size_t len, uint32_t max)
{
	int err;

	r->query = rq_strndup(q, len);
	if (!r->query)
		return -ENOMEM;
	err = rq_parse_params(q, len, &r->params, &r->n_params, max);
	if (err == -E2BIG) {
		rq_undecidable(r, SL_RQ_R_LIMIT, "more than %u query parameters", max);
		return 0;
	}
	return err;
}

int rq_set_target(struct sl_rq *r, const char *t, size_t len, bool connect, bool *from_url,
		  uint32_t max)
{
	struct http_parser_url u;
	size_t plen;

	free(r->target);
	r->target = rq_strndup(t, len);
	if (!r->target)
		return -ENOMEM;
	if (connect) {
		free(r->authority);
		r->authority = rq_strndup(t, len);
		if (from_url)
			*from_url = true;
		return r->authority ? 0 : -ENOMEM;
	}
	if (len == 0 || t[0] == '/' || t[0] == '*') {
		const char *q = memchr(t, '?', len);

		plen = q ? (size_t)(q - t) : len;
		r->path = pct_decode(t, plen, false, true, NULL);
		if (!r->path)
			return -ENOMEM;
		return q ? set_query(r, q + 1, len - plen - 1, max) : 0;
	}
	/* absolute-form: scheme://userinfo@host:port/path?query */
	http_parser_url_init(&u);
	if (http_parser_parse_url(t, len, 0, &u) != 0 || !(u.field_set & (1 << UF_HOST))) {
		/* not a URL the parser knows: the whole target is the path */
		r->path = pct_decode(t, len, false, true, NULL);
		return r->path ? 0 : -ENOMEM;
	}
	if (u.field_set & (1 << UF_SCHEMA)) {
		free(r->scheme);
		r->scheme =
		    rq_strndup(t + u.field_data[UF_SCHEMA].off, u.field_data[UF_SCHEMA].len);
		if (r->scheme)
			for (char *c = r->scheme; *c; c++)
				*c = tolower((unsigned char)*c);
	}
	{
		const char *h = t + u.field_data[UF_HOST].off;
		size_t hl = u.field_data[UF_HOST].len;
		bool v6 = memchr(h, ':', hl) != NULL;
		char buf[600];

		snprintf(buf, sizeof(buf), "%s%.*s%s%s%.*s", v6 ? "[" : "",
			 (int)(hl > 512 ? 512 : hl), h, v6 ? "]" : "",
			 u.field_set & (1 << UF_PORT) ? ":" : "",
			 u.field_set & (1 << UF_PORT) ? (int)u.field_data[UF_PORT].len : 0,
			 t + u.field_data[UF_PORT].off);
		free(r->authority);
		r->authority = strdup(buf);
		if (!r->authority)
			return -ENOMEM;
		if (from_url)
			*from_url = true;
	}
	if (u.field_set & (1 << UF_USERINFO)) {
		r->userinfo = pct_decode(t + u.field_data[UF_USERINFO].off,
					 u.field_data[UF_USERINFO].len, false, false, NULL);
		if (!r->userinfo)
			return -ENOMEM;
	}
	if (u.field_set & (1 << UF_PATH))
		r->path = pct_decode(t + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len,
				     false, true, NULL);
	else
		r->path = strdup("/");
	if (!r->path)
		return -ENOMEM;
	if (u.field_set & (1 << UF_QUERY))
		return set_query(r, t + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len,
				 max);
	return 0;
}

/* ---- JSON ---- */

static bool too_deep(const json_t *v, uint32_t depth, uint32_t max)
{
	const char *k;
	json_t *c;
	size_t i;

	if (depth > max)
		return true;
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, c)
			if (too_deep(c, depth + 1, max))
				return true;
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, c)
			if (too_deep(c, depth + 1, max))
				return true;
	}
	return false;
}

/* a GraphQL document: '{' or an operation/fragment keyword after ignored tokens */
static bool looks_graphql(const char *s, size_t len)
{
	static const char *const kw[] = {"query", "mutation", "subscription", "fragment"};
	size_t i = 0;

	for (;;) {
		while (i < len && (isspace((unsigned char)s[i]) || s[i] == ',' ||
				   (unsigned char)s[i] == 0xef || (unsigned char)s[i] == 0xbb ||
				   (unsigned char)s[i] == 0xbf))
			i++;
		if (i < len && s[i] == '#') {
			while (i < len && s[i] != '\n' && s[i] != '\r')
				i++;
			continue;
		}
		break;
	}
	if (i < len && s[i] == '{')
		return true;
	for (size_t k = 0; k < sizeof(kw) / sizeof(kw[0]); k++) {
		size_t l = strlen(kw[k]);

		if (len - i >= l && memcmp(s + i, kw[k], l) == 0 &&
		    (len - i == l || !(isalnum((unsigned char)s[i + l]) || s[i + l] == '_')))
			return true;
	}
	return false;
}

static void gql_doc(struct sl_reqdec *d, struct sl_rq *r, const char *doc, size_t len,
		    const json_t *vars, const char *opname)
{
	char detail[160];
	enum sl_rq_reason why;

	if (!looks_graphql(doc, len))
		return;
	why = rq_gql_parse(&d->lim, doc, len, vars, opname, r, detail, sizeof(detail));
	if (why != SL_RQ_R_NONE)
		rq_undecidable(r, why, "%s", detail);
}

/* variables: an object, or a string holding one (some clients send it so) */
static json_t *gql_vars(json_t *v, bool *bad)
{
	json_t *p;

	*bad = false;
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_object(v))
		return json_incref(v);
	if (json_is_string(v)) {
		p = json_loadb(json_string_value(v), json_string_length(v), 0, NULL);
		if (json_is_object(p))
			return p;
		json_decref(p);
	}
	*bad = true;
	return NULL;
}

static void gql_request(struct sl_reqdec *d, struct sl_rq *r, json_t *o)
{
	json_t *q = json_object_get(o, "query"), *on = json_object_get(o, "operationName");
	json_t *ext = json_object_get(o, "extensions"), *vars;
	bool bad;

	if (!json_is_string(q)) {
		if (!q && json_is_object(json_object_get(ext, "persistedQuery"))) {
			r->gql_persisted = true;
			rq_undecidable(r, SL_RQ_R_UNSUPPORTED,
				       "GraphQL persisted query: a hash without the query text");
		}
		return;
	}
	vars = gql_vars(json_object_get(o, "variables"), &bad);
	if (bad && looks_graphql(json_string_value(q), json_string_length(q)))
		rq_undecidable(r, SL_RQ_R_GRAPHQL, "GraphQL variables are not an object");
	gql_doc(d, r, json_string_value(q), json_string_length(q), vars,
		json_is_string(on) ? json_string_value(on) : NULL);
	json_decref(vars);
}

static void mcp_call(struct sl_rq *r, json_t *o)
{
	json_t *m = json_object_get(o, "method"), *params = json_object_get(o, "params");
	struct sl_rq_mcp *c, *nm;

	nm = realloc(r->mcp, (r->n_mcp + 1) * sizeof(*nm));
	if (!nm) {
		rq_undecidable(r, SL_RQ_R_NOMEM, "out of memory");
		return;
	}
	r->mcp = nm;
	c = &r->mcp[r->n_mcp++];
	memset(c, 0, sizeof(*c));
	c->method = strdup(json_string_value(m));
	c->id = json_incref(json_object_get(o, "id"));
	if (strcmp(json_string_value(m), "tools/call") == 0 && json_is_object(params)) {
		json_t *name = json_object_get(params, "name");

		if (json_is_string(name))
			c->tool = strdup(json_string_value(name));
		c->params = json_incref(json_object_get(params, "arguments"));
	} else {
		c->params = json_incref(params);
	}
	if (!c->method)
		rq_undecidable(r, SL_RQ_R_NOMEM, "out of memory");
}

static bool is_jsonrpc(json_t *o)
{
	json_t *v = json_object_get(o, "jsonrpc");

	return json_is_object(o) && json_is_string(v) && strcmp(json_string_value(v), "2.0") == 0 &&
	       json_is_string(json_object_get(o, "method"));
}

static void json_entry(struct sl_reqdec *d, struct sl_rq *r, json_t *o)
{
	json_t *t, *p;

	if (!json_is_object(o))
		return;
	if (is_jsonrpc(o)) {
		mcp_call(r, o);
		return;
	}
	/* graphql-ws / subscriptions-transport-ws: {"type":"subscribe","payload":{...}} */
	t = json_object_get(o, "type");
	p = json_object_get(o, "payload");
	if (json_is_string(t) && json_is_object(p) && json_object_get(p, "query"))
		gql_request(d, r, p);
	else
		gql_request(d, r, o);
}

/* a body declared JSON or shaped like it ('{', '['): it must parse */
static void parse_json(struct sl_reqdec *d, struct sl_rq *r, const char *s, size_t len)
{
	json_error_t e;
	json_t *v;

	v = json_loadb(s, len, JSON_DECODE_ANY, &e);
	if (!v && strstr(e.text, "too big"))
		v = json_loadb(s, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &e);
	if (!v) {
		if (strstr(e.text, "depth"))
			rq_undecidable(r, SL_RQ_R_LIMIT, "JSON body nested too deep: %s at byte %d",
				       e.text, e.position);
		else
			rq_undecidable(r, SL_RQ_R_JSON, "JSON body: %s at byte %d", e.text,
				       e.position);
		return;
	}
	if (too_deep(v, 1, d->lim.max_depth)) {
		rq_undecidable(r, SL_RQ_R_LIMIT, "JSON body nested deeper than %u",
			       d->lim.max_depth);
		json_decref(v);
		return;
	}
	r->json = v;
	if (json_is_array(v)) {
		size_t i;
		json_t *c;

		if (json_array_size(v) > d->lim.max_items) {
			rq_undecidable(r, SL_RQ_R_LIMIT, "batch of %zu entries (limit %u)",
				       json_array_size(v), d->lim.max_items);
			return;
		}
		json_array_foreach (v, i, c)
			json_entry(d, r, c);
	} else {
		json_entry(d, r, v);
	}
}

static const struct sl_rq_param *param(const struct sl_rq_param *p, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			return &p[i];
	return NULL;
}

/* GraphQL in query=, variables=, operationName= (GET, or a form body) */
static void gql_params(struct sl_reqdec *d, struct sl_rq *r, const struct sl_rq_param *p,
		       uint32_t n)
{
	const struct sl_rq_param *q = param(p, n, "query"), *v = param(p, n, "variables"),
				 *on = param(p, n, "operationName");
	json_t *vars = NULL;

	if (!q || !looks_graphql(q->value, q->value_len))
		return;
	if (v && v->value_len) {
		vars = json_loadb(v->value, v->value_len, 0, NULL);
		if (!json_is_object(vars)) {
			json_decref(vars);
			vars = NULL;
			if (strcmp(v->value, "null") != 0)
				rq_undecidable(r, SL_RQ_R_GRAPHQL,
					       "GraphQL variables parameter is not a JSON object");
		}
	}
	gql_doc(d, r, q->value, q->value_len, vars, on ? on->value : NULL);
	json_decref(vars);
}

void rq_parse_body(struct sl_reqdec *d, struct sl_rq *r)
{
	const char *ct = r->content_type ? r->content_type : "";
	const char *s = (const char *)r->body;
	size_t len = r->body_len;

	gql_params(d, r, r->params, r->n_params);
	if (!s)
		return;
	/* a byte order mark and white space before JSON */
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		len -= 3;
	}
	if (strstr(ct, "x-www-form-urlencoded")) {
		int err = rq_parse_params(s, len, &r->form, &r->n_form, d->lim.max_items);

		if (err == -E2BIG)
			rq_undecidable(r, SL_RQ_R_LIMIT, "more than %u form fields",
				       d->lim.max_items);
		else if (err)
			rq_undecidable(r, SL_RQ_R_NOMEM, "out of memory");
		gql_params(d, r, r->form, r->n_form);
		return;
	}
	if (strstr(ct, "application/graphql")) {
		gql_doc(d, r, s, len, NULL, NULL);
		if (!looks_graphql(s, len))
			rq_undecidable(r, SL_RQ_R_GRAPHQL,
				       "application/graphql body is not a "
				       "GraphQL document");
		return;
	}
	{
		size_t i = 0;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
			i++;
		if (i < len && (strstr(ct, "json") || s[i] == '{' || s[i] == '['))
			parse_json(d, r, s, len);
	}
}
