/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Programs by the file that runs (include/scopelock_policy.h: sl_prog_ids,
 * sl_prog_sizes). A program word is a keyword of an exec pattern's group of
 * the form "NAME " (a program name and one space, as argv[0] reads in the
 * exec subject: "railway ", "terraform "). Each is looked up as a file NAME
 * in settings.program_paths; the file found (symbolic links followed)
 * identifies the program by (device, inode), and its size and contents
 * identify copies of it, when it is NAME's own file: its real name is NAME
 * (or NAME. NAME- NAME_ followed by more) and it has no other link (a
 * multi-call wrapper such as pg_wrapper or busybox is not one program).
 * Case-insensitive keywords are text, not program names.
 */
#ifndef SL_POLICY_PROGRAMS_H
#define SL_POLICY_PROGRAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct sl_cprogram {
	char *name;			 /* the program word without its space */
	char *path;			 /* the file found, symbolic links resolved */
	uint64_t ino;			 /* identity */
	uint32_t dev;			 /* kernel dev_t: major << 20 | minor */
	uint32_t _pad;			 /* */
	uint64_t size;			 /* bytes */
	int64_t mtime_ns;		 /* for the content hash cache */
	uint64_t kw[SL_POLICY_KW_WORDS]; /* the keywords naming this file */
};

/* is keyword i a program word of an exec pattern? name: NAME (NUL-terminated) */
bool sl_policy_program_word(const struct sl_policy *p, uint32_t i, char *name, size_t namesz);

/*
 * Every program word's file in the program directories (the first directory
 * that has it, in order; an executable regular file), one entry per file
 * (words naming the same file share it). 0 or -ENOMEM; *out malloc'd, free
 * with sl_cprograms_free.
 */
int sl_policy_resolve_programs(const struct sl_policy *p, struct sl_cprogram **out, uint32_t *n);
void sl_cprograms_free(struct sl_cprogram *v, uint32_t n);

#endif
