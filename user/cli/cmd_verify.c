// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * scopelock verify [--json] [--quiet] [--allow-gaps] PATH...: check the audit
 * log's sequence numbers and hash chain (user/lib/audit.h) and report what the
 * writer says it lost (gap records). Exit 0 verified and complete, 1 a
 * problem was found, 2 usage or I/O error, 3 verified but gap records say
 * records were lost (0 with --allow-gaps).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "audit.h"
#include "checkpoint.h"
#include "cli.h"

/* the chain verifies, but the writer stated that records were lost */
#define EXIT_GAPS 3

static const char verify_usage[] =
    "Usage: scopelock verify [--json] [--quiet] [--allow-gaps]\n"
    "                        [--checkpoints FILE (--verification-key KEY |\n"
    "                         --verification-key-file FILE)] PATH...\n"
    "\n"
    "Verify the audit log: every record's sequence number and hash chain, across\n"
    "plain (.jsonl) and compressed segments (.jsonl.zst, zstd, what rotation\n"
    "writes; .jsonl.gz, gzip, from older versions). PATH is a segment file or a\n"
    "directory (its audit*.jsonl[.zst|.gz] files); segments may be\n"
    "given in any order, they are put in order by the first seq they hold. The\n"
    "first missing, reordered, altered, chain-breaking, truncated or malformed\n"
    "record is reported with its file, line and seq.\n"
    "\n"
    "The daemon states in the chain what it could not write: a gap record says how\n"
    "many records (of which types, sessions, time span) were dropped because the\n"
    "log could not be written and its buffer was full, and why. Each gap is\n"
    "printed, as are the periods in which the log could not be written\n"
    "(audit_failure / audit_resumed records, whose records were written later).\n"
    "\n"
    "The chain alone shows clumsy edits. Someone who recomputes the hashes after\n"
    "editing or deleting records, cuts the tail, or removes the oldest segments is\n"
    "found by the checkpoints scopelockd seals with a forward-secure key\n"
    "(scopelock checkpoint-setup): with --checkpoints, every checkpoint's seal is\n"
    "checked with the verification key, then the record at each checkpoint's seq\n"
    "must be in the log with the sealed hash. Check the copies syslog forwarded off\n"
    "the host as well as the local file: whoever holds the host can remove the\n"
    "newest lines of the local file (the epochs then end early), not forge them.\n"
    "\n"
    "Options:\n"
    "  -j, --json        print the result as one JSON object\n"
    "  -q, --quiet       print nothing; the exit status tells\n"
    "      --allow-gaps  exit 0 for a chain that verifies even if it states that\n"
    "                    records were lost (the gaps are still printed)\n"
    "      --checkpoints FILE\n"
    "                    also check the log against these checkpoints (one JSON\n"
    "                    line each: the checkpoints file, or lines from syslog)\n"
    "      --verification-key KEY\n"
    "                    the 64 hex digits scopelock checkpoint-setup printed\n"
    "      --verification-key-file FILE\n"
    "                    the same, read from FILE (keeps it out of ps and history)\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status:\n"
    "  0  the chain verifies and no record was lost\n"
    "  1  a problem was found (the first one is printed), in the chain or\n"
    "     against the checkpoints\n"
    "  2  usage or I/O error\n"
    "  3  the chain verifies, but gap records say records were lost\n"
    "     (0 with --allow-gaps)\n"
    "\n"
    "EXAMPLES\n"
    "  scopelock verify /var/log/scopelock\n"
    "      verify every segment in the audit directory\n"
    "  scopelock verify audit-00000000000000001001.jsonl.zst audit.jsonl\n"
    "      verify two segments; the chain is anchored on the first one's\n"
    "      segment_start record\n"
    "  scopelock verify --json /var/log/scopelock | jq .status\n"
    "  scopelock verify --quiet /var/log/scopelock || echo 'audit log damaged or incomplete'\n"
    "  scopelock verify /var/log/scopelock; [ $? = 3 ] && echo 'records were lost'\n"
    "  scopelock verify --checkpoints /var/log/scopelock/checkpoints.jsonl \\\n"
    "      --verification-key-file ~/scopelock-vk /var/log/scopelock\n"
    "      the chain, and every checkpoint sealed since the key was created\n"
    "  journalctl -o cat -t scopelockd | sed -n 's/^scopelock-checkpoint //p' > ck.jsonl\n"
    "      the copies in the journal, to verify against\n"
    "  scopelock verify --allow-gaps --quiet /var/log/scopelock\n"
    "      exit 0 for an intact chain even if the disk filled up and records\n"
    "      were dropped\n";

static long long num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* "open 160, exit 5" */
static void print_counts(json_t *obj)
{
	const char *k;
	json_t *v;
	int n = 0;

	json_object_foreach (obj, k, v)
		printf("%s%s %lld", n++ ? ", " : "", k, json_integer_value(v));
}

/* what the writer said about itself, one line each */
static void print_notes(const struct sl_verify_result *res)
{
	json_t *n;
	size_t i;

	json_array_foreach (res->notes, i, n) {
		const char *type = str(n, "type");

		printf("%s at %s:%lld (seq %lld): ", !strcmp(type, "gap") ? "GAP" : "note",
		       base(str(n, "file")), num(n, "line"), num(n, "seq"));
		if (!strcmp(type, "gap")) {
			printf("%lld records lost (", num(n, "records"));
			print_counts(json_object_get(n, "types"));
			printf(") from %s to %s, after seq %lld: ", str(n, "first_time"),
			       str(n, "last_time"), num(n, "after_seq"));
			if (!strcmp(str(n, "reason"), "buffer_full"))
				printf("the log could not be written (%s) and the buffer "
				       "(settings.audit_buffer) was full\n",
				       str(n, "error"));
			else
				printf("the daemon ran out of memory\n");
		} else if (!strcmp(type, "audit_failure")) {
			printf("the log could not be written from %s: %s: %s (%s); written up to "
			       "seq %lld, the records after it waited in memory\n",
			       str(n, "time"), str(n, "operation"), str(n, "error"),
			       str(n, "errno"), num(n, "written_seq"));
		} else {
			printf("written again at %s after %lld ms: %lld records had waited in "
			       "memory and are in the chain, %lld were lost\n",
			       str(n, "time"), num(n, "duration_ms"), num(n, "records_buffered"),
			       num(n, "dropped"));
		}
	}
}

static json_t *ckpt_json(const struct sl_ckpt_result *c)
{
	json_t *o =
	    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "status", sl_ckpt_problem_name(c->problem),
		      "checkpoints", (json_int_t)c->checkpoints, "matched", (json_int_t)c->matched,
		      "first_epoch", (json_int_t)c->first_epoch, "last_epoch",
		      (json_int_t)c->last_epoch, "last_seq", (json_int_t)c->last_seq);

	if (!o)
		return NULL;
	json_object_set_new(o, "last_time", json_string(c->last_time));
	if (c->problem != SL_CKPT_OK) {
		json_object_set_new(o, "line", json_integer((json_int_t)c->line));
		json_object_set_new(o, "epoch", json_integer((json_int_t)c->epoch));
		json_object_set_new(o, "seq", json_integer((json_int_t)c->seq));
		json_object_set_new(o, "detail", json_string(c->detail));
	}
	return o;
}

static int print_json(const struct sl_verify_result *res, int ret, const struct sl_ckpt_result *ck)
{
	json_t *o;
	char *s;

	o = json_pack("{s:s, s:I, s:I, s:I, s:I}", "status",
		      ret < 0 ? "error" : sl_verify_status_name(res->status), "records",
		      (json_int_t)res->records, "first_seq", (json_int_t)res->first_seq, "last_seq",
		      (json_int_t)res->last_seq, "segments", (json_int_t)res->segments);
	if (!o)
		return -1;
	if (json_object_set_new(o, "gaps", json_integer((json_int_t)res->gaps)) ||
	    json_object_set_new(o, "lost_records", json_integer((json_int_t)res->lost_records)) ||
	    json_object_set_new(o, "audit_failures",
				json_integer((json_int_t)res->audit_failures)) ||
	    json_object_set(o, "notes", res->notes ?: json_array()))
		goto fail;
	if (ret != 0 && (json_object_set_new(o, "file", json_string(res->file)) ||
			 json_object_set_new(o, "line", json_integer((json_int_t)res->line)) ||
			 json_object_set_new(o, "seq", json_integer((json_int_t)res->seq))))
		goto fail;
	if (json_object_set_new(o, "detail", json_string(res->detail)))
		goto fail;
	if (ck && json_object_set_new(o, "checkpoints", ckpt_json(ck)))
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
	    {"allow-gaps", no_argument, NULL, 'G'},
	    {"checkpoints", required_argument, NULL, 'C'},
	    {"verification-key", required_argument, NULL, 'K'},
	    {"verification-key-file", required_argument, NULL, 'F'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sl_verify_result res;
	struct sl_ckpt_result ck;
	const char *ckpt_file = NULL, *vk_text = NULL, *vk_file = NULL;
	uint8_t vk[SL_CKPT_KEY_LEN];
	bool json = false, quiet = false, allow_gaps = false;
	int c, ret, code;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "jqh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'G':
			allow_gaps = true;
			break;
		case 'C':
			ckpt_file = optarg;
			break;
		case 'K':
			vk_text = optarg;
			break;
		case 'F':
			vk_file = optarg;
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

	if ((vk_text || vk_file) && !ckpt_file) {
		fprintf(stderr,
			"scopelock: verify: a verification key without --checkpoints FILE\n");
		return 2;
	}
	if (ckpt_file) {
		char buf[256] = "";

		if (!!vk_text == !!vk_file) {
			fprintf(stderr,
				"scopelock: verify: --checkpoints needs exactly one of "
				"--verification-key KEY and --verification-key-file FILE\n");
			return 2;
		}
		if (vk_file) {
			FILE *f = fopen(vk_file, "re");
			size_t n = 0;

			if (f) {
				n = fread(buf, 1, sizeof(buf) - 1, f);
				fclose(f);
			} else {
				fprintf(stderr,
					"scopelock: verify: --verification-key-file '%s': %s\n",
					vk_file, strerror(errno));
				return 2;
			}
			buf[n] = '\0';
			vk_text = buf;
		}
		if (sl_ckpt_parse_key(vk_text, vk)) {
			fprintf(stderr,
				"scopelock: verify: %s: expected the 64 hex digits scopelock "
				"checkpoint-setup printed\n",
				vk_file ? vk_file : "--verification-key");
			return 2;
		}
		ret = sl_ckpt_check(ckpt_file, vk, (const char *const *)argv + optind,
				    argc - optind, &res, &ck);
		if (ret < 0 && ck.problem == SL_CKPT_IO) {
			fprintf(stderr, "scopelock: verify: --checkpoints: %s\n", ck.detail);
			return 2;
		}
	} else {
		ret = sl_audit_verify((const char *const *)argv + optind, argc - optind, &res);
	}
	code = ret < 0 ? 2 : ret ? 1 : res.gaps && !allow_gaps ? EXIT_GAPS : 0;
	if (json) {
		if (print_json(&res, ret, ckpt_file ? &ck : NULL)) {
			fprintf(stderr, "scopelock: verify: out of memory\n");
			code = 2;
		}
	} else if (ret < 0) {
		/* usage and I/O errors are said even with --quiet */
		fprintf(stderr, "scopelock: verify: %s\n", res.detail);
	} else if (quiet) {
		/* nothing */
	} else if (res.status == SL_VERIFY_OK) {
		printf("%s: %llu records, seq %llu..%llu, %llu segment%s\n",
		       res.gaps ? "CHAIN OK" : "OK", (unsigned long long)res.records,
		       (unsigned long long)res.first_seq, (unsigned long long)res.last_seq,
		       (unsigned long long)res.segments, res.segments == 1 ? "" : "s");
		if (strstr(res.detail, "anchored"))
			printf("note: %s\n", res.detail);
		print_notes(&res);
		if (res.gaps)
			printf(
			    "LOST: %llu record%s in %llu gap%s: the chain is intact, but the log "
			    "is not complete\n",
			    (unsigned long long)res.lost_records, res.lost_records == 1 ? "" : "s",
			    (unsigned long long)res.gaps, res.gaps == 1 ? "" : "s");
	} else {
		print_notes(&res);
		printf("FAILED: %s at %s:%llu (seq %llu): %s\n", sl_verify_status_name(res.status),
		       res.file, (unsigned long long)res.line, (unsigned long long)res.seq,
		       res.detail);
	}
	if (ckpt_file && !json && !quiet && ret >= 0) {
		if (ck.problem == SL_CKPT_OK && res.status == SL_VERIFY_OK)
			printf("CHECKPOINTS OK: %llu checkpoint%s (epochs %llu..%llu), the newest "
			       "seals seq %llu at %s; %llu in the records given\n",
			       (unsigned long long)ck.checkpoints, ck.checkpoints == 1 ? "" : "s",
			       (unsigned long long)ck.first_epoch,
			       (unsigned long long)ck.last_epoch, (unsigned long long)ck.last_seq,
			       ck.last_time[0] ? ck.last_time : "-",
			       (unsigned long long)ck.matched);
		if (ck.problem == SL_CKPT_OK && res.status == SL_VERIFY_OK &&
		    res.last_seq > ck.last_seq)
			printf("note: records seq %llu..%llu come after the newest checkpoint: no "
			       "seal covers them (lines removed from the end of the checkpoints "
			       "file look the same: compare with the copies in syslog)\n",
			       (unsigned long long)(ck.last_seq + 1),
			       (unsigned long long)res.last_seq);
		if (ck.problem != SL_CKPT_OK)
			printf("CHECKPOINTS FAILED: %s at %s:%llu (epoch %llu, seq %llu): %s\n",
			       sl_ckpt_problem_name(ck.problem), ckpt_file,
			       (unsigned long long)ck.line, (unsigned long long)ck.epoch,
			       (unsigned long long)ck.seq, ck.detail);
	}
	sl_verify_result_release(&res);
	return code;
}
