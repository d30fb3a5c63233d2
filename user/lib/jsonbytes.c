// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Lossless JSON encoding of arbitrary bytes (docs/events.md, "Bytes values").
 * UTF-8 validity is jansson's decision: json_stringn() refuses invalid UTF-8
 * (overlong forms, surrogates, truncated sequences) by returning NULL, and
 * then the bytes go out as {"b64": ...} (OpenSSL's base64, no line breaks).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "jsonbytes.h"

#define B64_KEY "b64"

static json_t *b64_value(const void *buf, size_t len)
{
	json_t *obj = NULL, *str;
	size_t outlen;
	char *out;

	/* EVP_EncodeBlock takes an int length */
	if (len > (size_t)INT32_MAX / 4 * 3)
		return NULL;
	outlen = (len + 2) / 3 * 4;
	out = malloc(outlen + 1);
	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
	str = json_stringn_nocheck(out, outlen);
	free(out);
	if (!str)
		return NULL;
	obj = json_object();
	if (!obj || json_object_set_new(obj, B64_KEY, str)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *sl_json_bytes(const void *buf, size_t len)
{
	json_t *v;

	if (!buf)
		buf = "";
	v = json_stringn(buf, len);
	if (v)
		return v;
	/* not UTF-8 (or out of memory: then base64 fails as well) */
	return b64_value(buf, len);
}

int sl_json_set_bytes(json_t *obj, const char *key, const void *buf, size_t len)
{
	json_t *v = sl_json_bytes(buf, len);

	if (!v)
		return -ENOMEM;
	/* _new steals the reference even on failure */
	if (json_object_set_new(obj, key, v))
		return -ENOMEM;
	return 0;
}

json_t *sl_json_argv(const void *buf, size_t len)
{
	const char *p = buf, *end = p + len;
	json_t *arr = json_array();

	if (!arr)
		return NULL;
	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);
		json_t *v = sl_json_bytes(p, n);

		if (!v || json_array_append_new(arr, v)) {
			json_decref(arr);
			return NULL;
		}
		p += n + (nul ? 1 : 0);
	}
	return arr;
}

static int b64_decode(const char *in, size_t inlen, char **out, size_t *len)
{
	unsigned char *buf = NULL;
	char *check = NULL;
	size_t pad = 0;
	int n, err;

	/* canonical standard base64 only: padded, no whitespace */
	if (inlen % 4 || inlen > (size_t)INT32_MAX)
		return -EINVAL;
	if (inlen && in[inlen - 1] == '=')
		pad++;
	if (inlen > 1 && in[inlen - 2] == '=')
		pad++;
	buf = malloc(inlen / 4 * 3 + 1);
	check = malloc(inlen + 1);
	if (!buf || !check) {
		err = -ENOMEM;
		goto out;
	}
	n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)inlen);
	if (n < 0 || (size_t)n < pad) {
		err = -EINVAL;
		goto out;
	}
	n -= (int)pad;
	/*
	 * EVP_DecodeBlock trims surrounding blanks and ignores non-zero
	 * padding bits; encoding back and comparing makes the form unique.
	 */
	EVP_EncodeBlock((unsigned char *)check, buf, n);
	if (memcmp(check, in, inlen)) {
		err = -EINVAL;
		goto out;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	*len = (size_t)n;
	buf = NULL;
	err = 0;
out:
	free(buf);
	free(check);
	return err;
}

int sl_json_bytes_decode(const json_t *v, char **out, size_t *len)
{
	const json_t *b64;
	char *buf;

	if (json_is_string(v)) {
		size_t n = json_string_length(v);

		buf = malloc(n + 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, json_string_value(v), n);
		buf[n] = '\0';
		*out = buf;
		*len = n;
		return 0;
	}
	if (!json_is_object(v) || json_object_size(v) != 1)
		return -EINVAL;
	b64 = json_object_get(v, B64_KEY);
	if (!json_is_string(b64))
		return -EINVAL;
	return b64_decode(json_string_value(b64), json_string_length(b64), out, len);
}
