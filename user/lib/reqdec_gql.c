// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * GraphQL executable documents (user/lib/reqdec.h): a bounded tokenizer and
 * recursive-descent parser for the October 2021 grammar, written here
 * because Debian packages no C GraphQL parser (libgraphqlparser is not in
 * Debian 12). It keeps what a policy judges: each operation's type and name,
 * and the fields of its root selection with aliases resolved, arguments as
 * JSON values with the variables substituted; fragments spread or inlined at
 * the root count as root fields. Nested selections are parsed (the syntax
 * must be valid) but not kept. Depth, item counts and the input size are
 * bounded; work is linear in the document.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqdec_priv.h"

enum tok {
	T_EOF,
	T_PUNCT, /* ! $ & ( ) : = @ [ ] { | } */
	T_SPREAD,
	T_NAME,
	T_INT,
	T_FLOAT,
	T_STRING,
};

/* the root selection of an operation or fragment */
struct root {
	struct sl_rq_gql_field *fields; /* argument values may hold {"$var": name} */
	uint32_t n_fields;
	char **spreads;
	uint32_t n_spreads;
};

struct frag {
	char *name;
	struct root root;
};

struct op {
	enum sl_rq_gql_type type;
	char *name;
	json_t *defaults; /* variable default values */
	struct root root;
};

struct gp {
	const struct sl_reqdec_limits *lim;
	const char *s;
	size_t len, pos;
	/* current token */
	enum tok t;
	char punct;
	size_t tstart;
	char *tval; /* NAME/INT/FLOAT/STRING value (malloc'd) */
	size_t tlen;
	uint32_t items;
	char *err;
	size_t esize;
	enum sl_rq_reason why;
	struct op *ops;
	uint32_t n_ops;
	struct frag *frags;
	uint32_t n_frags;
};

#define VAR_KEY "$var"

static bool fail(struct gp *g, enum sl_rq_reason why, const char *what)
{
	if (g->why == SL_RQ_R_NONE) {
		g->why = why;
		snprintf(g->err, g->esize, "GraphQL: %s at byte %zu", what, g->tstart);
	}
	return false;
}

static void put_utf8(char *o, size_t *j, uint32_t c)
{
	if (c < 0x80) {
		o[(*j)++] = (char)c;
	} else if (c < 0x800) {
		o[(*j)++] = (char)(0xc0 | c >> 6);
		o[(*j)++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		o[(*j)++] = (char)(0xe0 | c >> 12);
		o[(*j)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[(*j)++] = (char)(0x80 | (c & 0x3f));
	} else {
		o[(*j)++] = (char)(0xf0 | c >> 18);
		o[(*j)++] = (char)(0x80 | ((c >> 12) & 0x3f));
		o[(*j)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[(*j)++] = (char)(0x80 | (c & 0x3f));
	}
}

static int hex4(const char *s, size_t n, uint32_t *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		int c = tolower((unsigned char)s[i]), h;

		if (c >= '0' && c <= '9')
			h = c - '0';
		else if (c >= 'a' && c <= 'f')
			h = c - 'a' + 10;
		else
			return -1;
		*v = *v << 4 | (uint32_t)h;
	}
	return 0;
}

static bool lex_string(struct gp *g)
{
	const char *s = g->s;
	size_t i = g->pos, j = 0;
	bool block = g->len - i >= 3 && memcmp(s + i, "\"\"\"", 3) == 0;
	char *o = malloc(g->len - i + 1); /* escapes only shrink */

	if (!o)
		return fail(g, SL_RQ_R_NOMEM, "out of memory");
	free(g->tval);
	g->tval = o;
	i += block ? 3 : 1;
	for (;;) {
		if (i >= g->len)
			return fail(g, SL_RQ_R_GRAPHQL, "unterminated string");
		if (block) {
			if (g->len - i >= 3 && memcmp(s + i, "\"\"\"", 3) == 0) {
				i += 3;
				break;
			}
			if (g->len - i >= 4 && memcmp(s + i, "\\\"\"\"", 4) == 0) {
				memcpy(o + j, "\"\"\"", 3);
				j += 3;
				i += 4;
				continue;
			}
			o[j++] = s[i++];
			continue;
		}
		if (s[i] == '"') {
			i++;
			break;
		}
		if (s[i] == '\n' || s[i] == '\r')
			return fail(g, SL_RQ_R_GRAPHQL, "line break in a string");
		if (s[i] != '\\') {
			o[j++] = s[i++];
			continue;
		}
		if (i + 1 >= g->len)
			return fail(g, SL_RQ_R_GRAPHQL, "unterminated string");
		switch (s[i + 1]) {
		case '"':
		case '\\':
		case '/':
			o[j++] = s[i + 1];
			i += 2;
			break;
		case 'b':
			o[j++] = '\b';
			i += 2;
			break;
		case 'f':
			o[j++] = '\f';
			i += 2;
			break;
		case 'n':
			o[j++] = '\n';
			i += 2;
			break;
		case 'r':
			o[j++] = '\r';
			i += 2;
			break;
		case 't':
			o[j++] = '\t';
			i += 2;
			break;
		case 'u': {
			uint32_t c, lo;

			if (i + 2 < g->len && s[i + 2] == '{') {
				/* \u{1F600} (GraphQL 2021+) */
				size_t e = i + 3;

				while (e < g->len && e - i < 12 && s[e] != '}')
					e++;
				if (e >= g->len || s[e] != '}' || e == i + 3 ||
				    hex4(s + i + 3, e - i - 3, &c) || c > 0x10ffff ||
				    (c >= 0xd800 && c < 0xe000))
					return fail(g, SL_RQ_R_GRAPHQL, "bad \\u{} escape");
				i = e + 1;
			} else {
				if (i + 6 > g->len || hex4(s + i + 2, 4, &c))
					return fail(g, SL_RQ_R_GRAPHQL, "bad \\u escape");
				i += 6;
				if (c >= 0xd800 && c < 0xdc00) {
					if (i + 6 > g->len || s[i] != '\\' || s[i + 1] != 'u' ||
					    hex4(s + i + 2, 4, &lo) || lo < 0xdc00 || lo >= 0xe000)
						return fail(g, SL_RQ_R_GRAPHQL,
							    "lone surrogate in a \\u escape");
					c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				} else if (c >= 0xdc00 && c < 0xe000) {
					return fail(g, SL_RQ_R_GRAPHQL,
						    "lone surrogate in a \\u escape");
				}
			}
			put_utf8(o, &j, c);
			break;
		}
		default:
			return fail(g, SL_RQ_R_GRAPHQL, "bad escape in a string");
		}
	}
	o[j] = '\0';
	g->tlen = j;
	g->pos = i;
	g->t = T_STRING;
	return true;
}

static bool is_name_start(int c)
{
	return isalpha(c) || c == '_';
}

/* the next token into g->t */
static bool next(struct gp *g)
{
	const char *s = g->s;
	size_t i = g->pos;

	for (;;) {
		while (i < g->len &&
		       (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == ','))
			i++;
		if (g->len - i >= 3 && memcmp(s + i, "\xef\xbb\xbf", 3) == 0) {
			i += 3;
			continue;
		}
		if (i < g->len && s[i] == '#') {
			while (i < g->len && s[i] != '\n' && s[i] != '\r')
				i++;
			continue;
		}
		break;
	}
	g->tstart = i;
	g->pos = i;
	if (i >= g->len) {
		g->t = T_EOF;
		return true;
	}
	if (strchr("!$&():=@[]{|}", s[i]) && s[i]) {
		g->t = T_PUNCT;
		g->punct = s[i];
		g->pos = i + 1;
		return true;
	}
	if (s[i] == '.') {
		if (g->len - i < 3 || s[i + 1] != '.' || s[i + 2] != '.')
			return fail(g, SL_RQ_R_GRAPHQL, "unexpected '.'");
		g->t = T_SPREAD;
		g->pos = i + 3;
		return true;
	}
	if (s[i] == '"')
		return lex_string(g);
	if (is_name_start((unsigned char)s[i]) || s[i] == '-' || isdigit((unsigned char)s[i])) {
		size_t e = i;
		bool num = !is_name_start((unsigned char)s[i]), flt = false;

		if (num) {
			if (s[e] == '-')
				e++;
			if (e >= g->len || !isdigit((unsigned char)s[e]))
				return fail(g, SL_RQ_R_GRAPHQL, "bad number");
			while (e < g->len && isdigit((unsigned char)s[e]))
				e++;
			if (e < g->len && s[e] == '.') {
				flt = true;
				e++;
				if (e >= g->len || !isdigit((unsigned char)s[e]))
					return fail(g, SL_RQ_R_GRAPHQL, "bad number");
				while (e < g->len && isdigit((unsigned char)s[e]))
					e++;
			}
			if (e < g->len && (s[e] == 'e' || s[e] == 'E')) {
				flt = true;
				e++;
				if (e < g->len && (s[e] == '+' || s[e] == '-'))
					e++;
				if (e >= g->len || !isdigit((unsigned char)s[e]))
					return fail(g, SL_RQ_R_GRAPHQL, "bad number");
				while (e < g->len && isdigit((unsigned char)s[e]))
					e++;
			}
			if (e < g->len && (is_name_start((unsigned char)s[e]) || s[e] == '.'))
				return fail(g, SL_RQ_R_GRAPHQL, "bad number");
		} else {
			while (e < g->len && (isalnum((unsigned char)s[e]) || s[e] == '_'))
				e++;
		}
		free(g->tval);
		g->tval = rq_strndup(s + i, e - i);
		if (!g->tval)
			return fail(g, SL_RQ_R_NOMEM, "out of memory");
		g->tlen = e - i;
		g->t = num ? (flt ? T_FLOAT : T_INT) : T_NAME;
		g->pos = e;
		return true;
	}
	return fail(g, SL_RQ_R_GRAPHQL, "unexpected character");
}

static bool is_punct(struct gp *g, char c)
{
	return g->t == T_PUNCT && g->punct == c;
}

static bool expect(struct gp *g, char c)
{
	char what[32];

	if (!is_punct(g, c)) {
		snprintf(what, sizeof(what), "expected '%c'", c);
		return fail(g, SL_RQ_R_GRAPHQL, what);
	}
	return next(g);
}

static bool is_name(struct gp *g, const char *n)
{
	return g->t == T_NAME && strcmp(g->tval, n) == 0;
}

/* take the current NAME token's value */
static char *take_name(struct gp *g)
{
	char *n;

	if (g->t != T_NAME) {
		fail(g, SL_RQ_R_GRAPHQL, "expected a name");
		return NULL;
	}
	n = g->tval;
	g->tval = NULL;
	if (!next(g)) {
		free(n);
		return NULL;
	}
	return n;
}

static bool count(struct gp *g)
{
	if (++g->items > g->lim->max_items)
		return fail(g, SL_RQ_R_LIMIT, "too many operations, fields or arguments");
	return true;
}

static json_t *value(struct gp *g, uint32_t depth, bool is_const);

static json_t *value_inner(struct gp *g, uint32_t depth, bool is_const)
{
	json_t *v = NULL;

	if (is_punct(g, '$')) {
		char *n;

		if (is_const) {
			fail(g, SL_RQ_R_GRAPHQL, "a variable in a constant value");
			return NULL;
		}
		if (!next(g) || !(n = take_name(g)))
			return NULL;
		v = json_pack("{ss}", VAR_KEY, n);
		free(n);
		return v;
	}
	if (is_punct(g, '[')) {
		v = json_array();
		if (!v || !next(g))
			goto bad;
		while (!is_punct(g, ']')) {
			json_t *e;

			if (g->t == T_EOF) {
				fail(g, SL_RQ_R_GRAPHQL, "unterminated list");
				goto bad;
			}
			if (!count(g) || !(e = value(g, depth + 1, is_const)) ||
			    json_array_append_new(v, e))
				goto bad;
		}
		if (!next(g))
			goto bad;
		return v;
	}
	if (is_punct(g, '{')) {
		v = json_object();
		if (!v || !next(g))
			goto bad;
		while (!is_punct(g, '}')) {
			char *k;
			json_t *e;

			if (!count(g) || !(k = take_name(g)))
				goto bad;
			if (!expect(g, ':') || !(e = value(g, depth + 1, is_const))) {
				free(k);
				goto bad;
			}
			json_object_set_new(v, k, e);
			free(k);
		}
		if (!next(g))
			goto bad;
		return v;
	}
	switch (g->t) {
	case T_INT:
		v = json_integer(strtoll(g->tval, NULL, 10));
		if (g->tlen > 18) {
			json_decref(v);
			v = json_stringn(g->tval, g->tlen);
		}
		break;
	case T_FLOAT:
		v = json_real(strtod(g->tval, NULL));
		break;
	case T_STRING:
		v = json_stringn_nocheck(g->tval, g->tlen);
		break;
	case T_NAME:
		if (strcmp(g->tval, "true") == 0)
			v = json_true();
		else if (strcmp(g->tval, "false") == 0)
			v = json_false();
		else if (strcmp(g->tval, "null") == 0)
			v = json_null();
		else
			v = json_stringn(g->tval, g->tlen); /* an enum value */
		break;
	default:
		fail(g, SL_RQ_R_GRAPHQL, "expected a value");
		return NULL;
	}
	if (!v) {
		fail(g, SL_RQ_R_NOMEM, "out of memory");
		return NULL;
	}
	if (!next(g)) {
		json_decref(v);
		return NULL;
	}
	return v;
bad:
	json_decref(v);
	return NULL;
}

static json_t *value(struct gp *g, uint32_t depth, bool is_const)
{
	if (depth > g->lim->max_depth) {
		fail(g, SL_RQ_R_LIMIT, "nested too deep");
		return NULL;
	}
	return value_inner(g, depth, is_const);
}

static void args_free(struct sl_rq_gql_arg *a, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		free(a[i].name);
		json_decref(a[i].value);
	}
	free(a);
}

/* ( name: value ... ); into *args when args != NULL */
static bool arguments(struct gp *g, struct sl_rq_gql_arg **args, uint32_t *n, uint32_t depth,
		      bool is_const)
{
	if (!is_punct(g, '('))
		return true;
	if (!next(g))
		return false;
	if (is_punct(g, ')'))
		return fail(g, SL_RQ_R_GRAPHQL, "empty argument list");
	while (!is_punct(g, ')')) {
		char *name;
		json_t *v;

		if (!count(g) || !(name = take_name(g)))
			return false;
		if (!expect(g, ':') || !(v = value(g, depth + 1, is_const))) {
			free(name);
			return false;
		}
		if (args) {
			struct sl_rq_gql_arg *na = realloc(*args, (*n + 1) * sizeof(*na));

			if (!na) {
				free(name);
				json_decref(v);
				return fail(g, SL_RQ_R_NOMEM, "out of memory");
			}
			*args = na;
			na[*n].name = name;
			na[*n].value = v;
			(*n)++;
		} else {
			free(name);
			json_decref(v);
		}
	}
	return next(g);
}

static bool directives(struct gp *g, uint32_t depth, bool is_const)
{
	while (is_punct(g, '@')) {
		char *n;

		if (!next(g) || !(n = take_name(g)))
			return false;
		free(n);
		if (!arguments(g, NULL, NULL, depth, is_const))
			return false;
	}
	return true;
}

static bool selection_set(struct gp *g, struct root *root, uint32_t depth);

static bool add_field(struct gp *g, struct root *root, char *alias, char *name,
		      struct sl_rq_gql_arg *args, uint32_t n_args)
{
	struct sl_rq_gql_field *nf = realloc(root->fields, (root->n_fields + 1) * sizeof(*nf));

	if (!nf) {
		free(alias);
		free(name);
		args_free(args, n_args);
		return fail(g, SL_RQ_R_NOMEM, "out of memory");
	}
	root->fields = nf;
	nf[root->n_fields++] =
	    (struct sl_rq_gql_field){.name = name, .alias = alias, .args = args, .n_args = n_args};
	return true;
}

/* one selection; root: keep it (the operation's root level), else only check it */
static bool selection(struct gp *g, struct root *root, uint32_t depth)
{
	if (g->t == T_SPREAD) {
		if (!next(g))
			return false;
		if (g->t == T_NAME && !is_name(g, "on")) {
			char *n = take_name(g);

			if (!n)
				return false;
			if (root) {
				char **ns =
				    realloc(root->spreads, (root->n_spreads + 1) * sizeof(*ns));

				if (!ns) {
					free(n);
					return fail(g, SL_RQ_R_NOMEM, "out of memory");
				}
				root->spreads = ns;
				ns[root->n_spreads++] = n;
			} else {
				free(n);
			}
			return count(g) && directives(g, depth, false);
		}
		if (is_name(g, "on")) {
			char *t;

			if (!next(g) || !(t = take_name(g)))
				return false;
			free(t);
		}
		/* an inline fragment: its fields are at the same level */
		return directives(g, depth, false) && selection_set(g, root, depth);
	}
	{
		char *alias = NULL, *name, *second;
		struct sl_rq_gql_arg *args = NULL;
		uint32_t n_args = 0;

		if (!count(g) || !(name = take_name(g)))
			return false;
		if (is_punct(g, ':')) {
			if (!next(g) || !(second = take_name(g))) {
				free(name);
				return false;
			}
			alias = name;
			name = second;
		}
		if (!arguments(g, root ? &args : NULL, &n_args, depth, false) ||
		    !directives(g, depth, false)) {
			free(alias);
			free(name);
			args_free(args, n_args);
			return false;
		}
		if (root) {
			if (!add_field(g, root, alias, name, args, n_args))
				return false;
		} else {
			free(alias);
			free(name);
		}
		if (is_punct(g, '{'))
			return selection_set(g, NULL, depth + 1);
		return true;
	}
}

static bool selection_set(struct gp *g, struct root *root, uint32_t depth)
{
	if (depth > g->lim->max_depth)
		return fail(g, SL_RQ_R_LIMIT, "selections nested too deep");
	if (!expect(g, '{'))
		return false;
	if (is_punct(g, '}'))
		return fail(g, SL_RQ_R_GRAPHQL, "empty selection set");
	while (!is_punct(g, '}')) {
		if (g->t == T_EOF)
			return fail(g, SL_RQ_R_GRAPHQL, "unterminated selection set");
		if (!selection(g, root, depth))
			return false;
	}
	return next(g);
}

/* a type reference: Name, [Type], with '!' */
static bool type_ref(struct gp *g, uint32_t depth)
{
	if (depth > g->lim->max_depth)
		return fail(g, SL_RQ_R_LIMIT, "type nested too deep");
	if (is_punct(g, '[')) {
		if (!next(g) || !type_ref(g, depth + 1) || !expect(g, ']'))
			return false;
	} else {
		char *n = take_name(g);

		if (!n)
			return false;
		free(n);
	}
	if (is_punct(g, '!'))
		return next(g);
	return true;
}

static bool variable_defs(struct gp *g, struct op *op)
{
	if (!is_punct(g, '('))
		return true;
	if (!next(g))
		return false;
	while (!is_punct(g, ')')) {
		char *n;

		if (!count(g) || !expect(g, '$') || !(n = take_name(g)))
			return false;
		if (!expect(g, ':') || !type_ref(g, 0)) {
			free(n);
			return false;
		}
		if (is_punct(g, '=')) {
			json_t *v;

			if (!next(g) || !(v = value(g, 0, true))) {
				free(n);
				return false;
			}
			json_object_set_new(op->defaults, n, v);
		}
		free(n);
		if (!directives(g, 0, true))
			return false;
	}
	return next(g);
}

static bool operation(struct gp *g)
{
	struct op *no = realloc(g->ops, (g->n_ops + 1) * sizeof(*no)), *op;

	if (!no)
		return fail(g, SL_RQ_R_NOMEM, "out of memory");
	g->ops = no;
	op = &g->ops[g->n_ops++];
	memset(op, 0, sizeof(*op));
	op->defaults = json_object();
	if (!op->defaults)
		return fail(g, SL_RQ_R_NOMEM, "out of memory");
	if (!count(g))
		return false;
	if (is_punct(g, '{'))
		return selection_set(g, &op->root, 1);
	if (is_name(g, "query"))
		op->type = SL_RQ_GQL_QUERY;
	else if (is_name(g, "mutation"))
		op->type = SL_RQ_GQL_MUTATION;
	else if (is_name(g, "subscription"))
		op->type = SL_RQ_GQL_SUBSCRIPTION;
	else
		return fail(g, SL_RQ_R_GRAPHQL, "expected an operation or a fragment");
	if (!next(g))
		return false;
	if (g->t == T_NAME && !(op->name = take_name(g)))
		return false;
	return variable_defs(g, op) && directives(g, 0, false) && selection_set(g, &op->root, 1);
}

static bool fragment(struct gp *g)
{
	struct frag *nf = realloc(g->frags, (g->n_frags + 1) * sizeof(*nf)), *f;

	if (!nf)
		return fail(g, SL_RQ_R_NOMEM, "out of memory");
	g->frags = nf;
	f = &g->frags[g->n_frags++];
	memset(f, 0, sizeof(*f));
	if (!count(g) || !next(g) || !(f->name = take_name(g)))
		return false;
	if (!is_name(g, "on"))
		return fail(g, SL_RQ_R_GRAPHQL, "expected 'on'");
	{
		char *t;

		if (!next(g) || !(t = take_name(g)))
			return false;
		free(t);
	}
	return directives(g, 0, false) && selection_set(g, &f->root, 1);
}

/* a copy of v with every {"$var": name} replaced by the variable's value */
static json_t *subst(json_t *v, const json_t *vars, const json_t *defaults)
{
	json_t *out, *c;
	const char *k;
	size_t i;

	if (json_is_object(v) && json_object_size(v) == 1 &&
	    json_is_string(json_object_get(v, VAR_KEY))) {
		const char *n = json_string_value(json_object_get(v, VAR_KEY));
		json_t *x = json_object_get(vars, n);

		if (!x)
			x = json_object_get(defaults, n);
		return x ? json_deep_copy(x) : json_null();
	}
	if (json_is_object(v)) {
		out = json_object();
		json_object_foreach (v, k, c)
			json_object_set_new(out, k, subst(c, vars, defaults));
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach (v, i, c)
			json_array_append_new(out, subst(c, vars, defaults));
		return out;
	}
	return json_incref(v);
}

static const struct frag *frag_find(struct gp *g, const char *name)
{
	for (uint32_t i = 0; i < g->n_frags; i++)
		if (strcmp(g->frags[i].name, name) == 0)
			return &g->frags[i];
	return NULL;
}

/* copy root's fields (and its spreads', recursively) into out */
static bool flatten(struct gp *g, const struct root *root, const json_t *vars,
		    const json_t *defaults, struct sl_rq_gql_op *out, uint32_t depth)
{
	if (depth > g->lim->max_depth)
		return fail(g, SL_RQ_R_GRAPHQL, "fragment spreads nested too deep (a cycle?)");
	for (uint32_t i = 0; i < root->n_fields; i++) {
		const struct sl_rq_gql_field *f = &root->fields[i];
		struct sl_rq_gql_field *nf;

		if (out->n_fields >= g->lim->max_items)
			return fail(g, SL_RQ_R_LIMIT, "too many root fields");
		nf = realloc(out->fields, (out->n_fields + 1) * sizeof(*nf));
		if (!nf)
			return fail(g, SL_RQ_R_NOMEM, "out of memory");
		out->fields = nf;
		nf = &nf[out->n_fields++];
		memset(nf, 0, sizeof(*nf));
		nf->name = strdup(f->name);
		nf->alias = f->alias ? strdup(f->alias) : NULL;
		nf->args = f->n_args ? calloc(f->n_args, sizeof(*nf->args)) : NULL;
		if (!nf->name || (f->alias && !nf->alias) || (f->n_args && !nf->args))
			return fail(g, SL_RQ_R_NOMEM, "out of memory");
		for (uint32_t a = 0; a < f->n_args; a++) {
			nf->args[a].name = strdup(f->args[a].name);
			nf->args[a].value = subst(f->args[a].value, vars, defaults);
			nf->n_args++;
			if (!nf->args[a].name || !nf->args[a].value)
				return fail(g, SL_RQ_R_NOMEM, "out of memory");
		}
	}
	for (uint32_t i = 0; i < root->n_spreads; i++) {
		const struct frag *f = frag_find(g, root->spreads[i]);

		if (!f)
			return fail(g, SL_RQ_R_GRAPHQL, "a spread of an undefined fragment");
		if (!flatten(g, &f->root, vars, defaults, out, depth + 1))
			return false;
	}
	return true;
}

static void root_free(struct root *r)
{
	for (uint32_t i = 0; i < r->n_fields; i++) {
		free(r->fields[i].name);
		free(r->fields[i].alias);
		args_free(r->fields[i].args, r->fields[i].n_args);
	}
	free(r->fields);
	for (uint32_t i = 0; i < r->n_spreads; i++)
		free(r->spreads[i]);
	free(r->spreads);
}

void rq_gql_free_ops(struct sl_rq_gql_op *ops, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t j = 0; j < ops[i].n_fields; j++) {
			free(ops[i].fields[j].name);
			free(ops[i].fields[j].alias);
			args_free(ops[i].fields[j].args, ops[i].fields[j].n_args);
		}
		free(ops[i].fields);
		free(ops[i].name);
	}
	if (n)
		free(ops);
}

enum sl_rq_reason rq_gql_parse(const struct sl_reqdec_limits *lim, const char *doc, size_t len,
			       const json_t *variables, const char *operation_name, struct sl_rq *r,
			       char *detail, size_t dsize)
{
	struct gp g = {.lim = lim, .s = doc, .len = len, .err = detail, .esize = dsize};

	detail[0] = '\0';
	if (!next(&g))
		goto out;
	if (g.t == T_EOF) {
		fail(&g, SL_RQ_R_GRAPHQL, "an empty document");
		goto out;
	}
	while (g.t != T_EOF) {
		if (is_name(&g, "fragment")) {
			if (!fragment(&g))
				goto out;
		} else if (!operation(&g)) {
			goto out;
		}
	}
	if (r->n_gql + g.n_ops > lim->max_items) {
		fail(&g, SL_RQ_R_LIMIT, "too many operations");
		goto out;
	}
	for (uint32_t i = 0; i < g.n_ops; i++) {
		struct sl_rq_gql_op *no = realloc(r->gql, (r->n_gql + 1) * sizeof(*no)), *op;

		if (!no) {
			fail(&g, SL_RQ_R_NOMEM, "out of memory");
			goto out;
		}
		r->gql = no;
		op = &r->gql[r->n_gql++];
		memset(op, 0, sizeof(*op));
		op->type = g.ops[i].type;
		op->name = g.ops[i].name ? strdup(g.ops[i].name) : NULL;
		op->selected = operation_name ? (op->name && strcmp(op->name, operation_name) == 0)
					      : g.n_ops == 1;
		if (!flatten(&g, &g.ops[i].root, variables, g.ops[i].defaults, op, 0))
			goto out;
	}
out:
	free(g.tval);
	for (uint32_t i = 0; i < g.n_ops; i++) {
		free(g.ops[i].name);
		json_decref(g.ops[i].defaults);
		root_free(&g.ops[i].root);
	}
	free(g.ops);
	for (uint32_t i = 0; i < g.n_frags; i++) {
		free(g.frags[i].name);
		root_free(&g.frags[i].root);
	}
	free(g.frags);
	return g.why;
}
