// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Path labels resolved to (device, inode): policy_inodes.h.
 */
#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "policy_inodes.h"
#include "scopelock_abi.h"

struct ivec {
	struct sl_cinode *v;
	uint32_t n, cap, max;
	bool truncated;
};

static int add(struct ivec *iv, const char *path, uint64_t env)
{
	struct stat st;

	if (stat(path, &st))
		return 0; /* not there (now): the path label still applies */
	for (uint32_t i = 0; i < iv->n; i++) {
		if (iv->v[i].ino == (uint64_t)st.st_ino &&
		    iv->v[i].dev == SL_KDEV(major(st.st_dev), minor(st.st_dev))) {
			iv->v[i].env |= env;
			return 0;
		}
	}
	if (iv->n == iv->max) {
		iv->truncated = true;
		return 0;
	}
	if (iv->n == iv->cap) {
		uint32_t cap = iv->cap ? 2 * iv->cap : 32;
		struct sl_cinode *v = realloc(iv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		iv->v = v;
		iv->cap = cap;
	}
	iv->v[iv->n++] = (struct sl_cinode){
	    .ino = (uint64_t)st.st_ino,
	    .dev = SL_KDEV(major(st.st_dev), minor(st.st_dev)),
	    .env = env,
	};
	return 0;
}

/*
 * Every file below a labelled directory too (same file system, symbolic
 * links not followed): a hard link made anywhere to one of them shares its
 * inode and so its label. nftw(3) has no context argument: one walk at a
 * time (the daemon's event loop).
 */
static struct ivec *tree_iv;
static uint64_t tree_env;
static int tree_err;

static int tree_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	tree_err = add(tree_iv, path, tree_env);
	if (tree_err || tree_iv->truncated)
		return 1; /* stop: out of memory, or the table is full */
	return 0;
}

static int add_tree(struct ivec *iv, const char *dir, uint64_t env)
{
	int ret = add(iv, dir, env);

	if (ret)
		return ret;
	tree_iv = iv;
	tree_env = env;
	tree_err = 0;
	nftw(dir, tree_cb, 32, FTW_PHYS | FTW_MOUNT);
	return tree_err;
}

static int add_glob(struct ivec *iv, const char *pattern, size_t len, uint64_t env)
{
	char *pat = strndup(pattern, len);
	glob_t g = {0};
	int ret = 0, r;

	if (!pat)
		return -ENOMEM;
	r = glob(pat, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g);
	if (r == GLOB_NOSPACE)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && r == 0 && i < g.gl_pathc; i++)
		ret = add_tree(iv, g.gl_pathv[i], env);
	globfree(&g);
	free(pat);
	return ret;
}

/* a glob(3) result with a "." or ".." component ('*' with GLOB_PERIOD matches them) */
static bool dot_component(const char *path)
{
	for (const char *c = strchr(path, '/'); c; c = strchr(c + 1, '/'))
		if ((c[1] == '.' && (c[2] == '/' || !c[2])) ||
		    (c[1] == '.' && c[2] == '.' && (c[3] == '/' || !c[3])))
			return true;
	return false;
}

/*
 * A wildcard glob without "**": the files and directories it names now
 * (glob(3) with GLOB_PERIOD: '*' also matches a leading '.', as the path
 * label does), each by identity, so that a hard link or a bind mount of
 * one keeps its label. Not the directories it names: a directory's identity
 * would label everything below it, which the glob does not.
 */
static int add_glob_files(struct ivec *iv, const char *pattern, uint64_t env)
{
	glob_t g = {0};
	int ret = 0, r;

	r = glob(pattern, GLOB_NOSORT | GLOB_PERIOD, NULL, &g);
	if (r == GLOB_NOSPACE)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && r == 0 && i < g.gl_pathc; i++) {
		struct stat st;

		if (!dot_component(g.gl_pathv[i]) && stat(g.gl_pathv[i], &st) == 0 &&
		    !S_ISDIR(st.st_mode))
			ret = add(iv, g.gl_pathv[i], env);
	}
	globfree(&g);
	return ret;
}

int sl_policy_resolve_inodes(const struct sl_policy *p, uint32_t max, struct sl_cinode **out,
			     uint32_t *n, bool *truncated)
{
	struct ivec iv = {.max = max};
	int ret = 0;

	for (uint32_t e = 0; !ret && e < p->n_envs; e++) {
		const struct sl_policy_env *en = &p->envs[e];
		uint64_t env = 1ULL << en->id;

		for (uint32_t i = 0; !ret && i < en->n_paths; i++) {
			const struct sl_policy_path *pa = &en->paths[i];
			size_t len = strlen(pa->glob);

			if (pa->kind == SL_PATH_EXACT) {
				ret = add(&iv, pa->glob, env);
			} else if (pa->kind == SL_PATH_PREFIX) {
				char *dir = strndup(pa->glob, pa->prefix_len);

				if (!dir)
					return -ENOMEM;
				ret = add_tree(&iv, dir, env);
				free(dir);
			} else if (len > 3 && !strcmp(pa->glob + len - 3, "/**")) {
				ret = add_glob(&iv, pa->glob, len - 3, env);
			} else if (!strstr(pa->glob, "**")) {
				ret = add_glob_files(&iv, pa->glob, env);
			}
		}
	}
	if (ret) {
		free(iv.v);
		return ret;
	}
	*out = iv.v;
	*n = iv.n;
	*truncated = iv.truncated;
	return 0;
}
