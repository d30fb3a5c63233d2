/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Internals shared by user/lib/policy*.c; not part of the library API. */
#ifndef SL_POLICY_INTERNAL_H
#define SL_POLICY_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* ---- names (policy_names.c): the one table of each ---- */
extern const char *const sl_policy_mode_names[SL_POLICY_MONITOR + 1];
extern const char *const sl_policy_chan_names[SL_CHAN_MAX];
extern const char *const sl_policy_action_names[SL_ACT_MAX];
/* rule targets: the three classes, then "any" (all of them) */
#define SL_POLICY_TARGET_NAMES 5
extern const char *const sl_policy_target_names[SL_POLICY_TARGET_NAMES];
extern const uint32_t sl_policy_target_bits[SL_POLICY_TARGET_NAMES];

/* ---- error list (policy_errors.c) ---- */
/* append one error; 0 or -ENOMEM (beyond SL_POLICY_MAX_ERRORS only counted) */
int sl_perr_add(struct sl_policy_errors *errs, const char *file, uint32_t line, uint32_t col,
		const char *field, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int sl_perr_vadd(struct sl_policy_errors *errs, const char *file, uint32_t line, uint32_t col,
		 const char *field, const char *fmt, va_list ap);
/*
 * Printable, quoted form of untrusted bytes for messages: control bytes,
 * quotes and backslashes escaped, cut after max bytes with "...".
 */
void sl_perr_quote(const void *s, size_t len, size_t max, char *out, size_t outsz);

/* ---- YAML tree (policy_yaml.c) ---- */
enum ynode_type {
	YN_SCALAR = 0,
	YN_SEQ = 1,
	YN_MAP = 2,
};

struct ynode {
	enum ynode_type type;
	const char *file;   /* the file it was read from (borrowed: lives while the tree does) */
	uint32_t line, col; /* 1-based start of the node */
	bool plain;	    /* plain (unquoted) scalar: null / bool / int resolution applies */
	bool bad;	    /* an error was already reported for this node: do not re-check */
	char *val;	    /* scalar bytes, NUL-terminated (may also contain NUL) */
	size_t len;
	struct ynode **kids; /* SEQ: items; MAP: key, value, key, value, ... */
	size_t n, cap;
	size_t dropped; /* children beyond the length limit (not kept) */
};

/*
 * Build the tree of one YAML document. Errors (syntax, nesting, limits,
 * anchors, tags) are appended to errs. Returns 0 with *root (NULL for an
 * empty stream) when the tree is complete and can be validated, -EINVAL
 * when it is not (a syntax or fatal error was appended; *root NULL), or
 * -ENOMEM. Individual nodes with errors are kept with bad set.
 */
int sl_yaml_build(const char *file, const void *buf, size_t len, struct sl_policy_errors *errs,
		  struct ynode **root);
void sl_ynode_free(struct ynode *n);
/* validate a (possibly merged) tree into *out; name: the policy's name (sl_policy.source) */
int sl_policy_load_tree(const char *name, const struct ynode *root, struct sl_policy **out,
			struct sl_policy_errors *errs);

/* ---- labels (policy_labels.c) ---- */
/*
 * Parse one label; on error return -EINVAL and write "expected ..., found
 * ..." into msg. 0 on success (outputs filled).
 */
int sl_parse_glob(const char *s, size_t len, struct sl_policy_path *out, char *msg, size_t msgsz);
int sl_parse_host(const char *s, size_t len, struct sl_policy_host *out, char *msg, size_t msgsz);
int sl_parse_sha256(const char *s, size_t len, uint8_t sha[32], char *msg, size_t msgsz);

/* ---- validation (policy.c, policy_schema.c, policy_envs.c, policy_rules.c) ---- */
/* one validation run: the policy being filled, where the errors go */
struct vctx {
	const char *file;
	struct sl_policy_errors *errs;
	struct sl_policy *p;
	char path[SL_POLICY_FIELD_MAX];
	size_t plen;
	int err; /* -ENOMEM */
	bool kw_full_reported;
};

struct keyspec {
	const char *name;
	bool required;
	const char *expect; /* for "missing key" messages */
};

#define FOUND_MAX 160
/* how a node is described in "expected ..., found ..." */
#define FOUND(n) sl_pv_found((n), (char[FOUND_MAX]){0})

void sl_pv_err(struct vctx *c, const struct ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t sl_pv_path_key(struct vctx *c, const char *key, size_t klen);
size_t sl_pv_path_str(struct vctx *c, const char *key);
size_t sl_pv_path_idx(struct vctx *c, size_t i);
void sl_pv_path_restore(struct vctx *c, size_t old);
bool sl_pv_is_null(const struct ynode *n);
const char *sl_pv_found(const struct ynode *n, char *buf);
bool sl_pv_scalar_eq(const struct ynode *n, const char *s);
const struct ynode *sl_pv_map_get(const struct ynode *map, const char *key);
bool sl_pv_want_type(struct vctx *c, const struct ynode *n, enum ynode_type t, const char *what);
bool sl_pv_want_list(struct vctx *c, const struct ynode *n, const char *what, size_t max);
bool sl_pv_get_str(struct vctx *c, const struct ynode *n, const char *what, size_t min, size_t max,
		   bool allow_nul, char **out);
bool sl_pv_get_bool(struct vctx *c, const struct ynode *n, bool *out);
bool sl_pv_get_uint(struct vctx *c, const struct ynode *n, uint64_t min, uint64_t max,
		    uint64_t *out);
bool sl_pv_get_duration(struct vctx *c, const struct ynode *n, uint64_t min, uint64_t max,
			uint32_t *out);
bool sl_pv_get_size(struct vctx *c, const struct ynode *n, uint64_t min, uint64_t max,
		    uint64_t *out);
void sl_pv_join_names(const char *const *names, size_t n, char *buf, size_t sz);
bool sl_pv_get_enum(struct vctx *c, const struct ynode *n, const char *const *names, size_t cnt,
		    uint32_t *out);
bool sl_pv_check_map(struct vctx *c, const struct ynode *n, const char *what,
		     const struct keyspec *ks, size_t nks);
bool sl_pv_check_name(struct vctx *c, const struct ynode *k);
bool sl_pv_check_named_map(struct vctx *c, const struct ynode *n, const char *what,
			   const char *item, size_t max);
struct sl_policy_loc sl_pv_loc_of(const struct ynode *n);
void sl_pv_free_secret_src(struct sl_policy_secret_src *s);
void sl_pv_parse_envs(struct vctx *c, const struct ynode *n);
/* destinations: {model_providers: [host, ...]} */
void sl_pv_parse_destinations(struct vctx *c, const struct ynode *n);
void sl_pv_parse_patterns(struct vctx *c, const struct ynode *n);
void sl_pv_parse_rules(struct vctx *c, const struct ynode *n);
/* outputs: {program, webhook, syslog, journald} (policy_outputs.c) */
void sl_pv_parse_outputs(struct vctx *c, const struct ynode *n);
void sl_pv_free_outputs(struct sl_policy_outputs *o);

#endif /* SL_POLICY_INTERNAL_H */
