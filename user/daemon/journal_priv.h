/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What the files of the journal room share (journal.h is its door). */
#ifndef SL_JOURNAL_PRIV_H
#define SL_JOURNAL_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "jwriter.h"
#include "redact.h"

struct sl_policy;

/*
 * The redaction of the records (journal_redact.c): every string and bytes
 * value of every record, whatever its member name or nesting, passes the
 * filter on its way into the record's text (jwriter.h). There is no list of
 * member names.
 */
struct sl_journal_redactor {
	const struct sl_policy *policy; /* the redactor was built from it */
	uint32_t generation;		/* its generation (a pointer may be reused) */
	uint32_t n_discovered;		/* the credentials discovered it holds */
	struct sl_redact *r;		/* NULL: the policy has no secrets */
	struct sl_redact_scratch s;	/* the ids found in the current record */
	const struct sl_jw *w;		/* its writer: w->stream (sl_jw_stream) */
	int err;			/* building the redactor failed (fail closed) */
	/* values learned at credential positions (sl_journal_learn_credential) */
	struct sl_redact_learned learned;
	size_t min_len;	     /* position values shorter than this stay (secret_min_length) */
	bool option_pending; /* the last value was "--token" in an array: the next is its value */
};

/* an empty redactor of the records w writes (learned values bounded) */
void sl_journal_redactor_init(struct sl_journal_redactor *jr, const struct sl_jw *w);
/* follow the policy in force (a new one: a new redactor); 0 or -errno */
int sl_journal_redactor_sync(struct sl_journal_redactor *jr, const struct sl_policy *p,
			     uint32_t generation);
void sl_journal_redactor_free(struct sl_journal_redactor *jr);
/* the sl_jw_filter (ctx: the sl_journal_redactor) */
int sl_journal_redact_filter(void *ctx, const void *in, size_t len, const void **out,
			     size_t *outlen);
/* a new record: forget what the last one found */
void sl_journal_redactor_begin(struct sl_journal_redactor *jr);
/* form (the value as it is on the wire) is value: labelled with value's fingerprint */
int sl_journal_redactor_learn(struct sl_journal_redactor *jr, const void *form, size_t len,
			      const void *value, size_t vlen);
/* text outside a record (the syslog summary of an alert): *out NUL-terminated */
int sl_journal_redact_text(struct sl_journal_redactor *jr, const char *in, const char **out);
/* "secrets": the credentials the record's values carried (env, fingerprint, source) */
void sl_journal_redactor_found(struct sl_journal_redactor *jr, struct sl_jw *w);

#endif
