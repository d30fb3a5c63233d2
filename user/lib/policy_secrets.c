// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Secrets named by a policy: read the files and environment variables,
 * keep the values (wiped on free) and their SHA-256. No message built here
 * ever contains a value: only the file, the key, the environment name and
 * a fingerprint.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy_internal.h"
#include "util.h"

void sl_policy_fingerprint(const void *value, size_t len, uint8_t sha256[32])
{
	unsigned int mdlen = 32;

	if (!EVP_Digest(value, len, sha256, &mdlen, EVP_sha256(), NULL))
		memset(sha256, 0, 32);
}

void sl_policy_sha256_str(const uint8_t sha256[32], char out[SL_POLICY_FP_STR_SIZE])
{
	static const char hex[] = "0123456789abcdef";

	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 8; i++) {
		out[7 + 2 * i] = hex[sha256[i] >> 4];
		out[8 + 2 * i] = hex[sha256[i] & 15];
	}
	out[23] = '\0';
}

void sl_policy_fingerprint_str(const void *value, size_t len, char out[SL_POLICY_FP_STR_SIZE])
{
	uint8_t sha[32];

	sl_policy_fingerprint(value, len, sha);
	sl_policy_sha256_str(sha, out);
}

struct sctx {
	struct sl_policy *p;
	struct sl_policy_errors *errs;
	struct sl_policy_secret *v; /* values collected so far */
	uint32_t n;
	uint32_t env_id;
	uint32_t src;
	const struct sl_policy_secret_src *s;
	char field[SL_POLICY_FIELD_MAX];
	uint32_t added; /* values added by the current entry */
	size_t skipped_short;
	int err; /* -ENOMEM */
};

static void serr(struct sctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void serr(struct sctx *c, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = sl_perr_vadd(c->errs, c->p->source, c->s->loc.line, c->s->loc.column, c->field, fmt,
			   ap);
	va_end(ap);
	if (err)
		c->err = err;
}

/* add one value (copied); values shorter than the minimum are skipped */
static void add_value(struct sctx *c, const void *val, size_t len, bool fingerprint_only)
{
	struct sl_policy_secret *sv;
	uint8_t sha[32];

	if (fingerprint_only) {
		memcpy(sha, c->s->sha256, sizeof(sha));
	} else {
		if (len < c->p->settings.secret_min_len) {
			c->skipped_short++;
			return;
		}
		if (len > SL_POLICY_SECRET_VALUE_MAX) {
			serr(c,
			     "expected secret values of at most %u bytes, found one of %zu bytes",
			     SL_POLICY_SECRET_VALUE_MAX, len);
			return;
		}
		sl_policy_fingerprint(val, len, sha);
	}
	for (uint32_t i = 0; i < c->n; i++) {
		if (memcmp(c->v[i].sha256, sha, sizeof(sha)))
			continue;
		if (c->v[i].env_id != c->env_id) {
			char fp[SL_POLICY_FP_STR_SIZE];

			sl_policy_sha256_str(sha, fp);
			serr(c,
			     "expected a credential labelled with one environment only, found %s "
			     "already labelled '%s'",
			     fp, sl_policy_env_name(c->p, c->v[i].env_id));
		}
		c->added++; /* a duplicate within one environment is fine */
		return;
	}
	if (c->n >= SL_POLICY_MAX_SECRET_VALUES) {
		serr(c, "expected at most %u secret values in a policy, found more",
		     SL_POLICY_MAX_SECRET_VALUES);
		return;
	}
	sv = &c->v[c->n];
	memset(sv, 0, sizeof(*sv));
	sv->env_id = c->env_id;
	sv->src = c->src;
	memcpy(sv->sha256, sha, sizeof(sha));
	if (!fingerprint_only) {
		sv->value = malloc(len ? len : 1);
		if (!sv->value) {
			c->err = -ENOMEM;
			return;
		}
		memcpy(sv->value, val, len);
		sv->len = (uint32_t)len;
	}
	c->n++;
	c->added++;
}

static bool key_wanted(const struct sl_policy_secret_src *s, const char *key, size_t klen,
		       bool *seen)
{
	if (!s->n_keys)
		return true;
	for (uint32_t i = 0; i < s->n_keys; i++) {
		if (strlen(s->keys[i]) == klen && !memcmp(s->keys[i], key, klen)) {
			seen[i] = true;
			return true;
		}
	}
	return false;
}

static bool is_key_char(char ch, bool first)
{
	return isalpha((unsigned char)ch) || ch == '_' ||
	       (!first && (isdigit((unsigned char)ch) || ch == '.' || ch == '-'));
}

/*
 * Lines of "KEY=VALUE" (dotenv: optional "export ", quotes around VALUE,
 * "#" comments); in auto format other lines are a value each.
 */
static void parse_lines(struct sctx *c, char *buf, size_t len, bool *seen)
{
	bool env_only = c->s->format == SL_SECFMT_ENV;
	char *p = buf, *end = buf + len;

	while (p < end) {
		char *eol = memchr(p, '\n', (size_t)(end - p));
		char *l = p, *e = eol ? eol : end;
		char *k, *v;
		size_t kl;

		p = eol ? eol + 1 : end;
		while (l < e && (*l == ' ' || *l == '\t'))
			l++;
		while (e > l && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (l == e || *l == '#')
			continue;
		if ((size_t)(e - l) > 7 && !memcmp(l, "export ", 7))
			k = l + 7;
		else
			k = l;
		while (k < e && *k == ' ')
			k++;
		for (v = k; v < e && is_key_char(*v, v == k); v++)
			;
		kl = (size_t)(v - k);
		if (kl == 0 || v >= e || *v != '=') {
			/* not KEY=VALUE */
			if (!env_only && !c->s->n_keys)
				add_value(c, l, (size_t)(e - l), false);
			continue;
		}
		if (!key_wanted(c->s, k, kl, seen))
			continue;
		v++;
		if (e - v >= 2 && (*v == '"' || *v == '\'') && e[-1] == *v) {
			v++;
			e--;
		} else {
			/* unquoted: an inline comment starts at " #" */
			for (char *h = v; h + 1 < e; h++) {
				if ((*h == ' ' || *h == '\t') && h[1] == '#') {
					e = h;
					break;
				}
			}
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
		}
		add_value(c, v, (size_t)(e - v), false);
	}
}

static void walk_json(struct sctx *c, json_t *j, bool *seen, int depth)
{
	const char *key;
	json_t *val;
	size_t i;

	if (depth > 32)
		return;
	if (json_is_object(j)) {
		json_object_foreach (j, key, val) {
			if (json_is_string(val) && key_wanted(c->s, key, strlen(key), seen))
				add_value(c, json_string_value(val), json_string_length(val),
					  false);
			else
				walk_json(c, val, seen, depth + 1);
		}
	} else if (json_is_array(j)) {
		json_array_foreach (j, i, val)
			walk_json(c, val, seen, depth + 1);
	}
}

static int read_secret_file(const char *path, char **out, size_t *out_len)
{
	/* O_NONBLOCK: a FIFO must not block the daemon; only regular files are read */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	char *buf;
	size_t len = 0, cap = SL_POLICY_SECRET_FILE_MAX + 1;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size > (off_t)SL_POLICY_SECRET_FILE_MAX)
		return -EFBIG;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			explicit_bzero(buf, len);
			free(buf);
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			explicit_bzero(buf, len);
			free(buf);
			return -EFBIG;
		}
	}
	*out = buf;
	*out_len = len;
	return 0;
}

static void load_file_secret(struct sctx *c)
{
	const struct sl_policy_secret_src *s = c->s;
	char *buf = NULL;
	bool seen[64] = {0};
	size_t len = 0;
	int err;

	err = read_secret_file(s->path, &buf, &len);
	if (err == -ENOMEM) {
		c->err = err;
		return;
	}
	if (err == -EINVAL) {
		serr(c, "expected a regular secret file, found another kind of file at '%s'",
		     s->path);
		return;
	}
	if (err == -EFBIG) {
		serr(c, "expected a secret file of at most %u bytes, found a larger one at '%s'",
		     SL_POLICY_SECRET_FILE_MAX, s->path);
		return;
	}
	if (err) {
		serr(c, "expected a readable secret file at '%s', found: %s", s->path,
		     strerror(-err));
		return;
	}
	if (memchr(buf, '\0', len) && s->format != SL_SECFMT_RAW) {
		serr(c, "expected a text secret file at '%s' (or format raw), found a NUL byte",
		     s->path);
		goto out;
	}
	switch (s->format) {
	case SL_SECFMT_RAW: {
		size_t l = len;

		while (l && (buf[l - 1] == '\n' || buf[l - 1] == '\r'))
			l--;
		if (l < c->p->settings.secret_min_len) {
			serr(c,
			     "expected a secret of at least %u bytes (settings.secret_min_length) "
			     "in "
			     "'%s', found %zu bytes",
			     c->p->settings.secret_min_len, s->path, l);
			goto out;
		}
		add_value(c, buf, l, false);
		break;
	}
	case SL_SECFMT_JSON: {
		json_error_t jerr;
		json_t *j = json_loadb(buf, len, JSON_DECODE_ANY, &jerr);

		if (!j) {
			/* jerr.text may quote the input: only the position is safe to show */
			serr(c,
			     "expected a JSON document in '%s', found invalid JSON at line %d "
			     "column "
			     "%d",
			     s->path, jerr.line, jerr.column);
			goto out;
		}
		walk_json(c, j, seen, 0);
		json_decref(j);
		break;
	}
	default:
		parse_lines(c, buf, len, seen);
		break;
	}
	for (uint32_t i = 0; i < s->n_keys && i < 64; i++) {
		if (!seen[i]) {
			char q[160];

			sl_perr_quote(s->keys[i], strlen(s->keys[i]), 64, q, sizeof(q));
			serr(c, "expected key %s in secret file '%s', found no such key", q,
			     s->path);
		}
	}
	if (!c->added)
		serr(c,
		     "expected at least one credential value of at least %u bytes "
		     "(settings.secret_min_length) in '%s', found none%s",
		     c->p->settings.secret_min_len, s->path,
		     c->skipped_short ? " (only shorter values)" : "");
out:
	explicit_bzero(buf, len);
	free(buf);
}

int sl_policy_load_secrets(struct sl_policy *p, struct sl_policy_errors *errs)
{
	struct sctx c = {.p = p};
	struct sl_policy_errors local;
	size_t before;
	int err;

	sl_policy_errors_init(&local);
	c.errs = errs ? errs : &local;
	before = c.errs->total;
	c.v = calloc(SL_POLICY_MAX_SECRET_VALUES, sizeof(*c.v));
	if (!c.v) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < p->n_envs && !c.err; i++) {
		const struct sl_policy_env *e = &p->envs[i];

		for (uint32_t j = 0; j < e->n_secrets && !c.err; j++) {
			const struct sl_policy_secret_src *s = &e->secrets[j];
			static const char *const sub[] = {"file", "fingerprint", "env"};

			c.env_id = e->id;
			c.src = j;
			c.s = s;
			c.added = 0;
			c.skipped_short = 0;
			snprintf(c.field, sizeof(c.field), "environments.%s.secrets[%u].%s",
				 e->name, j, s->kind < 3 ? sub[s->kind] : "?");
			switch (s->kind) {
			case SL_SECRET_FILE:
				load_file_secret(&c);
				break;
			case SL_SECRET_FINGERPRINT:
				add_value(&c, NULL, 0, true);
				break;
			case SL_SECRET_ENV: {
				const char *val = getenv(s->env_var);

				if (!val)
					serr(&c,
					     "expected environment variable '%s' to be set for the "
					     "daemon, found it unset",
					     s->env_var);
				else if (strlen(val) < p->settings.secret_min_len)
					serr(&c,
					     "expected the value of '%s' to have at least %u bytes "
					     "(settings.secret_min_length), found %zu bytes",
					     s->env_var, p->settings.secret_min_len, strlen(val));
				else
					add_value(&c, val, strlen(val), false);
				break;
			}
			default:
				break;
			}
		}
	}
	if (c.err) {
		err = c.err;
		goto out;
	}
	if (c.errs->total > before) {
		err = -EINVAL;
		goto out;
	}
	/* replace what an earlier call loaded */
	for (uint32_t i = 0; i < p->n_secrets; i++) {
		if (p->secrets[i].value) {
			explicit_bzero(p->secrets[i].value, p->secrets[i].len);
			free(p->secrets[i].value);
		}
	}
	free(p->secrets);
	p->secrets = c.v;
	p->n_secrets = c.n;
	p->secrets_loaded = true;
	c.v = NULL;
	c.n = 0;
	err = 0;
out:
	for (uint32_t i = 0; c.v && i < c.n; i++) {
		if (c.v[i].value) {
			explicit_bzero(c.v[i].value, c.v[i].len);
			free(c.v[i].value);
		}
	}
	free(c.v);
	sl_policy_errors_free(&local);
	return err;
}
