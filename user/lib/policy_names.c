// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The names of the policy's values, one table each (the parser, the daemon's
 * records and the CLI all use these), and the proof that the user-side enums
 * and limits are the kernel's (include/scopelock_policy.h).
 */
#include "policy_internal.h"
#include "scopelock_policy.h"
#include "util.h"

/* one decision model: the user-space names of the kernel's values */
_Static_assert(SL_TARGET_IN_SCOPE == SL_KTGT_IN_SCOPE && SL_TARGET_OUTSIDE == SL_KTGT_OUTSIDE &&
		   SL_TARGET_UNKNOWN == SL_KTGT_UNKNOWN && SL_TARGET_FOREIGN == SL_KTGT_FOREIGN,
	       "target classes");
_Static_assert((int)SL_ACT_LOG == (int)SL_KACT_LOG && (int)SL_ACT_ALERT == (int)SL_KACT_ALERT &&
		   (int)SL_ACT_DENY == (int)SL_KACT_DENY &&
		   (int)SL_ACT_FREEZE == (int)SL_KACT_FREEZE &&
		   (int)SL_ACT_KILL == (int)SL_KACT_KILL && (int)SL_ACT_MAX == (int)SL_KACT_MAX,
	       "actions");
_Static_assert((int)SL_CHAN_EXEC == (int)SL_KCH_EXEC && (int)SL_CHAN_TLS == (int)SL_KCH_TLS &&
		   (int)SL_CHAN_CONNECT == (int)SL_KCH_CONNECT &&
		   (int)SL_CHAN_OPEN == (int)SL_KCH_OPEN && (int)SL_CHAN_MAX == (int)SL_KCH_MAX,
	       "channels");
/* the parser's limits are the sizes of the kernel's tables */
_Static_assert(SL_POLICY_MAX_ENVS == SL_ENV_MAX - 1 && SL_ENV_FOREIGN == SL_ENV_MAX,
	       "environments (the last id is foreign)");
_Static_assert(SL_POLICY_MAX_PATTERNS == SL_PAT_MAX, "patterns");
_Static_assert(SL_POLICY_MAX_RULES == SL_RULE_MAX, "rules");
_Static_assert(SL_POLICY_MAX_KEYWORDS == SL_KW_MAX, "keywords");
_Static_assert(SL_POLICY_MAX_GROUPS == SL_PAT_GROUPS_MAX, "pattern groups");
_Static_assert(SL_POLICY_KW_WORDS == SL_KW_WORDS, "keyword sets");

const char *const sl_policy_mode_names[SL_POLICY_MONITOR + 1] = {
    [SL_POLICY_ENFORCE] = "enforce",
    [SL_POLICY_MONITOR] = "monitor",
};

const char *const sl_policy_chan_names[SL_CHAN_MAX] = {
    [SL_CHAN_EXEC] = "exec",
    [SL_CHAN_TLS] = "tls",
    [SL_CHAN_CONNECT] = "connect",
    [SL_CHAN_OPEN] = "open",
};

const char *const sl_policy_action_names[SL_ACT_MAX] = {
    [SL_ACT_LOG] = "log",	[SL_ACT_ALERT] = "alert", [SL_ACT_DENY] = "deny",
    [SL_ACT_FREEZE] = "freeze", [SL_ACT_KILL] = "kill",
};

const char *const sl_policy_target_names[SL_POLICY_TARGET_NAMES] = {"in_scope", "outside_scope",
								    "unknown", "foreign", "any"};
const uint32_t sl_policy_target_bits[SL_POLICY_TARGET_NAMES] = {
    SL_TARGET_IN_SCOPE, SL_TARGET_OUTSIDE, SL_TARGET_UNKNOWN, SL_TARGET_FOREIGN, SL_TARGET_ANY};

const char *sl_policy_mode_name(uint32_t mode)
{
	return mode < SL_ARRAY_SIZE(sl_policy_mode_names) ? sl_policy_mode_names[mode] : "?";
}

const char *sl_policy_channel_name(uint32_t chan)
{
	return chan < SL_ARRAY_SIZE(sl_policy_chan_names) ? sl_policy_chan_names[chan] : "?";
}

const char *sl_policy_action_name(uint32_t action)
{
	return action < SL_ARRAY_SIZE(sl_policy_action_names) ? sl_policy_action_names[action]
							      : "?";
}

const char *sl_policy_target_class_name(uint32_t cls)
{
	/* one class: not "any" */
	for (size_t i = 0; i + 1 < SL_POLICY_TARGET_NAMES; i++)
		if (sl_policy_target_bits[i] == cls)
			return sl_policy_target_names[i];
	return "?";
}
