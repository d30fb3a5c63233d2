// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The kernel's decisions against the decision model, on generated cases
 * (root, real kernel). The real in-kernel matcher (bpf/match.bpf.h, run as a
 * BPF_PROG_TYPE_SYSCALL program: decide.bpf.c) and the user-space reference
 * (a naive keyword search, the text labels of docs/policy.md and
 * sl_policy_decide on include/scopelock_decide.h) judge the same subject,
 * evidence, taint and scope; every field of the decision must agree.
 *
 * usage: test_decide_kernel [-n CASES] [-s SEED] POLICY.yaml...
 * Exit 0 when every case agrees (and the cases reached every rule that can
 * be reached), 1 on a disagreement, 2 when the test could not run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "decide.skel.h"
#include "decide_test.h"
#include "policy.h"
#include "policy_compile.h"
#include "policy_maps.h"
#include "scopelock_policy.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the printed seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint32_t rnd_below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

/* ---- the reference's text labels (docs/policy.md, "labels in text") ---- */

static bool contains(const char *h, size_t hl, const char *n, size_t nl, bool icase)
{
	for (size_t i = 0; nl && i + nl <= hl; i++)
		if (icase ? !strncasecmp(h + i, n, nl) : !memcmp(h + i, n, nl))
			return true;
	return false;
}

static uint64_t ref_text_env(const struct sl_policy *p, const char *s, size_t len)
{
	uint64_t env = 0;

	for (uint32_t e = 0; e < p->n_envs; e++) {
		const struct sl_policy_env *en = &p->envs[e];
		uint64_t bit = 1ULL << en->id;

		for (uint32_t i = 0; i < en->n_paths; i++) {
			const struct sl_policy_path *pa = &en->paths[i];

			if (pa->kind == SL_PATH_EXACT &&
			    contains(s, len, pa->glob, strlen(pa->glob), false))
				env |= bit;
			if (pa->kind == SL_PATH_PREFIX &&
			    contains(s, len, pa->glob, pa->prefix_len - 1, false))
				env |= bit;
		}
		for (uint32_t i = 0; i < en->n_hosts; i++) {
			const struct sl_policy_host *h = &en->hosts[i];

			if ((h->kind == SL_HOST_NAME || h->kind == SL_HOST_WILDCARD) && h->name &&
			    contains(s, len, h->name, strlen(h->name), true))
				env |= bit;
		}
		for (uint32_t i = 0; i < en->n_resources; i++)
			if (contains(s, len, en->resources[i], strlen(en->resources[i]), false))
				env |= bit;
	}
	for (uint32_t i = 0; i < p->n_secrets; i++) {
		const struct sl_policy_secret *sec = &p->secrets[i];

		if (sec->value && sec->len >= p->settings.secret_min_len &&
		    contains(s, len, (const char *)sec->value, sec->len, false))
			env |= 1ULL << sec->env_id;
	}
	return env;
}

/* ---- generated subjects ---- */

static const char *const noise[] = {
    "ls",     "-la",	    "--force", "main",	 "x",
    "{",      "}",	    "(",       "\"id\"", "query",
    "/tmp/a", "DELETE",	    "delete",  "POST /", "HTTP/1.1",
    ":",      "production", "drop",    "table",	 "where",
    "--yes",  "v2",	    "\r\n",    "/",	 "staging.example",
};

/* a piece of text: a keyword (case shuffled when case-insensitive), a label
 * string, or noise */
static void add_piece(const struct sl_policy *p, char *buf, size_t *len, size_t cap)
{
	const char *s = NULL;
	size_t n = 0;
	uint32_t k = rnd_below(10);
	char tmp[512];

	if (k < 5 && p->n_keywords) {
		const struct sl_policy_keyword *kw = &p->keywords[rnd_below(p->n_keywords)];

		n = kw->len < sizeof(tmp) ? kw->len : sizeof(tmp) - 1;
		memcpy(tmp, kw->bytes, n);
		for (size_t i = 0; kw->icase && i < n; i++)
			if (tmp[i] >= 'a' && tmp[i] <= 'z' && rnd_below(2))
				tmp[i] -= 'a' - 'A';
		/* sometimes cut short: a near miss */
		if (n > 2 && !rnd_below(6))
			n -= 1 + rnd_below((uint32_t)n - 1);
		s = tmp;
	} else if (k < 7 && p->n_envs) {
		const struct sl_policy_env *en = &p->envs[rnd_below(p->n_envs)];

		if (en->n_resources && rnd_below(2))
			s = en->resources[rnd_below(en->n_resources)];
		else if (en->n_hosts && en->hosts[0].name)
			s = en->hosts[rnd_below(en->n_hosts)].name;
		else if (en->n_paths)
			s = en->paths[rnd_below(en->n_paths)].glob;
		if (s)
			n = strlen(s);
		if (s && n && !rnd_below(8))
			n--;
	}
	if (!s) {
		s = noise[rnd_below(sizeof(noise) / sizeof(noise[0]))];
		n = strlen(s);
	}
	if (*len + n + 1 >= cap)
		return;
	memcpy(buf + *len, s, n);
	*len += n;
	if (rnd_below(3))
		buf[(*len)++] = ' ';
}

/* one keyword of every group of a random pattern (sometimes one short), in
 * order, with noise between: subjects that reach rules with many groups */
static void add_pattern(const struct sl_policy *p, char *buf, size_t *len, size_t cap)
{
	const struct sl_policy_pattern *pt;
	uint32_t skip;

	if (!p->n_patterns)
		return;
	pt = &p->patterns[rnd_below(p->n_patterns)];
	skip = rnd_below(4) ? UINT32_MAX : rnd_below(pt->n_groups);
	for (uint32_t g = 0; g < pt->n_groups; g++) {
		const struct sl_policy_group *gr = &pt->groups[g];
		const struct sl_policy_keyword *kw;

		if (g == skip || !gr->n_kw)
			continue;
		kw = &p->keywords[gr->kw[rnd_below(gr->n_kw)]];
		if (*len + kw->len + 2 >= cap)
			return;
		memcpy(buf + *len, kw->bytes, kw->len);
		*len += kw->len;
		if (!rnd_below(3))
			add_piece(p, buf, len, cap);
	}
	/* sometimes an excluding keyword */
	if (pt->n_none && !rnd_below(3)) {
		const struct sl_policy_keyword *kw = &p->keywords[pt->none[rnd_below(pt->n_none)]];

		if (*len + kw->len + 1 < cap) {
			memcpy(buf + *len, kw->bytes, kw->len);
			*len += kw->len;
		}
	}
}

/* ---- one policy ---- */

struct stats {
	unsigned long cases, decided, mismatches, unreadable;
	unsigned long rule_hits[SL_POLICY_MAX_RULES];
};

static int load_policy(const char *path, struct sl_policy **pp, struct sl_compiled_policy **cp)
{
	struct sl_policy_errors errs;
	char err[512] = "";
	int ret;

	sl_policy_errors_init(&errs);
	ret = sl_policy_load_file(path, pp, &errs);
	if (!ret)
		ret = sl_policy_load_secrets(*pp, &errs);
	if (ret) {
		sl_policy_errors_print(&errs, stderr);
		sl_policy_errors_free(&errs);
		fprintf(stderr, "test_decide_kernel: policy '%s' does not load\n", path);
		return ret;
	}
	sl_policy_errors_free(&errs);
	ret = sl_policy_compile(*pp, cp, err, sizeof(err));
	if (ret)
		fprintf(stderr, "test_decide_kernel: policy '%s' does not compile: %s\n", path,
			err);
	return ret;
}

static void report(const struct sl_test_decide *a, const struct sl_policy_decision *r,
		   const uint64_t *ref_kw, uint64_t ref_env, const char *why)
{
	fprintf(stderr,
		"MISMATCH (%s): channel %u scope %u taint %#llx env %#llx flags %u unread %u "
		"subject '%.*s'\n"
		"  kernel: matched %u rule %d action %u monitor %u class %u target %#llx "
		"patterns %#llx kw %#llx.%#llx.%#llx.%#llx env %#llx\n"
		"  model:  rule %d action %u monitor %u class %u target %#llx patterns %#llx "
		"kw %#llx.%#llx.%#llx.%#llx env %#llx\n",
		why, a->channel, a->scope_env, (unsigned long long)a->taint,
		(unsigned long long)a->env, a->session_flags, a->unread, (int)a->len, a->subject,
		a->matched, a->matched ? (int)a->rule : -1, a->action, a->monitor, a->target_class,
		(unsigned long long)a->target_env, (unsigned long long)a->patterns[0],
		(unsigned long long)a->kw[0], (unsigned long long)a->kw[1],
		(unsigned long long)a->kw[2], (unsigned long long)a->kw[3],
		(unsigned long long)a->scan_env, r->rule, r->action, r->monitor, r->target_class,
		(unsigned long long)r->target_env, (unsigned long long)r->patterns[0],
		(unsigned long long)ref_kw[0], (unsigned long long)ref_kw[1],
		(unsigned long long)ref_kw[2], (unsigned long long)ref_kw[3],
		(unsigned long long)ref_env);
}

static int one_case(const struct sl_policy *p, int prog_fd, struct sl_test_decide *a,
		    struct stats *st)
{
	/* a syscall program's context is copied back into ctx_in */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = a, .ctx_size_in = sizeof(*a));
	uint64_t seen[SL_POLICY_KW_WORDS] = {0}, chan_kw[SL_POLICY_KW_WORDS] = {0};
	struct sl_policy_decision r;
	uint64_t text_env = 0;
	const char *why = NULL;
	int ret;

	if (a->channel == SL_KCH_EXEC || a->channel == SL_KCH_TLS) {
		sl_policy_keywords_scan(p, a->channel, a->subject, a->len, seen);
		text_env = ref_text_env(p, (const char *)a->subject, a->len);
	}
	sl_policy_decide(p, a->channel, seen, a->env | text_env, a->taint, a->scope_env,
			 a->session_flags & SL_SESSION_MONITOR, a->unread != 0, &r);
	ret = bpf_prog_test_run_opts(prog_fd, &opts);
	if (ret || opts.retval || !a->ran) {
		fprintf(stderr, "test_decide_kernel: test run failed: ret %d retval %u ran %u\n",
			ret, opts.retval, a->ran);
		return -EIO;
	}
	/* keywords of this channel: the kernel's automaton holds every channel's */
	for (uint32_t i = 0; i < p->n_keywords && i < SL_POLICY_MAX_KEYWORDS; i++)
		if (p->keywords[i].channels & SL_CHAN_BIT(a->channel))
			chan_kw[i / 64] |= 1ULL << (i % 64);
	for (int w = 0; w < SL_POLICY_KW_WORDS && !why; w++)
		if ((a->kw[w] & chan_kw[w]) != seen[w])
			why = "keywords seen";
	/* a decode marker (bit 0) is no environment (two-stage verdicts) */
	if (!why && (a->scan_env & ~SL_AC_ENV_DECODE) != text_env)
		why = "labels seen in the text";
	else if (!why && a->matched != (r.rule != -1))
		why = "a rule matched";
	else if (!why && a->target_class != r.target_class)
		why = "target class";
	else if (!why && a->target_env != r.target_env)
		why = "target environments";
	else if (!why && (a->patterns[0] != r.patterns[0] || a->patterns[1] != r.patterns[1]))
		why = "patterns matched";
	else if (!why && r.rule != -1 &&
		 ((int)a->rule !=
		      (r.rule == SL_POLICY_RULE_UNREADABLE ? (int)SL_RULE_UNREADABLE : r.rule) ||
		  a->action != r.action || a->monitor != r.monitor))
		why = "deciding rule";
	else if (!why && (!!(a->vflags & SL_VERDICT_PARTIAL) != r.partial ||
			  !!(a->vflags & SL_VERDICT_SUSPICIOUS) != r.suspicious))
		why = "partial match / suspicious";
	st->cases++;
	if (why) {
		st->mismatches++;
		if (st->mismatches <= 10)
			report(a, &r, seen, text_env, why);
		return 0;
	}
	if (r.rule >= 0) {
		st->decided++;
		st->rule_hits[r.rule]++;
	} else if (r.rule == SL_POLICY_RULE_UNREADABLE) {
		st->decided++;
		st->unreadable++;
	}
	return 0;
}

/* a path near one of the policy's wildcard globs: its wildcards filled in, or noise */
static size_t glob_path(const struct sl_policy *p, char *out, size_t cap)
{
	static const char fill[] = "ab.-_xZ09";
	const struct sl_policy_path *pick = NULL;
	uint32_t seen = 0;
	size_t o = 0;

	for (uint32_t e = 0; e < p->n_envs; e++)
		for (uint32_t i = 0; i < p->envs[e].n_paths; i++)
			if (p->envs[e].paths[i].kind == SL_PATH_GLOB && !rnd_below(++seen))
				pick = &p->envs[e].paths[i];
	if (!pick || !rnd_below(5)) {
		/* noise: components of fill bytes */
		for (uint32_t c = 0, n = 1 + rnd_below(8); c < n && o + 12 < cap; c++) {
			out[o++] = '/';
			for (uint32_t k = 0, m = 1 + rnd_below(6); k < m; k++)
				out[o++] = fill[rnd_below(sizeof(fill) - 1)];
		}
		return o;
	}
	for (const char *g = pick->glob; *g && o + 40 < cap; g++) {
		switch (*g) {
		case '*':
			while (g[1] == '*')
				g++;
			for (uint32_t k = rnd_below(4); k > 0; k--) {
				out[o++] = fill[rnd_below(sizeof(fill) - 1)];
				/* a "**" may stand for several components */
				if (g > pick->glob && g[-1] == '*' && !rnd_below(3))
					out[o++] = '/';
			}
			break;
		case '?':
			out[o++] = fill[rnd_below(sizeof(fill) - 1)];
			break;
		case '[': {
			const char *e = g + 1;

			if (*e == '!')
				e++;
			if (*e == ']')
				e++;
			while (*e && *e != ']')
				e++;
			/* a byte from inside the class (or not) */
			out[o++] = e > g + 1 && rnd_below(3)
				       ? g[1 + rnd_below((uint32_t)(e - g - 1))]
				       : fill[rnd_below(sizeof(fill) - 1)];
			g = *e ? e : e - 1;
			break;
		}
		case '\\':
			if (g[1])
				g++;
			out[o++] = *g;
			break;
		default:
			out[o++] = *g;
			break;
		}
		if (!rnd_below(40))
			out[o++] = fill[rnd_below(sizeof(fill) - 1)];
	}
	return o;
}

/*
 * The kernel's walk of the wildcard-glob automaton against the user-space
 * walk of the same tables and the reference matcher, on n paths. Returns
 * the number of mismatches, -1 when the program could not run.
 */
static long run_globs(const struct sl_policy *p, const struct sl_compiled_policy *c, int prog_fd,
		      unsigned long n)
{
	struct sl_test_glob *a = calloc(1, sizeof(*a));
	unsigned long matched = 0;
	long bad = 0;

	if (!a)
		return -1;
	for (unsigned long i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = a, .ctx_size_in = sizeof(*a));
		char path[SL_TEST_SUBJECT_MAX];
		uint64_t ref = 0, user;
		size_t len = glob_path(p, path, sizeof(path) - 1);

		path[len] = '\0';
		memset(a, 0, offsetof(struct sl_test_glob, path));
		memcpy(a->path, path, len);
		a->len = (uint32_t)len;
		if (bpf_prog_test_run_opts(prog_fd, &opts) || !a->ran) {
			fprintf(stderr, "test_decide_kernel: sl_test_glob did not run (%d)\n",
				(int)opts.retval);
			free(a);
			return -1;
		}
		for (uint32_t e = 0; e < p->n_envs; e++)
			for (uint32_t k = 0; k < p->envs[e].n_paths; k++)
				if (p->envs[e].paths[k].kind == SL_PATH_GLOB &&
				    sl_policy_glob_match(p->envs[e].paths[k].glob, path))
					ref |= 1ULL << p->envs[e].id;
		user = sl_compiled_glob(c, path, len);
		matched += ref != 0;
		if (a->env != ref || user != ref) {
			if (bad++ < 10)
				fprintf(stderr,
					"glob mismatch: path '%s': kernel %#llx, user walk %#llx, "
					"reference %#llx\n",
					path, (unsigned long long)a->env, (unsigned long long)user,
					(unsigned long long)ref);
		}
	}
	printf("  wildcard globs: %lu paths, %lu labelled, %ld mismatches\n", n, matched, bad);
	free(a);
	return bad;
}

static int run_policy(const char *path, unsigned long n, struct decide_bpf *skel)
{
	struct sl_policy_map_fds fds = {
	    .ac = bpf_map__fd(skel->maps.sl_ac),
	    .patterns = bpf_map__fd(skel->maps.sl_patterns),
	    .rules = bpf_map__fd(skel->maps.sl_rules),
	    .path_labels = bpf_map__fd(skel->maps.sl_path_labels),
	    .ip_labels = bpf_map__fd(skel->maps.sl_ip_labels),
	    .host_labels = bpf_map__fd(skel->maps.sl_host_labels),
	    .hdr = bpf_map__fd(skel->maps.sl_policy_hdr),
	    .active = bpf_map__fd(skel->maps.sl_policy_active),
	    .glob_classes = bpf_map__fd(skel->maps.sl_glob_classes),
	    .glob = bpf_map__fd(skel->maps.sl_glob),
	};
	static uint32_t generation;
	struct sl_compiled_policy *c = NULL;
	struct sl_policy *p = NULL;
	struct sl_test_decide *a;
	struct stats *st;
	uint32_t slot = generation & 1;
	char err[512] = "";
	int ret, unreached = 0;

	a = calloc(1, sizeof(*a));
	st = calloc(1, sizeof(*st));
	if (!a || !st) {
		ret = -ENOMEM;
		goto out;
	}
	ret = load_policy(path, &p, &c);
	if (ret)
		goto out;
	ret = sl_policy_maps_write(&fds, c, slot, ++generation, err, sizeof(err));
	if (!ret)
		ret = sl_policy_maps_flip(&fds, slot, generation);
	if (ret) {
		fprintf(stderr, "test_decide_kernel: %s: %s\n", path,
			err[0] ? err : strerror(-ret));
		goto out;
	}
	for (unsigned long i = 0; i < n; i++) {
		size_t len = 0;
		uint32_t pieces = rnd_below(8);

		memset(a, 0, offsetof(struct sl_test_decide, subject));
		a->channel = rnd_below(6);
		if (a->channel > SL_KCH_OPEN)
			a->channel = rnd_below(2); /* exec and tls more often */
		if (a->channel == SL_KCH_EXEC || a->channel == SL_KCH_TLS) {
			for (uint32_t k = 0; k < pieces; k++)
				add_piece(p, (char *)a->subject, &len, SL_TEST_SUBJECT_MAX);
			if (rnd_below(2))
				add_pattern(p, (char *)a->subject, &len, SL_TEST_SUBJECT_MAX);
		}
		a->len = (uint32_t)len;
		/* evidence, taint and scope over the policy's environments (and one more) */
		a->scope_env = rnd_below(p->n_envs + 2);
		for (uint32_t e = 1; e <= p->n_envs + 1 && e <= SL_ENV_MAX; e++) {
			if (!rnd_below(4))
				a->env |= 1ULL << e;
			if (!rnd_below(4))
				a->taint |= 1ULL << e;
		}
		if (!rnd_below(3))
			a->env = 0;
		if (!rnd_below(3))
			a->taint = 0;
		/* foreign: a credential found outside anything of the session's */
		if (!rnd_below(4))
			a->env |= 1ULL << SL_ENV_FOREIGN;
		if (!rnd_below(12))
			a->taint |= 1ULL << SL_ENV_FOREIGN;
		if (!rnd_below(10))
			a->session_flags |= SL_SESSION_MONITOR;
		if (!rnd_below(5))
			a->unread = 1U << rnd_below(4);
		ret = one_case(p, bpf_program__fd(skel->progs.sl_test_decide), a, st);
		if (ret)
			goto out;
	}
	if (c->hdr.glob_states) {
		long bad = run_globs(p, c, bpf_program__fd(skel->progs.sl_test_glob), n);

		if (bad < 0) {
			ret = -EIO;
			goto out;
		}
		st->mismatches += (unsigned long)bad;
	}
	printf("%s: %lu cases, %lu decided (%lu by settings.unreadable), %lu mismatches\n", path,
	       st->cases, st->decided, st->unreadable, st->mismatches);
	for (uint32_t r = 0; r < p->n_rules; r++) {
		printf("  rule %-32s %lu\n", p->rules[r].name, st->rule_hits[r]);
		/* a rule that no case reached proves nothing about it */
		if (!st->rule_hits[r])
			unreached++;
	}
	if (st->mismatches)
		ret = 1;
	else if (!st->unreadable) {
		fprintf(stderr,
			"test_decide_kernel: %s: no case was decided by unreadable evidence\n",
			path);
		ret = 1;
	} else if (unreached) {
		fprintf(stderr, "test_decide_kernel: %s: %d rules never decided a case: raise -n\n",
			path, unreached);
		ret = 1;
	}
out:
	sl_compiled_policy_free(c);
	sl_policy_free(p);
	free(a);
	free(st);
	return ret;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	unsigned long n = 20000;
	uint64_t seed = (uint64_t)time(NULL);
	struct decide_bpf *skel;
	int opt, status = 0;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		if (opt == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (opt == 's')
			seed = strtoull(optarg, NULL, 10);
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: %s [-n CASES] [-s SEED] POLICY.yaml...\n", argv[0]);
		return 2;
	}
	rng_state = seed ? seed : 1;
	printf("seed %llu (rerun with -s %llu)\n", (unsigned long long)seed,
	       (unsigned long long)seed);
	libbpf_set_print(print_libbpf);
	skel = decide_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "test_decide_kernel: load the test program: %s\n", strerror(errno));
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		int ret = run_policy(argv[i], n, skel);

		if (ret < 0)
			status = 2;
		else if (ret && status == 0)
			status = 1;
	}
	decide_bpf__destroy(skel);
	return status;
}
