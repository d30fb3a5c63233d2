// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Policy error list: every error with file, line, column and field. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

void sl_policy_errors_init(struct sl_policy_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
}

void sl_policy_errors_free(struct sl_policy_errors *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->v[i].file);
		free(errs->v[i].field);
		free(errs->v[i].message);
	}
	free(errs->v);
	sl_policy_errors_init(errs);
}

size_t sl_policy_errors_count(const struct sl_policy_errors *errs)
{
	return errs ? errs->n : 0;
}

size_t sl_policy_errors_total(const struct sl_policy_errors *errs)
{
	return errs ? errs->total : 0;
}

const struct sl_policy_error *sl_policy_errors_get(const struct sl_policy_errors *errs, size_t i)
{
	if (!errs || i >= errs->n)
		return NULL;
	return &errs->v[i];
}

int sl_policy_error_format(const struct sl_policy_error *e, char *buf, size_t size)
{
	return snprintf(buf, size, "%s:%u:%u: field '%s': %s", e->file, e->line, e->column,
			e->field, e->message);
}

void sl_policy_errors_print(const struct sl_policy_errors *errs, FILE *f)
{
	const struct sl_policy_error *e;

	sl_policy_errors_foreach(errs, e)
	{
		fprintf(f, "%s:%u:%u: field '%s': %s\n", e->file, e->line, e->column, e->field,
			e->message);
	}
	if (errs && errs->total > errs->n)
		fprintf(f, "%s: %zu more errors not shown (at most %u are kept)\n",
			errs->n ? errs->v[0].file : "policy", errs->total - errs->n,
			SL_POLICY_MAX_ERRORS);
}

int sl_perr_vadd(struct sl_policy_errors *errs, const char *file, uint32_t line, uint32_t col,
		 const char *field, const char *fmt, va_list ap)
{
	struct sl_policy_error e = {0};
	char *msg = NULL;

	if (!errs)
		return 0;
	errs->total++;
	if (errs->n >= SL_POLICY_MAX_ERRORS)
		return 0;
	if (errs->n == errs->alloc) {
		size_t na = errs->alloc ? errs->alloc * 2 : 8;
		struct sl_policy_error *nv = realloc(errs->v, na * sizeof(*nv));

		if (!nv)
			goto nomem;
		errs->v = nv;
		errs->alloc = na;
	}
	if (vasprintf(&msg, fmt, ap) < 0) {
		msg = NULL;
		goto nomem;
	}
	e.file = strdup(file ? file : "policy");
	e.field = strdup(field && *field ? field : "(document)");
	e.message = msg;
	e.line = line ? line : 1;
	e.column = col ? col : 1;
	if (!e.file || !e.field)
		goto nomem;
	errs->v[errs->n++] = e;
	return 0;
nomem:
	free(e.file);
	free(e.field);
	free(msg);
	return -ENOMEM;
}

int sl_perr_add(struct sl_policy_errors *errs, const char *file, uint32_t line, uint32_t col,
		const char *field, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = sl_perr_vadd(errs, file, line, col, field, fmt, ap);
	va_end(ap);
	return err;
}

void sl_perr_quote(const void *s, size_t len, size_t max, char *out, size_t outsz)
{
	const unsigned char *p = s;
	size_t o = 0;

	if (outsz < 8) {
		if (outsz)
			out[0] = '\0';
		return;
	}
	out[o++] = '\'';
	for (size_t i = 0; i < len; i++) {
		char tmp[8];
		size_t tl;

		/* cut at max, but not inside a UTF-8 sequence */
		if (i >= max && (p[i] & 0xc0) != 0x80) {
			if (o + 4 < outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (p[i] == '\\' || p[i] == '\'')
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", p[i]);
		else if (p[i] == '\n')
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
		else if (p[i] == '\t')
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\t");
		else if (p[i] < 0x20 || p[i] == 0x7f)
			tl = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
		else
			tl = (size_t)snprintf(tmp, sizeof(tmp), "%c", p[i]);
		if (o + tl + 2 >= outsz) {
			/* keep room for "...'" */
			if (o + 4 < outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	out[o++] = '\'';
	out[o] = '\0';
}
