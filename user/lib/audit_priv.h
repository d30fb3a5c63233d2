/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Internals shared by the audit log writer (audit.c) and its verifier
 * (audit_verify.c). Not part of the library's API.
 */
#ifndef SL_AUDIT_PRIV_H
#define SL_AUDIT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#define SL_AUDIT_CURRENT "audit.jsonl"
#define SL_AUDIT_HASH_LEN 32
#define SL_AUDIT_HEX_LEN 64
/* "prev": the first 16 hex digits of the previous record's hash */
#define SL_AUDIT_PREV_HEX 16
/* the textual tail of every line: ,"hash":"<64 hex>"} */
#define SL_AUDIT_HASH_PREFIX ",\"hash\":\""
#define SL_AUDIT_SUFFIX_LEN (sizeof(SL_AUDIT_HASH_PREFIX) - 1 + SL_AUDIT_HEX_LEN + 2)
/* longest line either side accepts */
#define SL_AUDIT_LINE_MAX (64U << 20)
/* closed segments: audit-<first seq, 20 digits>.jsonl[.gz] */
#define SL_AUDIT_SEQ_DIGITS 20
#define SL_AUDIT_DAMAGED_TAG "-damaged"
/* json_loadb flags for reading a record body */
#define SL_AUDIT_LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)

/*
 * The system calls the writer makes on the log (write, fdatasync, ftruncate,
 * openat, renameat2, fsync of the directory), replaceable for unit tests that
 * make them fail (short writes, ENOSPC, EIO). The compression worker uses
 * openat for its temporary file. A NULL member is the real call.
 */
struct sl_audit_io {
	ssize_t (*write)(int fd, const void *buf, size_t len);
	int (*fdatasync)(int fd);
	int (*fsync)(int fd);
	int (*ftruncate)(int fd, off_t len);
	int (*openat)(int dirfd, const char *name, int flags, mode_t mode);
	int (*renameat2)(int olddirfd, const char *oldname, int newdirfd, const char *newname,
			 unsigned int flags);
};
struct sl_audit;
void sl_audit_set_io(struct sl_audit *a, const struct sl_audit_io *io);

/* lowercase hex of n raw bytes into out[2n + 1] */
void sl_audit_hex(const uint8_t *raw, size_t n, char *out);
/* lowercase hex only; 0 or -EINVAL */
int sl_audit_unhex(const char *hex, size_t n, uint8_t *raw);
/* out = SHA-256(prev || body); 0 or -ENOMEM */
int sl_audit_chain_hash(const uint8_t prev[SL_AUDIT_HASH_LEN], const char *body, size_t len,
			uint8_t out[SL_AUDIT_HASH_LEN]);

/*
 * Cut the final ,"hash":"<64 hex>" out of a line (without its newline), in
 * place: line[0, *body_len) is then the body and line[*body_len] is '\0'.
 * 0 or -EINVAL with *why set.
 */
int sl_audit_cut_hash(char *line, size_t len, size_t *body_len, uint8_t hash[SL_AUDIT_HASH_LEN],
		      const char **why);

/*
 * Parse a body: a JSON object whose first member is "seq" (an integer >= 1)
 * and which has no "hash" member. *obj is a new reference. 0 or -EINVAL with
 * a message in why[whylen].
 */
int sl_audit_parse_body(const char *body, size_t len, json_t **obj, uint64_t *seq, char *why,
			size_t whylen);

/* segment file names */
bool sl_audit_is_segment_name(const char *name);
/* "audit-<20 digits>..." -> the digits; 0 or -EINVAL */
int sl_audit_name_seq(const char *name, uint64_t *seq);
bool sl_audit_is_gz_name(const char *name);
bool sl_audit_is_zst_name(const char *name);
/* .gz (zlib, segments of older versions) or .zst (zstd, what rotation writes now) */
bool sl_audit_is_compressed_name(const char *name);

/* the line reader (sl_lines_*) is in audit.h: scopelock replay reads logs too */

#endif
