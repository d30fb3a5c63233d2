// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policy validation: YAML tree (policy_yaml.c) -> struct sl_policy. Every
 * error is collected with its position and field path; nothing stops at the
 * first one. The language is documented in docs/policy.md.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy_internal.h"
#include "util.h"

struct vctx {
	const char *file;
	struct sl_policy_errors *errs;
	struct sl_policy *p;
	char path[SL_POLICY_FIELD_MAX];
	size_t plen;
	int err; /* -ENOMEM */
	bool kw_full_reported;
};

struct keyspec {
	const char *name;
	bool required;
	const char *expect; /* for "missing key" messages */
};

static const char *const format_names[] = {"auto", "raw", "env", "json"};
static const char *const reserved_env_names[] = {"unknown", "any", "none", "all"};
static const char *const audit_failure_names[] = {"freeze", "continue"};

/* ---- errors and field paths ---- */

static void verr(struct vctx *c, const struct ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void verr(struct vctx *c, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = sl_perr_vadd(c->errs, c->file, at ? at->line : 1, at ? at->col : 1, c->path, fmt, ap);
	va_end(ap);
	if (err)
		c->err = err;
}

static size_t path_key(struct vctx *c, const char *key, size_t klen)
{
	size_t old = c->plen;
	size_t o = c->plen;

	if (o && o + 1 < sizeof(c->path))
		c->path[o++] = '.';
	for (size_t i = 0; i < klen && i < 64 && o + 4 < sizeof(c->path); i++) {
		unsigned char ch = (unsigned char)key[i];

		c->path[o++] = (ch > 0x20 && ch < 0x7f && ch != '\'') ? (char)ch : '?';
	}
	if (klen > 64 && o + 4 < sizeof(c->path)) {
		memcpy(c->path + o, "...", 3);
		o += 3;
	}
	c->path[o] = '\0';
	c->plen = o;
	return old;
}

static size_t path_str(struct vctx *c, const char *key)
{
	return path_key(c, key, strlen(key));
}

static size_t path_idx(struct vctx *c, size_t i)
{
	size_t old = c->plen;
	int n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "[%zu]", i);

	if (n > 0 && (size_t)n < sizeof(c->path) - c->plen)
		c->plen += (size_t)n;
	else
		c->path[c->plen] = '\0';
	return old;
}

static void path_restore(struct vctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

/* ---- node helpers ---- */

static bool is_null(const struct ynode *n)
{
	return n->type == YN_SCALAR && n->plain &&
	       (n->len == 0 || !strcmp(n->val, "~") || !strcmp(n->val, "null") ||
		!strcmp(n->val, "Null") || !strcmp(n->val, "NULL"));
}

#define FOUND_MAX 160
static const char *found(const struct ynode *n, char *buf)
{
	if (!n)
		return "nothing";
	if (n->type == YN_MAP)
		return n->n ? "a mapping" : "an empty mapping";
	if (n->type == YN_SEQ)
		return n->n ? "a list" : "an empty list";
	if (is_null(n))
		return "null (no value)";
	sl_perr_quote(n->val, n->len, 64, buf, FOUND_MAX);
	return buf;
}
#define FOUND(n) found((n), (char[FOUND_MAX]){0})

static bool scalar_eq(const struct ynode *n, const char *s)
{
	size_t l = strlen(s);

	return n->type == YN_SCALAR && n->len == l && !memcmp(n->val, s, l);
}

static const struct ynode *map_get(const struct ynode *map, const char *key)
{
	if (!map || map->type != YN_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (scalar_eq(map->kids[i], key))
			return map->kids[i + 1];
	return NULL;
}

static bool want_type(struct vctx *c, const struct ynode *n, enum ynode_type t, const char *what)
{
	if (n->bad)
		return false;
	if (n->type != t || (t == YN_SCALAR && is_null(n))) {
		verr(c, n, "expected %s, found %s", what, FOUND(n));
		return false;
	}
	return true;
}

/* a list, non-empty, at most max items */
static bool want_list(struct vctx *c, const struct ynode *n, const char *what, size_t max)
{
	if (!want_type(c, n, YN_SEQ, what))
		return false;
	if (n->n == 0) {
		verr(c, n,
		     "expected %s with at least one item (omit the key instead), found an empty "
		     "list",
		     what);
		return false;
	}
	if (n->n > max) {
		verr(c, n, "expected at most %zu items, found %zu", max, n->n);
		return false;
	}
	return true;
}

/*
 * A string; no NUL unless allow_nul; length in [min, max] bytes. *out gets a
 * NUL-terminated copy (the length is n->len).
 */
static bool get_str(struct vctx *c, const struct ynode *n, const char *what, size_t min, size_t max,
		    bool allow_nul, char **out)
{
	const char *nul;
	char *s;

	if (!want_type(c, n, YN_SCALAR, what))
		return false;
	nul = memchr(n->val, '\0', n->len);
	if (nul && !allow_nul) {
		verr(c, n, "expected %s without NUL bytes, found a NUL byte at byte %zu", what,
		     (size_t)(nul - n->val) + 1);
		return false;
	}
	if (n->len < min) {
		verr(c, n, "expected %s of at least %zu bytes, found %s (length %zu)", what, min,
		     FOUND(n), n->len);
		return false;
	}
	if (n->len > max) {
		verr(c, n, "expected %s of at most %zu bytes, found %zu bytes", what, max, n->len);
		return false;
	}
	s = malloc(n->len + 1);
	if (!s) {
		c->err = -ENOMEM;
		return false;
	}
	memcpy(s, n->val, n->len + 1);
	*out = s;
	return true;
}

static bool get_bool(struct vctx *c, const struct ynode *n, bool *out)
{
	if (n->bad)
		return false;
	if (n->type == YN_SCALAR && n->plain) {
		if (!strcmp(n->val, "true") || !strcmp(n->val, "True") || !strcmp(n->val, "TRUE")) {
			*out = true;
			return true;
		}
		if (!strcmp(n->val, "false") || !strcmp(n->val, "False") ||
		    !strcmp(n->val, "FALSE")) {
			*out = false;
			return true;
		}
	}
	verr(c, n, "expected true or false, found %s%s", FOUND(n),
	     n->type == YN_SCALAR && !n->plain ? " (a quoted string)" : "");
	return false;
}

static bool get_uint(struct vctx *c, const struct ynode *n, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	if (n->bad)
		return false;
	if (n->type == YN_SCALAR && n->plain && !is_null(n) &&
	    sl_parse_u64(n->val, min, max, out) == 0)
		return true;
	verr(c, n, "expected an integer from %llu to %llu, found %s%s", (unsigned long long)min,
	     (unsigned long long)max, FOUND(n),
	     n->type == YN_SCALAR && !n->plain ? " (a quoted string)" : "");
	return false;
}

/* "10", "10s", "5m", "1h": seconds in [min, max] */
static bool get_duration(struct vctx *c, const struct ynode *n, uint64_t min, uint64_t max,
			 uint32_t *out)
{
	uint64_t v, mult = 1;
	char num[32];
	size_t l;

	if (n->bad)
		return false;
	if (n->type != YN_SCALAR || is_null(n) || n->len == 0 || n->len >= sizeof(num))
		goto bad;
	l = n->len;
	memcpy(num, n->val, l + 1);
	switch (num[l - 1]) {
	case 's':
		num[--l] = '\0';
		break;
	case 'm':
		mult = 60;
		num[--l] = '\0';
		break;
	case 'h':
		mult = 3600;
		num[--l] = '\0';
		break;
	default:
		break;
	}
	if (sl_parse_u64(num, 0, UINT32_MAX, &v) || v * mult < min || v * mult > max)
		goto bad;
	*out = (uint32_t)(v * mult);
	return true;
bad:
	verr(c, n,
	     "expected a duration from %llu to %llu seconds (a number with an optional s, m or h "
	     "suffix), found %s",
	     (unsigned long long)min, (unsigned long long)max, FOUND(n));
	return false;
}

/* "262144", "256K", "64M", "1G" (powers of 1024): bytes in [min, max] */
static bool get_size(struct vctx *c, const struct ynode *n, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	if (n->bad)
		return false;
	if (n->type == YN_SCALAR && n->plain && !is_null(n) &&
	    sl_parse_size(n->val, min, max, out) == 0)
		return true;
	verr(c, n,
	     "expected a size from %lluK to %lluM bytes (a number with an optional K, M or G "
	     "suffix), found %s%s",
	     (unsigned long long)(min >> 10), (unsigned long long)(max >> 20), FOUND(n),
	     n->type == YN_SCALAR && !n->plain ? " (a quoted string)" : "");
	return false;
}

static void join_names(const char *const *names, size_t n, char *buf, size_t sz)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && o < sz; i++) {
		int w = snprintf(buf + o, sz - o, "%s%s",
				 i == 0 ? "" : (i + 1 == n ? " or " : ", "), names[i]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

static bool get_enum(struct vctx *c, const struct ynode *n, const char *const *names, size_t cnt,
		     uint32_t *out)
{
	char list[256];

	if (!n->bad && n->type == YN_SCALAR) {
		for (size_t i = 0; i < cnt; i++) {
			if (scalar_eq(n, names[i])) {
				*out = (uint32_t)i;
				return true;
			}
		}
	}
	if (n->bad)
		return false;
	join_names(names, cnt, list, sizeof(list));
	verr(c, n, "expected one of %s, found %s", list, FOUND(n));
	return false;
}

/*
 * Check a mapping's keys: scalar, known, each once, required ones present.
 * Returns false if n is not a (usable) mapping.
 */
static bool check_map(struct vctx *c, const struct ynode *n, const char *what,
		      const struct keyspec *ks, size_t nks)
{
	char list[512];
	size_t o = 0;

	if (n->bad)
		return false;
	if (n->type != YN_MAP) {
		verr(c, n, "expected %s, found %s", what, FOUND(n));
		return false;
	}
	list[0] = '\0';
	for (size_t i = 0; i < nks && o < sizeof(list); i++) {
		int w = snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", ks[i].name);

		if (w > 0)
			o += (size_t)w;
	}
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct ynode *k = n->kids[i];
		bool known = false;
		size_t old;

		if (k->bad)
			continue;
		if (k->type != YN_SCALAR || is_null(k)) {
			verr(c, k, "expected a key (one of %s), found %s", list, FOUND(k));
			continue;
		}
		old = path_key(c, k->val, k->len);
		for (size_t j = 0; j < i; j += 2) {
			const struct ynode *pk = n->kids[j];

			if (pk->type == YN_SCALAR && pk->len == k->len &&
			    !memcmp(pk->val, k->val, k->len)) {
				verr(c, k,
				     "expected each key once, found a duplicate (first at line %u)",
				     pk->line);
				known = true; /* reported */
				break;
			}
		}
		for (size_t j = 0; j < nks && !known; j++)
			known = scalar_eq(k, ks[j].name);
		if (!known)
			verr(c, k, "expected one of %s, found unknown key %s", list, FOUND(k));
		path_restore(c, old);
	}
	for (size_t j = 0; j < nks; j++) {
		size_t old;

		if (!ks[j].required || map_get(n, ks[j].name))
			continue;
		old = path_str(c, ks[j].name);
		verr(c, n, "expected %s (required), found no '%s' key", ks[j].expect, ks[j].name);
		path_restore(c, old);
	}
	return true;
}

/* a name (of an environment, pattern or rule): [a-z][a-z0-9_-]* */
static bool check_name(struct vctx *c, const struct ynode *k)
{
	bool ok =
	    k->len >= 1 && k->len <= SL_POLICY_NAME_MAX && k->val[0] >= 'a' && k->val[0] <= 'z';

	for (size_t i = 0; ok && i < k->len; i++) {
		char ch = k->val[i];

		ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
	}
	if (!ok)
		verr(c, k,
		     "expected a name made of a lowercase letter, then lowercase letters, "
		     "digits, '_' or '-' (at most %u bytes), found %s",
		     SL_POLICY_NAME_MAX, FOUND(k));
	return ok;
}

/*
 * The keys of a mapping of user-named items (environments, patterns):
 * scalar, valid names, each once. Returns false if not a usable mapping.
 */
static bool check_named_map(struct vctx *c, const struct ynode *n, const char *what,
			    const char *item, size_t max)
{
	if (n->bad)
		return false;
	if (n->type != YN_MAP) {
		verr(c, n, "expected a mapping of %s names, found %s", item, FOUND(n));
		return false;
	}
	if (n->n == 0) {
		verr(c, n,
		     "expected %s with at least one entry (omit the key instead), found an "
		     "empty mapping",
		     what);
		return false;
	}
	if (n->n / 2 > max) {
		verr(c, n, "expected at most %zu %ss, found %zu", max, item, n->n / 2);
		return false;
	}
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct ynode *k = n->kids[i];
		size_t old;

		if (k->bad)
			continue;
		if (k->type != YN_SCALAR || is_null(k)) {
			verr(c, k, "expected the name of a %s, found %s", item, FOUND(k));
			continue;
		}
		old = path_key(c, k->val, k->len);
		if (check_name(c, k)) {
			for (size_t j = 0; j < i; j += 2) {
				if (scalar_eq(n->kids[j], k->val)) {
					verr(c, k,
					     "expected each %s name once, found a duplicate (first "
					     "at "
					     "line %u)",
					     item, n->kids[j]->line);
					break;
				}
			}
		}
		path_restore(c, old);
	}
	return true;
}

static struct sl_policy_loc loc_of(const struct ynode *n)
{
	return (struct sl_policy_loc){.line = n->line, .column = n->col};
}

/* ---- settings ---- */

/* settings.unreadable: what becomes of an action whose evidence the kernel
 * could not read whole (docs/policy.md) */
static void parse_unreadable(struct vctx *c, const struct ynode *n)
{
	static const struct keyspec ks[] = {
	    {"suspicious", false, NULL},
	    {"otherwise", false, NULL},
	};
	/* deny refuses a connect only: it cannot stop an exec or a TLS write */
	static const char *const acts[] = {"log", "alert", "freeze", "kill"};
	static const uint32_t act_val[] = {SL_ACT_LOG, SL_ACT_ALERT, SL_ACT_FREEZE, SL_ACT_KILL};
	struct sl_policy_settings *s = &c->p->settings;
	const struct ynode *v;
	uint32_t a;
	size_t old;

	if (!check_map(c, n, "a mapping (suspicious, otherwise)", ks, SL_ARRAY_SIZE(ks)))
		return;
	if ((v = map_get(n, "suspicious"))) {
		old = path_str(c, "suspicious");
		if (get_enum(c, v, acts, SL_ARRAY_SIZE(acts), &a))
			s->unreadable_suspicious = act_val[a];
		path_restore(c, old);
	}
	if ((v = map_get(n, "otherwise"))) {
		old = path_str(c, "otherwise");
		if (get_enum(c, v, acts, SL_ARRAY_SIZE(acts), &a))
			s->unreadable_otherwise = act_val[a];
		path_restore(c, old);
	}
}

/* settings.program_paths: directories where program words are looked up */
static void parse_program_paths(struct vctx *c, const struct ynode *n)
{
	struct sl_policy_settings *st = &c->p->settings;

	if (!want_list(c, n, "a list of absolute directory paths", SL_POLICY_MAX_PROGRAM_PATHS))
		return;
	st->program_paths = calloc(n->n, sizeof(*st->program_paths));
	if (!st->program_paths) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *it = n->kids[i];
		size_t old = path_idx(c, i);
		char *s = NULL;

		if (get_str(c, it, "an absolute directory path", 1, 4095, false, &s)) {
			if (s[0] != '/' || strpbrk(s, "*?[")) {
				verr(c, it,
				     "expected an absolute directory path without wildcards, "
				     "found %s",
				     FOUND(it));
				free(s);
			} else {
				st->program_paths[st->n_program_paths++] = s;
			}
		}
		path_restore(c, old);
	}
}

static void parse_settings(struct vctx *c, const struct ynode *n)
{
	static const struct keyspec ks[] = {
	    {"hold_timeout", false, NULL},     {"alert_file", false, NULL},
	    {"admin_group", false, NULL},      {"secret_min_length", false, NULL},
	    {"syslog", false, NULL},	       {"audit_buffer", false, NULL},
	    {"on_audit_failure", false, NULL}, {"unreadable", false, NULL},
	    {"program_paths", false, NULL},
	};
	struct sl_policy_settings *s = &c->p->settings;
	const struct ynode *v;
	uint64_t u;
	size_t old;

	if (!check_map(
		c, n,
		"a mapping (hold_timeout, alert_file, admin_group, secret_min_length, syslog, "
		"audit_buffer, on_audit_failure, unreadable, program_paths)",
		ks, SL_ARRAY_SIZE(ks)))
		return;
	if ((v = map_get(n, "hold_timeout"))) {
		old = path_str(c, "hold_timeout");
		get_duration(c, v, 1, SL_POLICY_HOLD_TIMEOUT_MAX, &s->hold_timeout_s);
		path_restore(c, old);
	}
	if ((v = map_get(n, "alert_file"))) {
		old = path_str(c, "alert_file");
		if (get_str(c, v, "an absolute file path", 2, 4095, false, &s->alert_file) &&
		    (s->alert_file[0] != '/' || s->alert_file[v->len - 1] == '/')) {
			verr(c, v, "expected an absolute file path, found %s", FOUND(v));
		}
		path_restore(c, old);
	}
	if ((v = map_get(n, "admin_group"))) {
		old = path_str(c, "admin_group");
		if (get_str(c, v, "a group name", 1, 32, false, &s->admin_group)) {
			bool ok =
			    isalpha((unsigned char)s->admin_group[0]) || s->admin_group[0] == '_';

			for (size_t i = 0; ok && i < v->len; i++) {
				char ch = s->admin_group[i];

				ok = isalnum((unsigned char)ch) || ch == '_' || ch == '-' ||
				     ch == '.';
			}
			if (!ok)
				verr(
				    c, v,
				    "expected a group name (a letter or '_', then letters, digits, "
				    "'_', '-' or '.'), found %s",
				    FOUND(v));
		}
		path_restore(c, old);
	}
	if ((v = map_get(n, "secret_min_length"))) {
		old = path_str(c, "secret_min_length");
		if (get_uint(c, v, SL_POLICY_SECRET_MIN_MIN, SL_POLICY_SECRET_MIN_MAX, &u))
			s->secret_min_len = (uint32_t)u;
		path_restore(c, old);
	}
	if ((v = map_get(n, "syslog"))) {
		old = path_str(c, "syslog");
		get_bool(c, v, &s->syslog);
		path_restore(c, old);
	}
	if ((v = map_get(n, "audit_buffer"))) {
		old = path_str(c, "audit_buffer");
		get_size(c, v, SL_POLICY_AUDIT_BUFFER_MIN, SL_POLICY_AUDIT_BUFFER_MAX,
			 &s->audit_buffer);
		path_restore(c, old);
	}
	if ((v = map_get(n, "on_audit_failure"))) {
		old = path_str(c, "on_audit_failure");
		get_enum(c, v, audit_failure_names, SL_ARRAY_SIZE(audit_failure_names),
			 &s->on_audit_failure);
		path_restore(c, old);
	}
	if ((v = map_get(n, "program_paths"))) {
		old = path_str(c, "program_paths");
		parse_program_paths(c, v);
		path_restore(c, old);
	}
	if ((v = map_get(n, "unreadable"))) {
		old = path_str(c, "unreadable");
		parse_unreadable(c, v);
		path_restore(c, old);
	}
}

/* ---- environments ---- */

static void parse_paths(struct vctx *c, const struct ynode *n, struct sl_policy_env *e)
{
	if (!want_list(c, n, "a list of absolute path globs", SL_POLICY_MAX_SEQ))
		return;
	e->paths = calloc(n->n, sizeof(*e->paths));
	if (!e->paths) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *it = n->kids[i];
		struct sl_policy_path pth;
		char msg[512];
		char *s = NULL;
		size_t old = path_idx(c, i);

		if (get_str(c, it, "an absolute path glob", 1, 4095, false, &s)) {
			if (sl_parse_glob(s, it->len, &pth, msg, sizeof(msg))) {
				verr(c, it, "%s", msg);
				free(s);
			} else {
				pth.glob = s;
				e->paths[e->n_paths++] = pth;
			}
		}
		path_restore(c, old);
	}
}

static void parse_hosts(struct vctx *c, const struct ynode *n, struct sl_policy_env *e)
{
	if (!want_list(c, n, "a list of hosts", SL_POLICY_MAX_SEQ))
		return;
	e->hosts = calloc(n->n, sizeof(*e->hosts));
	if (!e->hosts) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *it = n->kids[i];
		struct sl_policy_host h;
		char msg[512];
		char *s = NULL;
		size_t old = path_idx(c, i);
		int err;

		if (get_str(c, it,
			    "a host (DNS name, *.domain, IP address or CIDR, optional :port)", 1,
			    SL_POLICY_HOST_MAX + 8, false, &s)) {
			err = sl_parse_host(s, it->len, &h, msg, sizeof(msg));
			if (err == -ENOMEM) {
				c->err = err;
				free(s);
			} else if (err) {
				verr(c, it, "%s", msg);
				free(s);
			} else {
				h.text = s;
				e->hosts[e->n_hosts++] = h;
			}
		}
		path_restore(c, old);
	}
}

static bool valid_env_var(const char *s, size_t len)
{
	if (len == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

static void parse_secret(struct vctx *c, const struct ynode *n, struct sl_policy_secret_src *s,
			 bool *ok)
{
	static const struct keyspec ks[] = {
	    {"file", false, NULL},	  {"format", false, NULL}, {"keys", false, NULL},
	    {"fingerprint", false, NULL}, {"env", false, NULL},
	};
	const struct ynode *file, *fp, *env, *fmt, *keys;
	int kinds;
	size_t old;

	*ok = false;
	if (!check_map(
		c, n,
		"a secret mapping ({file: PATH}, {fingerprint: \"sha256:HEX\"} or {env: NAME})", ks,
		SL_ARRAY_SIZE(ks)))
		return;
	file = map_get(n, "file");
	fp = map_get(n, "fingerprint");
	env = map_get(n, "env");
	fmt = map_get(n, "format");
	keys = map_get(n, "keys");
	kinds = !!file + !!fp + !!env;
	s->loc = loc_of(n);
	if (kinds != 1) {
		verr(c, n, "expected exactly one of 'file', 'fingerprint' or 'env', found %s",
		     kinds ? "several" : "none");
		return;
	}
	if (!file && (fmt || keys)) {
		old = path_str(c, fmt ? "format" : "keys");
		verr(c, fmt ? fmt : keys,
		     "expected 'format' and 'keys' only with 'file', found them "
		     "with '%s'",
		     fp ? "fingerprint" : "env");
		path_restore(c, old);
		return;
	}
	if (file) {
		s->kind = SL_SECRET_FILE;
		old = path_str(c, "file");
		if (get_str(c, file, "an absolute file path", 2, 4095, false, &s->path)) {
			if (s->path[0] != '/' || s->path[file->len - 1] == '/')
				verr(c, file, "expected an absolute file path, found %s",
				     FOUND(file));
			else
				*ok = true;
		}
		path_restore(c, old);
		if (fmt) {
			old = path_str(c, "format");
			if (!get_enum(c, fmt, format_names, SL_ARRAY_SIZE(format_names),
				      &s->format))
				*ok = false;
			path_restore(c, old);
		}
		if (keys) {
			old = path_str(c, "keys");
			if (!want_list(c, keys, "a list of key names", 64)) {
				*ok = false;
			} else if (s->format == SL_SECFMT_RAW) {
				verr(c, keys,
				     "expected no 'keys' with format raw (the whole file is "
				     "the secret), found a list");
				*ok = false;
			} else {
				s->keys = calloc(keys->n, sizeof(*s->keys));
				if (!s->keys) {
					c->err = -ENOMEM;
					path_restore(c, old);
					return;
				}
				for (size_t i = 0; i < keys->n; i++) {
					size_t o2 = path_idx(c, i);

					if (get_str(c, keys->kids[i], "a key name", 1, 256, false,
						    &s->keys[s->n_keys]))
						s->n_keys++;
					else
						*ok = false;
					path_restore(c, o2);
				}
			}
			path_restore(c, old);
		} else if (s->format == SL_SECFMT_JSON) {
			verr(c, n,
			     "expected 'keys' with format json (the members that hold "
			     "credentials), found none");
			*ok = false;
		}
	} else if (fp) {
		char msg[512];
		char *str = NULL;

		s->kind = SL_SECRET_FINGERPRINT;
		old = path_str(c, "fingerprint");
		if (get_str(c, fp, "a fingerprint 'sha256:<64 hex digits>'", 1, 256, false, &str)) {
			if (sl_parse_sha256(str, fp->len, s->sha256, msg, sizeof(msg)))
				verr(c, fp, "%s", msg);
			else
				*ok = true;
			free(str);
		}
		path_restore(c, old);
	} else {
		s->kind = SL_SECRET_ENV;
		old = path_str(c, "env");
		if (get_str(c, env, "an environment variable name", 1, 256, false, &s->env_var)) {
			if (!valid_env_var(s->env_var, env->len))
				verr(c, env,
				     "expected an environment variable name (letters, digits and "
				     "'_', not starting with a digit), found %s",
				     FOUND(env));
			else
				*ok = true;
		}
		path_restore(c, old);
	}
}

static void free_secret_src(struct sl_policy_secret_src *s)
{
	free(s->path);
	free(s->env_var);
	for (uint32_t i = 0; i < s->n_keys; i++)
		free(s->keys[i]);
	free(s->keys);
}

static void parse_secrets(struct vctx *c, const struct ynode *n, struct sl_policy_env *e)
{
	if (!want_list(c, n, "a list of secrets", SL_POLICY_MAX_SECRETS))
		return;
	e->secrets = calloc(n->n, sizeof(*e->secrets));
	if (!e->secrets) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n->n && !c->err; i++) {
		struct sl_policy_secret_src *s = &e->secrets[e->n_secrets];
		size_t old = path_idx(c, i);
		bool ok;

		memset(s, 0, sizeof(*s));
		parse_secret(c, n->kids[i], s, &ok);
		if (ok)
			e->n_secrets++;
		else
			free_secret_src(s);
		path_restore(c, old);
	}
}

static void parse_resources(struct vctx *c, const struct ynode *n, struct sl_policy_env *e)
{
	if (!want_list(c, n, "a list of resource ids", SL_POLICY_MAX_SEQ))
		return;
	e->resources = calloc(n->n, sizeof(*e->resources));
	if (!e->resources) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		size_t old = path_idx(c, i);
		char *s = NULL;

		if (get_str(c, n->kids[i], "a resource id", SL_POLICY_RESOURCE_MIN,
			    SL_POLICY_RESOURCE_MAX, false, &s))
			e->resources[e->n_resources++] = s;
		path_restore(c, old);
	}
}

/* confine: {ptrace: BOOL, userns: BOOL}; what is not written stays confined */
static void parse_confine(struct vctx *c, const struct ynode *n, struct sl_policy_env *e)
{
	static const struct keyspec ks[] = {{"ptrace", false, NULL}, {"userns", false, NULL}};
	const struct ynode *v;
	size_t old;

	if (!check_map(c, n, "a mapping (ptrace, userns)", ks, SL_ARRAY_SIZE(ks)))
		return;
	if (n->n == 0) {
		verr(c, n,
		     "expected a mapping with at least one of ptrace, userns (omit the key "
		     "instead), found an empty mapping");
		return;
	}
	if ((v = map_get(n, "ptrace"))) {
		old = path_str(c, "ptrace");
		get_bool(c, v, &e->confine_ptrace);
		path_restore(c, old);
	}
	if ((v = map_get(n, "userns"))) {
		old = path_str(c, "userns");
		get_bool(c, v, &e->confine_userns);
		path_restore(c, old);
	}
}

static void parse_env(struct vctx *c, const struct ynode *n, struct sl_policy_env *e)
{
	static const struct keyspec ks[] = {
	    {"description", false, NULL}, {"paths", false, NULL},     {"hosts", false, NULL},
	    {"secrets", false, NULL},	  {"resources", false, NULL}, {"confine", false, NULL},
	};
	const struct ynode *v;
	size_t old;

	e->loc = loc_of(n);
	/* "staging:" with nothing: a scope without labels */
	if (is_null(n) && !n->bad)
		return;
	if (!check_map(
		c, n,
		"a mapping of labels (paths, hosts, secrets, resources, description, confine) or "
		"nothing",
		ks, SL_ARRAY_SIZE(ks)))
		return;
	if ((v = map_get(n, "description"))) {
		old = path_str(c, "description");
		get_str(c, v, "a description", 0, SL_POLICY_DESC_MAX, false, &e->description);
		path_restore(c, old);
	}
	if ((v = map_get(n, "paths"))) {
		old = path_str(c, "paths");
		parse_paths(c, v, e);
		path_restore(c, old);
	}
	if ((v = map_get(n, "hosts"))) {
		old = path_str(c, "hosts");
		parse_hosts(c, v, e);
		path_restore(c, old);
	}
	if ((v = map_get(n, "secrets"))) {
		old = path_str(c, "secrets");
		parse_secrets(c, v, e);
		path_restore(c, old);
	}
	if ((v = map_get(n, "resources"))) {
		old = path_str(c, "resources");
		parse_resources(c, v, e);
		path_restore(c, old);
	}
	if ((v = map_get(n, "confine"))) {
		old = path_str(c, "confine");
		parse_confine(c, v, e);
		path_restore(c, old);
	}
}

static void parse_envs(struct vctx *c, const struct ynode *n)
{
	struct sl_policy *p = c->p;

	if (!check_named_map(c, n, "environments", "environment", SL_POLICY_MAX_ENVS))
		return;
	p->envs = calloc(n->n / 2, sizeof(*p->envs));
	if (!p->envs) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i + 1 < n->n && !c->err; i += 2) {
		const struct ynode *k = n->kids[i];
		struct sl_policy_env *e = &p->envs[p->n_envs];
		size_t old;

		if (k->type != YN_SCALAR)
			continue;
		old = path_key(c, k->val, k->len);
		for (size_t r = 0; r < SL_ARRAY_SIZE(reserved_env_names); r++) {
			if (scalar_eq(k, reserved_env_names[r]))
				verr(c, k,
				     "expected an environment name other than the reserved "
				     "'unknown', "
				     "'any', 'none' and 'all', found %s",
				     FOUND(k));
		}
		e->id = p->n_envs + 1;
		e->confine_ptrace = e->confine_userns = true;
		e->name = strndup(k->val, k->len);
		p->n_envs++;
		if (!e->name)
			c->err = -ENOMEM;
		else
			parse_env(c, n->kids[i + 1], e);
		path_restore(c, old);
	}
}

/* ---- patterns ---- */

/* index of a keyword in the policy's table, added if new; -1 on error */
static int keyword_add(struct vctx *c, const struct ynode *at, const char *s, size_t len,
		       bool icase, uint32_t channels)
{
	struct sl_policy *p = c->p;
	struct sl_policy_keyword *k;
	uint8_t *b;

	b = malloc(len + 1);
	if (!b) {
		c->err = -ENOMEM;
		return -1;
	}
	memcpy(b, s, len);
	b[len] = '\0';
	if (icase)
		for (size_t i = 0; i < len; i++)
			b[i] = (uint8_t)tolower(b[i]);
	for (uint32_t i = 0; i < p->n_keywords; i++) {
		k = &p->keywords[i];
		if (k->len == len && k->icase == icase && !memcmp(k->bytes, b, len)) {
			k->channels |= (uint8_t)channels;
			free(b);
			return (int)i;
		}
	}
	if (p->n_keywords >= SL_POLICY_MAX_KEYWORDS) {
		if (!c->kw_full_reported)
			verr(c, at, "expected at most %u distinct keywords in a policy, found more",
			     SL_POLICY_MAX_KEYWORDS);
		c->kw_full_reported = true;
		free(b);
		return -1;
	}
	if (!p->keywords) {
		p->keywords = calloc(SL_POLICY_MAX_KEYWORDS, sizeof(*p->keywords));
		if (!p->keywords) {
			free(b);
			c->err = -ENOMEM;
			return -1;
		}
	}
	k = &p->keywords[p->n_keywords];
	k->bytes = b;
	k->len = (uint32_t)len;
	k->icase = icase;
	k->channels = (uint8_t)channels;
	return (int)p->n_keywords++;
}

/* "text" or {icase: "text"} or {literal: "text"}; -1 on error */
static int parse_keyword(struct vctx *c, const struct ynode *n, uint32_t channels)
{
	static const struct keyspec ks[] = {
	    {"literal", false, NULL},
	    {"icase", false, NULL},
	};
	const struct ynode *lit, *ic, *v;
	char *s = NULL;
	bool icase;
	size_t old;
	int idx = -1;

	if (n->bad)
		return -1;
	if (n->type == YN_SCALAR) {
		v = n;
		icase = false;
		old = c->plen;
	} else if (n->type == YN_MAP) {
		if (!check_map(c, n, "a keyword mapping ({icase: TEXT} or {literal: TEXT})", ks,
			       SL_ARRAY_SIZE(ks)))
			return -1;
		lit = map_get(n, "literal");
		ic = map_get(n, "icase");
		if (!!lit + !!ic != 1) {
			verr(c, n,
			     "expected exactly one of 'literal' or 'icase' in a keyword, found %s",
			     lit ? "both" : "neither");
			return -1;
		}
		v = lit ? lit : ic;
		icase = !!ic;
		old = path_str(c, lit ? "literal" : "icase");
	} else {
		verr(c, n,
		     "expected a keyword (\"text\", {icase: \"text\"} or {literal: \"text\"}), "
		     "found %s",
		     FOUND(n));
		return -1;
	}
	if (get_str(c, v, "a keyword", SL_POLICY_KEYWORD_MIN, SL_POLICY_KEYWORD_MAX, true, &s))
		idx = keyword_add(c, v, s, v->len, icase, channels);
	free(s);
	path_restore(c, old);
	return idx;
}

/* a list of keywords into one array of indices; false on error */
static bool parse_kw_list(struct vctx *c, const struct ynode *n, uint32_t channels, uint32_t **out,
			  uint32_t *nout, size_t *budget)
{
	uint32_t *v;
	bool ok = true;

	if (!want_list(c, n, "a list of keywords", SL_POLICY_MAX_PATTERN_KW))
		return false;
	v = calloc(n->n, sizeof(*v));
	if (!v) {
		c->err = -ENOMEM;
		return false;
	}
	*nout = 0;
	for (size_t i = 0; i < n->n; i++) {
		size_t old = path_idx(c, i);
		int k;

		if (n->kids[i]->type == YN_MAP && map_get(n->kids[i], "any")) {
			verr(c, n->kids[i],
			     "expected a keyword (groups {any: [...]} are allowed only in 'all'), "
			     "found a group");
			ok = false;
		} else if ((k = parse_keyword(c, n->kids[i], channels)) < 0) {
			ok = false;
		} else {
			v[(*nout)++] = (uint32_t)k;
		}
		path_restore(c, old);
	}
	*budget += n->n;
	*out = v;
	return ok;
}

static void parse_pattern(struct vctx *c, const struct ynode *n, struct sl_policy_pattern *pt)
{
	static const struct keyspec ks[] = {
	    {"channel", true, "exec, tls or a list of them"},
	    {"description", false, NULL},
	    {"all", false, NULL},
	    {"any", false, NULL},
	    {"none", false, NULL},
	};
	const struct ynode *ch, *all, *any, *none, *v;
	uint32_t channels = SL_CHAN_BIT(SL_CHAN_EXEC) | SL_CHAN_BIT(SL_CHAN_TLS);
	size_t budget = 0, ngroups, old;
	bool ok = true;

	pt->loc = loc_of(n);
	if (!check_map(c, n, "a mapping (channel, all, any, none, description)", ks,
		       SL_ARRAY_SIZE(ks)))
		return;
	if ((ch = map_get(n, "channel"))) {
		old = path_str(c, "channel");
		if (ch->type == YN_SEQ && want_list(c, ch, "a list of channels", 2)) {
			channels = 0;
			for (size_t i = 0; i < ch->n; i++) {
				size_t o2 = path_idx(c, i);
				uint32_t cv;

				if (get_enum(c, ch->kids[i], sl_policy_chan_names, 2, &cv))
					channels |= SL_CHAN_BIT(cv);
				path_restore(c, o2);
			}
		} else if (ch->type != YN_SEQ) {
			uint32_t cv;

			if (get_enum(c, ch, sl_policy_chan_names, 2, &cv))
				channels = SL_CHAN_BIT(cv);
		}
		path_restore(c, old);
	}
	if ((v = map_get(n, "description"))) {
		char *d = NULL;

		old = path_str(c, "description");
		get_str(c, v, "a description", 0, SL_POLICY_DESC_MAX, false, &d);
		free(d);
		path_restore(c, old);
	}
	pt->channels = channels;
	all = map_get(n, "all");
	any = map_get(n, "any");
	none = map_get(n, "none");
	if (!all && !any) {
		verr(c, n, "expected 'all' or 'any' (or both) in a pattern, found %s",
		     none ? "only 'none'" : "neither");
		return;
	}
	ngroups = (all && all->type == YN_SEQ ? all->n : 0) + (any ? 1 : 0);
	pt->groups = calloc(ngroups ? ngroups : 1, sizeof(*pt->groups));
	if (!pt->groups) {
		c->err = -ENOMEM;
		return;
	}
	if (all) {
		old = path_str(c, "all");
		if (!want_list(c, all, "a list of keywords and {any: [...]} groups",
			       SL_POLICY_MAX_PATTERN_KW)) {
			ok = false;
		} else {
			for (size_t i = 0; i < all->n; i++) {
				const struct ynode *it = all->kids[i];
				struct sl_policy_group *g = &pt->groups[pt->n_groups];
				size_t o2 = path_idx(c, i);
				int k;

				if (it->type == YN_MAP && map_get(it, "any")) {
					static const struct keyspec gks[] = {{"any", true, ""}};

					check_map(c, it, "a group mapping ({any: [...]})", gks,
						  SL_ARRAY_SIZE(gks));
					path_str(c, "any");
					if (parse_kw_list(c, map_get(it, "any"), channels, &g->kw,
							  &g->n_kw, &budget))
						pt->n_groups++;
					else {
						free(g->kw);
						g->kw = NULL;
						ok = false;
					}
				} else if ((k = parse_keyword(c, it, channels)) >= 0) {
					g->kw = malloc(sizeof(*g->kw));
					if (!g->kw) {
						c->err = -ENOMEM;
						path_restore(c, o2);
						break;
					}
					g->kw[0] = (uint32_t)k;
					g->n_kw = 1;
					pt->n_groups++;
					budget++;
				} else {
					ok = false;
				}
				path_restore(c, o2);
			}
		}
		path_restore(c, old);
	}
	if (any) {
		struct sl_policy_group *g = &pt->groups[pt->n_groups];

		old = path_str(c, "any");
		if (parse_kw_list(c, any, channels, &g->kw, &g->n_kw, &budget))
			pt->n_groups++;
		else {
			free(g->kw);
			g->kw = NULL;
			ok = false;
		}
		path_restore(c, old);
	}
	if (none) {
		old = path_str(c, "none");
		if (!parse_kw_list(c, none, channels, &pt->none, &pt->n_none, &budget))
			ok = false;
		path_restore(c, old);
	}
	if (ok && ngroups > SL_POLICY_MAX_GROUPS)
		verr(c, n,
		     "expected at most %u groups in a pattern (each 'all' item and 'any'), "
		     "found %zu",
		     SL_POLICY_MAX_GROUPS, ngroups);
	else if (ok && budget > SL_POLICY_MAX_PATTERN_KW)
		verr(c, n, "expected at most %u keywords in a pattern, found %zu",
		     SL_POLICY_MAX_PATTERN_KW, budget);
}

static void parse_patterns(struct vctx *c, const struct ynode *n)
{
	struct sl_policy *p = c->p;

	if (!check_named_map(c, n, "patterns", "pattern", SL_POLICY_MAX_PATTERNS))
		return;
	p->patterns = calloc(n->n / 2, sizeof(*p->patterns));
	if (!p->patterns) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i + 1 < n->n && !c->err; i += 2) {
		const struct ynode *k = n->kids[i];
		struct sl_policy_pattern *pt = &p->patterns[p->n_patterns];
		size_t old;

		if (k->type != YN_SCALAR)
			continue;
		old = path_key(c, k->val, k->len);
		pt->name = strndup(k->val, k->len);
		p->n_patterns++;
		if (!pt->name)
			c->err = -ENOMEM;
		else
			parse_pattern(c, n->kids[i + 1], pt);
		path_restore(c, old);
	}
}

/* ---- rules ---- */

static int pattern_index(const struct sl_policy *p, const struct ynode *n)
{
	for (uint32_t i = 0; i < p->n_patterns; i++)
		if (scalar_eq(n, p->patterns[i].name))
			return (int)i;
	return -1;
}

static void rule_pattern_ref(struct vctx *c, const struct ynode *n, struct sl_policy_rule *r,
			     bool *ok)
{
	int idx;

	if (!want_type(c, n, YN_SCALAR, "a pattern name")) {
		*ok = false;
		return;
	}
	idx = pattern_index(c->p, n);
	if (idx < 0) {
		if (c->p->n_patterns == 0)
			verr(c, n,
			     "expected the name of a pattern defined under 'patterns', found %s "
			     "(the policy defines no patterns)",
			     FOUND(n));
		else
			verr(c, n,
			     "expected the name of a pattern defined under 'patterns', found %s",
			     FOUND(n));
		*ok = false;
		return;
	}
	for (uint32_t i = 0; i < r->n_patterns; i++)
		if (r->patterns[i] == (uint32_t)idx)
			return;
	r->patterns[r->n_patterns++] = (uint32_t)idx;
}

static void parse_rule(struct vctx *c, const struct ynode *n, struct sl_policy_rule *r)
{
	static const struct keyspec ks[] = {
	    {"name", true, "a rule name"},
	    {"description", false, NULL},
	    {"channel", true, "one of exec, tls, connect or open"},
	    {"pattern", false, NULL},
	    {"target", true, "outside_scope, unknown, in_scope, any or a list of them"},
	    {"action", true, "one of log, alert, deny, freeze or kill"},
	    {"monitor", false, NULL},
	};
	const struct ynode *name, *ch, *pat, *tgt, *act, *v;
	bool ch_ok = false, act_ok = false, tgt_ok = false, pat_ok = true;
	size_t old;

	r->loc = loc_of(n);
	if (!check_map(c, n,
		       "a mapping (name, channel, pattern, target, action, monitor, description)",
		       ks, SL_ARRAY_SIZE(ks)))
		return;
	if ((name = map_get(n, "name"))) {
		old = path_str(c, "name");
		if (want_type(c, name, YN_SCALAR, "a rule name") && check_name(c, name)) {
			r->name = strndup(name->val, name->len);
			if (!r->name)
				c->err = -ENOMEM;
		}
		path_restore(c, old);
	}
	if ((v = map_get(n, "description"))) {
		old = path_str(c, "description");
		get_str(c, v, "a description", 0, SL_POLICY_DESC_MAX, false, &r->description);
		path_restore(c, old);
	}
	if ((ch = map_get(n, "channel"))) {
		old = path_str(c, "channel");
		ch_ok = get_enum(c, ch, sl_policy_chan_names, SL_ARRAY_SIZE(sl_policy_chan_names),
				 &r->channel);
		path_restore(c, old);
	}
	if ((act = map_get(n, "action"))) {
		old = path_str(c, "action");
		act_ok = get_enum(c, act, sl_policy_action_names,
				  SL_ARRAY_SIZE(sl_policy_action_names), &r->action);
		path_restore(c, old);
	}
	if ((tgt = map_get(n, "target"))) {
		uint32_t t;

		old = path_str(c, "target");
		if (tgt->type == YN_SEQ) {
			if (want_list(c, tgt, "a list of targets", 3)) {
				tgt_ok = true;
				for (size_t i = 0; i < tgt->n; i++) {
					size_t o2 = path_idx(c, i);

					if (get_enum(c, tgt->kids[i], sl_policy_target_names, 3,
						     &t))
						r->target |= sl_policy_target_bits[t];
					else
						tgt_ok = false;
					path_restore(c, o2);
				}
			}
		} else if (get_enum(c, tgt, sl_policy_target_names,
				    SL_ARRAY_SIZE(sl_policy_target_names), &t)) {
			r->target = sl_policy_target_bits[t];
			tgt_ok = true;
		}
		path_restore(c, old);
	}
	if ((v = map_get(n, "monitor"))) {
		old = path_str(c, "monitor");
		get_bool(c, v, &r->monitor);
		path_restore(c, old);
	}
	if ((pat = map_get(n, "pattern"))) {
		old = path_str(c, "pattern");
		if (ch_ok && (r->channel == SL_CHAN_CONNECT || r->channel == SL_CHAN_OPEN)) {
			verr(c, pat,
			     "expected no pattern for channel %s (patterns match exec argv and TLS "
			     "plaintext; %s rules match on the target only), found %s",
			     sl_policy_chan_names[r->channel], sl_policy_chan_names[r->channel],
			     FOUND(pat));
			pat_ok = false;
		} else if (pat->type == YN_SEQ) {
			if (want_list(c, pat, "a list of pattern names",
				      SL_POLICY_MAX_RULE_PATTERNS)) {
				r->patterns = calloc(pat->n, sizeof(*r->patterns));
				if (!r->patterns) {
					c->err = -ENOMEM;
					path_restore(c, old);
					return;
				}
				for (size_t i = 0; i < pat->n; i++) {
					size_t o2 = path_idx(c, i);

					rule_pattern_ref(c, pat->kids[i], r, &pat_ok);
					path_restore(c, o2);
				}
			} else {
				pat_ok = false;
			}
		} else {
			r->patterns = calloc(1, sizeof(*r->patterns));
			if (!r->patterns) {
				c->err = -ENOMEM;
				path_restore(c, old);
				return;
			}
			rule_pattern_ref(c, pat, r, &pat_ok);
		}
		/* the patterns must match on the rule's channel */
		for (uint32_t i = 0; ch_ok && pat_ok && i < r->n_patterns; i++) {
			const struct sl_policy_pattern *pt = &c->p->patterns[r->patterns[i]];

			if (!(pt->channels & SL_CHAN_BIT(r->channel))) {
				const struct ynode *at = pat;
				size_t o2 = c->plen;

				/* find the list item that named it */
				for (size_t j = 0; pat->type == YN_SEQ && j < pat->n; j++) {
					if (pattern_index(c->p, pat->kids[j]) ==
					    (int)r->patterns[i]) {
						at = pat->kids[j];
						o2 = path_idx(c, j);
						break;
					}
				}
				verr(c, at,
				     "expected a pattern for channel %s, found '%s' (a pattern for "
				     "channel %s)",
				     sl_policy_chan_names[r->channel], pt->name,
				     pt->channels & SL_CHAN_BIT(SL_CHAN_EXEC) ? "exec" : "tls");
				path_restore(c, o2);
			}
		}
		path_restore(c, old);
	}
	if (ch_ok && act_ok) {
		old = path_str(c, "action");
		if (r->action == SL_ACT_DENY && r->channel != SL_CHAN_CONNECT)
			verr(c, act,
			     "expected log, alert, freeze or kill for channel %s (deny refuses a "
			     "connect with EPERM and is for channel connect only), found 'deny'",
			     sl_policy_chan_names[r->channel]);
		else if ((r->action == SL_ACT_KILL || r->action == SL_ACT_FREEZE) &&
			 r->channel == SL_CHAN_CONNECT)
			verr(c, act,
			     "expected log, alert or deny for channel connect, found '%s' (use "
			     "deny to stop a connect)",
			     sl_policy_action_names[r->action]);
		else if (tgt_ok && pat_ok && r->n_patterns == 0 && r->target == SL_TARGET_ANY &&
			 r->action >= SL_ACT_DENY)
			verr(c, act,
			     "expected log or alert for a rule without pattern and with target any "
			     "(it would %s every %s in every session), found '%s'",
			     r->action == SL_ACT_DENY ? "refuse" : "stop",
			     sl_policy_chan_names[r->channel], sl_policy_action_names[r->action]);
		path_restore(c, old);
	}
}

static void parse_rules(struct vctx *c, const struct ynode *n)
{
	struct sl_policy *p = c->p;

	if (!want_list(c, n, "a list of rules", SL_POLICY_MAX_RULES))
		return;
	p->rules = calloc(n->n, sizeof(*p->rules));
	if (!p->rules) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n->n && !c->err; i++) {
		struct sl_policy_rule *r = &p->rules[p->n_rules++];
		size_t old = path_idx(c, i);

		parse_rule(c, n->kids[i], r);
		/* rule names are unique */
		if (r->name) {
			for (uint32_t j = 0; j + 1 < p->n_rules; j++) {
				if (p->rules[j].name && !strcmp(p->rules[j].name, r->name)) {
					const struct ynode *nn = map_get(n->kids[i], "name");
					size_t o2 = path_str(c, "name");

					verr(c, nn,
					     "expected each rule name once, found a duplicate of "
					     "rules[%u] (line %u)",
					     j, p->rules[j].loc.line);
					path_restore(c, o2);
					break;
				}
			}
		}
		path_restore(c, old);
	}
}

/* ---- top level ---- */

static void parse_root(struct vctx *c, const struct ynode *root)
{
	static const struct keyspec ks[] = {
	    {"version", true, "1"},
	    {"mode", false, NULL},
	    {"settings", false, NULL},
	    {"environments", true, "a mapping of environment names to labels"},
	    {"patterns", false, NULL},
	    {"rules", false, NULL},
	};
	const struct ynode *v;
	uint64_t u;
	size_t old;

	if (!root) {
		verr(c, NULL,
		     "expected a policy (a mapping with 'version: 1'), found an empty "
		     "document");
		return;
	}
	if (!check_map(c, root,
		       "a mapping (version, mode, settings, environments, patterns, rules)", ks,
		       SL_ARRAY_SIZE(ks)))
		return;
	if ((v = map_get(root, "version"))) {
		old = path_str(c, "version");
		if (!v->bad && v->type == YN_SCALAR && v->plain && !sl_parse_u64(v->val, 1, 1, &u))
			c->p->version = (uint32_t)u;
		else if (!v->bad)
			verr(c, v,
			     "expected 1 (the only version of the policy language), found %s%s",
			     FOUND(v),
			     v->type == YN_SCALAR && !v->plain ? " (a quoted string)" : "");
		path_restore(c, old);
	}
	if ((v = map_get(root, "mode"))) {
		old = path_str(c, "mode");
		get_enum(c, v, sl_policy_mode_names, SL_ARRAY_SIZE(sl_policy_mode_names),
			 &c->p->mode);
		path_restore(c, old);
	}
	if ((v = map_get(root, "settings"))) {
		old = path_str(c, "settings");
		parse_settings(c, v);
		path_restore(c, old);
	}
	if ((v = map_get(root, "environments"))) {
		old = path_str(c, "environments");
		parse_envs(c, v);
		path_restore(c, old);
	}
	if (c->err)
		return;
	if ((v = map_get(root, "patterns"))) {
		old = path_str(c, "patterns");
		parse_patterns(c, v);
		path_restore(c, old);
	}
	if (c->err)
		return;
	if ((v = map_get(root, "rules"))) {
		old = path_str(c, "rules");
		parse_rules(c, v);
		path_restore(c, old);
	}
	for (uint32_t i = 0; i < c->p->n_rules; i++)
		c->p->rules[i].effective_monitor =
		    c->p->rules[i].monitor || c->p->mode == SL_POLICY_MONITOR;
}

/* ---- API ---- */

void sl_policy_free(struct sl_policy *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->n_envs; i++) {
		struct sl_policy_env *e = &p->envs[i];

		free(e->name);
		free(e->description);
		for (uint32_t j = 0; j < e->n_paths; j++)
			free(e->paths[j].glob);
		free(e->paths);
		for (uint32_t j = 0; j < e->n_hosts; j++) {
			free(e->hosts[j].text);
			free(e->hosts[j].name);
		}
		free(e->hosts);
		for (uint32_t j = 0; j < e->n_secrets; j++)
			free_secret_src(&e->secrets[j]);
		free(e->secrets);
		for (uint32_t j = 0; j < e->n_resources; j++)
			free(e->resources[j]);
		free(e->resources);
	}
	free(p->envs);
	for (uint32_t i = 0; i < p->n_keywords; i++)
		free(p->keywords[i].bytes);
	free(p->keywords);
	for (uint32_t i = 0; i < p->n_patterns; i++) {
		struct sl_policy_pattern *pt = &p->patterns[i];

		free(pt->name);
		for (uint32_t j = 0; j < pt->n_groups; j++)
			free(pt->groups[j].kw);
		free(pt->groups);
		free(pt->none);
	}
	free(p->patterns);
	for (uint32_t i = 0; i < p->n_rules; i++) {
		free(p->rules[i].name);
		free(p->rules[i].description);
		free(p->rules[i].patterns);
	}
	free(p->rules);
	for (uint32_t i = 0; i < p->n_secrets; i++) {
		if (p->secrets[i].value) {
			explicit_bzero(p->secrets[i].value, p->secrets[i].len);
			free(p->secrets[i].value);
		}
	}
	free(p->secrets);
	free(p->settings.alert_file);
	free(p->settings.admin_group);
	for (uint32_t i = 0; i < p->settings.n_program_paths; i++)
		free(p->settings.program_paths[i]);
	free(p->settings.program_paths);
	free(p->source);
	free(p);
}

/* stable sort by position of the entries from index first on (validation order differs) */
static void sort_errors(struct sl_policy_errors *errs, size_t first)
{
	for (size_t i = first + 1; i < errs->n; i++) {
		struct sl_policy_error e = errs->v[i];
		size_t j = i;

		while (j > first &&
		       (errs->v[j - 1].line > e.line ||
			(errs->v[j - 1].line == e.line && errs->v[j - 1].column > e.column))) {
			errs->v[j] = errs->v[j - 1];
			j--;
		}
		errs->v[j] = e;
	}
}

int sl_policy_load_buf(const char *name, const void *buf, size_t len, struct sl_policy **out,
		       struct sl_policy_errors *errs)
{
	struct vctx c = {.file = name ? name : "policy"};
	struct sl_policy_errors local;
	struct ynode *root = NULL;
	struct sl_policy *p = NULL;
	size_t before, first;
	int err;

	/* without a caller's list, still count errors to know there were some */
	sl_policy_errors_init(&local);
	c.errs = errs ? errs : &local;
	before = c.errs->total;
	first = c.errs->n;
	if (len > SL_POLICY_MAX_BYTES) {
		verr(&c, NULL, "expected a policy of at most %u bytes, found %zu bytes",
		     SL_POLICY_MAX_BYTES, len);
		err = c.err ? c.err : -EINVAL;
		goto out;
	}
	err = sl_yaml_build(c.file, buf, len, c.errs, &root);
	if (err)
		goto out;
	p = calloc(1, sizeof(*p));
	if (!p) {
		err = -ENOMEM;
		goto out;
	}
	p->source = strdup(c.file);
	if (!p->source) {
		err = -ENOMEM;
		goto out;
	}
	p->settings.hold_timeout_s = SL_POLICY_HOLD_TIMEOUT_DEFAULT;
	p->settings.secret_min_len = SL_POLICY_SECRET_MIN_DEFAULT;
	p->settings.syslog = true;
	p->settings.audit_buffer = SL_POLICY_AUDIT_BUFFER_DEFAULT;
	p->settings.on_audit_failure = SL_AUDIT_FAIL_FREEZE;
	p->settings.unreadable_suspicious = SL_ACT_FREEZE;
	p->settings.unreadable_otherwise = SL_ACT_ALERT;
	c.p = p;
	parse_root(&c, root);
	if (c.err) {
		err = c.err;
		goto out;
	}
	/* errors of the tree builder (aliases, limits) count as well */
	if (c.errs->total > before) {
		sort_errors(c.errs, first);
		err = -EINVAL;
		goto out;
	}
	*out = SL_TAKE_PTR(p);
	err = 0;
out:
	sl_ynode_free(root);
	sl_policy_free(p);
	sl_policy_errors_free(&local);
	return err;
}

int sl_policy_load_file(const char *path, struct sl_policy **out, struct sl_policy_errors *errs)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = SL_POLICY_MAX_BYTES + 1;
	struct stat st;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISREG(st.st_mode) && st.st_size > (off_t)SL_POLICY_MAX_BYTES)
		return sl_perr_add(errs, path, 1, 1, NULL,
				   "expected a policy of at most %u bytes, found %lld bytes",
				   SL_POLICY_MAX_BYTES, (long long)st.st_size)
			   ?: -EINVAL;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap)
			break; /* too big: load_buf reports it */
	}
	return sl_policy_load_buf(path, buf, len, out, errs);
}

/* ---- lookups ---- */

int sl_policy_env_id(const struct sl_policy *p, const char *name)
{
	for (uint32_t i = 0; p && name && i < p->n_envs; i++)
		if (!strcmp(p->envs[i].name, name))
			return (int)p->envs[i].id;
	return -ENOENT;
}

const char *sl_policy_env_name(const struct sl_policy *p, uint32_t id)
{
	if (id == SL_ENV_UNKNOWN)
		return "unknown";
	if (!p || id > p->n_envs)
		return NULL;
	return p->envs[id - 1].name;
}

uint64_t sl_policy_env_for_path(const struct sl_policy *p, const char *path)
{
	uint64_t env = 0;

	for (uint32_t i = 0; p && path && i < p->n_envs; i++)
		for (uint32_t j = 0; j < p->envs[i].n_paths; j++)
			if (sl_policy_glob_match(p->envs[i].paths[j].glob, path))
				env |= 1ULL << p->envs[i].id;
	return env;
}

uint64_t sl_policy_env_for_host(const struct sl_policy *p, const char *name, const uint8_t *addr,
				int family, uint16_t port)
{
	uint64_t env = 0;

	for (uint32_t i = 0; p && i < p->n_envs; i++)
		for (uint32_t j = 0; j < p->envs[i].n_hosts; j++)
			if (sl_policy_host_match(&p->envs[i].hosts[j], name, addr, family, port))
				env |= 1ULL << p->envs[i].id;
	return env;
}
