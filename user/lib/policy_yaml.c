// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * YAML document -> small node tree, with libyaml's event API. The tree keeps
 * each node's position for error messages. Everything that makes the
 * document unusable (syntax errors, bad bytes, too deep, too many nodes, a
 * second document) stops the build; everything local to one node (too long,
 * anchors, aliases, tags, too many items) is reported and the node marked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "policy_internal.h"

struct builder {
	const char *file;
	const unsigned char *buf;
	size_t len;
	struct sl_policy_errors *errs;
	struct ynode *stack[SL_POLICY_MAX_DEPTH];
	bool orphan[SL_POLICY_MAX_DEPTH]; /* dropped by a full parent: owned by the stack */
	int depth;
	size_t nodes;
	struct ynode *root;
	int docs;
	int err;    /* -ENOMEM */
	bool fatal; /* the tree cannot be validated */
};

void sl_ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		sl_ynode_free(n->kids[i]);
	free(n->kids);
	free(n->val);
	free(n);
}

/* append a sanitised map key to a field path */
static void path_add_key(char *path, size_t sz, const char *key, size_t klen)
{
	size_t o = strlen(path);

	if (o + 4 >= sz)
		return;
	if (o)
		path[o++] = '.';
	for (size_t i = 0; i < klen && i < 64 && o + 4 < sz; i++) {
		unsigned char ch = (unsigned char)key[i];

		path[o++] = (ch > 0x20 && ch < 0x7f && ch != '\'') ? (char)ch : '?';
	}
	if (klen > 64 && o + 4 < sz) {
		memcpy(path + o, "...", 3);
		o += 3;
	}
	path[o] = '\0';
}

static void path_add_idx(char *path, size_t sz, size_t idx)
{
	size_t o = strlen(path);

	if (o + 4 < sz)
		snprintf(path + o, sz - o, "[%zu]", idx);
}

/*
 * Field path of the position the parser is at: the next child of the top
 * collection, or with self the top collection itself.
 */
static void stack_path(const struct builder *b, bool self, char *path, size_t sz)
{
	path[0] = '\0';
	for (int i = 0; i < b->depth; i++) {
		const struct ynode *n = b->stack[i];
		bool top = i == b->depth - 1;

		if (b->orphan[i] || (top && self))
			break;
		if (n->type == YN_MAP) {
			/*
			 * On top, an odd count means a key waits for its value. Below
			 * the top, the last child is the collection being built: a
			 * value (even count) whose key precedes it, or a complex key.
			 */
			const struct ynode *k = NULL;

			if (top && n->n % 2 == 1)
				k = n->kids[n->n - 1];
			else if (!top && n->n % 2 == 0 && n->n >= 2)
				k = n->kids[n->n - 2];
			else if (!top)
				break;
			if (k && k->type == YN_SCALAR)
				path_add_key(path, sz, k->val, k->len);
			else if (k)
				break;
		} else if (n->type == YN_SEQ) {
			path_add_idx(path, sz, top ? n->n : n->n - 1);
		}
	}
}

static void berr(struct builder *b, bool self, size_t line0, size_t col0, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void berr(struct builder *b, bool self, size_t line0, size_t col0, const char *fmt, ...)
{
	char path[SL_POLICY_FIELD_MAX];
	va_list ap;
	int err;

	stack_path(b, self, path, sizeof(path));
	va_start(ap, fmt);
	err =
	    sl_perr_vadd(b->errs, b->file, (uint32_t)line0 + 1, (uint32_t)col0 + 1, path, fmt, ap);
	va_end(ap);
	if (err)
		b->err = err;
}

/* line and column (0-based, columns in characters) of a byte offset */
static void offset_mark(const struct builder *b, size_t off, size_t *line, size_t *col)
{
	size_t i = 0;

	*line = 0;
	*col = 0;
	if (b->len >= 3 && !memcmp(b->buf, "\xef\xbb\xbf", 3))
		i = 3;
	for (; i < off && i < b->len; i++) {
		unsigned char ch = b->buf[i];

		if (ch == '\n' || (ch == '\r' && (i + 1 >= b->len || b->buf[i + 1] != '\n'))) {
			(*line)++;
			*col = 0;
		} else if (ch == '\r') {
			continue;
		} else if ((ch & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/* the byte at a 0-based line and column (in characters), or -1 */
static int mark_byte(const struct builder *b, size_t line, size_t col)
{
	size_t l = 0, c = 0, i = 0;

	if (b->len >= 3 && !memcmp(b->buf, "\xef\xbb\xbf", 3))
		i = 3;
	for (; i < b->len; i++) {
		unsigned char ch = b->buf[i];

		if (l == line && c == col && (ch & 0xc0) != 0x80)
			return ch;
		if (ch == '\n') {
			l++;
			c = 0;
		} else if ((ch & 0xc0) != 0x80 && ch != '\r') {
			c++;
		}
	}
	return -1;
}

static void syntax_error(struct builder *b, const yaml_parser_t *p)
{
	const char *hint = "";

	size_t line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		b->err = -ENOMEM;
		break;
	case YAML_READER_ERROR:
		offset_mark(b, p->problem_offset, &line, &col);
		if (p->problem_value == 0 && p->problem && strstr(p->problem, "control"))
			berr(b, false, line, col, "expected UTF-8 text, found a NUL byte");
		else if (p->problem_value >= 0)
			berr(b, false, line, col, "expected UTF-8 text, found %s (0x%02x)",
			     p->problem ? p->problem : "invalid input", p->problem_value);
		else
			berr(b, false, line, col, "expected UTF-8 text, found %s",
			     p->problem ? p->problem : "invalid input");
		break;
	default:
		if (mark_byte(b, p->problem_mark.line, p->problem_mark.column) == '\t')
			hint = "; YAML is indented with spaces, not tabs";
		if (p->context)
			berr(b, false, p->problem_mark.line, p->problem_mark.column,
			     "expected valid YAML, found a syntax error: %s (%s at line %zu column "
			     "%zu)%s",
			     p->problem ? p->problem : "unknown", p->context,
			     p->context_mark.line + 1, p->context_mark.column + 1, hint);
		else
			berr(b, false, p->problem_mark.line, p->problem_mark.column,
			     "expected valid YAML, found a syntax error: %s%s",
			     p->problem ? p->problem : "unknown", hint);
		break;
	}
	b->fatal = true;
}

static struct ynode *node_new(struct builder *b, enum ynode_type type, const yaml_mark_t *m)
{
	struct ynode *n;

	if (++b->nodes > SL_POLICY_MAX_NODES) {
		berr(b, false, m->line, m->column,
		     "expected at most %u YAML nodes in a policy, found more", SL_POLICY_MAX_NODES);
		b->fatal = true;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		b->err = -ENOMEM;
		return NULL;
	}
	n->type = type;
	n->file = b->file;
	n->line = (uint32_t)m->line + 1;
	n->col = (uint32_t)m->column + 1;
	return n;
}

/* 1: attached (owned by the parent or root), 0: dropped (caller owns it) */
static int node_attach(struct builder *b, struct ynode *n)
{
	struct ynode *parent;
	size_t limit;

	if (b->depth == 0) {
		b->root = n;
		return 1;
	}
	parent = b->stack[b->depth - 1];
	limit = parent->type == YN_MAP ? 2 * SL_POLICY_MAX_MAP : SL_POLICY_MAX_SEQ;
	if (b->orphan[b->depth - 1] || parent->n >= limit) {
		parent->dropped++;
		return 0;
	}
	if (parent->n == parent->cap) {
		size_t nc = parent->cap ? parent->cap * 2 : 4;
		struct ynode **nk = realloc(parent->kids, nc * sizeof(*nk));

		if (!nk) {
			b->err = -ENOMEM;
			return -1;
		}
		parent->kids = nk;
		parent->cap = nc;
	}
	parent->kids[parent->n++] = n;
	return 1;
}

/* report anchors and tags on a node: neither is part of the policy language */
static void check_props(struct builder *b, struct ynode *n, const yaml_mark_t *m,
			const yaml_char_t *anchor, const yaml_char_t *tag)
{
	char q[96], a[40];

	if (anchor) {
		snprintf(a, sizeof(a), "&%s", (const char *)anchor);
		sl_perr_quote(a, strlen(a), 32, q, sizeof(q));
		berr(b, false, m->line, m->column,
		     "expected a plain value, found anchor %s (anchors and aliases are not "
		     "supported)",
		     q);
		n->bad = true;
	}
	if (tag) {
		sl_perr_quote(tag, strlen((const char *)tag), 48, q, sizeof(q));
		berr(b, false, m->line, m->column,
		     "expected an untagged value, found tag %s (explicit tags are not supported; "
		     "quote a value to make it a string)",
		     q);
		n->bad = true;
	}
}

static void on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const yaml_mark_t *m = &ev->start_mark;
	size_t len = ev->data.scalar.length;
	struct ynode *n;
	int r;

	n = node_new(b, YN_SCALAR, m);
	if (!n)
		return;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	check_props(b, n, m, ev->data.scalar.anchor, ev->data.scalar.tag);
	if (len > SL_POLICY_MAX_SCALAR) {
		berr(b, false, m->line, m->column,
		     "expected a value of at most %u bytes, found %zu bytes", SL_POLICY_MAX_SCALAR,
		     len);
		n->bad = true;
		len = 0;
	}
	n->val = malloc(len + 1);
	if (!n->val) {
		b->err = -ENOMEM;
		free(n);
		return;
	}
	memcpy(n->val, ev->data.scalar.value, len);
	n->val[len] = '\0';
	n->len = len;
	r = node_attach(b, n);
	if (r <= 0)
		sl_ynode_free(n);
}

static void on_alias(struct builder *b, const yaml_event_t *ev)
{
	const yaml_mark_t *m = &ev->start_mark;
	const char *a = (const char *)ev->data.alias.anchor;
	struct ynode *n;
	char q[96], al[40];

	/* a placeholder keeps keys and values of the parent in step */
	n = node_new(b, YN_SCALAR, m);
	if (!n)
		return;
	n->bad = true;
	snprintf(al, sizeof(al), "*%s", a ? a : "");
	sl_perr_quote(al, strlen(al), 32, q, sizeof(q));
	berr(b, false, m->line, m->column,
	     "expected a plain value, found alias %s (anchors and aliases are not supported)", q);
	n->val = strdup("");
	if (!n->val) {
		b->err = -ENOMEM;
		free(n);
		return;
	}
	if (node_attach(b, n) <= 0)
		sl_ynode_free(n);
}

static void on_start(struct builder *b, const yaml_event_t *ev, enum ynode_type type)
{
	const yaml_mark_t *m = &ev->start_mark;
	const yaml_char_t *anchor, *tag;
	struct ynode *n;
	int r;

	if (b->depth >= SL_POLICY_MAX_DEPTH) {
		berr(b, false, m->line, m->column,
		     "expected at most %u levels of nested lists and mappings, found more",
		     SL_POLICY_MAX_DEPTH);
		b->fatal = true;
		return;
	}
	n = node_new(b, type, m);
	if (!n)
		return;
	if (type == YN_MAP) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	} else {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	}
	check_props(b, n, m, anchor, tag);
	r = node_attach(b, n);
	if (r < 0) {
		sl_ynode_free(n);
		return;
	}
	b->orphan[b->depth] = r == 0;
	b->stack[b->depth++] = n;
}

static void on_end(struct builder *b)
{
	struct ynode *n;
	bool orphan;

	if (b->depth == 0)
		return;
	n = b->stack[b->depth - 1];
	orphan = b->orphan[b->depth - 1];
	if (n->dropped && !orphan) {
		if (n->type == YN_MAP)
			berr(b, true, n->line - 1, n->col - 1,
			     "expected at most %u keys in a mapping, found %zu", SL_POLICY_MAX_MAP,
			     (n->n + n->dropped) / 2);
		else
			berr(b, true, n->line - 1, n->col - 1,
			     "expected at most %u items in a list, found %zu", SL_POLICY_MAX_SEQ,
			     n->n + n->dropped);
		n->bad = true;
	}
	b->depth--;
	if (orphan)
		sl_ynode_free(n);
}

int sl_yaml_build(const char *file, const void *buf, size_t len, struct sl_policy_errors *errs,
		  struct ynode **root)
{
	struct builder b = {.file = file, .buf = buf, .len = len, .errs = errs};
	yaml_parser_t parser;
	bool done = false;
	int err;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, buf, len);
	/* no guessing: a UTF-16 byte order mark is an error like any bad byte */
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

	while (!done && !b.err && !b.fatal) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(&b, &parser);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++b.docs > 1) {
				berr(&b, false, ev.start_mark.line, ev.start_mark.column,
				     "expected a single YAML document, found a second one");
				b.fatal = true;
			}
			break;
		case YAML_SCALAR_EVENT:
			on_scalar(&b, &ev);
			break;
		case YAML_ALIAS_EVENT:
			on_alias(&b, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			on_start(&b, &ev, YN_SEQ);
			break;
		case YAML_MAPPING_START_EVENT:
			on_start(&b, &ev, YN_MAP);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			on_end(&b);
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);

	/* nodes still on the stack belong to the root, except dropped ones */
	for (int i = 0; i < b.depth; i++)
		if (b.orphan[i])
			sl_ynode_free(b.stack[i]);
	if (b.err || b.fatal) {
		sl_ynode_free(b.root);
		err = b.err ? b.err : -EINVAL;
		goto out;
	}
	*root = b.root;
	err = 0;
out:
	return err;
}
