// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Go: crypto/tls.(*Conn).Write and Read from .gopclntab (tls_locate.h). The
 * runtime needs its function table for stack traces and garbage collection,
 * so `go build -ldflags=-s -w` (no symbols, no DWARF) keeps it, names
 * included. Layouts (src/debug/gosym/pclntab.go, runtime/symtab.go):
 *   go1.2-1.15  magic 0xfffffffb: nfunc, then {entry, funcoff} uintptr pairs;
 *               names relative to the table
 *   go1.16-1.17 magic 0xfffffffa: header with offsets of funcnametab and
 *               pcln; {entry, funcoff} uintptr pairs
 *   go1.18+     magic 0xfffffff0 / 0xfffffff1 (1.20): header adds textStart;
 *               {entryoff, funcoff} uint32 pairs relative to textStart
 * Go functions use Go's register ABI: probes at entry only (a uretprobe
 * rewrites the return address, which Go's stack moves and traceback do not
 * tolerate).
 */
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>

#include "tls_locate_priv.h"
#include "util.h"

#define GO_PCLNTAB_MAX (512ull << 20)

static const struct {
	const char *name;
	enum sl_tls_abi abi;
} go_funcs[] = {
    {"crypto/tls.(*Conn).Write", SL_TLS_ABI_GO_CONN_WRITE},
    {"crypto/tls.(*Conn).Read", SL_TLS_ABI_GO_CONN_READ},
    {"crypto/tls.(*Conn).handshakeContext", SL_TLS_ABI_GO_CONN_HANDSHAKE},
};

static uint64_t rd(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	memcpy(&v, p, n); /* little endian host and file (x86-64) */
	return v;
}

/* the first instruction at va decodes and is not a branch; its text in out */
static bool entry_ok(const struct tl_ctx *c, uint64_t va, char *out, size_t cap)
{
	uint8_t code[16];
	uint64_t off, avail;
	cs_insn *in = NULL;
	csh h;
	size_t n = 0;
	bool ok = false;

	if (tl_va2off(c, va, true, &off, &avail) || avail < sizeof(code) ||
	    tl_read(c, off, code, sizeof(code)))
		return false;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return false;
	n = cs_disasm(h, code, sizeof(code), va, 1, &in);
	if (n == 1 && in[0].mnemonic[0] != 'j' && strcmp(in[0].mnemonic, "ret") &&
	    strcmp(in[0].mnemonic, "int3")) {
		snprintf(out, cap, "%.16s %.40s", in[0].mnemonic, in[0].op_str);
		ok = true;
	}
	if (n)
		cs_free(in, n);
	cs_close(&h);
	return ok;
}

int tl_go_locate(struct tl_ctx *c)
{
	struct sl_tls_located *o = c->out;
	uint64_t size = c->gopclntab_size;
	uint64_t nfunc, text = 0, nametab = 0, pcln = 0;
	unsigned int ptr, ver;
	uint8_t *t = NULL;
	uint32_t magic;
	int err = 0;
	bool found[SL_ARRAY_SIZE(go_funcs)] = {0};

	if (!c->gopclntab_off || size < 64) {
		snprintf(o->reason, sizeof(o->reason),
			 "Go crypto/tls: no .gopclntab section (section headers stripped): "
			 "functions not located");
		return 0;
	}
	if (size > GO_PCLNTAB_MAX) {
		snprintf(o->reason, sizeof(o->reason), "Go: .gopclntab of %llu bytes: too large",
			 (unsigned long long)size);
		return 0;
	}
	t = malloc(size);
	if (!t)
		return -ENOMEM;
	err = tl_read(c, c->gopclntab_off, t, size);
	if (err)
		goto out;
	magic = (uint32_t)rd(t, 4);
	ptr = t[7];
	if (t[4] || t[5] || ptr != 8) {
		snprintf(o->reason, sizeof(o->reason), "Go: .gopclntab header not understood");
		goto out;
	}
	switch (magic) {
	case 0xfffffffb:
		ver = 12;
		nfunc = rd(t + 8, 8);
		pcln = 0;
		break;
	case 0xfffffffa:
		ver = 116;
		nfunc = rd(t + 8, 8);
		nametab = rd(t + 8 + 2 * 8, 8);
		pcln = rd(t + 8 + 6 * 8, 8);
		break;
	case 0xfffffff0:
	case 0xfffffff1:
		ver = 118;
		nfunc = rd(t + 8, 8);
		text = rd(t + 8 + 2 * 8, 8);
		nametab = rd(t + 8 + 3 * 8, 8);
		pcln = rd(t + 8 + 7 * 8, 8);
		break;
	default:
		snprintf(o->reason, sizeof(o->reason), "Go: unknown .gopclntab magic 0x%08x",
			 magic);
		goto out;
	}
	if (ver == 12)
		pcln = 8 + 8; /* functab right after nfunc */
	if (!text && ver == 118) {
		/* a PIE: textStart is filled by a relocation at run time; the Go
		 * linker puts runtime.text at the start of .text */
		text = c->text_vaddr;
		if (!text) {
			snprintf(o->reason, sizeof(o->reason),
				 "Go: .gopclntab textStart is 0 (PIE) and no .text section");
			goto out;
		}
	}
	for (uint64_t i = 0; i < nfunc; i++) {
		uint64_t ent, fo, entry;
		int64_t nameoff;
		const char *name;
		uint64_t nbase;

		if (ver == 118) {
			ent = pcln + i * 8;
			if (ent + 8 > size)
				break;
			entry = text + rd(t + ent, 4);
			fo = pcln + rd(t + ent + 4, 4);
			if (fo + 8 > size)
				continue;
			nameoff = (int32_t)rd(t + fo + 4, 4);
			nbase = nametab;
		} else {
			ent = pcln + i * 16;
			if (ent + 16 > size)
				break;
			entry = rd(t + ent, 8);
			fo = (ver == 116 ? pcln : 0) + rd(t + ent + 8, 8);
			if (fo + 12 > size)
				continue;
			nameoff = (int32_t)rd(t + fo + 8, 4);
			nbase = ver == 116 ? nametab : 0;
		}
		if (nameoff < 0 || nbase + (uint64_t)nameoff >= size)
			continue;
		name = (const char *)t + nbase + nameoff;
		if (name[0] != 'c' || strncmp(name, "crypto/tls.(*Conn).", 19))
			continue;
		for (size_t k = 0; k < SL_ARRAY_SIZE(go_funcs); k++) {
			uint64_t off;
			char ev[200], ins[80];

			if (found[k] ||
			    strnlen(name, size - nbase - (uint64_t)nameoff) ==
				size - nbase - (uint64_t)nameoff ||
			    strcmp(name, go_funcs[k].name))
				continue;
			found[k] = true;
			c->go_tls_funcs = true;
			if (tl_va2off(c, entry, true, &off, NULL)) {
				tl_reject(c, go_funcs[k].abi, SL_TLS_HOW_GOPCLNTAB, entry,
					  "entry not in an executable segment");
				continue;
			}
			if (!entry_ok(c, entry, ins, sizeof(ins))) {
				tl_reject(c, go_funcs[k].abi, SL_TLS_HOW_GOPCLNTAB, entry,
					  "entry instruction does not decode or is a branch");
				continue;
			}
			snprintf(ev, sizeof(ev), "gopclntab (%s layout) names it; entry '%s'",
				 ver == 118   ? "go1.18+"
				 : ver == 116 ? "go1.16"
					      : "go1.2",
				 ins);
			tl_add(c, go_funcs[k].abi, SL_TLS_HOW_GOPCLNTAB, entry, off, false, ev);
		}
	}
	if (c->go_tls_funcs && !found[0])
		snprintf(o->reason, sizeof(o->reason),
			 "Go: crypto/tls.(*Conn) functions but no Write in .gopclntab");
out:
	free(t);
	return err;
}
