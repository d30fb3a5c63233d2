// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Content decoding of request bodies (user/lib/reqdec.h): gzip and deflate
 * (zlib), br (libbrotlidec), zstd (libzstd), stacked in any order. Every
 * decoder allocates from the connection's accounted memory and writes into an
 * output that stops at limits.max_body: a bomb costs at most that much time
 * and memory and is reported, never followed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <brotli/decode.h>
/* ZSTD_customMem: the accounted allocator (exported by libzstd.so) */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include "reqdec_priv.h"

struct outbuf {
	uint8_t *p;
	size_t len, cap, max;
};

/* room for more output: false when max is reached (or no memory: *nomem) */
static bool out_room(struct outbuf *o, bool *nomem)
{
	uint8_t *np;
	size_t nc;

	if (o->len < o->cap)
		return true;
	if (o->cap >= o->max)
		return false;
	nc = o->cap ? o->cap * 2 : 4096;
	if (nc > o->max)
		nc = o->max;
	np = realloc(o->p, nc + 1);
	if (!np) {
		*nomem = true;
		return false;
	}
	o->p = np;
	o->cap = nc;
	return true;
}

#define FAIL(r, ...)                                                                               \
	do {                                                                                       \
		snprintf(detail, dsize, __VA_ARGS__);                                              \
		why = (r);                                                                         \
		goto out;                                                                          \
	} while (0)

static enum sl_rq_reason full(struct outbuf *o, bool nomem, const char *name, char *detail,
			      size_t dsize)
{
	if (nomem) {
		snprintf(detail, dsize, "%s: out of memory", name);
		return SL_RQ_R_NOMEM;
	}
	snprintf(detail, dsize, "%s: body over %zu bytes decoded", name, o->max);
	return SL_RQ_R_LIMIT;
}

static enum sl_rq_reason zlib_stage(struct sl_reqdec *d, int wbits, const char *name,
				    const uint8_t *in, size_t len, struct outbuf *o, char *detail,
				    size_t dsize, size_t *used)
{
	enum sl_rq_reason why = SL_RQ_R_NONE;
	bool nomem = false, ended = false;
	z_stream z = {.zalloc = rd_zalloc, .zfree = rd_zfree, .opaque = d};
	int zr;

	if (inflateInit2(&z, wbits) != Z_OK) {
		snprintf(detail, dsize, "%s: no memory for zlib", name);
		return SL_RQ_R_LIMIT;
	}
	z.next_in = (uint8_t *)in;
	z.avail_in = len;
	for (;;) {
		if (!out_room(o, &nomem)) {
			why = full(o, nomem, name, detail, dsize);
			goto out;
		}
		z.next_out = o->p + o->len;
		z.avail_out = o->cap - o->len;
		zr = inflate(&z, Z_NO_FLUSH);
		o->len = o->cap - z.avail_out;
		if (zr == Z_STREAM_END) {
			ended = true;
			/* gzip: further members are part of the body (as gunzip reads it) */
			if (wbits > 15 && z.avail_in > 0 && z.next_in[0] == 0x1f) {
				inflateReset(&z);
				ended = false;
				continue;
			}
			break;
		}
		if (zr == Z_BUF_ERROR && z.avail_in == 0)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			FAIL(zr == Z_MEM_ERROR ? SL_RQ_R_LIMIT : SL_RQ_R_ENCODING,
			     "%s: %s at body byte %zu", name, z.msg ? z.msg : zError(zr),
			     (size_t)(z.next_in - in));
	}
	if (!ended)
		FAIL(SL_RQ_R_ENCODING, "%s: truncated stream (%zu bytes)", name, len);
	if (z.avail_in > 0)
		FAIL(SL_RQ_R_ENCODING, "%s: %u bytes after the end of the stream", name,
		     z.avail_in);
out:
	*used = (size_t)(z.next_in - in);
	inflateEnd(&z);
	return why;
}

static enum sl_rq_reason deflate_stage(struct sl_reqdec *d, const uint8_t *in, size_t len,
				       struct outbuf *o, char *detail, size_t dsize, size_t *used)
{
	/* "deflate" is zlib-wrapped (RFC 9110 8.4.1.2); some clients send raw
	 * deflate, which servers also accept: a zlib header decides */
	bool zlib = len >= 2 && (in[0] & 0x0f) == 8 && ((in[0] << 8) | in[1]) % 31 == 0;

	return zlib_stage(d, zlib ? 15 : -15, "deflate", in, len, o, detail, dsize, used);
}

static void *br_alloc(void *opaque, size_t n)
{
	return rd_malloc(opaque, n);
}

static void br_free(void *opaque, void *p)
{
	rd_free(opaque, p);
}

static enum sl_rq_reason br_stage(struct sl_reqdec *d, const uint8_t *in, size_t len,
				  struct outbuf *o, char *detail, size_t dsize, size_t *used)
{
	BrotliDecoderState *s = BrotliDecoderCreateInstance(br_alloc, br_free, d);
	enum sl_rq_reason why = SL_RQ_R_NONE;
	const uint8_t *next_in = in;
	size_t avail_in = len;
	bool nomem = false;

	if (!s) {
		snprintf(detail, dsize, "br: no memory for the decoder");
		return SL_RQ_R_LIMIT;
	}
	for (;;) {
		BrotliDecoderResult br;
		uint8_t *next_out;
		size_t avail_out;

		if (!out_room(o, &nomem)) {
			why = full(o, nomem, "br", detail, dsize);
			goto out;
		}
		next_out = o->p + o->len;
		avail_out = o->cap - o->len;
		br = BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out,
						   NULL);
		o->len = o->cap - avail_out;
		if (br == BROTLI_DECODER_RESULT_SUCCESS)
			break;
		if (br == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT)
			continue;
		if (br == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
			FAIL(SL_RQ_R_ENCODING, "br: truncated stream (%zu bytes)", len);
		FAIL(d->mem_over ? SL_RQ_R_LIMIT : SL_RQ_R_ENCODING, "br: %s at body byte %zu",
		     BrotliDecoderErrorString(BrotliDecoderGetErrorCode(s)),
		     (size_t)(next_in - in));
	}
	if (avail_in > 0)
		FAIL(SL_RQ_R_ENCODING, "br: %zu bytes after the end of the stream", avail_in);
out:
	*used = (size_t)(next_in - in);
	BrotliDecoderDestroyInstance(s);
	return why;
}

static void *zstd_alloc(void *opaque, size_t n)
{
	return rd_malloc(opaque, n);
}

static void zstd_free(void *opaque, void *p)
{
	rd_free(opaque, p);
}

static enum sl_rq_reason zstd_stage(struct sl_reqdec *d, const uint8_t *in, size_t len,
				    struct outbuf *o, char *detail, size_t dsize, size_t *used)
{
	ZSTD_customMem cm = {zstd_alloc, zstd_free, d};
	ZSTD_DCtx *z = ZSTD_createDCtx_advanced(cm);
	ZSTD_inBuffer ib = {in, len, 0};
	enum sl_rq_reason why = SL_RQ_R_NONE;
	bool nomem = false;
	size_t zr = 1;

	if (!z) {
		snprintf(detail, dsize, "zstd: no memory for the decoder");
		return SL_RQ_R_LIMIT;
	}
	/* windows up to 8 MiB (the format's recommended decoder minimum) */
	ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax, 23);
	while (ib.pos < ib.size || zr != 0) {
		ZSTD_outBuffer ob;

		if (!out_room(o, &nomem)) {
			why = full(o, nomem, "zstd", detail, dsize);
			goto out;
		}
		ob = (ZSTD_outBuffer){o->p + o->len, o->cap - o->len, 0};
		zr = ZSTD_decompressStream(z, &ob, &ib);
		o->len += ob.pos;
		if (ZSTD_isError(zr))
			FAIL(ZSTD_getErrorCode(zr) == ZSTD_error_frameParameter_windowTooLarge ||
				     ZSTD_getErrorCode(zr) == ZSTD_error_memory_allocation
				 ? SL_RQ_R_LIMIT
				 : SL_RQ_R_ENCODING,
			     "zstd: %s at body byte %zu", ZSTD_getErrorName(zr), ib.pos);
		if (ib.pos == ib.size && zr != 0 && ob.pos < ob.size)
			FAIL(SL_RQ_R_ENCODING, "zstd: truncated stream (%zu bytes)", len);
	}
out:
	*used = ib.pos;
	ZSTD_freeDCtx(z);
	return why;
}

enum sl_rq_reason rq_decode_body(struct sl_reqdec *d, const char *codings, const uint8_t *in,
				 size_t len, uint8_t **out, size_t *outlen, char *detail,
				 size_t dsize)
{
	char *list[8], *save = NULL, *copy = strdup(codings);
	enum sl_rq_reason why = SL_RQ_R_NONE;
	uint8_t *cur = NULL;
	size_t cur_len = len;
	int n = 0;

	*out = NULL;
	*outlen = 0;
	if (!copy) {
		snprintf(detail, dsize, "out of memory");
		return SL_RQ_R_NOMEM;
	}
	for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		if (strcasecmp(t, "identity") == 0)
			continue;
		if (n == (int)(sizeof(list) / sizeof(list[0])) || n == (int)d->lim.max_encodings) {
			snprintf(detail, dsize, "more than %u content codings",
				 d->lim.max_encodings);
			why = SL_RQ_R_LIMIT;
			goto out;
		}
		list[n++] = t;
	}
	/* undo the last coding applied first */
	for (int i = n - 1; i >= 0; i--) {
		struct outbuf o = {.max = d->lim.max_body};
		const uint8_t *src = cur ? cur : in;
		const char *c = list[i];
		size_t used = 0;

		if (strcasecmp(c, "gzip") == 0 || strcasecmp(c, "x-gzip") == 0)
			why =
			    zlib_stage(d, 15 + 16, "gzip", src, cur_len, &o, detail, dsize, &used);
		else if (strcasecmp(c, "deflate") == 0)
			why = deflate_stage(d, src, cur_len, &o, detail, dsize, &used);
		else if (strcasecmp(c, "br") == 0)
			why = br_stage(d, src, cur_len, &o, detail, dsize, &used);
		else if (strcasecmp(c, "zstd") == 0)
			why = zstd_stage(d, src, cur_len, &o, detail, dsize, &used);
		else {
			snprintf(detail, dsize, "content coding \"%.40s\" is not decoded", c);
			why = SL_RQ_R_UNSUPPORTED;
		}
		/* the output limit reached at over max_ratio times the input it took */
		if (why == SL_RQ_R_LIMIT && o.len > (1u << 20) &&
		    o.len / (used ? used : 1) > d->lim.max_ratio) {
			size_t l = strlen(detail);

			snprintf(detail + l, dsize - l,
				 " from %zu bytes (ratio over %u: a decompression bomb)", used,
				 d->lim.max_ratio);
			why = SL_RQ_R_BOMB;
		}
		free(cur);
		cur = o.p;
		cur_len = o.len;
		if (!cur && why == SL_RQ_R_NONE) {
			/* an empty body */
			cur = malloc(1);
			if (!cur) {
				snprintf(detail, dsize, "out of memory");
				why = SL_RQ_R_NOMEM;
			}
		}
		if (why != SL_RQ_R_NONE)
			break;
	}
	if (cur) {
		cur[cur_len] = '\0';
		*out = cur;
		*outlen = cur_len;
	}
out:
	free(copy);
	return why;
}
