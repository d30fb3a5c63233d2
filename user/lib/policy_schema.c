// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policy validation, the schema helpers every section uses: error messages
 * with the field path, and typed reads of YAML nodes (policy_internal.h).
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

/* ---- errors and field paths ---- */

void sl_pv_err(struct vctx *c, const struct ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sl_pv_err(struct vctx *c, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	/* a merged policy: the file of the node (an overlay, the base) */
	err = sl_perr_vadd(c->errs, at && at->file ? at->file : c->file, at ? at->line : 1,
			   at ? at->col : 1, c->path, fmt, ap);
	va_end(ap);
	if (err)
		c->err = err;
}

size_t sl_pv_path_key(struct vctx *c, const char *key, size_t klen)
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

size_t sl_pv_path_str(struct vctx *c, const char *key)
{
	return sl_pv_path_key(c, key, strlen(key));
}

size_t sl_pv_path_idx(struct vctx *c, size_t i)
{
	size_t old = c->plen;
	int n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "[%zu]", i);

	if (n > 0 && (size_t)n < sizeof(c->path) - c->plen)
		c->plen += (size_t)n;
	else
		c->path[c->plen] = '\0';
	return old;
}

void sl_pv_path_restore(struct vctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

/* ---- node helpers ---- */

bool sl_pv_is_null(const struct ynode *n)
{
	return n->type == YN_SCALAR && n->plain &&
	       (n->len == 0 || !strcmp(n->val, "~") || !strcmp(n->val, "null") ||
		!strcmp(n->val, "Null") || !strcmp(n->val, "NULL"));
}

const char *sl_pv_found(const struct ynode *n, char *buf)
{
	if (!n)
		return "nothing";
	if (n->type == YN_MAP)
		return n->n ? "a mapping" : "an empty mapping";
	if (n->type == YN_SEQ)
		return n->n ? "a list" : "an empty list";
	if (sl_pv_is_null(n))
		return "null (no value)";
	sl_perr_quote(n->val, n->len, 64, buf, FOUND_MAX);
	return buf;
}

bool sl_pv_scalar_eq(const struct ynode *n, const char *s)
{
	size_t l = strlen(s);

	return n->type == YN_SCALAR && n->len == l && !memcmp(n->val, s, l);
}

const struct ynode *sl_pv_map_get(const struct ynode *map, const char *key)
{
	if (!map || map->type != YN_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (sl_pv_scalar_eq(map->kids[i], key))
			return map->kids[i + 1];
	return NULL;
}

bool sl_pv_want_type(struct vctx *c, const struct ynode *n, enum ynode_type t, const char *what)
{
	if (n->bad)
		return false;
	if (n->type != t || (t == YN_SCALAR && sl_pv_is_null(n))) {
		sl_pv_err(c, n, "expected %s, found %s", what, FOUND(n));
		return false;
	}
	return true;
}

/* a list, non-empty, at most max items */
bool sl_pv_want_list(struct vctx *c, const struct ynode *n, const char *what, size_t max)
{
	if (!sl_pv_want_type(c, n, YN_SEQ, what))
		return false;
	if (n->n == 0) {
		sl_pv_err(
		    c, n,
		    "expected %s with at least one item (omit the key instead), found an empty "
		    "list",
		    what);
		return false;
	}
	if (n->n > max) {
		sl_pv_err(c, n, "expected at most %zu items, found %zu", max, n->n);
		return false;
	}
	return true;
}

/*
 * A string; no NUL unless allow_nul; length in [min, max] bytes. *out gets a
 * NUL-terminated copy (the length is n->len).
 */
bool sl_pv_get_str(struct vctx *c, const struct ynode *n, const char *what, size_t min, size_t max,
		   bool allow_nul, char **out)
{
	const char *nul;
	char *s;

	if (!sl_pv_want_type(c, n, YN_SCALAR, what))
		return false;
	nul = memchr(n->val, '\0', n->len);
	if (nul && !allow_nul) {
		sl_pv_err(c, n, "expected %s without NUL bytes, found a NUL byte at byte %zu", what,
			  (size_t)(nul - n->val) + 1);
		return false;
	}
	if (n->len < min) {
		sl_pv_err(c, n, "expected %s of at least %zu bytes, found %s (length %zu)", what,
			  min, FOUND(n), n->len);
		return false;
	}
	if (n->len > max) {
		sl_pv_err(c, n, "expected %s of at most %zu bytes, found %zu bytes", what, max,
			  n->len);
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

bool sl_pv_get_bool(struct vctx *c, const struct ynode *n, bool *out)
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
	sl_pv_err(c, n, "expected true or false, found %s%s", FOUND(n),
		  n->type == YN_SCALAR && !n->plain ? " (a quoted string)" : "");
	return false;
}

bool sl_pv_get_uint(struct vctx *c, const struct ynode *n, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	if (n->bad)
		return false;
	if (n->type == YN_SCALAR && n->plain && !sl_pv_is_null(n) &&
	    sl_parse_u64(n->val, min, max, out) == 0)
		return true;
	sl_pv_err(c, n, "expected an integer from %llu to %llu, found %s%s",
		  (unsigned long long)min, (unsigned long long)max, FOUND(n),
		  n->type == YN_SCALAR && !n->plain ? " (a quoted string)" : "");
	return false;
}

/* "10", "10s", "5m", "1h": seconds in [min, max] */
bool sl_pv_get_duration(struct vctx *c, const struct ynode *n, uint64_t min, uint64_t max,
			uint32_t *out)
{
	uint64_t v, mult = 1;
	char num[32];
	size_t l;

	if (n->bad)
		return false;
	if (n->type != YN_SCALAR || sl_pv_is_null(n) || n->len == 0 || n->len >= sizeof(num))
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
	sl_pv_err(
	    c, n,
	    "expected a duration from %llu to %llu seconds (a number with an optional s, m or h "
	    "suffix), found %s",
	    (unsigned long long)min, (unsigned long long)max, FOUND(n));
	return false;
}

/* "262144", "256K", "64M", "1G" (powers of 1024): bytes in [min, max] */
bool sl_pv_get_size(struct vctx *c, const struct ynode *n, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	if (n->bad)
		return false;
	if (n->type == YN_SCALAR && n->plain && !sl_pv_is_null(n) &&
	    sl_parse_size(n->val, min, max, out) == 0)
		return true;
	sl_pv_err(c, n,
		  "expected a size from %lluK to %lluM bytes (a number with an optional K, M or G "
		  "suffix), found %s%s",
		  (unsigned long long)(min >> 10), (unsigned long long)(max >> 20), FOUND(n),
		  n->type == YN_SCALAR && !n->plain ? " (a quoted string)" : "");
	return false;
}

void sl_pv_join_names(const char *const *names, size_t n, char *buf, size_t sz)
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

bool sl_pv_get_enum(struct vctx *c, const struct ynode *n, const char *const *names, size_t cnt,
		    uint32_t *out)
{
	char list[256];

	if (!n->bad && n->type == YN_SCALAR) {
		for (size_t i = 0; i < cnt; i++) {
			if (sl_pv_scalar_eq(n, names[i])) {
				*out = (uint32_t)i;
				return true;
			}
		}
	}
	if (n->bad)
		return false;
	sl_pv_join_names(names, cnt, list, sizeof(list));
	sl_pv_err(c, n, "expected one of %s, found %s", list, FOUND(n));
	return false;
}

/*
 * Check a mapping's keys: scalar, known, each once, required ones present.
 * Returns false if n is not a (usable) mapping.
 */
bool sl_pv_check_map(struct vctx *c, const struct ynode *n, const char *what,
		     const struct keyspec *ks, size_t nks)
{
	char list[512];
	size_t o = 0;

	if (n->bad)
		return false;
	if (n->type != YN_MAP) {
		sl_pv_err(c, n, "expected %s, found %s", what, FOUND(n));
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
		if (k->type != YN_SCALAR || sl_pv_is_null(k)) {
			sl_pv_err(c, k, "expected a key (one of %s), found %s", list, FOUND(k));
			continue;
		}
		old = sl_pv_path_key(c, k->val, k->len);
		for (size_t j = 0; j < i; j += 2) {
			const struct ynode *pk = n->kids[j];

			if (pk->type == YN_SCALAR && pk->len == k->len &&
			    !memcmp(pk->val, k->val, k->len)) {
				sl_pv_err(
				    c, k,
				    "expected each key once, found a duplicate (first at line %u)",
				    pk->line);
				known = true; /* reported */
				break;
			}
		}
		for (size_t j = 0; j < nks && !known; j++)
			known = sl_pv_scalar_eq(k, ks[j].name);
		if (!known)
			sl_pv_err(c, k, "expected one of %s, found unknown key %s", list, FOUND(k));
		sl_pv_path_restore(c, old);
	}
	for (size_t j = 0; j < nks; j++) {
		size_t old;

		if (!ks[j].required || sl_pv_map_get(n, ks[j].name))
			continue;
		old = sl_pv_path_str(c, ks[j].name);
		sl_pv_err(c, n, "expected %s (required), found no '%s' key", ks[j].expect,
			  ks[j].name);
		sl_pv_path_restore(c, old);
	}
	return true;
}

/* a name (of an environment, pattern or rule): [a-z][a-z0-9_-]* */
bool sl_pv_check_name(struct vctx *c, const struct ynode *k)
{
	bool ok =
	    k->len >= 1 && k->len <= SL_POLICY_NAME_MAX && k->val[0] >= 'a' && k->val[0] <= 'z';

	for (size_t i = 0; ok && i < k->len; i++) {
		char ch = k->val[i];

		ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
	}
	if (!ok)
		sl_pv_err(c, k,
			  "expected a name made of a lowercase letter, then lowercase letters, "
			  "digits, '_' or '-' (at most %u bytes), found %s",
			  SL_POLICY_NAME_MAX, FOUND(k));
	return ok;
}

/*
 * The keys of a mapping of user-named items (environments, patterns):
 * scalar, valid names, each once. Returns false if not a usable mapping.
 */
bool sl_pv_check_named_map(struct vctx *c, const struct ynode *n, const char *what,
			   const char *item, size_t max)
{
	if (n->bad)
		return false;
	if (n->type != YN_MAP) {
		sl_pv_err(c, n, "expected a mapping of %s names, found %s", item, FOUND(n));
		return false;
	}
	if (n->n == 0) {
		sl_pv_err(c, n,
			  "expected %s with at least one entry (omit the key instead), found an "
			  "empty mapping",
			  what);
		return false;
	}
	if (n->n / 2 > max) {
		sl_pv_err(c, n, "expected at most %zu %ss, found %zu", max, item, n->n / 2);
		return false;
	}
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct ynode *k = n->kids[i];
		size_t old;

		if (k->bad)
			continue;
		if (k->type != YN_SCALAR || sl_pv_is_null(k)) {
			sl_pv_err(c, k, "expected the name of a %s, found %s", item, FOUND(k));
			continue;
		}
		old = sl_pv_path_key(c, k->val, k->len);
		if (sl_pv_check_name(c, k)) {
			for (size_t j = 0; j < i; j += 2) {
				if (sl_pv_scalar_eq(n->kids[j], k->val)) {
					sl_pv_err(
					    c, k,
					    "expected each %s name once, found a duplicate (first "
					    "at "
					    "line %u)",
					    item, n->kids[j]->line);
					break;
				}
			}
		}
		sl_pv_path_restore(c, old);
	}
	return true;
}

struct sl_policy_loc sl_pv_loc_of(const struct ynode *n)
{
	return (struct sl_policy_loc){.line = n->line, .column = n->col};
}
