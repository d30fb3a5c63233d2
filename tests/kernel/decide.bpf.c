// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The in-kernel decision (bpf/match.bpf.h: automaton walk, patterns, target
 * class, rule precedence) as a BPF_PROG_TYPE_SYSCALL program, so that a test
 * can run it on generated cases with BPF_PROG_TEST_RUN and compare it with
 * the user-space reference (sl_policy_decide). Nothing here is attached.
 */
#include "common.bpf.h"
#include "label.bpf.h"
#include "match.bpf.h"
#include "decide_test.h"

char LICENSE[] SEC("license") = "GPL";

struct sl_test_subject {
	__u8 data[SL_TEST_SUBJECT_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_test_subject);
} sl_test_subject SEC(".maps");

SEC("syscall")
int sl_test_decide(struct sl_test_decide *a)
{
	struct sl_session_info s = {};
	struct sl_test_subject *sub;
	struct sl_match *m;
	__u16 cs = 0, ci = 0;
	__u32 zero = 0, len = a->len;

	a->ran = 0;
	sub = bpf_map_lookup_elem(&sl_test_subject, &zero);
	if (!sub || len >= SL_TEST_SUBJECT_MAX)
		return 1;
	len &= SL_TEST_SUBJECT_MAX - 1;
	m = sl_match_begin(a->channel);
	if (!m)
		return 2;
	if (len && bpf_probe_read_kernel(sub->data, len, a->subject))
		return 3;
	sl_match_scan(m, &cs, &ci, sub, sizeof(*sub), 0, len, false);
	a->kw[0] = m->kw[0];
	a->kw[1] = m->kw[1];
	a->kw[2] = m->kw[2];
	a->kw[3] = m->kw[3];
	a->scan_env = m->env;
	m->env |= a->env;
	m->unread = a->unread;
	s.scope_env = a->scope_env;
	s.flags = a->session_flags;
	s.taint = a->taint;
	a->matched = sl_match_decide(m, &s);
	a->patterns[0] = m->patterns[0];
	a->patterns[1] = m->patterns[1];
	a->target_env = m->target_env;
	a->target_class = m->target_class;
	a->rule = m->rule;
	a->action = m->action;
	a->monitor = m->monitor;
	a->vflags = m->vflags;
	a->ran = 1;
	return 0;
}

/* the open program's wildcard-glob walk (sl_label_glob) on a path of the test */
SEC("syscall")
int sl_test_glob(struct sl_test_glob *a)
{
	struct sl_test_subject *sub;
	struct sl_match *m;
	__u32 zero = 0, len = a->len;

	a->ran = 0;
	a->env = 0;
	sub = bpf_map_lookup_elem(&sl_test_subject, &zero);
	if (!sub || len >= SL_TEST_SUBJECT_MAX)
		return 1;
	len &= SL_TEST_SUBJECT_MAX - 1;
	m = sl_match_begin(SL_KCH_OPEN);
	if (!m || !m->glob_states)
		return 2;
	if (len && bpf_probe_read_kernel(sub->data, len, a->path))
		return 3;
	a->env = sl_label_glob(m->slot, sub->data, len);
	a->ran = 1;
	return 0;
}
