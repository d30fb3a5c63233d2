// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* scopelock policy check FILE... | scopelock policy reload */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "log.h"
#include "policy.h"

static void policy_usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: scopelock policy check [--no-secrets] [--verbose] FILE...\n"
	    "       scopelock policy show FILE\n"
	    "       scopelock policy reload\n"
	    "\n"
	    "Check policy files, or make the running daemon load its policy again.\n"
	    "\n"
	    "Commands:\n"
	    "  check FILE...     parse and validate each FILE; print every error as\n"
	    "                    FILE:LINE:COLUMN: field 'F': what was expected, what was found\n"
	    "                    then \"FILE: N errors\", or \"FILE: OK (...)\" when valid.\n"
	    "                    Secret files and variables named by the policy are read\n"
	    "                    too (as the daemon would); values are never printed.\n"
	    "  show FILE         print the effective policy of FILE as YAML: its extends\n"
	    "                    chain, FILE and its drop-ins (FILE.d/*.yaml) merged, after\n"
	    "                    a comment naming every file; errors as for check\n"
	    "  reload            ask scopelockd to reload its policy file (an invalid\n"
	    "                    policy is refused and the running one is kept); root or\n"
	    "                    the policy's admin_group, never from inside a session\n"
	    "\n"
	    "Options of check:\n"
	    "  -n, --no-secrets  do not read secret files or environment variables\n"
	    "                    (check a policy away from the host that runs the daemon)\n"
	    "  -v, --verbose     after OK, print what the policy compiles to: environment\n"
	    "                    ids, labels, secret fingerprints, keywords, patterns, rules\n"
	    "  -h, --help        show this help\n"
	    "\n"
	    "Exit status: 0 every file is valid, 1 a file has errors or cannot be read,\n"
	    "2 usage error.\n"
	    "\n"
	    "EXAMPLES\n"
	    "  scopelock policy check /etc/scopelock/policy.yaml\n"
	    "  scopelock policy check --no-secrets policies/default.yaml policies/examples/*.yaml\n"
	    "  scopelock policy check -v policies/examples/incident.yaml\n"
	    "  scopelock policy show /etc/scopelock/policy.yaml\n"
	    "      what the daemon enforces: the shipped library, the site file and\n"
	    "      /etc/scopelock/policy.d/*.yaml, merged\n"
	    "  scopelock policy reload\n"
	    "\n"
	    "The policy language is described in docs/policy.md.\n");
}

/* getopt's own message would name argv[0] ("check"): say it in full */
static void bad_option(const char *cmd, char **argv)
{
	if (optopt)
		log_err("%s: unknown option '-%c'", cmd, optopt);
	else
		log_err("%s: unknown option '%s'", cmd, argv[optind - 1]);
	fprintf(stderr, "Try 'scopelock policy --help'.\n");
}

static void print_summary(const struct sl_policy *p)
{
	printf("  version %u, mode %s, hold timeout %u s, secret min length %u\n", p->version,
	       sl_policy_mode_name(p->mode), p->settings.hold_timeout_s,
	       p->settings.secret_min_len);
	for (uint32_t i = 0; i < p->n_envs; i++) {
		const struct sl_policy_env *e = &p->envs[i];

		printf("  environment %u '%s': %u paths, %u hosts, %u secret entries, %u "
		       "resources; sessions kept from: %s%s%s\n",
		       e->id, e->name, e->n_paths, e->n_hosts, e->n_secrets, e->n_resources,
		       e->confine_ptrace ? "ptrace" : "",
		       e->confine_ptrace && e->confine_userns ? ", " : "",
		       e->confine_userns    ? "userns"
		       : !e->confine_ptrace ? "nothing (confine opted out)"
					    : "");
	}
	for (uint32_t i = 0; i < p->n_secrets; i++) {
		const struct sl_policy_secret *s = &p->secrets[i];
		const struct sl_policy_env *e = &p->envs[s->env_id - 1];
		const struct sl_policy_secret_src *src = &e->secrets[s->src];
		char fp[SL_POLICY_FP_STR_SIZE];

		sl_policy_sha256_str(s->sha256, fp);
		printf("  secret %s '%s' from %s %s\n", fp, e->name,
		       src->kind == SL_SECRET_FILE  ? "file"
		       : src->kind == SL_SECRET_ENV ? "variable"
						    : "fingerprint",
		       src->kind == SL_SECRET_FILE  ? src->path
		       : src->kind == SL_SECRET_ENV ? src->env_var
						    : "in the policy");
	}
	printf("  %u keywords\n", p->n_keywords);
	for (uint32_t i = 0; i < p->n_patterns; i++) {
		const struct sl_policy_pattern *pt = &p->patterns[i];

		printf("  pattern %u '%s' (%s%s%s): %u groups, %u exclusions\n", i, pt->name,
		       pt->channels & SL_CHAN_BIT(SL_CHAN_EXEC) ? "exec" : "",
		       pt->channels == (SL_CHAN_BIT(SL_CHAN_EXEC) | SL_CHAN_BIT(SL_CHAN_TLS)) ? ", "
											      : "",
		       pt->channels & SL_CHAN_BIT(SL_CHAN_TLS) ? "tls" : "", pt->n_groups,
		       pt->n_none);
	}
	for (uint32_t i = 0; i < p->n_rules; i++) {
		const struct sl_policy_rule *r = &p->rules[i];

		printf("  rule %u '%s': %s", i, r->name, sl_policy_channel_name(r->channel));
		for (uint32_t j = 0; j < r->n_patterns; j++)
			printf("%s%s", j ? " or " : " ", p->patterns[r->patterns[j]].name);
		printf(", target%s%s%s%s -> %s%s\n",
		       r->target & SL_TARGET_IN_SCOPE ? " in_scope" : "",
		       r->target & SL_TARGET_OUTSIDE ? " outside_scope" : "",
		       r->target & SL_TARGET_UNKNOWN ? " unknown" : "",
		       r->target & SL_TARGET_FOREIGN ? " foreign" : "",
		       sl_policy_action_name(r->action),
		       r->effective_monitor ? " (monitor: recorded, not done)" : "");
	}
}

/* 0 valid, 1 errors or unreadable */
static int check_one(const char *path, bool secrets, bool verbose)
{
	struct sl_policy_errors errs;
	struct sl_policy *p = NULL;
	int ret = 1;
	int err;

	sl_policy_errors_init(&errs);
	err = sl_policy_load_file(path, &p, &errs);
	if (!err && secrets)
		err = sl_policy_load_secrets(p, &errs);
	if (err == -EINVAL) {
		size_t n = sl_policy_errors_total(&errs);

		sl_policy_errors_print(&errs, stdout);
		printf("%s: %zu error%s\n", path, n, n == 1 ? "" : "s");
		goto out;
	}
	if (err) {
		printf("%s: cannot read: %s\n", path, strerror(-err));
		goto out;
	}
	printf("%s: OK (%u environments, %u patterns, %u rules", path, p->n_envs, p->n_patterns,
	       p->n_rules);
	if (p->n_layers > 1)
		printf(", %u files merged: see 'scopelock policy show'", p->n_layers);
	printf(")\n");
	if (verbose)
		print_summary(p);
	ret = 0;
out:
	fflush(stdout);
	sl_policy_free(p);
	sl_policy_errors_free(&errs);
	return ret;
}

static int cmd_policy_check(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"no-secrets", no_argument, NULL, 'n'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	bool secrets = true, verbose = false;
	int ret = 0, c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+nvh", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			secrets = false;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			policy_usage(stdout);
			return 0;
		default:
			bad_option("policy check", argv);
			return 2;
		}
	}
	if (optind >= argc) {
		log_err("policy check: missing FILE (the policy file(s) to check)");
		fprintf(stderr, "Try 'scopelock policy --help'.\n");
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (check_one(argv[i], secrets, verbose))
			ret = 1;
	return ret;
}

/* ask the daemon to reload; it answers with every error of a refused policy */
static int policy_reload(const struct sl_cli *cli)
{
	json_t *req = json_pack("{s:s}", "op", "policy_reload"), *reply = NULL;
	int err;

	if (!req)
		return 1;
	err = sl_client_call(cli, "policy reload", req, &reply);
	json_decref(req);
	if (err)
		return 1;
	printf("policy reloaded: generation %lld, sha256 %.16s\n",
	       json_integer_value(json_object_get(reply, "generation")),
	       json_string_value(json_object_get(reply, "sha256")));
	json_decref(reply);
	return 0;
}

int cmd_policy(const struct sl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *sub;
	int c;

	(void)cli;
	/* options before the subcommand; "+" stops at the first non-option */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			policy_usage(stdout);
			return 0;
		default:
			bad_option("policy", argv);
			return 2;
		}
	}
	if (optind >= argc) {
		log_err("policy: missing command (check or reload)");
		fprintf(stderr, "Try 'scopelock policy --help'.\n");
		return 2;
	}
	sub = argv[optind];
	if (!strcmp(sub, "check"))
		return cmd_policy_check(argc - optind, argv + optind);
	if (!strcmp(sub, "show")) {
		struct sl_policy_errors errs;
		int err;

		if (argc - optind != 2 || argv[optind + 1][0] == '-') {
			if (argc - optind == 2 && (!strcmp(argv[optind + 1], "--help") ||
						   !strcmp(argv[optind + 1], "-h"))) {
				policy_usage(stdout);
				return 0;
			}
			log_err("policy show: give one policy FILE");
			fprintf(stderr, "Try 'scopelock policy --help'.\n");
			return 2;
		}
		sl_policy_errors_init(&errs);
		err = sl_policy_show(argv[optind + 1], stdout, &errs);
		if (err == -EINVAL) {
			size_t n = sl_policy_errors_total(&errs);

			sl_policy_errors_print(&errs, stderr);
			fprintf(stderr, "%s: %zu error%s\n", argv[optind + 1], n,
				n == 1 ? "" : "s");
		} else if (err) {
			log_err("policy show: %s: %s", argv[optind + 1], strerror(-err));
		}
		sl_policy_errors_free(&errs);
		return err ? 1 : 0;
	}
	if (!strcmp(sub, "reload")) {
		if (argc - optind > 1) {
			if (!strcmp(argv[optind + 1], "--help") ||
			    !strcmp(argv[optind + 1], "-h")) {
				policy_usage(stdout);
				return 0;
			}
			log_err("policy reload: unexpected argument '%s'", argv[optind + 1]);
			return 2;
		}
		return policy_reload(cli);
	}
	log_err("policy: unknown command '%s' (expected check, show or reload)", sub);
	fprintf(stderr, "Try 'scopelock policy --help'.\n");
	return 2;
}
