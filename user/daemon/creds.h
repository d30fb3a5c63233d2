/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Credentials nobody registered (docs/credentials.md): the files a session
 * opens and its initial environment are read (bounded in size and time),
 * credential-shaped values are found in them (user/lib/credfind.h) and kept
 * in the daemon's inventory with their provenance: where they were found,
 * their kind, their fingerprint and an environment (the file's label, the
 * session's scope for its workspace and its environment, else foreign).
 * Each value is at once redacted from every record (the policy in force
 * holds the inventory) and, batched, compiled into the kernel's automaton
 * as a label string of its environment. Values are wiped when freed and
 * never written anywhere: records carry fingerprints.
 */
#ifndef SL_CREDS_H
#define SL_CREDS_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

struct sl_creds;
struct sl_policy_store;
struct sl_sessions;
struct sl_session;
struct sl_journal;
struct sl_kernel;
struct sl_programs;
struct sl_open_event;

/* discovered values kept per daemon; past it: an alert, the session fails closed */
#define SL_CREDS_MAX 1024
/* bytes of a file (or environment block) read */
#define SL_CREDS_READ_MAX (1U << 20)
/* time spent reading and scanning one file, ms */
#define SL_CREDS_FILE_MS 50
/* a slot of the kernel maps is reused 100 ms after a flip: batches at most that often */
#define SL_CREDS_BATCH_MS 100

int sl_creds_new(struct sl_policy_store *ps, struct sl_sessions *ss, struct sl_journal *j,
		 struct sl_kernel *k, struct sl_programs *pr, struct sl_creds **out);
/* wipes every value; call after the policy store no longer uses the inventory */
void sl_creds_free(struct sl_creds *c);

/*
 * An open of session s (its record written), env: the environments labelling
 * the file (the kernel's or the daemon's). A regular file opened for reading
 * is read (by the path the kernel reported, its identity checked against the
 * event's) and scanned. NULL-safe.
 */
void sl_creds_on_open(struct sl_creds *c, struct sl_session *s, const struct sl_open_event *e,
		      uint64_t env);
/* a session just created: its leader's environment is scanned. NULL-safe */
void sl_creds_session_start(struct sl_creds *c, struct sl_session *s);
/*
 * Values discovered since the last flip into the kernel (recompiled into the
 * free slot, flipped), at most every SL_CREDS_BATCH_MS: main's loop calls it
 * after every round. NULL-safe.
 */
void sl_creds_flush(struct sl_creds *c);
/* {"discovered","enforced","unenforced","files_scanned",...} for status */
json_t *sl_creds_json(const struct sl_creds *c);

/*
 * The environment of a credential found in a file at path (NULL: the
 * session's environment) labelled label_env (bits 1 << id), in a session of
 * scope scope_env (0: none) and workspace (NULL: none): a label of another
 * environment than the scope; else the scope for a file labelled with it or
 * in its workspace and for its environment, unless the file may have come
 * from elsewhere during the session (moved: it has other links, or its
 * change time is after the session's start: renamed or hardlinked there,
 * written); else SL_ENV_FOREIGN. Pure.
 */
uint32_t sl_creds_env_of(uint64_t label_env, const char *path, uint32_t scope_env,
			 const char *workspace, bool moved);

#endif
