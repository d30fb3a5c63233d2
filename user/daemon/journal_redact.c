// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The journal's redaction (journal_priv.h): no secret value of the policy
 * reaches the audit log, the alerts file or a tail client. The redactor
 * (user/lib/redact.h) is built from the policy in force; every string and
 * bytes value of every record passes it as the record's text is written
 * (jwriter.h's filter), so `comm`, nested evidence and any member a future
 * record adds are covered without a list of names. A value that is a piece
 * of a stream (one TLS write) is also redacted at its edges: a credential
 * split across two writes is in neither record, nor in an alert that shows
 * the writes joined.
 *
 * Values nobody told scopelock about are redacted by their position
 * (credpos.h: an Authorization header, URL userinfo, X_TOKEN=..., a JSON
 * "api_key" member, the argument after "--token"), and values the requests
 * room decoded at a credential position are learned (a bounded set), so that
 * other forms of them (an HTTP/2 header's HPACK Huffman bytes) are found in
 * the raw data of the record of the write that carried them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credpos.h"
#include "journal_priv.h"
#include "log.h"
#include "policy.h"

/* learned values: two generations of this many (and bytes) each */
#define LEARNED_VALUES 2048
#define LEARNED_BYTES (256U << 10)

void sl_journal_redactor_init(struct sl_journal_redactor *jr, const struct sl_jw *w)
{
	memset(jr, 0, sizeof(*jr));
	jr->w = w;
	jr->learned.max_values = LEARNED_VALUES;
	jr->learned.max_bytes = LEARNED_BYTES;
	jr->learned.min_len = SL_POLICY_SECRET_MIN_DEFAULT;
	jr->min_len = SL_POLICY_SECRET_MIN_DEFAULT;
}

void sl_journal_redactor_free(struct sl_journal_redactor *jr)
{
	sl_redact_learned_free(&jr->learned);
	sl_redact_free(jr->r);
	sl_redact_scratch_free(&jr->s);
	memset(jr, 0, sizeof(*jr));
}

static int build(const struct sl_policy *p, struct sl_redact **out)
{
	size_t min = p->settings.secret_min_len;
	struct sl_redact *r;
	int err;

	*out = NULL;
	if (!p->n_secrets && !p->n_discovered)
		return 0;
	err = sl_redact_new(min < SL_REDACT_MIN_LEN ? SL_REDACT_MIN_LEN : min, &r);
	if (err)
		return err;
	for (uint32_t i = 0; i < p->n_secrets && !err; i++) {
		const struct sl_policy_secret *sec = &p->secrets[i];
		char fp[SL_POLICY_FP_STR_SIZE], label[64];

		sl_policy_sha256_str(sec->sha256, fp);
		snprintf(label, sizeof(label), "[secret %s]", fp);
		if (sec->value)
			err = sl_redact_add(r, sec->value, sec->len, i, label);
		else
			err = sl_redact_add_fingerprint(r, sec->sha256, i, label);
	}
	/* discovered credentials: ids after the policy's secrets */
	for (uint32_t i = 0; i < p->n_discovered && !err; i++) {
		const struct sl_policy_discovered *d = &p->discovered[i];
		char fp[SL_POLICY_FP_STR_SIZE], label[64];

		if (!d->value || !d->len)
			continue;
		sl_policy_sha256_str(d->sha256, fp);
		snprintf(label, sizeof(label), "[secret %s]", fp);
		err = sl_redact_add(r, d->value, d->len, p->n_secrets + i, label);
	}
	if (err) {
		sl_redact_free(r);
		return err;
	}
	*out = r;
	return 0;
}

int sl_journal_redactor_sync(struct sl_journal_redactor *jr, const struct sl_policy *p,
			     uint32_t generation)
{
	struct sl_redact *r = NULL;
	int err;

	/* a credential discovered since (creds.h): redacted from the next record on */
	if (p == jr->policy && generation == jr->generation &&
	    (!p || p->n_discovered == jr->n_discovered) && !jr->err)
		return 0;
	err = p ? build(p, &r) : 0;
	if (err) {
		/* fail closed: sl_journal_redact_filter refuses every value */
		if (!jr->err)
			log_err("journal: cannot build the redactor of the policy: %s",
				strerror(-err));
		jr->err = err;
		return err;
	}
	sl_redact_free(jr->r);
	jr->r = r;
	jr->policy = p;
	jr->generation = generation;
	jr->n_discovered = p ? p->n_discovered : 0;
	jr->min_len = p && p->settings.secret_min_len >= SL_REDACT_MIN_LEN
			  ? p->settings.secret_min_len
			  : SL_POLICY_SECRET_MIN_DEFAULT;
	jr->err = 0;
	return 0;
}

void sl_journal_redactor_begin(struct sl_journal_redactor *jr)
{
	sl_redact_reset_found(&jr->s);
	jr->option_pending = false;
}

static int apply(struct sl_journal_redactor *jr, const void *in, size_t len, unsigned int flags,
		 const void **out, size_t *outlen)
{
	const struct sl_redact *rs[3] = {jr->r, jr->learned.gen[0], jr->learned.gen[1]};

	return sl_redact_apply_set(rs, 3, jr->min_len, &jr->s, in, len, flags, out, outlen);
}

int sl_journal_redact_filter(void *ctx, const void *in, size_t len, const void **out,
			     size_t *outlen)
{
	struct sl_journal_redactor *jr = ctx;
	unsigned int flags = SL_REDACT_POSITIONS;
	bool in_array = jr->w && jr->w->array[jr->w->depth];

	if (jr->err)
		return jr->err;
	if (jr->w && jr->w->stream)
		flags |= SL_REDACT_EDGES;
	/* argv: "--token" then its value, the next element */
	if (jr->option_pending && in_array)
		flags |= SL_REDACT_WHOLE;
	jr->option_pending = in_array && sl_credpos_option(in, len);
	return apply(jr, in, len, flags, out, outlen);
}

int sl_journal_redact_text(struct sl_journal_redactor *jr, const char *in, const char **out)
{
	const void *o;
	size_t n;
	int err;

	*out = in;
	if (jr->err)
		return jr->err;
	err = apply(jr, in, strlen(in), SL_REDACT_POSITIONS, &o, &n);
	if (!err)
		*out = o; /* in itself, or the scratch buffer (NUL-terminated) */
	return err;
}

int sl_journal_redactor_learn(struct sl_journal_redactor *jr, const void *form, size_t len,
			      const void *value, size_t vlen)
{
	char label[SL_REDACT_LABEL_MAX + 1];

	if (vlen < jr->min_len)
		return 0; /* a placeholder: the position leaves it too */
	jr->learned.min_len = jr->min_len;
	sl_redact_label(value, vlen, label);
	return sl_redact_learn(&jr->learned, form, len, label);
}

/* a discovered credential the record carried: its fingerprint and provenance */
static void discovered_found(const struct sl_policy *p, uint32_t i, struct sl_jw *w)
{
	const struct sl_policy_discovered *d;
	char fp[SL_POLICY_FP_STR_SIZE];
	const char *env;

	if (i >= p->n_discovered)
		return;
	d = &p->discovered[i];
	env = sl_policy_env_name(p, d->env_id);
	sl_policy_sha256_str(d->sha256, fp);
	sl_jw_obj(w, NULL);
	sl_jw_str(w, "env", env ? env : "unknown");
	sl_jw_str(w, "fingerprint", fp);
	sl_jw_str(w, "source", "discovered");
	sl_jw_str(w, "kind", d->kind);
	if (d->ino) {
		sl_jw_bytes(w, "source_file", d->source, strlen(d->source));
		sl_jw_uint(w, "dev", d->dev);
		sl_jw_uint(w, "ino", d->ino);
	} else {
		sl_jw_str(w, "source_env", d->source);
	}
	sl_jw_end(w);
}

void sl_journal_redactor_found(struct sl_journal_redactor *jr, struct sl_jw *w)
{
	const struct sl_policy *p = jr->policy;
	sl_jw_filter filter = w->filter;

	if (!jr->s.n_found || !p)
		return;
	/* the program's own text (names, fingerprints): not filtered again */
	w->filter = NULL;
	sl_jw_arr(w, "secrets");
	for (size_t i = 0; i < jr->s.n_found; i++) {
		const struct sl_policy_secret *sec;
		const struct sl_policy_env *env;
		const struct sl_policy_secret_src *src;
		char fp[SL_POLICY_FP_STR_SIZE];

		if (jr->s.found[i] >= p->n_secrets) {
			discovered_found(p, jr->s.found[i] - p->n_secrets, w);
			continue;
		}
		sec = &p->secrets[jr->s.found[i]];
		env = &p->envs[sec->env_id - 1];
		src = &env->secrets[sec->src];
		sl_policy_sha256_str(sec->sha256, fp);
		sl_jw_obj(w, NULL);
		sl_jw_str(w, "env", env->name);
		sl_jw_str(w, "fingerprint", fp);
		if (!sec->value)
			sl_jw_str(w, "source", "fingerprint");
		else if (src->kind == SL_SECRET_FILE)
			sl_jw_str(w, "source_file", src->path);
		else if (src->kind == SL_SECRET_ENV)
			sl_jw_str(w, "source_env", src->env_var);
		sl_jw_end(w);
	}
	sl_jw_end(w);
	w->filter = filter;
}
