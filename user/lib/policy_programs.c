// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Program words resolved to files: policy_programs.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "policy_programs.h"
#include "scopelock_abi.h"

static bool name_byte(uint8_t b)
{
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
	       b == '.' || b == '_' || b == '+' || b == '-';
}

/* a keyword of a group (not of "none") of a pattern of channel exec */
static bool exec_group_keyword(const struct sl_policy *p, uint32_t i)
{
	for (uint32_t pi = 0; pi < p->n_patterns; pi++) {
		const struct sl_policy_pattern *pt = &p->patterns[pi];

		if (!(pt->channels & SL_CHAN_BIT(SL_CHAN_EXEC)))
			continue;
		for (uint32_t g = 0; g < pt->n_groups; g++)
			for (uint32_t k = 0; k < pt->groups[g].n_kw; k++)
				if (pt->groups[g].kw[k] == i)
					return true;
	}
	return false;
}

bool sl_policy_program_word(const struct sl_policy *p, uint32_t i, char *name, size_t namesz)
{
	const struct sl_policy_keyword *k;
	uint32_t n;

	if (i >= p->n_keywords)
		return false;
	k = &p->keywords[i];
	/* a case-insensitive keyword is about text (SQL), not a program name */
	if (k->icase)
		return false;
	n = k->len;
	if (n < 2 || k->bytes[n - 1] != ' ' || n > namesz || !name_byte(k->bytes[0]) ||
	    k->bytes[0] == '.' || k->bytes[0] == '-')
		return false;
	for (uint32_t j = 0; j + 1 < n; j++)
		if (!name_byte(k->bytes[j]))
			return false;
	if (!exec_group_keyword(p, i))
		return false;
	memcpy(name, k->bytes, n - 1);
	name[n - 1] = '\0';
	return true;
}

void sl_cprograms_free(struct sl_cprogram *v, uint32_t n)
{
	for (uint32_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].path);
	}
	free(v);
}

/*
 * Is the file found for NAME NAME's own program? Its real name must be NAME
 * (or NAME followed by '.', '-', '_': railway.js, terraform-1.5) and it must
 * have no other name (one link): a wrapper that many names lead to
 * (postgresql-common's pg_wrapper is psql, dropdb, pg_dump...; a busybox) is
 * not one program, and knowing it as NAME would judge all its other names
 * as NAME.
 */
static bool own_file(const char *name, const char *real, const struct stat *st)
{
	const char *base = strrchr(real, '/');
	size_t n = strlen(name);

	base = base ? base + 1 : real;
	if (strncmp(base, name, n))
		return false;
	if (base[n] && base[n] != '.' && base[n] != '-' && base[n] != '_')
		return false;
	return st->st_nlink == 1;
}

int sl_policy_resolve_programs(const struct sl_policy *p, struct sl_cprogram **out, uint32_t *n)
{
	static const char *const defaults[] = SL_POLICY_PROGRAM_PATHS;
	const char *const *dirs =
	    p->settings.n_program_paths ? (const char *const *)p->settings.program_paths : defaults;
	uint32_t ndirs = p->settings.n_program_paths ? p->settings.n_program_paths
						     : sizeof(defaults) / sizeof(defaults[0]);
	struct sl_cprogram *v = NULL;
	uint32_t cnt = 0, cap = 0;

	for (uint32_t i = 0; i < p->n_keywords && i < SL_POLICY_MAX_KEYWORDS; i++) {
		char name[256], path[PATH_MAX + 256], real[PATH_MAX];
		struct sl_cprogram *e = NULL;
		struct stat st;
		uint32_t dev;
		bool found = false;

		if (!sl_policy_program_word(p, i, name, sizeof(name)))
			continue;
		for (uint32_t d = 0; d < ndirs && !found; d++) {
			snprintf(path, sizeof(path), "%s/%s", dirs[d], name);
			found = realpath(path, real) && !stat(real, &st) && S_ISREG(st.st_mode) &&
				!access(real, X_OK);
		}
		/* found, but not NAME's own file: known by its name only */
		if (!found || !own_file(name, real, &st))
			continue;
		dev = SL_KDEV(major(st.st_dev), minor(st.st_dev));
		for (uint32_t j = 0; j < cnt && !e; j++)
			if (v[j].ino == (uint64_t)st.st_ino && v[j].dev == dev)
				e = &v[j];
		if (!e) {
			if (cnt == cap) {
				uint32_t nc = cap ? 2 * cap : 16;
				struct sl_cprogram *nv = realloc(v, nc * sizeof(*nv));

				if (!nv)
					goto oom;
				v = nv;
				cap = nc;
			}
			e = &v[cnt];
			memset(e, 0, sizeof(*e));
			e->name = strdup(name);
			e->path = strdup(real);
			cnt++;
			if (!e->name || !e->path)
				goto oom;
			e->ino = (uint64_t)st.st_ino;
			e->dev = dev;
			e->size = (uint64_t)st.st_size;
			e->mtime_ns =
			    (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		}
		e->kw[i / 64] |= 1ULL << (i % 64);
	}
	*out = v;
	*n = cnt;
	return 0;
oom:
	sl_cprograms_free(v, cnt);
	return -ENOMEM;
}
