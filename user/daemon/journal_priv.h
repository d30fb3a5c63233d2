/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What the files of the journal room share (journal.h is its door). */
#ifndef SL_JOURNAL_PRIV_H
#define SL_JOURNAL_PRIV_H

#include <jansson.h>

struct sl_policy;

/*
 * Secret values never reach a file: replace p's secrets in every bytes
 * member of rec that can carry one, and say which secrets were there
 * (fingerprints only) in rec's "secrets" (journal_redact.c).
 */
void sl_journal_redact(const struct sl_policy *p, json_t *rec);

#endif
