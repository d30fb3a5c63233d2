/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What this kernel offers and what scopelockd uses of it: a list the kernel
 * room (BPF program types, maps, helpers, tracepoints) and the confinement
 * supervisor (seccomp, Landlock) fill at start-up, each feature logged once;
 * shown in the daemon_start record and by `scopelock status`.
 */
#ifndef SL_FEATURE_H
#define SL_FEATURE_H

#include <stdbool.h>
#include <jansson.h>

struct sl_features;

int sl_features_new(struct sl_features **out);
void sl_features_free(struct sl_features *f);
/* add (and log) a feature; detail formatted by fmt */
void sl_feature_add(struct sl_features *f, const char *name, bool available, bool used,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* the feature added last is used while used_now(ctx) says so (it depends on
 * the policy in force) */
void sl_feature_used_while(struct sl_features *f, bool (*used_now)(void *ctx), void *ctx);
/* [{"name","available","used","detail"}] */
json_t *sl_features_json(const struct sl_features *f);

#endif
