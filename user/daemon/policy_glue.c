// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policy in the daemon: parse, validate, load secrets, compile, and write
 * the compiled tables into the inactive slot of the kernel maps, then flip
 * the active slot with one map update. A policy that does not load is
 * refused with every error; the running one stays in force.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "daemon.h"
#include "log.h"
#include "policy.h"
#include "util.h"

/* every error of a refused policy, one per line (malloc'd) */
static char *errors_text(const struct sl_policy_errors *errs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	sl_policy_errors_print(errs, f);
	fclose(f);
	return buf;
}

static int sha256_file(const char *path, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *buf = NULL;
	size_t len;
	int err;

	err = sl_read_file(path, SL_POLICY_MAX_BYTES + 1, &buf, &len);
	if (err)
		return err;
	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL)) {
		free(buf);
		return -EIO;
	}
	free(buf);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int policy_load(struct sl_daemon *d, char **errors)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;
	char sha[65] = "";
	int err;

	sl_policy_errors_init(&errs);
	err = sha256_file(d->opts.policy, sha);
	if (err) {
		if (errors && asprintf(errors, "%s: %s\n", d->opts.policy, strerror(-err)) < 0)
			*errors = NULL;
		goto out;
	}
	err = sl_policy_load_file(d->opts.policy, &p, &errs);
	if (!err)
		err = sl_policy_load_secrets(p, &errs);
	if (err) {
		if (errors)
			*errors = errors_text(&errs);
		goto out;
	}
	/* the previous generation stays for verdicts already in flight */
	sl_policy_free(d->pol[1].policy);
	d->pol[1] = d->pol[0];
	d->pol[0] = (struct sl_loaded_policy){.policy = p, .generation = ++d->generation};
	memcpy(d->pol[0].sha256, sha, sizeof(sha));
	memcpy(d->policy_sha256, sha, sizeof(sha));
	p = NULL;
	log_info("policy '%s' loaded (generation %u, sha256 %.16s): %u environments, %u "
		 "patterns, %u rules, %u secret values",
		 d->opts.policy, d->pol[0].generation, sha, d->pol[0].policy->n_envs,
		 d->pol[0].policy->n_patterns, d->pol[0].policy->n_rules,
		 d->pol[0].policy->n_secrets);
out:
	sl_policy_free(p);
	sl_policy_errors_free(&errs);
	return err;
}

int sl_policy_apply(struct sl_daemon *d)
{
	char *errors = NULL;
	int err = policy_load(d, &errors);

	if (err) {
		log_err("policy '%s' does not load:\n%s", d->opts.policy,
			errors ? errors : strerror(-err));
		free(errors);
	}
	return err;
}

int sl_policy_reload(struct sl_daemon *d, char **errors)
{
	json_t *rec;
	int err;

	*errors = NULL;
	err = policy_load(d, errors);
	rec = json_pack("{s:s, s:s, s:b}", "type", err ? "policy_refused" : "policy_loaded",
			"policy", d->opts.policy, "ok", err == 0);
	if (rec) {
		if (!err) {
			json_object_set_new(rec, "sha256", json_string(d->pol[0].sha256));
			json_object_set_new(rec, "generation", json_integer(d->pol[0].generation));
		} else if (*errors) {
			json_object_set_new(rec, "errors", json_string(*errors));
		}
		sl_record_write(d, rec);
		json_decref(rec);
	}
	if (!err)
		sl_alerts_open(d);
	return err;
}

void sl_policy_free_daemon(struct sl_daemon *d)
{
	for (int i = 0; i < 2; i++) {
		sl_policy_free(d->pol[i].policy);
		d->pol[i].policy = NULL;
	}
}
