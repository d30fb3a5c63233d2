// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policy in the daemon: parse, validate, load secrets, compile, and write
 * the compiled tables into the inactive slot of the kernel maps, then flip
 * the active slot with one map update. A policy that does not load is
 * refused with every error; the running one stays in force.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "daemon.h"
#include "kernel.h"
#include "log.h"
#include "policy.h"
#include "policy_compile.h"
#include "policy_inodes.h"
#include "policy_maps.h"
#include "programs.h"
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

/*
 * Labels by identity of the policy in lp into its slot: the directories and
 * files its path labels name, as they are on this host now.
 */
static int inodes_write(struct sl_daemon *d, const struct sl_loaded_policy *lp, uint32_t slot)
{
	struct sl_cinode *v = NULL;
	bool truncated = false;
	uint32_t n = 0;
	int err;

	err = sl_policy_resolve_inodes(lp->policy, SL_INODE_LABELS_MAX, &v, &n, &truncated);
	if (!err)
		err = sl_kernel_policy_write_inodes(d->kernel, slot, v, n);
	if (!err && (n != d->inode_labels || truncated != d->inode_labels_truncated)) {
		if (truncated)
			log_warn("policy '%s': more than %u labelled files and directories: those "
				 "past the limit are labelled by path only",
				 d->opts.policy, SL_INODE_LABELS_MAX);
		log_debug("policy generation %u: %u labels by identity", lp->generation, n);
	}
	if (!err) {
		d->inode_labels = n;
		d->inode_labels_truncated = truncated;
	}
	free(v);
	return err;
}

void sl_policy_inodes_refresh(struct sl_daemon *d)
{
	const struct sl_loaded_policy *lp = &d->pol[0];
	int err;

	if (!d->kernel || !lp->policy || !lp->generation)
		return;
	err = inodes_write(d, lp, lp->slot);
	if (err)
		log_err("policy '%s': labels by identity: %s", d->opts.policy, strerror(-err));
}

/* write the current policy into the free slot and put it in force */
int sl_policy_maps_apply(struct sl_daemon *d, char **errors)
{
	struct sl_loaded_policy *lp = &d->pol[0];
	char err[512] = "";
	uint32_t slot;
	int ret;

	if (!d->kernel || !d->programs || !lp->compiled)
		return 0;
	/* the slot not in force: the previous generation's, or 0 at first */
	slot = d->pol[1].compiled ? d->pol[1].slot ^ 1 : 0;
	/*
	 * A program that read the old active index just before the last flip
	 * may still be walking that slot: BPF programs run for microseconds,
	 * so a slot is reused only after a grace of 100 ms.
	 */
	{
		static struct timespec last_flip;
		struct timespec now;
		int64_t since;

		clock_gettime(CLOCK_MONOTONIC, &now);
		since = (now.tv_sec - last_flip.tv_sec) * 1000000LL +
			(now.tv_nsec - last_flip.tv_nsec) / 1000;
		if (last_flip.tv_sec && since >= 0 && since < 100000)
			usleep((useconds_t)(100000 - since));
		clock_gettime(CLOCK_MONOTONIC, &last_flip);
	}
	/* programs by the file that runs: their count goes into the header */
	ret = sl_programs_apply(d->programs, lp->policy, slot, &lp->compiled->hdr.n_programs);
	if (ret) {
		snprintf(err, sizeof(err), "program files: %s", strerror(-ret));
		goto fail;
	}
	ret =
	    sl_kernel_policy_write(d->kernel, lp->compiled, slot, lp->generation, err, sizeof(err));
	if (!ret) {
		ret = inodes_write(d, lp, slot);
		if (ret)
			snprintf(err, sizeof(err), "labels by identity: %s", strerror(-ret));
	}
	if (!ret)
		ret = sl_kernel_policy_flip(d->kernel, slot, lp->generation);
fail:
	if (ret) {
		if (errors && asprintf(errors, "%s: kernel maps: %s\n", d->opts.policy,
				       err[0] ? err : strerror(-ret)) < 0)
			*errors = NULL;
		return ret;
	}
	lp->slot = slot;
	log_info("policy generation %u in force (slot %u): %u rules, %u patterns, DFA %u+%u "
		 "states, %u path / %u IP / %u host labels",
		 lp->generation, slot, lp->compiled->hdr.n_rules, lp->compiled->hdr.n_patterns,
		 lp->compiled->hdr.cs_states, lp->compiled->hdr.ci_states, lp->compiled->n_paths,
		 lp->compiled->n_ips, lp->compiled->n_hosts);
	return 0;
}

/*
 * bpf_send_signal is called by the verdict code of the exec, TLS and open
 * programs when a rule's action is kill (SIGKILL) or freeze (SIGSTOP) and the
 * rule is not in monitor mode: it is in use while such a rule is in force.
 */
bool sl_policy_signals(void *ctx)
{
	const struct sl_daemon *d = ctx;
	const struct sl_policy *p = d->pol[0].policy;

	for (uint32_t i = 0; p && i < p->n_rules; i++) {
		const struct sl_policy_rule *r = &p->rules[i];

		if ((r->action == SL_ACT_KILL || r->action == SL_ACT_FREEZE) &&
		    !r->effective_monitor)
			return true;
	}
	return false;
}

static int policy_load(struct sl_daemon *d, char **errors)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;
	struct sl_compiled_policy *c = NULL;
	char sha[65] = "", cerr[512] = "";
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
	err = sl_policy_compile(p, &c, cerr, sizeof(cerr));
	if (err) {
		if (errors && asprintf(errors, "%s: %s\n", d->opts.policy,
				       cerr[0] ? cerr : strerror(-err)) < 0)
			*errors = NULL;
		goto out;
	}
	for (uint32_t i = 0; i < c->n_warnings; i++)
		log_warn("policy '%s': %s", d->opts.policy, c->warnings[i]);
	/* the previous generation stays for verdicts already in flight */
	sl_policy_free(d->pol[1].policy);
	sl_compiled_policy_free(d->pol[1].compiled);
	d->pol[1] = d->pol[0];
	d->pol[0] =
	    (struct sl_loaded_policy){.policy = p, .compiled = c, .generation = ++d->generation};
	c = NULL;
	memcpy(d->pol[0].sha256, sha, sizeof(sha));
	memcpy(d->policy_sha256, sha, sizeof(sha));
	p = NULL;
	log_info("policy '%s' loaded (generation %u, sha256 %.16s): %u environments, %u "
		 "patterns, %u rules, %u secret values",
		 d->opts.policy, d->pol[0].generation, sha, d->pol[0].policy->n_envs,
		 d->pol[0].policy->n_patterns, d->pol[0].policy->n_rules,
		 d->pol[0].policy->n_secrets);
out:
	sl_compiled_policy_free(c);
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
	return sl_policy_reload_by(d, NULL, errors);
}

int sl_policy_reload_by(struct sl_daemon *d, const json_t *requester, char **errors)
{
	json_t *rec;
	int err;

	*errors = NULL;
	err = policy_load(d, errors);
	if (!err) {
		err = sl_policy_maps_apply(d, errors);
		if (err) {
			/* the kernel keeps the slot in force: keep the matching policy */
			struct sl_loaded_policy bad = d->pol[0];

			d->pol[0] = d->pol[1];
			d->pol[1] = (struct sl_loaded_policy){0};
			sl_policy_free(bad.policy);
			sl_compiled_policy_free(bad.compiled);
		}
	}
	rec = json_pack("{s:s, s:s, s:b}", "type", err ? "policy_refused" : "policy_loaded",
			"policy", d->opts.policy, "ok", err == 0);
	if (rec) {
		if (!err) {
			json_object_set_new(rec, "sha256", json_string(d->pol[0].sha256));
			json_object_set_new(rec, "generation", json_integer(d->pol[0].generation));
		} else if (*errors) {
			json_object_set_new(rec, "errors", json_string(*errors));
		}
		json_object_set_new(rec, "via", json_string(requester ? "control" : "SIGHUP"));
		if (requester)
			json_object_set_new(rec, "requester", json_deep_copy(requester));
		sl_record_write(d, rec);
		json_decref(rec);
	}
	if (!err) {
		sl_sessions_rescope(d);
		sl_alerts_open(d);
	}
	return err;
}

void sl_policy_free_daemon(struct sl_daemon *d)
{
	for (int i = 0; i < 2; i++) {
		sl_policy_free(d->pol[i].policy);
		sl_compiled_policy_free(d->pol[i].compiled);
		d->pol[i].policy = NULL;
		d->pol[i].compiled = NULL;
	}
}
