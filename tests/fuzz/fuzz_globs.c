// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: the wildcard-glob DFA (user/lib/policy_globs.c, the walk
 * the kernel does) against the reference sl_policy_glob_match() on
 * arbitrary globs and paths. Input: lines; the globs up to the first empty
 * line (those sl_parse_glob() accepts, at most 8, each its own environment
 * bit), then the paths. Traps when the DFA's environments of a path are not
 * exactly the union of the globs the reference matches. Built and run by
 * tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_globs.h"
#include "policy_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GLOBS 8
/* smaller than the kernel's bound: the fuzzer's time goes to many inputs */
#define STATES 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_glob_src src[GLOBS];
	char *buf = malloc(size + 1), *line, *save = NULL;
	struct sl_glob_dfa d;
	size_t n = 0;
	bool paths = false;
	char why[256];

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	/* NUL ends the text: the reference reads C strings */
	size = strlen(buf);
	memset(&d, 0, sizeof(d));
	for (line = buf; line && *line && !paths; line = save) {
		struct sl_policy_path pth;
		char msg[256];
		char *nl = strchr(line, '\n');

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		if (!*line) {
			paths = true;
			break;
		}
		if (n < GLOBS && sl_parse_glob(line, strlen(line), &pth, msg, sizeof(msg)) == 0) {
			src[n].glob = line;
			src[n].env = 1ULL << (n + 1);
			n++;
		}
	}
	if (!n || sl_glob_dfa_build(src, n, STATES, &d, why, sizeof(why)))
		goto out;
	for (line = save; line && *line; line = save) {
		char *nl = strchr(line, '\n');
		uint64_t want = 0, got;

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		for (size_t i = 0; i < n; i++)
			if (sl_policy_glob_match(src[i].glob, line))
				want |= src[i].env;
		got = sl_glob_dfa_walk(&d, line, strlen(line));
		if (got != want)
			__builtin_trap();
	}
out:
	sl_glob_dfa_free(&d);
	free(buf);
	return 0;
}
