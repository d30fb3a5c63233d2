// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * TLS entry points of executables without symbols (tls_locate.h): the ELF
 * view, the identification of the TLS library by its strings, the offset
 * table and the order table -> search. The BoringSSL analysis is in
 * tls_locate_x86.c, Go's function table in tls_locate_go.c.
 *
 * The file is read with pread only (a session can truncate a file it owns
 * while the daemon reads it: a mapping would fault), in bounded chunks.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tls_locate_priv.h"
#include "util.h"

#define TL_CHUNK (4u << 20)
#define TL_OVERLAP 256

const char *sl_tls_impl_name(enum sl_tls_impl impl)
{
	switch (impl) {
	case SL_TLS_IMPL_NONE:
		return "none";
	case SL_TLS_IMPL_BORINGSSL:
		return "boringssl";
	case SL_TLS_IMPL_OPENSSL:
		return "openssl";
	case SL_TLS_IMPL_RUSTLS:
		return "rustls";
	case SL_TLS_IMPL_GO:
		return "go";
	case SL_TLS_IMPL_OTHER:
		return "other";
	}
	return "?";
}

const char *sl_tls_abi_name(enum sl_tls_abi abi)
{
	switch (abi) {
	case SL_TLS_ABI_SSL_WRITE:
		return "SSL_write";
	case SL_TLS_ABI_SSL_READ:
		return "SSL_read";
	case SL_TLS_ABI_SSL_WRITE_EX:
		return "SSL_write_ex";
	case SL_TLS_ABI_GO_CONN_WRITE:
		return "crypto/tls.(*Conn).Write";
	case SL_TLS_ABI_GO_CONN_READ:
		return "crypto/tls.(*Conn).Read";
	case SL_TLS_ABI_GO_CONN_HANDSHAKE:
		return "crypto/tls.(*Conn).handshakeContext";
	case SL_TLS_ABI_AEAD_SEAL:
		return "EVP_AEAD_CTX_seal";
	case SL_TLS_ABI_AEAD_SEAL_SCATTER:
		return "EVP_AEAD_CTX_seal_scatter";
	case SL_TLS_ABI_RING_SEAL_AES_GCM:
		return "ring aes_gcm_seal";
	case SL_TLS_ABI_RING_SEAL_CHACHA:
		return "ring chacha20_poly1305_seal";
	case SL_TLS_ABI_AEAD_OPEN:
		return "EVP_AEAD_CTX_open";
	}
	return "?";
}

const char *sl_tls_how_name(enum sl_tls_how how)
{
	switch (how) {
	case SL_TLS_HOW_TABLE:
		return "table";
	case SL_TLS_HOW_SEARCH:
		return "search";
	case SL_TLS_HOW_GOPCLNTAB:
		return "gopclntab";
	}
	return "?";
}

int tl_read(const struct tl_ctx *c, uint64_t off, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(c->fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* truncated meanwhile */
		got += (size_t)n;
	}
	return 0;
}

#define TL_RELA_CHUNK 4096 /* relocations read at a time */
#define TL_R_X86_64_RELATIVE 8

int tl_read_relocated(const struct tl_ctx *c, uint64_t va, uint64_t off, uint8_t *buf, size_t len)
{
	Elf64_Rela *r;
	int err = tl_read(c, off, buf, len);

	if (err || !c->rela_size)
		return err;
	r = malloc(TL_RELA_CHUNK * sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (uint64_t pos = 0; pos + sizeof(*r) <= c->rela_size && !err;) {
		size_t n = (size_t)((c->rela_size - pos) / sizeof(*r));

		n = n < TL_RELA_CHUNK ? n : TL_RELA_CHUNK;
		err = tl_read(c, c->rela_off + pos, r, n * sizeof(*r));
		for (size_t i = 0; i < n && !err; i++) {
			uint64_t at = r[i].r_offset;

			if (ELF64_R_TYPE(r[i].r_info) == TL_R_X86_64_RELATIVE && at >= va &&
			    at - va + 8 <= len)
				memcpy(buf + (at - va), &r[i].r_addend, 8);
		}
		pos += n * sizeof(*r);
	}
	free(r);
	return err;
}

int tl_va2off(const struct tl_ctx *c, uint64_t va, bool exec, uint64_t *off, uint64_t *avail)
{
	for (size_t i = 0; i < c->nsegs; i++) {
		const struct tl_seg *s = &c->segs[i];

		if (exec && !(s->flags & PF_X))
			continue;
		if (va < s->vaddr || va - s->vaddr >= s->filesz)
			continue;
		*off = s->off + (va - s->vaddr);
		if (avail)
			*avail = s->filesz - (va - s->vaddr);
		return 0;
	}
	return -ENOENT;
}

bool tl_is_call_target(const struct tl_ctx *c, uint64_t va)
{
	uint64_t i;

	if (!c->callbm || va < c->bm_base || va - c->bm_base >= c->bm_len || (va & 15))
		return false;
	i = (va - c->bm_base) / 16;
	return c->callbm[i / 64] & (1ULL << (i % 64));
}

void tl_reject(struct tl_ctx *c, enum sl_tls_abi abi, enum sl_tls_how how, uint64_t va,
	       const char *fmt, ...)
{
	struct sl_tls_reject *r;
	va_list ap;

	if (c->out->nrejects >= SL_TLS_LOCATE_MAX_REJECTS)
		return;
	r = &c->out->rejects[c->out->nrejects++];
	r->abi = abi;
	r->how = how;
	r->vaddr = va;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

void tl_add(struct tl_ctx *c, enum sl_tls_abi abi, enum sl_tls_how how, uint64_t va, uint64_t off,
	    bool retprobe_ok, const char *evidence)
{
	struct sl_tls_func *f;

	if (c->out->nfuncs >= SL_TLS_LOCATE_MAX_FUNCS)
		return;
	f = &c->out->funcs[c->out->nfuncs++];
	f->abi = abi;
	f->how = how;
	f->vaddr = va;
	f->offset = off;
	f->retprobe_ok = retprobe_ok;
	snprintf(f->evidence, sizeof(f->evidence), "%s", evidence);
}

static bool have_func(const struct sl_tls_located *o, enum sl_tls_abi abi)
{
	for (size_t i = 0; i < o->nfuncs; i++)
		if (o->funcs[i].abi == abi)
			return true;
	return false;
}

/* ------------------------------------------------------------ ELF view */

static void hex(const unsigned char *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 3 <= cap; i++, o += 2)
		snprintf(out + o, cap - o, "%02x", p[i]);
	out[o < cap ? o : cap - 1] = '\0';
}

/* the GNU build id out of one block of notes */
static void note_build_id(Elf_Data *d, char *out, size_t cap)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp((char *)d->d_buf + name_off, "GNU", 4) && nh.n_descsz <= 64) {
			hex((unsigned char *)d->d_buf + desc_off, nh.n_descsz, out, cap);
			return;
		}
	}
}

static bool is_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/*
 * Segments, the sections that matter and the build id. Not an x86-64 ELF:
 * *ok false with out->reason set.
 */
static int elf_view(struct tl_ctx *c, bool *ok)
{
	size_t phnum = 0, shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	Elf *elf;

	*ok = false;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	elf = elf_begin(c->fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		snprintf(c->out->reason, sizeof(c->out->reason), "not an ELF file");
		goto out;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		snprintf(c->out->reason, sizeof(c->out->reason),
			 "not an x86-64 ELF (machine %u): only x86-64 is analysed", eh.e_machine);
		goto out;
	}
	c->pie = eh.e_type == ET_DYN;
	if (elf_getphdrnum(elf, &phnum))
		phnum = 0;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_LOAD && ph.p_filesz && c->nsegs < TL_MAX_SEGS &&
		    ph.p_offset + ph.p_filesz <= c->size) {
			c->segs[c->nsegs++] = (struct tl_seg){.vaddr = ph.p_vaddr,
							      .filesz = ph.p_filesz,
							      .off = ph.p_offset,
							      .flags = ph.p_flags};
		} else if (ph.p_type == PT_NOTE && !c->out->build_id[0]) {
			Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
							   ELF_T_NHDR);

			note_build_id(d, c->out->build_id, sizeof(c->out->build_id));
		}
	}
	if (!elf_getshdrstrndx(elf, &shstrndx)) {
		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			const char *name;

			if (!gelf_getshdr(scn, &sh))
				continue;
			name = elf_strptr(elf, shstrndx, sh.sh_name);
			if (!name)
				continue;
			/* ".data.rel.ro.gopclntab" in a PIE */
			if (is_suffix(name, ".gopclntab") && sh.sh_type != SHT_NOBITS &&
			    sh.sh_offset + sh.sh_size <= c->size) {
				c->gopclntab_off = sh.sh_offset;
				c->gopclntab_size = sh.sh_size;
			}
			if (!strcmp(name, ".text"))
				c->text_vaddr = sh.sh_addr;
			if (!strcmp(name, ".got") && sh.sh_type == SHT_PROGBITS &&
			    sh.sh_offset + sh.sh_size <= c->size) {
				c->got_vaddr = sh.sh_addr;
				c->got_off = sh.sh_offset;
				c->got_size = sh.sh_size;
			}
			if (!strcmp(name, ".rela.dyn") && sh.sh_type == SHT_RELA &&
			    sh.sh_offset + sh.sh_size <= c->size) {
				c->rela_off = sh.sh_offset;
				c->rela_size = sh.sh_size;
			}
			if (!strcmp(name, ".data.rel.ro") && sh.sh_type == SHT_PROGBITS &&
			    sh.sh_offset + sh.sh_size <= c->size) {
				c->relro_vaddr = sh.sh_addr;
				c->relro_off = sh.sh_offset;
				c->relro_size = sh.sh_size;
			}
			if (is_suffix(name, ".gopclntab") || !strcmp(name, ".go.buildinfo") ||
			    !strcmp(name, ".note.go.buildid"))
				c->go_sections = true;
		}
	}
	*ok = true;
out:
	if (elf)
		elf_end(elf);
	return 0;
}

/* ----------------------------------------------------- identification */

enum mk {
	MK_BSSL,
	MK_BSSL_PATH,
	MK_OPENSSL,
	MK_OPENSSL_CIPHERS,
	MK_RUSTLS_PATH,
	MK_RUSTLS,
	MK_GO,
	MK_BUN,
	MK_SSL_LIB,
	MK_AEAD_C,
	MK_AWSLC_RS,
	MK_RING,
	MK_MBEDTLS,
	MK_MBEDTLS2,
	MK_WOLFSSL,
	MK_LIBRESSL,
};

static const char *const mk_str[] = {
    [MK_BSSL] = "BoringSSL",
    [MK_BSSL_PATH] = "boringssl/ssl/",
    [MK_OPENSSL] = "OpenSSL ",
    /* libssl's default TLS 1.3 ciphersuites: there even without the version text */
    [MK_OPENSSL_CIPHERS] = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
    [MK_RUSTLS_PATH] = "/rustls-0.",
    [MK_RUSTLS] = "rustls::",
    [MK_GO] = "crypto/tls.",
    [MK_BUN] = "Bun v1.",
    [MK_SSL_LIB] = "ssl/ssl_lib.cc",
    /* aws-lc's (and BoringSSL's C) AEAD interface: its __FILE__ */
    [MK_AEAD_C] = "crypto/fipsmodule/cipher/aead.c",
    /* aws-lc-rs, the crypto provider of rustls it says it is built with */
    [MK_AWSLC_RS] = "/aws-lc-rs-1.",
    /* ring 0.17, the other crypto provider of rustls */
    [MK_RING] = "/ring-0.17.",
    [MK_MBEDTLS] = "mbed TLS",
    [MK_MBEDTLS2] = "mbedtls",
    [MK_WOLFSSL] = "wolfSSL",
    [MK_LIBRESSL] = "LibreSSL",
};

/* copy a version-ish run ([0-9.]) after p into out */
static void take_version(const char *p, const char *end, const char *prefix, char *out, size_t cap)
{
	size_t n = 0;

	while (p + n < end && n < 16 && ((p[n] >= '0' && p[n] <= '9') || p[n] == '.'))
		n++;
	while (n && p[n - 1] == '.')
		n--;
	if (n)
		snprintf(out, cap, "%s%.*s", prefix, (int)n, p);
}

/*
 * A __FILE__ that ends at p + n: the whole string, NUL-terminated (a path
 * of any prefix), kept by the address of its first byte in addrs.
 */
static void file_string(uint64_t *addrs, size_t *naddrs, const char *buf, const char *end,
			const char *p, size_t n, uint64_t va)
{
	const char *s = p + n;

	if (s >= end || *s != '\0')
		return;
	s = p;
	while (s > buf && s[-1] != '\0' && p - s < 200)
		s--;
	if (s == buf || s[-1] != '\0')
		return; /* start not seen: the chunk overlap covers it next time */
	va -= (uint64_t)(p - s);
	for (size_t i = 0; i < *naddrs; i++)
		if (addrs[i] == va)
			return;
	if (*naddrs < TL_MAX_TARGETS)
		addrs[(*naddrs)++] = va;
}

/* one occurrence of marker k at p (in buf [0, len)), at address va */
static void mark_one(struct tl_marks *m, int k, const char *buf, size_t len, const char *p,
		     uint64_t va)
{
	const char *end = buf + len;
	const char *s;

	switch (k) {
	case MK_BSSL:
	case MK_BSSL_PATH:
		m->boringssl = true;
		break;
	case MK_OPENSSL:
		/* "OpenSSL 1.1.1w  11 Sep 2023", "OpenSSL 3.0.17 ..." */
		s = p + strlen(mk_str[MK_OPENSSL]);
		if (s + 2 < end && (s[0] == '1' || s[0] == '3') && s[1] == '.') {
			m->openssl = true;
			if (!m->openssl_ver[0])
				take_version(s, end, "OpenSSL ", m->openssl_ver,
					     sizeof(m->openssl_ver));
		}
		break;
	case MK_OPENSSL_CIPHERS:
		m->openssl = true;
		break;
	case MK_RUSTLS_PATH:
		m->rustls = true;
		if (!m->rustls_ver[0])
			take_version(p + strlen("/rustls-"), end, "rustls ", m->rustls_ver,
				     sizeof(m->rustls_ver));
		break;
	case MK_RUSTLS:
		m->rustls = true;
		break;
	case MK_GO:
		m->go_tls = true;
		break;
	case MK_BUN:
		if (!m->bun[0])
			take_version(p + strlen("Bun v"), end, "Bun v", m->bun, sizeof(m->bun));
		break;
	case MK_SSL_LIB:
		file_string(m->ssl_lib, &m->nssl_lib, buf, end, p, strlen(mk_str[k]), va);
		break;
	case MK_AEAD_C:
		file_string(m->aead_c, &m->naead_c, buf, end, p, strlen(mk_str[k]), va);
		break;
	case MK_AWSLC_RS:
		if (!m->awslc_rs_ver[0])
			take_version(p + strlen("/aws-lc-rs-"), end, "aws-lc-rs ", m->awslc_rs_ver,
				     sizeof(m->awslc_rs_ver));
		break;
	case MK_RING:
		if (!m->ring_ver[0])
			take_version(p + strlen("/ring-"), end, "ring ", m->ring_ver,
				     sizeof(m->ring_ver));
		break;
	case MK_MBEDTLS:
	case MK_MBEDTLS2:
		m->other = m->other ? m->other : "mbed TLS";
		break;
	case MK_WOLFSSL:
		m->other = m->other ? m->other : "wolfSSL";
		break;
	case MK_LIBRESSL:
		m->other = "LibreSSL";
		break;
	}
}

/*
 * Search the read-only data (PT_LOAD without PF_X and PF_W; all non-writable
 * segments if there is no such segment) for the markers. Only the read-only
 * data: Bun keeps its JavaScript bundle in a writable segment, whose text
 * may name any library.
 */
static int scan_marks(struct tl_ctx *c)
{
	bool have_ro = false;
	char *buf;
	int err = 0;

	for (size_t i = 0; i < c->nsegs; i++)
		if (!(c->segs[i].flags & (PF_X | PF_W)))
			have_ro = true;
	buf = malloc(TL_CHUNK + TL_OVERLAP);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < c->nsegs && !err; i++) {
		const struct tl_seg *s = &c->segs[i];
		uint64_t pos = 0;
		size_t keep = 0;

		if ((s->flags & PF_W) || (have_ro && (s->flags & PF_X)))
			continue;
		while (pos < s->filesz) {
			size_t want =
			    s->filesz - pos < TL_CHUNK ? (size_t)(s->filesz - pos) : TL_CHUNK;
			size_t len = keep + want;
			uint64_t base_va = s->vaddr + pos - keep;

			err = tl_read(c, s->off + pos, buf + keep, want);
			if (err)
				break;
			for (size_t k = 0; k < SL_ARRAY_SIZE(mk_str); k++) {
				size_t ml = strlen(mk_str[k]);
				const char *p = buf;

				while ((p = memmem(p, len - (size_t)(p - buf), mk_str[k], ml))) {
					/* matches wholly inside the overlap were seen already */
					if ((size_t)(p - buf) + ml > keep)
						mark_one(&c->marks, (int)k, buf, len, p,
							 base_va + (uint64_t)(p - buf));
					p++;
					if (k != MK_SSL_LIB && k != MK_AEAD_C && k != MK_OPENSSL &&
					    k != MK_RUSTLS_PATH)
						break; /* one is enough */
				}
			}
			pos += want;
			keep = len < TL_OVERLAP ? len : TL_OVERLAP;
			memmove(buf, buf + len - keep, keep);
		}
	}
	free(buf);
	return err;
}

/* the implementation, from what was found (Go > BoringSSL > rustls > OpenSSL) */
static void identify(struct tl_ctx *c)
{
	struct sl_tls_located *o = c->out;
	const struct tl_marks *m = &c->marks;
	char also[64] = "";

	if (m->openssl)
		snprintf(also, sizeof(also), " (also embeds %s)",
			 m->openssl_ver[0] ? m->openssl_ver : "OpenSSL");
	if (m->go_tls && c->go_sections) {
		o->impl = SL_TLS_IMPL_GO;
		snprintf(o->impl_detail, sizeof(o->impl_detail), "Go crypto/tls");
	} else if (m->boringssl) {
		o->impl = SL_TLS_IMPL_BORINGSSL;
		snprintf(o->impl_detail, sizeof(o->impl_detail), "BoringSSL%s%s%s",
			 m->bun[0] ? " (" : "", m->bun, m->bun[0] ? ")" : "");
	} else if (m->rustls) {
		o->impl = SL_TLS_IMPL_RUSTLS;
		snprintf(o->impl_detail, sizeof(o->impl_detail), "%s%s%s%s",
			 m->rustls_ver[0] ? m->rustls_ver : "rustls",
			 m->awslc_rs_ver[0] || m->ring_ver[0] ? " on " : "",
			 m->awslc_rs_ver[0] ? m->awslc_rs_ver : m->ring_ver, also);
	} else if (m->openssl) {
		o->impl = SL_TLS_IMPL_OPENSSL;
		snprintf(o->impl_detail, sizeof(o->impl_detail), "%s",
			 m->openssl_ver[0] ? m->openssl_ver : "OpenSSL");
	} else if (m->other) {
		o->impl = SL_TLS_IMPL_OTHER;
		snprintf(o->impl_detail, sizeof(o->impl_detail), "%s", m->other);
	} else {
		o->impl = SL_TLS_IMPL_NONE;
	}
}

/* ---------------------------------------------------------------- table */

static const struct sl_tls_table_entry *table_find(const struct tl_ctx *c,
						   const struct sl_tls_locate_opts *opts)
{
	const struct sl_tls_table_entry *t = opts && opts->table ? opts->table : sl_tls_table;
	size_t n = opts && opts->table ? opts->table_len : sl_tls_table_len;

	if (!c->out->build_id[0])
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].build_id, c->out->build_id) && t[i].file_size == c->size)
			return &t[i];
	return NULL;
}

/* 1 if caller is a call rel32 to va (in an executable segment), 0 if not, -errno */
static int check_caller(const struct tl_ctx *c, uint64_t caller, uint64_t va)
{
	uint64_t off, avail;
	uint8_t b[5];
	int32_t rel;
	int err;

	if (tl_va2off(c, caller, true, &off, &avail) || avail < sizeof(b))
		return 0;
	err = tl_read(c, off, b, sizeof(b));
	if (err)
		return err;
	memcpy(&rel, b + 1, sizeof(rel));
	return b[0] == 0xe8 && caller + 5 + (uint64_t)(int64_t)rel == va;
}

/* validate and take the functions of a table entry; rejected ones are reported */
static int table_apply(struct tl_ctx *c, const struct sl_tls_table_entry *e)
{
	for (size_t i = 0; i < e->nfuncs && i < SL_TLS_LOCATE_MAX_FUNCS; i++) {
		const struct sl_tls_table_func *f = &e->funcs[i];
		char ev[sizeof(c->out->funcs[0].evidence)], why[160], full[400];
		uint8_t head[16];
		uint64_t off, avail;
		int ret;

		if (tl_va2off(c, f->vaddr, true, &off, &avail)) {
			tl_reject(c, f->abi, SL_TLS_HOW_TABLE, f->vaddr,
				  "table: address not in an executable segment of the file");
			continue;
		}
		if (f->head_len > sizeof(head) || avail < f->head_len) {
			tl_reject(c, f->abi, SL_TLS_HOW_TABLE, f->vaddr,
				  "table: head length %u out of range", f->head_len);
			continue;
		}
		ret = tl_read(c, off, head, f->head_len);
		if (ret)
			return ret;
		if (memcmp(head, f->head, f->head_len)) {
			tl_reject(c, f->abi, SL_TLS_HOW_TABLE, f->vaddr,
				  "table: the first %u bytes differ from the recorded ones",
				  f->head_len);
			continue;
		}
		ret = check_caller(c, f->caller, f->vaddr);
		if (ret < 0)
			return ret;
		if (!ret) {
			tl_reject(c, f->abi, SL_TLS_HOW_TABLE, f->vaddr,
				  "table: no call to it at the recorded call site 0x%llx: not an "
				  "entry the program uses",
				  (unsigned long long)f->caller);
			continue;
		}
		ret = tl_bssl_validate(c, f->abi, f->vaddr, ev, sizeof(ev), why, sizeof(why));
		if (ret < 0)
			return ret;
		if (!ret) {
			tl_reject(c, f->abi, SL_TLS_HOW_TABLE, f->vaddr, "table: %s", why);
			continue;
		}
		snprintf(full, sizeof(full), "table entry '%s'; %s", e->what, ev);
		tl_add(c, f->abi, SL_TLS_HOW_TABLE, f->vaddr, off, true, full);
	}
	return 0;
}

/* ------------------------------------------------------------------ API */

int sl_tls_find_caller(int fd, uint64_t vaddr, uint64_t *caller)
{
	struct sl_tls_located o = {0};
	struct tl_ctx c = {.fd = fd, .out = &o};
	struct stat st;
	bool ok;
	int err;

	if (fstat(fd, &st))
		return -errno;
	c.size = (uint64_t)st.st_size;
	err = elf_view(&c, &ok);
	if (err)
		return err;
	if (!ok)
		return -ENOEXEC;
	return tl_x86_find_caller(&c, vaddr, caller);
}

int sl_tls_locate_openssl_inner(int fd, const struct sl_tls_openssl_writes *w,
				struct sl_tls_inner *out, char *why, size_t whylen)
{
	struct sl_tls_located o = {0};
	struct tl_ctx c = {.fd = fd, .out = &o};
	struct sl_tls_inner r = {0};
	struct stat st;
	bool ok;
	int err;

	why[0] = '\0';
	if (fstat(fd, &st))
		return -errno;
	c.size = (uint64_t)st.st_size;
	err = elf_view(&c, &ok);
	if (err)
		return err;
	if (!ok) {
		snprintf(why, whylen, "not an ELF file this locator reads");
		return 0;
	}
	if (!w->write_va || !w->write_size || !w->write_ex_va || !w->write_ex_size) {
		snprintf(why, whylen, "SSL_write and SSL_write_ex with their sizes are needed");
		return 0;
	}
	err = tl_x86_common_callee(&c, w->write_va, w->write_size, w->write_ex_va, w->write_ex_size,
				   &r.vaddr, &r.ret_write, &r.ret_write_ex, r.evidence,
				   sizeof(r.evidence), why, whylen);
	if (err || why[0])
		return err;
	if (tl_va2off(&c, r.vaddr, true, &r.offset, NULL)) {
		snprintf(why, whylen, "0x%llx is not in an executable segment",
			 (unsigned long long)r.vaddr);
		return 0;
	}
	/* the probe tells the callers apart by these, as 32-bit offsets */
	if ((int64_t)(r.ret_write - r.vaddr) != (int32_t)(r.ret_write - r.vaddr) ||
	    (int64_t)(r.ret_write_ex - r.vaddr) != (int32_t)(r.ret_write_ex - r.vaddr)) {
		snprintf(why, whylen, "the callers are more than 2 GiB away from 0x%llx",
			 (unsigned long long)r.vaddr);
		return 0;
	}
	*out = r;
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int sl_tls_locate(int fd, const char *path, const struct sl_tls_locate_opts *opts,
		  struct sl_tls_located *out)
{
	struct sl_tls_located *o = calloc(1, sizeof(*o));
	struct tl_ctx c = {.fd = fd, .path = path, .out = o};
	unsigned int flags = opts ? opts->flags : 0;
	const struct sl_tls_table_entry *e;
	uint64_t t0 = now_us();
	struct stat st;
	bool ok;
	int err;

	if (!o)
		return -ENOMEM;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	c.size = o->file_size = (uint64_t)st.st_size;
	err = elf_view(&c, &ok);
	if (err)
		goto out;
	if (!ok)
		goto done;
	err = scan_marks(&c);
	if (err)
		goto out;
	identify(&c);

	/* Go: its function table names crypto/tls even where no string does */
	if (c.go_sections) {
		err = tl_go_locate(&c);
		if (err)
			goto out;
		if (c.go_tls_funcs) {
			o->impl = SL_TLS_IMPL_GO;
			snprintf(o->impl_detail, sizeof(o->impl_detail), "Go crypto/tls");
		}
	}
	switch (o->impl) {
	case SL_TLS_IMPL_GO:
		if (!c.go_sections)
			snprintf(o->reason, sizeof(o->reason),
				 "Go crypto/tls strings without Go's sections: not located");
		break;
	case SL_TLS_IMPL_BORINGSSL:
		e = flags & SL_TLS_LOCATE_NO_TABLE ? NULL : table_find(&c, opts);
		if (e) {
			err = table_apply(&c, e);
			if (err)
				break;
		}
		if (have_func(o, SL_TLS_ABI_SSL_WRITE) && have_func(o, SL_TLS_ABI_SSL_READ))
			break;
		if (flags & SL_TLS_LOCATE_NO_SEARCH) {
			if (!o->nfuncs)
				snprintf(o->reason, sizeof(o->reason),
					 "BoringSSL: %s, and search disabled",
					 e ? "the table entry was rejected"
					   : "build not in the offset table");
			break;
		}
		if (!c.marks.nssl_lib) {
			snprintf(o->reason, sizeof(o->reason),
				 "BoringSSL without its \"ssl/ssl_lib.cc\" file name: "
				 "no structural search possible");
			break;
		}
		/* the table gave some (validated) functions: search for the rest */
		err = tl_x86_scan(&c);
		if (!err)
			err = tl_bssl_search(&c);
		break;
	case SL_TLS_IMPL_RUSTLS:
		/* its records are sealed by aws-lc's C functions (aws-lc-rs) or by
		 * ring's: whichever it carries (Codex 0.1xx carries both) */
		if (!c.marks.naead_c && c.marks.awslc_rs_ver[0])
			snprintf(o->reason, sizeof(o->reason),
				 "rustls: aws-lc's AEAD functions not found (no error site of "
				 "\"crypto/fipsmodule/cipher/aead.c\"): not located");
		else if (!c.marks.naead_c && !c.marks.ring_ver[0])
			snprintf(o->reason, sizeof(o->reason),
				 "rustls without aws-lc or ring: its plaintext entry points (Rust "
				 "ABI, generic, inlined) cannot be located without symbols");
		if (c.marks.naead_c) {
			err = tl_x86_scan(&c);
			if (!err)
				err = tl_awslc_search(&c);
		}
		if (!err && c.marks.ring_ver[0])
			err = tl_ring_search(&c);
		break;
	case SL_TLS_IMPL_OPENSSL:
		snprintf(o->reason, sizeof(o->reason),
			 "OpenSSL: not located here (only BoringSSL and Go are); "
			 "where it has symbols, attach by name");
		break;
	case SL_TLS_IMPL_OTHER:
		snprintf(o->reason, sizeof(o->reason), "%s: not instrumentable", o->impl_detail);
		break;
	case SL_TLS_IMPL_NONE:
		snprintf(o->reason, sizeof(o->reason), "no TLS implementation found");
		break;
	}
	if (err)
		goto out;
done:
	o->elapsed_us = now_us() - t0;
	*out = *o;
out:
	free(c.callbm);
	free(c.refs);
	free(c.got);
	free(o);
	return err;
}
