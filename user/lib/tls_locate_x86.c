// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * BoringSSL's SSL_write / SSL_read in an x86-64 executable without symbols
 * (tls_locate.h): search by error sites, validation by disassembly
 * (capstone).
 *
 * An error site is OPENSSL_PUT_ERROR(SSL, reason): the argument registers get
 * ERR_LIB_SSL (16), the reason and __FILE__, then a call (or a jump to a
 * shared call). With the standard ERR_put_error(lib, unused, reason, file,
 * line) the file is in rcx and the reason in edx; after link-time dead
 * argument elimination (Bun) ERR_put_error(lib, reason, file, line): file in
 * rdx, reason in esi. Both are recognised by where the file goes.
 *
 * A function is decoded by recursive descent from its entry within a 64 KiB
 * window: conditional branches are followed both ways, an unconditional jump
 * to another function's entry (a direct call target) or out of the window is
 * a tail call, ret/int3/ud2/hlt and indirect jumps end a path. A branch into
 * the middle of a decoded instruction, or bytes that do not decode, make the
 * function invalid.
 */
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>

#include "tls_locate_priv.h"
#include "util.h"

#define TL_WIN (64u * 1024)
#define TL_MAX_INSNS 16384
#define TL_MAX_CALLEES 32
#define TL_MAX_REASONS 32
#define TL_MAX_FNS 64
#define TL_START_TRIES 16
#define TL_SCAN_CHUNK (8u << 20)
#define TL_GOT_MAX (16u << 20) /* a larger .got is not read: its calls are not targets */

/* BoringSSL: include/openssl/err.h and ssl.h (numbers never reassigned) */
#define ERR_LIB_SSL 16
#define R_SHOULD_NOT_HAVE_BEEN_CALLED 66 /* ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED */
#define R_BAD_LENGTH 111		 /* SSL_R_BAD_LENGTH */
#define R_CONNECTION_TYPE_NOT_SET 134	 /* SSL_do_handshake */
#define R_SSL_HANDSHAKE_FAILURE 215
#define R_UNINITIALIZED 226
#define R_APPLICATION_DATA_ON_SHUTDOWN 291 /* SSL_shutdown */
/* aws-lc's crypto/fipsmodule/cipher/aead.c: OPENSSL_PUT_ERROR(CIPHER, ...) */
#define ERR_LIB_CIPHER 30
#define R_CIPHER(r) ((uint32_t)(r) | (uint32_t)ERR_LIB_CIPHER << 16)
#define R_BAD_DECRYPT R_CIPHER(101)
#define R_BUFFER_TOO_SMALL R_CIPHER(103)
#define R_CTRL_NOT_IMPLEMENTED R_CIPHER(104)
#define R_INVALID_OPERATION R_CIPHER(112)
#define R_OUTPUT_ALIASES_INPUT R_CIPHER(115)
#define R_TOO_LARGE R_CIPHER(117)

/* argument registers, as bits */
#define A_RDI (1u << 0)
#define A_RSI (1u << 1)
#define A_RDX (1u << 2)
#define A_RCX (1u << 3)
#define A_R8 (1u << 4)
#define A_R9 (1u << 5)
#define A_ARGS4 (A_RDI | A_RSI | A_RDX | A_RCX)

enum {
	F_STOP = 1 << 0,    /* no fall-through */
	F_BRANCH = 1 << 1,  /* jump/call/ret: ends a basic block */
	F_FILEREF = 1 << 2, /* loads an ssl_lib.cc string into slot */
	F_CALL = 1 << 3,
};

struct tl_ins {
	uint64_t addr;
	uint64_t target; /* direct branch target, 0 if none */
	int64_t imm;	 /* value put in slot */
	uint8_t size;
	uint8_t flags;
	int8_t slot;	/* argument register (0 rdi .. 5 r9) set to imm, -1 none */
	uint8_t reads;	/* A_* read */
	uint8_t writes; /* A_* written */
};

struct tl_fn {
	uint64_t start;
	struct tl_ins *ins; /* sorted by address */
	size_t n;
	uint64_t callees[TL_MAX_CALLEES];
	size_t ncallees;
	unsigned int indcalls;
	unsigned int stores; /* writes to memory not on the stack */
	unsigned int livein; /* A_* read before written on some path from the entry */
	uint32_t reasons[TL_MAX_REASONS];
	size_t nreasons;
	bool entry_branch; /* the entry instruction is a jump or return */
	char err[120];	   /* decoding failed: why */
};

static void fn_free(struct tl_fn *f)
{
	if (f)
		free(f->ins);
	free(f);
}

static unsigned int arg_bit(x86_reg r)
{
	switch (r) {
	case X86_REG_RDI:
	case X86_REG_EDI:
	case X86_REG_DI:
	case X86_REG_DIL:
		return A_RDI;
	case X86_REG_RSI:
	case X86_REG_ESI:
	case X86_REG_SI:
	case X86_REG_SIL:
		return A_RSI;
	case X86_REG_RDX:
	case X86_REG_EDX:
	case X86_REG_DX:
	case X86_REG_DL:
	case X86_REG_DH:
		return A_RDX;
	case X86_REG_RCX:
	case X86_REG_ECX:
	case X86_REG_CX:
	case X86_REG_CL:
	case X86_REG_CH:
		return A_RCX;
	case X86_REG_R8:
	case X86_REG_R8D:
	case X86_REG_R8W:
	case X86_REG_R8B:
		return A_R8;
	case X86_REG_R9:
	case X86_REG_R9D:
	case X86_REG_R9W:
	case X86_REG_R9B:
		return A_R9;
	default:
		return 0;
	}
}

static int bit_slot(unsigned int b)
{
	return b ? __builtin_ctz(b) : -1;
}

static bool is_target(const struct tl_ctx *c, uint64_t va)
{
	for (size_t i = 0; i < c->marks.nssl_lib; i++)
		if (c->marks.ssl_lib[i] == va)
			return true;
	for (size_t i = 0; i < c->marks.naead_c; i++)
		if (c->marks.aead_c[i] == va)
			return true;
	return false;
}

/* ---------------------------------------------------------- exec scan */

static int refs_add(struct tl_ctx *c, size_t *cap, uint64_t va)
{
	if (c->nrefs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		uint64_t *n = realloc(c->refs, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->refs = n;
		*cap = ncap;
	}
	c->refs[c->nrefs++] = va;
	return 0;
}

static int32_t rd32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* t is called: a function entry (16-byte aligned ones are kept) */
static void call_target(struct tl_ctx *c, uint64_t t)
{
	if (!(t & 15) && t >= c->bm_base && t - c->bm_base < c->bm_len) {
		uint64_t k = (t - c->bm_base) / 16;

		c->callbm[k / 64] |= 1ULL << (k % 64);
	}
}

/* one chunk: buf[0, len) at va; positions below lim start a candidate */
static int scan_chunk(struct tl_ctx *c, const uint8_t *buf, size_t len, size_t lim, uint64_t va,
		      size_t *cap)
{
	for (size_t i = 0; i < lim && i + 7 <= len; i++) {
		uint8_t b = buf[i];
		uint64_t here = va + i;
		int err;

		if (b == 0xe8) {
			call_target(c, here + 5 + (int64_t)rd32(buf + i + 1));
		} else if (b == 0xff && (buf[i + 1] == 0x15 || buf[i + 1] == 0x25) && c->got) {
			/* call/jmp *[rip + disp32] through the GOT */
			uint64_t slot = here + 6 + (int64_t)rd32(buf + i + 2);
			uint64_t t;

			if (slot >= c->got_vaddr && slot - c->got_vaddr + 8 <= c->got_size) {
				memcpy(&t, c->got + (slot - c->got_vaddr), sizeof(t));
				call_target(c, t);
			}
		} else if (b >= 0xb8 && b <= 0xbf && !c->pie) {
			/* mov r32, imm32 (absolute address, non-PIE) */
			uint64_t t = (uint32_t)rd32(buf + i + 1);

			if (is_target(c, t)) {
				err = refs_add(c, cap, i && buf[i - 1] == 0x41 ? here - 1 : here);
				if (err)
					return err;
			}
		} else if ((b == 0x48 || b == 0x4c) && buf[i + 1] == 0x8d &&
			   (buf[i + 2] & 0xc7) == 0x05) {
			/* lea r64, [rip + disp32] */
			uint64_t t = here + 7 + (int64_t)rd32(buf + i + 3);

			if (is_target(c, t)) {
				err = refs_add(c, cap, here);
				if (err)
					return err;
			}
		}
	}
	return 0;
}

int tl_x86_scan(struct tl_ctx *c)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	size_t cap = 0;
	uint8_t *buf;
	int err = 0;

	for (size_t i = 0; i < c->nsegs; i++) {
		if (!(c->segs[i].flags & PF_X))
			continue;
		lo = c->segs[i].vaddr < lo ? c->segs[i].vaddr : lo;
		if (c->segs[i].vaddr + c->segs[i].filesz > hi)
			hi = c->segs[i].vaddr + c->segs[i].filesz;
	}
	if (lo >= hi)
		return 0;
	c->bm_base = lo & ~15ULL;
	c->bm_len = hi - c->bm_base;
	c->callbm = calloc(c->bm_len / 16 / 64 + 1, sizeof(uint64_t));
	buf = malloc(TL_SCAN_CHUNK + 16);
	if (!c->callbm || !buf) {
		err = -ENOMEM;
		goto out;
	}
	if (c->got_size && c->got_size <= TL_GOT_MAX && !c->got) {
		c->got = malloc(c->got_size);
		if (!c->got) {
			err = -ENOMEM;
			goto out;
		}
		err = tl_read_relocated(c, c->got_vaddr, c->got_off, c->got, c->got_size);
		if (err)
			goto out;
	}
	for (size_t i = 0; i < c->nsegs && !err; i++) {
		const struct tl_seg *s = &c->segs[i];

		if (!(s->flags & PF_X))
			continue;
		for (uint64_t pos = 0; pos < s->filesz && !err; pos += TL_SCAN_CHUNK) {
			size_t lim = s->filesz - pos < TL_SCAN_CHUNK ? (size_t)(s->filesz - pos)
								     : TL_SCAN_CHUNK;
			/* 15 bytes more: an instruction starting in this chunk */
			size_t len = s->filesz - pos < TL_SCAN_CHUNK + 15
					 ? (size_t)(s->filesz - pos)
					 : TL_SCAN_CHUNK + 15;

			err = tl_read(c, s->off + pos, buf, len);
			if (!err)
				err = scan_chunk(c, buf, len, lim, s->vaddr + pos, &cap);
		}
	}
out:
	free(buf);
	return err;
}

int tl_x86_find_caller(const struct tl_ctx *c, uint64_t va, uint64_t *caller)
{
	uint8_t *buf = malloc(TL_SCAN_CHUNK + 16);
	int err = -ENOENT;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < c->nsegs && err == -ENOENT; i++) {
		const struct tl_seg *s = &c->segs[i];

		if (!(s->flags & PF_X))
			continue;
		for (uint64_t pos = 0; pos < s->filesz && err == -ENOENT; pos += TL_SCAN_CHUNK) {
			size_t len = s->filesz - pos < TL_SCAN_CHUNK + 4 ? (size_t)(s->filesz - pos)
									 : TL_SCAN_CHUNK + 4;
			int rerr = tl_read(c, s->off + pos, buf, len);

			if (rerr) {
				err = rerr;
				break;
			}
			for (size_t k = 0; k + 5 <= len && k < TL_SCAN_CHUNK; k++) {
				uint64_t here = s->vaddr + pos + k;

				if (buf[k] == 0xe8 &&
				    here + 5 + (uint64_t)(int64_t)rd32(buf + k + 1) == va) {
					*caller = here;
					err = 0;
					break;
				}
			}
		}
	}
	free(buf);
	return err;
}

/* ------------------------------------------------------------ decoding */

struct dec {
	csh h;
	cs_insn *insn;
	const uint8_t *code;
	size_t len;
	uint64_t base;
	uint8_t *start_bm; /* instruction starts in the window */
	uint8_t *cover_bm; /* bytes covered by instructions */
	uint64_t *stack;
	size_t nstack;
};

static bool bm_get(const uint8_t *bm, size_t i)
{
	return bm[i / 8] & (1u << (i % 8));
}

static void bm_set(uint8_t *bm, size_t i)
{
	bm[i / 8] |= (uint8_t)(1u << (i % 8));
}

static void fn_add_callee(struct tl_fn *f, uint64_t t)
{
	for (size_t i = 0; i < f->ncallees; i++)
		if (f->callees[i] == t)
			return;
	if (f->ncallees < TL_MAX_CALLEES)
		f->callees[f->ncallees++] = t;
}

/* registers read/written, stores, the immediate put in an argument register */
static void ins_regs(const struct tl_ctx *c, const cs_insn *in, struct tl_ins *ti, struct tl_fn *f)
{
	const cs_x86 *x = &in->detail->x86;
	bool zero_idiom = (in->id == X86_INS_XOR || in->id == X86_INS_SUB) && x->op_count == 2 &&
			  x->operands[0].type == X86_OP_REG && x->operands[1].type == X86_OP_REG &&
			  x->operands[0].reg == x->operands[1].reg;

	for (uint8_t i = 0; i < in->detail->regs_read_count; i++)
		ti->reads |= (uint8_t)arg_bit(in->detail->regs_read[i]);
	for (uint8_t i = 0; i < in->detail->regs_write_count; i++)
		ti->writes |= (uint8_t)arg_bit(in->detail->regs_write[i]);
	for (uint8_t i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];

		if (op->type == X86_OP_REG) {
			if (op->access & CS_AC_READ)
				ti->reads |= (uint8_t)arg_bit(op->reg);
			if (op->access & CS_AC_WRITE)
				ti->writes |= (uint8_t)arg_bit(op->reg);
		} else if (op->type == X86_OP_MEM) {
			ti->reads |= (uint8_t)(arg_bit(op->mem.base) | arg_bit(op->mem.index));
			if ((op->access & CS_AC_WRITE) && op->mem.base != X86_REG_RSP &&
			    op->mem.base != X86_REG_RBP && op->mem.base != X86_REG_RIP &&
			    op->mem.base != X86_REG_INVALID)
				f->stores++;
		}
	}
	if (zero_idiom)
		ti->reads = 0;
	/* a value put in an argument register: mov r, imm / xor r, r / lea r, [rip+d] */
	if (x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
	    bit_slot(arg_bit(x->operands[0].reg)) >= 0) {
		int slot = bit_slot(arg_bit(x->operands[0].reg));
		const cs_x86_op *src = &x->operands[1];

		if (in->id == X86_INS_MOV && src->type == X86_OP_IMM) {
			ti->slot = (int8_t)slot;
			ti->imm = src->imm;
			if (is_target(c, (uint64_t)src->imm))
				ti->flags |= F_FILEREF;
		} else if (zero_idiom) {
			ti->slot = (int8_t)slot;
			ti->imm = 0;
		} else if (in->id == X86_INS_LEA && src->type == X86_OP_MEM &&
			   src->mem.base == X86_REG_RIP && src->mem.index == X86_REG_INVALID) {
			uint64_t t = in->address + in->size + (uint64_t)src->mem.disp;

			ti->slot = (int8_t)slot;
			ti->imm = (int64_t)t;
			if (is_target(c, t))
				ti->flags |= F_FILEREF;
		}
	}
}

static bool push_addr(struct dec *d, uint64_t a)
{
	if (d->nstack >= TL_MAX_INSNS)
		return false;
	d->stack[d->nstack++] = a;
	return true;
}

static int ins_cmp(const void *a, const void *b)
{
	const struct tl_ins *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static ssize_t ins_find(const struct tl_fn *f, uint64_t a)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->ins[mid].addr == a)
			return (ssize_t)mid;
		if (f->ins[mid].addr < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* decode every instruction reachable from d->base; 0, or -1 with f->err */
static int descend(const struct tl_ctx *c, struct dec *d, struct tl_fn *f, size_t *cap)
{
	if (!push_addr(d, d->base))
		return -1;
	while (d->nstack) {
		uint64_t a = d->stack[--d->nstack];

		for (;;) {
			size_t i = (size_t)(a - d->base);
			const uint8_t *p;
			size_t left;
			uint64_t addr = a;
			struct tl_ins *ti;
			cs_insn *in = d->insn;

			if (a < d->base || i >= d->len)
				break; /* left the window: a cold part or the next function */
			if (bm_get(d->start_bm, i))
				break; /* decoded already */
			if (bm_get(d->cover_bm, i)) {
				snprintf(f->err, sizeof(f->err),
					 "a branch lands inside an instruction at 0x%llx",
					 (unsigned long long)a);
				return -1;
			}
			p = d->code + i;
			left = d->len - i;
			if (!cs_disasm_iter(d->h, &p, &left, &addr, in)) {
				if (d->len - i < 15)
					break; /* the window's end cut the instruction */
				snprintf(f->err, sizeof(f->err), "undecodable bytes at 0x%llx",
					 (unsigned long long)a);
				return -1;
			}
			for (size_t k = 0; k < in->size; k++) {
				if (bm_get(d->cover_bm, i + k)) {
					snprintf(f->err, sizeof(f->err),
						 "instructions overlap at 0x%llx",
						 (unsigned long long)a);
					return -1;
				}
				bm_set(d->cover_bm, i + k);
			}
			bm_set(d->start_bm, i);
			if (f->n == *cap) {
				size_t ncap = *cap ? *cap * 2 : 256;
				struct tl_ins *n;

				if (ncap > TL_MAX_INSNS) {
					snprintf(f->err, sizeof(f->err),
						 "more than %d instructions", TL_MAX_INSNS);
					return -1;
				}
				n = realloc(f->ins, ncap * sizeof(*n));
				if (!n) {
					snprintf(f->err, sizeof(f->err), "out of memory");
					return -ENOMEM;
				}
				f->ins = n;
				*cap = ncap;
			}
			ti = &f->ins[f->n++];
			memset(ti, 0, sizeof(*ti));
			ti->addr = a;
			ti->size = (uint8_t)in->size;
			ti->slot = -1;
			ins_regs(c, in, ti, f);

			bool is_jmp = cs_insn_group(d->h, in, CS_GRP_JUMP);
			bool is_call = cs_insn_group(d->h, in, CS_GRP_CALL);
			bool is_ret = cs_insn_group(d->h, in, CS_GRP_RET) ||
				      cs_insn_group(d->h, in, CS_GRP_IRET);
			const cs_x86 *x = &in->detail->x86;
			bool direct = x->op_count == 1 && x->operands[0].type == X86_OP_IMM;
			uint64_t t = direct ? (uint64_t)x->operands[0].imm : 0;
			uint64_t next = a + in->size;

			if (f->n == 1 && (is_jmp || is_ret))
				f->entry_branch = true;
			if (is_jmp || is_call || is_ret)
				ti->flags |= F_BRANCH;
			ti->target = t;
			if (is_ret || in->id == X86_INS_INT3 || in->id == X86_INS_UD2 ||
			    in->id == X86_INS_HLT) {
				ti->flags |= F_STOP;
				break;
			}
			if (is_call) {
				ti->flags |= F_CALL;
				if (direct)
					fn_add_callee(f, t);
				else
					f->indcalls++;
				if (tl_is_call_target(c, next)) {
					ti->flags |=
					    F_STOP; /* a noreturn call before the next function */
					break;
				}
				a = next;
				continue;
			}
			if (is_jmp && in->id == X86_INS_JMP) {
				ti->flags |= F_STOP;
				if (direct && t >= d->base && t - d->base < d->len &&
				    (t == d->base || !tl_is_call_target(c, t)) &&
				    !push_addr(d, t)) {
					snprintf(f->err, sizeof(f->err), "too many branches");
					return -1;
				}
				break;
			}
			if (is_jmp) {
				if (direct && t >= d->base && t - d->base < d->len &&
				    !push_addr(d, t)) {
					snprintf(f->err, sizeof(f->err), "too many branches");
					return -1;
				}
			}
			if (tl_is_call_target(c, next))
				break; /* fell into the next function */
			a = next;
		}
	}
	qsort(f->ins, f->n, sizeof(*f->ins), ins_cmp);
	return 0;
}

/* the argument values of the error call around the file-name load at k */
static void site_at(struct tl_fn *f, size_t k)
{
	int64_t slots[6];
	bool set[6] = {0};
	size_t lo = k, hi = k;
	int fs = f->ins[k].slot;
	int64_t lib, reason;

	while (lo > 0 && k - lo < 6 && !(f->ins[lo - 1].flags & F_BRANCH) &&
	       f->ins[lo - 1].addr + f->ins[lo - 1].size == f->ins[lo].addr)
		lo--;
	while (hi + 1 < f->n && hi - k < 6 && !(f->ins[hi].flags & F_BRANCH) &&
	       f->ins[hi].addr + f->ins[hi].size == f->ins[hi + 1].addr &&
	       !(f->ins[hi + 1].flags & F_BRANCH))
		hi++;
	for (size_t i = lo; i <= hi; i++) {
		const struct tl_ins *ti = &f->ins[i];

		if (ti->slot >= 0 && ti->slot < 6) {
			slots[ti->slot] = ti->imm;
			set[ti->slot] = true;
		}
		/* a register written otherwise loses its constant */
		for (int s = 0; s < 6; s++)
			if ((ti->writes & (1u << s)) && ti->slot != s)
				set[s] = false;
	}
	if (fs == 2 && set[0] && set[1]) { /* ERR_put_error(lib, reason, file, line) */
		lib = slots[0];
		reason = slots[1];
	} else if (fs == 3 && set[0] && set[2]) { /* (lib, 0, reason, file, line) */
		lib = slots[0];
		reason = slots[2];
	} else {
		return;
	}
	if ((lib != ERR_LIB_SSL && lib != ERR_LIB_CIPHER) || reason <= 0 || reason > 0xffff)
		return;
	/* a cipher reason is kept apart from the SSL ones (R_CIPHER) */
	if (lib == ERR_LIB_CIPHER)
		reason = R_CIPHER(reason);
	for (size_t i = 0; i < f->nreasons; i++)
		if (f->reasons[i] == (uint32_t)reason)
			return;
	if (f->nreasons < TL_MAX_REASONS)
		f->reasons[f->nreasons++] = (uint32_t)reason;
}

/* argument registers read before written on some path from the entry */
static int live_in(struct tl_fn *f)
{
	/* visited (instruction, written-set of the 4 argument registers) */
	uint16_t *seen = calloc(f->n ? f->n : 1, sizeof(*seen));
	struct {
		size_t i;
		uint8_t w;
	} *st = malloc((f->n * 16 + 1) * sizeof(*st));
	size_t n = 0;

	if (!seen || !st) {
		free(seen);
		free(st);
		return -ENOMEM;
	}
	if (f->n) {
		st[n].i = 0;
		st[n++].w = 0;
	}
	while (n) {
		size_t i = st[--n].i;
		uint8_t w = st[n].w;

		for (;;) {
			const struct tl_ins *ti = &f->ins[i];
			ssize_t j;

			if (seen[i] & (1u << w))
				break;
			seen[i] |= (uint16_t)(1u << w);
			f->livein |= ti->reads & A_ARGS4 & ~w;
			w |= ti->writes & A_ARGS4;
			if (ti->flags & F_CALL)
				w = A_ARGS4; /* clobbered by the callee */
			if (ti->target && !(ti->flags & F_CALL)) {
				j = ins_find(f, ti->target);
				if (j >= 0 && n < f->n * 16) {
					st[n].i = (size_t)j;
					st[n++].w = w;
				}
			}
			if (ti->flags & F_STOP)
				break;
			j = ins_find(f, ti->addr + ti->size);
			if (j < 0)
				break;
			i = (size_t)j;
		}
	}
	free(seen);
	free(st);
	return 0;
}

/* decode the function at va, within maxlen bytes (0: the window); *out NULL
 * with why when it is not one */
static int fn_decode_n(const struct tl_ctx *c, uint64_t va, uint64_t maxlen, struct tl_fn **out,
		       char *why, size_t whylen)
{
	struct dec d = {0};
	struct tl_fn *f = calloc(1, sizeof(*f));
	uint64_t off, avail;
	uint8_t *code = NULL;
	size_t cap = 0;
	int err = 0;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->start = va;
	if (tl_va2off(c, va, true, &off, &avail)) {
		snprintf(why, whylen, "not in an executable segment");
		goto out;
	}
	d.len = avail < TL_WIN ? (size_t)avail : TL_WIN;
	if (maxlen && maxlen < d.len)
		d.len = (size_t)maxlen;
	d.base = va;
	code = malloc(d.len);
	d.start_bm = calloc(d.len / 8 + 1, 1);
	d.cover_bm = calloc(d.len / 8 + 1, 1);
	d.stack = malloc(TL_MAX_INSNS * sizeof(*d.stack));
	if (!code || !d.start_bm || !d.cover_bm || !d.stack) {
		err = -ENOMEM;
		goto out;
	}
	err = tl_read(c, off, code, d.len);
	if (err)
		goto out;
	d.code = code;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &d.h) != CS_ERR_OK) {
		err = -ENOMEM;
		goto out;
	}
	cs_option(d.h, CS_OPT_DETAIL, CS_OPT_ON);
	d.insn = cs_malloc(d.h);
	if (!d.insn) {
		err = -ENOMEM;
		goto out_cs;
	}
	if (descend(c, &d, f, &cap)) {
		if (!strcmp(f->err, "out of memory"))
			err = -ENOMEM;
		snprintf(why, whylen, "%s", f->err);
		goto out_insn;
	}
	for (size_t k = 0; k < f->n; k++)
		if (f->ins[k].flags & F_FILEREF)
			site_at(f, k);
	err = live_in(f);
	if (!err) {
		*out = f;
		f = NULL;
	}
out_insn:
	cs_free(d.insn, 1);
out_cs:
	cs_close(&d.h);
out:
	free(code);
	free(d.start_bm);
	free(d.cover_bm);
	free(d.stack);
	fn_free(f);
	return err;
}

static int fn_decode(const struct tl_ctx *c, uint64_t va, struct tl_fn **out, char *why,
		     size_t whylen)
{
	return fn_decode_n(c, va, 0, out, why, whylen);
}

/* the direct calls of f to t: how many, the address after the last; jumps to t */
static size_t calls_to(const struct tl_fn *f, uint64_t t, uint64_t *ret, size_t *jumps)
{
	size_t n = 0;

	*jumps = 0;
	for (size_t k = 0; k < f->n; k++) {
		if (f->ins[k].target != t)
			continue;
		if (f->ins[k].flags & F_CALL) {
			*ret = f->ins[k].addr + f->ins[k].size;
			n++;
		} else {
			(*jumps)++;
		}
	}
	return n;
}

int tl_x86_common_callee(const struct tl_ctx *c, uint64_t a, uint64_t alen, uint64_t b,
			 uint64_t blen, uint64_t *callee, uint64_t *ret_a, uint64_t *ret_b,
			 char *ev, size_t evlen, char *why, size_t whylen)
{
	struct tl_fn *fa = NULL, *fb = NULL, *ft = NULL;
	uint64_t found = 0;
	size_t ncommon = 0, ja = 0, jb = 0;
	char w[120] = "";
	int err;

	err = fn_decode_n(c, a, alen, &fa, w, sizeof(w));
	if (!err && !fa) {
		snprintf(why, whylen, "the first caller at 0x%llx: %s", (unsigned long long)a, w);
		goto out;
	}
	if (!err)
		err = fn_decode_n(c, b, blen, &fb, w, sizeof(w));
	if (!err && !fb) {
		snprintf(why, whylen, "the second caller at 0x%llx: %s", (unsigned long long)b, w);
		goto out;
	}
	if (err)
		goto out;
	for (size_t i = 0; i < fa->ncallees; i++)
		for (size_t j = 0; j < fb->ncallees; j++)
			if (fa->callees[i] == fb->callees[j] && fa->callees[i] != a &&
			    fa->callees[i] != b) {
				found = fa->callees[i];
				ncommon++;
			}
	if (ncommon != 1) {
		snprintf(why, whylen, "%zu functions called by both (one expected)", ncommon);
		goto out;
	}
	/* one call each, no tail jump: the return address tells the callers apart */
	if (calls_to(fa, found, ret_a, &ja) != 1 || calls_to(fb, found, ret_b, &jb) != 1 || ja ||
	    jb) {
		snprintf(why, whylen, "0x%llx is not called exactly once by each (or jumped to)",
			 (unsigned long long)found);
		goto out;
	}
	err = fn_decode(c, found, &ft, w, sizeof(w));
	if (!err && !ft) {
		snprintf(why, whylen, "the callee at 0x%llx: %s", (unsigned long long)found, w);
		goto out;
	}
	if (err)
		goto out;
	if (ft->entry_branch || ft->n < 16) {
		snprintf(why, whylen, "the callee at 0x%llx is a stub (%zu instructions%s)",
			 (unsigned long long)found, ft->n,
			 ft->entry_branch ? ", starts with a jump" : "");
		goto out;
	}
	if ((ft->livein & (A_RDI | A_RSI | A_RDX)) != (A_RDI | A_RSI | A_RDX)) {
		snprintf(why, whylen, "the callee at 0x%llx does not read rdi, rsi and rdx first",
			 (unsigned long long)found);
		goto out;
	}
	*callee = found;
	snprintf(ev, evlen,
		 "the one function both call (once each, at 0x%llx and 0x%llx); %zu insns decoded; "
		 "args rdi,rsi,rdx read",
		 (unsigned long long)(*ret_a), (unsigned long long)(*ret_b), ft->n);
	why[0] = '\0';
out:
	fn_free(fa);
	fn_free(fb);
	fn_free(ft);
	return err;
}

/* --------------------------------------------------------- recognition */

static bool has_reason(const struct tl_fn *f, uint32_t r)
{
	for (size_t i = 0; i < f->nreasons; i++)
		if (f->reasons[i] == r)
			return true;
	return false;
}

static int reason_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void reasons_str(struct tl_fn *f, char *out, size_t cap)
{
	size_t o = 0;

	qsort(f->reasons, f->nreasons, sizeof(f->reasons[0]), reason_cmp);
	out[0] = '\0';
	for (size_t i = 0; i < f->nreasons && o < cap; i++) {
		int w = snprintf(out + o, cap - o, "%s%u", i ? "," : "", f->reasons[i] & 0xffff);

		if (w < 0)
			break;
		o += (size_t)w;
	}
}

static void args_str(unsigned int m, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s%s%s", m & A_RDI ? " rdi" : "", m & A_RSI ? " rsi" : "",
		 m & A_RDX ? " rdx" : "", m & A_RCX ? " rcx" : "");
}

/* the core error-site signatures */
static bool sig_write(const struct tl_fn *f)
{
	return has_reason(f, R_UNINITIALIZED) && has_reason(f, R_SSL_HANDSHAKE_FAILURE) &&
	       has_reason(f, R_BAD_LENGTH);
}

static bool sig_read_impl(const struct tl_fn *f)
{
	return has_reason(f, R_UNINITIALIZED) && has_reason(f, R_SSL_HANDSHAKE_FAILURE) &&
	       !has_reason(f, R_BAD_LENGTH) && !has_reason(f, R_SHOULD_NOT_HAVE_BEEN_CALLED);
}

static bool sig_read(const struct tl_fn *f)
{
	return has_reason(f, R_SHOULD_NOT_HAVE_BEEN_CALLED) && !has_reason(f, R_BAD_LENGTH) &&
	       !has_reason(f, R_APPLICATION_DATA_ON_SHUTDOWN);
}

/* a direct callee whose error sites satisfy pred; its address or 0 */
static int callee_with(const struct tl_ctx *c, const struct tl_fn *f,
		       bool (*pred)(const struct tl_fn *), uint64_t *found)
{
	*found = 0;
	for (size_t i = 0; i < f->ncallees && !*found; i++) {
		struct tl_fn *g;
		char why[8];
		int err = fn_decode(c, f->callees[i], &g, why, sizeof(why));

		if (err)
			return err;
		if (g && pred(g))
			*found = g->start;
		fn_free(g);
	}
	return 0;
}

static bool pred_handshake(const struct tl_fn *f)
{
	return has_reason(f, R_CONNECTION_TYPE_NOT_SET);
}

enum {
	CK_NOT = 0,
	CK_YES = 1,
	CK_BAD = 2
};

/*
 * Is f the function abi names? CK_YES (evidence), CK_NOT its error sites are
 * not abi's at all (no why), CK_BAD they are but a check failed (why), -errno.
 * SSL_write checked with rcx read before written is SSL_write_ex: then
 * *abi is changed.
 */
static int check(const struct tl_ctx *c, struct tl_fn *f, enum sl_tls_abi *abi, char *ev,
		 size_t evlen, char *why, size_t whylen)
{
	char rs[96], args[32];
	uint64_t sub = 0;
	int err;

	reasons_str(f, rs, sizeof(rs));
	args_str(f->livein, args, sizeof(args));
	switch (*abi) {
	case SL_TLS_ABI_SSL_WRITE:
	case SL_TLS_ABI_SSL_WRITE_EX:
		if (!sig_write(f))
			return CK_NOT;
		if (f->entry_branch) {
			snprintf(why, whylen, "the entry instruction is a branch");
			return CK_BAD;
		}
		if ((f->livein & (A_RDI | A_RSI | A_RDX)) != (A_RDI | A_RSI | A_RDX)) {
			snprintf(why, whylen,
				 "not the SSL_write ABI: arguments read before written:%s", args);
			return CK_BAD;
		}
		if (!f->indcalls) {
			snprintf(why, whylen, "no indirect call (method->write_app_data)");
			return CK_BAD;
		}
		*abi = f->livein & A_RCX ? SL_TLS_ABI_SSL_WRITE_EX : SL_TLS_ABI_SSL_WRITE;
		err = callee_with(c, f, pred_handshake, &sub);
		if (err)
			return err;
		snprintf(ev, evlen,
			 "ssl_lib.cc reasons {%s}; args%s; %u indirect calls; %s; %zu insns "
			 "decoded",
			 rs, args, f->indcalls,
			 sub ? "calls SSL_do_handshake" : "SSL_do_handshake not seen", f->n);
		return CK_YES;
	case SL_TLS_ABI_SSL_READ:
		if (!sig_read(f))
			return CK_NOT;
		err = callee_with(c, f, sig_read_impl, &sub);
		if (err)
			return err;
		if (!sub && !sig_read_impl(f)) {
			/* the same reasons, without ssl_read_impl: another function */
			return CK_NOT;
		}
		if (f->entry_branch) {
			snprintf(why, whylen, "the entry instruction is a branch");
			return CK_BAD;
		}
		if ((f->livein & (A_RDI | A_RSI | A_RDX)) != (A_RDI | A_RSI | A_RDX)) {
			snprintf(why, whylen,
				 "not the SSL_read ABI: arguments read before written:%s", args);
			return CK_BAD;
		}
		if (!f->stores) {
			snprintf(why, whylen,
				 "does not update the connection state: SSL_peek, not SSL_read");
			return CK_BAD;
		}
		snprintf(ev, evlen,
			 "ssl_lib.cc reasons {%s}; %s; args%s; %u state stores; %zu insns "
			 "decoded",
			 rs, sub ? "calls ssl_read_impl" : "ssl_read_impl inlined", args, f->stores,
			 f->n);
		return CK_YES;
	default:
		snprintf(why, whylen, "%s is not a BoringSSL function", sl_tls_abi_name(*abi));
		return CK_BAD;
	}
}

int tl_bssl_validate(struct tl_ctx *c, enum sl_tls_abi abi, uint64_t va, char *evidence,
		     size_t evlen, char *why, size_t whylen)
{
	enum sl_tls_abi got = abi;
	struct tl_fn *f;
	int ret;

	ret = fn_decode(c, va, &f, why, whylen);
	if (ret)
		return ret;
	if (!f)
		return 0;
	ret = check(c, f, &got, evidence, evlen, why, whylen);
	if (ret == CK_NOT)
		snprintf(why, whylen, "its error sites are not %s's", sl_tls_abi_name(abi));
	if (ret == CK_YES && got != abi) {
		snprintf(why, whylen, "the function is %s, not %s", sl_tls_abi_name(got),
			 sl_tls_abi_name(abi));
		ret = CK_NOT;
	}
	fn_free(f);
	return ret < 0 ? ret : ret == CK_YES;
}

/* the function around the error site at r: the nearest call target before
 * it whose decoding reaches r */
static int find_fn(struct tl_ctx *c, uint64_t r, struct tl_fn **out)
{
	unsigned int tries = 0;
	char why[120];

	*out = NULL;
	for (uint64_t a = r & ~15ULL; a + TL_WIN > r && a >= c->bm_base && tries < TL_START_TRIES;
	     a -= 16) {
		struct tl_fn *f;
		int err;

		if (!tl_is_call_target(c, a))
			continue;
		tries++;
		err = fn_decode(c, a, &f, why, sizeof(why));
		if (err)
			return err;
		if (f && ins_find(f, r) >= 0) {
			*out = f;
			return 0;
		}
		fn_free(f);
		if (a < 16)
			break;
	}
	return 0;
}

struct cand {
	uint64_t va;
	enum sl_tls_abi abi;
	char ev[200];
};

static void report(struct tl_ctx *c, enum sl_tls_abi abi, struct cand *v, size_t n,
		   size_t nrefs_lost)
{
	struct sl_tls_located *o = c->out;
	size_t used = strlen(o->reason);
	uint64_t off;

	if (n == 1 && !tl_va2off(c, v[0].va, true, &off, NULL)) {
		char ev[220];

		snprintf(ev, sizeof(ev), "%s; direct call target", v[0].ev);
		tl_add(c, v[0].abi, SL_TLS_HOW_SEARCH, v[0].va, off, true, ev);
		return;
	}
	if (used >= sizeof(o->reason) - 1)
		return;
	if (!n)
		snprintf(o->reason + used, sizeof(o->reason) - used,
			 "%s%s: no function with its error sites (%zu of %zu sites outside a "
			 "decodable function)",
			 used ? "; " : "", sl_tls_abi_name(abi), nrefs_lost, c->nrefs);
	else
		snprintf(o->reason + used, sizeof(o->reason) - used,
			 "%s%s: %zu candidates (0x%llx, 0x%llx%s): ambiguous, none used",
			 used ? "; " : "", sl_tls_abi_name(abi), n, (unsigned long long)v[0].va,
			 (unsigned long long)v[1].va, n > 2 ? ", ..." : "");
}

static bool located(const struct sl_tls_located *o, enum sl_tls_abi abi)
{
	for (size_t i = 0; i < o->nfuncs; i++)
		if (o->funcs[i].abi == abi)
			return true;
	return false;
}

/*
 * The functions around the error sites in c->refs (each decoded once, at
 * most TL_MAX_FNS): fns[*nfns]; *lost: sites outside a decodable function.
 * 0 or -errno (what was decoded is kept for the caller to free).
 */
static int error_site_fns(struct tl_ctx *c, struct tl_fn **fns, size_t *nfns, size_t *lost)
{
	for (size_t i = 0; i < c->nrefs; i++) {
		struct tl_fn *f;
		bool known = false;
		int err;

		for (size_t k = 0; k < *nfns && !known; k++)
			known = ins_find(fns[k], c->refs[i]) >= 0;
		if (known)
			continue;
		err = find_fn(c, c->refs[i], &f);
		if (err)
			return err;
		if (!f) {
			(*lost)++;
			continue;
		}
		if (*nfns < TL_MAX_FNS)
			fns[(*nfns)++] = f;
		else
			fn_free(f);
	}
	return 0;
}

int tl_bssl_search(struct tl_ctx *c)
{
	struct tl_fn *fns[TL_MAX_FNS];
	struct cand w[4], r[4];
	size_t nfns = 0, nw = 0, nr = 0, lost = 0;
	int err;

	err = error_site_fns(c, fns, &nfns, &lost);
	for (size_t k = 0; k < nfns && !err; k++) {
		enum sl_tls_abi abis[2] = {SL_TLS_ABI_SSL_WRITE, SL_TLS_ABI_SSL_READ};

		for (size_t j = 0; j < 2 && !err; j++) {
			enum sl_tls_abi abi = abis[j];
			char ev[200], why[160];
			int ret = check(c, fns[k], &abi, ev, sizeof(ev), why, sizeof(why));
			struct cand *v = j ? r : w;
			size_t *nv = j ? &nr : &nw;

			if (ret < 0)
				err = ret;
			else if (ret == CK_BAD)
				tl_reject(c, abi, SL_TLS_HOW_SEARCH, fns[k]->start, "%s", why);
			else if (ret == CK_YES && abi == SL_TLS_ABI_SSL_WRITE_EX)
				tl_reject(
				    c, abi, SL_TLS_HOW_SEARCH, fns[k]->start,
				    "SSL_write_ex-like (rcx read): not used, SSL_write wanted");
			else if (ret == CK_YES && *nv < SL_ARRAY_SIZE(w)) {
				v[*nv].va = fns[k]->start;
				v[*nv].abi = abi;
				snprintf(v[*nv].ev, sizeof(v[*nv].ev), "%s", ev);
				(*nv)++;
			}
		}
	}
	if (!err) {
		if (!located(c->out, SL_TLS_ABI_SSL_WRITE))
			report(c, SL_TLS_ABI_SSL_WRITE, w, nw, lost);
		if (!located(c->out, SL_TLS_ABI_SSL_READ))
			report(c, SL_TLS_ABI_SSL_READ, r, nr, lost);
	}
	for (size_t k = 0; k < nfns; k++)
		fn_free(fns[k]);
	return err;
}

/* ------------------------------------------------ aws-lc (rustls) */

/* f reports exactly the cipher reasons of want[0..n) from aead.c */
static bool reasons_are(const struct tl_fn *f, const uint32_t *want, size_t n)
{
	if (f->nreasons != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!has_reason(f, want[i]))
			return false;
	return true;
}

/*
 * Is f aws-lc's EVP_AEAD_CTX_seal, _seal_scatter or _open? By the reasons
 * its error sites report (aws-lc never renumbers them):
 *   seal          BUFFER_TOO_SMALL, OUTPUT_ALIASES_INPUT, TOO_LARGE
 *   seal_scatter  INVALID_OPERATION (extra_in), OUTPUT_ALIASES_INPUT
 *   open          BAD_DECRYPT, BUFFER_TOO_SMALL, CTRL_NOT_IMPLEMENTED (its
 *                 inlined open_gather), OUTPUT_ALIASES_INPUT
 * (the open functions report BAD_DECRYPT-side reasons, init the key's), one
 * indirect call (aead->seal_scatter), and the C ABI: rdi (ctx) and rsi
 * (out) read before written (the others may go to the call untouched).
 * CK_YES with *abi set, CK_NOT, CK_BAD (why).
 */
static int check_awslc(const struct tl_fn *f, enum sl_tls_abi *abi, char *ev, size_t evlen,
		       char *why, size_t whylen)
{
	static const uint32_t seal[] = {R_BUFFER_TOO_SMALL, R_OUTPUT_ALIASES_INPUT, R_TOO_LARGE};
	static const uint32_t scatter[] = {R_INVALID_OPERATION, R_OUTPUT_ALIASES_INPUT};
	/* open_gather reports CTRL_NOT_IMPLEMENTED and OUTPUT_ALIASES_INPUT alone */
	static const uint32_t open[] = {R_BAD_DECRYPT, R_BUFFER_TOO_SMALL, R_CTRL_NOT_IMPLEMENTED,
					R_OUTPUT_ALIASES_INPUT};
	char rs[96], args[32];

	if (reasons_are(f, seal, SL_ARRAY_SIZE(seal)))
		*abi = SL_TLS_ABI_AEAD_SEAL;
	else if (reasons_are(f, scatter, SL_ARRAY_SIZE(scatter)))
		*abi = SL_TLS_ABI_AEAD_SEAL_SCATTER;
	else if (reasons_are(f, open, SL_ARRAY_SIZE(open)))
		*abi = SL_TLS_ABI_AEAD_OPEN;
	else
		return CK_NOT;
	reasons_str((struct tl_fn *)f, rs, sizeof(rs));
	args_str(f->livein, args, sizeof(args));
	if (f->entry_branch) {
		snprintf(why, whylen, "the entry instruction is a branch");
		return CK_BAD;
	}
	if ((f->livein & (A_RDI | A_RSI)) != (A_RDI | A_RSI)) {
		snprintf(why, whylen, "not the C ABI of %s: arguments read before written:%s",
			 sl_tls_abi_name(*abi), args);
		return CK_BAD;
	}
	/* seal: aead->seal_scatter; open: aead->open and, inlined, ->open_gather */
	if (f->indcalls != 1 && !(*abi == SL_TLS_ABI_AEAD_OPEN && f->indcalls == 2)) {
		snprintf(why, whylen, "%u indirect calls, not %s", f->indcalls,
			 *abi == SL_TLS_ABI_AEAD_OPEN ? "one or two (aead->open, ->open_gather)"
						      : "one (aead->seal_scatter)");
		return CK_BAD;
	}
	snprintf(ev, evlen, "aead.c reasons {%s}; args%s; %u indirect call%s; %zu insns decoded",
		 rs, args, f->indcalls, f->indcalls > 1 ? "s" : "", f->n);
	return CK_YES;
}

int tl_awslc_search(struct tl_ctx *c)
{
	struct tl_fn *fns[TL_MAX_FNS];
	struct cand seal[4], scatter[4], open[4];
	size_t nfns = 0, nseal = 0, nscatter = 0, nopen = 0, lost = 0;
	int err;

	err = error_site_fns(c, fns, &nfns, &lost);
	for (size_t k = 0; k < nfns && !err; k++) {
		enum sl_tls_abi abi = SL_TLS_ABI_AEAD_SEAL;
		char ev[200], why[160];
		int ret = check_awslc(fns[k], &abi, ev, sizeof(ev), why, sizeof(why));
		struct cand *v = abi == SL_TLS_ABI_AEAD_SEAL	       ? seal
				 : abi == SL_TLS_ABI_AEAD_SEAL_SCATTER ? scatter
								       : open;
		size_t *nv = abi == SL_TLS_ABI_AEAD_SEAL	   ? &nseal
			     : abi == SL_TLS_ABI_AEAD_SEAL_SCATTER ? &nscatter
								   : &nopen;

		if (ret == CK_BAD) {
			tl_reject(c, abi, SL_TLS_HOW_SEARCH, fns[k]->start, "%s", why);
		} else if (ret == CK_YES && *nv < SL_ARRAY_SIZE(seal)) {
			v[*nv].va = fns[k]->start;
			v[*nv].abi = abi;
			snprintf(v[*nv].ev, sizeof(v[*nv].ev), "%s", ev);
			(*nv)++;
		}
	}
	/* both or nothing: rustls seals TLS 1.3 records with the one, TLS 1.2
	 * records with the other; half of them unseen is not instrumented */
	if (!err && nseal == 1 && nscatter == 1) {
		report(c, SL_TLS_ABI_AEAD_SEAL, seal, nseal, lost);
		report(c, SL_TLS_ABI_AEAD_SEAL_SCATTER, scatter, nscatter, lost);
		/* the reads: recorded when found once (nothing is judged on them) */
		if (nopen == 1)
			report(c, SL_TLS_ABI_AEAD_OPEN, open, nopen, lost);
	} else if (!err) {
		snprintf(c->out->reason, sizeof(c->out->reason),
			 "rustls on aws-lc: EVP_AEAD_CTX_seal found %zu times, "
			 "EVP_AEAD_CTX_seal_scatter %zu times (each must be found once; %zu of "
			 "%zu aead.c sites outside a decodable function): not located",
			 nseal, nscatter, lost, c->nrefs);
	}
	for (size_t k = 0; k < nfns; k++)
		fn_free(fns[k]);
	return err;
}

int tl_x86_validate_entry(const struct tl_ctx *c, uint64_t va, unsigned int need, char *ev,
			  size_t evlen, char *why, size_t whylen)
{
	char args[32];
	struct tl_fn *f;
	int ret;

	ret = fn_decode(c, va, &f, why, whylen);
	if (ret || !f)
		return ret ? ret : 0;
	args_str(f->livein, args, sizeof(args));
	if (f->entry_branch) {
		snprintf(why, whylen, "the entry instruction is a branch");
		ret = 0;
	} else if ((f->livein & need) != need) {
		snprintf(why, whylen, "arguments read before written:%s: not the ABI expected",
			 args);
		ret = 0;
	} else {
		snprintf(ev, evlen, "args%s; %zu insns decoded", args, f->n);
		ret = 1;
	}
	fn_free(f);
	return ret;
}
