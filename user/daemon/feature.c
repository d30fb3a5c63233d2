// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The features of this kernel and their use (feature.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "feature.h"
#include "log.h"

#define SL_MAX_FEATURES 32

struct sl_feature {
	const char *name;
	bool available;
	bool used;
	/* when set, whether it is used now (it depends on the policy in force) */
	bool (*used_now)(void *ctx);
	void *ctx;
	char detail[160];
};

struct sl_features {
	struct sl_feature v[SL_MAX_FEATURES];
	int n;
};

int sl_features_new(struct sl_features **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void sl_features_free(struct sl_features *f)
{
	free(f);
}

void sl_feature_add(struct sl_features *fs, const char *name, bool available, bool used,
		    const char *fmt, ...)
{
	struct sl_feature *f;
	va_list ap;

	if (fs->n >= SL_MAX_FEATURES)
		return;
	f = &fs->v[fs->n++];
	f->name = name;
	f->available = available;
	f->used = used;
	f->used_now = NULL;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
	if (available)
		log_info("feature %s: %s%s%s", name, used ? "used" : "available, not used",
			 f->detail[0] ? ": " : "", f->detail);
	else
		log_warn("feature %s: unavailable: %s", name, f->detail);
}

void sl_feature_used_while(struct sl_features *fs, bool (*used_now)(void *ctx), void *ctx)
{
	if (!fs->n)
		return;
	fs->v[fs->n - 1].used_now = used_now;
	fs->v[fs->n - 1].ctx = ctx;
}

json_t *sl_features_json(const struct sl_features *fs)
{
	json_t *arr = json_array();

	for (int i = 0; arr && fs && i < fs->n; i++) {
		const struct sl_feature *f = &fs->v[i];

		bool used = f->used_now ? f->used_now(f->ctx) : f->used;

		json_array_append_new(arr, json_pack("{s:s, s:b, s:b, s:s}", "name", f->name,
						     "available", f->available, "used", used,
						     "detail", f->detail));
	}
	return arr;
}
