/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Lossless JSON encoding of arbitrary bytes (docs/events.md, "bytes values"):
 * bytes that are valid UTF-8 become a JSON string (NUL and control bytes as
 * \u escapes); anything else becomes {"b64":"<standard base64>"}. A reader
 * can always get the exact bytes back, and the two forms cannot be confused.
 */
#ifndef SL_JSONBYTES_H
#define SL_JSONBYTES_H

#include <stddef.h>
#include <jansson.h>

/* new reference, or NULL on allocation failure */
json_t *sl_json_bytes(const void *buf, size_t len);
/* obj[key] = sl_json_bytes(buf, len); 0 or -ENOMEM */
int sl_json_set_bytes(json_t *obj, const char *key, const void *buf, size_t len);
/* split buf at NUL bytes into an array of bytes values (argv from the kernel:
 * a trailing NUL ends the last string, it does not start an empty one) */
json_t *sl_json_argv(const void *buf, size_t len);
/*
 * Decode a bytes value back: *out is malloc'd (NUL-terminated for
 * convenience), *len its length. 0, -EINVAL (not a bytes value) or -ENOMEM.
 */
int sl_json_bytes_decode(const json_t *v, char **out, size_t *len);

#endif
