// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The policy store (policy_store.h): parse, validate, load secrets, compile,
 * and write the compiled tables into the inactive slot of the kernel maps,
 * then flip the active slot with one map update. A policy that does not load
 * is refused with every error; the running one stays in force.
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

#include "kernel.h"
#include "log.h"
#include "policy.h"
#include "policy_compile.h"
#include "policy_inodes.h"
#include "policy_maps.h"
#include "policy_store.h"
#include "programs.h"
#include "util.h"

/* a policy generation loaded into one slot of the kernel maps */
struct sl_loaded_policy {
	struct sl_policy *policy;
	struct sl_compiled_policy *compiled;
	uint32_t generation;
	uint32_t load; /* the load it comes from (a relabel keeps it: same ids) */
	uint32_t slot;
	char sha256[65];
};

struct sl_policy_store {
	char *path;
	struct sl_loaded_policy pol[2]; /* [0] current, [1] previous generation */
	uint32_t generation;
	uint32_t loads;
	char loaded_sha256[65]; /* of the last file that loaded (even if refused later) */
	uint32_t inode_labels;	/* labels by identity in force (resolved paths) */
	bool inode_labels_truncated;
	struct timespec last_flip; /* CLOCK_MONOTONIC */
	/* credentials the daemon discovered (creds.h; borrowed), in every generation */
	const struct sl_policy_discovered *disc;
	uint32_t n_disc;
};

/* free generation i, and its policy unless the other generation shares it (a relabel) */
static void lp_drop(struct sl_policy_store *ps, int i)
{
	struct sl_loaded_policy *lp = &ps->pol[i];

	if (lp->policy != ps->pol[i ^ 1].policy)
		sl_policy_free(lp->policy);
	sl_compiled_policy_free(lp->compiled);
	*lp = (struct sl_loaded_policy){0};
}

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

/*
 * Labels by identity of the policy in lp into its slot: the directories and
 * files its path labels name, as they are on this host now.
 */
static int inodes_write(struct sl_policy_store *ps, struct sl_kernel *k,
			const struct sl_loaded_policy *lp, uint32_t slot)
{
	struct sl_cinode *v = NULL;
	bool truncated = false;
	uint32_t n = 0;
	int err;

	err = sl_policy_resolve_inodes(lp->policy, SL_INODE_LABELS_MAX, &v, &n, &truncated);
	if (!err)
		err = sl_kernel_policy_write_inodes(k, slot, v, n);
	if (!err && (n != ps->inode_labels || truncated != ps->inode_labels_truncated)) {
		if (truncated)
			log_warn("policy '%s': more than %u labelled files and directories: those "
				 "past the limit are labelled by path only",
				 ps->path, SL_INODE_LABELS_MAX);
		log_debug("policy generation %u: %u labels by identity", lp->generation, n);
	}
	if (!err) {
		ps->inode_labels = n;
		ps->inode_labels_truncated = truncated;
	}
	free(v);
	return err;
}

void sl_policy_store_refresh_inodes(struct sl_policy_store *ps, struct sl_kernel *k)
{
	const struct sl_loaded_policy *lp = &ps->pol[0];
	int err;

	if (!k || !lp->policy || !lp->generation)
		return;
	err = inodes_write(ps, k, lp, lp->slot);
	if (err)
		log_err("policy '%s': labels by identity: %s", ps->path, strerror(-err));
}

/* write the current policy into the free slot and put it in force */
int sl_policy_store_apply(struct sl_policy_store *ps, struct sl_kernel *k, struct sl_programs *pr,
			  char **errors)
{
	struct sl_loaded_policy *lp = &ps->pol[0];
	char err[512] = "";
	uint32_t slot;
	int ret;

	if (!k || !pr || !lp->compiled)
		return 0;
	/* the slot not in force: the previous generation's, or 0 at first */
	slot = ps->pol[1].compiled ? ps->pol[1].slot ^ 1 : 0;
	/*
	 * A program that read the old active index just before the last flip
	 * may still be walking that slot: BPF programs run for microseconds,
	 * so a slot is reused only after a grace of 100 ms.
	 */
	{
		struct timespec now;
		int64_t since;

		clock_gettime(CLOCK_MONOTONIC, &now);
		since = (now.tv_sec - ps->last_flip.tv_sec) * 1000000LL +
			(now.tv_nsec - ps->last_flip.tv_nsec) / 1000;
		if (ps->last_flip.tv_sec && since >= 0 && since < 100000)
			usleep((useconds_t)(100000 - since));
		clock_gettime(CLOCK_MONOTONIC, &ps->last_flip);
	}
	/* programs by the file that runs: their count goes into the header */
	ret = sl_programs_apply(pr, lp->policy, slot, &lp->compiled->hdr.n_programs);
	if (ret) {
		snprintf(err, sizeof(err), "program files: %s", strerror(-ret));
		goto fail;
	}
	ret = sl_kernel_policy_write(k, lp->compiled, slot, lp->generation, err, sizeof(err));
	if (!ret) {
		ret = inodes_write(ps, k, lp, slot);
		if (ret)
			snprintf(err, sizeof(err), "labels by identity: %s", strerror(-ret));
	}
	if (!ret)
		ret = sl_kernel_policy_flip(k, slot, lp->generation);
fail:
	if (ret) {
		if (errors && asprintf(errors, "%s: kernel maps: %s\n", ps->path,
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

void sl_policy_store_set_discovered(struct sl_policy_store *ps,
				    const struct sl_policy_discovered *d, uint32_t n)
{
	ps->disc = d;
	ps->n_disc = n;
	for (int i = 0; i < 2; i++) {
		if (!ps->pol[i].policy)
			continue;
		ps->pol[i].policy->discovered = d;
		ps->pol[i].policy->n_discovered = n;
	}
}

uint32_t sl_policy_store_since_flip_ms(const struct sl_policy_store *ps)
{
	struct timespec now;
	int64_t ms;

	if (!ps->last_flip.tv_sec)
		return UINT32_MAX;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - ps->last_flip.tv_sec) * 1000LL +
	     (now.tv_nsec - ps->last_flip.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

int sl_policy_store_compiles(const struct sl_policy_store *ps)
{
	struct sl_compiled_policy *c = NULL;
	int ret;

	if (!ps->pol[0].policy)
		return -ENOENT;
	ret = sl_policy_compile(ps->pol[0].policy, &c, NULL, 0);
	sl_compiled_policy_free(c);
	return ret;
}

int sl_policy_store_relabel(struct sl_policy_store *ps, struct sl_kernel *k, struct sl_programs *pr,
			    char *err, size_t errlen)
{
	struct sl_loaded_policy cur = ps->pol[0];
	struct sl_compiled_policy *c = NULL;
	char *errors = NULL;
	int ret;

	if (!cur.policy || !cur.compiled)
		return -ENOENT;
	ret = sl_policy_compile(cur.policy, &c, err, errlen);
	if (ret)
		return ret;
	/* a new generation of the same policy: the previous one stays for verdicts in flight */
	lp_drop(ps, 1);
	ps->pol[1] = cur;
	ps->pol[0] = (struct sl_loaded_policy){
	    .policy = cur.policy, .compiled = c, .generation = ++ps->generation, .load = cur.load};
	memcpy(ps->pol[0].sha256, cur.sha256, sizeof(cur.sha256));
	ret = sl_policy_store_apply(ps, k, pr, &errors);
	if (ret) {
		/* the kernel keeps the slot in force: keep the matching generation */
		snprintf(err, errlen, "%s", errors ? errors : strerror(-ret));
		ps->pol[0] = ps->pol[1];
		ps->pol[1] = (struct sl_loaded_policy){0};
		sl_compiled_policy_free(c);
	}
	free(errors);
	return ret;
}

/*
 * bpf_send_signal is called by the verdict code of the exec, TLS and open
 * programs when a rule's action is kill (SIGKILL) or freeze (SIGSTOP) and the
 * rule is not in monitor mode: it is in use while such a rule is in force.
 */
bool sl_policy_store_signals(void *ctx)
{
	const struct sl_policy_store *ps = ctx;
	const struct sl_policy *p = ps->pol[0].policy;

	for (uint32_t i = 0; p && i < p->n_rules; i++) {
		const struct sl_policy_rule *r = &p->rules[i];

		if ((r->action == SL_ACT_KILL || r->action == SL_ACT_FREEZE) &&
		    !r->effective_monitor)
			return true;
	}
	return false;
}

static int policy_load(struct sl_policy_store *ps, char **errors)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;
	struct sl_compiled_policy *c = NULL;
	char sha[65] = "", cerr[512] = "";
	int err;

	sl_policy_errors_init(&errs);
	err = sl_policy_load_file(ps->path, &p, &errs);
	if (err && err != -EINVAL) {
		/* the file itself could not be read: not a policy error */
		if (errors && asprintf(errors, "%s: %s\n", ps->path, strerror(-err)) < 0)
			*errors = NULL;
		goto out;
	}
	if (!err)
		err = sl_policy_load_secrets(p, &errs);
	if (err) {
		if (errors)
			*errors = errors_text(&errs);
		goto out;
	}
	/* the file's SHA-256, or over every layer (extends, drop-ins) */
	memcpy(sha, p->sha256, sizeof(sha));
	p->discovered = ps->disc;
	p->n_discovered = ps->n_disc;
	err = sl_policy_compile(p, &c, cerr, sizeof(cerr));
	if (err == -E2BIG && ps->n_disc) {
		/*
		 * Discovered credentials never refuse a policy: it is compiled
		 * without them; the credentials room finds them out of the
		 * kernel at its next flush and fails those sessions closed.
		 */
		log_warn("policy '%s': %s; compiled without the %u discovered credentials",
			 ps->path, cerr, ps->n_disc);
		p->n_discovered = 0;
		err = sl_policy_compile(p, &c, cerr, sizeof(cerr));
		p->n_discovered = ps->n_disc;
	}
	if (err) {
		if (errors &&
		    asprintf(errors, "%s: %s\n", ps->path, cerr[0] ? cerr : strerror(-err)) < 0)
			*errors = NULL;
		goto out;
	}
	for (uint32_t i = 0; i < c->n_warnings; i++)
		log_warn("policy '%s': %s", ps->path, c->warnings[i]);
	/* the previous generation stays for verdicts already in flight */
	lp_drop(ps, 1);
	ps->pol[1] = ps->pol[0];
	ps->pol[0] = (struct sl_loaded_policy){
	    .policy = p, .compiled = c, .generation = ++ps->generation, .load = ++ps->loads};
	c = NULL;
	memcpy(ps->pol[0].sha256, sha, sizeof(sha));
	memcpy(ps->loaded_sha256, sha, sizeof(sha));
	p = NULL;
	log_info("policy '%s' loaded (generation %u, sha256 %.16s): %u environments, %u "
		 "patterns, %u rules, %u secret values",
		 ps->path, ps->pol[0].generation, sha, ps->pol[0].policy->n_envs,
		 ps->pol[0].policy->n_patterns, ps->pol[0].policy->n_rules,
		 ps->pol[0].policy->n_secrets);
out:
	sl_compiled_policy_free(c);
	sl_policy_free(p);
	sl_policy_errors_free(&errs);
	return err;
}

int sl_policy_store_open(const char *path, struct sl_policy_store **out)
{
	struct sl_policy_store *ps = calloc(1, sizeof(*ps));
	char *errors = NULL;
	int err;

	if (!ps || !(ps->path = strdup(path))) {
		free(ps);
		return -ENOMEM;
	}
	err = policy_load(ps, &errors);
	if (err) {
		log_err("policy '%s' does not load:\n%s", ps->path,
			errors ? errors : strerror(-err));
		free(errors);
		sl_policy_store_free(ps);
		return err;
	}
	*out = ps;
	return 0;
}

int sl_policy_store_reload(struct sl_policy_store *ps, struct sl_kernel *k, struct sl_programs *pr,
			   char **errors)
{
	int err;

	*errors = NULL;
	err = policy_load(ps, errors);
	if (!err) {
		err = sl_policy_store_apply(ps, k, pr, errors);
		if (err) {
			/* the kernel keeps the slot in force: keep the matching policy */
			struct sl_loaded_policy bad = ps->pol[0];

			ps->pol[0] = ps->pol[1];
			ps->pol[1] = (struct sl_loaded_policy){0};
			if (bad.policy != ps->pol[0].policy)
				sl_policy_free(bad.policy);
			sl_compiled_policy_free(bad.compiled);
		}
	}
	return err;
}

void sl_policy_store_free(struct sl_policy_store *ps)
{
	if (!ps)
		return;
	lp_drop(ps, 1);
	lp_drop(ps, 0);
	free(ps->path);
	free(ps);
}

const char *sl_policy_store_path(const struct sl_policy_store *ps)
{
	return ps->path;
}

const struct sl_policy *sl_policy_store_current(const struct sl_policy_store *ps)
{
	return ps ? ps->pol[0].policy : NULL;
}

const struct sl_policy *sl_policy_store_for(const struct sl_policy_store *ps, uint32_t generation,
					    uint32_t *found)
{
	for (int i = 0; i < 2; i++) {
		if (ps->pol[i].policy && ps->pol[i].generation == generation) {
			*found = ps->pol[i].generation;
			return ps->pol[i].policy;
		}
	}
	*found = ps->pol[0].generation;
	return ps->pol[0].policy;
}

uint32_t sl_policy_store_generation(const struct sl_policy_store *ps)
{
	return ps->pol[0].generation;
}

uint32_t sl_policy_store_load(const struct sl_policy_store *ps)
{
	return ps->pol[0].load;
}

const char *sl_policy_store_sha256(const struct sl_policy_store *ps)
{
	return ps->pol[0].sha256;
}

const char *sl_policy_store_loaded_sha256(const struct sl_policy_store *ps)
{
	return ps->loaded_sha256;
}

uint32_t sl_policy_store_inode_labels(const struct sl_policy_store *ps)
{
	return ps->inode_labels;
}

json_t *sl_env_names_json(const struct sl_policy *p, uint64_t mask)
{
	json_t *arr = json_array();

	for (uint32_t id = 1; arr && id <= SL_ENV_MAX; id++) {
		const char *name;

		if (!(mask & (1ULL << id)))
			continue;
		name = p ? sl_policy_env_name(p, id) : NULL;
		if (name)
			json_array_append_new(arr, json_string(name));
		else
			json_array_append_new(arr, json_sprintf("env#%u", id));
	}
	return arr;
}
