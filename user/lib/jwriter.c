// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * JSON records straight into a buffer: jwriter.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "jsonbytes.h"
#include "jwriter.h"

#define JW_INITIAL 4096

void sl_jw_init(struct sl_jw *w, sl_jw_filter filter, void *ctx)
{
	memset(w, 0, sizeof(*w));
	w->filter = filter;
	w->filter_ctx = ctx;
	w->first[0] = true;
}

void sl_jw_reset(struct sl_jw *w)
{
	w->len = 0;
	w->err = 0;
	w->depth = 0;
	w->first[0] = true;
	w->array[0] = false;
}

void sl_jw_free(struct sl_jw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

static bool grow(struct sl_jw *w, size_t n);

/* room for n more bytes (the common case inline) */
static inline bool room(struct sl_jw *w, size_t n)
{
	if (w->err)
		return false;
	if (w->len + n <= w->cap)
		return true;
	return grow(w, n);
}

static bool grow(struct sl_jw *w, size_t n)
{
	size_t cap;
	char *b;

	cap = w->cap ? w->cap : JW_INITIAL;
	while (cap < w->len + n) {
		if (cap > SIZE_MAX / 2) {
			w->err = -ENOMEM;
			return false;
		}
		cap *= 2;
	}
	b = realloc(w->buf, cap);
	if (!b) {
		w->err = -ENOMEM;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

static void put(struct sl_jw *w, const void *p, size_t n)
{
	if (room(w, n)) {
		memcpy(w->buf + w->len, p, n);
		w->len += n;
	}
}

static void putc1(struct sl_jw *w, char c)
{
	if (room(w, 1))
		w->buf[w->len++] = c;
}

bool sl_utf8_valid(const void *data, size_t len)
{
	const uint8_t *s = data, *end;

	if (!len)
		return true; /* data may be NULL */
	end = s + len;

	while (s < end) {
		uint8_t c = *s;
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false; /* continuation byte, 0xc0/0xc1, 0xf5.. */
		}
		if ((size_t)(end - s) <= n)
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/* a byte of x is zero */
#define HAS_ZERO(x) (((x)-ONES) & ~(x)&HIGHS)

/*
 * Printable ASCII without '"' and '\\': written as it is. Eight bytes at a
 * time: no byte >= 0x80, < 0x20, '"' or '\\'.
 */
static bool plain_ascii(const char *s, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t x;

		memcpy(&x, s + i, 8);
		if ((x & HIGHS) || ((x - 0x2020202020202020ULL) & ~x & HIGHS) ||
		    HAS_ZERO(x ^ 0x2222222222222222ULL) || HAS_ZERO(x ^ 0x5c5c5c5c5c5c5c5cULL))
			return false;
	}
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
			return false;
	}
	return true;
}

/* a JSON string of plain ASCII: quotes around it */
static void put_plain(struct sl_jw *w, const char *s, size_t len)
{
	if (room(w, len + 2)) {
		w->buf[w->len] = '"';
		memcpy(w->buf + w->len + 1, s, len);
		w->buf[w->len + 1 + len] = '"';
		w->len += len + 2;
	}
}

/* a JSON string of valid UTF-8 bytes: quotes, escapes */
static void put_string(struct sl_jw *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	putc1(w, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[6];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(w, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		default:
			u[0] = '\\';
			u[1] = 'u';
			u[2] = '0';
			u[3] = '0';
			u[4] = hex[c >> 4];
			u[5] = hex[c & 15];
			put(w, u, 6);
			continue;
		}
		put(w, esc, 2);
	}
	put(w, s + run, len - run);
	putc1(w, '"');
}

static void put_key(struct sl_jw *w, const char *key);

/* the separator and the key of the next member */
static void member(struct sl_jw *w, const char *key)
{
	if (w->err)
		return;
	if (!w->first[w->depth])
		putc1(w, ',');
	w->first[w->depth] = false;
	if (w->array[w->depth])
		return;
	if (!key) {
		w->err = -EINVAL;
		return;
	}
	put_key(w, key);
}

/* "key": copied as it is when it is plain ASCII (the daemon's keys are), escaped otherwise */
static void put_key(struct sl_jw *w, const char *key)
{
	size_t n = strlen(key);

	if (!plain_ascii(key, n)) {
		put_string(w, key, n);
		putc1(w, ':');
		return;
	}
	if (!room(w, n + 3))
		return;
	w->buf[w->len] = '"';
	memcpy(w->buf + w->len + 1, key, n);
	w->buf[w->len + 1 + n] = '"';
	w->buf[w->len + 2 + n] = ':';
	w->len += n + 3;
}

static void filtered(struct sl_jw *w, const void *in, size_t len, const void **out, size_t *outlen)
{
	*out = in;
	*outlen = len;
	if (!w->err && w->filter)
		w->err = w->filter(w->filter_ctx, in, len, out, outlen);
	w->stream = false;
}

void sl_jw_stream(struct sl_jw *w)
{
	w->stream = true;
}

static void put_bytes(struct sl_jw *w, const void *data, size_t len)
{
	const void *p;
	size_t n;

	filtered(w, data ? data : "", data ? len : 0, &p, &n);
	if (w->err)
		return;
	if (plain_ascii(p, n)) {
		put_plain(w, p, n);
		return;
	}
	if (sl_utf8_valid(p, n)) {
		put_string(w, p, n);
		return;
	}
	if (n > (size_t)INT32_MAX / 4 * 3) {
		w->err = -E2BIG;
		return;
	}
	put(w, "{\"b64\":\"", 8);
	if (room(w, (n + 2) / 3 * 4 + 1)) {
		/* EVP_EncodeBlock writes a NUL after the text */
		w->len += (size_t)EVP_EncodeBlock((unsigned char *)w->buf + w->len, p, (int)n);
	}
	put(w, "\"}", 2);
}

void sl_jw_str(struct sl_jw *w, const char *key, const char *s)
{
	if (!s) {
		sl_jw_null(w, key);
		return;
	}
	member(w, key);
	put_bytes(w, s, strlen(s));
}

void sl_jw_bytes(struct sl_jw *w, const char *key, const void *data, size_t len)
{
	member(w, key);
	put_bytes(w, data, len);
}

/* decimal digits of v at the end of b[24]; returns where they begin */
static char *u64_text(uint64_t v, char b[24])
{
	char *p = b + 24;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

void sl_jw_int(struct sl_jw *w, const char *key, int64_t v)
{
	char b[24], *p = u64_text(v < 0 ? -(uint64_t)v : (uint64_t)v, b);

	if (v < 0)
		*--p = '-';
	member(w, key);
	put(w, p, (size_t)(b + 24 - p));
}

void sl_jw_uint(struct sl_jw *w, const char *key, uint64_t v)
{
	char b[24], *p = u64_text(v, b);
	int n = (int)(b + 24 - p);

	memmove(b, p, (size_t)n);

	member(w, key);
	/* past int64 a JSON reader may not hold it (jansson cannot): a string */
	if (v > INT64_MAX) {
		putc1(w, '"');
		put(w, b, (size_t)n);
		putc1(w, '"');
		return;
	}
	put(w, b, (size_t)n);
}

void sl_jw_bool(struct sl_jw *w, const char *key, bool v)
{
	member(w, key);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void sl_jw_null(struct sl_jw *w, const char *key)
{
	member(w, key);
	put(w, "null", 4);
}

static void open_level(struct sl_jw *w, const char *key, char c, bool array)
{
	member(w, key);
	if (w->err)
		return;
	if (w->depth >= SL_JW_DEPTH) {
		w->err = -E2BIG;
		return;
	}
	putc1(w, c);
	w->depth++;
	w->first[w->depth] = true;
	w->array[w->depth] = array;
}

void sl_jw_obj(struct sl_jw *w, const char *key)
{
	open_level(w, key, '{', false);
}

void sl_jw_arr(struct sl_jw *w, const char *key)
{
	open_level(w, key, '[', true);
}

void sl_jw_end(struct sl_jw *w)
{
	if (w->err)
		return;
	if (!w->depth) {
		w->err = -EINVAL;
		return;
	}
	putc1(w, w->array[w->depth] ? ']' : '}');
	w->depth--;
}

void sl_jw_json(struct sl_jw *w, const char *key, const json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (w->err)
		return;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		char *bytes = NULL;
		size_t n;

		/* a bytes value in base64: its contents are filtered as well */
		if (json_object_size(v) == 1 && json_object_get(v, "b64") &&
		    !sl_json_bytes_decode(v, &bytes, &n)) {
			sl_jw_bytes(w, key, bytes, n);
			free(bytes);
			return;
		}
		sl_jw_obj(w, key);
		json_object_foreach ((json_t *)v, k, x)
			sl_jw_json(w, k, x);
		sl_jw_end(w);
		return;
	}
	case JSON_ARRAY:
		sl_jw_arr(w, key);
		json_array_foreach (v, i, x)
			sl_jw_json(w, NULL, x);
		sl_jw_end(w);
		return;
	case JSON_STRING:
		sl_jw_bytes(w, key, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		sl_jw_int(w, key, (int64_t)json_integer_value(v));
		return;
	case JSON_REAL: {
		char b[40];
		int n = snprintf(b, sizeof(b), "%.17g", json_real_value(v));

		member(w, key);
		put(w, b, (size_t)n);
		return;
	}
	case JSON_TRUE:
	case JSON_FALSE:
		sl_jw_bool(w, key, json_is_true(v));
		return;
	default:
		sl_jw_null(w, key);
		return;
	}
}

int sl_jw_members(const struct sl_jw *w, const char **text, size_t *len)
{
	if (w->err)
		return w->err;
	if (w->depth)
		return -EINVAL;
	*text = w->buf ? w->buf : "";
	*len = w->len;
	return 0;
}
