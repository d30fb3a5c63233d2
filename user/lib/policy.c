// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policy validation: YAML tree (policy_yaml.c) -> struct sl_policy. Every
 * error is collected with its position and field path; nothing stops at the
 * first one. The language is documented in docs/policy.md.
 *
 * This file: settings, the top level, the API and the lookups. The schema
 * helpers are in policy_schema.c, environments in policy_envs.c, patterns
 * and rules in policy_rules.c (shared through policy_internal.h).
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

static const char *const audit_failure_names[] = {"freeze", "continue"};
static const char *const daemon_absent_names[] = {"freeze", "continue"};

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

	if (!sl_pv_check_map(c, n, "a mapping (suspicious, otherwise)", ks, SL_ARRAY_SIZE(ks)))
		return;
	if ((v = sl_pv_map_get(n, "suspicious"))) {
		old = sl_pv_path_str(c, "suspicious");
		if (sl_pv_get_enum(c, v, acts, SL_ARRAY_SIZE(acts), &a))
			s->unreadable_suspicious = act_val[a];
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "otherwise"))) {
		old = sl_pv_path_str(c, "otherwise");
		if (sl_pv_get_enum(c, v, acts, SL_ARRAY_SIZE(acts), &a))
			s->unreadable_otherwise = act_val[a];
		sl_pv_path_restore(c, old);
	}
}

/* settings.program_paths: directories where program words are looked up */
static void parse_program_paths(struct vctx *c, const struct ynode *n)
{
	struct sl_policy_settings *st = &c->p->settings;

	if (!sl_pv_want_list(c, n, "a list of absolute directory paths",
			     SL_POLICY_MAX_PROGRAM_PATHS))
		return;
	st->program_paths = calloc(n->n, sizeof(*st->program_paths));
	if (!st->program_paths) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *it = n->kids[i];
		size_t old = sl_pv_path_idx(c, i);
		char *s = NULL;

		if (sl_pv_get_str(c, it, "an absolute directory path", 1, 4095, false, &s)) {
			if (s[0] != '/' || strpbrk(s, "*?[")) {
				sl_pv_err(c, it,
					  "expected an absolute directory path without wildcards, "
					  "found %s",
					  FOUND(it));
				free(s);
			} else {
				st->program_paths[st->n_program_paths++] = s;
			}
		}
		sl_pv_path_restore(c, old);
	}
}

static void parse_settings(struct vctx *c, const struct ynode *n)
{
	static const struct keyspec ks[] = {
	    {"hold_timeout", false, NULL},
	    {"alert_file", false, NULL},
	    {"admin_group", false, NULL},
	    {"secret_min_length", false, NULL},
	    {"syslog", false, NULL},
	    {"audit_buffer", false, NULL},
	    {"on_audit_failure", false, NULL},
	    {"unreadable", false, NULL},
	    {"program_paths", false, NULL},
	    {"daemon_absent", false, NULL},
	    {"daemon_absent_grace", false, NULL},
	};
	struct sl_policy_settings *s = &c->p->settings;
	const struct ynode *v;
	uint64_t u;
	size_t old;

	if (!sl_pv_check_map(
		c, n,
		"a mapping (hold_timeout, alert_file, admin_group, secret_min_length, syslog, "
		"audit_buffer, on_audit_failure, unreadable, program_paths, daemon_absent, "
		"daemon_absent_grace)",
		ks, SL_ARRAY_SIZE(ks)))
		return;
	if ((v = sl_pv_map_get(n, "hold_timeout"))) {
		old = sl_pv_path_str(c, "hold_timeout");
		sl_pv_get_duration(c, v, 1, SL_POLICY_HOLD_TIMEOUT_MAX, &s->hold_timeout_s);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "alert_file"))) {
		old = sl_pv_path_str(c, "alert_file");
		if (sl_pv_get_str(c, v, "an absolute file path", 2, 4095, false, &s->alert_file) &&
		    (s->alert_file[0] != '/' || s->alert_file[v->len - 1] == '/')) {
			sl_pv_err(c, v, "expected an absolute file path, found %s", FOUND(v));
		}
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "admin_group"))) {
		old = sl_pv_path_str(c, "admin_group");
		if (sl_pv_get_str(c, v, "a group name", 1, 32, false, &s->admin_group)) {
			bool ok =
			    isalpha((unsigned char)s->admin_group[0]) || s->admin_group[0] == '_';

			for (size_t i = 0; ok && i < v->len; i++) {
				char ch = s->admin_group[i];

				ok = isalnum((unsigned char)ch) || ch == '_' || ch == '-' ||
				     ch == '.';
			}
			if (!ok)
				sl_pv_err(
				    c, v,
				    "expected a group name (a letter or '_', then letters, digits, "
				    "'_', '-' or '.'), found %s",
				    FOUND(v));
		}
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "secret_min_length"))) {
		old = sl_pv_path_str(c, "secret_min_length");
		if (sl_pv_get_uint(c, v, SL_POLICY_SECRET_MIN_MIN, SL_POLICY_SECRET_MIN_MAX, &u))
			s->secret_min_len = (uint32_t)u;
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "syslog"))) {
		old = sl_pv_path_str(c, "syslog");
		sl_pv_get_bool(c, v, &s->syslog);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "audit_buffer"))) {
		old = sl_pv_path_str(c, "audit_buffer");
		sl_pv_get_size(c, v, SL_POLICY_AUDIT_BUFFER_MIN, SL_POLICY_AUDIT_BUFFER_MAX,
			       &s->audit_buffer);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "on_audit_failure"))) {
		old = sl_pv_path_str(c, "on_audit_failure");
		sl_pv_get_enum(c, v, audit_failure_names, SL_ARRAY_SIZE(audit_failure_names),
			       &s->on_audit_failure);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "daemon_absent"))) {
		old = sl_pv_path_str(c, "daemon_absent");
		sl_pv_get_enum(c, v, daemon_absent_names, SL_ARRAY_SIZE(daemon_absent_names),
			       &s->daemon_absent);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "daemon_absent_grace"))) {
		old = sl_pv_path_str(c, "daemon_absent_grace");
		sl_pv_get_duration(c, v, 1, SL_POLICY_DAEMON_GRACE_MAX, &s->daemon_grace_s);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "program_paths"))) {
		old = sl_pv_path_str(c, "program_paths");
		parse_program_paths(c, v);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "unreadable"))) {
		old = sl_pv_path_str(c, "unreadable");
		parse_unreadable(c, v);
		sl_pv_path_restore(c, old);
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
	    {"destinations", false, NULL},
	    {"outputs", false, NULL},
	};
	const struct ynode *v;
	uint64_t u;
	size_t old;

	if (!root) {
		sl_pv_err(c, NULL,
			  "expected a policy (a mapping with 'version: 1'), found an empty "
			  "document");
		return;
	}
	if (!sl_pv_check_map(c, root,
			     "a mapping (version, mode, settings, environments, patterns, rules, "
			     "destinations, outputs)",
			     ks, SL_ARRAY_SIZE(ks)))
		return;
	if ((v = sl_pv_map_get(root, "version"))) {
		old = sl_pv_path_str(c, "version");
		if (!v->bad && v->type == YN_SCALAR && v->plain && !sl_parse_u64(v->val, 1, 1, &u))
			c->p->version = (uint32_t)u;
		else if (!v->bad)
			sl_pv_err(
			    c, v,
			    "expected 1 (the only version of the policy language), found %s%s",
			    FOUND(v),
			    v->type == YN_SCALAR && !v->plain ? " (a quoted string)" : "");
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(root, "mode"))) {
		old = sl_pv_path_str(c, "mode");
		sl_pv_get_enum(c, v, sl_policy_mode_names, SL_ARRAY_SIZE(sl_policy_mode_names),
			       &c->p->mode);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(root, "settings"))) {
		old = sl_pv_path_str(c, "settings");
		parse_settings(c, v);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(root, "environments"))) {
		old = sl_pv_path_str(c, "environments");
		sl_pv_parse_envs(c, v);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(root, "destinations"))) {
		old = sl_pv_path_str(c, "destinations");
		sl_pv_parse_destinations(c, v);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(root, "outputs"))) {
		old = sl_pv_path_str(c, "outputs");
		sl_pv_parse_outputs(c, v);
		sl_pv_path_restore(c, old);
	}
	if (c->err)
		return;
	if ((v = sl_pv_map_get(root, "patterns"))) {
		old = sl_pv_path_str(c, "patterns");
		sl_pv_parse_patterns(c, v);
		sl_pv_path_restore(c, old);
	}
	if (c->err)
		return;
	if ((v = sl_pv_map_get(root, "rules"))) {
		old = sl_pv_path_str(c, "rules");
		sl_pv_parse_rules(c, v);
		sl_pv_path_restore(c, old);
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
			sl_pv_free_secret_src(&e->secrets[j]);
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
	for (uint32_t i = 0; i < p->n_providers; i++) {
		free(p->providers[i].text);
		free(p->providers[i].name);
	}
	free(p->providers);
	for (uint32_t i = 0; i < p->n_secrets; i++) {
		if (p->secrets[i].value) {
			explicit_bzero(p->secrets[i].value, p->secrets[i].len);
			free(p->secrets[i].value);
		}
	}
	free(p->secrets);
	sl_pv_free_outputs(&p->outputs);
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

		while (j > first && strcmp(errs->v[j - 1].file, e.file) == 0 &&
		       (errs->v[j - 1].line > e.line ||
			(errs->v[j - 1].line == e.line && errs->v[j - 1].column > e.column))) {
			errs->v[j] = errs->v[j - 1];
			j--;
		}
		errs->v[j] = e;
	}
}

/* validate root; errors appended since before (index first) make it fail */
static int load_tree(struct vctx *c, const struct ynode *root, struct sl_policy **out,
		     size_t before, size_t first)
{
	struct sl_policy *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->source = strdup(c->file);
	if (!p->source) {
		err = -ENOMEM;
		goto out;
	}
	p->settings.hold_timeout_s = SL_POLICY_HOLD_TIMEOUT_DEFAULT;
	p->settings.secret_min_len = SL_POLICY_SECRET_MIN_DEFAULT;
	p->settings.syslog = true;
	p->settings.audit_buffer = SL_POLICY_AUDIT_BUFFER_DEFAULT;
	p->settings.daemon_absent = SL_DAEMON_ABSENT_FREEZE;
	p->settings.daemon_grace_s = SL_POLICY_DAEMON_GRACE_DEFAULT;
	p->settings.on_audit_failure = SL_AUDIT_FAIL_FREEZE;
	p->settings.unreadable_suspicious = SL_ACT_FREEZE;
	p->settings.unreadable_otherwise = SL_ACT_ALERT;
	c->p = p;
	parse_root(c, root);
	if (c->err) {
		err = c->err;
		goto out;
	}
	/* errors of the tree builder (aliases, limits) count as well */
	if (c->errs->total > before) {
		sort_errors(c->errs, first);
		err = -EINVAL;
		goto out;
	}
	*out = SL_TAKE_PTR(p);
	err = 0;
out:
	sl_policy_free(p);
	return err;
}

int sl_policy_load_tree(const char *name, const struct ynode *root, struct sl_policy **out,
			struct sl_policy_errors *errs)
{
	struct vctx c = {.file = name ? name : "policy", .errs = errs};

	return load_tree(&c, root, out, errs->total, errs->n);
}

int sl_policy_load_buf(const char *name, const void *buf, size_t len, struct sl_policy **out,
		       struct sl_policy_errors *errs)
{
	struct vctx c = {.file = name ? name : "policy"};
	struct sl_policy_errors local;
	struct ynode *root = NULL;
	size_t before, first;
	int err;

	/* without a caller's list, still count errors to know there were some */
	sl_policy_errors_init(&local);
	c.errs = errs ? errs : &local;
	before = c.errs->total;
	first = c.errs->n;
	if (len > SL_POLICY_MAX_BYTES) {
		sl_pv_err(&c, NULL, "expected a policy of at most %u bytes, found %zu bytes",
			  SL_POLICY_MAX_BYTES, len);
		err = c.err ? c.err : -EINVAL;
		goto out;
	}
	err = sl_yaml_build(c.file, buf, len, c.errs, &root);
	if (err)
		goto out;
	err = load_tree(&c, root, out, before, first);
out:
	sl_ynode_free(root);
	sl_policy_errors_free(&local);
	return err;
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
	if (id == SL_ENV_FOREIGN)
		return "foreign";
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

uint64_t sl_policy_env_for_arg(const struct sl_policy *p, const char *path)
{
	uint64_t env = 0;

	for (uint32_t i = 0; p && path && i < p->n_envs; i++)
		for (uint32_t j = 0; j < p->envs[i].n_paths; j++)
			if (p->envs[i].paths[j].kind != SL_PATH_GLOB &&
			    sl_policy_glob_match(p->envs[i].paths[j].glob, path))
				env |= 1ULL << p->envs[i].id;
	return env;
}

uint64_t sl_policy_env_for_open(const struct sl_policy *p, const char *path, bool partial, bool cut)
{
	uint64_t env = 0;

	if (!partial)
		return sl_policy_env_for_path(p, path);
	for (uint32_t i = 0; cut && p && i < p->n_envs; i++)
		for (uint32_t j = 0; j < p->envs[i].n_paths; j++)
			if (p->envs[i].paths[j].kind == SL_PATH_GLOB &&
			    sl_glob_reaches_past_walk(p->envs[i].paths[j].glob))
				env |= 1ULL << p->envs[i].id;
	return env;
}

bool sl_policy_provider_match(const struct sl_policy *p, const char *name)
{
	for (uint32_t i = 0; p && name && i < p->n_providers; i++)
		if (sl_policy_host_match(&p->providers[i], name, NULL, 0, 0))
			return true;
	return false;
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
