// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * scopelock verify [--json] [--quiet] PATH...: check the audit log's
 * sequence numbers and hash chain (user/lib/audit.h). Exit 0 verified,
 * 1 a problem was found, 2 usage or I/O error.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "audit.h"
#include "cli.h"

static const char verify_usage[] =
    "Usage: scopelock verify [--json] [--quiet] PATH...\n"
    "\n"
    "Verify the audit log: every record's sequence number and hash chain, across\n"
    "plain (.jsonl) and compressed (.jsonl.gz) segments. PATH is a segment file or\n"
    "a directory (its audit*.jsonl and audit*.jsonl.gz files); segments may be\n"
    "given in any order, they are put in order by the first seq they hold. The\n"
    "first missing, reordered, altered, chain-breaking, truncated or malformed\n"
    "record is reported with its file, line and seq.\n"
    "\n"
    "Options:\n"
    "  -j, --json    print the result as one JSON object\n"
    "  -q, --quiet   print nothing; the exit status tells\n"
    "  -h, --help    show this help\n"
    "\n"
    "Exit status: 0 the log verifies, 1 a problem was found, 2 usage or I/O error.\n"
    "\n"
    "EXAMPLES\n"
    "  scopelock verify /var/log/scopelock\n"
    "      verify every segment in the audit directory\n"
    "  scopelock verify audit-00000000000000001001.jsonl.gz audit.jsonl\n"
    "      verify two segments; the chain is anchored on the first one's\n"
    "      segment_start record\n"
    "  scopelock verify --json /var/log/scopelock | jq .status\n"
    "  scopelock verify --quiet /var/log/scopelock || echo 'audit log damaged'\n";

static int print_json(const struct sl_verify_result *res, int ret)
{
	json_t *o;
	char *s;

	o = json_pack("{s:s, s:I, s:I, s:I, s:I}", "status",
		      ret < 0 ? "error" : sl_verify_status_name(res->status), "records",
		      (json_int_t)res->records, "first_seq", (json_int_t)res->first_seq, "last_seq",
		      (json_int_t)res->last_seq, "segments", (json_int_t)res->segments);
	if (!o)
		return -1;
	if (ret != 0 && (json_object_set_new(o, "file", json_string(res->file)) ||
			 json_object_set_new(o, "line", json_integer((json_int_t)res->line)) ||
			 json_object_set_new(o, "seq", json_integer((json_int_t)res->seq))))
		goto fail;
	if (json_object_set_new(o, "detail", json_string(res->detail)))
		goto fail;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return -1;
	printf("%s\n", s);
	free(s);
	return 0;
fail:
	json_decref(o);
	return -1;
}

int cmd_verify(const struct sl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sl_verify_result res;
	bool json = false, quiet = false;
	int c, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "jqh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(verify_usage, stdout);
			return 0;
		default:
			if (optind > 0 && !strncmp(argv[optind - 1], "--", 2))
				fprintf(stderr,
					"scopelock: verify: unknown or misused option '%s'\n",
					argv[optind - 1]);
			else
				fprintf(stderr, "scopelock: verify: unknown option '-%c'\n",
					optopt);
			fprintf(stderr, "Try 'scopelock verify --help'.\n");
			return 2;
		}
	}
	if (json && quiet) {
		fprintf(stderr, "scopelock: verify: --json and --quiet cannot be combined\n");
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "scopelock: verify: no PATH given (an audit directory or segment "
				"files)\nTry 'scopelock verify --help'.\n");
		return 2;
	}

	ret = sl_audit_verify((const char *const *)argv + optind, argc - optind, &res);
	if (json) {
		if (print_json(&res, ret)) {
			fprintf(stderr, "scopelock: verify: out of memory\n");
			return 2;
		}
	} else if (ret < 0) {
		/* usage and I/O errors are said even with --quiet */
		fprintf(stderr, "scopelock: verify: %s\n", res.detail);
	} else if (quiet) {
		/* nothing */
	} else if (ret == 0) {
		printf("OK: %llu records, seq %llu..%llu, %llu segment%s\n",
		       (unsigned long long)res.records, (unsigned long long)res.first_seq,
		       (unsigned long long)res.last_seq, (unsigned long long)res.segments,
		       res.segments == 1 ? "" : "s");
		if (strstr(res.detail, "anchored"))
			printf("note: %s\n", res.detail);
	} else {
		printf("FAILED: %s at %s:%llu (seq %llu): %s\n", sl_verify_status_name(res.status),
		       res.file, (unsigned long long)res.line, (unsigned long long)res.seq,
		       res.detail);
	}
	if (ret < 0)
		return 2;
	return ret ? 1 : 0;
}
