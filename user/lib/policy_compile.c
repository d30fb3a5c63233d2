// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policy compiler: struct sl_policy (policy.h) -> the tables of
 * include/scopelock_policy.h (policy_compile.h).
 *
 * Keyword automaton. Two Aho-Corasick automata, each turned into a full DFA
 * (every state has all 256 transitions resolved through the failure links,
 * and the outputs of the failure chain folded into each state):
 *   cs  raw bytes:        case-sensitive keywords, secret values, resource
 *                         ids, path labels as text (see below)
 *   ci  lowercased bytes: case-insensitive keywords, host names
 * The number of states is computed first from the sorted strings (one state
 * per distinct prefix, plus the root), so a policy that needs too many is
 * refused with the exact count without building anything.
 *
 * Path labels as text (docs/policy.md: "a path merely written in an argv is
 * matched as text"): an exact path label contributes the path, a directory
 * label the directory without its slash ("/srv/prod" also matches
 * "/srv/prod/x" and, as a substring, "/srv/prod-old"). Globs with other
 * wildcards contribute nothing (their literal prefix, often "/home/", would
 * label far too much).
 *
 * Wildcard path globs (the LPM trie cannot hold them): one DFA over the
 * walked path's bytes (policy_globs.h), ORed into the open's labels.
 *
 * Label tables. The kernel answers a path, IP or host name lookup with ONE
 * entry (longest prefix / most specific name). So that this one entry says
 * everything the labels say, each entry also carries the environments of the
 * less specific entries that contain it (an entry "/srv/" labelled A under
 * which "/srv/b/" is labelled B: "/srv/b/" carries A|B). The result is the
 * union of the environments of all matching labels, which is what a target
 * environment set means (sl_policy_env_for_path() of the reference returns
 * only the first one in declaration order).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_compile.h"

/* ---- messages ---- */

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static int warn(struct sl_compiled_policy *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int warn(struct sl_compiled_policy *c, const char *fmt, ...)
{
	char **v;
	char *s;
	va_list ap;
	int n;

	v = realloc(c->warnings, (c->n_warnings + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->warnings = v;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	v[c->n_warnings++] = s;
	return 0;
}

static inline uint8_t lower(uint8_t b)
{
	return b >= 'A' && b <= 'Z' ? (uint8_t)(b + ('a' - 'A')) : b;
}

static inline uint64_t env_bit(uint32_t id)
{
	return id >= 1 && id <= SL_ENV_MAX ? 1ULL << id : 0;
}

/* ---- keyword automaton ---- */

struct ac_str {
	const uint8_t *s;
	uint8_t *own; /* lowercased copy (ci), freed with the set */
	uint32_t len;
	int32_t kw; /* keyword index, -1 for a label string */
	uint64_t env;
};

struct ac_set {
	struct ac_str *v;
	uint32_t n;
	uint32_t alloc;
	bool ci;
	/* what the strings are, for the message when the DFA is too big */
	uint32_t n_kw, n_secrets, n_resources, n_paths, n_hosts;
};

static void ac_set_free(struct ac_set *set)
{
	for (uint32_t i = 0; i < set->n; i++)
		free(set->v[i].own);
	free(set->v);
	set->v = NULL;
	set->n = set->alloc = 0;
}

static int ac_add(struct ac_set *set, const void *s, size_t len, int32_t kw, uint64_t env)
{
	struct ac_str *e;

	if (len == 0)
		return 0;
	if (set->n == set->alloc) {
		uint32_t na = set->alloc ? set->alloc * 2 : 64;
		struct ac_str *v = realloc(set->v, na * sizeof(*v));

		if (!v)
			return -ENOMEM;
		set->v = v;
		set->alloc = na;
	}
	e = &set->v[set->n];
	memset(e, 0, sizeof(*e));
	if (set->ci) {
		e->own = malloc(len);
		if (!e->own)
			return -ENOMEM;
		for (size_t i = 0; i < len; i++)
			e->own[i] = lower(((const uint8_t *)s)[i]);
		e->s = e->own;
	} else {
		e->s = s;
	}
	e->len = (uint32_t)len;
	e->kw = kw;
	e->env = env;
	set->n++;
	return 0;
}

static int ac_str_cmp(const void *a, const void *b)
{
	const struct ac_str *x = a, *y = b;
	uint32_t m = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->s, y->s, m);

	if (r)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* states of the trie (= of the DFA): the root plus one per distinct prefix */
static uint64_t ac_count_states(struct ac_set *set)
{
	uint64_t n = 1;

	if (!set->n)
		return 0;
	qsort(set->v, set->n, sizeof(*set->v), ac_str_cmp);
	for (uint32_t i = 0; i < set->n; i++) {
		uint32_t lcp = 0;

		if (i) {
			const struct ac_str *a = &set->v[i - 1], *b = &set->v[i];

			while (lcp < a->len && lcp < b->len && a->s[lcp] == b->s[lcp])
				lcp++;
		}
		n += set->v[i].len - lcp;
	}
	return n;
}

static void ac_fold(struct sl_ac_state *dst, const struct sl_ac_state *src)
{
	for (int w = 0; w < SL_KW_WORDS; w++)
		dst->kw[w] |= src->kw[w];
	dst->env |= src->env;
}

static int ac_build(struct ac_set *set, const char *what, const char *hint,
		    struct sl_ac_state **out, uint32_t *n_out, char *err, size_t errlen)
{
	struct sl_ac_state *st = NULL;
	uint16_t *fail_to = NULL, *queue = NULL;
	uint64_t n = ac_count_states(set);
	uint32_t used = 1, head = 0, tail = 0;
	int ret = 0;

	if (n == 0) {
		*out = NULL;
		*n_out = 0;
		return 0;
	}
	if (n > SL_AC_MAX_STATES)
		return fail(err, errlen, -E2BIG,
			    "keyword automaton (%s) needs %llu states, limit %u: reduce %s "
			    "(%u keywords, %u secret values, %u resource ids, %u path labels, "
			    "%u host names)",
			    what, (unsigned long long)n, SL_AC_MAX_STATES, hint, set->n_kw,
			    set->n_secrets, set->n_resources, set->n_paths, set->n_hosts);
	st = calloc(n, sizeof(*st));
	fail_to = calloc(n, sizeof(*fail_to));
	queue = calloc(n, sizeof(*queue));
	if (!st || !fail_to || !queue) {
		ret = -ENOMEM;
		goto out;
	}

	/* trie: next[] == 0 means no child (no edge leads back to the root yet) */
	for (uint32_t i = 0; i < set->n; i++) {
		const struct ac_str *e = &set->v[i];
		uint16_t cur = 0;

		for (uint32_t j = 0; j < e->len; j++) {
			uint16_t nx = st[cur].next[e->s[j]];

			if (!nx) {
				nx = (uint16_t)used++;
				st[cur].next[e->s[j]] = nx;
			}
			cur = nx;
		}
		if (e->kw >= 0)
			st[cur].kw[e->kw / 64] |= 1ULL << (e->kw % 64);
		st[cur].env |= e->env;
	}

	/*
	 * Breadth first: a state's failure target is shallower, so its row is
	 * complete and its outputs folded when the state is reached. The
	 * root's missing edges stay 0 (back to the root).
	 */
	for (int b = 0; b < 256; b++) {
		uint16_t t = st[0].next[b];

		if (t) {
			fail_to[t] = 0;
			queue[tail++] = t;
		}
	}
	while (head < tail) {
		uint16_t s = queue[head++];

		for (int b = 0; b < 256; b++) {
			uint16_t t = st[s].next[b];
			uint16_t f = st[fail_to[s]].next[b];

			if (t) {
				fail_to[t] = f;
				ac_fold(&st[t], &st[f]);
				queue[tail++] = t;
			} else {
				st[s].next[b] = f;
			}
		}
	}
	*out = st;
	*n_out = (uint32_t)n;
	st = NULL;
out:
	free(st);
	free(fail_to);
	free(queue);
	return ret;
}

/* ---- path labels ---- */

struct path_vec {
	struct sl_cpath *v;
	uint32_t n, alloc;
};

static int path_add(struct path_vec *pv, const char *s, size_t len, bool nul, uint64_t env)
{
	struct sl_cpath *e;

	if (pv->n == pv->alloc) {
		uint32_t na = pv->alloc ? pv->alloc * 2 : 16;
		struct sl_cpath *v = realloc(pv->v, na * sizeof(*v));

		if (!v)
			return -ENOMEM;
		pv->v = v;
		pv->alloc = na;
	}
	e = &pv->v[pv->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->bytes, s, len);
	e->len = (uint32_t)len + (nul ? 1 : 0); /* bytes[] was zeroed: the NUL is there */
	e->env = env;
	return 0;
}

static int cpath_cmp(const void *a, const void *b)
{
	const struct sl_cpath *x = a, *y = b;
	uint32_t m = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->bytes, y->bytes, m);

	if (r)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

static bool cpath_is_prefix_of(const struct sl_cpath *a, const struct sl_cpath *b)
{
	return a->len <= b->len && !memcmp(a->bytes, b->bytes, a->len);
}

/*
 * Sort, merge equal entries (OR their environments), then give each entry
 * the environments of the directory entries ("dir/") above it. In sorted
 * order the entries below a directory follow it contiguously, so a stack of
 * the enclosing directories suffices.
 */
static int paths_finish(struct path_vec *pv)
{
	struct {
		uint32_t i;
		uint64_t env; /* of this directory and every one above it */
	} *stack = NULL;
	uint32_t n = 0, depth = 0;

	if (!pv->n)
		return 0;
	qsort(pv->v, pv->n, sizeof(*pv->v), cpath_cmp);
	for (uint32_t i = 0; i < pv->n; i++) {
		if (n && !cpath_cmp(&pv->v[n - 1], &pv->v[i]))
			pv->v[n - 1].env |= pv->v[i].env;
		else
			pv->v[n++] = pv->v[i];
	}
	pv->n = n;
	stack = calloc(n, sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct sl_cpath *e = &pv->v[i];
		uint64_t own = e->env;

		while (depth && !cpath_is_prefix_of(&pv->v[stack[depth - 1].i], e))
			depth--;
		if (depth)
			e->env |= stack[depth - 1].env;
		if (e->len && e->bytes[e->len - 1] == '/') {
			stack[depth].i = i;
			stack[depth].env = own | (depth ? stack[depth - 1].env : 0);
			depth++;
		}
	}
	free(stack);
	return 0;
}

/*
 * Wildcard path globs: one DFA over path bytes (policy_globs.h), decided in
 * the kernel at the open. A policy loaded by the validator already fits.
 */
static int compile_globs(const struct sl_policy *p, struct sl_compiled_policy *c, char *err,
			 size_t errlen)
{
	uint32_t be = 0, bp = 0;
	char why[256] = "";
	int ret;

	ret = sl_policy_glob_dfa(p, &c->glob, &be, &bp, why, sizeof(why));
	if (ret == -E2BIG)
		return fail(err, errlen, ret, "environments.%s.paths[%u]: '%s': %s",
			    p->envs[be].name, bp, p->envs[be].paths[bp].glob, why);
	if (ret)
		return ret;
	c->hdr.glob_states = c->glob.n_states;
	c->hdr.glob_trunc_env = c->glob.trunc_env;
	return 0;
}

static int compile_paths(const struct sl_policy *p, struct sl_compiled_policy *c, struct ac_set *cs,
			 char *err, size_t errlen)
{
	struct path_vec pv = {0};
	int ret = 0;

	for (uint32_t e = 0; e < p->n_envs; e++) {
		const struct sl_policy_env *en = &p->envs[e];
		uint64_t env = env_bit(en->id);

		for (uint32_t i = 0; i < en->n_paths; i++) {
			const struct sl_policy_path *pa = &en->paths[i];
			size_t len = strlen(pa->glob);

			/* wildcard globs: the DFA (compile_globs) */
			if (pa->kind == SL_PATH_GLOB)
				continue;
			if (pa->kind == SL_PATH_PREFIX) {
				/* SL_PATH_PREFIX: "dir/" below, and "dir\0" for the directory */
				len = pa->prefix_len;
				if (len < 2 || pa->glob[len - 1] != '/') {
					ret = fail(err, errlen, -EINVAL,
						   "environments.%s.paths[%u]: '%s': prefix length "
						   "%u does not end at a '/'",
						   en->name, i, pa->glob, pa->prefix_len);
					goto out;
				}
			}
			if (len > SL_LABEL_PATH_MAX - 1) {
				ret =
				    fail(err, errlen, -E2BIG,
					 "environments.%s.paths[%u]: '%.48s...' has %zu bytes "
					 "before any '/**', in-kernel path labels hold at most %u",
					 en->name, i, pa->glob, len, SL_LABEL_PATH_MAX - 1);
				goto out;
			}
			if (pa->kind == SL_PATH_PREFIX) {
				ret = path_add(&pv, pa->glob, len, false, env);
				if (!ret)
					ret = path_add(&pv, pa->glob, len - 1, true, env);
				if (!ret)
					ret = ac_add(cs, pa->glob, len - 1, -1, env);
			} else {
				ret = path_add(&pv, pa->glob, len, true, env);
				if (!ret)
					ret = ac_add(cs, pa->glob, len, -1, env);
			}
			if (ret)
				goto out;
			cs->n_paths++;
		}
	}
	ret = paths_finish(&pv);
	if (ret)
		goto out;
	c->paths = pv.v;
	c->n_paths = pv.n;
	pv.v = NULL;
out:
	free(pv.v);
	return ret;
}

/* ---- IP labels ---- */

/* one IP host label before merging */
struct ip_ref {
	uint8_t family;
	uint8_t prefix_len;
	uint16_t port;
	uint8_t addr[16];
	uint64_t env;
	uint32_t e, h; /* environment and host index, for messages */
};

static int ip_key_cmp(const struct ip_ref *x, const struct ip_ref *y)
{
	int r;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	r = memcmp(x->addr, y->addr, 16);
	if (r)
		return r;
	return x->prefix_len < y->prefix_len ? -1 : x->prefix_len > y->prefix_len;
}

static int ip_ref_cmp(const void *a, const void *b)
{
	const struct ip_ref *x = a, *y = b;
	int r = ip_key_cmp(x, y);

	if (r)
		return r;
	return x->port < y->port ? -1 : x->port > y->port;
}

/* does network a (shorter prefix) contain network b? */
static bool cip_contains(const struct sl_cip *a, const struct sl_cip *b)
{
	uint32_t bits = a->prefix_len;

	if (a->family != b->family || a->prefix_len >= b->prefix_len)
		return false;
	if (memcmp(a->addr, b->addr, bits / 8))
		return false;
	if (bits % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - bits % 8));

		if ((a->addr[bits / 8] & m) != (b->addr[bits / 8] & m))
			return false;
	}
	return true;
}

static bool cip_any_port(const struct sl_cip *x)
{
	return x->label.ports[0] == 0;
}

static const char *ip_text(const struct sl_policy *p, const struct ip_ref *r)
{
	return p->envs[r->e].hosts[r->h].text;
}

/*
 * Nested networks. The kernel finds the longest prefix and checks its ports
 * only. An enclosing any-port network's environments are folded into the
 * narrower entry (exact when the narrower one is any-port too); a narrower
 * entry with ports that adds no environment to its any-port enclosers is
 * dropped (the wider entry already answers for all its ports). The cases
 * one entry cannot express are reported: there the kernel sees the narrower
 * label only.
 */
static int ips_nesting(const struct sl_policy *p, struct sl_compiled_policy *c,
		       const struct ip_ref *first)
{
	uint32_t *stack = NULL, depth = 0, n = 0;
	uint64_t *own = NULL;
	bool *drop = NULL;
	int ret = 0;

	if (!c->n_ips)
		return 0;
	stack = calloc(c->n_ips, sizeof(*stack));
	own = calloc(c->n_ips, sizeof(*own));
	drop = calloc(c->n_ips, sizeof(*drop));
	if (!stack || !own || !drop) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < c->n_ips; i++)
		own[i] = c->ips[i].label.env;
	for (uint32_t i = 0; i < c->n_ips; i++) {
		struct sl_cip *d = &c->ips[i];
		uint64_t wide = 0; /* environments of the any-port enclosers */

		while (depth && !cip_contains(&c->ips[stack[depth - 1]], d))
			depth--;
		for (uint32_t k = 0; k < depth; k++)
			if (cip_any_port(&c->ips[stack[k]]))
				wide |= own[stack[k]];
		if (!cip_any_port(d) && wide && !(own[i] & ~wide)) {
			drop[i] = true;
			continue;
		}
		d->label.env |= wide;
		for (uint32_t k = 0; k < depth; k++) {
			const struct sl_cip *a = &c->ips[stack[k]];
			const struct ip_ref *ra = &first[stack[k]], *rd = &first[i];

			if (cip_any_port(a) ? cip_any_port(d)
					    : cip_any_port(d) && !(own[stack[k]] & ~d->label.env))
				continue;
			ret = warn(c,
				   "environments.%s.hosts[%u]: '%s' lies inside '%s' (environment "
				   "'%s') and one of them names ports: in-kernel verdicts on "
				   "addresses of '%s' see only its own label and ports",
				   p->envs[rd->e].name, rd->h, ip_text(p, rd), ip_text(p, ra),
				   p->envs[ra->e].name, ip_text(p, rd));
			if (ret)
				goto out;
		}
		stack[depth++] = i;
	}
	for (uint32_t i = 0; i < c->n_ips; i++)
		if (!drop[i])
			c->ips[n++] = c->ips[i];
	c->n_ips = n;
out:
	free(stack);
	free(own);
	free(drop);
	return ret;
}

/*
 * One entry per network: environments ORed, ports merged; a port-less label
 * (any port) makes the entry any-port. Imprecision: with several
 * environments on one network, each environment applies on the union of the
 * ports (10.0.0.0/8:5432 production and 10.0.0.0/8:6379 staging label both
 * ports with both environments), since an entry holds one environment set.
 */
static int compile_ips(const struct sl_policy *p, struct sl_compiled_policy *c, char *err,
		       size_t errlen)
{
	struct ip_ref *refs = NULL, *first = NULL;
	uint32_t n = 0, cap = 0, out_n = 0;
	int ret = 0;

	for (uint32_t e = 0; e < p->n_envs; e++)
		for (uint32_t h = 0; h < p->envs[e].n_hosts; h++)
			cap++;
	if (!cap)
		return 0;
	refs = calloc(cap, sizeof(*refs));
	first = calloc(cap, sizeof(*first));
	c->ips = calloc(cap, sizeof(*c->ips));
	if (!refs || !first || !c->ips) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t e = 0; e < p->n_envs; e++) {
		for (uint32_t h = 0; h < p->envs[e].n_hosts; h++) {
			const struct sl_policy_host *ho = &p->envs[e].hosts[h];
			struct ip_ref *r = &refs[n];

			if (ho->kind != SL_HOST_IPV4 && ho->kind != SL_HOST_IPV6)
				continue;
			r->family = ho->kind == SL_HOST_IPV4 ? 4 : 6;
			if (ho->prefix_len > (r->family == 4 ? 32 : 128)) {
				ret = fail(err, errlen, -EINVAL,
					   "environments.%s.hosts[%u]: '%s': prefix length %u",
					   p->envs[e].name, h, ho->text, ho->prefix_len);
				goto out;
			}
			memcpy(r->addr, ho->addr, r->family == 4 ? 4 : 16);
			r->prefix_len = ho->prefix_len;
			r->port = ho->port;
			r->env = env_bit(p->envs[e].id);
			r->e = e;
			r->h = h;
			n++;
		}
	}
	/* sorted by network, then port: port 0 (any) first within a network */
	qsort(refs, n, sizeof(*refs), ip_ref_cmp);
	for (uint32_t i = 0; i < n;) {
		struct sl_cip *o = &c->ips[out_n];
		uint32_t j = i, np = 0;
		bool any = refs[i].port == 0;

		o->family = refs[i].family;
		memcpy(o->addr, refs[i].addr, 16);
		o->prefix_len = refs[i].prefix_len;
		first[out_n] = refs[i];
		for (; j < n && !ip_key_cmp(&refs[i], &refs[j]); j++) {
			o->label.env |= refs[j].env;
			if (any || (np && o->label.ports[np - 1] == refs[j].port))
				continue;
			if (np == SL_LABEL_PORTS) {
				ret = fail(err, errlen, -E2BIG,
					   "environments.%s.hosts[%u]: '%s': more than %u ports "
					   "on one network (in-kernel IP labels hold at most %u "
					   "ports per network): label the network without a port",
					   p->envs[refs[j].e].name, refs[j].h, ip_text(p, &refs[j]),
					   SL_LABEL_PORTS, SL_LABEL_PORTS);
				goto out;
			}
			o->label.ports[np++] = refs[j].port;
		}
		if (any)
			memset(o->label.ports, 0, sizeof(o->label.ports));
		out_n++;
		i = j;
	}
	c->n_ips = out_n;
	ret = ips_nesting(p, c, first);
out:
	free(refs);
	free(first);
	return ret;
}

/* ---- host names ---- */

static int chost_cmp(const void *a, const void *b)
{
	const struct sl_chost *x = a, *y = b;

	if (x->wildcard != y->wildcard)
		return x->wildcard < y->wildcard ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Host names into the table (and the ci automaton, as text labels).
 * Imprecision: a name label with a port ("db.prod:5432") is matched on any
 * port in the kernel (host keys have no port); a warning says so.
 * Each entry also carries the environments of the wildcards that match it
 * (".example.com" into "db.example.com" and ".prod.example.com"), so the
 * most specific entry found answers for all.
 */
static int compile_hosts(const struct sl_policy *p, struct sl_compiled_policy *c, struct ac_set *ci,
			 char *err, size_t errlen)
{
	uint64_t *own = NULL;
	uint32_t cap = 0, n = 0;
	int ret = 0;

	for (uint32_t e = 0; e < p->n_envs; e++)
		cap += p->envs[e].n_hosts;
	cap += p->n_providers;
	if (!cap)
		return 0;
	c->hosts = calloc(cap, sizeof(*c->hosts));
	if (!c->hosts)
		return -ENOMEM;
	for (uint32_t e = 0; e < p->n_envs; e++) {
		const struct sl_policy_env *en = &p->envs[e];

		for (uint32_t h = 0; h < en->n_hosts; h++) {
			const struct sl_policy_host *ho = &en->hosts[h];
			struct sl_chost *o = &c->hosts[n];
			size_t len;

			if (ho->kind != SL_HOST_NAME && ho->kind != SL_HOST_WILDCARD)
				continue;
			len = ho->name ? strlen(ho->name) : 0;
			if (len == 0 || len > SL_LABEL_HOST_MAX) {
				ret = fail(err, errlen, len ? -E2BIG : -EINVAL,
					   "environments.%s.hosts[%u]: '%s': a host name of %zu "
					   "bytes (in-kernel host labels hold 1 to %u)",
					   en->name, h, ho->text, len, SL_LABEL_HOST_MAX);
				goto out;
			}
			o->wildcard = ho->kind == SL_HOST_WILDCARD;
			for (size_t i = 0; i < len; i++)
				o->name[i] = (char)lower((uint8_t)ho->name[i]);
			o->env = env_bit(en->id);
			n++;
			ret = ac_add(ci, ho->name, len, -1, o->env);
			if (ret)
				goto out;
			ci->n_hosts++;
			if (ho->port) {
				ret = warn(c,
					   "environments.%s.hosts[%u]: '%s': in-kernel verdicts "
					   "match host names (SNI, Host, argv) on any port",
					   en->name, h, ho->text);
				if (ret)
					goto out;
			}
		}
	}
	/* model providers: a role (SL_DEST_ROLE_PROVIDER), not an environment;
	 * not in the automaton (a name in the text is no destination) */
	for (uint32_t h = 0; h < p->n_providers; h++) {
		const struct sl_policy_host *ho = &p->providers[h];
		struct sl_chost *o = &c->hosts[n];
		size_t len = ho->name ? strlen(ho->name) : 0;

		if (ho->kind != SL_HOST_NAME && ho->kind != SL_HOST_WILDCARD)
			continue;
		if (len == 0 || len > SL_LABEL_HOST_MAX) {
			ret = fail(err, errlen, len ? -E2BIG : -EINVAL,
				   "destinations.model_providers[%u]: '%s': a host name of %zu "
				   "bytes (in-kernel host labels hold 1 to %u)",
				   h, ho->text, len, SL_LABEL_HOST_MAX);
			goto out;
		}
		o->wildcard = ho->kind == SL_HOST_WILDCARD;
		for (size_t i = 0; i < len; i++)
			o->name[i] = (char)lower((uint8_t)ho->name[i]);
		o->env = SL_DEST_ROLE_PROVIDER;
		n++;
	}
	qsort(c->hosts, n, sizeof(*c->hosts), chost_cmp);
	c->n_hosts = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (c->n_hosts && !chost_cmp(&c->hosts[c->n_hosts - 1], &c->hosts[i]))
			c->hosts[c->n_hosts - 1].env |= c->hosts[i].env;
		else
			c->hosts[c->n_hosts++] = c->hosts[i];
	}
	if (!c->n_hosts)
		goto out;
	own = calloc(c->n_hosts, sizeof(*own));
	if (!own) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < c->n_hosts; i++)
		own[i] = c->hosts[i].env;
	for (uint32_t i = 0; i < c->n_hosts; i++) {
		struct sl_chost *x = &c->hosts[i];

		/* every shorter ".suffix" of the name (for a wildcard: not itself) */
		for (const char *d = strchr(x->name + 1, '.'); d; d = strchr(d + 1, '.')) {
			struct sl_chost key = {.wildcard = 1};
			const struct sl_chost *w;

			snprintf(key.name, sizeof(key.name), "%s", d);
			w = bsearch(&key, c->hosts, c->n_hosts, sizeof(*c->hosts), chost_cmp);
			if (w)
				x->env |= own[w - c->hosts];
		}
	}
out:
	free(own);
	return ret;
}

/* ---- patterns and rules ---- */

static int kw_set(__u64 set[SL_KW_WORDS], uint32_t k, const struct sl_policy *p, const char *pname,
		  char *err, size_t errlen)
{
	if (k >= p->n_keywords || k >= SL_KW_MAX)
		return fail(err, errlen, -EINVAL, "patterns.%s: keyword index %u out of range",
			    pname, k);
	set[k / 64] |= 1ULL << (k % 64);
	return 0;
}

static int compile_patterns(const struct sl_policy *p, struct sl_compiled_policy *c, char *err,
			    size_t errlen)
{
	int ret;

	if (!p->n_patterns)
		return 0;
	c->patterns = calloc(p->n_patterns, sizeof(*c->patterns));
	if (!c->patterns)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->n_patterns; i++) {
		const struct sl_policy_pattern *pt = &p->patterns[i];
		struct sl_kpattern *o = &c->patterns[i];

		if (pt->n_groups == 0)
			return fail(err, errlen, -EINVAL,
				    "patterns.%s: no keyword group (a pattern needs 'all' or "
				    "'any')",
				    pt->name);
		if (pt->n_groups > SL_PAT_GROUPS_MAX)
			return fail(err, errlen, -E2BIG,
				    "patterns.%s: %u groups, in-kernel patterns hold at most %u",
				    pt->name, pt->n_groups, SL_PAT_GROUPS_MAX);
		for (uint32_t g = 0; g < pt->n_groups; g++) {
			if (!pt->groups[g].n_kw)
				return fail(err, errlen, -EINVAL, "patterns.%s: empty group %u",
					    pt->name, g);
			for (uint32_t k = 0; k < pt->groups[g].n_kw; k++) {
				ret = kw_set(o->groups[g], pt->groups[g].kw[k], p, pt->name, err,
					     errlen);
				if (ret)
					return ret;
			}
		}
		for (uint32_t k = 0; k < pt->n_none; k++) {
			ret = kw_set(o->none, pt->none[k], p, pt->name, err, errlen);
			if (ret)
				return ret;
		}
		o->n_groups = pt->n_groups;
		o->channels = pt->channels;
	}
	c->hdr.n_patterns = p->n_patterns;
	return 0;
}

static int compile_rules(const struct sl_policy *p, struct sl_compiled_policy *c, char *err,
			 size_t errlen)
{
	if (!p->n_rules)
		return 0;
	c->rules = calloc(p->n_rules, sizeof(*c->rules));
	if (!c->rules)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->n_rules; i++) {
		const struct sl_policy_rule *r = &p->rules[i];
		struct sl_krule *o = &c->rules[i];

		if (r->channel >= SL_CHAN_MAX || r->action >= SL_ACT_MAX ||
		    (r->target & ~(uint32_t)SL_TARGET_ANY))
			return fail(err, errlen, -EINVAL,
				    "rules[%u] '%s': channel %u, action %u or target %#x out of "
				    "range",
				    i, r->name, r->channel, r->action, r->target);
		for (uint32_t k = 0; k < r->n_patterns; k++) {
			uint32_t pi = r->patterns[k];

			if (pi >= p->n_patterns)
				return fail(err, errlen, -EINVAL,
					    "rules[%u] '%s': pattern index %u out of range", i,
					    r->name, pi);
			o->patterns[pi / 64] |= 1ULL << (pi % 64);
		}
		o->channel = r->channel;
		o->target = r->target;
		o->action = r->action;
		o->flags = (r->effective_monitor ? SL_KRULE_MONITOR : 0) |
			   (r->taint ? 0 : SL_KRULE_NO_TAINT);
	}
	c->hdr.n_rules = p->n_rules;
	return 0;
}

/* ---- keywords and label strings into the two automata ---- */

/*
 * Strings that say a TLS write is not plaintext the kernel can judge: the
 * connection goes to decode mode (bpf/tls.bpf.c, docs/requests.md).
 */
struct decode_marker {
	const char *s;
	bool icase;
};

static const struct decode_marker decode_markers[] = {
    {"PRI * HTTP/2.0", false},	  /* HTTP/2 connection preface (frames, HPACK) */
    {"content-encoding:", true},  /* a compressed body */
    {"transfer-encoding:", true}, /* chunked framing may cut a keyword */
    {"upgrade:", true},		  /* WebSocket (masked frames) or h2c */
    {"\\u", false},		  /* a JSON string escape */
    {"mutation", false},	  /* GraphQL: aliases, variables, fragments name the field */
    {"tools/call", false},	  /* MCP JSON-RPC: the tool and its arguments */
};

static bool tls_rules(const struct sl_policy *p)
{
	for (uint32_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].channel == SL_CHAN_TLS)
			return true;
	return false;
}

static int collect_strings(const struct sl_policy *p, struct sl_compiled_policy *c,
			   struct ac_set *cs, struct ac_set *ci)
{
	int ret;

	for (uint32_t i = 0; i < p->n_keywords; i++) {
		const struct sl_policy_keyword *k = &p->keywords[i];
		struct ac_set *set = k->icase ? ci : cs;

		ret = ac_add(set, k->bytes, k->len, (int32_t)i, 0);
		if (ret)
			return ret;
		set->n_kw++;
	}
	/* decode markers (SL_AC_ENV_DECODE): in every policy that judges TLS writes */
	for (size_t i = 0; tls_rules(p) && i < sizeof(decode_markers) / sizeof(decode_markers[0]);
	     i++) {
		const struct decode_marker *dm = &decode_markers[i];

		ret = ac_add(dm->icase ? ci : cs, dm->s, strlen(dm->s), -1, SL_AC_ENV_DECODE);
		if (ret)
			return ret;
	}
	for (uint32_t i = 0; i < p->n_secrets; i++) {
		const struct sl_policy_secret *s = &p->secrets[i];
		const struct sl_policy_env *en =
		    s->env_id >= 1 && s->env_id <= p->n_envs ? &p->envs[s->env_id - 1] : NULL;

		if (!en)
			continue;
		if (!s->value) {
			ret = warn(c,
				   "environments.%s.secrets[%u]: a fingerprint: in-kernel verdicts "
				   "cannot recognise the credential, only its value could",
				   en->name, s->src);
			if (ret)
				return ret;
			continue;
		}
		if (s->len < p->settings.secret_min_len)
			continue;
		ret = ac_add(cs, s->value, s->len, -1, env_bit(s->env_id));
		if (ret)
			return ret;
		cs->n_secrets++;
	}
	/* credentials the daemon discovered: label strings of their environment */
	for (uint32_t i = 0; i < p->n_discovered; i++) {
		const struct sl_policy_discovered *d = &p->discovered[i];

		if (!d->kernel || !d->value || !d->len || !env_bit(d->env_id))
			continue;
		ret = ac_add(cs, d->value, d->len, -1, env_bit(d->env_id));
		if (ret)
			return ret;
		cs->n_secrets++;
	}
	for (uint32_t e = 0; e < p->n_envs; e++) {
		const struct sl_policy_env *en = &p->envs[e];

		if (en->n_secrets && !p->secrets_loaded) {
			ret = warn(c,
				   "environments.%s.secrets: not loaded: the environment's "
				   "credentials label nothing",
				   en->name);
			if (ret)
				return ret;
		}
		for (uint32_t r = 0; r < en->n_resources; r++) {
			ret = ac_add(cs, en->resources[r], strlen(en->resources[r]), -1,
				     env_bit(en->id));
			if (ret)
				return ret;
			cs->n_resources++;
		}
	}
	return 0;
}

/* ---- entry points ---- */

void sl_compiled_policy_free(struct sl_compiled_policy *c)
{
	if (!c)
		return;
	free(c->cs);
	free(c->ci);
	free(c->patterns);
	free(c->rules);
	free(c->paths);
	free(c->ips);
	free(c->hosts);
	for (uint32_t i = 0; i < c->n_warnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	sl_glob_dfa_free(&c->glob);
	free(c);
}

int sl_policy_compile(const struct sl_policy *p, struct sl_compiled_policy **out, char *err,
		      size_t errlen)
{
	struct ac_set cs = {0}, ci = {.ci = true};
	struct sl_compiled_policy *c = NULL;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!p || !out)
		return fail(err, errlen, -EINVAL, "no policy");
	if (p->n_keywords > SL_KW_MAX)
		return fail(err, errlen, -E2BIG, "%u keywords, in-kernel limit %u", p->n_keywords,
			    SL_KW_MAX);
	if (p->n_patterns > SL_PAT_MAX)
		return fail(err, errlen, -E2BIG, "%u patterns, in-kernel limit %u", p->n_patterns,
			    SL_PAT_MAX);
	if (p->n_rules > SL_RULE_MAX)
		return fail(err, errlen, -E2BIG, "%u rules, in-kernel limit %u", p->n_rules,
			    SL_RULE_MAX);
	if (p->n_envs > SL_ENV_MAX)
		return fail(err, errlen, -E2BIG, "%u environments, in-kernel limit %u", p->n_envs,
			    SL_ENV_MAX);
	for (uint32_t e = 0; e < p->n_envs; e++)
		if (p->envs[e].id != e + 1)
			return fail(err, errlen, -EINVAL, "environments.%s: id %u, expected %u",
				    p->envs[e].name, p->envs[e].id, e + 1);

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->hdr.mode = p->mode;
	c->hdr.n_path_labels = 0;
	for (uint32_t e = 0; e < p->n_envs; e++)
		c->hdr.n_path_labels += p->envs[e].n_paths;
	c->hdr.unread_suspicious = p->settings.unreadable_suspicious;
	c->hdr.unread_otherwise = p->settings.unreadable_otherwise;
	ret = compile_patterns(p, c, err, errlen);
	if (!ret)
		ret = compile_rules(p, c, err, errlen);
	if (!ret)
		ret = collect_strings(p, c, &cs, &ci);
	if (!ret)
		ret = compile_paths(p, c, &cs, err, errlen);
	if (!ret)
		ret = compile_globs(p, c, err, errlen);
	if (!ret)
		ret = compile_hosts(p, c, &ci, err, errlen);
	if (!ret)
		ret = compile_ips(p, c, err, errlen);
	if (!ret)
		ret = ac_build(&cs, "case-sensitive", "secrets/resources", &c->cs,
			       &c->hdr.cs_states, err, errlen);
	if (!ret)
		ret = ac_build(&ci, "case-insensitive", "icase keywords/host names", &c->ci,
			       &c->hdr.ci_states, err, errlen);
	if (ret)
		goto out;
	*out = c;
	c = NULL;
out:
	if (ret == -ENOMEM)
		fail(err, errlen, ret, "out of memory");
	ac_set_free(&cs);
	ac_set_free(&ci);
	sl_compiled_policy_free(c);
	return ret;
}

void sl_compiled_scan(const struct sl_compiled_policy *c, uint16_t *cs, uint16_t *ci,
		      const void *buf, size_t len, uint64_t kw[SL_KW_WORDS], uint64_t *env)
{
	const uint8_t *b = buf;
	uint32_t ncs = c->hdr.cs_states, nci = c->hdr.ci_states;
	uint16_t s = *cs, t = *ci;

	/* a state of another policy generation restarts at the root */
	if (s >= ncs)
		s = 0;
	if (t >= nci)
		t = 0;
	for (size_t i = 0; i < len; i++) {
		if (ncs) {
			const struct sl_ac_state *st;

			s = c->cs[s].next[b[i]];
			if (s >= ncs)
				s = 0;
			st = &c->cs[s];
			for (int w = 0; w < SL_KW_WORDS; w++)
				kw[w] |= st->kw[w];
			*env |= st->env;
		}
		if (nci) {
			const struct sl_ac_state *st;

			t = c->ci[t].next[lower(b[i])];
			if (t >= nci)
				t = 0;
			st = &c->ci[t];
			for (int w = 0; w < SL_KW_WORDS; w++)
				kw[w] |= st->kw[w];
			*env |= st->env;
		}
	}
	*cs = s;
	*ci = t;
}

uint64_t sl_compiled_glob(const struct sl_compiled_policy *c, const void *path, size_t len)
{
	return sl_glob_dfa_walk(&c->glob, path, len);
}

void sl_compiled_patterns(const struct sl_compiled_policy *c, const uint64_t kw[SL_KW_WORDS],
			  uint64_t out[SL_PAT_WORDS])
{
	memset(out, 0, SL_PAT_WORDS * sizeof(*out));
	for (uint32_t i = 0; i < c->hdr.n_patterns && i < SL_PAT_MAX; i++) {
		const struct sl_kpattern *pt = &c->patterns[i];
		bool ok = true;

		for (uint32_t g = 0; g < pt->n_groups && g < SL_PAT_GROUPS_MAX && ok; g++) {
			uint64_t hit = 0;

			for (int w = 0; w < SL_KW_WORDS; w++)
				hit |= kw[w] & pt->groups[g][w];
			ok = hit != 0;
		}
		for (int w = 0; w < SL_KW_WORDS && ok; w++)
			ok = !(kw[w] & pt->none[w]);
		if (ok)
			out[i / 64] |= 1ULL << (i % 64);
	}
}
