/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Credentials where an agent finds them (issue 10): credential-shaped values
 * in the bytes of a file or an environment block, each with its kind and, for
 * an assignment, the name it was assigned to.
 *
 * Found: known token formats (AWS access key ids and secret keys, GitHub,
 * GitLab, Slack, Stripe, OpenAI, Anthropic, Google API keys, npm, SendGrid,
 * DigitalOcean, HashiCorp Vault and Terraform Cloud tokens, JWTs, PEM private
 * keys, passwords in URLs and .netrc, Authorization header values), and the
 * values of assignments whose name says secret (KEY=VALUE, export KEY=...,
 * "key": "value", key: value, key = value) when they are not placeholders
 * ($VAR, <...>, changeme, ...) and, for names other than password, have the
 * entropy of a generated value. Not found on purpose: UUIDs, hashes, base64
 * blobs and URLs without a password that no secret-named key holds.
 *
 * Bounded: at most SL_CREDFIND_MAX_INPUT bytes of the input are read, each
 * pattern's matching is bounded by PCRE2 match and depth limits (a pattern
 * that hits them stops for that input and the scan says so), and at most
 * the caller's max findings are returned (the count of the rest too).
 * Patterns: PCRE2, compiled once (JIT when available).
 */
#ifndef SL_CREDFIND_H
#define SL_CREDFIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_CREDFIND_MAX_INPUT (4U << 20)
#define SL_CREDFIND_KEY_MAX 64

enum sl_cred_kind {
	SL_CRED_AWS_KEY_ID = 0,
	SL_CRED_AWS_SECRET,
	SL_CRED_GITHUB,
	SL_CRED_GITLAB,
	SL_CRED_SLACK,
	SL_CRED_STRIPE,
	SL_CRED_ANTHROPIC,
	SL_CRED_OPENAI,
	SL_CRED_GOOGLE_API,
	SL_CRED_NPM,
	SL_CRED_SENDGRID,
	SL_CRED_DIGITALOCEAN,
	SL_CRED_VAULT,
	SL_CRED_TERRAFORM,
	SL_CRED_JWT,
	SL_CRED_PRIVATE_KEY,
	SL_CRED_URL_PASSWORD,
	SL_CRED_NETRC_PASSWORD,
	SL_CRED_AUTH_HEADER,
	SL_CRED_ASSIGNMENT, /* the value of a secret-named key, no known format */
	SL_CRED_KIND_MAX,
};

struct sl_cred {
	enum sl_cred_kind kind;
	size_t off, len;	       /* the value in the input */
	char key[SL_CREDFIND_KEY_MAX]; /* the name it was assigned to, "" if none */
};

struct sl_credfind_stats {
	size_t scanned;	  /* input bytes read (<= SL_CREDFIND_MAX_INPUT) */
	bool truncated;	  /* the input was longer */
	size_t found;	  /* findings, including those beyond max */
	unsigned limited; /* patterns stopped by a match or depth limit */
};

struct sl_credfind;

/* compile the patterns; 0 or -errno (-EINVAL names a pattern bug: never expected) */
int sl_credfind_new(struct sl_credfind **out);
void sl_credfind_free(struct sl_credfind *cf);
/* "aws_access_key_id", "github_token", ..., "assignment" */
const char *sl_cred_kind_name(enum sl_cred_kind k);

/*
 * Find credentials in buf[0, len): up to max in out, ordered by offset, no
 * two overlapping (a known format wins over a plain assignment, and keeps
 * the assignment's name). Returns how many were stored, or -errno (-ENOMEM).
 * stats may be NULL.
 */
int sl_credfind_scan(const struct sl_credfind *cf, const char *buf, size_t len, struct sl_cred *out,
		     size_t max, struct sl_credfind_stats *stats);

#endif
