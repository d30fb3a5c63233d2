/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Checkpoints of the audit chain's head, sealed with a forward-secure key
 * (docs/operations.md, "Checkpoints").
 *
 * A checkpoint says: at this time, on this host, the record with this seq had
 * this hash. It is sealed with HMAC-SHA256 under the key of its epoch; the
 * key then evolves (k[e+1] = SHA-256("scopelock-checkpoint-evolve" || k[e]))
 * and the old one is overwritten in the key file. Whoever takes the host at
 * epoch e (root included) holds k[e] and can seal checkpoints from epoch e
 * on, but cannot forge or alter one of an earlier epoch: the checkpoints
 * already sent to syslog or kept in the checkpoints file stay true. The
 * verification key is k[0], printed once by `scopelock checkpoint-setup` and
 * kept off the host; it derives every epoch's key.
 *
 * A checkpoint is one JSON line:
 *   {"type":"checkpoint","epoch":E,"seq":S,"hash":"<64 hex>",
 *    "time":"<RFC 3339>","host":"<name>","mac":"<64 hex>"}
 * mac = HMAC-SHA256(k[E], "scopelock-checkpoint-v1|E|S|hash|time|host").
 */
#ifndef SL_CHECKPOINT_H
#define SL_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"

#define SL_CKPT_KEY_LEN 32
#define SL_CKPT_HASH_LEN 32
#define SL_CKPT_HOST_MAX 255
#define SL_CKPT_TIME_MAX 48
/* epochs a verifier derives keys for: 60 years of one checkpoint a minute */
#define SL_CKPT_EPOCH_MAX (60ULL * 366 * 24 * 60)

/* the sealing key in force: epoch and key (the key file's content) */
struct sl_ckpt_key {
	uint64_t epoch;
	uint8_t key[SL_CKPT_KEY_LEN];
};

struct sl_ckpt {
	uint64_t epoch;
	uint64_t seq;
	uint8_t hash[SL_CKPT_HASH_LEN];
	char time[SL_CKPT_TIME_MAX];
	char host[SL_CKPT_HOST_MAX + 1];
	uint8_t mac[SL_CKPT_HASH_LEN];
};

/*
 * Create the key file at epoch 0 with a random key (0600, written whole or
 * not at all; an existing file is refused with -EEXIST unless force).
 * verification: k[0], to be kept off the host.
 */
int sl_ckpt_key_create(const char *path, bool force, uint8_t verification[SL_CKPT_KEY_LEN]);
/* read the key file; -EINVAL with why filled for a malformed file */
int sl_ckpt_key_load(const char *path, struct sl_ckpt_key *k, char *why, size_t why_len);
/* the next epoch's key, the old one overwritten in k */
void sl_ckpt_key_evolve(struct sl_ckpt_key *k);
/* store k in the key file (a new file renamed over the old, synced) */
int sl_ckpt_key_save(const char *path, const struct sl_ckpt_key *k);

/*
 * Seal a checkpoint of (seq, hash) at time/host with k (c->mac filled), then
 * evolve k. The caller saves the evolved key before it publishes the
 * checkpoint (a key is never used for two checkpoints).
 */
int sl_ckpt_seal(struct sl_ckpt_key *k, uint64_t seq, const uint8_t hash[SL_CKPT_HASH_LEN],
		 const char *time, const char *host, struct sl_ckpt *c);
/* the checkpoint's line (no newline): malloc'd, NULL when out of memory */
char *sl_ckpt_format(const struct sl_ckpt *c);
/* parse one line; -EINVAL with why filled when it is not a checkpoint */
int sl_ckpt_parse(const char *line, size_t len, struct sl_ckpt *c, char *why, size_t why_len);
/* parse a verification key: 64 hex digits, surrounding blanks and the label
 * "verification key:" (the line checkpoint-setup printed) allowed */
int sl_ckpt_parse_key(const char *text, uint8_t key[SL_CKPT_KEY_LEN]);

/* deriving the keys of increasing epochs from k[0], for verification */
struct sl_ckpt_verifier {
	struct sl_ckpt_key cur;
};

void sl_ckpt_verifier_init(struct sl_ckpt_verifier *v, const uint8_t k0[SL_CKPT_KEY_LEN]);
/*
 * Is c sealed with its epoch's key? 1 yes, 0 no, -EINVAL when c's epoch is
 * below one checked before (checkpoints are checked in increasing epochs) or
 * above SL_CKPT_EPOCH_MAX.
 */
int sl_ckpt_verify_mac(struct sl_ckpt_verifier *v, const struct sl_ckpt *c);

/* ---- checking a log against checkpoints (scopelock verify --checkpoints) ---- */

enum sl_ckpt_problem {
	SL_CKPT_OK = 0,
	SL_CKPT_MALFORMED,	/* a line of the checkpoints file is not a checkpoint */
	SL_CKPT_FORGED,		/* a seal does not match: forged, altered, or another key */
	SL_CKPT_ORDER,		/* epochs not increasing, or seqs going backwards */
	SL_CKPT_EPOCHS_MISSING, /* epochs skipped in the file: checkpoints removed */
	SL_CKPT_REWRITTEN,	/* the record at a checkpoint's seq has another hash */
	SL_CKPT_OLDEST_MISSING, /* a checkpoint's record is before the log's first */
	SL_CKPT_TAIL_CUT,	/* a checkpoint's record is after the log's last */
	SL_CKPT_IO,		/* the file could not be read */
};

struct sl_ckpt_result {
	enum sl_ckpt_problem problem; /* the first one found (the most serious kind) */
	uint64_t checkpoints;	      /* lines read */
	uint64_t matched;	      /* checkpoints whose record is in the log, same hash */
	uint64_t first_epoch, last_epoch;
	uint64_t last_seq; /* the newest checkpoint's seq */
	char last_time[SL_CKPT_TIME_MAX];
	uint64_t line, epoch, seq; /* where the problem is (line of the checkpoints file) */
	char detail[1024];
};

const char *sl_ckpt_problem_name(enum sl_ckpt_problem p);
/*
 * Verify the log (sl_audit_verify_each into vres) and the checkpoints file
 * against it with the verification key k0. Returns 0 when both verify, 1 when
 * either has a problem (vres or cres says which), -errno on I/O or usage
 * errors (cres->detail or vres->detail says).
 */
int sl_ckpt_check(const char *ckpt_path, const uint8_t k0[SL_CKPT_KEY_LEN],
		  const char *const *paths, int npaths, struct sl_verify_result *vres,
		  struct sl_ckpt_result *cres);

#endif
