/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The policy store: the policy file, its generations (the one in force and
 * the previous one, kept for verdicts already in flight), putting a
 * generation into the kernel maps (double-buffered slots, flipped at once)
 * and the labels by identity resolved again while it is in force. A policy
 * that does not load is refused with every error; the running one stays.
 */
#ifndef SL_POLICY_STORE_H
#define SL_POLICY_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

struct sl_policy_store;
struct sl_policy;
struct sl_kernel;
struct sl_programs;
struct sl_policy_discovered;

/* load path (parse, validate, secrets, compile); errors are logged; 0 or -errno */
int sl_policy_store_open(const char *path, struct sl_policy_store **out);
void sl_policy_store_free(struct sl_policy_store *ps);
/* write the generation in force into the kernel maps' free slot, then flip */
int sl_policy_store_apply(struct sl_policy_store *ps, struct sl_kernel *k, struct sl_programs *pr,
			  char **errors);
/*
 * Load the file again and put it in force. On refusal the running
 * generation stays and *errors (malloc'd, may be NULL) lists every error.
 */
int sl_policy_store_reload(struct sl_policy_store *ps, struct sl_kernel *k, struct sl_programs *pr,
			   char **errors);
/*
 * The credentials the daemon discovered (creds.h; d borrowed, valid until
 * the next call): every generation's policy holds them at once (redaction,
 * the user-side matcher), the kernel once sl_policy_store_relabel() ran.
 */
void sl_policy_store_set_discovered(struct sl_policy_store *ps,
				    const struct sl_policy_discovered *d, uint32_t n);
/*
 * Compile the policy in force again (with the discovered credentials) as a
 * new generation, into the free slot, then flip. On failure (err says why:
 * the automaton's size) the generation in force stays. 0 or -errno.
 */
int sl_policy_store_relabel(struct sl_policy_store *ps, struct sl_kernel *k, struct sl_programs *pr,
			    char *err, size_t errlen);
/* would the policy in force compile as it is now (discovered credentials included)? 0 or -errno */
int sl_policy_store_compiles(const struct sl_policy_store *ps);
/* milliseconds since the last flip (UINT32_MAX: none yet); a slot is reused after 100 ms */
uint32_t sl_policy_store_since_flip_ms(const struct sl_policy_store *ps);
/* resolve the path labels to (device, inode) again (timer) */
void sl_policy_store_refresh_inodes(struct sl_policy_store *ps, struct sl_kernel *k);

const char *sl_policy_store_path(const struct sl_policy_store *ps);
/* the policy in force (NULL before the first load) */
const struct sl_policy *sl_policy_store_current(const struct sl_policy_store *ps);
/* the policy of generation, or the one in force when that one is gone (*found: its generation) */
const struct sl_policy *sl_policy_store_for(const struct sl_policy_store *ps, uint32_t generation,
					    uint32_t *found);
uint32_t sl_policy_store_generation(const struct sl_policy_store *ps);
/* the load of the policy in force: a relabel (new generation, same file, same ids) keeps it */
uint32_t sl_policy_store_load(const struct sl_policy_store *ps);
/* the policy file's SHA-256 (hex): of the generation in force, of the last file loaded */
const char *sl_policy_store_sha256(const struct sl_policy_store *ps);
const char *sl_policy_store_loaded_sha256(const struct sl_policy_store *ps);
/* labels by identity in force */
uint32_t sl_policy_store_inode_labels(const struct sl_policy_store *ps);
/* whether a rule that signals (kill, freeze) is in force (ctx: the store) */
bool sl_policy_store_signals(void *ctx);

/* names of the environments in mask by p ("env#N" for an id p does not name) */
json_t *sl_env_names_json(const struct sl_policy *p, uint64_t mask);

#endif
