/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the two files of the TLS room share (tls.h is its door): tls_elf.c
 * reads executables and libraries (ELF headers with libelf, marker strings),
 * tls.c decides what to attach, attaches, and reports blind spots.
 */
#ifndef SL_TLS_PRIV_H
#define SL_TLS_PRIV_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#if defined(__x86_64__)
#define SL_MULTIARCH "x86_64-linux-gnu"
#define SL_EM EM_X86_64
#elif defined(__aarch64__)
#define SL_MULTIARCH "aarch64-linux-gnu"
#define SL_EM EM_AARCH64
#else
#error "unsupported architecture"
#endif

/* bytes of an executable searched for TLS marker strings, read in chunks */
#define SL_TLS_MARKER_SCAN_MAX (512ULL << 20)
#define SL_TLS_MARKER_SCAN_CHUNK (1U << 20)
/* libraries visited when following DT_NEEDED from one executable */
#define SL_TLS_WALK_MAX 256
/* "#!" interpreters followed */
#define SL_TLS_SHEBANG_MAX 4
/* threads detaching uprobes at exit */
#define SL_TLS_DETACH_THREADS 64
/* held processes looked at per tick (without their exec record) */
#define SL_TLS_GATE_SWEEP 64
/* system libraries are re-checked (upgrade = new inode) at most this often */
#define SL_TLS_RECHECK_NS (1000ULL * 1000 * 1000)

enum tls_lib {
	LIB_OPENSSL = 1 << 0,
	LIB_GNUTLS = 1 << 1,
	LIB_BORINGSSL = 1 << 2, /* located without symbols */
	LIB_GO = 1 << 3,	/* located by .gopclntab */
	LIB_RUSTLS = 1 << 4,	/* rustls on aws-lc, located without symbols */
};

/* one instrumented function: program at entry, program at return (or NULL) */
struct tls_func {
	const char *name;
	unsigned int lib;
	const char *entry;
	const char *ret;
	bool capture;	 /* writes plaintext: a target without one is not instrumented */
	bool located;	 /* placed at an offset from user/lib/tls_locate.h, never by symbol */
	uint64_t cookie; /* attach cookie: the library when the program is shared (SL_TLS_*) */
};

/* the instrumented functions (tls.c); a bit of a uint64_t each */
#define N_FUNCS 25
extern const struct tls_func sl_tls_funcs[];

/* marker strings of TLS implementations linked into an executable */
enum marker_kind {
	MK_GO = 1,
	MK_OPENSSL,
	MK_OTHER,
};

struct tls_marker {
	const char *s;
	enum marker_kind kind;
	const char *what;
	/* found only in code of the TLS protocol (a crypto library without
	 * TLS does not carry it): a library with it does TLS */
	bool protocol;
};

/* the markers in order of precedence (tls_elf.c) */
#define SL_TLS_NMARKERS 11
extern const struct tls_marker sl_tls_markers[];

/* what the ELF headers say about one file */
struct elf_info {
	bool is_elf;
	uint16_t machine;
	bool has_interp;
	bool has_sections;
	bool has_symtab;
	bool is_go;
	bool imports_tls; /* undefined SSL_* / gnutls_* symbols: uses a shared library */
	uint64_t dynsym_defined;
	uint64_t symtab_defined;
	uint64_t dynsym_addr[N_FUNCS]; /* st_value of each defined function */
	uint64_t symtab_addr[N_FUNCS];
	uint64_t dynsym_size[N_FUNCS]; /* st_size */
	uint64_t symtab_size[N_FUNCS];
	uint64_t addr[N_FUNCS]; /* st_value and st_size of the symbols used (present) */
	uint64_t size[N_FUNCS];
	uint64_t present;      /* functions to attach: .dynsym's, else .symtab's */
	uint64_t off[N_FUNCS]; /* their file offsets (uprobe offsets) */
	char **needed;
	size_t nneeded;
	char *rpath;
	char *runpath;
};

int sl_tls_strv_add(char ***v, size_t *n, const char *s);
bool sl_tls_strv_has(char **v, size_t n, const char *s);
void sl_tls_strv_free(char **v, size_t n);
int sl_tls_ptrv_add(void *vp, size_t *n, void *p);
void sl_tls_elf_info_clear(struct elf_info *ei);
int sl_tls_elf_inspect(int fd, struct elf_info *out);
int sl_tls_scan_markers(uint64_t *scans, int fd, off_t size, bool is_go);
/* the same, every marker found: bit i for sl_tls_markers[i]; 0 or -errno */
int sl_tls_scan_marker_mask(uint64_t *scans, int fd, off_t size, bool is_go, uint64_t *mask);

#endif
