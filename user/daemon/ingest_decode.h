/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The ingest room's decoders (ingest.h is its door): ring buffer record ->
 * audit record. The core (ingest.c) checks the common
 * header (size, op) and fills the common members ("type", "time", "session",
 * "pid", "tid", "uid", "comm", "exec_id"); a decoder adds the members of its
 * op. Decoders must check every length against len and return -EBADMSG for a
 * record that does not fit (the core then logs a "decode_error" record with
 * the raw bytes, so nothing is dropped silently).
 */
#ifndef SL_DECODE_H
#define SL_DECODE_H

#include <stddef.h>
#include <jansson.h>

#include "scopelock_abi.h"
#include "scopelock_events.h"

typedef int (*sl_decode_fn)(const void *data, size_t len, json_t *rec);

int sl_decode_exec(const void *data, size_t len, json_t *rec);
int sl_decode_exec_failed(const void *data, size_t len, json_t *rec);
int sl_decode_open(const void *data, size_t len, json_t *rec);
int sl_decode_net(const void *data, size_t len,
		  json_t *rec); /* CONNECT, CONNECT_RESULT, UDP_SEND */
int sl_decode_tls(const void *data, size_t len, json_t *rec); /* TLS_WRITE, TLS_READ */
int sl_decode_exit(const void *data, size_t len, json_t *rec);

#endif
