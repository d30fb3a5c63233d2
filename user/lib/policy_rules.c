// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policy validation: patterns (keywords) and rules. docs/policy.md.
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
			sl_pv_err(c, at,
				  "expected at most %u distinct keywords in a policy, found more",
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
		if (!sl_pv_check_map(c, n, "a keyword mapping ({icase: TEXT} or {literal: TEXT})",
				     ks, SL_ARRAY_SIZE(ks)))
			return -1;
		lit = sl_pv_map_get(n, "literal");
		ic = sl_pv_map_get(n, "icase");
		if (!!lit + !!ic != 1) {
			sl_pv_err(
			    c, n,
			    "expected exactly one of 'literal' or 'icase' in a keyword, found %s",
			    lit ? "both" : "neither");
			return -1;
		}
		v = lit ? lit : ic;
		icase = !!ic;
		old = sl_pv_path_str(c, lit ? "literal" : "icase");
	} else {
		sl_pv_err(
		    c, n,
		    "expected a keyword (\"text\", {icase: \"text\"} or {literal: \"text\"}), "
		    "found %s",
		    FOUND(n));
		return -1;
	}
	if (sl_pv_get_str(c, v, "a keyword", SL_POLICY_KEYWORD_MIN, SL_POLICY_KEYWORD_MAX, true,
			  &s))
		idx = keyword_add(c, v, s, v->len, icase, channels);
	free(s);
	sl_pv_path_restore(c, old);
	return idx;
}

/* a list of keywords into one array of indices; false on error */
static bool parse_kw_list(struct vctx *c, const struct ynode *n, uint32_t channels, uint32_t **out,
			  uint32_t *nout, size_t *budget)
{
	uint32_t *v;
	bool ok = true;

	if (!sl_pv_want_list(c, n, "a list of keywords", SL_POLICY_MAX_PATTERN_KW))
		return false;
	v = calloc(n->n, sizeof(*v));
	if (!v) {
		c->err = -ENOMEM;
		return false;
	}
	*nout = 0;
	for (size_t i = 0; i < n->n; i++) {
		size_t old = sl_pv_path_idx(c, i);
		int k;

		if (n->kids[i]->type == YN_MAP && sl_pv_map_get(n->kids[i], "any")) {
			sl_pv_err(
			    c, n->kids[i],
			    "expected a keyword (groups {any: [...]} are allowed only in 'all'), "
			    "found a group");
			ok = false;
		} else if ((k = parse_keyword(c, n->kids[i], channels)) < 0) {
			ok = false;
		} else {
			v[(*nout)++] = (uint32_t)k;
		}
		sl_pv_path_restore(c, old);
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

	pt->loc = sl_pv_loc_of(n);
	if (!sl_pv_check_map(c, n, "a mapping (channel, all, any, none, description)", ks,
			     SL_ARRAY_SIZE(ks)))
		return;
	if ((ch = sl_pv_map_get(n, "channel"))) {
		old = sl_pv_path_str(c, "channel");
		if (ch->type == YN_SEQ && sl_pv_want_list(c, ch, "a list of channels", 2)) {
			channels = 0;
			for (size_t i = 0; i < ch->n; i++) {
				size_t o2 = sl_pv_path_idx(c, i);
				uint32_t cv;

				if (sl_pv_get_enum(c, ch->kids[i], sl_policy_chan_names, 2, &cv))
					channels |= SL_CHAN_BIT(cv);
				sl_pv_path_restore(c, o2);
			}
		} else if (ch->type != YN_SEQ) {
			uint32_t cv;

			if (sl_pv_get_enum(c, ch, sl_policy_chan_names, 2, &cv))
				channels = SL_CHAN_BIT(cv);
		}
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "description"))) {
		char *d = NULL;

		old = sl_pv_path_str(c, "description");
		sl_pv_get_str(c, v, "a description", 0, SL_POLICY_DESC_MAX, false, &d);
		free(d);
		sl_pv_path_restore(c, old);
	}
	pt->channels = channels;
	all = sl_pv_map_get(n, "all");
	any = sl_pv_map_get(n, "any");
	none = sl_pv_map_get(n, "none");
	if (!all && !any) {
		sl_pv_err(c, n, "expected 'all' or 'any' (or both) in a pattern, found %s",
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
		old = sl_pv_path_str(c, "all");
		if (!sl_pv_want_list(c, all, "a list of keywords and {any: [...]} groups",
				     SL_POLICY_MAX_PATTERN_KW)) {
			ok = false;
		} else {
			for (size_t i = 0; i < all->n; i++) {
				const struct ynode *it = all->kids[i];
				struct sl_policy_group *g = &pt->groups[pt->n_groups];
				size_t o2 = sl_pv_path_idx(c, i);
				int k;

				if (it->type == YN_MAP && sl_pv_map_get(it, "any")) {
					static const struct keyspec gks[] = {{"any", true, ""}};

					sl_pv_check_map(c, it, "a group mapping ({any: [...]})",
							gks, SL_ARRAY_SIZE(gks));
					sl_pv_path_str(c, "any");
					if (parse_kw_list(c, sl_pv_map_get(it, "any"), channels,
							  &g->kw, &g->n_kw, &budget))
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
						sl_pv_path_restore(c, o2);
						break;
					}
					g->kw[0] = (uint32_t)k;
					g->n_kw = 1;
					pt->n_groups++;
					budget++;
				} else {
					ok = false;
				}
				sl_pv_path_restore(c, o2);
			}
		}
		sl_pv_path_restore(c, old);
	}
	if (any) {
		struct sl_policy_group *g = &pt->groups[pt->n_groups];

		old = sl_pv_path_str(c, "any");
		if (parse_kw_list(c, any, channels, &g->kw, &g->n_kw, &budget))
			pt->n_groups++;
		else {
			free(g->kw);
			g->kw = NULL;
			ok = false;
		}
		sl_pv_path_restore(c, old);
	}
	if (none) {
		old = sl_pv_path_str(c, "none");
		if (!parse_kw_list(c, none, channels, &pt->none, &pt->n_none, &budget))
			ok = false;
		sl_pv_path_restore(c, old);
	}
	if (ok && ngroups > SL_POLICY_MAX_GROUPS)
		sl_pv_err(c, n,
			  "expected at most %u groups in a pattern (each 'all' item and 'any'), "
			  "found %zu",
			  SL_POLICY_MAX_GROUPS, ngroups);
	else if (ok && budget > SL_POLICY_MAX_PATTERN_KW)
		sl_pv_err(c, n, "expected at most %u keywords in a pattern, found %zu",
			  SL_POLICY_MAX_PATTERN_KW, budget);
}

void sl_pv_parse_patterns(struct vctx *c, const struct ynode *n)
{
	struct sl_policy *p = c->p;

	if (!sl_pv_check_named_map(c, n, "patterns", "pattern", SL_POLICY_MAX_PATTERNS))
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
		old = sl_pv_path_key(c, k->val, k->len);
		pt->name = strndup(k->val, k->len);
		p->n_patterns++;
		if (!pt->name)
			c->err = -ENOMEM;
		else
			parse_pattern(c, n->kids[i + 1], pt);
		sl_pv_path_restore(c, old);
	}
}

/* ---- rules ---- */

static int pattern_index(const struct sl_policy *p, const struct ynode *n)
{
	for (uint32_t i = 0; i < p->n_patterns; i++)
		if (sl_pv_scalar_eq(n, p->patterns[i].name))
			return (int)i;
	return -1;
}

static void rule_pattern_ref(struct vctx *c, const struct ynode *n, struct sl_policy_rule *r,
			     bool *ok)
{
	int idx;

	if (!sl_pv_want_type(c, n, YN_SCALAR, "a pattern name")) {
		*ok = false;
		return;
	}
	idx = pattern_index(c->p, n);
	if (idx < 0) {
		if (c->p->n_patterns == 0)
			sl_pv_err(
			    c, n,
			    "expected the name of a pattern defined under 'patterns', found %s "
			    "(the policy defines no patterns)",
			    FOUND(n));
		else
			sl_pv_err(
			    c, n,
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
	    {"taint", false, NULL},
	};
	const struct ynode *name, *ch, *pat, *tgt, *act, *v;
	bool ch_ok = false, act_ok = false, tgt_ok = false, pat_ok = true;
	size_t old;

	r->loc = sl_pv_loc_of(n);
	if (!sl_pv_check_map(c, n,
			     "a mapping (name, channel, pattern, target, action, monitor, taint, "
			     "description)",
			     ks, SL_ARRAY_SIZE(ks)))
		return;
	if ((name = sl_pv_map_get(n, "name"))) {
		old = sl_pv_path_str(c, "name");
		if (sl_pv_want_type(c, name, YN_SCALAR, "a rule name") &&
		    sl_pv_check_name(c, name)) {
			r->name = strndup(name->val, name->len);
			if (!r->name)
				c->err = -ENOMEM;
		}
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "description"))) {
		old = sl_pv_path_str(c, "description");
		sl_pv_get_str(c, v, "a description", 0, SL_POLICY_DESC_MAX, false, &r->description);
		sl_pv_path_restore(c, old);
	}
	if ((ch = sl_pv_map_get(n, "channel"))) {
		old = sl_pv_path_str(c, "channel");
		ch_ok = sl_pv_get_enum(c, ch, sl_policy_chan_names,
				       SL_ARRAY_SIZE(sl_policy_chan_names), &r->channel);
		sl_pv_path_restore(c, old);
	}
	if ((act = sl_pv_map_get(n, "action"))) {
		old = sl_pv_path_str(c, "action");
		act_ok = sl_pv_get_enum(c, act, sl_policy_action_names,
					SL_ARRAY_SIZE(sl_policy_action_names), &r->action);
		sl_pv_path_restore(c, old);
	}
	if ((tgt = sl_pv_map_get(n, "target"))) {
		uint32_t t;

		old = sl_pv_path_str(c, "target");
		if (tgt->type == YN_SEQ) {
			if (sl_pv_want_list(c, tgt, "a list of targets", 3)) {
				tgt_ok = true;
				for (size_t i = 0; i < tgt->n; i++) {
					size_t o2 = sl_pv_path_idx(c, i);

					if (sl_pv_get_enum(c, tgt->kids[i], sl_policy_target_names,
							   3, &t))
						r->target |= sl_policy_target_bits[t];
					else
						tgt_ok = false;
					sl_pv_path_restore(c, o2);
				}
			}
		} else if (sl_pv_get_enum(c, tgt, sl_policy_target_names,
					  SL_ARRAY_SIZE(sl_policy_target_names), &t)) {
			r->target = sl_policy_target_bits[t];
			tgt_ok = true;
		}
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "monitor"))) {
		old = sl_pv_path_str(c, "monitor");
		sl_pv_get_bool(c, v, &r->monitor);
		sl_pv_path_restore(c, old);
	}
	r->taint = true;
	if ((v = sl_pv_map_get(n, "taint"))) {
		old = sl_pv_path_str(c, "taint");
		if (sl_pv_get_bool(c, v, &r->taint) && !r->taint && ch_ok &&
		    (r->channel == SL_CHAN_CONNECT || r->channel == SL_CHAN_OPEN))
			sl_pv_err(
			    c, v,
			    "expected taint only on channels exec and tls (a connect or an open is "
			    "always judged on its destination or file alone), found 'false'");
		sl_pv_path_restore(c, old);
	}
	if ((pat = sl_pv_map_get(n, "pattern"))) {
		old = sl_pv_path_str(c, "pattern");
		if (ch_ok && (r->channel == SL_CHAN_CONNECT || r->channel == SL_CHAN_OPEN)) {
			sl_pv_err(
			    c, pat,
			    "expected no pattern for channel %s (patterns match exec argv and TLS "
			    "plaintext; %s rules match on the target only), found %s",
			    sl_policy_chan_names[r->channel], sl_policy_chan_names[r->channel],
			    FOUND(pat));
			pat_ok = false;
		} else if (pat->type == YN_SEQ) {
			if (sl_pv_want_list(c, pat, "a list of pattern names",
					    SL_POLICY_MAX_RULE_PATTERNS)) {
				r->patterns = calloc(pat->n, sizeof(*r->patterns));
				if (!r->patterns) {
					c->err = -ENOMEM;
					sl_pv_path_restore(c, old);
					return;
				}
				for (size_t i = 0; i < pat->n; i++) {
					size_t o2 = sl_pv_path_idx(c, i);

					rule_pattern_ref(c, pat->kids[i], r, &pat_ok);
					sl_pv_path_restore(c, o2);
				}
			} else {
				pat_ok = false;
			}
		} else {
			r->patterns = calloc(1, sizeof(*r->patterns));
			if (!r->patterns) {
				c->err = -ENOMEM;
				sl_pv_path_restore(c, old);
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
						o2 = sl_pv_path_idx(c, j);
						break;
					}
				}
				sl_pv_err(
				    c, at,
				    "expected a pattern for channel %s, found '%s' (a pattern for "
				    "channel %s)",
				    sl_policy_chan_names[r->channel], pt->name,
				    pt->channels & SL_CHAN_BIT(SL_CHAN_EXEC) ? "exec" : "tls");
				sl_pv_path_restore(c, o2);
			}
		}
		sl_pv_path_restore(c, old);
	}
	if (ch_ok && act_ok) {
		old = sl_pv_path_str(c, "action");
		if (r->action == SL_ACT_DENY && r->channel != SL_CHAN_CONNECT)
			sl_pv_err(
			    c, act,
			    "expected log, alert, freeze or kill for channel %s (deny refuses a "
			    "connect with EPERM and is for channel connect only), found 'deny'",
			    sl_policy_chan_names[r->channel]);
		else if ((r->action == SL_ACT_KILL || r->action == SL_ACT_FREEZE) &&
			 r->channel == SL_CHAN_CONNECT)
			sl_pv_err(
			    c, act,
			    "expected log, alert or deny for channel connect, found '%s' (use "
			    "deny to stop a connect)",
			    sl_policy_action_names[r->action]);
		else if (tgt_ok && pat_ok && r->n_patterns == 0 && r->target == SL_TARGET_ANY &&
			 r->action >= SL_ACT_DENY)
			sl_pv_err(
			    c, act,
			    "expected log or alert for a rule without pattern and with target any "
			    "(it would %s every %s in every session), found '%s'",
			    r->action == SL_ACT_DENY ? "refuse" : "stop",
			    sl_policy_chan_names[r->channel], sl_policy_action_names[r->action]);
		sl_pv_path_restore(c, old);
	}
}

void sl_pv_parse_rules(struct vctx *c, const struct ynode *n)
{
	struct sl_policy *p = c->p;

	if (!sl_pv_want_list(c, n, "a list of rules", SL_POLICY_MAX_RULES))
		return;
	p->rules = calloc(n->n, sizeof(*p->rules));
	if (!p->rules) {
		c->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n->n && !c->err; i++) {
		struct sl_policy_rule *r = &p->rules[p->n_rules++];
		size_t old = sl_pv_path_idx(c, i);

		parse_rule(c, n->kids[i], r);
		/* rule names are unique */
		if (r->name) {
			for (uint32_t j = 0; j + 1 < p->n_rules; j++) {
				if (p->rules[j].name && !strcmp(p->rules[j].name, r->name)) {
					const struct ynode *nn = sl_pv_map_get(n->kids[i], "name");
					size_t o2 = sl_pv_path_str(c, "name");

					sl_pv_err(
					    c, nn,
					    "expected each rule name once, found a duplicate of "
					    "rules[%u] (line %u)",
					    j, p->rules[j].loc.line);
					sl_pv_path_restore(c, o2);
					break;
				}
			}
		}
		sl_pv_path_restore(c, old);
	}
}
