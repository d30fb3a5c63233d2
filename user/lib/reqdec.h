/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The request decoder: the client-to-server plaintext of one connection,
 * decoded as the server will read it, one request at a time.
 *
 * Input is what the client wrote (TLS plaintext at SSL_write, or the bytes of
 * a plain TCP socket), fed in the order written, in pieces of any size: a
 * request may span many writes and a write may carry many requests. The
 * connection's protocol is found from its first bytes and follows upgrades:
 *
 *   HTTP/1.1   libhttp_parser: Content-Length, chunked (extensions, trailers),
 *              pipelining; Upgrade to WebSocket or h2c; CONNECT tunnels
 *   HTTP/2     libnghttp2 as a server session: preface, frames, HPACK,
 *              CONTINUATION, padding, interleaved streams
 *   WebSocket  frames after an HTTP/1.1 Upgrade: unmasking, fragmentation,
 *              permessage-deflate (zlib, context takeover); one message is
 *              one request (proto SL_RQ_WS)
 *
 * Every request body is then content-decoded (gzip, deflate, br, zstd,
 * stacked), parsed as JSON (jansson), a form or a GraphQL document, and the
 * GraphQL operations (type, top-level fields with aliases resolved,
 * arguments with variables substituted) and MCP JSON-RPC calls are taken out.
 *
 *	struct sl_reqdec *d;
 *	struct sl_rq *r;
 *
 *	sl_reqdec_new(NULL, &d);                 default limits
 *	sl_reqdec_set_origin(d, "https", "api.example.com");
 *	sl_reqdec_feed(d, buf, len);             each write, in order
 *	while ((r = sl_reqdec_next(d))) {        each complete request
 *		if (r->status != SL_RQ_DECODED)  fail closed: r->reason, r->detail
 *		...match r->text, r->method, r->gql, r->mcp...
 *		sl_rq_free(r);
 *	}
 *	sl_reqdec_finish(d);                     the connection ended
 *	sl_reqdec_free(d);
 *
 * A request the decoder cannot decode completely is still handed out, as
 * SL_RQ_UNDECIDABLE with a reason (enum sl_rq_reason) and a detail naming
 * what and where ("chunk size: invalid character at offset 812"); whatever
 * was decoded before that is filled in. Nothing is dropped silently: a value
 * cut at a limit sets `truncated` and makes the request UNDECIDABLE
 * (SL_RQ_R_LIMIT). After a framing error the connection cannot be followed
 * any more: every later feed yields one UNDECIDABLE request
 * (SL_RQ_R_FAILED_EARLIER) so that each write still gets an answer.
 *
 * Bounds: the decoder's working memory per connection (nghttp2, zlib,
 * brotli, zstd and its buffers, all through one accounting allocator), the
 * header section, the body on the wire, the decoded body, the canonical text,
 * JSON and GraphQL depth, batch sizes and requests waiting in the queue are
 * all limited by struct sl_reqdec_limits; decompression stops at the output
 * limit (a bomb costs at most that much time and memory). Work is linear in
 * the input.
 *
 * The object holds no process or global state: it belongs to the connection
 * (the caller keys it by connection, so a request split between a parent and
 * a forked child on one connection is decoded as one). Not thread-safe: one
 * caller at a time per object.
 */
#ifndef SL_REQDEC_H
#define SL_REQDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct sl_jw;

struct sl_reqdec_limits {
	size_t max_memory;	 /* working memory of one connection */
	size_t max_header_bytes; /* header section of one request (names + values) */
	uint32_t max_headers;	 /* header fields of one request */
	size_t max_wire_body;	 /* body of one request as sent (after chunked framing) */
	size_t max_body;	 /* body of one request after content decoding */
	uint32_t max_ratio;	 /* decoded : sent, above 1 MiB decoded (else: a bomb) */
	uint32_t max_encodings;	 /* stacked content encodings */
	uint32_t max_depth;	 /* JSON and GraphQL nesting */
	uint32_t max_items;	 /* GraphQL operations/fields/arguments, batch entries */
	uint32_t max_streams;	 /* HTTP/2 streams open at once */
	size_t max_ws_message;	 /* one WebSocket message as sent (all fragments) */
	size_t max_text;	 /* canonical text of one request */
	uint32_t max_pending;	 /* decoded requests waiting for sl_reqdec_next */
};

/* 8 MiB memory, 64 KiB / 256 headers, 1 MiB sent, 4 MiB decoded, ratio 200,
 * 3 encodings, depth 64, 256 items, 256 streams, 1 MiB messages, 4 MiB text,
 * 1024 pending */
void sl_reqdec_limits_default(struct sl_reqdec_limits *l);

enum sl_rq_proto {
	SL_RQ_HTTP1 = 1,
	SL_RQ_HTTP2 = 2,
	SL_RQ_WS = 3,
	SL_RQ_UNKNOWN = 4, /* nothing decodable (a failure before any protocol was known) */
};

enum sl_rq_status {
	SL_RQ_DECODED = 0,
	SL_RQ_UNDECIDABLE = 1,
};

enum sl_rq_reason {
	SL_RQ_R_NONE = 0,
	SL_RQ_R_MALFORMED,	/* framing or syntax the server would refuse (offset in detail) */
	SL_RQ_R_UNSUPPORTED,	/* a protocol, encoding or feature not decoded */
	SL_RQ_R_LIMIT,		/* a limit of struct sl_reqdec_limits; something was cut */
	SL_RQ_R_BOMB,		/* decompression beyond max_ratio */
	SL_RQ_R_HPACK,		/* HTTP/2 header block could not be decompressed */
	SL_RQ_R_ENCODING,	/* corrupt gzip/deflate/br/zstd/permessage-deflate data */
	SL_RQ_R_JSON,		/* a JSON body (by type or by shape) that does not parse */
	SL_RQ_R_GRAPHQL,	/* a GraphQL document that does not parse */
	SL_RQ_R_UTF8,		/* text that must be UTF-8 is not (WebSocket text) */
	SL_RQ_R_INCOMPLETE,	/* the connection ended inside this request */
	SL_RQ_R_FAILED_EARLIER, /* bytes after an earlier unrecoverable failure */
	SL_RQ_R_NOMEM,		/* the process ran out of memory */
	SL_RQ_R_MAX,
};

/* "malformed", "unsupported", "limit", ... ("none" for SL_RQ_R_NONE) */
const char *sl_rq_reason_name(enum sl_rq_reason r);
/* "http/1.1", "http/2", "websocket", "unknown" */
const char *sl_rq_proto_name(enum sl_rq_proto p);

struct sl_rq_header {
	char *name; /* lowercased (HTTP/2 names are lowercase on the wire) */
	char *value;
	size_t value_len;
	bool credential; /* a credential position: the value is a secret */
	bool trailer;	 /* sent after the body (chunked trailer, HTTP/2 trailers) */
};

/* one name=value of a query string or form body, percent-decoded */
struct sl_rq_param {
	char *name;
	char *value;
	size_t name_len, value_len;
	bool credential; /* access_token=, api_key=, ... */
};

enum sl_rq_gql_type {
	SL_RQ_GQL_QUERY = 0,
	SL_RQ_GQL_MUTATION = 1,
	SL_RQ_GQL_SUBSCRIPTION = 2,
};

struct sl_rq_gql_arg {
	char *name;
	json_t *value; /* the value, variables substituted (enums are strings) */
};

/* a field of the operation's root selection (fragments at the root included) */
struct sl_rq_gql_field {
	char *name;  /* the schema field the server runs: volumeDelete */
	char *alias; /* NULL when none */
	struct sl_rq_gql_arg *args;
	uint32_t n_args;
};

struct sl_rq_gql_op {
	enum sl_rq_gql_type type;
	char *name;    /* NULL for an anonymous operation */
	bool selected; /* the one operationName names, or the only one */
	struct sl_rq_gql_field *fields;
	uint32_t n_fields;
};

/* one JSON-RPC 2.0 request or notification */
struct sl_rq_mcp {
	char *method;	/* "tools/call", "resources/read", ... */
	json_t *id;	/* NULL for a notification */
	char *tool;	/* tools/call: params.name; else NULL */
	json_t *params; /* tools/call: params.arguments; else params (NULL if none) */
};

struct sl_rq {
	uint64_t seq;	 /* 0, 1, ... per connection, in the order handed out */
	uint64_t offset; /* stream offset of the request's first byte */
	enum sl_rq_proto proto;
	enum sl_rq_status status;
	enum sl_rq_reason reason;
	char detail[192];   /* what went wrong and where; "" when decoded */
	bool truncated;	    /* a value below was cut at a limit */
	bool head_done;	    /* the request line and headers (HEADERS block) were read whole */
	uint32_t stream_id; /* HTTP/2 stream, 0 otherwise */

	char *method;		    /* "POST"; WebSocket: "WS" */
	char *scheme;		    /* from the request, else the origin; may be NULL */
	char *authority;	    /* Host / :authority, else the URL's, else the origin */
	char *target;		    /* the request target as sent ("/a%20b?x=1") */
	char *path;		    /* percent-decoded path (NUL bytes kept as %00) */
	char *query;		    /* raw query string after '?', NULL when none */
	char *userinfo;		    /* user:password@ of an absolute target (a credential) */
	struct sl_rq_param *params; /* query string, decoded */
	uint32_t n_params;
	struct sl_rq_header *headers;
	uint32_t n_headers;
	char *content_type; /* the Content-Type value, lowercased, NULL if none */
	char *encodings;    /* Content-Encoding (and Transfer-Encoding codings) decoded */

	uint8_t *body; /* decoded body (NUL-terminated), may be NULL */
	size_t body_len;
	uint64_t wire_len;	  /* body bytes as sent (after chunk framing) */
	json_t *json;		  /* the body as JSON, NULL when it is not JSON */
	struct sl_rq_param *form; /* application/x-www-form-urlencoded body */
	uint32_t n_form;

	struct sl_rq_gql_op *gql;
	uint32_t n_gql;
	bool gql_persisted; /* a persisted-query hash without its text */
	struct sl_rq_mcp *mcp;
	uint32_t n_mcp;

	uint8_t ws_opcode; /* WebSocket: 1 text, 2 binary (the message's first frame) */

	/*
	 * The request flattened for the byte/keyword matcher: request line,
	 * every header "name: value" (credentials included: never write this
	 * text to a record), decoded query and form parameters, the body (for
	 * JSON: every leaf "path: value" with escapes decoded), one line per
	 * GraphQL field "graphql mutation volumeDelete(volumeId: "x")" and per
	 * MCP call "mcp tools/call NAME {arguments}". NUL-terminated.
	 */
	char *text;
	size_t text_len;
};

struct sl_reqdec;

/* limits NULL: sl_reqdec_limits_default. 0 or -ENOMEM / -EINVAL */
int sl_reqdec_new(const struct sl_reqdec_limits *limits, struct sl_reqdec **out);
/* the scheme and authority requests default to (TLS SNI or the peer address) */
int sl_reqdec_set_origin(struct sl_reqdec *d, const char *scheme, const char *authority);
/*
 * The next bytes the client wrote. 0, or -ENOMEM when the process is out of
 * memory (the connection is then failed: later requests are undecidable).
 * Malformed input is not an error here: it yields an UNDECIDABLE request.
 */
int sl_reqdec_feed(struct sl_reqdec *d, const void *buf, size_t len);
/*
 * len bytes of the stream that were not seen (a write captured in part).
 * 0 when they fall inside an HTTP/1.1 body of known length (Content-Length,
 * not chunked) after its head, or inside the payload of an HTTP/2 DATA frame
 * of an open request: the framing is kept, so the requests that
 * follow are decoded, and that request, when it ends, is UNDECIDABLE
 * (SL_RQ_R_LIMIT, "N bytes of the body were not captured") with its head.
 * -EAGAIN anywhere else (the caller starts the stream afresh:
 * sl_reqdec_reset); nothing is changed then. Work is O(len / 64 KiB).
 */
int sl_reqdec_skip(struct sl_reqdec *d, size_t len);
/*
 * The requests begun and not yet handed out whose head was read whole
 * (head_done: method, target, authority and headers are filled in; no body,
 * no text yet): fn is called with each (no particular order) until it returns
 * false. Returns how many were seen. The pointers are valid during the call
 * only.
 */
size_t sl_reqdec_open_heads(const struct sl_reqdec *d, bool (*fn)(void *ctx, const struct sl_rq *r),
			    void *ctx);
/* the decoder lost the connection (a framing error, a connection limit):
 * everything from there on is UNDECIDABLE (SL_RQ_R_FAILED_EARLIER) */
bool sl_reqdec_failed(const struct sl_reqdec *d);
/* the connection ended: a request begun and not complete becomes
 * UNDECIDABLE (SL_RQ_R_INCOMPLETE). 0 or -ENOMEM */
int sl_reqdec_finish(struct sl_reqdec *d);
/* the oldest request not yet taken, NULL when none; free with sl_rq_free */
struct sl_rq *sl_reqdec_next(struct sl_reqdec *d);
/*
 * fn is called with every header field at a credential position
 * (sl_rq_credential_header) as soon as it is decoded, before its request is
 * complete (a HEADERS frame whose body comes in later writes): name as sent,
 * the value decoded (HPACK). When a feed ends inside an HTTP/1.1 header's
 * value, fn is called with the part fed so far too (then again with the
 * whole value). Kept by sl_reqdec_reset. fn NULL: none.
 */
typedef void (*sl_reqdec_cred_fn)(void *ctx, const char *name, size_t nlen, const char *value,
				  size_t vlen);
void sl_reqdec_set_credential_hook(struct sl_reqdec *d, sl_reqdec_cred_fn fn, void *ctx);
/*
 * The HPACK Huffman code (RFC 7541 5.2, appendix B) of value, as an HTTP/2
 * client sends it when it is shorter than the value: *out (malloc'd, *outlen
 * bytes). 0; -ENOENT when the Huffman code is not shorter (the value is sent
 * as it is); -ENOMEM, -EINVAL.
 */
int sl_rq_hpack_huffman(const void *value, size_t len, uint8_t **out, size_t *outlen);
/* requests begun (bytes seen) and not yet complete */
uint32_t sl_reqdec_in_progress(const struct sl_reqdec *d);
/* the protocol the connection is in now (SL_RQ_UNKNOWN before its first bytes) */
enum sl_rq_proto sl_reqdec_proto(const struct sl_reqdec *d);
/* bytes fed so far */
uint64_t sl_reqdec_offset(const struct sl_reqdec *d);
/* forget everything about the connection (same limits and origin) */
void sl_reqdec_reset(struct sl_reqdec *d);
void sl_reqdec_free(struct sl_reqdec *d);

void sl_rq_free(struct sl_rq *r);

/* the header name (any case) is a credential position */
bool sl_rq_credential_header(const char *name);
/* the query/form parameter name (any case) carries a credential */
bool sl_rq_credential_param(const char *name, size_t len);

/*
 * Write the `request` member of a record (docs/events.md): proto, status,
 * reason, method, authority, path, header names with non-credential values,
 * up to body_excerpt bytes of the body, the GraphQL operations and the MCP
 * calls. Strings go through the writer's filter (redaction). key: the member
 * name ("request"). The writer's sticky error tells the outcome.
 */
void sl_rq_record(struct sl_jw *w, const char *key, const struct sl_rq *r, size_t body_excerpt);

/*
 * One human line for `scopelock tail`, without credentials, e.g.
 *   HTTP/2 POST api.example.com/graphql mutation volumeDelete
 *   HTTP/1.1 POST mcp.local/mcp tools/call delete_database
 *   websocket text api.openai.com/v1/realtime 812 bytes
 *   HTTP/1.1 UNDECIDABLE encoding: gzip: invalid block type at body byte 10
 * Always NUL-terminated (cut at size - 1); returns the length it needed.
 */
size_t sl_rq_summary(const struct sl_rq *r, char *buf, size_t size);

#endif
