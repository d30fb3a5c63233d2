/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The ingest room's decoders (ingest.h is its door): ring buffer record ->
 * audit record, written straight into the journal's record (jwriter.h: no
 * tree; every string and bytes value passes the redactor). The core
 * (ingest.c) checks the common header (size, op) and writes the common
 * members ("type", "time", "session", "pid", "tid", "uid", "comm",
 * "exec_id"); a decoder writes the members of its op (never one of those
 * again: the record's text must not repeat a member). Decoders must check every length against len
 * and return -EBADMSG for a record that does not fit (the core then logs a "decode_error" record
 * with the raw bytes, so nothing is dropped silently).
 */
#ifndef SL_DECODE_H
#define SL_DECODE_H

#include <stddef.h>

#include "jwriter.h"

#include "scopelock_abi.h"
#include "scopelock_events.h"

typedef int (*sl_decode_fn)(const void *data, size_t len, struct sl_jw *w);

int sl_decode_exec(const void *data, size_t len, struct sl_jw *w);
int sl_decode_exec_failed(const void *data, size_t len, struct sl_jw *w);
int sl_decode_open(const void *data, size_t len, struct sl_jw *w);
int sl_decode_net(const void *data, size_t len,
		  struct sl_jw *w); /* CONNECT, CONNECT_RESULT, UDP_SEND */
/* TLS_WRITE, TLS_READ; "data" is marked a piece of a stream (sl_jw_stream) */
int sl_decode_tls(const void *data, size_t len, struct sl_jw *w);
int sl_decode_exit(const void *data, size_t len, struct sl_jw *w);

#endif
