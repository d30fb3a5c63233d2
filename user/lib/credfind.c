// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Credential finder (credfind.h): one PCRE2 pattern per format, each run over
 * the input with match and depth limits; the findings sorted, overlaps
 * resolved, assignments filtered (placeholders, entropy).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "credfind.h"

/* per pattern and input: bounds the backtracking of a hostile input */
#define MATCH_LIMIT 2000000U
#define DEPTH_LIMIT 2000U
/* findings kept while scanning, before overlaps are resolved */
#define RAW_MAX 4096

struct pat {
	enum sl_cred_kind kind;
	const char *re;
	int value_group; /* 0: the whole match; for assignments: first of the value groups */
	int key_group;	 /* 0: none */
};

/* a value, left and right: not inside a longer token */
#define L "(?<![A-Za-z0-9_+/])"
#define R "(?![A-Za-z0-9_+/=-])"

static const struct pat pats[] = {
    {SL_CRED_AWS_KEY_ID, "(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])", 0, 0},
    {SL_CRED_GITHUB, L "(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})" R, 0, 0},
    {SL_CRED_GITLAB, L "glpat-[A-Za-z0-9_-]{20,64}" R, 0, 0},
    {SL_CRED_SLACK, L "xox[abposr]-[A-Za-z0-9-]{10,255}" R, 0, 0},
    {SL_CRED_STRIPE, L "(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,255}" R, 0, 0},
    {SL_CRED_ANTHROPIC, L "sk-ant-[A-Za-z0-9_-]{20,255}" R, 0, 0},
    {SL_CRED_OPENAI, L "sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,255}" R, 0, 0},
    {SL_CRED_GOOGLE_API, L "AIza[0-9A-Za-z_-]{35}" R, 0, 0},
    {SL_CRED_NPM, L "npm_[A-Za-z0-9]{36}" R, 0, 0},
    {SL_CRED_SENDGRID, L "SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}" R, 0, 0},
    {SL_CRED_DIGITALOCEAN, L "do[opr]_v1_[a-f0-9]{64}" R, 0, 0},
    {SL_CRED_VAULT, L "hv[sb]\\.[A-Za-z0-9_-]{24,255}" R, 0, 0},
    {SL_CRED_TERRAFORM, L "[A-Za-z0-9]{14}\\.atlasv1\\.[A-Za-z0-9_-]{60,255}" R, 0, 0},
    {SL_CRED_JWT, L "eyJ[A-Za-z0-9_-]{8,4096}\\.eyJ[A-Za-z0-9_-]{8,8192}\\.[A-Za-z0-9_-]{8,1024}" R,
     0, 0},
    {SL_CRED_PRIVATE_KEY,
     "-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----[A-Za-z0-9+/=:,\\s-]{16,16384}?"
     "-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY-----",
     0, 0},
    /* scheme://user:PASSWORD@host */
    {SL_CRED_URL_PASSWORD,
     "(?i)(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{1,20}://[^\\s:/@\"'<>]{1,128}:"
     "([^\\s:/@\"'<>]{3,256})@[^\\s/@\"'<>]",
     1, 0},
    /* .netrc: machine HOST login USER password PASSWORD */
    {SL_CRED_NETRC_PASSWORD,
     "(?m)\\bmachine\\s+\\S+\\s+(?:login\\s+\\S+\\s+)?password\\s+(\\S{3,256})", 1, 0},
    /* Authorization: Bearer VALUE (scripts, configs, saved requests) */
    {SL_CRED_AUTH_HEADER,
     "(?i)(?<![a-z0-9_])(?:proxy-)?authorization[\"']?[ \\t]*[:=][ \\t]*[\"']?"
     "(?:bearer|token|basic)[ \\t]+([A-Za-z0-9._~+/=-]{8,4096})",
     1, 0},
    /* KEY=VALUE, export KEY="VALUE", "key": "value", key: value, key = value */
    {SL_CRED_ASSIGNMENT,
     "(?i)(?<![a-z0-9_.-])(?:export[ \\t]+)?[\"']?([a-z0-9_.-]{0,40}"
     "(?:token|secret|passw(?:or)?d|pwd|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
     "auth[_-]?key|key[_-]?data|credentials?|bearer|session[_-]?key|signing[_-]?key|"
     "encryption[_-]?key)[a-z0-9_.-]{0,40})[\"']?[ \\t]*[=:][ \\t]*"
     "(?:\"([^\"\\n]{1,1024})\"|'([^'\\n]{1,1024})'|([^\\s\"',;#}\\]]{1,1024}))",
     2, 1},
};

#undef L
#undef R

static const char *const kind_names[SL_CRED_KIND_MAX] = {
    [SL_CRED_AWS_KEY_ID] = "aws_access_key_id",
    [SL_CRED_AWS_SECRET] = "aws_secret_access_key",
    [SL_CRED_GITHUB] = "github_token",
    [SL_CRED_GITLAB] = "gitlab_token",
    [SL_CRED_SLACK] = "slack_token",
    [SL_CRED_STRIPE] = "stripe_key",
    [SL_CRED_ANTHROPIC] = "anthropic_api_key",
    [SL_CRED_OPENAI] = "openai_api_key",
    [SL_CRED_GOOGLE_API] = "google_api_key",
    [SL_CRED_NPM] = "npm_token",
    [SL_CRED_SENDGRID] = "sendgrid_api_key",
    [SL_CRED_DIGITALOCEAN] = "digitalocean_token",
    [SL_CRED_VAULT] = "vault_token",
    [SL_CRED_TERRAFORM] = "terraform_cloud_token",
    [SL_CRED_JWT] = "jwt",
    [SL_CRED_PRIVATE_KEY] = "private_key",
    [SL_CRED_URL_PASSWORD] = "url_password",
    [SL_CRED_NETRC_PASSWORD] = "netrc_password",
    [SL_CRED_AUTH_HEADER] = "authorization",
    [SL_CRED_ASSIGNMENT] = "assignment",
};

struct sl_credfind {
	pcre2_code *code[sizeof(pats) / sizeof(pats[0])];
};

const char *sl_cred_kind_name(enum sl_cred_kind k)
{
	return (unsigned int)k < SL_CRED_KIND_MAX ? kind_names[k] : "?";
}

int sl_credfind_new(struct sl_credfind **out)
{
	struct sl_credfind *cf = calloc(1, sizeof(*cf));
	int err = 0;

	if (!cf)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		PCRE2_SIZE eoff;
		int rc;

		cf->code[i] = pcre2_compile((PCRE2_SPTR)pats[i].re, PCRE2_ZERO_TERMINATED, 0, &rc,
					    &eoff, NULL);
		if (!cf->code[i]) {
			err = rc == PCRE2_ERROR_NOMEMORY ? -ENOMEM : -EINVAL;
			goto fail;
		}
		/* without JIT (or if it fails) the interpreter does the same */
		(void)pcre2_jit_compile(cf->code[i], PCRE2_JIT_COMPLETE);
	}
	*out = cf;
	return 0;
fail:
	sl_credfind_free(cf);
	return err;
}

void sl_credfind_free(struct sl_credfind *cf)
{
	if (!cf)
		return;
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		pcre2_code_free(cf->code[i]);
	free(cf);
}

/* bits of entropy per byte of v */
static double entropy(const char *v, size_t n)
{
	unsigned int h[256] = {0};
	double e = 0;

	for (size_t i = 0; i < n; i++)
		h[(unsigned char)v[i]]++;
	for (int i = 0; i < 256; i++)
		if (h[i]) {
			double p = (double)h[i] / (double)n;

			e -= p * log2(p);
		}
	return e;
}

static bool has_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; i + m <= n; i++)
		if (!strncasecmp(s + i, needle, m))
			return true;
	return false;
}

/* a value that stands for a credential without being one */
static bool placeholder(const char *v, size_t n)
{
	static const char *const words[] = {
	    "changeme", "change_me", "change-me", "password", "passwd", "secret",  "token",
	    "example",	"null",	     "none",	  "nil",      "true",	"false",   "undefined",
	    "redacted", "required",  "optional",  "string",   "your",	"replace", "dummy",
	    "fake",	"sample",    "todo",	  "xxx",      "***",	"...",	   "<"};
	bool same = true;

	if (n == 0 || v[0] == '$' || v[0] == '<' || v[0] == '%' || v[0] == '{' || v[0] == '[' ||
	    v[0] == '(')
		return true;
	for (size_t i = 1; i < n; i++)
		if (v[i] != v[0])
			same = false;
	if (same)
		return true;
	for (size_t i = 0; i < n; i++)
		if (v[i] == '(' || v[i] == ')' || v[i] == '{' || v[i] == '}' || v[i] == ' ')
			return true; /* code or prose, not a value */
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (has_ci(v, n, words[i]) && n < strlen(words[i]) + 8)
			return true;
	return false;
}

/* is the value of this assignment a credential? */
static bool assignment_ok(const char *key, size_t klen, const char *v, size_t n)
{
	bool password = has_ci(key, klen, "pass") || has_ci(key, klen, "pwd");
	bool digit = false, upper = false, lower = false;

	if (placeholder(v, n))
		return false;
	/* the shell's working directories (every environment has them), not passwords */
	if ((klen == 3 && !strncasecmp(key, "pwd", 3)) ||
	    (klen == 6 && !strncasecmp(key, "oldpwd", 6)))
		return false;
	if (password)
		return n >= 6;
	if (n < 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		digit |= v[i] >= '0' && v[i] <= '9';
		upper |= v[i] >= 'A' && v[i] <= 'Z';
		lower |= v[i] >= 'a' && v[i] <= 'z';
	}
	/* generated values: mixed characters and entropy (not "development") */
	return entropy(v, n) >= 3.0 && (digit + upper + lower >= 2 || n >= 24);
}

static int cmp_raw(const void *pa, const void *pb)
{
	const struct sl_cred *a = pa, *b = pb;

	if (a->off != b->off)
		return a->off < b->off ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return a->len > b->len ? -1 : a->len < b->len;
}

static bool overlaps(const struct sl_cred *a, const struct sl_cred *b)
{
	return a->off < b->off + b->len && b->off < a->off + a->len;
}

/* one pattern over the input: its findings appended to raw */
static int run(const struct sl_credfind *cf, size_t p, const char *buf, size_t len,
	       struct sl_cred *raw, size_t *nraw, struct sl_credfind_stats *st)
{
	const struct pat *pt = &pats[p];
	pcre2_match_context *mctx = pcre2_match_context_create(NULL);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(cf->code[p], NULL);
	size_t start = 0;
	int err = 0;

	if (!mctx || !md) {
		err = -ENOMEM;
		goto out;
	}
	pcre2_set_match_limit(mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(mctx, DEPTH_LIMIT);
	while (start < len) {
		int rc = pcre2_match(cf->code[p], (PCRE2_SPTR)buf, len, start, 0, md, mctx);
		PCRE2_SIZE *ov;
		struct sl_cred c = {.kind = pt->kind};
		size_t vs = 0, ve = 0;

		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT) {
			st->limited++;
			break;
		}
		if (rc < 0) {
			err = rc == PCRE2_ERROR_NOMEMORY ? -ENOMEM : -EIO;
			break;
		}
		ov = pcre2_get_ovector_pointer(md);
		/* the value: the whole match, or the first of the value groups that matched */
		if (!pt->value_group) {
			vs = ov[0];
			ve = ov[1];
		}
		for (int g = pt->value_group; g && g < rc; g++) {
			if (ov[2 * g] != PCRE2_UNSET) {
				vs = ov[2 * g];
				ve = ov[2 * g + 1];
				break;
			}
		}
		if (pt->key_group && ov[2 * pt->key_group] != PCRE2_UNSET) {
			size_t kl = ov[2 * pt->key_group + 1] - ov[2 * pt->key_group];

			if (kl >= sizeof(c.key))
				kl = sizeof(c.key) - 1;
			memcpy(c.key, buf + ov[2 * pt->key_group], kl);
			c.key[kl] = '\0';
		}
		c.off = vs;
		c.len = ve - vs;
		if (c.len && pt->kind == SL_CRED_ASSIGNMENT &&
		    !assignment_ok(c.key, strlen(c.key), buf + vs, c.len))
			c.len = 0;
		if (c.len && pt->kind == SL_CRED_ASSIGNMENT &&
		    has_ci(c.key, strlen(c.key), "secret") &&
		    has_ci(c.key, strlen(c.key), "access") && c.len == 40)
			c.kind = SL_CRED_AWS_SECRET;
		if (c.len) {
			if (*nraw < RAW_MAX)
				raw[(*nraw)++] = c;
			else
				st->found++; /* counted, not kept */
		}
		start = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
	}
out:
	pcre2_match_data_free(md);
	pcre2_match_context_free(mctx);
	return err;
}

int sl_credfind_scan(const struct sl_credfind *cf, const char *buf, size_t len, struct sl_cred *out,
		     size_t max, struct sl_credfind_stats *stats)
{
	struct sl_credfind_stats st = {0};
	struct sl_cred *raw;
	size_t nraw = 0, n = 0, kept = 0;
	int err = 0;

	if (!cf || (!buf && len))
		return -EINVAL;
	st.truncated = len > SL_CREDFIND_MAX_INPUT;
	if (st.truncated)
		len = SL_CREDFIND_MAX_INPUT;
	st.scanned = len;
	raw = malloc(RAW_MAX * sizeof(*raw));
	if (!raw)
		return -ENOMEM;
	for (size_t p = 0; p < sizeof(pats) / sizeof(pats[0]) && !err; p++)
		err = run(cf, p, buf, len, raw, &nraw, &st);
	if (err)
		goto out;
	qsort(raw, nraw, sizeof(*raw), cmp_raw);
	/* overlaps: a known format wins over an assignment (and takes its name),
	 * of two known formats the longer (then the more specific) */
	for (size_t i = 0; i < nraw; i++) {
		struct sl_cred *c = &raw[i];

		if (kept && overlaps(&raw[kept - 1], c)) {
			struct sl_cred *k = &raw[kept - 1];
			bool c_known = c->kind != SL_CRED_ASSIGNMENT;
			bool k_known = k->kind != SL_CRED_ASSIGNMENT;

			if (c_known && (!k_known || c->len > k->len)) {
				if (!c->key[0])
					memcpy(c->key, k->key, sizeof(c->key));
				*k = *c;
			} else if (!k->key[0] && c->key[0]) {
				memcpy(k->key, c->key, sizeof(k->key));
			}
			continue;
		}
		raw[kept++] = *c;
	}
	st.found += kept;
	for (size_t i = 0; i < kept && n < max; i++)
		out[n++] = raw[i];
out:
	free(raw);
	if (stats)
		*stats = st;
	return err ? err : (int)n;
}
