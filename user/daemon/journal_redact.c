// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The journal's redaction (journal_priv.h): no secret value of the policy
 * reaches the audit log, the alerts file or a tail client. Every record is
 * redacted before it is chained, whoever built it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal_priv.h"
#include "jsonbytes.h"
#include "policy.h"
#include "util.h"

/*
 * Replace every secret value in buf with "[secret sha256:...]" and list the
 * secrets found (env, fingerprint, where the policy got it). Returns a new
 * malloc'd buffer (*outlen bytes).
 */
static char *redact(const struct sl_policy *p, const char *buf, size_t len, json_t *found,
		    size_t *outlen);

static bool has_fingerprints(const struct sl_policy *p)
{
	for (uint32_t s = 0; s < p->n_secrets; s++)
		if (!p->secrets[s].value)
			return true;
	return false;
}

static bool token_byte(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       strchr("-_.~+/=:", c) != NULL;
}

/*
 * Fingerprint-only secrets (the policy has the SHA-256, not the value): hash
 * every token of the text (a maximal run of token bytes, or any of its
 * "key=value" / "Bearer value" tails) and replace those whose hash is
 * registered. The kernel cannot do this; the daemon does it so the value
 * never reaches a file, and an alert names the credential.
 */
static void redact_fingerprints(const struct sl_policy *p, char *buf, size_t *len, json_t *found)
{
	size_t i = 0, n = *len;

	while (i < n) {
		size_t start, end;

		while (i < n && !token_byte((unsigned char)buf[i]))
			i++;
		start = i;
		while (i < n && token_byte((unsigned char)buf[i]))
			i++;
		end = i;
		/* the token, and the part after its first '=' or ':' */
		for (int pass = 0; pass < 2 && end > start; pass++) {
			size_t ts = start, tl;
			uint8_t md[32];

			if (pass == 1) {
				char *eq = memchr(buf + start, '=', end - start);

				if (!eq)
					eq = memchr(buf + start, ':', end - start);
				if (!eq)
					break;
				ts = (size_t)(eq - buf) + 1;
			}
			tl = end - ts;
			if (tl < p->settings.secret_min_len)
				continue;
			sl_policy_fingerprint(buf + ts, tl, md);
			for (uint32_t s = 0; s < p->n_secrets; s++) {
				const struct sl_policy_secret *sec = &p->secrets[s];
				char fp[SL_POLICY_FP_STR_SIZE];

				if (sec->value || memcmp(md, sec->sha256, 32))
					continue;
				sl_policy_sha256_str(sec->sha256, fp);
				/* overwrite in place, keep the length: "[fp sha256:...]" padded */
				memset(buf + ts, '*', tl);
				memcpy(buf + ts, fp, strlen(fp) < tl ? strlen(fp) : tl);
				if (found)
					json_array_append_new(
					    found,
					    json_pack("{s:s, s:s, s:s}", "env",
						      p->envs[sec->env_id - 1].name, "fingerprint",
						      fp, "source", "fingerprint"));
				break;
			}
		}
	}
}

/* redact one bytes member of rec in place; found secrets appended to found */
static void redact_member(const struct sl_policy *p, json_t *rec, const char *key, json_t *found)
{
	json_t *v = json_object_get(rec, key);
	char *raw = NULL, *red;
	size_t len, rlen;

	if (!v || json_is_null(v) || sl_json_bytes_decode(v, &raw, &len))
		return;
	red = redact(p, raw, len, found, &rlen);
	if (red && has_fingerprints(p))
		redact_fingerprints(p, red, &rlen, found);
	if (red && (rlen != len || memcmp(red, raw, len)))
		sl_json_set_bytes(rec, key, red, rlen);
	free(red);
	free(raw);
}

/*
 * Secret values never reach a file: replace them in every bytes member that
 * can carry one, and say which secrets were there (fingerprints only).
 */
void sl_journal_redact(const struct sl_policy *p, json_t *rec)
{
	static const char *const keys[] = {"data", "filename", "cwd",	    "requested", "path",
					   "raw",  "sni",      "workspace", "name"};
	json_t *found, *argv;

	if (!p || !p->n_secrets)
		return;
	found = json_array();
	if (!found)
		return;
	for (size_t i = 0; i < SL_ARRAY_SIZE(keys); i++)
		redact_member(p, rec, keys[i], found);
	argv = json_object_get(rec, "argv");
	if (json_is_array(argv)) {
		for (size_t i = 0; i < json_array_size(argv); i++) {
			json_t *a = json_array_get(argv, i), *tmp = json_pack("{s:O}", "v", a);

			if (!tmp)
				continue;
			redact_member(p, tmp, "v", found);
			json_array_set(argv, i, json_object_get(tmp, "v"));
			json_decref(tmp);
		}
	}
	if (json_array_size(found))
		json_object_set(rec, "secrets", found);
	json_decref(found);
}

static char *redact(const struct sl_policy *p, const char *buf, size_t len, json_t *found,
		    size_t *outlen)
{
	size_t cap = len + 1, n = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		bool hit = false;

		for (uint32_t s = 0; p && s < p->n_secrets; s++) {
			const struct sl_policy_secret *sec = &p->secrets[s];
			char fp[SL_POLICY_FP_STR_SIZE], rep[64];
			size_t rl;

			if (!sec->value || sec->len < p->settings.secret_min_len ||
			    sec->len > len - i || memcmp(buf + i, sec->value, sec->len))
				continue;
			sl_policy_sha256_str(sec->sha256, fp);
			rl = (size_t)snprintf(rep, sizeof(rep), "[secret %s]", fp);
			if (n + rl + (len - i) + 1 > cap) {
				char *nb;

				cap = n + rl + (len - i) + 64;
				nb = realloc(out, cap);
				if (!nb) {
					free(out);
					return NULL;
				}
				out = nb;
			}
			memcpy(out + n, rep, rl);
			n += rl;
			i += sec->len;
			hit = true;
			if (found) {
				const struct sl_policy_env *env = &p->envs[sec->env_id - 1];
				const struct sl_policy_secret_src *src = &env->secrets[sec->src];
				json_t *o =
				    json_pack("{s:s, s:s}", "env", env->name, "fingerprint", fp);

				if (src->kind == SL_SECRET_FILE)
					json_object_set_new(o, "source_file",
							    json_string(src->path));
				else if (src->kind == SL_SECRET_ENV)
					json_object_set_new(o, "source_env",
							    json_string(src->env_var));
				json_array_append_new(found, o);
			}
			break;
		}
		if (!hit) {
			if (n + 2 > cap) {
				char *nb = realloc(out, cap * 2);

				if (!nb) {
					free(out);
					return NULL;
				}
				out = nb;
				cap *= 2;
			}
			out[n++] = buf[i++];
		}
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}
