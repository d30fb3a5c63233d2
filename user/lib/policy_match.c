// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Reference matcher for policy patterns: keyword substring search (exact or
 * ASCII case-insensitive) into a seen-set, then the pattern's AND of ORs and
 * its exclusions. The kernel does the same with a streaming automaton; this
 * is the model to test it against and for user-space evidence.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "scopelock_decide.h"
#include "util.h"

static bool contains(const uint8_t *h, size_t hl, const uint8_t *n, size_t nl, bool icase)
{
	if (nl == 0)
		return true;
	if (!icase)
		return memmem(h, hl, n, nl) != NULL;
	for (size_t i = 0; i + nl <= hl; i++) {
		size_t j = 0;

		/* the keyword is stored lowercased */
		while (j < nl && tolower(h[i + j]) == n[j])
			j++;
		if (j == nl)
			return true;
	}
	return false;
}

void sl_policy_keywords_scan(const struct sl_policy *p, uint32_t channel, const void *buf,
			     size_t len, uint64_t seen[SL_POLICY_KW_WORDS])
{
	for (uint32_t i = 0; i < p->n_keywords && i < SL_POLICY_MAX_KEYWORDS; i++) {
		const struct sl_policy_keyword *k = &p->keywords[i];

		if (channel < SL_CHAN_MAX && !(k->channels & SL_CHAN_BIT(channel)))
			continue;
		if (contains(buf, len, k->bytes, k->len, k->icase))
			seen[i / 64] |= 1ULL << (i % 64);
	}
}

static bool is_seen(const uint64_t seen[SL_POLICY_KW_WORDS], uint32_t i)
{
	return i < SL_POLICY_MAX_KEYWORDS && (seen[i / 64] >> (i % 64)) & 1;
}

bool sl_policy_pattern_eval(const struct sl_policy *p, uint32_t pattern,
			    const uint64_t seen[SL_POLICY_KW_WORDS])
{
	const struct sl_policy_pattern *pt;

	if (pattern >= p->n_patterns)
		return false;
	pt = &p->patterns[pattern];
	for (uint32_t g = 0; g < pt->n_groups; g++) {
		bool any = false;

		for (uint32_t k = 0; k < pt->groups[g].n_kw && !any; k++)
			any = is_seen(seen, pt->groups[g].kw[k]);
		if (!any)
			return false;
	}
	for (uint32_t k = 0; k < pt->n_none; k++)
		if (is_seen(seen, pt->none[k]))
			return false;
	return pt->n_groups > 0;
}

bool sl_policy_pattern_match(const struct sl_policy *p, uint32_t pattern, uint32_t channel,
			     const void *buf, size_t len)
{
	uint64_t seen[SL_POLICY_KW_WORDS] = {0};

	if (pattern >= p->n_patterns || channel >= SL_CHAN_MAX ||
	    !(p->patterns[pattern].channels & SL_CHAN_BIT(channel)))
		return false;
	sl_policy_keywords_scan(p, channel, buf, len, seen);
	return sl_policy_pattern_eval(p, pattern, seen);
}

int sl_policy_exec_subject(char *const argv[], char **out, size_t *len)
{
	size_t total = 0, o = 0;
	char *s;

	for (size_t i = 0; argv && argv[i]; i++)
		total += strlen(argv[i]) + 1;
	s = malloc(total + 1);
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; argv && argv[i]; i++) {
		size_t l = strlen(argv[i]);

		memcpy(s + o, argv[i], l);
		o += l;
		s[o++] = ' ';
	}
	s[o] = '\0';
	*out = s;
	*len = o;
	return 0;
}

/* some but not all groups of a pattern of channel seen, none excluded */
static bool pattern_partial(const struct sl_policy *p, uint32_t i,
			    const uint64_t seen[SL_POLICY_KW_WORDS])
{
	const struct sl_policy_pattern *pt = &p->patterns[i];
	uint32_t hits = 0;

	for (uint32_t k = 0; k < pt->n_none; k++)
		if (is_seen(seen, pt->none[k]))
			return false;
	for (uint32_t g = 0; g < pt->n_groups; g++) {
		bool any = false;

		for (uint32_t k = 0; k < pt->groups[g].n_kw && !any; k++)
			any = is_seen(seen, pt->groups[g].kw[k]);
		hits += any;
	}
	return hits && hits < pt->n_groups;
}

void sl_policy_decide(const struct sl_policy *p, uint32_t channel,
		      const uint64_t seen[SL_POLICY_KW_WORDS], uint64_t evidence_env,
		      uint64_t taint, uint32_t scope_env, bool session_monitor, bool unread,
		      struct sl_policy_decision *out)
{
	__u64 target = 0, ev_target = 0;
	uint32_t ev_class;
	bool no_taint = false;

	memset(out, 0, sizeof(*out));
	out->rule = -1;
	out->target_class = sl_decide_target(channel, evidence_env, taint, scope_env, &target);
	out->target_env = target;
	for (uint32_t i = 0; i < p->n_patterns && i < SL_POLICY_MAX_PATTERNS; i++) {
		if (channel >= SL_CHAN_MAX || !(p->patterns[i].channels & SL_CHAN_BIT(channel)))
			continue;
		if (sl_policy_pattern_eval(p, i, seen))
			out->patterns[i / 64] |= 1ULL << (i % 64);
		else if (pattern_partial(p, i, seen))
			out->partial = true;
	}
	ev_class = sl_decide_target(channel, evidence_env, 0, scope_env, &ev_target);
	for (uint32_t i = 0; i < p->n_rules && i < SL_POLICY_MAX_RULES; i++) {
		const struct sl_policy_rule *r = &p->rules[i];
		bool any = r->n_patterns == 0;

		if (r->channel != channel ||
		    !(r->target & (r->taint ? out->target_class : ev_class)))
			continue;
		for (uint32_t k = 0; k < r->n_patterns && !any; k++)
			any = r->patterns[k] < SL_POLICY_MAX_PATTERNS &&
			      (out->patterns[r->patterns[k] / 64] >> (r->patterns[k] % 64)) & 1;
		if (!any)
			continue;
		if (sl_decide_rule_wins(out->rule >= 0, out->action, out->monitor, r->action,
					r->effective_monitor)) {
			out->rule = (int32_t)i;
			out->action = r->action;
			out->monitor = r->effective_monitor;
			no_taint = !r->taint;
		}
	}
	if (unread) {
		bool mon = p->mode == SL_POLICY_MONITOR, seen = out->partial;
		int susp = 0;
		uint32_t act;

		for (size_t w = 0; w < SL_ARRAY_SIZE(out->patterns); w++)
			seen = seen || out->patterns[w];
		act = sl_decide_unreadable(out->target_class, taint, scope_env, seen,
					   p->settings.unreadable_suspicious,
					   p->settings.unreadable_otherwise, &susp);

		out->suspicious = susp;
		if (sl_decide_rule_wins(out->rule != -1, out->action, out->monitor, act, mon)) {
			out->rule = SL_POLICY_RULE_UNREADABLE;
			out->action = act;
			out->monitor = mon;
		}
	}
	/* the target the deciding rule was matched against */
	if (no_taint && out->rule >= 0) {
		out->target_class = ev_class;
		out->target_env = ev_target;
	}
	if (out->rule != -1 && session_monitor)
		out->monitor = true;
}
