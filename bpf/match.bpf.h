/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * In-kernel policy matcher: keyword automaton walk, pattern and rule
 * evaluation, target class, acting on a verdict and reporting it. Shared by
 * every program that decides verdicts (tls.bpf.c, exec.bpf.c). The tables are
 * the compiled-policy maps of policy.bpf.h (include/scopelock_policy.h).
 *
 * A decision, in order (one struct sl_match per CPU holds it):
 *
 *	struct sl_match *m = sl_match_begin(SL_KCH_TLS);   NULL: no policy
 *	(optionally seed m->kw / m->env with state kept from earlier calls)
 *	sl_match_scan(m, &cs, &ci, value, sizeof(*value), off, len);
 *	m->env |= <env of other evidence: destination, path...>;
 *	if (sl_match_decide(m, session)) {          a rule matched
 *		flags = sl_verdict_act(m, session);  signal first...
 *		<emit the capture record>
 *		sl_verdict_emit(m, session, cgid, trigger_op, conn, flags);
 *	}
 *
 * Cost: sl_match_scan is one bpf_loop iteration and one or two array lookups
 * per byte; sl_match_decide two bpf_loop runs (patterns <= SL_PAT_MAX, rules
 * <= SL_RULE_MAX). All big state lives in the per-CPU sl_match map; a caller
 * needs about 100 bytes of stack for the walk context.
 *
 * Policy reload: m->slot and m->generation say which tables the decision used.
 * State a caller keeps between calls (DFA states, keyword sets) must carry
 * m->generation and restart from zero / the root when it differs.
 */
#ifndef SCOPELOCK_MATCH_BPF_H
#define SCOPELOCK_MATCH_BPF_H

#include "common.bpf.h"
#include "policy.bpf.h"
#include "scopelock_decide.h"

/* signal numbers (asm-generic, x86, arm64) */
#define SL_SIGKILL 9

/* one decision in progress (per CPU: too big for the stack) */
struct sl_match {
	/* inputs and scan results */
	__u64 kw[SL_KW_WORDS]; /* keywords seen (scan ORs into it) */
	__u64 env;	       /* environments named by the evidence */
	/* sl_match_decide */
	__u64 patterns[SL_PAT_WORDS]; /* patterns matched */
	__u64 target_env;	      /* env and the taint that counts (scopelock_decide.h) */
	__u64 taint;		      /* session taint at the time */
	__u32 target_class;	      /* SL_KTGT_* (one bit) */
	__u32 rule;		      /* deciding rule */
	__u32 action;		      /* enum sl_kaction of that rule */
	__u32 monitor;		      /* 1: decided by a monitor rule, or session in monitor mode */
	/* sl_match_begin */
	__u32 slot;
	__u32 generation;
	__u32 channel;
	__u32 n_patterns;
	__u32 n_rules;
	__u32 cs_on; /* the DFA has states */
	__u32 ci_on;
	/* evidence not read whole (SL_UNREAD_*): set by the caller before deciding */
	__u32 unread;
	__u32 partial;		 /* sl_match_decide: a pattern of the channel partly matched */
	__u32 unread_suspicious; /* settings.unreadable of the policy in force */
	__u32 unread_otherwise;
	__u32 vflags;	      /* sl_match_decide: SL_VERDICT_SUSPICIOUS, _PARTIAL, _DOOMED */
	__u32 mode;	      /* of the policy in force: 1 monitor */
	__u32 n_path_labels;  /* of the policy in force */
	__u32 n_programs;     /* of the policy in force */
	__u32 glob_states;    /* of the policy in force: wildcard path globs (0: none) */
	__u64 glob_trunc_env; /* of the policy in force: labels of a path not walked whole */
	/* the target from the evidence alone, for rules with taint: false */
	__u64 env_ev;
	__u32 class_ev;
	__u32 rule_no_taint; /* the deciding rule is such a rule */
	/* sl_match_program: words of the program a file may be a copy of */
	__u64 hypo[SL_KW_WORDS];
	__u64 file_ino; /* the file whose contents would decide */
	__u32 file_dev;
	__s32 file_fd;
	struct sl_verdict_event ev; /* built by sl_verdict_emit */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_match);
} sl_match_buf SEC(".maps") __weak;

/*
 * The policy in force: its slot and generation. Returns its header, or NULL
 * when no policy is loaded (generation 0): then nothing is decided.
 */
static __always_inline const struct sl_kpolicy_hdr *sl_policy_slot(__u32 *slot, __u32 *generation)
{
	const struct sl_policy_active *a;
	const struct sl_kpolicy_hdr *h;
	__u32 zero = 0, s;

	a = bpf_map_lookup_elem(&sl_policy_active, &zero);
	if (!a || !a->generation)
		return NULL;
	s = a->slot & 1;
	h = bpf_map_lookup_elem(&sl_policy_hdr, &s);
	if (!h)
		return NULL;
	*slot = s;
	*generation = a->generation;
	return h;
}

/*
 * Start a decision for channel: the per-CPU sl_match with kw, env and the
 * results cleared, slot and table sizes of the policy in force. NULL when no
 * policy is loaded (or the scratch map is missing).
 */
static __always_inline struct sl_match *sl_match_begin(__u32 channel)
{
	const struct sl_kpolicy_hdr *h;
	struct sl_match *m;
	__u32 zero = 0, slot = 0, gen = 0;

	h = sl_policy_slot(&slot, &gen);
	if (!h)
		return NULL;
	m = bpf_map_lookup_elem(&sl_match_buf, &zero);
	if (!m)
		return NULL;
	__builtin_memset(m, 0, offsetof(struct sl_match, ev));
	m->slot = slot;
	m->generation = gen;
	m->channel = channel;
	m->n_patterns = h->n_patterns < SL_PAT_MAX ? h->n_patterns : SL_PAT_MAX;
	m->n_rules = h->n_rules < SL_RULE_MAX ? h->n_rules : SL_RULE_MAX;
	m->cs_on = h->cs_states != 0;
	m->ci_on = h->ci_states != 0;
	m->unread_suspicious = h->unread_suspicious;
	m->unread_otherwise = h->unread_otherwise;
	m->mode = h->mode;
	m->n_path_labels = h->n_path_labels;
	m->n_programs = h->n_programs;
	m->glob_states = h->glob_states;
	m->glob_trunc_env = h->glob_trunc_env;
	m->file_fd = -1;
	return m;
}

/* ---- keyword automaton ---- */

/* the walk context of sl_match_scan (bpf_loop wants it on the stack) */
struct sl_scan_ctx {
	const __u8 *value; /* start of a map value */
	__u64 cap;	   /* bytes of that value (compile-time constant) */
	__u64 off;	   /* first byte */
	__u64 end;	   /* past the last byte, <= cap */
	__u64 kw[SL_KW_WORDS];
	__u64 env;
	__u32 cs_base; /* sl_ac index of the DFA's state 0 */
	__u32 ci_base;
	__u32 cs; /* current states */
	__u32 ci;
};

/*
 * One DFA moves on byte b from *state; the outputs of the state it leaves
 * are ORed into the context (most states have none: one test). Returns 0,
 * or 1 when the state is missing (a corrupt table: stop).
 */
static __always_inline int sl_scan_step(struct sl_scan_ctx *c, __u32 base, __u32 *state, __u8 b)
{
	const struct sl_ac_state *st;
	__u32 idx = base + (*state & (SL_AC_MAX_STATES - 1));

	st = bpf_map_lookup_elem(&sl_ac, &idx);
	if (!st)
		return 1;
	if (st->kw[0] | st->kw[1] | st->kw[2] | st->kw[3] | st->env) {
		c->kw[0] |= st->kw[0];
		c->kw[1] |= st->kw[1];
		c->kw[2] |= st->kw[2];
		c->kw[3] |= st->kw[3];
		c->env |= st->env;
	}
	*state = st->next[b];
	return 0;
}

/* ASCII lowercase without a branch: 0x20 is added to 'A'..'Z' only */
static __always_inline __u8 sl_ascii_lower(__u8 b)
{
	__u32 x = b;

	return (__u8)(x | ((((x + 63) & ~(x + 37)) & 0x80) >> 2));
}

/* NUL as a space, other bytes unchanged; without a branch: a branch per byte
 * would split the verifier's states (a known ' ' against an unknown byte) */
static __always_inline __u8 sl_nul_space(__u8 b, __u32 sp_bit)
{
	__u32 x = b;

	return (__u8)(x | (((x - 1) >> 31) * sp_bit));
}

/*
 * Bytes per bpf_loop iteration: fewer callback calls and bound checks per
 * byte, at the price of verifier work (a stride is unrolled). The capture
 * buffer walk is the hot one; the user-memory walk only runs past it.
 */
#define SL_SCAN_STRIDE 16
#define SL_SCAN_USER_STRIDE 4

/*
 * Bytes off + i * STRIDE ...: each DFA in use moves on one byte at a time
 * (ci on the ASCII-lowercased byte). The position is derived from i, never
 * stored: a counter kept in the context would be a different constant at
 * every iteration and the verifier could not prune the loop. A full stride
 * is walked with one bound check, the last partial one byte by byte.
 */
static __always_inline long sl_scan_stride(struct sl_scan_ctx *c, __u64 i, const int stride,
					   const int use_cs, const int use_ci, const __u32 sp_bit)
{
	__u64 pos = c->off + i * stride;
	__u32 cs = c->cs, ci = c->ci;
	long ret = 0;
	__u8 b;

	if (pos >= c->end || pos >= c->cap)
		return 1;
	if (pos <= c->cap - stride && pos + stride <= c->end) {
#pragma unroll
		for (int k = 0; k < stride; k++) {
			b = sl_nul_space(c->value[pos + k], sp_bit);
			if (use_cs && sl_scan_step(c, c->cs_base, &cs, b))
				return 1;
			if (use_ci && sl_scan_step(c, c->ci_base, &ci, sl_ascii_lower(b)))
				return 1;
		}
	} else {
		for (int k = 0; k < stride; k++, pos++) {
			if (pos >= c->end || pos >= c->cap) {
				ret = 1;
				break;
			}
			b = sl_nul_space(c->value[pos], sp_bit);
			if (use_cs && sl_scan_step(c, c->cs_base, &cs, b))
				return 1;
			if (use_ci && sl_scan_step(c, c->ci_base, &ci, sl_ascii_lower(b)))
				return 1;
		}
	}
	c->cs = cs;
	c->ci = ci;
	return ret;
}

/* one callback per combination: the verifier sees constant branches */
#define SL_SCAN_CB(name, cs, ci, sp)                                                               \
	static long name(__u64 i, void *arg)                                                       \
	{                                                                                          \
		return sl_scan_stride(arg, i, SL_SCAN_STRIDE, cs, ci, sp);                         \
	}
SL_SCAN_CB(sl_scan_cb_both, 1, 1, 0)
SL_SCAN_CB(sl_scan_cb_cs, 1, 0, 0)
SL_SCAN_CB(sl_scan_cb_ci, 0, 1, 0)
/* NUL bytes read as spaces: an argv copy is walked as "arg0 arg1 ... " */
SL_SCAN_CB(sl_scan_cb_both_sp, 1, 1, 0x20)
SL_SCAN_CB(sl_scan_cb_cs_sp, 1, 0, 0x20)
SL_SCAN_CB(sl_scan_cb_ci_sp, 0, 1, 0x20)

/* OR the outputs of the state reached after the last byte */
static __always_inline void sl_scan_final(struct sl_scan_ctx *c, __u32 base, __u32 state)
{
	__u32 s = state;

	sl_scan_step(c, base, &s, 0);
}

/*
 * Walk len bytes at value + off through both DFAs of the policy in force,
 * starting from *cs / *ci (0 = root; both updated), ORing keyword bits into
 * m->kw and environment bits into m->env. value must be the start of a map
 * value of value_size bytes (pass sizeof(*value): the verifier checks every
 * read against it); bytes past value_size are not walked. nul_sp (a
 * constant): NUL bytes are walked as spaces (argv and environment blocks).
 * Returns the number of bytes walked.
 */
static __always_inline __u64 sl_match_scan(struct sl_match *m, __u16 *cs, __u16 *ci,
					   const void *value, __u64 value_size, __u64 off,
					   __u64 len, const bool nul_sp)
{
	struct sl_scan_ctx c = {
	    .value = value,
	    .cap = value_size,
	    .off = off,
	    .end = off + len,
	    .cs_base = (m->slot & 1) * 2 * SL_AC_MAX_STATES,
	    .ci_base = ((m->slot & 1) * 2 + 1) * SL_AC_MAX_STATES,
	    .cs = *cs,
	    .ci = *ci,
	};
	__u64 n, loops;

	if (off >= value_size || !len)
		return 0;
	if (c.end > value_size)
		c.end = value_size;
	n = c.end - off;
	/*
	 * bpf_loop takes a u32 count, so clang may leave garbage in the upper
	 * half of the register, but the kernel's inlined bpf_loop compares all
	 * 64 bits with BPF_MAX_LOOPS (-E2BIG): materialise the exact value.
	 */
	loops = (n + SL_SCAN_STRIDE - 1) / SL_SCAN_STRIDE;
	barrier_var(loops);
	if (m->cs_on && m->ci_on)
		bpf_loop(loops, nul_sp ? sl_scan_cb_both_sp : sl_scan_cb_both, &c, 0);
	else if (m->cs_on)
		bpf_loop(loops, nul_sp ? sl_scan_cb_cs_sp : sl_scan_cb_cs, &c, 0);
	else if (m->ci_on)
		bpf_loop(loops, nul_sp ? sl_scan_cb_ci_sp : sl_scan_cb_ci, &c, 0);
	if (m->cs_on)
		sl_scan_final(&c, c.cs_base, c.cs);
	if (m->ci_on)
		sl_scan_final(&c, c.ci_base, c.ci);
	m->kw[0] |= c.kw[0];
	m->kw[1] |= c.kw[1];
	m->kw[2] |= c.kw[2];
	m->kw[3] |= c.kw[3];
	m->env |= c.env;
	*cs = c.cs & (SL_AC_MAX_STATES - 1);
	*ci = c.ci & (SL_AC_MAX_STATES - 1);
	return n;
}

/*
 * User memory: walked from a per-CPU chunk buffer refilled every
 * SL_MATCH_CHUNK bytes, in one bpf_loop (a nested bpf_loop would multiply
 * the verifier's work).
 */
#define SL_MATCH_CHUNK 16384

struct sl_match_chunk {
	__u8 data[SL_MATCH_CHUNK];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_match_chunk);
} sl_match_chunks SEC(".maps") __weak;

struct sl_scan_user_ctx {
	struct sl_scan_ctx scan; /* over the chunk buffer */
	__u64 ubuf;		 /* user address of the first byte */
	__u64 len;
	__u32 cs_on;
	__u32 ci_on;
	__s32 err;
	__u32 sp_bit; /* 0x20: NUL bytes read as spaces, else 0 */
};

#define SL_MATCH_CHUNK_STRIDES (SL_MATCH_CHUNK / SL_SCAN_USER_STRIDE)

/* refill the chunk buffer at the start of each chunk; 1: stop */
static __always_inline long sl_scan_user_refill(struct sl_scan_user_ctx *u, __u64 i, __u64 j)
{
	__u64 at = i * SL_SCAN_USER_STRIDE, n;

	if (j)
		return 0;
	if (at >= u->len)
		return 1;
	n = u->len - at;
	if (n > SL_MATCH_CHUNK)
		n = SL_MATCH_CHUNK;
	/* keep the bound visible to the verifier */
	asm volatile("%[n] &= %[mask]" : [n] "+r"(n) : [mask] "i"(2 * SL_MATCH_CHUNK - 1));
	if (!n || n > SL_MATCH_CHUNK)
		return 1;
	if (bpf_probe_read_user((void *)u->scan.value, n, (const void *)(u->ubuf + at))) {
		u->err = -1;
		return 1;
	}
	/* not n: a bounded value kept in the context would stop the verifier
	 * from pruning the loop (the cap check bounds reads) */
	u->scan.end = u->len - at;
	return 0;
}

/*
 * One callback for every combination (a callback is verified at each
 * bpf_loop call: fewer of them keep the programs small); which DFAs walk
 * and whether NULs read as spaces are runtime flags here.
 */
static long sl_scan_user_cb(__u64 i, void *arg)
{
	struct sl_scan_user_ctx *u = arg;
	__u64 j = i % SL_MATCH_CHUNK_STRIDES;

	if (sl_scan_user_refill(u, i, j))
		return 1;
	return sl_scan_stride(&u->scan, j, SL_SCAN_USER_STRIDE, u->cs_on, u->ci_on, u->sp_bit);
}

/*
 * sl_match_scan over len bytes of the current task's memory at ubuf (for
 * data past a capture buffer; nul_sp: NUL bytes read as spaces). Returns the
 * bytes walked, or -1 when a read faulted (the bytes before it were walked).
 */
static __always_inline long sl_match_scan_user(struct sl_match *m, __u16 *cs, __u16 *ci, __u64 ubuf,
					       __u64 len, const bool nul_sp)
{
	struct sl_scan_user_ctx u = {
	    .scan =
		{
		    .cap = SL_MATCH_CHUNK,
		    .cs_base = (m->slot & 1) * 2 * SL_AC_MAX_STATES,
		    .ci_base = ((m->slot & 1) * 2 + 1) * SL_AC_MAX_STATES,
		    .cs = *cs,
		    .ci = *ci,
		},
	    .ubuf = ubuf,
	    .len = len,
	    .cs_on = m->cs_on,
	    .ci_on = m->ci_on,
	    .sp_bit = nul_sp ? 0x20 : 0,
	};
	__u32 zero = 0;
	__u64 loops;

	u.scan.value = bpf_map_lookup_elem(&sl_match_chunks, &zero);
	if (!u.scan.value || !len || (!m->cs_on && !m->ci_on))
		return 0;
	loops = (len + SL_SCAN_USER_STRIDE - 1) / SL_SCAN_USER_STRIDE;
	barrier_var(loops);
	bpf_loop(loops, sl_scan_user_cb, &u, 0);
	if (m->cs_on)
		sl_scan_final(&u.scan, u.scan.cs_base, u.scan.cs);
	if (m->ci_on)
		sl_scan_final(&u.scan, u.scan.ci_base, u.scan.ci);
	m->kw[0] |= u.scan.kw[0];
	m->kw[1] |= u.scan.kw[1];
	m->kw[2] |= u.scan.kw[2];
	m->kw[3] |= u.scan.kw[3];
	m->env |= u.scan.env;
	*cs = u.scan.cs & (SL_AC_MAX_STATES - 1);
	*ci = u.scan.ci & (SL_AC_MAX_STATES - 1);
	return u.err ? -1 : (long)len;
}

/* ---- patterns, target, rules ---- */

struct sl_eval_ctx {
	struct sl_match *m;
};

static __always_inline int sl_kw_any(const __u64 *a, const __u64 *kw)
{
	return ((a[0] & kw[0]) | (a[1] & kw[1]) | (a[2] & kw[2]) | (a[3] & kw[3])) != 0;
}

/* 1 when a keyword of a was seen, else 0, without a branch (counting with a
 * branch per group would split the verifier's states 2^groups ways) */
static __always_inline __u32 sl_kw_hit(const __u64 *a, const __u64 *kw)
{
	__u64 x = (a[0] & kw[0]) | (a[1] & kw[1]) | (a[2] & kw[2]) | (a[3] & kw[3]);

	return (__u32)((x | -x) >> 63);
}

static long sl_pattern_cb(__u64 i, void *arg)
{
	struct sl_match *m = ((struct sl_eval_ctx *)arg)->m;
	const struct sl_kpattern *p;
	__u32 idx, n, used, got = 0;

	if (i >= m->n_patterns || i >= SL_PAT_MAX)
		return 1;
	idx = m->slot * SL_PAT_MAX + (__u32)i;
	p = bpf_map_lookup_elem(&sl_patterns, &idx);
	if (!p)
		return 1;
	if (!(p->channels & (1U << (m->channel & 31))) || sl_kw_any(p->none, m->kw))
		return 0;
	/*
	 * Every group, without a branch (a branch per group would split the
	 * verifier's states): bit g of got says group g was seen.
	 */
	n = p->n_groups & 31;
	used = ((1U << n) - 1) & ((1U << SL_PAT_GROUPS_MAX) - 1);
#pragma unroll
	for (int g = 0; g < SL_PAT_GROUPS_MAX; g++)
		got |= sl_kw_hit(p->groups[g], m->kw) << g;
	got &= used;
	if (used && got == used)
		m->patterns[(i / 64) & (SL_PAT_WORDS - 1)] |= 1ULL << (i % 64);
	else if (got)
		m->partial = 1; /* some groups seen: the rest may be in what was not read */
	return 0;
}

static long sl_rule_cb(__u64 i, void *arg)
{
	struct sl_match *m = ((struct sl_eval_ctx *)arg)->m;
	const struct sl_krule *r;
	__u32 idx, mon;

	if (i >= m->n_rules || i >= SL_RULE_MAX)
		return 1;
	idx = m->slot * SL_RULE_MAX + (__u32)i;
	r = bpf_map_lookup_elem(&sl_rules, &idx);
	if (!r)
		return 1;
	/* taint: false: the target from the action's own evidence */
	if (r->channel != m->channel ||
	    !(r->target & ((r->flags & SL_KRULE_NO_TAINT) ? m->class_ev : m->target_class)))
		return 0;
	if ((r->patterns[0] | r->patterns[1]) &&
	    !((r->patterns[0] & m->patterns[0]) | (r->patterns[1] & m->patterns[1])))
		return 0;
	mon = (r->flags & SL_KRULE_MONITOR) ? 1 : 0;
	/* precedence: include/scopelock_decide.h */
	if (sl_decide_rule_wins(m->rule != (__u32)-1, m->action, m->monitor, r->action, mon)) {
		m->rule = (__u32)i;
		m->action = r->action;
		m->monitor = mon;
		m->rule_no_taint = (r->flags & SL_KRULE_NO_TAINT) ? 1 : 0;
	}
	return 0;
}

/*
 * Evidence that could not be read whole (m->unread, set by the caller: argv
 * or plaintext past the scan limit, a buffer that faulted, a path that could
 * not be resolved) is not "nothing": settings.unreadable decides, with the
 * stronger action when the action is suspicious: its target is outside the
 * scope, the session is tainted with another environment, or a pattern of
 * the channel partly matched (the rest may be in what was not read). It
 * takes the decision when no rule matched, or when it is stronger than the
 * rule that did (sl_decide_rule_wins).
 */
static __always_inline void sl_match_unreadable(struct sl_match *m, const struct sl_session_info *s)
{
	__u32 act, mon = m->mode ? 1 : 0;
	int susp = 0;

	if (!m->unread)
		return;
	act = sl_decide_unreadable(m->target_class, s->taint, s->scope_env,
				   m->partial || m->patterns[0] || m->patterns[1],
				   m->unread_suspicious, m->unread_otherwise, &susp);
	if (susp)
		m->vflags |= SL_VERDICT_SUSPICIOUS;
	if (sl_decide_rule_wins(m->rule != (__u32)-1, m->action, m->monitor, act, mon)) {
		m->rule = SL_RULE_UNREADABLE;
		m->action = act;
		m->monitor = mon;
	}
}

/*
 * Patterns matched by m->kw, the target class of m->env in session s, and the
 * deciding rule of m->channel (then unreadable evidence: above). Returns 1
 * when a decision was taken (m->rule, m->action, m->monitor set), 0
 * otherwise. A session in monitor mode (SL_SESSION_MONITOR) only ever gets
 * monitor verdicts.
 */
static __always_inline int sl_match_decide(struct sl_match *m, const struct sl_session_info *s)
{
	struct sl_eval_ctx c = {.m = m};

	/* a decode marker is no environment (scopelock_policy.h) */
	m->env &= ~SL_AC_ENV_DECODE;
	m->patterns[0] = 0;
	m->patterns[1] = 0;
	m->rule = (__u32)-1;
	m->action = 0;
	m->monitor = 0;
	m->partial = 0;
	m->vflags = 0;
	m->taint = s->taint;
	m->rule_no_taint = 0;
	m->target_class =
	    sl_decide_target(m->channel, m->env, s->taint, s->scope_env, &m->target_env);
	m->class_ev = sl_decide_target(m->channel, m->env, 0, s->scope_env, &m->env_ev);
	if (m->n_patterns)
		bpf_loop(m->n_patterns, sl_pattern_cb, &c, 0);
	if (m->n_rules)
		bpf_loop(m->n_rules, sl_rule_cb, &c, 0);
	if (m->partial)
		m->vflags |= SL_VERDICT_PARTIAL;
	sl_match_unreadable(m, s);
	/* the verdict reports the target its deciding rule was matched against */
	if (m->rule_no_taint && m->rule != SL_RULE_UNREADABLE) {
		m->target_class = m->class_ev;
		m->target_env = m->env_ev;
	}
	if (m->rule == (__u32)-1)
		return 0;
	if (s->flags & SL_SESSION_MONITOR)
		m->monitor = 1;
	return 1;
}

/* ---- programs by the file that runs ---- */

/*
 * The identity of file (the executable, or a script the interpreter opens:
 * fd) as a program (scopelock_policy.h, sl_prog_ids): the words of a known
 * program file are ORed into m->kw, as if its name were in argv. A file not
 * known, of the size of a program file and not found before to be none, may
 * be a copy: its candidate words go to m->hypo (for sl_match_identify),
 * returns 1. Returns 2 for a known program (its words in m->hypo too), 0
 * otherwise. A copy learnt earlier, or a file found to be no program, counts
 * as such only while its change time is the one it had then.
 */
/*
 * The inode's change time in ns, as stat(2) shows it (0 if this kernel has
 * no such fields). The top bits of i_ctime_nsec are flags of multigrain
 * timestamps (I_CTIME_QUERIED, v6.13): nanoseconds fit in 30 bits.
 */
static __always_inline __u64 sl_inode_ctime(struct inode *inode)
{
	if (!bpf_core_field_exists(inode->i_ctime_sec))
		return 0;
	return (__u64)BPF_CORE_READ(inode, i_ctime_sec) * 1000000000ULL +
	       (BPF_CORE_READ(inode, i_ctime_nsec) & 0x3fffffff);
}

static __always_inline int sl_match_program(struct sl_match *m, struct file *file, __s32 fd)
{
	struct sl_inode_key k = {};
	struct sl_size_key sk = {};
	struct sl_prog_kw *p;
	struct inode *inode;
	__u64 *seen, ctime;

	if (!m->n_programs || !file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	k.ino = BPF_CORE_READ(inode, i_ino);
	k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k.slot = m->slot;
	ctime = sl_inode_ctime(inode);
	p = bpf_map_lookup_elem(&sl_prog_ids, &k);
	/* a learnt copy counts while it was not changed since it was compared */
	if (p && (!p->ctime_ns || p->ctime_ns == ctime)) {
		m->kw[0] |= p->kw[0];
		m->kw[1] |= p->kw[1];
		m->kw[2] |= p->kw[2];
		m->kw[3] |= p->kw[3];
		__builtin_memcpy(m->hypo, p->kw, sizeof(m->hypo));
		return 2;
	}
	k.slot = m->generation;
	seen = bpf_map_lookup_elem(&sl_prog_seen, &k);
	if (seen && *seen == ctime)
		return 0;
	sk.size = BPF_CORE_READ(inode, i_size);
	sk.slot = m->slot;
	p = bpf_map_lookup_elem(&sl_prog_sizes, &sk);
	if (!p)
		return 0;
	__builtin_memcpy(m->hypo, p->kw, sizeof(m->hypo));
	m->file_ino = k.ino;
	m->file_dev = k.dev;
	m->file_fd = fd;
	return 1;
}

/*
 * After sl_match_decide, for a file that may be a copy of a program: would
 * being that program make a stronger decision that stops the action? Then m
 * holds that decision, flagged SL_VERDICT_IDENTIFY (the process is stopped
 * until the daemon compared the contents), and 1 is returned; otherwise m
 * holds the decision as it was and 0 is returned.
 */
static __always_inline int sl_match_identify(struct sl_match *m, const struct sl_session_info *s)
{
	__u64 kw0 = m->kw[0], kw1 = m->kw[1], kw2 = m->kw[2], kw3 = m->kw[3];
	__u32 have = m->rule != (__u32)-1, action = m->action, mon = m->monitor;

	m->kw[0] |= m->hypo[0];
	m->kw[1] |= m->hypo[1];
	m->kw[2] |= m->hypo[2];
	m->kw[3] |= m->hypo[3];
	if (sl_match_decide(m, s) && !m->monitor && m->action >= SL_KACT_FREEZE &&
	    sl_decide_rule_wins(have, action, mon, m->action, m->monitor)) {
		m->vflags |= SL_VERDICT_IDENTIFY;
		return 1;
	}
	m->kw[0] = kw0;
	m->kw[1] = kw1;
	m->kw[2] = kw2;
	m->kw[3] = kw3;
	sl_match_decide(m, s);
	return 0;
}

/* ---- acting and reporting ---- */

/*
 * Sessions that were held: session cgroup id -> 1, set with SL_SESSION_HELD.
 * egress.bpf.c drops the packets of a session whose flags say held, and of
 * a cgroup listed here whose session is gone (denied, killed, timed out
 * while held): the sockets a killed session leaves behind would otherwise
 * flush the held bytes still queued in them once the session's map entry
 * is removed. Removed only by the daemon, after a person approved the
 * hold (it clears SL_SESSION_HELD first).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_MAX_SESSIONS);
	__type(key, __u64);
	__type(value, __u32);
} sl_held SEC(".maps") __weak;

/* the session cgroup id of the current task (as sl_current_session) */
static __always_inline __u64 sl_current_session_id(void)
{
	if (sl_session_level)
		return bpf_get_current_ancestor_cgroup_id(sl_session_level);
	return bpf_get_current_cgroup_id();
}

/*
 * Set flag on the current task's session: one atomic OR on the 64-bit word
 * holding scope_env and flags (the value is shared with other CPUs and the
 * daemon; 32-bit atomics need -mcpu=v3). The session also goes into sl_held:
 * its egress stays dropped even if its map entry changes or goes away
 * (egress.bpf.c).
 */
static __always_inline void sl_session_flag(struct sl_session_info *s, __u32 flag)
{
	__u64 *w = (__u64 *)&s->scope_env;
	__u64 id = sl_current_session_id();
	__u32 one = 1;

	_Static_assert(__builtin_offsetof(struct sl_session_info, flags) ==
			   __builtin_offsetof(struct sl_session_info, scope_env) + 4,
		       "scope_env and flags share one 64-bit word");
	_Static_assert(__builtin_offsetof(struct sl_session_info, scope_env) % 8 == 0, "aligned");
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	__sync_fetch_and_or(w, (__u64)flag << 32);
#else
	__sync_fetch_and_or(w, (__u64)flag);
#endif
	if (id && bpf_map_update_elem(&sl_held, &id, &one, BPF_ANY))
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_VERDICT);
}

/* a hold: egress of the session dropped until the daemon clears the flag */
static __always_inline void sl_session_hold(struct sl_session_info *s)
{
	sl_session_flag(s, SL_SESSION_HELD);
}

/*
 * Act on the decision for the current task, before it returns to user space:
 * KILL: the session is marked killed (from now on every exec, TLS write and
 * open of the session is killed, every connect refused, its egress dropped:
 * the kernel stops the whole session even before the daemon kills its
 * cgroup), then SIGKILL to the process (it dies before the action runs);
 * FREEZE: the session is marked held, then SIGSTOP to the process (the
 * daemon freezes the whole session); LOG, ALERT, DENY: nothing here (DENY is
 * the caller's return value). Monitor decisions never act. Returns
 * SL_VERDICT_* flags.
 */
static __always_inline __u32 sl_verdict_act(const struct sl_match *m, struct sl_session_info *s)
{
	if (m->monitor)
		return SL_VERDICT_MONITOR;
	/* may be a copy of a program: stopped until the daemon compared it */
	if (m->vflags & SL_VERDICT_IDENTIFY) {
		if (bpf_send_signal(SL_SIGSTOP))
			return SL_VERDICT_ENFORCED | SL_VERDICT_SIGNAL_FAILED;
		return SL_VERDICT_ENFORCED;
	}
	switch (m->action) {
	case SL_KACT_KILL:
		sl_session_flag(s, SL_SESSION_KILLED);
		if (bpf_send_signal(SL_SIGKILL))
			return SL_VERDICT_ENFORCED | SL_VERDICT_SIGNAL_FAILED;
		return SL_VERDICT_ENFORCED;
	case SL_KACT_FREEZE:
		sl_session_hold(s);
		if (bpf_send_signal(SL_SIGSTOP))
			return SL_VERDICT_ENFORCED | SL_VERDICT_SIGNAL_FAILED;
		return SL_VERDICT_ENFORCED;
	case SL_KACT_DENY:
		return SL_VERDICT_ENFORCED;
	default:
		return 0;
	}
}

/*
 * Does the decision stop something (kill, hold)? Then its verdict record and
 * the capture record of its action go to the verdict ring (sl_emit_to).
 */
static __always_inline bool sl_match_prio(const struct sl_match *m)
{
	/* a doomed session's actions are killed anyway: a loop of them must
	 * not fill the verdict ring */
	return !m->monitor && m->action >= SL_KACT_FREEZE && m->rule != SL_RULE_DOOMED;
}

/*
 * A session that had a kill verdict (SL_SESSION_KILLED): the action of the
 * current task is decided without looking further: killed (deny for a
 * connect, the caller's return value). Fills m as a decision of rule
 * SL_RULE_DOOMED and acts; returns 1 when the session is doomed.
 */
static __always_inline int sl_session_doomed(struct sl_match *m, struct sl_session_info *s,
					     __u32 *vflags)
{
	if (!(*(volatile __u32 *)&s->flags & SL_SESSION_KILLED))
		return 0;
	m->rule = SL_RULE_DOOMED;
	m->action = m->channel == SL_KCH_CONNECT ? SL_KACT_DENY : SL_KACT_KILL;
	m->monitor = 0;
	m->taint = s->taint;
	m->target_class = 0;
	m->target_env = 0;
	m->vflags = SL_VERDICT_DOOMED;
	*vflags = SL_VERDICT_ENFORCED;
	if (m->action == SL_KACT_KILL && bpf_send_signal(SL_SIGKILL))
		*vflags |= SL_VERDICT_SIGNAL_FAILED;
	return 1;
}

/*
 * Report the decision (SL_OP_VERDICT), after acting: the verdict never
 * waits for ring buffer room; a lost record is counted. conn: TLS connection
 * pointer, else 0. flags: from sl_verdict_act. Verdicts that stop
 * something go to the verdict ring (sl_match_prio).
 */
static __always_inline void sl_verdict_emit(struct sl_match *m, __u64 cgid, __u32 trigger_op,
					    __u64 conn, __u32 flags)
{
	struct sl_verdict_event *e = &m->ev;

	sl_hdr_fill(&e->hdr, SL_OP_VERDICT, cgid);
	e->target_env = m->target_env;
	e->taint = m->taint;
	e->kw[0] = m->kw[0];
	e->kw[1] = m->kw[1];
	e->kw[2] = m->kw[2];
	e->kw[3] = m->kw[3];
	e->patterns[0] = m->patterns[0];
	e->patterns[1] = m->patterns[1];
	e->conn = conn;
	e->rule = m->rule;
	e->action = m->action;
	e->channel = m->channel;
	e->target_class = m->target_class;
	e->flags = flags | m->vflags;
	e->trigger_op = trigger_op;
	e->generation = m->generation;
	e->unread = m->unread;
	e->file_ino = m->file_ino;
	e->file_dev = m->file_dev;
	e->file_fd = m->file_fd;
	/* a verdict never throttles: it follows a record that did, and the
	 * connect programs that emit verdicts cannot signal */
	sl_emit_sig(e, sizeof(*e), sl_match_prio(m), false);
}

#endif /* SCOPELOCK_MATCH_BPF_H */
