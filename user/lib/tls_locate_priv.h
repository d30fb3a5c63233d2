/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Internals of tls_locate.c, tls_locate_x86.c and tls_locate_go.c. */
#ifndef SL_TLS_LOCATE_PRIV_H
#define SL_TLS_LOCATE_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "tls_locate.h"

#define TL_MAX_SEGS 32
#define TL_MAX_TARGETS 8

struct tl_seg {
	uint64_t vaddr;
	uint64_t filesz;
	uint64_t off;
	uint32_t flags; /* PF_X, PF_W, PF_R */
};

/* what one pass over the read-only data found */
struct tl_marks {
	bool boringssl;	   /* "BoringSSL", "openssl_is_boringssl", ".../boringssl/ssl/" */
	bool openssl;	   /* "OpenSSL 1." / "OpenSSL 3." / libssl's TLS 1.3 cipher list */
	bool rustls;	   /* a cargo path "rustls-0.", or "rustls::" */
	bool go_tls;	   /* "crypto/tls." */
	const char *other; /* "mbed TLS", "wolfSSL", "LibreSSL" */
	char bun[32];	   /* "Bun v1.3.13" */
	char openssl_ver[24];
	char rustls_ver[24];
	/* addresses of the strings that end in "ssl/ssl_lib.cc" (BoringSSL's __FILE__) */
	uint64_t ssl_lib[TL_MAX_TARGETS];
	size_t nssl_lib;
	/* the same for "crypto/fipsmodule/cipher/aead.c" (aws-lc's AEAD functions) */
	uint64_t aead_c[TL_MAX_TARGETS];
	size_t naead_c;
	char awslc_rs_ver[24]; /* "aws-lc-rs 1.18.1" */
	char ring_ver[24];     /* "ring 0.17.14" */
};

struct tl_ctx {
	int fd;
	const char *path;
	uint64_t size;
	bool pie;
	struct tl_seg segs[TL_MAX_SEGS];
	size_t nsegs;
	/* sections, when the file has section headers (0 otherwise) */
	uint64_t gopclntab_off, gopclntab_size;
	bool go_sections;    /* .go.buildinfo, .note.go.buildid or .gopclntab */
	bool go_tls_funcs;   /* .gopclntab names crypto/tls.(*Conn) functions */
	uint64_t text_vaddr; /* .text, 0 if unknown */
	/* .got: calls through it (call *[rip+d], -fno-plt, static-pie) name a
	 * target too; its slots hold link-time addresses (RELR or no relocations) */
	uint64_t got_vaddr, got_off, got_size;
	uint8_t *got; /* its bytes, read by tl_x86_scan */
	/* .rela.dyn: where a pointer's value is a relocation's addend (RELA;
	 * with RELR the file holds it in place) */
	uint64_t rela_off, rela_size;
	/* .data.rel.ro: ring's AEAD algorithms (tl_ring_search) */
	uint64_t relro_vaddr, relro_off, relro_size;
	struct tl_marks marks;
	/* exec scan (search only): 16-byte aligned direct call targets */
	uint64_t bm_base, bm_len; /* covered range of addresses */
	uint64_t *callbm;	  /* bit (a - bm_base) / 16 */
	uint64_t *refs;		  /* instructions that load an ssl_lib string */
	size_t nrefs;
	struct sl_tls_located *out;
};

/*
 * The len bytes at va of a data section (file offset off) as the loaded
 * program has them: the file's, with the R_X86_64_RELATIVE relocations of
 * .rela.dyn that fall in them applied (a pointer's value is its addend).
 * 0, -ENOMEM, -errno.
 */
int tl_read_relocated(const struct tl_ctx *c, uint64_t va, uint64_t off, uint8_t *buf, size_t len);

/* exact pread of len bytes at off: 0, -EIO if short (file changed), -errno */
int tl_read(const struct tl_ctx *c, uint64_t off, void *buf, size_t len);
/* vaddr -> file offset through the PT_LOAD that holds it; exec: only PF_X
 * segments; *avail: bytes of the segment from there. 0 or -ENOENT */
int tl_va2off(const struct tl_ctx *c, uint64_t va, bool exec, uint64_t *off, uint64_t *avail);
void tl_reject(struct tl_ctx *c, enum sl_tls_abi abi, enum sl_tls_how how, uint64_t va,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* append a located function (no-op when full) */
void tl_add(struct tl_ctx *c, enum sl_tls_abi abi, enum sl_tls_how how, uint64_t va, uint64_t off,
	    bool retprobe_ok, const char *evidence);
bool tl_is_call_target(const struct tl_ctx *c, uint64_t va);

/* tls_locate_x86.c: BoringSSL */
/* scan the executable segments: refs to the ssl_lib strings, call targets */
int tl_x86_scan(struct tl_ctx *c);
/* the first call rel32 to va in the executable segments: 0 or -ENOENT */
int tl_x86_find_caller(const struct tl_ctx *c, uint64_t va, uint64_t *caller);
/* structural search over c->refs; adds functions or sets reason */
int tl_bssl_search(struct tl_ctx *c);
/*
 * Validate one candidate: va must be abi's function (see tls_locate.h).
 * Returns 1 valid (evidence filled), 0 invalid (why filled), -errno.
 */
int tl_bssl_validate(struct tl_ctx *c, enum sl_tls_abi abi, uint64_t va, char *evidence,
		     size_t evlen, char *why, size_t whylen);

/* structural search over c->refs to aws-lc's aead.c: EVP_AEAD_CTX_seal and
 * EVP_AEAD_CTX_seal_scatter (rustls' records); adds functions or sets reason */
int tl_awslc_search(struct tl_ctx *c);

/*
 * Validate a function entry found another way than by its error sites (a
 * pointer in ring's algorithm statics): it decodes with every branch on an
 * instruction boundary, its entry is not a branch, and it reads the
 * argument registers of need (A_* of tls_locate_x86.c: rdi 1, rsi 2, rdx 4,
 * rcx 8) before writing them. 1 valid (evidence), 0 not (why), -errno.
 */
int tl_x86_validate_entry(const struct tl_ctx *c, uint64_t va, unsigned int need, char *ev,
			  size_t evlen, char *why, size_t whylen);

/* tls_locate_ring.c: rustls on ring: ring's AES-GCM and ChaCha20-Poly1305
 * seal functions from its algorithm statics; adds functions or sets reason */
int tl_ring_search(struct tl_ctx *c);

/* tls_locate_go.c: crypto/tls.(*Conn).Write/Read from .gopclntab.
 * 0 (functions added, or reason set) or -errno */
int tl_go_locate(struct tl_ctx *c);
/*
 * The one function that the functions at a and b (alen, blen bytes long)
 * both call directly, once each and never by a jump, validated as a
 * function that reads rdi, rsi and rdx first. 0 with *callee and the
 * addresses after the two calls, or 0 with why set (none); -errno.
 */
int tl_x86_common_callee(const struct tl_ctx *c, uint64_t a, uint64_t alen, uint64_t b,
			 uint64_t blen, uint64_t *callee, uint64_t *ret_a, uint64_t *ret_b,
			 char *ev, size_t evlen, char *why, size_t whylen);

#endif
