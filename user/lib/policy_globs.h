/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Path globs with wildcards the LPM trie cannot express (SL_PATH_GLOB: a
 * wildcard inside a component, '**' before the last component, an escaped
 * character) as one DFA over the bytes of a resolved path, decided in the
 * kernel at the open (bpf/label.bpf.h, sl_label_glob) and walked in user
 * space by sl_glob_dfa_walk() with the same algorithm.
 *
 * Semantics: exactly sl_policy_glob_match() (docs/policy.md "### paths"),
 * for every glob sl_parse_glob() accepts: runs of '/' separate components,
 * '**' as a whole component matches zero or more components, a component
 * matches as fnmatch(3) without flags in the C locale ('*' also a leading
 * '.'). The classes' byte sets are computed by fnmatch itself.
 *
 * Construction: each glob is a small NFA (boundary states between
 * components, token positions inside one, a state for a component consumed
 * by '**'); subset construction over all globs at once, on byte classes
 * (bytes no glob distinguishes share a column). State 0 is dead (no glob
 * can match any more: the kernel stops walking), state 1 the start. env[s]
 * is the union of the environments of the globs that match a path ending in
 * state s.
 */
#ifndef SL_POLICY_GLOBS_H
#define SL_POLICY_GLOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scopelock_policy.h"
#include "policy.h"

struct sl_glob_src {
	const char *glob; /* absolute, as sl_parse_glob() accepted it */
	uint64_t env;
};

struct sl_glob_dfa {
	uint8_t cls[256];   /* byte -> class */
	uint32_t n_classes; /* <= SL_GLOB_CLASSES_MAX */
	uint32_t n_states;  /* 0: no glob; else >= 2 (dead, start, ...) */
	uint16_t *next;	    /* [state * n_classes + class] */
	uint64_t *env;	    /* [state]: matched when the path ends here */
	/* environments of the globs that can match a path the kernel cannot walk
	 * whole (sl_glob_reaches_past_walk) */
	uint64_t trunc_env;
};

/*
 * Build the DFA of v[0..n). 0; -E2BIG when it needs more than max_states
 * states (<= SL_GLOB_STATES_MAX) or more than SL_GLOB_CLASSES_MAX byte
 * classes (why says which, with the count reached); -ENOMEM. *out is
 * zeroed first and left empty on failure.
 */
int sl_glob_dfa_build(const struct sl_glob_src *v, size_t n, uint32_t max_states,
		      struct sl_glob_dfa *out, char *why, size_t whylen);
void sl_glob_dfa_free(struct sl_glob_dfa *d);

/*
 * Can glob match a path the kernel's walk cannot hold whole: more than
 * SL_PATH_DEPTH_MAX components or SL_PATH_MAX - 1 bytes (with " (deleted)")?
 * True for a glob with '**', more than SL_PATH_DEPTH_MAX components, or a
 * longest match (a '*' as a whole name of SL_GLOB_NAME_MAX bytes) that long.
 * A cut path carries the environments of these globs (fail closed).
 */
#define SL_GLOB_NAME_MAX 255   /* NAME_MAX */
#define SL_GLOB_DELETED_LEN 10 /* " (deleted)" */
bool sl_glob_reaches_past_walk(const char *glob);

/* the environments of the globs matching path[0..len) (the kernel's walk) */
uint64_t sl_glob_dfa_walk(const struct sl_glob_dfa *d, const void *path, size_t len);

/*
 * The DFA of the wildcard globs (SL_PATH_GLOB) of every environment of p.
 * On -E2BIG, *bad_env / *bad_path index the glob with which the globs
 * before it and it first exceed the bound (in declaration order), and why
 * says which bound.
 */
int sl_policy_glob_dfa(const struct sl_policy *p, struct sl_glob_dfa *out, uint32_t *bad_env,
		       uint32_t *bad_path, char *why, size_t whylen);

#endif
