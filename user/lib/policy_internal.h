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
#define SL_POLICY_TARGET_NAMES 4
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

/* ---- labels (policy_labels.c) ---- */
/*
 * Parse one label; on error return -EINVAL and write "expected ..., found
 * ..." into msg. 0 on success (outputs filled).
 */
int sl_parse_glob(const char *s, size_t len, struct sl_policy_path *out, char *msg, size_t msgsz);
int sl_parse_host(const char *s, size_t len, struct sl_policy_host *out, char *msg, size_t msgsz);
int sl_parse_sha256(const char *s, size_t len, uint8_t sha[32], char *msg, size_t msgsz);

#endif /* SL_POLICY_INTERNAL_H */
