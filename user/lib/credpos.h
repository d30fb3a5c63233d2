/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Credential positions in text: the places where whatever value stands is a
 * credential, whether or not scopelock knows the value (the redactor,
 * redact.h, replaces each with "[secret sha256:...]", the fingerprint of the
 * value found there).
 *
 *	struct sl_credpos_spans sp = {0};
 *
 *	sl_credpos_scan(data, len, 8, &sp);
 *	... sp.v[0 .. sp.n): [a, b) of each value, in order, not overlapping
 *	sl_credpos_spans_free(&sp);
 *
 * The positions (names compared without regard to case):
 *   header lines: a name at the start of the data, of a line, or after a
 *     quote, then ':' (Authorization, Proxy-Authorization: the value after
 *     the scheme word, or all of it; Cookie, Set-Cookie, X-Api-Key, Api-Key,
 *     X-Auth-Token, X-Goog-Api-Key and any name containing token, secret,
 *     api-key, apikey or password: all of the value), up to the end of the
 *     line (or the quote the line began with)
 *   URL userinfo: the password of scheme://user:PASSWORD@host
 *   NAME=VALUE and --option=VALUE, NAME a secret name (below), the value
 *     quoted or up to a blank, '&', ';' or a quote
 *   --option VALUE in one text (a shell command line), and "--option" alone
 *     (sl_credpos_option: the next argument is the value)
 *   JSON members "NAME": "VALUE" whose NAME is a secret name
 * A secret name ends (after '_', '-', or a lower-to-upper camel boundary)
 * with token, secret, password, passwd, pass, pwd, credentials, apikey,
 * api_key, secret_key, access_key, private_key, or is one of password,
 * passwd, secret, token, apikey, authorization, credentials, cookie, or ends
 * with "password" (PGPASSWORD); an all-uppercase NAME ending with _KEY
 * (STRIPE_KEY) too. "tokens", "token_count", "max_tokens", "nextPageToken"
 * and PWD (the working directory) are not.
 *
 * Values shorter than min_len bytes are left alone (placeholders).
 * One pass over the data; each position looks back at most
 * SL_CREDPOS_NAME_MAX bytes and a URL's userinfo is looked for in at most
 * SL_CREDPOS_USERINFO_MAX bytes: linear time; memory is the span array.
 */
#ifndef SL_CREDPOS_H
#define SL_CREDPOS_H

#include <stdbool.h>
#include <stddef.h>

#define SL_CREDPOS_NAME_MAX 64
#define SL_CREDPOS_USERINFO_MAX 256

struct sl_credpos_span {
	size_t a, b; /* the value: [a, b) */
};

struct sl_credpos_spans {
	struct sl_credpos_span *v;
	size_t n, cap;
};

/* the credential values of data (appended to sp, sp->n reset first); 0 or -ENOMEM */
int sl_credpos_scan(const void *data, size_t len, size_t min_len, struct sl_credpos_spans *sp);
/* the text is an option alone whose value is the next argument: "--token", "--password" */
bool sl_credpos_option(const void *data, size_t len);
/* the name (any case) is a secret name (above) */
bool sl_credpos_secret_name(const char *name, size_t len);
void sl_credpos_spans_free(struct sl_credpos_spans *sp);

#endif
