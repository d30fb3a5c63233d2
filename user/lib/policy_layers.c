// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A policy built on others (docs/policy.md, "Layers"): the file's `extends`
 * chain first (deepest first), then the file, then its drop-ins
 * (the .yaml files of FILE.d/, FILE without .yaml, in name order), merged as YAML trees
 * and validated once. Every node keeps the file it came from, so every error
 * names its file. Merge rules:
 *   - mappings merge key by key (settings, environments, an environment's
 *     confine, ...), recursively;
 *   - `patterns` (a mapping) and `rules` (a list of named items): a pattern
 *     or rule whose name is already there replaces it whole, a new one is
 *     added; `disable_rules: [NAME, ...]` removes rules of the layers
 *     before (an unknown name is an error);
 *   - other lists are appended (an environment's paths, hosts, ...; secrets);
 *   - scalars, and a value whose type changes, are replaced.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "policy.h"
#include "policy_internal.h"
#include "util.h"

/* files in one policy: the extends chain and the drop-ins */
#define LAYERS_MAX 64
#define EXTENDS_DEPTH_MAX 8

struct layers {
	struct sl_policy_errors *errs;
	char *files[LAYERS_MAX]; /* owned: the nodes point at them */
	size_t n;
	struct ynode *roots[LAYERS_MAX];
	EVP_MD_CTX *md; /* over every layer's name, length and bytes */
	uint8_t single_sha[32];
};

static int add_error(struct layers *l, const char *file, const struct ynode *at, const char *field,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int add_error(struct layers *l, const char *file, const struct ynode *at, const char *field,
		     const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = sl_perr_vadd(l->errs, at && at->file ? at->file : file, at ? at->line : 1,
			   at ? at->col : 1, field, fmt, ap);
	va_end(ap);
	return err ? err : -EINVAL;
}

/* read and build one layer; its tree is kept in l (NULL for an empty file) */
static int load_layer(struct layers *l, const char *path, struct ynode **root)
{
	char *buf = NULL, *name;
	size_t len = 0;
	uint64_t n64;
	int err;

	*root = NULL;
	if (l->n == LAYERS_MAX)
		return add_error(l, path, NULL, NULL,
				 "expected at most %d files in one policy (extends and drop-ins), "
				 "found more",
				 LAYERS_MAX);
	name = strdup(path);
	if (!name)
		return -ENOMEM;
	l->files[l->n++] = name;
	err = sl_read_file(path, SL_POLICY_MAX_BYTES + 1, &buf, &len);
	if (err == -EFBIG)
		return add_error(l, name, NULL, NULL,
				 "expected a policy of at most %u bytes, found more",
				 SL_POLICY_MAX_BYTES);
	if (err)
		return add_error(l, name, NULL, NULL, "cannot read the policy: %s", strerror(-err));
	if (l->n == 1) {
		unsigned int mdlen = 0;

		EVP_Digest(buf, len, l->single_sha, &mdlen, EVP_sha256(), NULL);
	}
	n64 = len;
	EVP_DigestUpdate(l->md, name, strlen(name) + 1);
	EVP_DigestUpdate(l->md, &n64, sizeof(n64));
	EVP_DigestUpdate(l->md, buf, len);
	err = sl_yaml_build(name, buf, len, l->errs, root);
	free(buf);
	if (!err && *root && (*root)->type != YN_MAP)
		err = add_error(l, name, *root, "(document)",
				"expected a mapping (version, environments, ...), found another "
				"kind of document");
	if (!err)
		l->roots[l->n - 1] = *root;
	else {
		sl_ynode_free(*root);
		*root = NULL;
	}
	return err;
}

static struct ynode *map_val(const struct ynode *map, const char *key, size_t *idx)
{
	if (!map || map->type != YN_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (sl_pv_scalar_eq(map->kids[i], key)) {
			if (idx)
				*idx = i;
			return map->kids[i + 1];
		}
	return NULL;
}

/* take (key, value) pair i out of map: freed */
static void map_remove(struct ynode *map, size_t i)
{
	sl_ynode_free(map->kids[i]);
	sl_ynode_free(map->kids[i + 1]);
	memmove(map->kids + i, map->kids + i + 2, (map->n - i - 2) * sizeof(*map->kids));
	map->n -= 2;
}

static int push(struct ynode *n, struct ynode *kid)
{
	if (n->n == n->cap) {
		size_t cap = n->cap ? 2 * n->cap : 8;
		struct ynode **k = realloc(n->kids, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		n->kids = k;
		n->cap = cap;
	}
	n->kids[n->n++] = kid;
	return 0;
}

static const struct ynode *item_name(const struct ynode *item)
{
	const struct ynode *v = map_val(item, "name", NULL);

	return v && v->type == YN_SCALAR ? v : NULL;
}

static bool same_scalar(const struct ynode *a, const struct ynode *b)
{
	return a->len == b->len && !memcmp(a->val, b->val, a->len);
}

/* patterns, rules: by name; src's items are moved into dst */
static int merge_named(struct ynode *dst, struct ynode *src)
{
	for (size_t i = 0; i < src->n; i++) {
		struct ynode *it = src->kids[i];
		const struct ynode *nm = item_name(it);
		bool replaced = false;

		for (size_t j = 0; nm && j < dst->n && !replaced; j++) {
			const struct ynode *dn = item_name(dst->kids[j]);

			if (dn && same_scalar(dn, nm)) {
				sl_ynode_free(dst->kids[j]);
				dst->kids[j] = it;
				replaced = true;
			}
		}
		if (!replaced && push(dst, it))
			return -ENOMEM;
		src->kids[i] = NULL;
	}
	return 0;
}

/* src (a mapping) into dst (a mapping); src's nodes are moved */
static int merge_map(struct ynode *dst, struct ynode *src, int depth)
{
	for (size_t i = 0; i + 1 < src->n; i += 2) {
		struct ynode *k = src->kids[i], *v = src->kids[i + 1];
		size_t di = 0;
		struct ynode *dv = k->type == YN_SCALAR ? map_val(dst, k->val, &di) : NULL;
		int err = 0;

		if (dv && depth == -1) {
			/* one pattern: the later definition replaces the earlier whole */
			sl_ynode_free(dst->kids[di + 1]);
			dst->kids[di + 1] = v;
			src->kids[i + 1] = NULL;
		} else if (dv && depth == 0 && dv->type == YN_SEQ && v->type == YN_SEQ &&
			   sl_pv_scalar_eq(k, "rules")) {
			err = merge_named(dv, v);
		} else if (dv && dv->type == YN_MAP && v->type == YN_MAP) {
			/* a pattern of the same name is replaced whole, never merged */
			err = merge_map(
			    dv, v, depth == 0 && sl_pv_scalar_eq(k, "patterns") ? -1 : depth + 1);
		} else if (dv && dv->type == YN_SEQ && v->type == YN_SEQ) {
			for (size_t j = 0; j < v->n && !err; j++) {
				err = push(dv, v->kids[j]);
				if (!err)
					v->kids[j] = NULL;
			}
		} else if (dv) {
			/* replaced: the later layer's value, at the earlier one's place */
			sl_ynode_free(dst->kids[di + 1]);
			dst->kids[di + 1] = v;
			src->kids[i + 1] = NULL;
		} else {
			err = push(dst, k);
			if (!err)
				err = push(dst, v);
			if (!err)
				src->kids[i] = src->kids[i + 1] = NULL;
		}
		if (err)
			return err;
	}
	return 0;
}

/* the layer's disable_rules, applied to what the layers before defined */
static int disable_rules(struct layers *l, struct ynode *merged, struct ynode *layer)
{
	size_t idx = 0;
	struct ynode *list = map_val(layer, "disable_rules", &idx);
	struct ynode *rules = map_val(merged, "rules", NULL);
	int ret = 0;

	if (!list)
		return 0;
	if (list->type != YN_SEQ) {
		ret = add_error(l, NULL, list, "disable_rules",
				"expected a list of rule names, found another kind of value");
		goto out;
	}
	for (size_t i = 0; i < list->n; i++) {
		const struct ynode *nm = list->kids[i];
		bool found = false;

		if (nm->type != YN_SCALAR) {
			ret = add_error(l, NULL, nm, "disable_rules",
					"expected a rule name, found another kind of value");
			continue;
		}
		for (size_t j = 0; rules && rules->type == YN_SEQ && j < rules->n; j++) {
			const struct ynode *dn = item_name(rules->kids[j]);

			if (dn && same_scalar(dn, nm)) {
				sl_ynode_free(rules->kids[j]);
				memmove(rules->kids + j, rules->kids + j + 1,
					(rules->n - j - 1) * sizeof(*rules->kids));
				rules->n--;
				found = true;
				break;
			}
		}
		if (!found)
			ret = add_error(l, NULL, nm, "disable_rules",
					"expected the name of a rule of the layers before this one "
					"(extends, the file, earlier drop-ins), found '%.64s'",
					nm->val);
	}
out:
	map_remove(layer, idx);
	return ret;
}

/* the extends chain of path, deepest first, into order[] (indices into l) */
static int chain(struct layers *l, const char *path, int depth, char seen[][PATH_MAX],
		 size_t *nseen, struct ynode **merged)
{
	char real[PATH_MAX], dir[PATH_MAX], target[PATH_MAX];
	struct ynode *root = NULL, *ext;
	size_t idx = 0;
	int err;

	if (!realpath(path, real))
		return add_error(l, path, NULL, NULL, "cannot read the policy: %s",
				 strerror(errno));
	for (size_t i = 0; i < *nseen; i++)
		if (!strcmp(seen[i], real))
			return add_error(l, path, NULL, "extends",
					 "expected a chain of extends without a cycle, found '%s' "
					 "extended again",
					 path);
	if (depth > EXTENDS_DEPTH_MAX)
		return add_error(l, path, NULL, "extends",
				 "expected at most %d policies extending one another, found more",
				 EXTENDS_DEPTH_MAX);
	snprintf(seen[(*nseen)++], PATH_MAX, "%s", real);
	err = load_layer(l, path, &root);
	if (err || !root)
		return err;
	ext = map_val(root, "extends", &idx);
	if (ext) {
		if (ext->type != YN_SCALAR || !ext->len || memchr(ext->val, '\0', ext->len))
			return add_error(
			    l, path, ext, "extends",
			    "expected a policy file name (or 'shipped'), found another "
			    "kind of value");
		if (sl_pv_scalar_eq(ext, "shipped")) {
			snprintf(target, sizeof(target), "%s", SL_DEFAULT_POLICY);
		} else if (ext->val[0] == '/') {
			snprintf(target, sizeof(target), "%s", ext->val);
		} else {
			const char *slash;

			snprintf(dir, sizeof(dir), "%s", path);
			slash = strrchr(dir, '/');
			if (slash)
				dir[slash - dir] = '\0';
			else
				snprintf(dir, sizeof(dir), ".");
			if (snprintf(target, sizeof(target), "%s/%s", dir, ext->val) >=
			    (int)sizeof(target))
				return add_error(l, path, ext, "extends",
						 "expected a shorter file name");
		}
		if (access(target, R_OK))
			return add_error(l, path, ext, "extends",
					 "expected a policy file to build on, found '%s': %s",
					 target, strerror(errno));
		err = chain(l, target, depth + 1, seen, nseen, merged);
		if (err)
			return err;
		map_remove(root, idx);
	}
	if (!*merged) {
		/* the first layer: there is nothing before it to disable */
		ext = map_val(root, "disable_rules", &idx);
		if (ext) {
			add_error(l, path, ext, "disable_rules",
				  "expected disable_rules only in a policy that extends another "
				  "(or in a drop-in), found it in the first layer");
			map_remove(root, idx);
		}
		*merged = root;
		l->roots[l->n - 1] = NULL; /* owned by merged now */
		return 0;
	}
	err = disable_rules(l, *merged, root);
	if (err == -ENOMEM)
		return err;
	return merge_map(*merged, root, 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* FILE.d/ for FILE.yaml (or FILE.yml, or FILE) */
static void dropin_dir(const char *path, char *out, size_t size)
{
	size_t n = strlen(path);

	if (n > 5 && !strcmp(path + n - 5, ".yaml"))
		n -= 5;
	else if (n > 4 && !strcmp(path + n - 4, ".yml"))
		n -= 4;
	snprintf(out, size, "%.*s.d", (int)n, path);
}

/* every layer of path read and merged into *merged (errors in l->errs) */
static int build_merged(struct layers *l, const char *path, struct ynode **merged)
{
	char(*seen)[PATH_MAX] = NULL, ddir[PATH_MAX];
	size_t nseen = 0, ndrop = 0;
	char **drops = NULL;
	struct stat st;
	DIR *dh = NULL;
	int err;

	*merged = NULL;
	/* the file itself must be there: its absence is not a policy error */
	if (stat(path, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	l->md = EVP_MD_CTX_new();
	seen = calloc(EXTENDS_DEPTH_MAX + 2, sizeof(*seen));
	if (!l->md || !seen || !EVP_DigestInit_ex(l->md, EVP_sha256(), NULL)) {
		err = -ENOMEM;
		goto out;
	}
	err = chain(l, path, 0, seen, &nseen, merged);
	if (err == -ENOMEM)
		goto out;
	err = 0;
	/* drop-ins, in name order */
	dropin_dir(path, ddir, sizeof(ddir));
	dh = opendir(ddir);
	if (dh) {
		struct dirent *de;

		while ((de = readdir(dh))) {
			size_t n = strlen(de->d_name);
			char **nd;

			if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".yaml"))
				continue;
			nd = realloc(drops, (ndrop + 1) * sizeof(*drops));
			if (!nd) {
				err = -ENOMEM;
				goto out;
			}
			drops = nd;
			if (asprintf(&drops[ndrop], "%s/%s", ddir, de->d_name) < 0) {
				err = -ENOMEM;
				goto out;
			}
			ndrop++;
		}
		qsort(drops, ndrop, sizeof(*drops), cmp_str);
	} else if (errno != ENOENT) {
		add_error(l, ddir, NULL, NULL, "cannot read the drop-in directory: %s",
			  strerror(errno));
	}
	for (size_t i = 0; i < ndrop; i++) {
		struct ynode *root = NULL;
		int e = load_layer(l, drops[i], &root);

		if (e == -ENOMEM) {
			err = e;
			goto out;
		}
		if (e || !root)
			continue;
		if (map_val(root, "extends", NULL)) {
			add_error(l, drops[i], map_val(root, "extends", NULL), "extends",
				  "expected no extends in a drop-in (it adds to '%s'), found one",
				  path);
			continue;
		}
		if (!*merged) {
			*merged = root;
			l->roots[l->n - 1] = NULL;
			continue;
		}
		e = disable_rules(l, *merged, root);
		if (e == -ENOMEM || merge_map(*merged, root, 0)) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (!*merged)
		add_error(
		    l, path, NULL, "(document)",
		    "expected a policy (version, environments, ...), found an empty document");
out:
	if (dh)
		closedir(dh);
	for (size_t i = 0; i < ndrop; i++)
		free(drops[i]);
	free(drops);
	free(seen);
	return err;
}

static void layers_free(struct layers *l, struct ynode *merged)
{
	sl_ynode_free(merged);
	for (size_t i = 0; i < l->n; i++) {
		sl_ynode_free(l->roots[i]);
		free(l->files[i]);
	}
	EVP_MD_CTX_free(l->md);
}

/* build and validate; *merged kept for the caller when merged is not NULL */
static int load_layers(const char *path, struct sl_policy **out, struct sl_policy_errors *errs,
		       struct layers *l, struct ynode **merged)
{
	size_t before = errs->total;
	int err;

	l->errs = errs;
	err = build_merged(l, path, merged);
	if (err)
		return err;
	if (errs->total > before)
		return -EINVAL;
	err = sl_policy_load_tree(path, *merged, out, errs);
	if (!err) {
		unsigned int mdlen = 0;
		uint8_t md[32];

		/* one file: its own SHA-256 (as before layers); more: over all of them */
		if (l->n == 1)
			memcpy(md, l->single_sha, sizeof(md));
		else
			EVP_DigestFinal_ex(l->md, md, &mdlen);
		for (int i = 0; i < 32; i++)
			snprintf((*out)->sha256 + 2 * i, 3, "%02x", md[i]);
		(*out)->n_layers = (uint32_t)l->n;
	}
	return err;
}

int sl_policy_load_file(const char *path, struct sl_policy **out, struct sl_policy_errors *errs)
{
	struct sl_policy_errors local;
	struct layers l = {0};
	struct ynode *merged = NULL;
	int err;

	sl_policy_errors_init(&local);
	err = load_layers(path, out, errs ? errs : &local, &l, &merged);
	layers_free(&l, merged);
	sl_policy_errors_free(&local);
	return err;
}

/* ---- the effective policy, as YAML (scopelock policy show) ---- */

static int emit_node(yaml_emitter_t *em, const struct ynode *n)
{
	yaml_event_t ev;

	switch (n->type) {
	case YN_SCALAR:
		if (!yaml_scalar_event_initialize(
			&ev, NULL, NULL, (yaml_char_t *)n->val, (int)n->len, n->plain, !n->plain,
			n->plain ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE))
			return -ENOMEM;
		return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
	case YN_SEQ:
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -EIO;
		for (size_t i = 0; i < n->n; i++)
			if (n->kids[i] && emit_node(em, n->kids[i]))
				return -EIO;
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
	case YN_MAP:
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							 YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -EIO;
		for (size_t i = 0; i + 1 < n->n; i += 2)
			if (n->kids[i] && n->kids[i + 1] &&
			    (emit_node(em, n->kids[i]) || emit_node(em, n->kids[i + 1])))
				return -EIO;
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
	}
	return -EINVAL;
}

static int write_file(void *data, unsigned char *buf, size_t size)
{
	return fwrite(buf, 1, size, data) == size;
}

int sl_policy_show(const char *path, FILE *f, struct sl_policy_errors *errs)
{
	struct sl_policy *p = NULL;
	struct layers l = {0};
	struct ynode *merged = NULL;
	yaml_emitter_t em;
	yaml_event_t ev;
	int err;

	err = load_layers(path, &p, errs, &l, &merged);
	if (err)
		goto out;
	fprintf(f,
		"# the effective policy of %s (sha256 %s): %zu file%s, read in this order and\n"
		"# merged as the extends chain (deepest first), the file, its drop-ins:\n",
		path, p->sha256, l.n, l.n == 1 ? "" : "s");
	for (size_t i = 0; i < l.n; i++)
		fprintf(f, "#   %s\n", l.files[i]);
	if (!yaml_emitter_initialize(&em)) {
		err = -ENOMEM;
		goto out;
	}
	yaml_emitter_set_output(&em, write_file, f);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, 100);
	err = -EIO;
	if (yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
	    yaml_emitter_emit(&em, &ev) &&
	    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
	    yaml_emitter_emit(&em, &ev) && !emit_node(&em, merged) &&
	    yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
	    yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev))
		err = 0;
	yaml_emitter_delete(&em);
out:
	sl_policy_free(p);
	layers_free(&l, merged);
	return err;
}
