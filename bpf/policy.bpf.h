/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Compiled-policy maps (include/scopelock_policy.h), shared by every program
 * that decides verdicts. __weak: merged by `bpftool gen object`.
 */
#ifndef SCOPELOCK_POLICY_BPF_H
#define SCOPELOCK_POLICY_BPF_H

#include "common.bpf.h"
#include "scopelock_policy.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_policy_active);
} sl_policy_active SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct sl_kpolicy_hdr);
} sl_policy_hdr SEC(".maps") __weak;

/* index: (slot * 2 + kind) * SL_AC_MAX_STATES + state; kind 0 cs, 1 ci */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4 * SL_AC_MAX_STATES);
	__type(key, __u32);
	__type(value, struct sl_ac_state);
} sl_ac SEC(".maps") __weak;

/* wildcard path globs: byte classes per slot, DFA states at slot * SL_GLOB_STATES_MAX + state */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct sl_glob_classes);
} sl_glob_classes SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SL_GLOB_STATES_MAX);
	__type(key, __u32);
	__type(value, struct sl_glob_state);
} sl_glob SEC(".maps") __weak;

/* index: slot * SL_PAT_MAX + pattern */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SL_PAT_MAX);
	__type(key, __u32);
	__type(value, struct sl_kpattern);
} sl_patterns SEC(".maps") __weak;

/* index: slot * SL_RULE_MAX + rule */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SL_RULE_MAX);
	__type(key, __u32);
	__type(value, struct sl_krule);
} sl_rules SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sl_path_key);
	__type(value, __u64);
} sl_path_labels SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sl_ip_key);
	__type(value, struct sl_ip_label);
} sl_ip_labels SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sl_host_key);
	__type(value, __u64);
} sl_host_labels SEC(".maps") __weak;

/* both slots' labels by identity (struct sl_inode_key) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * SL_INODE_LABELS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sl_inode_key);
	__type(value, __u64);
} sl_inode_labels SEC(".maps") __weak;

/* programs by identity: (inode, dev, slot) -> program words */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * SL_PROGRAMS_MAX);
	__type(key, struct sl_inode_key);
	__type(value, struct sl_prog_kw);
} sl_prog_ids SEC(".maps") __weak;

/* sizes of the program files: (size, slot) -> program words */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * SL_PROGRAMS_MAX);
	__type(key, struct sl_size_key);
	__type(value, struct sl_prog_kw);
} sl_prog_sizes SEC(".maps") __weak;

/* files whose contents the daemon compared and found to be no program
 * (inode, dev, policy generation) -> their change time then: not held again
 * while they are not changed */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sl_inode_key);
	__type(value, __u64);
} sl_prog_seen SEC(".maps") __weak;

/* per process: the program words of a program file it opened (the next
 * exec it makes, e.g. `sh -s args < railway`, is judged with them) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_MAX_INFLIGHT);
	__type(key, __u32); /* tgid */
	__type(value, struct sl_prog_kw);
} sl_prog_opened SEC(".maps") __weak;

#endif /* SCOPELOCK_POLICY_BPF_H */
