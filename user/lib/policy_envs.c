// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policy validation: environments (paths, hosts, secrets, resources,
 * confinement). docs/policy.md.
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

#include "policy_globs.h"
#include "policy_internal.h"
#include "util.h"

static const char *const format_names[] = {"auto", "raw", "env", "json"};
static const char *const reserved_env_names[] = {"unknown", "any", "none", "all", "foreign"};

/* ---- environments ---- */

static void parse_paths(struct vctx *c, const struct ynode *n, struct sl_policy_env *e)
{
	if (!sl_pv_want_list(c, n, "a list of absolute path globs", SL_POLICY_MAX_SEQ))
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
		size_t old = sl_pv_path_idx(c, i);

		if (sl_pv_get_str(c, it, "an absolute path glob", 1, 4095, false, &s)) {
			if (sl_parse_glob(s, it->len, &pth, msg, sizeof(msg))) {
				sl_pv_err(c, it, "%s", msg);
				free(s);
			} else {
				pth.glob = s;
				e->paths[e->n_paths++] = pth;
			}
		}
		sl_pv_path_restore(c, old);
	}
}

static void parse_hosts(struct vctx *c, const struct ynode *n, struct sl_policy_env *e)
{
	if (!sl_pv_want_list(c, n, "a list of hosts", SL_POLICY_MAX_SEQ))
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
		size_t old = sl_pv_path_idx(c, i);
		int err;

		if (sl_pv_get_str(c, it,
				  "a host (DNS name, *.domain, IP address or CIDR, optional :port)",
				  1, SL_POLICY_HOST_MAX + 8, false, &s)) {
			err = sl_parse_host(s, it->len, &h, msg, sizeof(msg));
			if (err == -ENOMEM) {
				c->err = err;
				free(s);
			} else if (err) {
				sl_pv_err(c, it, "%s", msg);
				free(s);
			} else {
				h.text = s;
				e->hosts[e->n_hosts++] = h;
			}
		}
		sl_pv_path_restore(c, old);
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
	if (!sl_pv_check_map(
		c, n,
		"a secret mapping ({file: PATH}, {fingerprint: \"sha256:HEX\"} or {env: NAME})", ks,
		SL_ARRAY_SIZE(ks)))
		return;
	file = sl_pv_map_get(n, "file");
	fp = sl_pv_map_get(n, "fingerprint");
	env = sl_pv_map_get(n, "env");
	fmt = sl_pv_map_get(n, "format");
	keys = sl_pv_map_get(n, "keys");
	kinds = !!file + !!fp + !!env;
	s->loc = sl_pv_loc_of(n);
	if (kinds != 1) {
		sl_pv_err(c, n, "expected exactly one of 'file', 'fingerprint' or 'env', found %s",
			  kinds ? "several" : "none");
		return;
	}
	if (!file && (fmt || keys)) {
		old = sl_pv_path_str(c, fmt ? "format" : "keys");
		sl_pv_err(c, fmt ? fmt : keys,
			  "expected 'format' and 'keys' only with 'file', found them "
			  "with '%s'",
			  fp ? "fingerprint" : "env");
		sl_pv_path_restore(c, old);
		return;
	}
	if (file) {
		s->kind = SL_SECRET_FILE;
		old = sl_pv_path_str(c, "file");
		if (sl_pv_get_str(c, file, "an absolute file path", 2, 4095, false, &s->path)) {
			if (s->path[0] != '/' || s->path[file->len - 1] == '/')
				sl_pv_err(c, file, "expected an absolute file path, found %s",
					  FOUND(file));
			else
				*ok = true;
		}
		sl_pv_path_restore(c, old);
		if (fmt) {
			old = sl_pv_path_str(c, "format");
			if (!sl_pv_get_enum(c, fmt, format_names, SL_ARRAY_SIZE(format_names),
					    &s->format))
				*ok = false;
			sl_pv_path_restore(c, old);
		}
		if (keys) {
			old = sl_pv_path_str(c, "keys");
			if (!sl_pv_want_list(c, keys, "a list of key names", 64)) {
				*ok = false;
			} else if (s->format == SL_SECFMT_RAW) {
				sl_pv_err(c, keys,
					  "expected no 'keys' with format raw (the whole file is "
					  "the secret), found a list");
				*ok = false;
			} else {
				s->keys = calloc(keys->n, sizeof(*s->keys));
				if (!s->keys) {
					c->err = -ENOMEM;
					sl_pv_path_restore(c, old);
					return;
				}
				for (size_t i = 0; i < keys->n; i++) {
					size_t o2 = sl_pv_path_idx(c, i);

					if (sl_pv_get_str(c, keys->kids[i], "a key name", 1, 256,
							  false, &s->keys[s->n_keys]))
						s->n_keys++;
					else
						*ok = false;
					sl_pv_path_restore(c, o2);
				}
			}
			sl_pv_path_restore(c, old);
		} else if (s->format == SL_SECFMT_JSON) {
			sl_pv_err(c, n,
				  "expected 'keys' with format json (the members that hold "
				  "credentials), found none");
			*ok = false;
		}
	} else if (fp) {
		char msg[512];
		char *str = NULL;

		s->kind = SL_SECRET_FINGERPRINT;
		old = sl_pv_path_str(c, "fingerprint");
		if (sl_pv_get_str(c, fp, "a fingerprint 'sha256:<64 hex digits>'", 1, 256, false,
				  &str)) {
			if (sl_parse_sha256(str, fp->len, s->sha256, msg, sizeof(msg)))
				sl_pv_err(c, fp, "%s", msg);
			else
				*ok = true;
			free(str);
		}
		sl_pv_path_restore(c, old);
	} else {
		s->kind = SL_SECRET_ENV;
		old = sl_pv_path_str(c, "env");
		if (sl_pv_get_str(c, env, "an environment variable name", 1, 256, false,
				  &s->env_var)) {
			if (!valid_env_var(s->env_var, env->len))
				sl_pv_err(
				    c, env,
				    "expected an environment variable name (letters, digits and "
				    "'_', not starting with a digit), found %s",
				    FOUND(env));
			else
				*ok = true;
		}
		sl_pv_path_restore(c, old);
	}
}

void sl_pv_free_secret_src(struct sl_policy_secret_src *s)
{
	free(s->path);
	free(s->env_var);
	for (uint32_t i = 0; i < s->n_keys; i++)
		free(s->keys[i]);
	free(s->keys);
}

static void parse_secrets(struct vctx *c, const struct ynode *n, struct sl_policy_env *e)
{
	if (!sl_pv_want_list(c, n, "a list of secrets", SL_POLICY_MAX_SECRETS))
		return;
	e->secrets = calloc(n->n, sizeof(*e->secrets));
	if (!e->secrets) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n->n && !c->err; i++) {
		struct sl_policy_secret_src *s = &e->secrets[e->n_secrets];
		size_t old = sl_pv_path_idx(c, i);
		bool ok;

		memset(s, 0, sizeof(*s));
		parse_secret(c, n->kids[i], s, &ok);
		if (ok)
			e->n_secrets++;
		else
			sl_pv_free_secret_src(s);
		sl_pv_path_restore(c, old);
	}
}

static void parse_resources(struct vctx *c, const struct ynode *n, struct sl_policy_env *e)
{
	if (!sl_pv_want_list(c, n, "a list of resource ids", SL_POLICY_MAX_SEQ))
		return;
	e->resources = calloc(n->n, sizeof(*e->resources));
	if (!e->resources) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		size_t old = sl_pv_path_idx(c, i);
		char *s = NULL;

		if (sl_pv_get_str(c, n->kids[i], "a resource id", SL_POLICY_RESOURCE_MIN,
				  SL_POLICY_RESOURCE_MAX, false, &s))
			e->resources[e->n_resources++] = s;
		sl_pv_path_restore(c, old);
	}
}

const char *const sl_policy_blind_tls_names[3] = {"deny", "alert", "proxy"};
const char *const sl_policy_loss_names[2] = {"throttle", "drop"};

/* confine: {ptrace: BOOL, userns: BOOL}; what is not written stays confined */
static void parse_confine(struct vctx *c, const struct ynode *n, struct sl_policy_env *e)
{
	static const struct keyspec ks[] = {{"ptrace", false, NULL}, {"userns", false, NULL}};
	const struct ynode *v;
	size_t old;

	if (!sl_pv_check_map(c, n, "a mapping (ptrace, userns)", ks, SL_ARRAY_SIZE(ks)))
		return;
	if (n->n == 0) {
		sl_pv_err(c, n,
			  "expected a mapping with at least one of ptrace, userns (omit the key "
			  "instead), found an empty mapping");
		return;
	}
	if ((v = sl_pv_map_get(n, "ptrace"))) {
		old = sl_pv_path_str(c, "ptrace");
		sl_pv_get_bool(c, v, &e->confine_ptrace);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "userns"))) {
		old = sl_pv_path_str(c, "userns");
		sl_pv_get_bool(c, v, &e->confine_userns);
		sl_pv_path_restore(c, old);
	}
}

static void parse_env(struct vctx *c, const struct ynode *n, struct sl_policy_env *e)
{
	static const struct keyspec ks[] = {
	    {"description", false, NULL}, {"paths", false, NULL},     {"hosts", false, NULL},
	    {"secrets", false, NULL},	  {"resources", false, NULL}, {"confine", false, NULL},
	    {"blind_tls", false, NULL},	  {"loss", false, NULL},
	};
	const struct ynode *v;
	size_t old;

	e->loc = sl_pv_loc_of(n);
	/* "staging:" with nothing: a scope without labels */
	if (sl_pv_is_null(n) && !n->bad)
		return;
	if (!sl_pv_check_map(
		c, n,
		"a mapping of labels (paths, hosts, secrets, resources, description, confine, "
		"blind_tls, loss) or nothing",
		ks, SL_ARRAY_SIZE(ks)))
		return;
	if ((v = sl_pv_map_get(n, "description"))) {
		old = sl_pv_path_str(c, "description");
		sl_pv_get_str(c, v, "a description", 0, SL_POLICY_DESC_MAX, false, &e->description);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "paths"))) {
		old = sl_pv_path_str(c, "paths");
		parse_paths(c, v, e);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "hosts"))) {
		old = sl_pv_path_str(c, "hosts");
		parse_hosts(c, v, e);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "secrets"))) {
		old = sl_pv_path_str(c, "secrets");
		parse_secrets(c, v, e);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "resources"))) {
		old = sl_pv_path_str(c, "resources");
		parse_resources(c, v, e);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "confine"))) {
		old = sl_pv_path_str(c, "confine");
		parse_confine(c, v, e);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "loss"))) {
		uint32_t lm;

		old = sl_pv_path_str(c, "loss");
		if (sl_pv_get_enum(c, v, sl_policy_loss_names, SL_ARRAY_SIZE(sl_policy_loss_names),
				   &lm))
			e->loss = (enum sl_policy_loss)lm;
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "blind_tls"))) {
		uint32_t bt;

		old = sl_pv_path_str(c, "blind_tls");
		if (sl_pv_get_enum(c, v, sl_policy_blind_tls_names,
				   SL_ARRAY_SIZE(sl_policy_blind_tls_names), &bt))
			e->blind_tls = (enum sl_policy_blind_tls)bt;
		sl_pv_path_restore(c, old);
	}
}

/*
 * The wildcard path globs of all environments are one DFA in the kernel
 * (policy_globs.h): a policy whose globs need more states than the kernel's
 * table holds is refused at the glob with which they first do not fit.
 * Only for environments without errors (the paths list is then exactly the
 * YAML list).
 */
static void check_glob_dfa(struct vctx *c, const struct ynode *n)
{
	const struct sl_policy *p = c->p;
	struct sl_glob_dfa d;
	uint32_t be = 0, bp = 0, e = 0;
	char why[256] = "";
	int ret;

	ret = sl_policy_glob_dfa(p, &d, &be, &bp, why, sizeof(why));
	sl_glob_dfa_free(&d);
	if (ret == -ENOMEM)
		c->err = ret;
	if (ret != -E2BIG)
		return;
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct ynode *k = n->kids[i], *paths;
		size_t o1, o2, o3;

		if (k->type != YN_SCALAR || e++ != be)
			continue;
		paths = sl_pv_map_get(n->kids[i + 1], "paths");
		if (!paths || paths->type != YN_SEQ || bp >= paths->n)
			break;
		o1 = sl_pv_path_key(c, k->val, k->len);
		o2 = sl_pv_path_str(c, "paths");
		o3 = sl_pv_path_idx(c, bp);
		sl_pv_err(c, paths->kids[bp],
			  "expected wildcard path globs the kernel can decide (%s), found '%s' "
			  "with which they do not fit: fewer globs, or fewer wildcards before "
			  "fixed characters",
			  why, p->envs[be].paths[bp].glob);
		sl_pv_path_restore(c, o3);
		sl_pv_path_restore(c, o2);
		sl_pv_path_restore(c, o1);
		return;
	}
	/* no node to point at (cannot happen without errors): say it at the map */
	sl_pv_err(c, n, "expected wildcard path globs the kernel can decide (%s), found '%s'", why,
		  p->envs[be].paths[bp].glob);
}

void sl_pv_parse_envs(struct vctx *c, const struct ynode *n)
{
	struct sl_policy *p = c->p;
	size_t before = c->errs->total;

	if (!sl_pv_check_named_map(c, n, "environments", "environment", SL_POLICY_MAX_ENVS))
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
		old = sl_pv_path_key(c, k->val, k->len);
		for (size_t r = 0; r < SL_ARRAY_SIZE(reserved_env_names); r++) {
			if (sl_pv_scalar_eq(k, reserved_env_names[r]))
				sl_pv_err(c, k,
					  "expected an environment name other than the reserved "
					  "'unknown', "
					  "'any', 'none' and 'all', found %s",
					  FOUND(k));
		}
		e->id = p->n_envs + 1;
		e->confine_ptrace = e->confine_userns = true;
		e->blind_tls = SL_BLIND_TLS_DENY;
		e->name = strndup(k->val, k->len);
		p->n_envs++;
		if (!e->name)
			c->err = -ENOMEM;
		else
			parse_env(c, n->kids[i + 1], e);
		sl_pv_path_restore(c, old);
	}
	if (!c->err && c->errs->total == before)
		check_glob_dfa(c, n);
}

/* ---- destinations ---- */

void sl_pv_parse_destinations(struct vctx *c, const struct ynode *n)
{
	static const struct keyspec ks[] = {
	    {"model_providers", false, NULL},
	};
	struct sl_policy_env tmp = {0};
	const struct ynode *v;
	size_t old;

	if (!sl_pv_check_map(c, n, "a mapping (model_providers)", ks, SL_ARRAY_SIZE(ks)))
		return;
	v = sl_pv_map_get(n, "model_providers");
	if (!v)
		return;
	old = sl_pv_path_str(c, "model_providers");
	parse_hosts(c, v, &tmp);
	for (uint32_t i = 0; i < tmp.n_hosts; i++) {
		const struct sl_policy_host *h = &tmp.hosts[i];
		const struct ynode *it = v->kids[0];
		size_t o2, at = 0;

		/* the item it was parsed from (items with errors were left out) */
		for (size_t k = 0; k < v->n; k++)
			if (v->kids[k]->val && !strcmp(v->kids[k]->val, h->text))
				it = v->kids[at = k];
		o2 = sl_pv_path_idx(c, at);

		/* the role follows the server name the client asks for (SNI) */
		if (h->kind != SL_HOST_NAME && h->kind != SL_HOST_WILDCARD)
			sl_pv_err(c, it,
				  "expected a host name or *.domain (a model provider is known by "
				  "the server name its clients ask for), found '%s'",
				  h->text);
		else if (h->port)
			sl_pv_err(c, it,
				  "expected a host name without a port (the role holds on every "
				  "port), found '%s'",
				  h->text);
		sl_pv_path_restore(c, o2);
	}
	c->p->providers = tmp.hosts;
	c->p->n_providers = tmp.n_hosts;
	sl_pv_path_restore(c, old);
}
