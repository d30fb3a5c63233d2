// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Wildcard path globs as one DFA over path bytes: policy_globs.h.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_globs.h"

/* ---- the globs as NFAs ---- */

struct tok {
	bool star;
	uint8_t set[32]; /* bytes matched (not star) */
};

struct comp {
	bool dstar;	 /* "**" */
	struct tok *t;	 /* m tokens */
	uint32_t m;	 /* tokens */
	uint32_t node;	 /* dstar: D; else T(0) (T(j) = node + j, j <= m) */
	uint32_t bnode;	 /* B(i): the boundary before this component */
	uint32_t gindex; /* its glob */
};

enum node_kind {
	N_INIT = 0,
	N_B,
	N_T,
	N_D
};

struct node {
	uint8_t kind;
	uint32_t comp; /* index into nfa.c (B: the component it precedes; B(k): -1) */
	uint32_t j;    /* T: token position */
	uint32_t glob; /* B: its glob */
};

struct nfa {
	struct comp *c;
	uint32_t nc, cap_c;
	struct node *nodes;
	uint32_t nn, cap_n;
	uint32_t *bstart; /* per glob: node of B(0) */
	uint32_t *bend;	  /* per glob: node of B(k) */
	uint64_t *genv;	  /* per glob */
	uint32_t ng;
};

static void set_add(uint8_t *set, unsigned b)
{
	set[b >> 3] |= (uint8_t)(1u << (b & 7));
}

static bool set_has(const uint8_t *set, unsigned b)
{
	return set[b >> 3] & (1u << (b & 7));
}

static int node_add(struct nfa *a, uint8_t kind, uint32_t comp, uint32_t j, uint32_t glob)
{
	if (a->nn == a->cap_n) {
		uint32_t cap = a->cap_n ? 2 * a->cap_n : 64;
		struct node *v = realloc(a->nodes, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		a->nodes = v;
		a->cap_n = cap;
	}
	a->nodes[a->nn++] = (struct node){.kind = kind, .comp = comp, .j = j, .glob = glob};
	return 0;
}

/*
 * End of the '[' class at g[i] (index of its ']'): after an optional '!', a
 * ']' first is a member; the first ']' after that closes it. sl_parse_glob()
 * refuses what fnmatch would read otherwise (escapes, "[:", "[.", "[=" and
 * '^' inside a class), so this is where fnmatch ends it too.
 */
static size_t bracket_end(const char *g, size_t len, size_t i)
{
	size_t j = i + 1;

	if (j < len && g[j] == '!')
		j++;
	if (j < len && g[j] == ']')
		j++;
	while (j < len && g[j] != ']')
		j++;
	return j;
}

/* the tokens of one component g[0..len) */
static int tokenize(const char *g, size_t len, struct comp *c)
{
	char pat[300], one[2] = {0, 0};
	struct tok *t;

	c->t = calloc(len ? len : 1, sizeof(*c->t));
	if (!c->t)
		return -ENOMEM;
	c->m = 0;
	for (size_t i = 0; i < len; i++) {
		if (g[i] == '*') {
			/* consecutive stars are one */
			if (c->m && c->t[c->m - 1].star)
				continue;
			c->t[c->m++].star = true;
			continue;
		}
		t = &c->t[c->m++];
		if (g[i] == '?') {
			memset(t->set, 0xff, sizeof(t->set));
			t->set['/' >> 3] &= (uint8_t) ~(1u << ('/' & 7));
			t->set[0] &= (uint8_t)~1u;
		} else if (g[i] == '[') {
			size_t e = bracket_end(g, len, i);

			if (e >= len || e - i + 2 > sizeof(pat))
				return -EINVAL; /* sl_parse_glob() refuses these */
			memcpy(pat, g + i, e - i + 1);
			pat[e - i + 1] = '\0';
			for (unsigned b = 1; b < 256; b++) {
				one[0] = (char)b;
				if (b != '/' && fnmatch(pat, one, 0) == 0)
					set_add(t->set, b);
			}
			i = e;
		} else {
			if (g[i] == '\\' && i + 1 < len)
				i++;
			set_add(t->set, (uint8_t)g[i]);
		}
	}
	return 0;
}

static int glob_add(struct nfa *a, const char *glob, uint64_t env)
{
	uint32_t gi = a->ng, first = a->nc;
	const char *s = glob;
	int ret;

	/* components: runs of '/' separate them (as sl_policy_glob_match) */
	for (;;) {
		const char *e;
		struct comp *c;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		e = s;
		while (*e && *e != '/')
			e++;
		if (a->nc == a->cap_c) {
			uint32_t cap = a->cap_c ? 2 * a->cap_c : 32;
			struct comp *v = realloc(a->c, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			a->c = v;
			a->cap_c = cap;
		}
		c = &a->c[a->nc++];
		memset(c, 0, sizeof(*c));
		c->gindex = gi;
		c->dstar = e - s == 2 && s[0] == '*' && s[1] == '*';
		if (!c->dstar) {
			ret = tokenize(s, (size_t)(e - s), c);
			if (ret)
				return ret;
		}
		s = e;
	}
	/* nodes: B(i) before each component, then its T(0..m) or D */
	a->bstart[gi] = a->nn;
	for (uint32_t i = first; i < a->nc; i++) {
		struct comp *c = &a->c[i];

		c->bnode = a->nn;
		ret = node_add(a, N_B, i, 0, gi);
		if (ret)
			return ret;
		c->node = a->nn;
		for (uint32_t j = 0; j <= (c->dstar ? 0 : c->m); j++) {
			ret = node_add(a, c->dstar ? N_D : N_T, i, j, gi);
			if (ret)
				return ret;
		}
	}
	a->bend[gi] = a->nn;
	ret = node_add(a, N_B, UINT32_MAX, 0, gi);
	if (ret)
		return ret;
	a->genv[gi] = env;
	a->ng++;
	return 0;
}

static void nfa_free(struct nfa *a)
{
	for (uint32_t i = 0; i < a->nc; i++)
		free(a->c[i].t);
	free(a->c);
	free(a->nodes);
	free(a->bstart);
	free(a->bend);
	free(a->genv);
}

/* ---- state sets ---- */

struct sset {
	uint64_t *w;
	uint32_t words;
};

static void sadd(uint64_t *w, uint32_t x)
{
	w[x >> 6] |= 1ULL << (x & 63);
}

static bool shas(const uint64_t *w, uint32_t x)
{
	return w[x >> 6] & (1ULL << (x & 63));
}

/* B(i) and, while its component is "**", the boundaries after it */
static void add_b(const struct nfa *a, uint64_t *w, uint32_t bnode)
{
	for (;;) {
		const struct node *n = &a->nodes[bnode];

		sadd(w, bnode);
		if (n->comp == UINT32_MAX || !a->c[n->comp].dstar)
			return;
		/* the boundary after a "**" component: D's node + 1 */
		bnode = a->c[n->comp].node + 1;
	}
}

/* the boundary after component ci */
static uint32_t b_after(const struct nfa *a, uint32_t ci)
{
	const struct comp *c = &a->c[ci];

	return c->dstar ? c->node + 1 : c->node + c->m + 1;
}

/* T(j) of component c and, while token j is a star, the positions after it */
static void add_t(const struct comp *c, uint64_t *w, uint32_t j)
{
	sadd(w, c->node + j);
	while (j < c->m && c->t[j].star)
		sadd(w, c->node + ++j);
}

/* inside component c at position j, the byte b (not '/') */
static void move_t(const struct comp *c, uint64_t *w, uint32_t j, unsigned b)
{
	if (j >= c->m)
		return;
	if (c->t[j].star)
		add_t(c, w, j);
	else if (set_has(c->t[j].set, b))
		add_t(c, w, j + 1);
}

/* the set reached from `from` on byte b (out zeroed by the caller) */
static void step(const struct nfa *a, const uint64_t *from, uint32_t words, unsigned b,
		 uint64_t *out)
{
	for (uint32_t wi = 0; wi < words; wi++) {
		uint64_t bits = from[wi];

		while (bits) {
			uint32_t x = wi * 64 + (uint32_t)__builtin_ctzll(bits);
			const struct node *n = &a->nodes[x];
			const struct comp *c = n->comp == UINT32_MAX ? NULL : &a->c[n->comp];

			bits &= bits - 1;
			switch (n->kind) {
			case N_INIT:
				if (b == '/')
					for (uint32_t g = 0; g < a->ng; g++)
						add_b(a, out, a->bstart[g]);
				break;
			case N_B:
				if (b == '/') {
					sadd(out, x);
				} else if (c && c->dstar) {
					sadd(out, c->node);
				} else if (c) {
					/* the component's first byte, from T(0)'s closure */
					uint32_t j = 0;

					move_t(c, out, 0, b);
					while (j < c->m && c->t[j].star)
						move_t(c, out, ++j, b);
				}
				break;
			case N_T:
				if (b == '/') {
					if (n->j == c->m)
						add_b(a, out, b_after(a, n->comp));
				} else {
					move_t(c, out, n->j, b);
				}
				break;
			case N_D:
				if (b == '/')
					add_b(a, out, c->bnode);
				else
					sadd(out, x);
				break;
			}
		}
	}
}

/* ---- paths the kernel cannot walk whole ---- */

bool sl_glob_reaches_past_walk(const char *glob)
{
	size_t comps = 0, maxlen = 0;
	const char *s = glob;

	for (;;) {
		const char *e;
		bool star = false;
		size_t m = 0;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		for (e = s; *e && *e != '/'; e++)
			;
		if (e - s == 2 && s[0] == '*' && s[1] == '*')
			return true;
		/* one byte per token; a star up to a whole name */
		for (const char *c = s; c < e; c++) {
			if (*c == '*') {
				star = true;
			} else if (*c == '[') {
				const char *x = c + 1;

				if (*x == '!')
					x++;
				if (*x == ']')
					x++;
				while (x < e && *x != ']')
					x++;
				c = x;
				m++;
			} else {
				if (*c == '\\' && c + 1 < e)
					c++;
				m++;
			}
		}
		comps++;
		maxlen += 1 + (star ? SL_GLOB_NAME_MAX : m);
		s = e;
	}
	return comps > SL_PATH_DEPTH_MAX || maxlen + SL_GLOB_DELETED_LEN >= SL_PATH_MAX - 1;
}

/* ---- subset construction ---- */

struct interner {
	uint64_t *sets; /* n * words */
	uint32_t n, cap, words;
	uint32_t *ht; /* state + 1, 0: free */
	uint32_t ht_mask;
};

static uint64_t set_hash(const uint64_t *w, uint32_t words)
{
	uint64_t h = 1469598103934665603ULL;

	for (uint32_t i = 0; i < words; i++) {
		h ^= w[i];
		h *= 1099511628211ULL;
		h ^= h >> 29;
	}
	return h;
}

/* the state of set w: an existing one, or a new one; -1 past max */
static int64_t intern(struct interner *in, const uint64_t *w, uint32_t max)
{
	size_t bytes = in->words * sizeof(uint64_t);
	uint32_t h = (uint32_t)set_hash(w, in->words) & in->ht_mask;

	while (in->ht[h]) {
		uint32_t s = in->ht[h] - 1;

		if (!memcmp(in->sets + (size_t)s * in->words, w, bytes))
			return s;
		h = (h + 1) & in->ht_mask;
	}
	if (in->n >= max)
		return -1;
	memcpy(in->sets + (size_t)in->n * in->words, w, bytes);
	in->ht[h] = in->n + 1;
	return in->n++;
}

void sl_glob_dfa_free(struct sl_glob_dfa *d)
{
	if (!d)
		return;
	free(d->next);
	free(d->env);
	memset(d, 0, sizeof(*d));
}

/* bytes no token tells apart share a class; '/' is always its own */
static int make_classes(const struct nfa *a, uint8_t cls[256], uint32_t *n_classes)
{
	uint32_t n = 2;

	memset(cls, 0, 256);
	cls['/'] = 1;
	for (uint32_t ci = 0; ci < a->nc; ci++) {
		const struct comp *c = &a->c[ci];

		for (uint32_t j = 0; !c->dstar && j < c->m; j++) {
			int16_t map[256][2];
			uint32_t m = 0;

			if (c->t[j].star)
				continue;
			memset(map, 0xff, sizeof(map));
			for (unsigned b = 0; b < 256; b++) {
				int in = set_has(c->t[j].set, b);

				if (map[cls[b]][in] < 0)
					map[cls[b]][in] = (int16_t)m++;
			}
			if (m > 256)
				return -EINVAL;
			for (unsigned b = 0; b < 256; b++)
				cls[b] = (uint8_t)map[cls[b]][set_has(c->t[j].set, b)];
			n = m;
		}
	}
	*n_classes = n;
	return 0;
}

int sl_glob_dfa_build(const struct sl_glob_src *v, size_t n, uint32_t max_states,
		      struct sl_glob_dfa *out, char *why, size_t whylen)
{
	struct nfa a = {0};
	struct interner in = {0};
	struct sl_glob_dfa d = {0};
	uint64_t *tmp = NULL;
	unsigned rep[256];
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!n)
		return 0;
	if (max_states > SL_GLOB_STATES_MAX)
		max_states = SL_GLOB_STATES_MAX;
	a.bstart = calloc(n, sizeof(*a.bstart));
	a.bend = calloc(n, sizeof(*a.bend));
	a.genv = calloc(n, sizeof(*a.genv));
	if (!a.bstart || !a.bend || !a.genv) {
		ret = -ENOMEM;
		goto out;
	}
	ret = node_add(&a, N_INIT, UINT32_MAX, 0, 0);
	for (size_t i = 0; !ret && i < n; i++) {
		ret = glob_add(&a, v[i].glob, v[i].env);
		if (sl_glob_reaches_past_walk(v[i].glob))
			d.trunc_env |= v[i].env;
	}
	if (ret)
		goto out;
	ret = make_classes(&a, d.cls, &d.n_classes);
	if (ret)
		goto out;
	if (d.n_classes > SL_GLOB_CLASSES_MAX) {
		snprintf(why, whylen,
			 "they tell %u kinds of bytes apart, the kernel's table holds at "
			 "most %u",
			 d.n_classes, SL_GLOB_CLASSES_MAX);
		ret = -E2BIG;
		goto out;
	}
	for (unsigned b = 256; b-- > 0;)
		rep[d.cls[b]] = b;

	in.words = (a.nn + 63) / 64;
	in.cap = max_states;
	in.ht_mask = 1;
	while (in.ht_mask < 2 * max_states)
		in.ht_mask <<= 1;
	in.ht = calloc(in.ht_mask, sizeof(*in.ht));
	in.ht_mask--;
	in.sets = calloc((size_t)max_states * in.words, sizeof(uint64_t));
	tmp = calloc(in.words, sizeof(uint64_t));
	d.next = calloc((size_t)max_states * d.n_classes, sizeof(*d.next));
	d.env = calloc(max_states, sizeof(*d.env));
	if (!in.ht || !in.sets || !tmp || !d.next || !d.env) {
		ret = -ENOMEM;
		goto out;
	}
	/* 0: the empty set (dead), 1: the start */
	intern(&in, tmp, max_states);
	sadd(tmp, 0);
	if (intern(&in, tmp, max_states) != 1) {
		snprintf(why, whylen, "a DFA state bound of %u is too small", max_states);
		ret = -E2BIG;
		goto out;
	}
	for (uint32_t s = 0; s < in.n; s++) {
		const uint64_t *set = in.sets + (size_t)s * in.words;

		for (uint32_t c = 0; c < d.n_classes; c++) {
			int64_t t;

			memset(tmp, 0, in.words * sizeof(uint64_t));
			step(&a, set, in.words, rep[c], tmp);
			t = intern(&in, tmp, max_states);
			if (t < 0) {
				snprintf(why, whylen,
					 "they need more than %u DFA states, the kernel's bound",
					 max_states);
				ret = -E2BIG;
				goto out;
			}
			d.next[(size_t)s * d.n_classes + c] = (uint16_t)t;
		}
		/* the path ends here: as if a '/' followed, then past the last
		 * component (not at the start: "" is no path) */
		if (s == 1)
			continue;
		memset(tmp, 0, in.words * sizeof(uint64_t));
		step(&a, set, in.words, '/', tmp);
		for (uint32_t g = 0; g < a.ng; g++)
			if (shas(tmp, a.bend[g]))
				d.env[s] |= a.genv[g];
	}
	d.n_states = in.n;
	*out = d;
	memset(&d, 0, sizeof(d));
out:
	sl_glob_dfa_free(&d);
	free(tmp);
	free(in.sets);
	free(in.ht);
	nfa_free(&a);
	return ret;
}

uint64_t sl_glob_dfa_walk(const struct sl_glob_dfa *d, const void *path, size_t len)
{
	const uint8_t *p = path;
	uint32_t s = 1;

	if (!d || d->n_states < 2)
		return 0;
	for (size_t i = 0; i < len; i++) {
		s = d->next[(size_t)s * d->n_classes + d->cls[p[i]]];
		if (!s)
			return 0;
	}
	return d->env[s];
}

/* ---- a policy's globs ---- */

int sl_policy_glob_dfa(const struct sl_policy *p, struct sl_glob_dfa *out, uint32_t *bad_env,
		       uint32_t *bad_path, char *why, size_t whylen)
{
	struct sl_glob_src *v = NULL;
	uint32_t *at = NULL; /* env << 16 | path of v[i] */
	size_t n = 0, total = 0, lo, hi;
	struct sl_glob_dfa probe;
	int ret;

	memset(out, 0, sizeof(*out));
	for (uint32_t e = 0; e < p->n_envs; e++)
		total += p->envs[e].n_paths;
	if (!total)
		return 0;
	v = calloc(total, sizeof(*v));
	at = calloc(total, sizeof(*at));
	if (!v || !at) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t e = 0; e < p->n_envs; e++) {
		const struct sl_policy_env *en = &p->envs[e];

		for (uint32_t i = 0; i < en->n_paths; i++) {
			if (en->paths[i].kind != SL_PATH_GLOB)
				continue;
			v[n].glob = en->paths[i].glob;
			v[n].env = en->id >= 1 && en->id <= SL_ENV_MAX ? 1ULL << en->id : 0;
			at[n++] = e << 16 | i;
		}
	}
	ret = sl_glob_dfa_build(v, n, SL_GLOB_STATES_MAX, out, why, whylen);
	if (ret != -E2BIG)
		goto out;
	/* the first prefix of the globs that does not fit (more globs, more states) */
	lo = 1;
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		char w2[32];
		int r = sl_glob_dfa_build(v, mid, SL_GLOB_STATES_MAX, &probe, w2, sizeof(w2));

		sl_glob_dfa_free(&probe);
		if (r == -ENOMEM) {
			ret = r;
			goto out;
		}
		if (r == -E2BIG)
			hi = mid;
		else
			lo = mid + 1;
	}
	*bad_env = at[lo - 1] >> 16;
	*bad_path = at[lo - 1] & 0xffff;
out:
	free(v);
	free(at);
	return ret;
}
