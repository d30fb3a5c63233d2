// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The records of audit logs, in the log's order (logread.h). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "logread.h"

static int read_file(const char *prog, const char *path, sl_log_record_fn fn, void *ctx)
{
	struct sl_lines *lr;
	char *line;
	size_t len;
	bool nl;
	int err, n;

	err = sl_lines_open(path, &lr);
	if (err) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(-err));
		return err;
	}
	while ((n = sl_lines_next(lr, &line, &len, &nl)) == 1) {
		json_t *rec = json_loadb(line, len, JSON_ALLOW_NUL, NULL);

		if (json_is_object(rec))
			fn(ctx, rec);
		json_decref(rec);
	}
	err = n < 0 ? n : sl_lines_status(lr, NULL);
	sl_lines_close(lr);
	if (err)
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(-err));
	return err;
}

static int name_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	/* audit.jsonl (the current segment) after the rotated audit-SEQ... ones */
	bool cx = !strcmp(x, "audit.jsonl"), cy = !strcmp(y, "audit.jsonl");

	if (cx != cy)
		return cx ? 1 : -1;
	return strcmp(x, y);
}

int sl_log_read_path(const char *prog, const char *path, sl_log_record_fn fn, void *ctx)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int err = 0;

	/* a segment file (or what cannot be opened: said there) */
	if (!d)
		return read_file(prog, path, fn, ctx);
	while ((e = readdir(d))) {
		char **nn;

		if (strncmp(e->d_name, "audit", 5) || !strstr(e->d_name, ".jsonl"))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || !(nn[n] = strdup(e->d_name))) {
			names = nn ?: names;
			err = -ENOMEM;
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && !err; i++) {
		char *p = NULL;

		if (asprintf(&p, "%s/%s", path, names[i]) < 0)
			err = -ENOMEM;
		else
			err = read_file(prog, p, fn, ctx);
		free(p);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (!err && !n)
		fprintf(stderr, "%s: %s: no audit*.jsonl files\n", prog, path);
	return err ? err : (n ? 0 : -ENOENT);
}
