// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * TLS entry points without symbols (user/lib/tls_locate.h), on the fixtures
 * the Makefile builds from tests/unit/fixtures/: BoringSSL-shaped code
 * (non-PIE: absolute file-name loads; PIE: rip-relative), stripped; the truth
 * (where SSL_write and SSL_read are) is read from the unstripped twin's
 * symbol table. A table entry with a wrong offset is rejected and reported,
 * never returned; a changed signature and two look-alikes are refused.
 * The real Claude Code builds: tests/e2e/test_tls_locate_agents.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tls_locate.h"

#define FX(name) SL_TEST_FIXTURES "/" name

/* the address of symbol name in the unstripped file path, and its file offset */
static uint64_t sym(const char *path, const char *name, uint64_t *off)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf_Scn *scn = NULL;
	uint64_t va = 0;
	size_t phnum;
	Elf *elf;

	assert_true(fd >= 0);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	while ((scn = elf_nextscn(elf, scn)) && !va) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;

			if (!gelf_getsym(d, (int)i, &s))
				continue;
			n = elf_strptr(elf, sh.sh_link, s.st_name);
			if (n && !strcmp(n, name))
				va = s.st_value;
		}
	}
	assert_true(va != 0);
	assert_int_equal(elf_getphdrnum(elf, &phnum), 0);
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && va >= ph.p_vaddr &&
		    va - ph.p_vaddr < ph.p_filesz && off)
			*off = va - ph.p_vaddr + ph.p_offset;
	}
	elf_end(elf);
	close(fd);
	return va;
}

static void locate(const char *path, const struct sl_tls_locate_opts *opts,
		   struct sl_tls_located *r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(sl_tls_locate(fd, path, opts, r), 0);
	close(fd);
}

static const struct sl_tls_func *func(const struct sl_tls_located *r, enum sl_tls_abi abi)
{
	for (size_t i = 0; i < r->nfuncs; i++)
		if (r->funcs[i].abi == abi)
			return &r->funcs[i];
	return NULL;
}

static const struct sl_tls_reject *reject_at(const struct sl_tls_located *r, uint64_t va)
{
	for (size_t i = 0; i < r->nrejects; i++)
		if (r->rejects[i].vaddr == va)
			return &r->rejects[i];
	return NULL;
}

/* the stripped file's functions are the unstripped one's symbols */
static void check_search(const char *stripped, const char *unstripped)
{
	struct sl_tls_located r;
	const struct sl_tls_func *w, *rd;
	uint64_t woff = 0, roff = 0;
	uint64_t wva = sym(unstripped, "SSL_write", &woff);
	uint64_t rva = sym(unstripped, "SSL_read", &roff);

	locate(stripped, NULL, &r);
	assert_int_equal(r.impl, SL_TLS_IMPL_BORINGSSL);
	assert_true(r.build_id[0] != '\0');
	w = func(&r, SL_TLS_ABI_SSL_WRITE);
	rd = func(&r, SL_TLS_ABI_SSL_READ);
	assert_non_null(w);
	assert_non_null(rd);
	assert_int_equal(w->vaddr, wva);
	assert_int_equal(w->offset, woff);
	assert_int_equal(w->how, SL_TLS_HOW_SEARCH);
	assert_true(w->retprobe_ok);
	assert_non_null(strstr(w->evidence, "{66,111,215,226}"));
	assert_int_equal(rd->vaddr, rva);
	assert_int_equal(rd->offset, roff);
	assert_non_null(strstr(rd->evidence, "calls ssl_read_impl"));
	assert_int_equal(r.nfuncs, 2);
	assert_int_equal(r.nrejects, 0);
	assert_string_equal(r.reason, "");
}

static void test_search_nopie(void **state)
{
	check_search(FX("fake_bssl-nopie.stripped"), FX("fake_bssl-nopie"));
}

static void test_search_pie(void **state)
{
	check_search(FX("fake_bssl-pie.stripped"), FX("fake_bssl-pie"));
}

/* SSL_write's error sites in a function that does not take (ssl, buf, num) */
static void test_changed_signature_refused(void **state)
{
	struct sl_tls_located r;
	const struct sl_tls_func *w;
	const struct sl_tls_reject *x;
	uint64_t decoy = sym(FX("fake_bssl-decoy"), "decoy_write", NULL);

	locate(FX("fake_bssl-decoy.stripped"), NULL, &r);
	w = func(&r, SL_TLS_ABI_SSL_WRITE);
	assert_non_null(w);
	assert_int_equal(w->vaddr, sym(FX("fake_bssl-decoy"), "SSL_write", NULL));
	x = reject_at(&r, decoy);
	assert_non_null(x);
	assert_int_equal(x->abi, SL_TLS_ABI_SSL_WRITE);
	assert_non_null(strstr(x->why, "not the SSL_write ABI"));
}

/* two functions with SSL_write's signature: neither is used */
static void test_ambiguous_refused(void **state)
{
	struct sl_tls_located r;

	locate(FX("fake_bssl-twin.stripped"), NULL, &r);
	assert_null(func(&r, SL_TLS_ABI_SSL_WRITE));
	assert_non_null(func(&r, SL_TLS_ABI_SSL_READ));
	assert_non_null(strstr(r.reason, "SSL_write: 2 candidates"));
	assert_non_null(strstr(r.reason, "ambiguous, none used"));
}

/*
 * A table entry for the stripped nopie fixture, write at wva, read at rva,
 * with a call site of the functions at cw and cr (the real entries).
 */
static void make_entry(struct sl_tls_table_entry *e, const struct sl_tls_located *probe,
		       const char *path, uint64_t wva, uint64_t rva, uint64_t cw, uint64_t cr)
{
	uint64_t vas[2] = {wva, rva}, callee[2] = {cw, cr};
	uint64_t base = 0x400000; /* non-PIE: the first PT_LOAD maps offset 0 there */
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	memset(e, 0, sizeof(*e));
	e->build_id = strdup(probe->build_id);
	e->file_size = probe->file_size;
	e->what = "unit fixture";
	e->impl = SL_TLS_IMPL_BORINGSSL;
	e->nfuncs = 2;
	for (int i = 0; i < 2; i++) {
		e->funcs[i].abi = i ? SL_TLS_ABI_SSL_READ : SL_TLS_ABI_SSL_WRITE;
		e->funcs[i].vaddr = vas[i];
		e->funcs[i].head_len = 16;
		/* the file's own bytes there: the head cannot refuse it */
		assert_int_equal(pread(fd, e->funcs[i].head, 16, (off_t)(vas[i] - base)), 16);
		assert_int_equal(sl_tls_find_caller(fd, callee[i], &e->funcs[i].caller), 0);
	}
	close(fd);
}

static void test_table_entry_used(void **state)
{
	struct sl_tls_located probe, r;
	struct sl_tls_table_entry e;
	struct sl_tls_locate_opts o = {
	    .flags = SL_TLS_LOCATE_NO_SEARCH, .table = &e, .table_len = 1};
	uint64_t wva = sym(FX("fake_bssl-nopie"), "SSL_write", NULL);
	uint64_t rva = sym(FX("fake_bssl-nopie"), "SSL_read", NULL);

	locate(FX("fake_bssl-nopie.stripped"), NULL, &probe);
	make_entry(&e, &probe, FX("fake_bssl-nopie.stripped"), wva, rva, wva, rva);
	locate(FX("fake_bssl-nopie.stripped"), &o, &r);
	assert_int_equal(r.nfuncs, 2);
	assert_int_equal(func(&r, SL_TLS_ABI_SSL_WRITE)->how, SL_TLS_HOW_TABLE);
	assert_int_equal(func(&r, SL_TLS_ABI_SSL_WRITE)->vaddr, wva);
	assert_int_equal(func(&r, SL_TLS_ABI_SSL_READ)->vaddr, rva);
	assert_non_null(strstr(func(&r, SL_TLS_ABI_SSL_WRITE)->evidence, "unit fixture"));
	assert_int_equal(r.nrejects, 0);
	/* another build (file size differs): the entry does not apply */
	e.file_size++;
	locate(FX("fake_bssl-nopie.stripped"), &o, &r);
	assert_int_equal(r.nfuncs, 0);
	assert_non_null(strstr(r.reason, "build not in the offset table"));
	free((char *)e.build_id);
}

/*
 * Deliberately wrong offsets, with the bytes the file really has there (the
 * head check cannot tell): one byte into SSL_write, inside its first
 * instruction "41 55" (push r13), where "55" (push rbp) starts a function
 * that decodes and looks exactly like SSL_write: refused because no call
 * enters there (the recorded call site calls the real entry); and SSL_read's
 * address, with a real call site of it, given as SSL_write: refused by its
 * error sites. Both reported; with the search allowed the right SSL_write is
 * found.
 */
static void test_table_wrong_offset_rejected(void **state)
{
	struct sl_tls_located probe, r;
	struct sl_tls_table_entry e;
	struct sl_tls_locate_opts only = {
	    .flags = SL_TLS_LOCATE_NO_SEARCH, .table = &e, .table_len = 1};
	struct sl_tls_locate_opts both = {.table = &e, .table_len = 1};
	uint64_t wva = sym(FX("fake_bssl-nopie"), "SSL_write", NULL);
	uint64_t rva = sym(FX("fake_bssl-nopie"), "SSL_read", NULL);
	uint64_t wrong[2] = {wva + 1, rva}, callee[2] = {wva, rva};
	const char *why[2] = {"no call to it at the recorded call site",
			      "its error sites are not SSL_write's"};
	uint8_t b[2];
	int fd = open(FX("fake_bssl-nopie.stripped"), O_RDONLY | O_CLOEXEC);

	/* the premise: the first instruction is push r13 */
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, 2, (off_t)(wva - 0x400000)), 2);
	close(fd);
	assert_int_equal(b[0], 0x41);
	assert_int_equal(b[1], 0x55);
	locate(FX("fake_bssl-nopie.stripped"), NULL, &probe);
	for (int k = 0; k < 2; k++) {
		const struct sl_tls_reject *x;

		make_entry(&e, &probe, FX("fake_bssl-nopie.stripped"), wrong[k], rva, callee[k],
			   rva);
		locate(FX("fake_bssl-nopie.stripped"), &only, &r);
		assert_null(func(&r, SL_TLS_ABI_SSL_WRITE));
		assert_non_null(func(&r, SL_TLS_ABI_SSL_READ)); /* the right one stays */
		x = reject_at(&r, wrong[k]);
		assert_non_null(x);
		assert_int_equal(x->how, SL_TLS_HOW_TABLE);
		assert_int_equal(x->abi, SL_TLS_ABI_SSL_WRITE);
		assert_non_null(strstr(x->why, "table: "));
		assert_non_null(strstr(x->why, why[k]));

		locate(FX("fake_bssl-nopie.stripped"), &both, &r);
		assert_non_null(func(&r, SL_TLS_ABI_SSL_WRITE));
		assert_int_equal(func(&r, SL_TLS_ABI_SSL_WRITE)->vaddr, wva);
		assert_int_equal(func(&r, SL_TLS_ABI_SSL_WRITE)->how, SL_TLS_HOW_SEARCH);
		assert_non_null(reject_at(&r, wrong[k]));
		free((char *)e.build_id);
	}
}

/* the recorded first bytes differ: rejected before any decoding */
static void test_table_head_mismatch_rejected(void **state)
{
	struct sl_tls_located probe, r;
	struct sl_tls_table_entry e;
	struct sl_tls_locate_opts o = {
	    .flags = SL_TLS_LOCATE_NO_SEARCH, .table = &e, .table_len = 1};
	uint64_t wva = sym(FX("fake_bssl-nopie"), "SSL_write", NULL);
	uint64_t rva = sym(FX("fake_bssl-nopie"), "SSL_read", NULL);

	locate(FX("fake_bssl-nopie.stripped"), NULL, &probe);
	make_entry(&e, &probe, FX("fake_bssl-nopie.stripped"), wva, rva, wva, rva);
	e.funcs[0].head[3] ^= 0xff;
	e.funcs[1].vaddr = 0x10; /* not in an executable segment */
	locate(FX("fake_bssl-nopie.stripped"), &o, &r);
	assert_int_equal(r.nfuncs, 0);
	assert_int_equal(r.nrejects, 2);
	assert_non_null(strstr(reject_at(&r, wva)->why, "first 16 bytes differ"));
	assert_non_null(strstr(reject_at(&r, 0x10)->why, "not in an executable segment"));
	free((char *)e.build_id);
}

static void test_rustls_identified(void **state)
{
	struct sl_tls_located r;

	locate(FX("fake_rustls.stripped"), NULL, &r);
	assert_int_equal(r.impl, SL_TLS_IMPL_RUSTLS);
	assert_string_equal(r.impl_detail, "rustls 0.23.46 (also embeds OpenSSL 3.6.4)");
	assert_int_equal(r.nfuncs, 0);
	assert_non_null(strstr(r.reason, "rustls"));
}

/* rustls on aws-lc (Codex): aws-lc's two seals, by their aead.c error sites */
static void check_awslc(const char *stripped, const char *unstripped, size_t nrejects)
{
	struct sl_tls_located r;
	const struct sl_tls_func *s, *sc;
	uint64_t soff = 0, scoff = 0;
	uint64_t sva = sym(unstripped, "EVP_AEAD_CTX_seal", &soff);
	uint64_t scva = sym(unstripped, "EVP_AEAD_CTX_seal_scatter", &scoff);

	locate(stripped, NULL, &r);
	assert_int_equal(r.impl, SL_TLS_IMPL_RUSTLS);
	assert_string_equal(r.impl_detail,
			    "rustls 0.23.46 on aws-lc-rs 1.18.1 (also embeds OpenSSL 3.6.4)");
	s = func(&r, SL_TLS_ABI_AEAD_SEAL);
	sc = func(&r, SL_TLS_ABI_AEAD_SEAL_SCATTER);
	assert_non_null(s);
	assert_non_null(sc);
	assert_int_equal(s->vaddr, sva);
	assert_int_equal(s->offset, soff);
	assert_int_equal(s->how, SL_TLS_HOW_SEARCH);
	assert_non_null(strstr(s->evidence, "aead.c reasons {103,115,117}"));
	assert_int_equal(sc->vaddr, scva);
	assert_int_equal(sc->offset, scoff);
	assert_non_null(strstr(sc->evidence, "aead.c reasons {112,115}"));
	/* the reads too */
	assert_non_null(func(&r, SL_TLS_ABI_AEAD_OPEN));
	assert_int_equal(func(&r, SL_TLS_ABI_AEAD_OPEN)->vaddr,
			 sym(unstripped, "EVP_AEAD_CTX_open", NULL));
	assert_true(func(&r, SL_TLS_ABI_AEAD_OPEN)->retprobe_ok);
	assert_int_equal(r.nfuncs, 3);
	assert_int_equal(r.nrejects, nrejects);
	assert_string_equal(r.reason, "");
}

static void test_awslc_located(void **state)
{
	check_awslc(FX("fake_awslc-pie.stripped"), FX("fake_awslc-pie"), 0);
}

/* the error sites of EVP_AEAD_CTX_seal without its indirect call: rejected,
 * named, and the true one still found */
static void test_awslc_decoy_rejected(void **state)
{
	struct sl_tls_located r;
	uint64_t decoy = sym(FX("fake_awslc-decoy"), "decoy_seal", NULL);

	check_awslc(FX("fake_awslc-decoy.stripped"), FX("fake_awslc-decoy"), 1);
	locate(FX("fake_awslc-decoy.stripped"), NULL, &r);
	assert_int_equal(r.rejects[0].vaddr, decoy);
	assert_int_equal(r.rejects[0].abi, SL_TLS_ABI_AEAD_SEAL);
	assert_non_null(strstr(r.rejects[0].why, "indirect calls"));
}

/* rustls on ring: its seals from ring's algorithm statics (a PIE: the
 * pointers are relocations' addends) */
static void test_ring_located(void **state)
{
	struct sl_tls_located r;
	const struct sl_tls_func *a, *cc;
	uint64_t aoff = 0, ccoff = 0;
	uint64_t ava = sym(FX("fake_ring-pie"), "aes_gcm_seal", &aoff);
	uint64_t ccva = sym(FX("fake_ring-pie"), "cc_seal", &ccoff);

	locate(FX("fake_ring-pie.stripped"), NULL, &r);
	assert_int_equal(r.impl, SL_TLS_IMPL_RUSTLS);
	assert_string_equal(r.impl_detail, "rustls 0.23.46 on ring 0.17.14");
	a = func(&r, SL_TLS_ABI_RING_SEAL_AES_GCM);
	cc = func(&r, SL_TLS_ABI_RING_SEAL_CHACHA);
	assert_non_null(a);
	assert_non_null(cc);
	assert_int_equal(a->vaddr, ava);
	assert_int_equal(a->offset, aoff);
	assert_int_equal(cc->vaddr, ccva);
	assert_int_equal(cc->offset, ccoff);
	assert_non_null(strstr(a->evidence, "algorithm static"));
	assert_int_equal(r.nfuncs, 2);
	assert_int_equal(r.nrejects, 0);
}

static void test_no_tls_and_not_elf(void **state)
{
	struct sl_tls_located r;
	char path[] = "/tmp/sl-tls-locate-XXXXXX";
	int fd;

	locate(FX("plain.stripped"), NULL, &r);
	assert_int_equal(r.impl, SL_TLS_IMPL_NONE);
	assert_int_equal(r.nfuncs, 0);
	assert_string_equal(r.reason, "no TLS implementation found");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\necho BoringSSL\n", 25), 25);
	assert_int_equal(sl_tls_locate(fd, path, NULL, &r), 0);
	assert_int_equal(r.impl, SL_TLS_IMPL_NONE);
	assert_string_equal(r.reason, "not an ELF file");
	close(fd);
	unlink(path);
}

/* a read error is an error, not a result: the output is left untouched */
static void test_read_error(void **state)
{
	struct sl_tls_located r = {.impl = SL_TLS_IMPL_GO};

	assert_int_equal(sl_tls_locate(-1, "none", NULL, &r), -EBADF);
	assert_int_equal(r.impl, SL_TLS_IMPL_GO);
}

/* ---- OpenSSL 3's internal write, on the system's libssl (Debian 12: 3.0) ---- */

#define LIBSSL "/usr/lib/x86_64-linux-gnu/libssl.so.3"

/* st_value and st_size of an exported function */
static uint64_t dsym(const char *path, const char *name, uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf_Scn *scn = NULL;
	uint64_t va = 0;
	Elf *elf;

	assert_true(fd >= 0);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	while ((scn = elf_nextscn(elf, scn)) && !va) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;

			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
				continue;
			n = elf_strptr(elf, sh.sh_link, s.st_name);
			if (n && !strcmp(n, name)) {
				va = s.st_value;
				*size = s.st_size;
			}
		}
	}
	elf_end(elf);
	close(fd);
	assert_true(va != 0);
	return va;
}

static void test_openssl_inner_located(void **state)
{
	struct sl_tls_openssl_writes w = {0};
	struct sl_tls_inner in = {0};
	char why[160];
	uint8_t call[5];
	int32_t rel;
	int fd;

	(void)state;
	if (access(LIBSSL, R_OK))
		skip();
	w.write_va = dsym(LIBSSL, "SSL_write", &w.write_size);
	w.write_ex_va = dsym(LIBSSL, "SSL_write_ex", &w.write_ex_size);
	fd = open(LIBSSL, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(sl_tls_locate_openssl_inner(fd, &w, &in, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_true(in.vaddr && in.vaddr != w.write_va && in.vaddr != w.write_ex_va);
	/* the return addresses lie inside the two exported functions */
	assert_true(in.ret_write > w.write_va && in.ret_write <= w.write_va + w.write_size);
	assert_true(in.ret_write_ex > w.write_ex_va &&
		    in.ret_write_ex <= w.write_ex_va + w.write_ex_size);
	/* independently: the 5 bytes before each is a call rel32 to the function
	 * (libssl's text is mapped at its file offset) */
	assert_int_equal(pread(fd, call, 5, (off_t)(in.ret_write - 5)), 5);
	assert_int_equal(call[0], 0xe8);
	memcpy(&rel, call + 1, 4);
	assert_int_equal(in.ret_write + (int64_t)rel, in.vaddr);
	assert_int_equal(pread(fd, call, 5, (off_t)(in.ret_write_ex - 5)), 5);
	assert_int_equal(call[0], 0xe8);
	memcpy(&rel, call + 1, 4);
	assert_int_equal(in.ret_write_ex + (int64_t)rel, in.vaddr);
	assert_int_equal(in.offset, in.vaddr);
	close(fd);
}

/* a wrong pair (SSL_read with SSL_write) shares only PLT stubs: refused */
static void test_openssl_inner_wrong_pair_refused(void **state)
{
	struct sl_tls_openssl_writes w = {0};
	struct sl_tls_inner in = {0};
	char why[160];
	int fd;

	(void)state;
	if (access(LIBSSL, R_OK))
		skip();
	w.write_va = dsym(LIBSSL, "SSL_read", &w.write_size);
	w.write_ex_va = dsym(LIBSSL, "SSL_write", &w.write_ex_size);
	fd = open(LIBSSL, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(sl_tls_locate_openssl_inner(fd, &w, &in, why, sizeof(why)), 0);
	assert_true(why[0] != '\0');
	assert_int_equal(in.vaddr, 0);
	/* no sizes: refused, not guessed */
	w.write_va = dsym(LIBSSL, "SSL_write", &w.write_size);
	w.write_ex_va = dsym(LIBSSL, "SSL_write_ex", &w.write_ex_size);
	w.write_size = 0;
	assert_int_equal(sl_tls_locate_openssl_inner(fd, &w, &in, why, sizeof(why)), 0);
	assert_true(why[0] != '\0');
	assert_int_equal(in.vaddr, 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_search_nopie),
	    cmocka_unit_test(test_search_pie),
	    cmocka_unit_test(test_changed_signature_refused),
	    cmocka_unit_test(test_ambiguous_refused),
	    cmocka_unit_test(test_table_entry_used),
	    cmocka_unit_test(test_table_wrong_offset_rejected),
	    cmocka_unit_test(test_table_head_mismatch_rejected),
	    cmocka_unit_test(test_rustls_identified),
	    cmocka_unit_test(test_awslc_located),
	    cmocka_unit_test(test_awslc_decoy_rejected),
	    cmocka_unit_test(test_ring_located),
	    cmocka_unit_test(test_no_tls_and_not_elf),
	    cmocka_unit_test(test_read_error),
	    cmocka_unit_test(test_openssl_inner_located),
	    cmocka_unit_test(test_openssl_inner_wrong_pair_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
