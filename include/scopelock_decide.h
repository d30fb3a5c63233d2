/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The decision model, written once for both sides: the BPF programs
 * (bpf/match.bpf.h) and user space (the daemon, the reference matcher of
 * user/lib/policy.h and the unit tests) include this header. Pure functions
 * over fixed-width values: no maps, no helpers, no allocation.
 *
 * Target of an action. An action's evidence names environments (labels of
 * the credentials, resource ids, hosts and addresses it carries, of its
 * working directory and path arguments); the session's taint names the
 * environments whose labelled files the session read. The target is their
 * union, minus nothing: evidence of the session's own scope never clears
 * evidence of another environment.
 *
 *	target = evidence | (taint & ~scope)        exec and TLS (actions)
 *	target = evidence                           connect and open
 *
 *	UNKNOWN   target is empty: no label says where the action goes
 *	IN_SCOPE  target is exactly the session's scope
 *	OUTSIDE   target names any other labelled environment
 *	FOREIGN   target names foreign (SL_ENV_FOREIGN: a credential found
 *	          outside anything of the session's) and nothing outside
 *	          besides it
 *
 * The scope's own bit in the taint is left out: a session that read its own
 * workspace has learnt nothing about where an action goes, so an action
 * with no evidence stays UNKNOWN there. A connect or an open is judged on
 * its destination or file alone: it carries no data of what the session
 * read (the data goes out through TLS writes and exec arguments, which the
 * taint follows).
 *
 * Unreadable evidence. When the kernel could not read all of an action's
 * evidence (argv or plaintext past the scan limit, a page that faulted, a
 * path it could not resolve), what it did not read is not "nothing": the
 * policy's settings.unreadable gives an action, the stronger one when the
 * action is suspicious (its target is outside the scope, the session is
 * tainted with another environment, or a pattern of the channel matched
 * wholly or in part: the evidence that would name the target may be in what
 * was not read). That action competes with the rules like one more rule (of the policy's mode:
 * monitor when the policy is).
 *
 * Rule precedence. Of the rules that match (channel, target class, any of
 * their patterns), the deciding one is the strongest enforcing rule; a
 * monitor rule decides only when no enforcing rule matched (a rule on trial
 * never weakens one in force); between equals the first in policy order.
 */
#ifndef SCOPELOCK_DECIDE_H
#define SCOPELOCK_DECIDE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "scopelock_policy.h"

/* the environment bit of id (1..SL_ENV_MAX), 0 for anything else */
static inline __u64 sl_decide_env_bit(__u32 id)
{
	return id && id <= SL_ENV_MAX ? 1ULL << id : 0;
}

/* does the taint take part in the target of an action on channel? */
static inline int sl_decide_taint_counts(__u32 channel)
{
	return channel == SL_KCH_EXEC || channel == SL_KCH_TLS;
}

/*
 * Target class (one SL_KTGT_* bit) of an action on channel with evidence
 * environments evidence, in a session of scope scope_env with taint taint.
 * *target: the environment set the class was computed from.
 */
static inline __u32 sl_decide_target(__u32 channel, __u64 evidence, __u64 taint, __u32 scope_env,
				     __u64 *target)
{
	__u64 scope = sl_decide_env_bit(scope_env);
	__u64 env = evidence;

	if (sl_decide_taint_counts(channel))
		env |= taint & ~scope;
	*target = env;
	if (!env)
		return SL_KTGT_UNKNOWN;
	if (env & ~scope & ~(1ULL << SL_ENV_FOREIGN))
		return SL_KTGT_OUTSIDE;
	if (env & (1ULL << SL_ENV_FOREIGN))
		return SL_KTGT_FOREIGN;
	return SL_KTGT_IN_SCOPE;
}

/*
 * Does a matching rule (action, monitor) take the decision from the one
 * chosen so far (have: one was chosen; cur_action, cur_monitor)? Rules are
 * offered in policy order.
 */
static inline int sl_decide_rule_wins(int have, __u32 cur_action, __u32 cur_monitor, __u32 action,
				      __u32 monitor)
{
	if (!have)
		return 1;
	if (cur_monitor && !monitor)
		return 1;
	return cur_monitor == monitor && action > cur_action;
}

/*
 * The action settings.unreadable gives an action whose evidence was not read
 * whole; pattern_seen: a pattern of the channel matched wholly or partly;
 * *suspicious: the stronger one applies (see above).
 */
static inline __u32 sl_decide_unreadable(__u32 target_class, __u64 taint, __u32 scope_env,
					 int pattern_seen, __u32 act_suspicious,
					 __u32 act_otherwise, int *suspicious)
{
	*suspicious = target_class == SL_KTGT_OUTSIDE || target_class == SL_KTGT_FOREIGN ||
		      (taint & ~sl_decide_env_bit(scope_env)) != 0 || pattern_seen;
	return *suspicious ? act_suspicious : act_otherwise;
}

/*
 * The action an enforcing decision takes on a write captured by a function
 * located without symbols that live traffic has not confirmed yet
 * (SL_EVF_UNCONFIRMED): a kill is a hold for a person, so that a wrong guess
 * never kills; any other action as decided.
 */
static inline __u32 sl_decide_unconfirmed(__u32 action)
{
	return action == SL_KACT_KILL ? SL_KACT_FREEZE : action;
}

#endif /* SCOPELOCK_DECIDE_H */
