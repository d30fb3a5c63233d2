/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Inside the request decoder (user/lib/reqdec.h): shared by reqdec_*.c only. */
#ifndef SL_REQDEC_PRIV_H
#define SL_REQDEC_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <http_parser.h>
#include <zlib.h>

#include "reqdec.h"

struct nghttp2_session;

/* a request handed out: the public struct first, so free(r) frees the node */
struct rq_node {
	struct sl_rq r;
	struct rq_node *next;
};

/* a request being received */
struct rq_build {
	struct rq_node *n;
	struct rq_build *next; /* HTTP/2: the open streams */
	int32_t stream_id;
	size_t header_bytes;
	uint8_t *wire; /* body as sent (accounted memory) */
	size_t wire_len, wire_cap;
	uint64_t wire_total;	 /* body bytes seen, kept or not */
	bool emitted;		 /* handed out early (undecidable): the rest is skipped */
	bool ws_upgrade;	 /* Upgrade: websocket */
	bool h2c_upgrade;	 /* Upgrade: h2c */
	bool ws_deflate;	 /* offered permessage-deflate */
	bool authority_from_url; /* absolute-form target: Host does not override it */
	bool skipping;		 /* sl_reqdec_skip's filler is being fed */
	uint64_t skipped;	 /* body bytes not seen (sl_reqdec_skip) */
	char *ce, *te;		 /* Content-Encoding, Transfer-Encoding codings (accounted) */
	/* HTTP/1.1 header being received (callbacks split names and values) */
	uint8_t *hname, *hval, *url;
	size_t hname_len, hname_cap, hval_len, hval_cap, url_len, url_cap;
	bool in_value, in_trailer;
};

enum rd_mode {
	RD_DETECT = 0, /* waiting for enough bytes to tell the protocol */
	RD_H1,
	RD_H2,
	RD_WS,
	RD_FAILED,
};

struct rd_ws {
	uint8_t hdr[14];
	size_t hdr_len, hdr_need;
	uint64_t frame_off; /* stream offset of the current frame */
	uint64_t remain;    /* payload bytes of the current frame still to come */
	uint8_t mask[4];
	uint64_t mask_pos;
	uint8_t opcode; /* current frame */
	bool fin, rsv1, masked;
	bool started;	     /* a frame was seen (before it, HTTP/1.1 may resume) */
	bool closed;	     /* a close frame was sent */
	bool in_message;     /* a data message is being assembled */
	bool msg_compressed; /* RSV1 on its first frame */
	uint8_t msg_opcode;
	bool control; /* current frame is a control frame */
	uint8_t *msg;
	size_t msg_len, msg_cap;
	uint64_t msg_offset;
	uint64_t msg_wire; /* message payload bytes as sent */
	bool msg_over;	   /* handed out early at a limit: skip to its end */
	z_stream z;
	bool z_init;
	bool deflate_ok; /* the client offered permessage-deflate */
	char *path, *authority, *scheme;
};

struct sl_reqdec {
	struct sl_reqdec_limits lim;
	char *origin_scheme, *origin_authority;
	size_t mem; /* accounted working memory */
	bool mem_over;
	uint64_t off; /* bytes fed */
	uint64_t seq;
	enum rd_mode mode;
	enum sl_rq_proto proto;
	enum sl_rq_reason fail_reason;
	char fail_detail[160];
	uint64_t fail_off;
	struct rq_node *q_head, *q_tail;
	uint32_t n_pending;
	uint8_t pre[24];
	size_t pre_len;
	/* HTTP/1.1 */
	http_parser hp;
	uint64_t hp_base; /* stream offset of the buffer being parsed */
	bool hp_init;
	struct rq_build *h1;
	enum {
		RD_UP_NONE,
		RD_UP_WS,
		RD_UP_H2C,
		RD_UP_CONNECT,
		RD_UP_OTHER
	} h1_up;
	/* HTTP/2 */
	struct nghttp2_session *h2;
	struct rq_build *streams;
	uint32_t n_streams;
	int h2_lib_err;	   /* last nghttp2 error code reported by the library */
	char h2_msg[96];   /* and its message */
	bool h2_goaway;	   /* the session ended the connection (it sent GOAWAY) */
	size_t h2_skip;	   /* preface bytes still to pass */
	uint8_t h2_hdr[9]; /* frame header being read (frame boundaries for offsets) */
	size_t h2_hdr_len;
	uint64_t h2_left; /* payload bytes of the current frame still to come */
	uint64_t h2_frame_off;
	uint8_t h2_type;
	uint32_t h2_sid;
	/* WebSocket */
	struct rd_ws ws;
	/* each credential header as it is decoded (sl_reqdec_set_credential_hook) */
	sl_reqdec_cred_fn cred_fn;
	void *cred_ctx;
};

/* a header field at a credential position (or the part of its value fed so far): the hook */
void rd_tell_credential(struct sl_reqdec *d, const char *name, size_t nlen, const char *value,
			size_t vlen);

/* accounted memory (limits.max_memory); NULL beyond it or out of memory */
void *rd_malloc(struct sl_reqdec *d, size_t n);
void *rd_calloc(struct sl_reqdec *d, size_t n, size_t m);
void *rd_realloc(struct sl_reqdec *d, void *p, size_t n);
void rd_free(struct sl_reqdec *d, void *p);
/* append to an accounted buffer, growing it; 0 or -ENOMEM (limit or memory) */
int rd_append(struct sl_reqdec *d, uint8_t **buf, size_t *len, size_t *cap, const void *data,
	      size_t n);

/* the connection cannot be followed any more (first failure sticks) */
void rd_fail(struct sl_reqdec *d, enum sl_rq_reason reason, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* a new request of proto starting at stream offset off; NULL: out of memory */
struct rq_build *rd_begin(struct sl_reqdec *d, enum sl_rq_proto proto, uint64_t off);
void rd_build_free(struct sl_reqdec *d, struct rq_build *b);
/* the request can no longer be decoded: hand it out now (once), skip the rest */
void rd_give_up(struct sl_reqdec *d, struct rq_build *b, enum sl_rq_reason reason, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));
/* a header field of b; false: b was given up (a limit) */
bool rd_header(struct sl_reqdec *d, struct rq_build *b, const char *name, size_t nlen,
	       const char *value, size_t vlen, bool trailer);
/* body bytes as sent; false: b was given up (a limit) */
bool rd_body(struct sl_reqdec *d, struct rq_build *b, const void *data, size_t len);
/* the request is complete: decode its body, hand it out, free b */
void rd_complete(struct sl_reqdec *d, struct rq_build *b);
/* a request built elsewhere (a failure record): hand it out */
void rd_enqueue(struct sl_reqdec *d, struct rq_node *n);
/* a new request node with the connection's origin; NULL: out of memory */
struct rq_node *rd_node_new(struct sl_reqdec *d, enum sl_rq_proto proto, uint64_t off);

/* mark r undecidable; the first reason stays */
void rq_undecidable(struct sl_rq *r, enum sl_rq_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rq_vundecidable(struct sl_rq *r, enum sl_rq_reason reason, const char *fmt, va_list ap);
/*
 * The request target "/p?q", absolute-form or authority-form (CONNECT):
 * target, path, query, params; scheme, authority, userinfo when the target
 * has them (*from_url set). 0 or -ENOMEM.
 */
int rq_set_target(struct sl_rq *r, const char *target, size_t len, bool connect, bool *from_url,
		  uint32_t max_params);
char *rq_strndup(const char *s, size_t n);

/* protocol engines */
size_t rd_h1_feed(struct sl_reqdec *d, const uint8_t *buf, size_t len);
bool rd_h1_can_skip(const struct sl_reqdec *d, size_t len);
struct rq_build *rd_h2_skip_target(struct sl_reqdec *d, size_t len);
struct rq_build *rd_h2_stream(struct sl_reqdec *d, int32_t id);
void rd_h1_reset(struct sl_reqdec *d);
int rd_h2_start(struct sl_reqdec *d);
size_t rd_h2_feed(struct sl_reqdec *d, const uint8_t *buf, size_t len);
void rd_h2_reset(struct sl_reqdec *d);
size_t rd_ws_feed(struct sl_reqdec *d, const uint8_t *buf, size_t len);
void rd_ws_reset(struct sl_reqdec *d);

/*
 * Content decoding of one body: the codings in the order applied by the
 * sender ("gzip", "br", ...). Output up to max_out bytes (malloc'd,
 * NUL-terminated). 0, or a reason with detail filled in; *out is set also on
 * failure (what was decoded before it).
 */
enum sl_rq_reason rq_decode_body(struct sl_reqdec *d, const char *codings, const uint8_t *in,
				 size_t len, uint8_t **out, size_t *outlen, char *detail,
				 size_t dsize);
/* zlib allocator hooks on the accounted memory */
void *rd_zalloc(void *opaque, unsigned int items, unsigned int size);
void rd_zfree(void *opaque, void *p);

/* body → json, form, GraphQL, MCP (reqdec_body.c) */
void rq_parse_body(struct sl_reqdec *d, struct sl_rq *r);
/* GraphQL document text → operations (reqdec_gql.c); variables may be NULL */
enum sl_rq_reason rq_gql_parse(const struct sl_reqdec_limits *lim, const char *doc, size_t len,
			       const json_t *variables, const char *operation_name, struct sl_rq *r,
			       char *detail, size_t dsize);
void rq_gql_free_ops(struct sl_rq_gql_op *ops, uint32_t n);
/* percent-decode a query string or form body into params (plus: '+' is space) */
int rq_parse_params(const char *s, size_t len, struct sl_rq_param **out, uint32_t *n, uint32_t max);
/* canonical text of r (reqdec_text.c) */
void rq_build_text(const struct sl_reqdec_limits *lim, struct sl_rq *r);

#endif
