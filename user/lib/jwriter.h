/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * A JSON record written straight into a byte buffer: the journal's fast path
 * (no tree per record). Members are appended in the order written; nesting
 * is by begin/end pairs. Every bytes value and every string value passes the
 * writer's filter first (the daemon's redaction: a secret value never reaches
 * the buffer, whatever member or nesting it is in, because there is no list
 * of member names to forget); keys are the program's own names and are not
 * filtered.
 *
 *	struct sl_jw w;
 *
 *	sl_jw_init(&w, filter, ctx);
 *	sl_jw_str(&w, "type", "open");
 *	sl_jw_bytes(&w, "path", path, len);   a JSON string, or {"b64":...}
 *	sl_jw_obj(&w, "peer"); sl_jw_int(&w, "port", 443); sl_jw_end(&w);
 *	sl_jw_members(&w, &text, &len);       "type":"open","path":...
 *	sl_jw_reset(&w);                      reuse the buffer for the next one
 *	sl_jw_free(&w);
 *
 * The result is the record's members without the outer braces (the audit
 * log adds seq, prev and hash around them). Bytes values follow
 * docs/events.md, "Bytes values": valid UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, at most U+10FFFF) becomes a JSON string, anything else
 * {"b64": standard base64}. An allocation failure or a misuse (end without
 * begin, nesting deeper than SL_JW_DEPTH) sticks in w.err: every later call
 * does nothing and sl_jw_members() returns it.
 */
#ifndef SL_JWRITER_H
#define SL_JWRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define SL_JW_DEPTH 16

/*
 * The filter of string and bytes values: return in (len) unchanged, or set
 * *out to a replacement of *outlen bytes that stays valid until the next
 * call with the same ctx. 0, or -errno (sticks in w.err).
 */
typedef int (*sl_jw_filter)(void *ctx, const void *in, size_t len, const void **out,
			    size_t *outlen);

struct sl_jw {
	char *buf;
	size_t len, cap;
	int err;
	unsigned int depth;
	bool first[SL_JW_DEPTH + 1]; /* no member yet at this level */
	bool array[SL_JW_DEPTH + 1]; /* the level is an array (no keys) */
	sl_jw_filter filter;
	void *filter_ctx;
	/* the next value is a piece of a stream (sl_jw_stream); the filter may look */
	bool stream;
};

void sl_jw_init(struct sl_jw *w, sl_jw_filter filter, void *ctx);
/* empty again, same buffer and filter */
void sl_jw_reset(struct sl_jw *w);
void sl_jw_free(struct sl_jw *w);

/* key: the member name (NULL inside an array) */
void sl_jw_str(struct sl_jw *w, const char *key, const char *s); /* NULL: null */
void sl_jw_bytes(struct sl_jw *w, const char *key, const void *data, size_t len);
void sl_jw_int(struct sl_jw *w, const char *key, int64_t v);
void sl_jw_uint(struct sl_jw *w, const char *key, uint64_t v); /* > INT64_MAX: a string */
void sl_jw_bool(struct sl_jw *w, const char *key, bool v);
void sl_jw_null(struct sl_jw *w, const char *key);
/* a jansson value, as it is (strings filtered, and bytes objects' contents) */
void sl_jw_json(struct sl_jw *w, const char *key, const json_t *v);
void sl_jw_obj(struct sl_jw *w, const char *key);
void sl_jw_arr(struct sl_jw *w, const char *key);
void sl_jw_end(struct sl_jw *w);
/*
 * The next string or bytes value is a piece of a stream (one TLS write, a
 * capture cut at its limit): w->stream is true while the filter sees it
 * (the journal's redactor then also redacts a credential's pieces at its
 * edges), false again after it.
 */
void sl_jw_stream(struct sl_jw *w);

/* the members written so far (all levels closed); 0 or the sticky error */
int sl_jw_members(const struct sl_jw *w, const char **text, size_t *len);

/* RFC 3629 UTF-8 without NUL restrictions: what becomes a JSON string */
bool sl_utf8_valid(const void *data, size_t len);

#endif
