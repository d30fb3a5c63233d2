// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Credential positions in text (credpos.h): one pass; each byte that can
 * end a name (':', '=', '"') or begin a line or an option looks back or
 * ahead a bounded number of bytes, and a value found is skipped whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "credpos.h"

static bool name_byte(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static bool blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool lower_or_digit(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* name in lowercase with '-' as '_'; false when it is too long or empty */
static bool canon(const char *name, size_t len, char *out)
{
	if (!len || len > SL_CREDPOS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		out[i] = c == '-' ? '_' : (char)(upper(c) ? c - 'A' + 'a' : c);
	}
	out[len] = '\0';
	return true;
}

static bool ends_with(const char *s, size_t len, const char *suf, size_t *at)
{
	size_t n = strlen(suf);

	if (n > len || memcmp(s + len - n, suf, n))
		return false;
	*at = len - n;
	return true;
}

struct word {
	const char *s;
	size_t len;
};

#define W(x)                                                                                       \
	{                                                                                          \
		x, sizeof(x) - 1                                                                   \
	}

bool sl_credpos_secret_name(const char *name, size_t len)
{
	static const struct word exact[] = {
	    W("password"), W("passwd"), W("secret"), W("token"),       W("apikey"),
	    W("api_key"),  W("auth"),	W("cookie"), W("credentials"), W("authorization"),
	};
	static const struct word suffixes[] = {
	    W("token"),	     W("secret"),	 W("password"),	 W("passwd"),	 W("pass"),
	    W("pwd"),	     W("credentials"),	 W("apikey"),	 W("api_key"),	 W("secret_key"),
	    W("access_key"), W("private_key"),	 W("secretkey"), W("accesskey"), W("privatekey"),
	    W("cookie"),     W("authorization"),
	};
	char c[SL_CREDPOS_NAME_MAX + 1];
	size_t at;
	bool all_upper = true;

	if (!canon(name, len, c))
		return false;
	/* every word ends with one of these: most names are out at once */
	if (!strchr("ntdsyeh", c[len - 1]))
		return false;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (exact[i].len == len && !memcmp(c, exact[i].s, len))
			return true;
	/* pagination cursors, and an option that says there is none */
	if (ends_with(c, len, "page_token", &at) || ends_with(c, len, "pagetoken", &at) ||
	    !strncmp(c, "no_", 3))
		return false;
	if (ends_with(c, len, "password", &at))
		return true; /* PGPASSWORD, dbpassword */
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		const struct word *w = &suffixes[i];

		if (w->len >= len || w->s[w->len - 1] != c[len - 1] ||
		    memcmp(c + len - w->len, w->s, w->len))
			continue;
		at = len - w->len;
		/* after '_' or '-', or at a camel boundary (accessToken) */
		if (c[at - 1] == '_' ||
		    (upper((unsigned char)name[at]) && lower_or_digit((unsigned char)name[at - 1])))
			return true;
	}
	for (size_t i = 0; i < len; i++)
		if (!upper((unsigned char)name[i]) && name[i] != '_' &&
		    !(name[i] >= '0' && name[i] <= '9'))
			all_upper = false;
	return all_upper && ends_with(c, len, "_key", &at) && at;
}

/* a header name whose value is a credential */
static bool header_name(const char *name, size_t len)
{
	char c[SL_CREDPOS_NAME_MAX + 1];

	if (sl_credpos_secret_name(name, len))
		return true;
	if (!canon(name, len, c))
		return false;
	return strstr(c, "token") || strstr(c, "secret") || strstr(c, "api_key") ||
	       strstr(c, "apikey") || strstr(c, "password");
}

static int push(struct sl_credpos_spans *sp, size_t a, size_t b)
{
	if (sp->n == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 8;
		struct sl_credpos_span *v = realloc(sp->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		sp->v = v;
		sp->cap = cap;
	}
	sp->v[sp->n++] = (struct sl_credpos_span){.a = a, .b = b};
	return 0;
}

struct scan {
	const unsigned char *d;
	size_t len, min;
	struct sl_credpos_spans *sp;
	int err;
};

/*
 * A value [a, b) found: kept when long enough and not a label the redactor
 * wrote already. Returns b (where the scan goes on), 0 for an empty value.
 * A value too short is passed over too: what it holds is shorter still, and
 * no byte is looked at by two value scans (linear time).
 */
static size_t found(struct scan *s, size_t a, size_t b)
{
	if (b <= a)
		return 0;
	if (b - a < s->min || (b - a >= 7 && !memcmp(s->d + a, "[secret", 7)))
		return b;
	if (push(s->sp, a, b)) {
		s->err = -ENOMEM;
		return 0;
	}
	return b;
}

/* an unquoted or quoted value at i: its bounds (quotes excluded) */
static void word_at(const struct scan *s, size_t i, size_t *a, size_t *b)
{
	const unsigned char *d = s->d;
	size_t j;

	if (i < s->len && (d[i] == '\'' || d[i] == '"')) {
		const unsigned char *q = memchr(d + i + 1, d[i], s->len - i - 1);

		*a = i + 1;
		*b = q ? (size_t)(q - d) : s->len;
		return;
	}
	for (j = i; j < s->len; j++)
		if (blank(d[j]) || d[j] == '&' || d[j] == ';' || d[j] == '\'' || d[j] == '"')
			break;
	*a = i;
	*b = j;
}

/*
 * A header line at i (the start of the data, of a line, or after a quote
 * q): "Name: value", up to the end of the line or q ('\\' after an escaped
 * "\n"). Returns where the scan goes on, 0 when it is not one.
 */
static size_t header_at(struct scan *s, size_t i, unsigned char q)
{
	const unsigned char *d = s->d;
	size_t j = i, a, b;
	bool auth;

	while (j < s->len && j - i <= SL_CREDPOS_NAME_MAX && name_byte(d[j]))
		j++;
	if (j == i || j >= s->len || d[j] != ':' || !header_name((const char *)d + i, j - i))
		return 0;
	auth = (j - i == 13 && !strncasecmp((const char *)d + i, "authorization", 13)) ||
	       (j - i == 19 && !strncasecmp((const char *)d + i, "proxy-authorization", 19));
	a = j + 1;
	while (a < s->len && (d[a] == ' ' || d[a] == '\t'))
		a++;
	for (b = a; b < s->len; b++)
		if (d[b] == '\r' || d[b] == '\n' || (q && d[b] == q))
			break;
	while (b > a && (d[b - 1] == ' ' || d[b - 1] == '\t'))
		b--;
	if (auth) {
		/* "Bearer X", "Basic X": the part after the scheme word */
		size_t k = a;

		while (k < b && name_byte(d[k]))
			k++;
		if (k > a && k < b && d[k] == ' ') {
			while (k < b && d[k] == ' ')
				k++;
			a = k;
		}
	}
	return found(s, a, b);
}

/* scheme://user:PASSWORD@ at i (after "://") */
static size_t userinfo_at(struct scan *s, size_t i)
{
	const unsigned char *d = s->d;
	size_t colon = 0;

	for (size_t j = i; j < s->len && j - i < SL_CREDPOS_USERINFO_MAX; j++) {
		unsigned char c = d[j];

		if (c == '@')
			return colon ? found(s, colon + 1, j) : 0;
		if (c == '/' || c == '?' || c == '#' || c == '<' || c == '>' || c == '\'' ||
		    c == '"' || blank(c))
			return 0;
		if (c == ':' && !colon)
			colon = j;
	}
	return 0;
}

/* NAME=VALUE, --name=VALUE at i (the '=') */
static size_t assign_at(struct scan *s, size_t i)
{
	const unsigned char *d = s->d;
	size_t k = i, a, b;

	while (k > 0 && i - k < SL_CREDPOS_NAME_MAX && name_byte(d[k - 1]))
		k--;
	if (k > 0 && name_byte(d[k - 1]))
		return 0; /* longer than a name */
	while (k < i && d[k] == '-')
		k++;
	if (k == i || !sl_credpos_secret_name((const char *)d + k, i - k))
		return 0;
	word_at(s, i + 1, &a, &b);
	return found(s, a, b);
}

/* "--name VALUE" at i (the first '-', at a word's start) */
static size_t option_at(struct scan *s, size_t i)
{
	const unsigned char *d = s->d;
	size_t j = i + 2, a, b;

	while (j < s->len && j - i <= SL_CREDPOS_NAME_MAX && name_byte(d[j]))
		j++;
	if (j >= s->len || d[j] != ' ' ||
	    !sl_credpos_secret_name((const char *)d + i + 2, j - i - 2))
		return 0;
	while (j < s->len && d[j] == ' ')
		j++;
	if (j >= s->len || d[j] == '-')
		return 0; /* another option: this one took no value */
	word_at(s, j, &a, &b);
	return found(s, a, b);
}

/* a JSON member "NAME": "VALUE" at i (the quote closing NAME) */
static size_t json_at(struct scan *s, size_t i)
{
	const unsigned char *d = s->d;
	size_t j = i + 1, k, a;

	while (j < s->len && blank(d[j]))
		j++;
	if (j >= s->len || d[j] != ':')
		return 0;
	for (j++; j < s->len && blank(d[j]);)
		j++;
	if (j >= s->len || d[j] != '"')
		return 0;
	for (k = i; k > 0 && i - k <= SL_CREDPOS_NAME_MAX; k--)
		if (d[k - 1] == '"')
			break;
	if (k == 0 || d[k - 1] != '"' || !sl_credpos_secret_name((const char *)d + k, i - k))
		return 0;
	a = j + 1;
	for (j = a; j < s->len && d[j] != '"'; j++)
		if (d[j] == '\\')
			j++;
	return found(s, a, j < s->len ? j : s->len);
}

/* bytes that may trigger a position (T_AT), or begin a line after them (T_AFTER) */
#define T_AT 1
#define T_AFTER 2
static const unsigned char trig[256] = {
    [':'] = T_AT,     ['='] = T_AT,	['-'] = T_AT,	  ['"'] = T_AT | T_AFTER,
    ['\n'] = T_AFTER, ['\r'] = T_AFTER, ['\''] = T_AFTER, ['n'] = T_AFTER,
};

int sl_credpos_scan(const void *data, size_t len, size_t min_len, struct sl_credpos_spans *sp)
{
	struct scan s = {.d = data, .len = len, .min = min_len ? min_len : 1, .sp = sp};
	const unsigned char *d = data;

	sp->n = 0;
	for (size_t i = 0; i < len && !s.err;) {
		unsigned char p;
		size_t next = 0;

		/* the common case: nothing here */
		if (i && !(trig[d[i]] & T_AT) && !(trig[d[i - 1]] & T_AFTER)) {
			i++;
			continue;
		}
		p = i ? d[i - 1] : '\n';
		/* a line's start: the data's, after a newline (or "\n"), or a quote */
		if (p == '\n' || p == '\r' || p == '\'' || p == '"')
			next = header_at(&s, i, p == '\'' || p == '"' ? p : 0);
		else if (p == 'n' && i >= 2 && d[i - 2] == '\\')
			next = header_at(&s, i, '\\');
		if (!next) {
			switch (d[i]) {
			case ':':
				if (i + 2 < len && d[i + 1] == '/' && d[i + 2] == '/')
					next = userinfo_at(&s, i + 3);
				break;
			case '=':
				next = assign_at(&s, i);
				break;
			case '"':
				next = json_at(&s, i);
				break;
			case '-':
				if (i + 1 < len && d[i + 1] == '-' &&
				    (p == '\n' || blank(p) || p == '\'' || p == '"'))
					next = option_at(&s, i);
				break;
			}
		}
		i = next > i ? next : i + 1;
	}
	return s.err;
}

bool sl_credpos_option(const void *data, size_t len)
{
	const char *d = data;

	if (len < 3 || d[0] != '-' || d[1] != '-')
		return false;
	for (size_t i = 2; i < len; i++)
		if (!name_byte((unsigned char)d[i]))
			return false;
	return sl_credpos_secret_name(d + 2, len - 2);
}

void sl_credpos_spans_free(struct sl_credpos_spans *sp)
{
	if (!sp)
		return;
	free(sp->v);
	memset(sp, 0, sizeof(*sp));
}
