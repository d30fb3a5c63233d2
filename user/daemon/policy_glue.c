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

#include <bpf/bpf.h>
#include <openssl/evp.h>

#include "daemon.h"
#include "log.h"
#include "policy.h"
#include "policy_compile.h"
#include "util.h"
#include "scopelock.skel.h"

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

/* ---- kernel maps ---- */

/* delete every entry of a label map that belongs to slot */
static int labels_clear(int fd, size_t key_size, size_t slot_off, uint8_t slot)
{
	uint8_t key[512], next[512];
	bool first = true;
	int deleted = 0;

	if (key_size > sizeof(key))
		return -EINVAL;
	for (;;) {
		if (bpf_map_get_next_key(fd, first ? NULL : key, next))
			break;
		memcpy(key, next, key_size);
		first = false;
		if (next[slot_off] == slot) {
			if (bpf_map_delete_elem(fd, next) == 0) {
				deleted++;
				/* restart: the iteration order changed */
				first = true;
			}
		}
	}
	return deleted;
}

static int write_slot(struct sl_daemon *d, const struct sl_compiled_policy *c, uint32_t slot,
		      uint32_t generation, char *err, size_t errlen)
{
	struct scopelock_bpf *sk = d->skel;
	int fd_ac = bpf_map__fd(sk->maps.sl_ac), fd;
	struct sl_kpolicy_hdr hdr = c->hdr;
	uint32_t key;

#define FAIL_MAP(what)                                                                             \
	do {                                                                                       \
		snprintf(err, errlen, "write %s: %s", what, strerror(errno));                      \
		return -errno;                                                                     \
	} while (0)

	for (uint32_t kind = 0; kind < 2; kind++) {
		const struct sl_ac_state *st = kind ? c->ci : c->cs;
		uint32_t n = kind ? c->hdr.ci_states : c->hdr.cs_states;

		for (uint32_t i = 0; i < n; i++) {
			key = (slot * 2 + kind) * SL_AC_MAX_STATES + i;
			if (bpf_map_update_elem(fd_ac, &key, &st[i], BPF_ANY))
				FAIL_MAP("keyword automaton");
		}
	}
	fd = bpf_map__fd(sk->maps.sl_patterns);
	for (uint32_t i = 0; i < c->hdr.n_patterns; i++) {
		key = slot * SL_PAT_MAX + i;
		if (bpf_map_update_elem(fd, &key, &c->patterns[i], BPF_ANY))
			FAIL_MAP("patterns");
	}
	fd = bpf_map__fd(sk->maps.sl_rules);
	for (uint32_t i = 0; i < c->hdr.n_rules; i++) {
		key = slot * SL_RULE_MAX + i;
		if (bpf_map_update_elem(fd, &key, &c->rules[i], BPF_ANY))
			FAIL_MAP("rules");
	}

	fd = bpf_map__fd(sk->maps.sl_path_labels);
	labels_clear(fd, sizeof(struct sl_path_key), offsetof(struct sl_path_key, data),
		     (uint8_t)slot);
	for (uint32_t i = 0; i < c->n_paths; i++) {
		struct sl_path_key k = {0};

		k.data[0] = (uint8_t)slot;
		memcpy(k.data + 1, c->paths[i].bytes, c->paths[i].len);
		k.prefixlen = 8 * (1 + c->paths[i].len);
		if (bpf_map_update_elem(fd, &k, &c->paths[i].env, BPF_ANY))
			FAIL_MAP("path labels");
	}
	fd = bpf_map__fd(sk->maps.sl_ip_labels);
	labels_clear(fd, sizeof(struct sl_ip_key), offsetof(struct sl_ip_key, slot), (uint8_t)slot);
	for (uint32_t i = 0; i < c->n_ips; i++) {
		struct sl_ip_key k = {0};

		k.slot = (uint8_t)slot;
		k.family = c->ips[i].family;
		memcpy(k.addr, c->ips[i].addr, 16);
		k.prefixlen = 16 + c->ips[i].prefix_len;
		if (bpf_map_update_elem(fd, &k, &c->ips[i].label, BPF_ANY))
			FAIL_MAP("IP labels");
	}
	fd = bpf_map__fd(sk->maps.sl_host_labels);
	labels_clear(fd, sizeof(struct sl_host_key), offsetof(struct sl_host_key, slot),
		     (uint8_t)slot);
	for (uint32_t i = 0; i < c->n_hosts; i++) {
		struct sl_host_key k = {0};

		k.slot = (uint8_t)slot;
		k.wildcard = c->hosts[i].wildcard;
		snprintf((char *)k.name, sizeof(k.name), "%s", c->hosts[i].name);
		if (bpf_map_update_elem(fd, &k, &c->hosts[i].env, BPF_ANY))
			FAIL_MAP("host labels");
	}
	hdr.generation = generation;
	key = slot;
	if (bpf_map_update_elem(bpf_map__fd(sk->maps.sl_policy_hdr), &key, &hdr, BPF_ANY))
		FAIL_MAP("policy header");
#undef FAIL_MAP
	return 0;
}

/* make slot the one in force: a single map update */
static int flip(struct sl_daemon *d, uint32_t slot, uint32_t generation)
{
	struct {
		uint32_t slot;
		uint32_t generation;
	} v = {slot, generation};
	uint32_t zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(d->skel->maps.sl_policy_active), &zero, &v, BPF_ANY))
		return -errno;
	return 0;
}

/* write the current policy into the free slot and put it in force */
int sl_policy_maps_apply(struct sl_daemon *d, char **errors)
{
	struct sl_loaded_policy *lp = &d->pol[0];
	char err[512] = "";
	uint32_t slot;
	int ret;

	if (!d->skel || !lp->compiled)
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
	ret = write_slot(d, lp->compiled, slot, lp->generation, err, sizeof(err));
	if (!ret)
		ret = flip(d, slot, lp->generation);
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
