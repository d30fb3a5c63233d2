/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The records of audit logs for the commands that read them (replay,
 * report): LOG is a segment (.jsonl, .jsonl.zst, .jsonl.gz) or an audit
 * directory (its audit*.jsonl[.zst|.gz] files, the rotated ones oldest
 * first, then audit.jsonl). Each line that is a JSON object is handed to
 * on_record (which must not keep it). Problems are said on stderr, prefixed
 * with prog.
 */
#ifndef SL_CLI_LOGREAD_H
#define SL_CLI_LOGREAD_H

#include <jansson.h>

typedef void (*sl_log_record_fn)(void *ctx, json_t *rec);

/* 0, or -errno (said on stderr); -ENOENT for a directory without segments */
int sl_log_read_path(const char *prog, const char *path, sl_log_record_fn fn, void *ctx);

#endif
