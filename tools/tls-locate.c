// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tls-locate: which TLS library an executable embeds and where its plaintext
 * write/read functions are (user/lib/tls_locate.h), for people and for
 * tools/tls-offsets, which builds the offset table from published builds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tls_locate.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tls-locate [OPTIONS] FILE...\n"
		"Say which TLS library each ELF executable embeds (boringssl, openssl, rustls,\n"
		"go, none) and where its plaintext write/read functions are, without symbols.\n"
		"Every function printed passed validation; rejected candidates are listed.\n"
		"\n"
		"  -j, --json            one JSON object per file\n"
		"  -s, --search          ignore the offset table (structural search only)\n"
		"  -t, --table-only      offset table only, no search\n"
		"  -e, --table-entry WHAT  print the file's offset-table entry (C) for\n"
		"                        user/lib/tls_locate_table.c, WHAT describing the build;\n"
		"                        uses the search, fails unless SSL_write and SSL_read are\n"
		"                        located\n"
		"  -h, --help            this help\n"
		"\n"
		"EXAMPLES\n"
		"  tls-locate node_modules/@anthropic-ai/claude-code-linux-x64/claude\n"
		"  tls-locate --json --search ./claude\n"
		"  tls-locate --table-entry 'claude-code-linux-x64 2.1.197' ./claude\n"
		"\n"
		"Exit status: 0 every file analysed, 1 a file could not be read, 2 usage,\n"
		"3 --table-entry without SSL_write and SSL_read.\n");
}

static json_t *to_json(const char *path, const struct sl_tls_located *r)
{
	json_t *o = json_object(), *fa = json_array(), *ra = json_array();
	char buf[32];

	json_object_set_new(o, "path", json_string(path));
	json_object_set_new(o, "impl", json_string(sl_tls_impl_name(r->impl)));
	json_object_set_new(o, "impl_detail", json_string(r->impl_detail));
	json_object_set_new(o, "build_id", json_string(r->build_id));
	json_object_set_new(o, "file_size", json_integer((json_int_t)r->file_size));
	for (size_t i = 0; i < r->nfuncs; i++) {
		const struct sl_tls_func *f = &r->funcs[i];
		json_t *fo = json_object();

		json_object_set_new(fo, "function", json_string(sl_tls_abi_name(f->abi)));
		json_object_set_new(fo, "how", json_string(sl_tls_how_name(f->how)));
		snprintf(buf, sizeof(buf), "0x%" PRIx64, f->vaddr);
		json_object_set_new(fo, "vaddr", json_string(buf));
		snprintf(buf, sizeof(buf), "0x%" PRIx64, f->offset);
		json_object_set_new(fo, "offset", json_string(buf));
		json_object_set_new(fo, "retprobe_ok", json_boolean(f->retprobe_ok));
		json_object_set_new(fo, "evidence", json_string(f->evidence));
		json_array_append_new(fa, fo);
	}
	for (size_t i = 0; i < r->nrejects; i++) {
		const struct sl_tls_reject *x = &r->rejects[i];
		json_t *xo = json_object();

		json_object_set_new(xo, "function", json_string(sl_tls_abi_name(x->abi)));
		json_object_set_new(xo, "how", json_string(sl_tls_how_name(x->how)));
		snprintf(buf, sizeof(buf), "0x%" PRIx64, x->vaddr);
		json_object_set_new(xo, "vaddr", json_string(buf));
		json_object_set_new(xo, "why", json_string(x->why));
		json_array_append_new(ra, xo);
	}
	json_object_set_new(o, "functions", fa);
	json_object_set_new(o, "rejected", ra);
	json_object_set_new(o, "reason", json_string(r->reason));
	json_object_set_new(o, "elapsed_ms", json_real((double)r->elapsed_us / 1000.0));
	return o;
}

static void print_text(const char *path, const struct sl_tls_located *r)
{
	printf("%s: %s%s%s%s, build id %s, %.1f ms\n", path, sl_tls_impl_name(r->impl),
	       r->impl_detail[0] ? " (" : "", r->impl_detail, r->impl_detail[0] ? ")" : "",
	       r->build_id[0] ? r->build_id : "none", (double)r->elapsed_us / 1000.0);
	for (size_t i = 0; i < r->nfuncs; i++) {
		const struct sl_tls_func *f = &r->funcs[i];

		printf("  %-26s offset 0x%" PRIx64 " (vaddr 0x%" PRIx64 ") by %s%s: %s\n",
		       sl_tls_abi_name(f->abi), f->offset, f->vaddr, sl_tls_how_name(f->how),
		       f->retprobe_ok ? "" : ", entry probe only", f->evidence);
	}
	for (size_t i = 0; i < r->nrejects; i++)
		printf("  rejected %s at 0x%" PRIx64 " (%s): %s\n",
		       sl_tls_abi_name(r->rejects[i].abi), r->rejects[i].vaddr,
		       sl_tls_how_name(r->rejects[i].how), r->rejects[i].why);
	if (r->reason[0])
		printf("  not located: %s\n", r->reason);
}

static int sha256_fd(int fd, char out[65])
{
	unsigned char md[32], *buf = malloc(1 << 20);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = 0;
	off_t pos = 0;
	int err = 0;

	if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = pread(fd, buf, 1 << 20, pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		pos += n;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return err;
}

/* a C initializer for user/lib/tls_locate_table.c */
static int table_entry(int fd, const char *what, const struct sl_tls_located *r)
{
	static const char *const abi_enum[] = {
	    [SL_TLS_ABI_SSL_WRITE] = "SL_TLS_ABI_SSL_WRITE",
	    [SL_TLS_ABI_SSL_READ] = "SL_TLS_ABI_SSL_READ",
	    [SL_TLS_ABI_SSL_WRITE_EX] = "SL_TLS_ABI_SSL_WRITE_EX",
	    [SL_TLS_ABI_GO_CONN_WRITE] = "SL_TLS_ABI_GO_CONN_WRITE",
	    [SL_TLS_ABI_GO_CONN_READ] = "SL_TLS_ABI_GO_CONN_READ",
	    [SL_TLS_ABI_GO_CONN_HANDSHAKE] = "SL_TLS_ABI_GO_CONN_HANDSHAKE",
	};
	bool w = false, rd = false;
	char sha[65] = "";
	int err;

	for (size_t i = 0; i < r->nfuncs; i++) {
		w |= r->funcs[i].abi == SL_TLS_ABI_SSL_WRITE;
		rd |= r->funcs[i].abi == SL_TLS_ABI_SSL_READ;
	}
	if (r->impl != SL_TLS_IMPL_BORINGSSL || !w || !rd || !r->build_id[0])
		return 3;
	err = sha256_fd(fd, sha);
	if (err)
		return err;
	printf("    {\n\t.build_id = \"%s\",\n\t.file_size = %" PRIu64 ",\n\t.sha256 = \"%s\",\n"
	       "\t.what = \"%s\",\n\t.impl = SL_TLS_IMPL_BORINGSSL,\n\t.nfuncs = %zu,\n"
	       "\t.funcs =\n\t    {\n",
	       r->build_id, r->file_size, sha, what, r->nfuncs);
	for (size_t i = 0; i < r->nfuncs; i++) {
		const struct sl_tls_func *f = &r->funcs[i];
		uint8_t head[16];
		ssize_t n = pread(fd, head, sizeof(head), (off_t)f->offset);
		uint64_t caller;

		if (n != (ssize_t)sizeof(head))
			return n < 0 ? -errno : -EIO;
		err = sl_tls_find_caller(fd, f->vaddr, &caller);
		if (err)
			return err;
		printf("\t\t{.abi = %s,\n\t\t .vaddr = 0x%" PRIx64 ",\n\t\t .caller = 0x%" PRIx64
		       ",\n\t\t .head_len = 16,\n\t\t .head = {",
		       abi_enum[f->abi], f->vaddr, caller);
		for (size_t k = 0; k < sizeof(head); k++)
			printf("%s0x%02x", k ? ", " : "", head[k]);
		printf("}},\n");
	}
	printf("\t    },\n    },\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},	    {"search", no_argument, NULL, 's'},
	    {"table-only", no_argument, NULL, 't'}, {"table-entry", required_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},	    {0},
	};
	struct sl_tls_locate_opts opts = {0};
	const char *entry = NULL;
	bool json = false;
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "jste:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 's':
			opts.flags |= SL_TLS_LOCATE_NO_TABLE;
			break;
		case 't':
			opts.flags |= SL_TLS_LOCATE_NO_SEARCH;
			break;
		case 'e':
			entry = optarg;
			opts.flags |= SL_TLS_LOCATE_NO_TABLE;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "tls-locate: see --help\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "tls-locate: no FILE given (see --help)\n");
		return 2;
	}
	if ((opts.flags & SL_TLS_LOCATE_NO_TABLE) && (opts.flags & SL_TLS_LOCATE_NO_SEARCH)) {
		fprintf(stderr, "tls-locate: --table-only conflicts with --search/--table-entry\n");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		struct sl_tls_located r;
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		int err;

		if (fd < 0) {
			fprintf(stderr, "tls-locate: open '%s': %s\n", argv[i], strerror(errno));
			status = 1;
			continue;
		}
		err = sl_tls_locate(fd, argv[i], &opts, &r);
		if (err) {
			fprintf(stderr, "tls-locate: '%s': %s\n", argv[i], strerror(-err));
			status = 1;
		} else if (entry) {
			err = table_entry(fd, entry, &r);
			if (err == 3) {
				fprintf(stderr,
					"tls-locate: '%s': no table entry: %s (SSL_write and "
					"SSL_read of BoringSSL are needed)\n",
					argv[i], r.reason[0] ? r.reason : "not located");
				status = 3;
			} else if (err) {
				fprintf(stderr, "tls-locate: '%s': %s\n", argv[i], strerror(-err));
				status = 1;
			}
		} else if (json) {
			json_t *o = to_json(argv[i], &r);

			json_dumpf(o, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(o);
		} else {
			print_text(argv[i], &r);
		}
		close(fd);
	}
	return status;
}
