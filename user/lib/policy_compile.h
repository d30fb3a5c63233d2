/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Policy compiler: a parsed, validated policy (policy.h, secrets loaded)
 * -> the tables of include/scopelock_policy.h, ready to be written into the
 * BPF maps of one slot. Pure computation: no BPF calls, no logging.
 */
#ifndef SL_POLICY_COMPILE_H
#define SL_POLICY_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scopelock_policy.h"
#include "policy.h"
#include "policy_globs.h"

/* one LPM entry of sl_path_labels (without the slot byte) */
struct sl_cpath {
	uint8_t bytes[SL_LABEL_PATH_MAX]; /* exact: path + NUL; prefix: "dir/" */
	uint32_t len;			  /* bytes used */
	uint64_t env;
};

/* one LPM entry of sl_ip_labels (without the slot byte) */
struct sl_cip {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
	uint8_t prefix_len; /* bits of addr */
	struct sl_ip_label label;
};

/* one entry of sl_host_labels (without the slot byte) */
struct sl_chost {
	uint8_t wildcard;
	char name[SL_LABEL_HOST_MAX + 1]; /* lowercase; wildcard: ".suffix" */
	uint64_t env;
};

struct sl_compiled_policy {
	struct sl_kpolicy_hdr hdr;    /* generation left 0: the loader sets it */
	struct sl_ac_state *cs;	      /* hdr.cs_states entries, state 0 = root */
	struct sl_ac_state *ci;	      /* hdr.ci_states entries */
	struct sl_kpattern *patterns; /* hdr.n_patterns */
	struct sl_krule *rules;	      /* hdr.n_rules */
	struct sl_cpath *paths;
	uint32_t n_paths;
	struct sl_cip *ips;
	uint32_t n_ips;
	struct sl_chost *hosts;
	uint32_t n_hosts;
	/* wildcard path globs (sl_glob_classes, sl_glob); hdr.glob_states */
	struct sl_glob_dfa glob;
	/* what the policy says that the kernel does not decide: one message each */
	char **warnings;
	uint32_t n_warnings;
};

/*
 * Compile. 0, -ENOMEM, or -E2BIG / -EINVAL with a precise message in err
 * (which limit was exceeded, by which item). *out untouched on failure.
 */
int sl_policy_compile(const struct sl_policy *p, struct sl_compiled_policy **out, char *err,
		      size_t errlen);
void sl_compiled_policy_free(struct sl_compiled_policy *c);

/*
 * Reference walk, the same algorithm as the kernel: feed buf to both DFAs
 * starting from *cs / *ci (0 = root; updated), OR keyword bits into kw and
 * environment bits into env.
 */
void sl_compiled_scan(const struct sl_compiled_policy *c, uint16_t *cs, uint16_t *ci,
		      const void *buf, size_t len, uint64_t kw[SL_KW_WORDS], uint64_t *env);
/* the walk of the wildcard-glob DFA as the kernel does it: environments of the globs matching path
 */
uint64_t sl_compiled_glob(const struct sl_compiled_policy *c, const void *path, size_t len);
/* patterns matched by a keyword set: bit p of out */
void sl_compiled_patterns(const struct sl_compiled_policy *c, const uint64_t kw[SL_KW_WORDS],
			  uint64_t out[SL_PAT_WORDS]);

#endif
