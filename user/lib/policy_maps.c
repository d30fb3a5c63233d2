// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A compiled policy into the kernel maps of one slot (policy_maps.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "policy_maps.h"

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

int sl_policy_maps_write(const struct sl_policy_map_fds *fds, const struct sl_compiled_policy *c,
			 uint32_t slot, uint32_t generation, char *err, size_t errlen)
{
	int fd_ac = fds->ac, fd;
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
	fd = fds->patterns;
	for (uint32_t i = 0; i < c->hdr.n_patterns; i++) {
		key = slot * SL_PAT_MAX + i;
		if (bpf_map_update_elem(fd, &key, &c->patterns[i], BPF_ANY))
			FAIL_MAP("patterns");
	}
	fd = fds->rules;
	for (uint32_t i = 0; i < c->hdr.n_rules; i++) {
		key = slot * SL_RULE_MAX + i;
		if (bpf_map_update_elem(fd, &key, &c->rules[i], BPF_ANY))
			FAIL_MAP("rules");
	}

	/* wildcard globs: the classes, then every state (the rest of the slot is unused) */
	if (c->hdr.glob_states) {
		struct sl_glob_classes cls;
		struct sl_glob_state st;

		memcpy(cls.cls, c->glob.cls, sizeof(cls.cls));
		key = slot;
		if (bpf_map_update_elem(fds->glob_classes, &key, &cls, BPF_ANY))
			FAIL_MAP("glob byte classes");
		for (uint32_t i = 0; i < c->glob.n_states; i++) {
			memset(&st, 0, sizeof(st));
			memcpy(st.next, c->glob.next + (size_t)i * c->glob.n_classes,
			       c->glob.n_classes * sizeof(st.next[0]));
			st.env = c->glob.env[i];
			key = slot * SL_GLOB_STATES_MAX + i;
			if (bpf_map_update_elem(fds->glob, &key, &st, BPF_ANY))
				FAIL_MAP("glob automaton");
		}
	}
	fd = fds->path_labels;
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
	fd = fds->ip_labels;
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
	fd = fds->host_labels;
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
	if (bpf_map_update_elem(fds->hdr, &key, &hdr, BPF_ANY))
		FAIL_MAP("policy header");
#undef FAIL_MAP
	return 0;
}

int sl_policy_maps_flip(const struct sl_policy_map_fds *fds, uint32_t slot, uint32_t generation)
{
	struct sl_policy_active v = {.slot = slot, .generation = generation};
	uint32_t zero = 0;

	if (bpf_map_update_elem(fds->active, &zero, &v, BPF_ANY))
		return -errno;
	return 0;
}

int sl_policy_maps_write_inodes(const struct sl_policy_map_fds *fds, uint32_t slot,
				const struct sl_cinode *v, uint32_t n)
{
	struct sl_inode_key key, next;
	bool first = true;

	/* entries of this slot that are no longer labelled */
	for (;;) {
		bool keep = false;

		if (bpf_map_get_next_key(fds->inode_labels, first ? NULL : &key, &next))
			break;
		first = false;
		key = next;
		if (next.slot != slot)
			continue;
		for (uint32_t i = 0; i < n && !keep; i++)
			keep = v[i].ino == next.ino && v[i].dev == next.dev;
		if (!keep && bpf_map_delete_elem(fds->inode_labels, &next) == 0)
			first = true; /* restart: the iteration order changed */
	}
	for (uint32_t i = 0; i < n; i++) {
		struct sl_inode_key k = {.ino = v[i].ino, .dev = v[i].dev, .slot = slot};

		if (bpf_map_update_elem(fds->inode_labels, &k, &v[i].env, BPF_ANY))
			return -errno;
	}
	return 0;
}
