// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * TLS room, ELF inspection (tls_priv.h): what the ELF headers of a file say
 * (libelf: symbols, DT_NEEDED, run paths, offsets of the entry points) and
 * which TLS implementation marker strings it carries.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <search.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "jsonbytes.h"
#include "log.h"
#include "tls_priv.h"
#include "util.h"

const struct tls_marker sl_tls_markers[] = {
    {"crypto/tls.", MK_GO, "Go crypto/tls", true},
    /* libcrypto has the version text too: not a sign of TLS in a library */
    {"OpenSSL 1.", MK_OPENSSL, "OpenSSL", false},
    {"OpenSSL 3.", MK_OPENSSL, "OpenSSL", false},
    /* libssl's default TLS 1.3 ciphersuites (OpenSSL 1.1.1 and 3.x): there even
     * when the version text is not linked in */
    {"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", MK_OPENSSL, "OpenSSL", true},
    {"BoringSSL", MK_OPENSSL, "BoringSSL", false},
    {"LibreSSL", MK_OPENSSL, "LibreSSL", false},
    {"rustls", MK_OTHER, "rustls", true},
    {"mbed TLS", MK_OTHER, "mbed TLS", false},
    {"mbedtls", MK_OTHER, "mbed TLS", false},
    {"wolfSSL", MK_OTHER, "wolfSSL", true},
    /* the TLS 1.3 key schedule's label of the client handshake secret (RFC
     * 8446 7.1): in every TLS 1.3 implementation (libssl, GnuTLS, BoringSSL,
     * rustls, Go), in no crypto library without TLS (libcrypto) */
    {"c hs traffic", MK_OTHER, "a TLS 1.3 implementation", true},
};
_Static_assert(SL_ARRAY_SIZE(sl_tls_markers) == SL_TLS_NMARKERS, "marker count");
_Static_assert(SL_TLS_NMARKERS <= 64, "marker bitmask");

/* ---------------------------------------------------------------- utils */

int sl_tls_strv_add(char ***v, size_t *n, const char *s)
{
	char **nv;
	char *dup = strdup(s);

	if (!dup)
		return -ENOMEM;
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv) {
		free(dup);
		return -ENOMEM;
	}
	nv[(*n)++] = dup;
	*v = nv;
	return 0;
}

bool sl_tls_strv_has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

void sl_tls_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int sl_tls_ptrv_add(void *vp, size_t *n, void *p)
{
	void ***v = vp;
	void **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = p;
	*v = nv;
	return 0;
}

/* ------------------------------------------------------------- ELF view */

void sl_tls_elf_info_clear(struct elf_info *ei)
{
	sl_tls_strv_free(ei->needed, ei->nneeded);
	free(ei->rpath);
	free(ei->runpath);
	memset(ei, 0, sizeof(*ei));
}

static int func_index(const char *name)
{
	if (strncmp(name, "SSL_", 4) && strncmp(name, "gnutls_", 7))
		return -1;
	for (size_t i = 0; i < N_FUNCS; i++)
		if (!sl_tls_funcs[i].located && !strcmp(name, sl_tls_funcs[i].name))
			return (int)i;
	return -1;
}

static void scan_symbols(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, uint64_t *defined,
			 uint64_t *addr, uint64_t *size, bool *imports)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n;

	if (!data || !sh->sh_entsize)
		return;
	n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *name;
		int idx, type;

		if (!gelf_getsym(data, (int)i, &sym) || !sym.st_name)
			continue;
		name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name || (name[0] != 'S' && name[0] != 'g'))
			continue;
		idx = func_index(name);
		if (idx < 0)
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if (sym.st_shndx == SHN_UNDEF) {
			if (imports)
				*imports = true;
		} else if ((type == STT_FUNC || type == STT_GNU_IFUNC) && sym.st_value) {
			*defined |= 1ULL << idx;
			addr[idx] = sym.st_value;
			size[idx] = sym.st_size;
		}
	}
}

static int scan_dynamic(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct elf_info *ei)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n;
	int err;

	if (!data || !sh->sh_entsize)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	for (size_t i = 0; i < n; i++) {
		GElf_Dyn dyn;
		const char *s;

		if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RPATH && dyn.d_tag != DT_RUNPATH)
			continue;
		s = elf_strptr(elf, sh->sh_link, dyn.d_un.d_val);
		if (!s)
			continue;
		if (dyn.d_tag == DT_NEEDED) {
			err = sl_tls_strv_add(&ei->needed, &ei->nneeded, s);
			if (err)
				return err;
		} else {
			char **dst = dyn.d_tag == DT_RPATH ? &ei->rpath : &ei->runpath;

			free(*dst);
			*dst = strdup(s);
			if (!*dst)
				return -ENOMEM;
		}
	}
	return 0;
}

/*
 * File offsets of the functions to attach: the symbol's address mapped
 * through the PT_LOAD segment that contains it (as the kernel maps the file).
 * A function outside every segment is dropped from present.
 */
static void compute_offsets(Elf *elf, size_t phnum, struct elf_info *ei)
{
	const uint64_t *addr = ei->dynsym_defined ? ei->dynsym_addr : ei->symtab_addr;
	const uint64_t *size = ei->dynsym_defined ? ei->dynsym_size : ei->symtab_size;

	ei->present = ei->dynsym_defined ? ei->dynsym_defined : ei->symtab_defined;
	for (size_t i = 0; i < N_FUNCS; i++) {
		bool found = false;

		if (!(ei->present & (1ULL << i)))
			continue;
		ei->addr[i] = addr[i];
		ei->size[i] = size[i];
		for (size_t k = 0; k < phnum && !found; k++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(elf, (int)k, &ph) || ph.p_type != PT_LOAD ||
			    addr[i] < ph.p_vaddr || addr[i] - ph.p_vaddr >= ph.p_filesz)
				continue;
			ei->off[i] = addr[i] - ph.p_vaddr + ph.p_offset;
			found = true;
		}
		if (!found)
			ei->present &= ~(1ULL << i);
	}
}

/*
 * Read what matters of fd's ELF headers; a non-ELF file gives is_elf false.
 * ELF_C_READ (pread), not mmap: a session can truncate a file it owns while
 * the daemon reads it, which would be SIGBUS with a mapping.
 */
int sl_tls_elf_inspect(int fd, struct elf_info *out)
{
	struct elf_info ei = {0};
	GElf_Ehdr eh;
	size_t phnum = 0, shstrndx;
	Elf_Scn *scn = NULL;
	Elf *elf;
	int err = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		goto out_ok;
	ei.is_elf = true;
	ei.machine = eh.e_machine;
	if (elf_getphdrnum(elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_INTERP)
				ei.has_interp = true;
		}
	}
	if (elf_getshdrstrndx(elf, &shstrndx))
		goto out_ok;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		ei.has_sections = true;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && (!strcmp(name, ".go.buildinfo") || !strcmp(name, ".note.go.buildid") ||
			     !strcmp(name, ".gopclntab")))
			ei.is_go = true;
		switch (sh.sh_type) {
		case SHT_SYMTAB:
			ei.has_symtab = true;
			scan_symbols(elf, scn, &sh, &ei.symtab_defined, ei.symtab_addr,
				     ei.symtab_size, NULL);
			break;
		case SHT_DYNSYM:
			scan_symbols(elf, scn, &sh, &ei.dynsym_defined, ei.dynsym_addr,
				     ei.dynsym_size, &ei.imports_tls);
			break;
		case SHT_DYNAMIC:
			err = scan_dynamic(elf, scn, &sh, &ei);
			if (err)
				goto out;
			break;
		default:
			break;
		}
	}
	compute_offsets(elf, phnum, &ei);
out_ok:
	*out = ei;
	memset(&ei, 0, sizeof(ei));
out:
	sl_tls_elf_info_clear(&ei);
	if (elf)
		elf_end(elf);
	return err;
}

/*
 * Search the file for TLS implementation markers, with pread in chunks (no
 * mapping: see elf_inspect). Returns the index of the first marker in
 * sl_tls_markers[] order found anywhere (so Go and OpenSSL win), -1 if none, or
 * -errno.
 */
int sl_tls_scan_markers(uint64_t *scans, int fd, off_t size, bool is_go)
{
	uint64_t found;
	int err = sl_tls_scan_marker_mask(scans, fd, size, is_go, &found);

	if (err)
		return err;
	return found ? __builtin_ctzll(found) : -1;
}

int sl_tls_scan_marker_mask(uint64_t *scans, int fd, off_t size, bool is_go, uint64_t *mask)
{
	uint64_t len =
	    (uint64_t)size > SL_TLS_MARKER_SCAN_MAX ? SL_TLS_MARKER_SCAN_MAX : (uint64_t)size;
	size_t keep = 0, maxlen = 0, total;
	uint64_t found = 0, pos = 0;
	char *buf;
	int ret = 0;

	*mask = 0;
	for (size_t i = 0; i < SL_TLS_NMARKERS; i++)
		if (strlen(sl_tls_markers[i].s) > maxlen)
			maxlen = strlen(sl_tls_markers[i].s);
	buf = malloc(SL_TLS_MARKER_SCAN_CHUNK + maxlen);
	if (!buf)
		return -ENOMEM;
	(*scans)++;
	while (pos < len && !(found & 1)) {
		size_t want = len - pos < SL_TLS_MARKER_SCAN_CHUNK ? (size_t)(len - pos)
								   : SL_TLS_MARKER_SCAN_CHUNK;
		ssize_t n = pread(fd, buf + keep, want, (off_t)pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break; /* truncated meanwhile */
		pos += (uint64_t)n;
		for (size_t i = 0; i < SL_TLS_NMARKERS; i++) {
			/* crypto/tls. means Go's TLS only in a Go binary */
			if ((sl_tls_markers[i].kind == MK_GO && !is_go) || (found & (1ULL << i)))
				continue;
			if (memmem(buf, keep + (size_t)n, sl_tls_markers[i].s,
				   strlen(sl_tls_markers[i].s)))
				found |= 1ULL << i;
		}
		/* a marker may span two chunks: keep the tail */
		total = keep + (size_t)n;
		keep = total < maxlen - 1 ? total : maxlen - 1;
		memmove(buf, buf + total - keep, keep);
	}
	*mask = found;
out:
	free(buf);
	return ret;
}
