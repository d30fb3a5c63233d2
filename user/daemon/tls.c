// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * TLS instrumentation (tls.h): which files get the uprobes of bpf/tls.bpf.c,
 * and which executables do TLS where no uprobe can see it.
 *
 * Targets. A file that defines TLS functions (a target) is instrumented per
 * process: its uprobes are attached for one session process at a time (a
 * pid-filtered uprobe puts its breakpoint in that process' memory only), so
 * processes outside sessions never trap. The kernel's TLS gate
 * (bpf/tlsgate.bpf.h) stops a session process that execs or maps a target
 * (SL_TLS_EXE_TARGET) and a fork of a process with probes, until this room
 * attached that process' probes ("per-process probes" below); they are
 * detached when it exits, by a thread of their own (a detach waits for a
 * kernel grace period). At start: every libssl.so.N and libgnutls.so.N of the native
 * architecture (ldconfig's cache and the standard library directories,
 * symlinks resolved, deduplicated by device and inode) and known executables
 * that embed OpenSSL with exported symbols (node). At each session exec: the
 * executable itself when it defines the entry points (.dynsym, or .symtab of
 * an unstripped static binary), and the TLS libraries it links (DT_NEEDED,
 * transitively), so a library outside the standard directories or replaced
 * by an upgrade (new inode) is attached too.
 *
 * Blind spots. An executable that carries a TLS implementation without
 * instrumentable entry points (Go's crypto/tls, static OpenSSL without
 * symbols, BoringSSL, rustls, mbed TLS, wolfSSL) or links a TLS library
 * scopelock does not instrument (NSS, ...) is reported once per session as a
 * "tls_blind_spot" record and listed in status: never silently skipped.
 * Detection reads the ELF headers with libelf, and for static, stripped or Go
 * binaries searches the file (mmap + memmem, bounded) for TLS library marker
 * strings (tls_elf.c). Results are cached by (dev, inode, mtime).
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
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "jsonbytes.h"
#include "kernel.h"
#include "log.h"
#include "peer.h"
#include "scopelock_events.h"
#include "tls.h"
#include "tls_locate.h"
#include "tls_priv.h"
#include "util.h"

/*
 * Writes and handshakes need no return probe (bpf/tls.bpf.c learns the peer
 * from the next socket I/O); every probe costs a kernel grace period when it
 * is detached, so there are as few as possible. SSL_connect and SSL_accept
 * call SSL_do_handshake.
 */
const struct tls_func sl_tls_funcs[] = {
    {"SSL_write", LIB_OPENSSL, "sl_ssl_write", NULL, true, false},
    {"SSL_write_ex", LIB_OPENSSL, "sl_ssl_write_ex", NULL, true, false},
    {"SSL_read", LIB_OPENSSL, "sl_ssl_read", "sl_tls_read_ret", false, false},
    {"SSL_read_ex", LIB_OPENSSL, "sl_ssl_read_ex", "sl_tls_read_ret", false, false},
    {"SSL_do_handshake", LIB_OPENSSL, "sl_tls_hs_enter", NULL, false, false},
    {"SSL_ctrl", LIB_OPENSSL, "sl_ssl_ctrl", NULL, false, false},
    {"SSL_free", LIB_OPENSSL, "sl_tls_free", NULL, false, false},
    /* gnutls_record_send and gnutls_record_send_file go through it (GnuTLS >= 3.6.3) */
    {"gnutls_record_send2", LIB_GNUTLS, "sl_gnutls_send", NULL, true, false},
    {"gnutls_record_recv", LIB_GNUTLS, "sl_gnutls_recv", "sl_tls_read_ret", false, false},
    {"gnutls_handshake", LIB_GNUTLS, "sl_tls_hs_enter", NULL, false, false},
    {"gnutls_server_name_set", LIB_GNUTLS, "sl_gnutls_sni", NULL, false, false},
    {"gnutls_deinit", LIB_GNUTLS, "sl_tls_free", NULL, false, false},
    /* located without symbols (user/lib/tls_locate.h) */
    {"SSL_write", LIB_BORINGSSL, "sl_ssl_write", NULL, true, true, SL_TLS_BORINGSSL},
    {"SSL_read", LIB_BORINGSSL, "sl_ssl_read", "sl_tls_read_ret", false, true, SL_TLS_BORINGSSL},
    {"crypto/tls.(*Conn).Write", LIB_GO, "sl_go_tls_write", NULL, true, true},
    /* entry only: the connection's peer from the socket I/O that follows */
    {"crypto/tls.(*Conn).Read", LIB_GO, "sl_go_tls_enter", NULL, false, true},
    {"crypto/tls.(*Conn).handshakeContext", LIB_GO, "sl_go_tls_enter", NULL, false, true},
    /* GnuTLS write entry points of their own (session, data, size first) */
    {"gnutls_record_send_range", LIB_GNUTLS, "sl_gnutls_send", NULL, true, false},
    {"gnutls_record_send_early_data", LIB_GNUTLS, "sl_gnutls_send", NULL, true, false},
    /* located (user/lib/tls_locate.h) where SSL_write and SSL_write_ex are
     * defined: the writes through neither (BIO_f_ssl); per-file cookie */
    {"ssl_write_internal", LIB_OPENSSL, "sl_ssl_write_inner", NULL, true, true},
    /* rustls on aws-lc: each TLS record's plaintext where it is sealed
     * (located; the kernel checks the record's header, bpf/tls.bpf.c) */
    {"EVP_AEAD_CTX_seal", LIB_RUSTLS, "sl_aead_seal", NULL, true, true, SL_TLS_RUSTLS},
    {"EVP_AEAD_CTX_seal_scatter", LIB_RUSTLS, "sl_aead_seal_scatter", NULL, true, true,
     SL_TLS_RUSTLS},
    /* rustls on ring: ring's seals (located from its algorithm statics) */
    {"ring aes_gcm_seal", LIB_RUSTLS, "sl_ring_seal", NULL, true, true, SL_TLS_RUSTLS},
    {"ring chacha20_poly1305_seal", LIB_RUSTLS, "sl_ring_seal", NULL, true, true, SL_TLS_RUSTLS},
    /* rustls on aws-lc: each record's plaintext where it is opened (recorded) */
    {"EVP_AEAD_CTX_open", LIB_RUSTLS, "sl_aead_open", "sl_tls_read_ret", false, true,
     SL_TLS_RUSTLS},
};
/* indexes of the located ones */
enum {
	FN_BSSL_WRITE = 12,
	FN_BSSL_READ = 13,
	FN_GO_WRITE = 14,
	FN_GO_READ = 15,
	FN_GO_HS = 16,
	FN_SSL_WRITE = 0,
	FN_SSL_WRITE_EX = 1,
	FN_SSL_INNER = 19,
	FN_AEAD_SEAL = 20,
	FN_AEAD_SEAL_SCATTER = 21,
	FN_RING_SEAL_AES = 22,
	FN_RING_SEAL_CHACHA = 23,
	FN_AEAD_OPEN = 24,
};
_Static_assert(SL_ARRAY_SIZE(sl_tls_funcs) == N_FUNCS, "function count");
_Static_assert(N_FUNCS <= 64, "function bitmask");

static uint64_t capture_mask(void)
{
	uint64_t m = 0;

	for (size_t i = 0; i < N_FUNCS; i++)
		if (sl_tls_funcs[i].capture)
			m |= 1ULL << i;
	return m;
}

/* shared libraries found at start */
static const char *const lib_prefixes[] = {"libssl.so.", "libgnutls.so."};
/* executables known to embed OpenSSL with exported symbols */
static const char *const known_executables[] = {"/usr/bin/node", "/usr/local/bin/node",
						"/usr/bin/nodejs"};
static const char *const lib_dirs[] = {
    "/lib/" SL_MULTIARCH, "/usr/lib/" SL_MULTIARCH, "/lib64", "/usr/lib64", "/lib",
    "/usr/lib",		  "/usr/local/lib",
};

/* shared TLS libraries scopelock does not instrument (soname prefix) */
static const struct {
	const char *prefix;
	const char *what;
} foreign_libs[] = {
    {"libssl3.so", "NSS (libssl3.so)"},
    {"libmbedtls.so", "mbed TLS (libmbedtls.so)"},
    {"libwolfssl.so", "wolfSSL (libwolfssl.so)"},
    {"libtls.so", "LibreSSL libtls (libtls.so)"},
    {"libboringssl", "BoringSSL"},
    {"libs2n.so", "s2n-tls (libs2n.so)"},
    {"libbotan", "Botan"},
};

struct tls_target {
	char *path;
	int fd; /* kept open: probes are attached through it, per process */
	dev_t dev;
	ino_t ino;
	const char *origin;	  /* "system library", "known executable", "session exec" */
	unsigned int libs;	  /* enum tls_lib */
	uint64_t present;	  /* functions the file defines */
	uint64_t attached;	  /* functions with their programs: attached per process */
	uint64_t off[N_FUNCS];	  /* file offsets of the functions */
	uint64_t cookie[N_FUNCS]; /* per-file attach cookies (0: the function's own) */
	json_t *errors;		  /* [{"function", "error"}] */
	json_t *located;	  /* functions located without symbols, or NULL */
	uint64_t procs;		  /* processes it was attached for */
	uint64_t failures;	  /* processes it could not be attached for */
	/* a located SSL_write: its live confirmation (sl_tls_locs, scopelock_abi.h) */
	uint32_t loc_key;	    /* 0: none */
	struct sl_tls_loc loc;	    /* as last read */
	struct blind_spot *refuted; /* refuted: the blind spot its execs are */
};

/* the probes of one target attached for one session process */
struct proc_probe {
	pid_t pid;
	unsigned long long start; /* its start time (ns after boot): the pid's process */
	int pidfd;		  /* -1: adopted from a previous daemon */
	struct tls_target *tg;	  /* NULL: adopted, file not known to this daemon */
	dev_t dev;		  /* the file (also when tg is NULL) */
	ino_t ino;
	uint64_t attached;	 /* functions */
	struct bpf_link **links; /* perf event links, and adopted ones */
	size_t nlinks;
	int *fds;    /* uprobe_multi links (one per program) */
	char **pins; /* their pins (NULL: not pinned) */
	size_t nfds;
};

/* a link to detach: a libbpf one, or the descriptor of a uprobe_multi link */
struct reap_item {
	struct bpf_link *l;
	int fd;
};

/* detaches per-process probes off the event loop (a detach waits a grace period) */
struct reaper {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct reap_item *q;
	size_t n, cap;
	bool started, stop;
	uint64_t done; /* links detached */
};

struct blind_spot {
	char *path;
	dev_t dev;
	ino_t ino;
	const char *impl; /* sl_tls_impl_name(), or "library" (links one not instrumented) */
	char *reason;
	char *marker;
	json_t *sessions; /* session ids already told (strings) */
	uint64_t execs;
};

/* cache of executables and libraries seen, by (dev, ino, ctime): ctime cannot be set back */
enum exe_verdict {
	EXE_NONE = 0, /* no TLS seen */
	EXE_TARGET,   /* instrumented (itself or its TLS libraries) */
	EXE_BLIND,    /* blind spot */
};

struct exe_cache {
	dev_t dev;
	ino_t ino;
	struct timespec ctime;
	enum exe_verdict verdict;
	struct blind_spot *blind; /* EXE_BLIND */
	char **libs;		  /* TLS libraries it links (re-checked on each exec) */
	size_t nlibs;
};

struct soname {
	char *name;
	char *path;
};

/* a process held by the TLS gate, seen at a tick */
struct gate_seen {
	uint32_t pid;
	uint64_t exec_id;
};

struct sl_tls {
	struct sl_kernel *kernel;
	struct gate_seen seen[SL_TLS_GATE_SWEEP];
	size_t nseen;
	struct gate_seen mapseen[SL_TLS_GATE_SWEEP]; /* .exec_id: the inode */
	size_t nmapseen;
	sl_tls_report_fn report;
	void *report_ctx;
	struct bpf_program *entry[N_FUNCS];
	struct bpf_program *ret[N_FUNCS];
	struct tls_target **targets;
	size_t ntargets;
	struct blind_spot **blind;
	size_t nblind;
	void *cache;		/* tsearch tree of struct exe_cache */
	struct soname *sonames; /* ldconfig cache */
	size_t nsonames;
	char **watch; /* system library paths, re-checked for a new inode */
	size_t nwatch;
	uint64_t last_recheck_ns;
	uint64_t scans;		/* files searched for markers (status) */
	uint64_t released;	/* processes the TLS gate held at exec and let go */
	uint64_t map_released;	/* the same, held while mapping a new file */
	uint64_t held_ns;	/* time spent analysing while they were held */
	struct proc_probe **pp; /* per-process probes */
	size_t npp;
	struct reaper reaper;
	uint64_t attach_ns;	/* time spent attaching per-process probes */
	uint64_t fork_released; /* forks of processes with probes let go */
	uint64_t last_gc_ns;
	bool keep; /* the daemon stops, its enforcement stays */
};

/* ---------------------------------------------------------------- utils */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------- attachment */

static void target_free(struct tls_target *tg)
{
	if (!tg)
		return;
	if (tg->fd >= 0)
		close(tg->fd);
	json_decref(tg->errors);
	json_decref(tg->located);
	free(tg->path);
	free(tg);
}

static struct tls_target *target_find(struct sl_tls *t, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < t->ntargets; i++)
		if (t->targets[i]->dev == dev && t->targets[i]->ino == ino)
			return t->targets[i];
	return NULL;
}

/*
 * One uprobe for process pid, by file offset (computed by elf_inspect from
 * our own reading of the file: libbpf's func_name lookup would map the file
 * again) on apath, a /proc/self/fd/N path: the kernel resolves it to the
 * inode that was inspected, even if the path was renamed over meanwhile.
 */
static struct bpf_link *attach_one(struct bpf_program *prog, pid_t pid, const char *apath,
				   uint64_t off, bool retprobe, uint64_t cookie, int *err)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe, .bpf_cookie = cookie);
	struct bpf_link *l;

	l = bpf_program__attach_uprobe_opts(prog, pid, apath, (size_t)off, &opts);
	if (!l)
		*err = -errno;
	return l;
}

static void target_error(struct tls_target *tg, const char *func, const char *what, int err)
{
	char msg[256];
	json_t *e;

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(-err));
	log_warn("tls: attach %s to '%s' failed: %s", func, tg->path, msg);
	e = json_pack("{s:s, s:s}", "function", func, "error", msg);
	if (e)
		json_array_append_new(tg->errors, e);
}

/*
 * The functions of the file that get probes (attached per process, proc_attach):
 * those defined whose programs are loaded.
 */
static void target_arm(struct sl_tls *t, struct tls_target *tg)
{
	for (size_t i = 0; i < N_FUNCS; i++) {
		const struct tls_func *f = &sl_tls_funcs[i];

		if (!(tg->present & (1ULL << i)) || (tg->attached & (1ULL << i)))
			continue;
		if (!t->entry[i] || (f->ret && !t->ret[i])) {
			target_error(tg, f->name, "BPF program not loaded", -ENOENT);
			continue;
		}
		tg->attached |= 1ULL << i;
	}
}

static const char *target_status(const struct tls_target *tg)
{
	if (!(tg->attached & capture_mask()))
		return "failed";
	if (tg->attached != tg->present)
		return "partial";
	return "attached";
}

/*
 * Make path (a resolved real file, open as fd) a target if it defines a TLS
 * write entry point. *out: the target (new or existing), NULL when the file
 * has nothing to instrument. 0 or -errno.
 */
/*
 * OpenSSL 3: where SSL_write and SSL_write_ex are defined, the function both
 * call (ssl_write_internal) gets a probe too, for the writes that enter
 * through neither (BIO_f_ssl). Not found or not validated: said, and the
 * library is instrumented as before (those writes are not seen).
 */
static void locate_inner(struct tls_target *tg, int fd, const struct elf_info *ei)
{
	struct sl_tls_openssl_writes w = {
	    .write_va = ei->addr[FN_SSL_WRITE],
	    .write_size = ei->size[FN_SSL_WRITE],
	    .write_ex_va = ei->addr[FN_SSL_WRITE_EX],
	    .write_ex_size = ei->size[FN_SSL_WRITE_EX],
	};
	struct sl_tls_inner in;
	char why[160];
	json_t *e;
	int err;

	if ((tg->present & ((1ULL << FN_SSL_WRITE) | (1ULL << FN_SSL_WRITE_EX))) !=
	    ((1ULL << FN_SSL_WRITE) | (1ULL << FN_SSL_WRITE_EX)))
		return;
	err = sl_tls_locate_openssl_inner(fd, &w, &in, why, sizeof(why));
	if (err)
		snprintf(why, sizeof(why), "%s", strerror(-err));
	if (err || why[0]) {
		log_info("tls: '%s': ssl_write_internal not located (%s): writes through "
			 "BIO_f_ssl are not captured",
			 tg->path, why);
		e = json_pack("{s:s, s:s}", "function", "ssl_write_internal", "error", why);
		if (e)
			json_array_append_new(tg->errors, e);
		return;
	}
	tg->present |= 1ULL << FN_SSL_INNER;
	tg->off[FN_SSL_INNER] = in.offset;
	tg->cookie[FN_SSL_INNER] = (uint64_t)(uint32_t)(int32_t)(in.ret_write - in.vaddr) |
				   (uint64_t)(uint32_t)(int32_t)(in.ret_write_ex - in.vaddr) << 32;
	log_debug("tls: '%s': ssl_write_internal at 0x%llx: %s", tg->path,
		  (unsigned long long)in.vaddr, in.evidence);
}

/* the located write of tg confirmed on live traffic (its key's offset), -1 if none */
static int loc_write_index(const struct tls_target *tg)
{
	if (tg->present & (1ULL << FN_BSSL_WRITE))
		return FN_BSSL_WRITE;
	if (tg->present & (1ULL << FN_AEAD_SEAL))
		return FN_AEAD_SEAL;
	if (tg->present & (1ULL << FN_RING_SEAL_AES))
		return FN_RING_SEAL_AES;
	return -1;
}

/* "BoringSSL: the located SSL_write", "rustls: the located EVP_AEAD_CTX_seal" */
static const char *loc_impl(const struct tls_target *tg)
{
	return (tg->libs & LIB_RUSTLS) ? "rustls" : "BoringSSL";
}

/*
 * A located write (BoringSSL's SSL_write, aws-lc's seals under rustls): its
 * key in sl_tls_locs (the entry of this file and
 * offset: a restarted daemon finds the state the kernel kept, and the probes
 * it adopts carry the same key) goes in its attach cookie. The kernel takes
 * a kill on its captures as a hold until live traffic confirmed it
 * (bpf/tls.bpf.c, sl_tls_confirm_io). Without an entry (the map full) its
 * key is SL_TLS_LOC_NONE: unconfirmed for good, holds, never kills.
 */
static void loc_arm(struct sl_tls *t, struct tls_target *tg)
{
	uint32_t key = SL_TLS_LOC_NONE;
	int k = loc_write_index(tg), err;

	if (tg->loc_key || k < 0)
		return;
	err = sl_kernel_tls_loc_find(t->kernel, (uint64_t)tg->dev, (uint64_t)tg->ino, tg->off[k],
				     &key);
	if (err) {
		log_warn("tls: '%s': the located %s cannot be confirmed on live traffic "
			 "(%s): its kill verdicts stay holds for a person",
			 tg->path, sl_tls_funcs[k].name, strerror(-err));
		key = SL_TLS_LOC_NONE;
	}
	tg->loc_key = key;
	/* one location per file: both of aws-lc's seals share it */
	for (size_t i = 0; i < N_FUNCS; i++)
		if (sl_tls_funcs[i].located && sl_tls_funcs[i].capture && sl_tls_funcs[i].cookie &&
		    (tg->present & (1ULL << i)))
			tg->cookie[i] = sl_tls_funcs[i].cookie | (uint64_t)key << 32;
}

static const char *loc_state_name(uint64_t state)
{
	if (state & SL_TLS_LOC_CONFIRMED)
		return "confirmed";
	return (state & SL_TLS_LOC_REFUTED) ? "refuted" : "unconfirmed";
}

/* a "tls_location" record: the located write of tg confirmed or refuted */
static void loc_report(struct sl_tls *t, const struct tls_target *tg, const char *reason)
{
	char dev[32];
	json_t *rec;

	if (!t->report || !(rec = json_object()))
		return;
	json_object_set_new(rec, "type", json_string("tls_location"));
	sl_json_set_bytes(rec, "path", tg->path, strlen(tg->path));
	snprintf(dev, sizeof(dev), "%u:%u", major(tg->dev), minor(tg->dev));
	json_object_set_new(rec, "dev", json_string(dev));
	json_object_set_new(rec, "ino", json_integer((json_int_t)tg->ino));
	json_object_set_new(rec, "state", json_string(loc_state_name(tg->loc.state)));
	json_object_set_new(rec, "matches", json_integer((json_int_t)tg->loc.matches));
	json_object_set_new(rec, "mismatches", json_integer((json_int_t)tg->loc.mismatches));
	json_object_set_new(rec, "unseen", json_integer((json_int_t)tg->loc.unseen));
	json_object_set_new(rec, "located",
			    tg->located ? json_deep_copy(tg->located) : json_null());
	json_object_set_new(rec, "reason", reason ? json_string(reason) : json_null());
	t->report(t->report_ctx, rec);
	json_decref(rec);
}

static struct blind_spot *blind_get(struct sl_tls *t, const char *path, const struct stat *st,
				    const char *impl, const char *reason, const char *marker);

/*
 * The kernel refuted tg's located SSL_write: the TLS records its processes
 * wrote did not carry the lengths of what it captured. What it captures is
 * not the plaintext: the file is a blind spot from now on (its next execs
 * are blind, blind_tls decides), and so are its processes now (the kernel
 * marks each at its next located write; here at once).
 */
static void loc_refuted(struct sl_tls *t, struct tls_target *tg)
{
	struct stat st = {.st_dev = tg->dev, .st_ino = tg->ino};
	struct sl_tls_proc gp;
	char why[256];

	int k = loc_write_index(tg);

	snprintf(why, sizeof(why),
		 "%s: the located %s did not match live traffic (%llu TLS "
		 "records without its writes' lengths, none with): not the write function",
		 loc_impl(tg), k >= 0 ? sl_tls_funcs[k].name : "write",
		 (unsigned long long)tg->loc.mismatches);
	log_err("tls: '%s': %s; its processes are blind from now on", tg->path, why);
	tg->refuted = blind_get(t, tg->path, &st, (tg->libs & LIB_RUSTLS) ? "rustls" : "boringssl",
				why, NULL);
	if (!tg->refuted)
		log_err("tls: '%s': no memory for its blind spot: its next execs are not marked "
			"blind (its processes are, by the kernel)",
			tg->path);
	for (size_t i = 0; i < t->npp; i++) {
		pid_t pid = t->pp[i]->pid;
		int err;

		if (t->pp[i]->tg != tg || sl_kernel_tls_proc_get(t->kernel, (uint32_t)pid, &gp) ||
		    (gp.state & SL_TLS_PROC_BLIND))
			continue;
		gp.state |= SL_TLS_PROC_BLIND;
		err = sl_kernel_tls_proc_put(t->kernel, (uint32_t)pid, &gp);
		if (err)
			log_warn("tls: mark pid %d blind: %s", (int)pid, strerror(-err));
	}
	loc_report(t, tg, why);
}

/*
 * A process of tg wrote TLS records no located seal had sealed (the kernel
 * counts them, sl_tls_unseen_io, and made the process blind): the location
 * misses a way its TLS is encrypted. The file is a blind spot from now on.
 */
static void loc_unseen(struct sl_tls *t, struct tls_target *tg)
{
	struct stat st = {.st_dev = tg->dev, .st_ino = tg->ino};
	char why[256];

	snprintf(why, sizeof(why),
		 "%s: %llu TLS records its processes wrote were sealed where no located "
		 "function saw them: not all its writes are read",
		 loc_impl(tg), (unsigned long long)tg->loc.unseen);
	log_err("tls: '%s': %s; the writer is blind from now on", tg->path, why);
	if (!tg->refuted)
		tg->refuted = blind_get(t, tg->path, &st, "rustls", why, NULL);
	loc_report(t, tg, why);
}

/* what the kernel says of tg's located write now */
static void loc_poll_one(struct sl_tls *t, struct tls_target *tg)
{
	struct sl_tls_loc l;
	uint64_t was, was_unseen;

	if (!tg->loc_key || sl_kernel_tls_loc_get(t->kernel, tg->loc_key, &l))
		return;
	was = tg->loc.state;
	was_unseen = tg->loc.unseen;
	tg->loc = l;
	if (l.unseen && !was_unseen)
		loc_unseen(t, tg);
	if ((l.state & SL_TLS_LOC_CONFIRMED) && !(was & SL_TLS_LOC_CONFIRMED)) {
		log_info("tls: '%s': located %s write confirmed on live traffic (%llu "
			 "matching TLS records): its kill verdicts are enforced%s",
			 tg->path, loc_impl(tg), (unsigned long long)l.matches,
			 tg->refuted ? " (its file stays a blind spot: it was refuted first)" : "");
		loc_report(t, tg, NULL);
	} else if ((l.state & SL_TLS_LOC_REFUTED) && !(l.state & SL_TLS_LOC_CONFIRMED) &&
		   !tg->refuted) {
		loc_refuted(t, tg);
	}
}

/* the kernel's confirmations of located writes, once a second */
static void loc_poll(struct sl_tls *t)
{
	for (size_t i = 0; i < t->ntargets; i++)
		loc_poll_one(t, t->targets[i]);
}

static int target_add(struct sl_tls *t, const char *path, int fd, const char *origin,
		      const struct stat *st, const struct elf_info *ei, struct tls_target **out)
{
	struct tls_target *tg;
	uint64_t present;
	int err;

	*out = target_find(t, st->st_dev, st->st_ino);
	if (*out)
		return 0;
	/* .dynsym first; an unstripped static binary has the names in .symtab */
	present = ei->present;
	if (!(present & capture_mask()))
		return 0;
	tg = calloc(1, sizeof(*tg));
	if (!tg)
		return -ENOMEM;
	tg->fd = -1;
	tg->path = strdup(path);
	tg->errors = json_array();
	if (!tg->path || !tg->errors) {
		target_free(tg);
		return -ENOMEM;
	}
	tg->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (tg->fd < 0) {
		err = -errno;
		target_free(tg);
		return err;
	}
	tg->dev = st->st_dev;
	tg->ino = st->st_ino;
	tg->origin = origin;
	tg->present = present;
	memcpy(tg->off, ei->off, sizeof(tg->off));
	locate_inner(tg, fd, ei);
	for (size_t i = 0; i < N_FUNCS; i++)
		if (present & (1ULL << i))
			tg->libs |= sl_tls_funcs[i].lib;
	err = sl_tls_ptrv_add(&t->targets, &t->ntargets, tg);
	if (err) {
		target_free(tg);
		return err;
	}
	target_arm(t, tg);
	if (tg->attached & capture_mask())
		log_info("tls: instrumented '%s' (%s): %s, per session process", path, origin,
			 target_status(tg));
	else
		log_err("tls: '%s' (%s) defines TLS entry points but none could be attached: "
			"its TLS traffic is not captured",
			path, origin);
	*out = tg;
	return 0;
}

/*
 * Open a regular file for inspection; the path of the file actually opened
 * (symlinks resolved, as /proc/self/fd shows it) is returned in rp
 * (PATH_MAX). O_NONBLOCK: a session controls some of these paths ("#!"
 * lines, RPATH) and must not be able to block the daemon on a FIFO.
 */
static int open_real(const char *path, char *rp, struct stat *st)
{
	char link[64];
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st)) {
		err = -errno;
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		err = -EINVAL;
		goto fail;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, rp, PATH_MAX - 1);
	if (n <= 0) {
		err = n ? -errno : -EINVAL;
		goto fail;
	}
	rp[n] = '\0';
	return fd;
fail:
	close(fd);
	return err;
}

/* consider path (a library or executable) as a target; 0 or -errno */
static int consider_file(struct sl_tls *t, const char *path, const char *origin,
			 struct tls_target **out)
{
	char rp[PATH_MAX];
	struct elf_info ei = {0};
	struct stat st;
	struct tls_target *tg = NULL;
	int fd, err;

	fd = open_real(path, rp, &st);
	if (fd < 0)
		return fd;
	tg = target_find(t, st.st_dev, st.st_ino);
	err = 0;
	if (tg)
		goto out;
	err = sl_tls_elf_inspect(fd, &ei);
	if (err || !ei.is_elf || ei.machine != SL_EM)
		goto out;
	err = target_add(t, rp, fd, origin, &st, &ei, &tg);
out:
	if (out)
		*out = tg;
	sl_tls_elf_info_clear(&ei);
	close(fd);
	return err;
}

/* ------------------------------------------------ per-process probes */

static bool pidfd_alive(int pidfd)
{
	return sl_peer_sys_linux.pidfd_alive(pidfd) != -ESRCH;
}

/* start time of process pid (ns after boot, peer.h), 0 if gone */
static unsigned long long proc_start(pid_t pid)
{
	uint64_t ns = 0;

	return sl_peer_sys_linux.start_time_ns(pid, &ns) ? 0 : ns;
}

static void *reaper_main(void *arg);

static void reap_one(struct reap_item *it)
{
	if (it->l)
		bpf_link__destroy(it->l);
	else if (it->fd >= 0)
		close(it->fd);
	it->l = NULL;
	it->fd = -1;
}

/* links to detach: the reaper thread's, or detached here if it cannot run */
static void reap_items(struct sl_tls *t, struct reap_item *items, size_t n)
{
	struct reaper *r = &t->reaper;
	bool queued = false;

	if (!n)
		return;
	if (!r->started && !r->stop) {
		pthread_mutex_init(&r->mu, NULL);
		pthread_cond_init(&r->cv, NULL);
		r->started = !pthread_create(&r->th, NULL, reaper_main, t);
		if (!r->started) {
			pthread_mutex_destroy(&r->mu);
			pthread_cond_destroy(&r->cv);
			log_warn("tls: no detach thread: probes are detached on the event loop");
		}
	}
	if (r->started) {
		pthread_mutex_lock(&r->mu);
		if (r->n + n > r->cap) {
			size_t cap = (r->n + n) * 2;
			struct reap_item *q = realloc(r->q, cap * sizeof(*q));

			if (q) {
				r->q = q;
				r->cap = cap;
			}
		}
		if (r->n + n <= r->cap) {
			memcpy(r->q + r->n, items, n * sizeof(*items));
			r->n += n;
			queued = true;
			pthread_cond_signal(&r->cv);
		}
		pthread_mutex_unlock(&r->mu);
	}
	if (!queued)
		for (size_t i = 0; i < n; i++)
			reap_one(&items[i]);
}

static void reap_links(struct sl_tls *t, struct bpf_link **links, size_t n)
{
	struct reap_item *items = n ? calloc(n, sizeof(*items)) : NULL;

	for (size_t i = 0; i < n; i++) {
		if (items)
			items[i] = (struct reap_item){.l = links[i], .fd = -1};
		else
			bpf_link__destroy(links[i]);
	}
	if (items)
		reap_items(t, items, n);
	free(items);
}

struct destroy_job {
	struct reap_item *items;
	size_t n, first, stride;
};

static void *destroy_links(void *arg)
{
	struct destroy_job *j = arg;

	for (size_t i = j->first; i < j->n; i += j->stride)
		reap_one(&j->items[i]);
	return NULL;
}

/*
 * Detaching a uprobe waits for a grace period in the kernel (~0.1-0.2 s each
 * on Linux 6.18): detach from several threads so that the waits overlap.
 */
static void destroy_parallel(struct reap_item *all, size_t n)
{
	pthread_t th[SL_TLS_DETACH_THREADS];
	struct destroy_job jobs[SL_TLS_DETACH_THREADS];
	bool started[SL_TLS_DETACH_THREADS] = {false};
	size_t nth = n < SL_TLS_DETACH_THREADS ? n : SL_TLS_DETACH_THREADS;

	for (size_t k = 0; k < nth; k++) {
		jobs[k] = (struct destroy_job){.items = all, .n = n, .first = k, .stride = nth};
		started[k] = !pthread_create(&th[k], NULL, destroy_links, &jobs[k]);
	}
	for (size_t k = 0; k < nth; k++) {
		if (started[k])
			pthread_join(th[k], NULL);
		else
			destroy_links(&jobs[k]);
	}
}

static void *reaper_main(void *arg)
{
	struct sl_tls *t = arg;
	struct reaper *r = &t->reaper;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct reap_item *batch;
		size_t n;

		while (!r->n && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		if (!r->n)
			break;
		batch = r->q;
		n = r->n;
		r->q = NULL;
		r->n = r->cap = 0;
		pthread_mutex_unlock(&r->mu);
		destroy_parallel(batch, n);
		free(batch);
		pthread_mutex_lock(&r->mu);
		r->done += n;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* the reaper detaches what it was given, then stops */
static void reaper_stop(struct sl_tls *t)
{
	struct reaper *r = &t->reaper;

	if (!r->started) {
		r->stop = true;
		return;
	}
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->th, NULL);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r->q);
	r->q = NULL;
	r->started = false;
}

/* entry i goes: its links unpinned and detached by the reaper */
static void proc_drop(struct sl_tls *t, size_t i)
{
	struct proc_probe *pp = t->pp[i];

	if (pp->tg && (pp->tg->libs & LIB_RUSTLS))
		sl_kernel_tls_sealed_del(t->kernel, (uint32_t)pp->pid);

	for (size_t k = 0; k < pp->nlinks; k++)
		sl_kernel_link_forget(t->kernel, pp->links[k]);
	reap_links(t, pp->links, pp->nlinks);
	free(pp->links);
	/* unpinned here (this descriptor holds the link), detached by the reaper */
	for (size_t k = 0; k < pp->nfds; k++) {
		struct reap_item it = {.fd = pp->fds[k]};

		if (pp->pins[k] && unlink(pp->pins[k]) && errno != ENOENT)
			log_warn("tls: remove pin '%s': %s", pp->pins[k], strerror(errno));
		free(pp->pins[k]);
		reap_items(t, &it, 1);
	}
	free(pp->fds);
	free(pp->pins);
	if (pp->pidfd >= 0)
		close(pp->pidfd);
	free(pp);
	t->pp[i] = t->pp[--t->npp];
}

/* every probe of pid goes (it exited, or the task they were attached to did) */
static void proc_forget(struct sl_tls *t, pid_t pid)
{
	for (size_t i = 0; i < t->npp;)
		if (t->pp[i]->pid == pid)
			proc_drop(t, i);
		else
			i++;
}

static struct proc_probe *proc_find(struct sl_tls *t, pid_t pid, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < t->npp; i++)
		if (t->pp[i]->pid == pid && t->pp[i]->dev == dev && t->pp[i]->ino == ino)
			return t->pp[i];
	return NULL;
}

static int proc_add_link(struct proc_probe *pp, struct bpf_link *l)
{
	struct bpf_link **nl = realloc(pp->links, (pp->nlinks + 1) * sizeof(*nl));

	if (!nl)
		return -ENOMEM;
	pp->links = nl;
	pp->links[pp->nlinks++] = l;
	return 0;
}

/* the uprobe_multi link attributes (Linux 6.6; libbpf 1.1 has none) */
#define SL_UPROBE_MULTI_RETURN 1U
struct sl_uprobe_multi_attr {
	uint32_t prog_fd, target_fd, attach_type, flags;
	uint64_t path, offsets, ref_ctr_offsets, cookies;
	uint32_t cnt, multi_flags, pid;
	uint32_t _pad[17];
};

/* one uprobe_multi link of prog at offs (with their cookies) in apath for pid, or -errno */
static int multi_link(struct bpf_program *prog, pid_t pid, const char *apath,
		      const unsigned long *offs, const uint64_t *cookies, uint32_t cnt, bool ret)
{
	struct sl_uprobe_multi_attr a = {
	    .prog_fd = (uint32_t)bpf_program__fd(prog),
	    .attach_type = SL_TRACE_UPROBE_MULTI,
	    .path = (uint64_t)(uintptr_t)apath,
	    .offsets = (uint64_t)(uintptr_t)offs,
	    .cookies = (uint64_t)(uintptr_t)cookies,
	    .cnt = cnt,
	    .multi_flags = ret ? SL_UPROBE_MULTI_RETURN : 0,
	    .pid = (uint32_t)pid,
	};
	long fd = syscall(SYS_bpf, BPF_LINK_CREATE, &a, sizeof(a));

	return fd < 0 ? -errno : (int)fd;
}

static int proc_add_fd(struct proc_probe *pp, int fd, const char *pin)
{
	int *nf = realloc(pp->fds, (pp->nfds + 1) * sizeof(*nf));
	char **np;

	if (!nf)
		return -ENOMEM;
	pp->fds = nf;
	np = realloc(pp->pins, (pp->nfds + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	pp->pins = np;
	pp->pins[pp->nfds] = pin ? strdup(pin) : NULL;
	pp->fds[pp->nfds++] = fd;
	return 0;
}

/*
 * The uprobe_multi links of tg for pid: one per program (functions sharing
 * a program share a link, each offset with its cookie), entry and return
 * apart; each pinned as tls/p<pid>-<start>-<dev>-<ino>-<program>[-ret].
 * pp->attached: the functions whose links (entry and return) were made.
 */
static int proc_attach_multi(struct sl_tls *t, struct proc_probe *pp, struct tls_target *tg,
			     const char *apath)
{
	uint64_t done = 0, ok = 0, failed = 0;
	int err = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < N_FUNCS; i++) {
			struct bpf_program *prog = pass ? t->ret[i] : t->entry[i];
			unsigned long offs[N_FUNCS];
			uint64_t cookies[N_FUNCS], members = 0;
			char key[192], path[PATH_MAX];
			uint32_t cnt = 0;
			int fd;

			if (!(tg->attached & (1ULL << i)) || !prog || (done & (1ULL << i)))
				continue;
			for (size_t j = i; j < N_FUNCS; j++) {
				struct bpf_program *pj = pass ? t->ret[j] : t->entry[j];

				if (!(tg->attached & (1ULL << j)) || pj != prog)
					continue;
				offs[cnt] = (unsigned long)tg->off[j];
				cookies[cnt++] =
				    pass ? 0
					 : (tg->cookie[j] ? tg->cookie[j] : sl_tls_funcs[j].cookie);
				members |= 1ULL << j;
			}
			done |= members;
			fd = multi_link(prog, pp->pid, apath, offs, cookies, cnt, pass);
			if (fd < 0) {
				err = fd;
				failed |= members;
				log_warn("tls: attach %s of '%s' for pid %d: %s",
					 bpf_program__name(prog), tg->path, (int)pp->pid,
					 strerror(-fd));
				continue;
			}
			snprintf(key, sizeof(key), "p%d-%llx-%llx-%llx-%s%s", (int)pp->pid,
				 pp->start, (unsigned long long)tg->dev,
				 (unsigned long long)tg->ino, bpf_program__name(prog),
				 pass ? "-ret" : "");
			if (sl_kernel_tls_pin_path(t->kernel, key, path, sizeof(path)))
				path[0] = '\0';
			else if ((unlink(path) && errno != ENOENT) || bpf_obj_pin(fd, path)) {
				log_warn("tls: %s in '%s' for pid %d is not pinned (%s): it stops "
					 "with this daemon",
					 bpf_program__name(prog), tg->path, (int)pp->pid,
					 strerror(errno));
				path[0] = '\0';
			}
			if (proc_add_fd(pp, fd, path[0] ? path : NULL)) {
				if (path[0])
					unlink(path);
				close(fd);
				err = -ENOMEM;
				failed |= members;
				continue;
			}
			if (!pass)
				ok |= members;
		}
		if (!pass)
			done = 0;
	}
	pp->attached = ok & ~failed;
	return err;
}

/*
 * The probes of tg for process pid (pidfd: its pidfd, taken before its state
 * was checked), unless it has them: 0 when its writes are captured (every
 * write function attached), -errno when they cannot be (the caller makes the
 * process blind: fail closed). Each link is pinned (tls/p<pid>-...): the
 * probes go on capturing and enforcing while no daemon runs.
 */
/*
 * rustls under located seals: each TLS record the process writes must have
 * been sealed where the probes are (struct sl_tls_sealed), while it runs
 * the executable the kernel has for it now.
 */
static void sealed_arm(struct sl_tls *t, pid_t pid, const struct tls_target *tg)
{
	struct sl_tls_sealed v = {.loc = tg->loc_key};
	struct sl_tls_proc gp;
	int err;

	if (!(tg->libs & LIB_RUSTLS) || !tg->loc_key)
		return;
	err = sl_kernel_tls_proc_get(t->kernel, (uint32_t)pid, &gp);
	if (!err) {
		v.exe = gp.exe;
		err = sl_kernel_tls_sealed_put(t->kernel, (uint32_t)pid, &v);
	}
	if (err)
		log_warn("tls: pid %d: its TLS records are not checked against its seals (%s)",
			 (int)pid, strerror(-err));
}

static int proc_attach(struct sl_tls *t, pid_t pid, int pidfd, struct tls_target *tg)
{
	struct proc_probe *pp = proc_find(t, pid, tg->dev, tg->ino);
	uint64_t t0 = now_ns();
	char apath[64];
	int err = 0;

	if (pp) {
		if (pp->pidfd < 0 || pidfd_alive(pp->pidfd))
			return 0;
		/* a dead process' probes under a reused pid */
		proc_forget(t, pid);
	}
	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	pp->pid = pid;
	pp->start = proc_start(pid);
	pp->tg = tg;
	pp->dev = tg->dev;
	pp->ino = tg->ino;
	pp->pidfd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
	if (pp->pidfd < 0 || sl_tls_ptrv_add(&t->pp, &t->npp, pp)) {
		if (pp->pidfd >= 0)
			close(pp->pidfd);
		free(pp);
		return -ENOMEM;
	}
	snprintf(apath, sizeof(apath), "/proc/self/fd/%d", tg->fd);
	if (sl_kernel_uprobe_multi(t->kernel))
		err = proc_attach_multi(t, pp, tg, apath);
	for (size_t i = 0; i < N_FUNCS && !sl_kernel_uprobe_multi(t->kernel); i++) {
		const struct tls_func *f = &sl_tls_funcs[i];
		struct bpf_link *le, *lr = NULL;
		char key[192], keyr[200];

		if (!(tg->attached & (1ULL << i)))
			continue;
		le = attach_one(t->entry[i], pid, apath, tg->off[i], false,
				tg->cookie[i] ? tg->cookie[i] : f->cookie, &err);
		if (le && f->ret) {
			lr = attach_one(t->ret[i], pid, apath, tg->off[i], true, 0, &err);
			if (!lr) {
				bpf_link__destroy(le);
				le = NULL;
			}
		}
		if (!le) {
			log_warn("tls: attach %s of '%s' for pid %d: %s", f->name, tg->path,
				 (int)pid, strerror(-err));
			continue;
		}
		if (proc_add_link(pp, le)) {
			bpf_link__destroy(le);
			bpf_link__destroy(lr);
			err = -ENOMEM;
			continue;
		}
		if (lr && proc_add_link(pp, lr)) {
			pp->nlinks--;
			bpf_link__destroy(le);
			bpf_link__destroy(lr);
			err = -ENOMEM;
			continue;
		}
		pp->attached |= 1ULL << i;
		snprintf(key, sizeof(key), "p%d-%llx-%llx-%llx-%s-%llx", (int)pid, pp->start,
			 (unsigned long long)tg->dev, (unsigned long long)tg->ino, f->name,
			 (unsigned long long)tg->off[i]);
		snprintf(keyr, sizeof(keyr), "%s-ret", key);
		if (sl_kernel_link_pin(t->kernel, le, key) ||
		    (lr && sl_kernel_link_pin(t->kernel, lr, keyr)))
			log_warn("tls: %s in '%s' for pid %d is not pinned: it stops with this "
				 "daemon",
				 f->name, tg->path, (int)pid);
	}
	t->attach_ns += now_ns() - t0;
	if ((pp->attached & capture_mask()) != (tg->attached & capture_mask())) {
		tg->failures++;
		for (size_t i = 0; i < t->npp; i++)
			if (t->pp[i] == pp) {
				proc_drop(t, i);
				break;
			}
		return err ? err : -EIO;
	}
	tg->procs++;
	sealed_arm(t, pid, tg);
	return 0;
}

/*
 * Probes pinned by a previous daemon for processes
 * (tls/p<pid>-<start>-<dev>-<ino>-...): a live process keeps them (adopted:
 * its session is), a dead one's go, and so do those of a pid now another
 * process' (its start time differs).
 */
static bool adopt_one(void *ctx, const char *key, struct bpf_link *l)
{
	struct sl_tls *t = ctx;
	unsigned long long dev, ino, start;
	struct proc_probe *pp;
	int pid;

	if (sscanf(key, "p%d-%llx-%llx-%llx-", &pid, &start, &dev, &ino) != 4 || pid <= 0 ||
	    !start || proc_start(pid) != start) {
		reap_links(t, &l, 1);
		return false;
	}
	pp = proc_find(t, pid, (dev_t)dev, (ino_t)ino);
	if (!pp) {
		pp = calloc(1, sizeof(*pp));
		if (!pp || sl_tls_ptrv_add(&t->pp, &t->npp, pp)) {
			free(pp);
			reap_links(t, &l, 1);
			return false;
		}
		pp->pid = pid;
		pp->start = start;
		pp->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		pp->dev = (dev_t)dev;
		pp->ino = (ino_t)ino;
		pp->tg = target_find(t, (dev_t)dev, (ino_t)ino);
	}
	if (proc_add_link(pp, l)) {
		reap_links(t, &l, 1);
		return false;
	}
	return true;
}

/* once a second: the probes of processes that are gone (an exit record lost) */
static void proc_gc(struct sl_tls *t)
{
	uint64_t now = now_ns();

	if (now - t->last_gc_ns < SL_TLS_RECHECK_NS)
		return;
	t->last_gc_ns = now;
	loc_poll(t);
	for (size_t i = 0; i < t->npp;) {
		struct proc_probe *pp = t->pp[i];
		bool dead =
		    pp->pidfd >= 0 ? !pidfd_alive(pp->pidfd) : (kill(pp->pid, 0) && errno == ESRCH);

		if (dead)
			proc_drop(t, i);
		else
			i++;
	}
}

/* -------------------------------------------------- library discovery */

static bool is_tls_lib_name(const char *name)
{
	for (size_t i = 0; i < SL_ARRAY_SIZE(lib_prefixes); i++) {
		size_t n = strlen(lib_prefixes[i]);

		if (!strncmp(name, lib_prefixes[i], n) && name[n] >= '0' && name[n] <= '9')
			return true;
	}
	return false;
}

static const char *foreign_lib(const char *name)
{
	for (size_t i = 0; i < SL_ARRAY_SIZE(foreign_libs); i++)
		if (!strncmp(name, foreign_libs[i].prefix, strlen(foreign_libs[i].prefix)))
			return foreign_libs[i].what;
	return NULL;
}

/* ldconfig -p: "\tlibssl.so.3 (libc6,x86-64) => /lib/x86_64-linux-gnu/libssl.so.3" */
static void load_ldconfig(struct sl_tls *t)
{
	static const char *const ldconfigs[] = {"/sbin/ldconfig", "/usr/sbin/ldconfig"};
	char line[PATH_MAX + 256];
	FILE *p = NULL;

	for (size_t i = 0; i < SL_ARRAY_SIZE(ldconfigs) && !p; i++) {
		if (access(ldconfigs[i], X_OK))
			continue;
		snprintf(line, sizeof(line), "%s -p 2>/dev/null", ldconfigs[i]);
		p = popen(line, "re");
	}
	if (!p) {
		log_warn("tls: ldconfig not found: using the standard library directories only");
		return;
	}
	while (fgets(line, sizeof(line), p)) {
		char *name = line, *arrow, *path, *end;
		struct soname *ns;

		while (*name == ' ' || *name == '\t')
			name++;
		end = strchr(name, ' ');
		arrow = strstr(line, " => ");
		if (!end || !arrow || end > arrow)
			continue;
		*end = '\0';
		path = arrow + 4;
		path[strcspn(path, "\n")] = '\0';
		if (path[0] != '/')
			continue;
		ns = realloc(t->sonames, (t->nsonames + 1) * sizeof(*ns));
		if (!ns)
			break;
		t->sonames = ns;
		ns[t->nsonames].name = strdup(name);
		ns[t->nsonames].path = strdup(path);
		if (!ns[t->nsonames].name || !ns[t->nsonames].path) {
			free(ns[t->nsonames].name);
			free(ns[t->nsonames].path);
			break;
		}
		t->nsonames++;
	}
	pclose(p);
}

static void add_watch(struct sl_tls *t, const char *path)
{
	if (!sl_tls_strv_has(t->watch, t->nwatch, path))
		sl_tls_strv_add(&t->watch, &t->nwatch, path);
}

/* attach to every system libssl/libgnutls; remember their paths */
static void discover_libraries(struct sl_tls *t)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < t->nsonames; i++)
		if (is_tls_lib_name(t->sonames[i].name))
			add_watch(t, t->sonames[i].path);
	for (size_t d = 0; d < SL_ARRAY_SIZE(lib_dirs); d++) {
		DIR *dir = opendir(lib_dirs[d]);
		struct dirent *de;

		if (!dir)
			continue;
		while ((de = readdir(dir))) {
			if (!is_tls_lib_name(de->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", lib_dirs[d], de->d_name);
			add_watch(t, path);
		}
		closedir(dir);
	}
	for (size_t i = 0; i < t->nwatch; i++) {
		int err = consider_file(t, t->watch[i], "system library", NULL);

		if (err && err != -ENOENT)
			log_warn("tls: inspect '%s': %s", t->watch[i], strerror(-err));
	}
}

/* at most once a second: a system library replaced (new inode) is attached */
static void recheck_libraries(struct sl_tls *t)
{
	uint64_t now = now_ns();

	if (now - t->last_recheck_ns < SL_TLS_RECHECK_NS)
		return;
	t->last_recheck_ns = now;
	for (size_t i = 0; i < t->nwatch; i++) {
		struct stat st;

		if (stat(t->watch[i], &st) || target_find(t, st.st_dev, st.st_ino))
			continue;
		consider_file(t, t->watch[i], "system library", NULL);
	}
}

/* ------------------------------------------------------- blind spots */

static struct blind_spot *blind_get(struct sl_tls *t, const char *path, const struct stat *st,
				    const char *impl, const char *reason, const char *marker)
{
	struct blind_spot *b;

	for (size_t i = 0; i < t->nblind; i++)
		if (t->blind[i]->dev == st->st_dev && t->blind[i]->ino == st->st_ino)
			return t->blind[i];
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->path = strdup(path);
	b->reason = strdup(reason);
	b->marker = marker ? strdup(marker) : NULL;
	b->impl = impl;
	b->sessions = json_array();
	b->dev = st->st_dev;
	b->ino = st->st_ino;
	if (!b->path || !b->reason || (marker && !b->marker) || !b->sessions ||
	    sl_tls_ptrv_add(&t->blind, &t->nblind, b)) {
		free(b->path);
		free(b->reason);
		free(b->marker);
		json_decref(b->sessions);
		free(b);
		return NULL;
	}
	log_warn("tls: blind spot '%s': %s: its TLS plaintext cannot be captured", path, reason);
	return b;
}

static void blind_free(struct blind_spot *b)
{
	if (!b)
		return;
	free(b->path);
	free(b->reason);
	free(b->marker);
	json_decref(b->sessions);
	free(b);
}

/* tell the audit log, once per session and executable */
static void blind_report(struct sl_tls *t, struct blind_spot *b, pid_t pid, const char *session,
			 const char *mode)
{
	char dev[32];
	size_t i;
	json_t *v, *rec;

	b->execs++;
	json_array_foreach (b->sessions, i, v) {
		if (session && json_is_string(v) && !strcmp(json_string_value(v), session))
			return;
	}
	if (session)
		json_array_append_new(b->sessions, json_string(session));
	if (!t->report)
		return;
	rec = json_object();
	if (!rec)
		return;
	json_object_set_new(rec, "type", json_string("tls_blind_spot"));
	json_object_set_new(rec, "session", session ? json_string(session) : json_null());
	json_object_set_new(rec, "pid", json_integer(pid));
	sl_json_set_bytes(rec, "path", b->path, strlen(b->path));
	json_object_set_new(rec, "impl", json_string(b->impl));
	json_object_set_new(rec, "reason", json_string(b->reason));
	json_object_set_new(rec, "marker", b->marker ? json_string(b->marker) : json_null());
	json_object_set_new(rec, "blind_tls", json_string(mode));
	snprintf(dev, sizeof(dev), "%u:%u", major(b->dev), minor(b->dev));
	json_object_set_new(rec, "dev", json_string(dev));
	json_object_set_new(rec, "ino", json_integer((json_int_t)b->ino));
	t->report(t->report_ctx, rec);
	json_decref(rec);
}

/* ----------------------------------------------------- exec analysis */

static int cache_cmp(const void *a, const void *b)
{
	const struct exe_cache *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->ctime.tv_sec != y->ctime.tv_sec)
		return x->ctime.tv_sec < y->ctime.tv_sec ? -1 : 1;
	if (x->ctime.tv_nsec != y->ctime.tv_nsec)
		return x->ctime.tv_nsec < y->ctime.tv_nsec ? -1 : 1;
	return 0;
}

static void cache_free(void *p)
{
	struct exe_cache *c = p;

	sl_tls_strv_free(c->libs, c->nlibs);
	free(c);
}

/* e_machine of an ELF file, 0 if unreadable (the header is the same in ELF32/64) */
static unsigned int elf_machine(const char *path)
{
	unsigned char h[20];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	ssize_t n;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return 0;
	}
	n = pread(fd, h, sizeof(h), 0);
	close(fd);
	if (n != (ssize_t)sizeof(h) || memcmp(h, ELFMAG, SELFMAG))
		return 0;
	/* EI_DATA: byte order of e_machine */
	return h[EI_DATA] == ELFDATA2MSB ? (unsigned int)(h[18] << 8 | h[19])
					 : (unsigned int)(h[19] << 8 | h[18]);
}

/* expand $ORIGIN in one rpath entry */
static void expand_origin(const char *entry, size_t n, const char *origin, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap;) {
		if (!strncmp(entry + i, "$ORIGIN", 7) || !strncmp(entry + i, "${ORIGIN}", 9)) {
			size_t skip = entry[i + 1] == '{' ? 9 : 7;
			int w = snprintf(out + o, cap - o, "%s", origin);

			if (w < 0 || (size_t)w >= cap - o)
				break;
			o += (size_t)w;
			i += skip;
		} else {
			out[o++] = entry[i++];
		}
	}
	out[o] = '\0';
}

static bool try_dir_list(const char *list, const char *origin, const char *name, char *out)
{
	const char *p = list;
	char dir[PATH_MAX];

	while (p && *p) {
		size_t n = strcspn(p, ":");

		expand_origin(p, n, origin, dir, sizeof(dir));
		if (dir[0] && snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX &&
		    elf_machine(out) == SL_EM)
			return true;
		p += n;
		if (*p == ':')
			p++;
	}
	return false;
}

/* the file the dynamic linker would load for a DT_NEEDED name (native arch) */
static bool resolve_needed(struct sl_tls *t, const char *name, const struct elf_info *from,
			   const char *origin, char *out)
{
	if (strchr(name, '/')) {
		snprintf(out, PATH_MAX, "%s", name);
		return !access(out, R_OK);
	}
	if (from->rpath && !from->runpath && try_dir_list(from->rpath, origin, name, out))
		return true;
	if (from->runpath && try_dir_list(from->runpath, origin, name, out))
		return true;
	for (size_t i = 0; i < t->nsonames; i++) {
		/* the cache lists every architecture: keep the native one */
		if (!strcmp(t->sonames[i].name, name) && elf_machine(t->sonames[i].path) == SL_EM) {
			snprintf(out, PATH_MAX, "%s", t->sonames[i].path);
			return true;
		}
	}
	for (size_t d = 0; d < SL_ARRAY_SIZE(lib_dirs); d++)
		if (snprintf(out, PATH_MAX, "%s/%s", lib_dirs[d], name) < PATH_MAX &&
		    elf_machine(out) == SL_EM)
			return true;
	return false;
}

struct walk {
	char **seen; /* DT_NEEDED names visited */
	size_t nseen;
	char **tls_libs; /* paths of TLS libraries found */
	size_t ntls;
	const char *foreign; /* a TLS library scopelock does not instrument */
	char foreign_name[256];
	char failed[PATH_MAX]; /* a TLS library that could not be instrumented */
	bool uses_openssl;     /* links an instrumented OpenSSL: explains OpenSSL markers */
};

/* the DT_NEEDED entries of one file (ei, at path): note TLS libraries, queue the rest */
static void walk_one(struct sl_tls *t, const char *path, const struct elf_info *ei, struct walk *w,
		     char ***queue, size_t *nq)
{
	char origin[PATH_MAX], lib[PATH_MAX];
	char *slash;

	snprintf(origin, sizeof(origin), "%s", path);
	slash = strrchr(origin, '/');
	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < ei->nneeded && w->nseen < SL_TLS_WALK_MAX; i++) {
		const char *name = ei->needed[i];
		const char *what;

		if (sl_tls_strv_has(w->seen, w->nseen, name) ||
		    sl_tls_strv_add(&w->seen, &w->nseen, name))
			continue;
		what = foreign_lib(name);
		if (what && !w->foreign) {
			w->foreign = what;
			snprintf(w->foreign_name, sizeof(w->foreign_name), "%s", name);
		}
		if (!resolve_needed(t, name, ei, origin, lib))
			continue;
		if (is_tls_lib_name(name)) {
			struct tls_target *tg = NULL;
			char rp[PATH_MAX];

			if (realpath(lib, rp) && !sl_tls_strv_has(w->tls_libs, w->ntls, rp))
				sl_tls_strv_add(&w->tls_libs, &w->ntls, rp);
			consider_file(t, lib, "linked by a session executable", &tg);
			if (tg && (tg->attached & capture_mask())) {
				if (tg->libs & LIB_OPENSSL)
					w->uses_openssl = true;
			} else if (!w->failed[0]) {
				snprintf(w->failed, sizeof(w->failed), "%s", lib);
			}
		}
		sl_tls_strv_add(queue, nq, lib);
	}
}

/* follow DT_NEEDED from the executable (top, at path) breadth-first, bounded */
static void walk_needed(struct sl_tls *t, const char *path, const struct elf_info *top,
			struct walk *w)
{
	struct elf_info cur = {0};
	char **queue = NULL;
	size_t nq = 0;
	char rp[PATH_MAX];

	walk_one(t, path, top, w, &queue, &nq);
	for (size_t qi = 0; qi < nq; qi++) {
		struct stat st;
		int fd = open_real(queue[qi], rp, &st);

		if (fd < 0)
			continue;
		sl_tls_elf_info_clear(&cur);
		if (!sl_tls_elf_inspect(fd, &cur) && cur.is_elf)
			walk_one(t, rp, &cur, w, &queue, &nq);
		close(fd);
	}
	sl_tls_elf_info_clear(&cur);
	sl_tls_strv_free(queue, nq);
}

/* "#!/path/interp args" -> interp in out (PATH_MAX); false if not a script */
static bool read_shebang(int fd, char *out)
{
	char buf[PATH_MAX + 3];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *p, *end;

	if (n < 3 || buf[0] != '#' || buf[1] != '!')
		return false;
	buf[n] = '\0';
	p = buf + 2;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strcspn(p, " \t\n");
	*end = '\0';
	if (p[0] != '/' || strlen(p) >= PATH_MAX)
		return false;
	memcpy(out, p, strlen(p) + 1);
	return true;
}

/* the located function's entry in sl_tls_funcs, -1 if none is placed there */
static int located_index(enum sl_tls_abi abi)
{
	switch (abi) {
	case SL_TLS_ABI_SSL_WRITE:
		return FN_BSSL_WRITE;
	case SL_TLS_ABI_SSL_READ:
		return FN_BSSL_READ;
	case SL_TLS_ABI_GO_CONN_WRITE:
		return FN_GO_WRITE;
	case SL_TLS_ABI_GO_CONN_READ:
		return FN_GO_READ; /* its data only at return: not captured */
	case SL_TLS_ABI_GO_CONN_HANDSHAKE:
		return FN_GO_HS;
	case SL_TLS_ABI_AEAD_SEAL:
		return FN_AEAD_SEAL;
	case SL_TLS_ABI_AEAD_SEAL_SCATTER:
		return FN_AEAD_SEAL_SCATTER;
	case SL_TLS_ABI_RING_SEAL_AES_GCM:
		return FN_RING_SEAL_AES;
	case SL_TLS_ABI_RING_SEAL_CHACHA:
		return FN_RING_SEAL_CHACHA;
	case SL_TLS_ABI_AEAD_OPEN:
		return FN_AEAD_OPEN;
	default:
		return -1; /* SSL_write_ex is not located */
	}
}

/* "rustls: its plaintext ..." -> "its plaintext ..." (the impl is said before) */
static const char *reason_tail(const char *r)
{
	const char *c = strstr(r, ": ");

	return c && !memchr(r, ' ', (size_t)(c - r)) ? c + 2 : r;
}

enum locate_result {
	LOC_NONE = 0, /* no TLS implementation, or one that is explained (a shared libssl) */
	LOC_TARGET,   /* located and attached */
	LOC_BLIND,    /* TLS embedded that cannot be captured: *impl and why say what */
};

/*
 * TLS embedded without symbols (user/lib/tls_locate.h): locate its plaintext
 * functions and attach at their offsets (only validated candidates are
 * returned by the locator: a wrong table entry is rejected, never attached).
 */
static enum locate_result locate_exe(struct sl_tls *t, int fd, const char *rp,
				     const struct stat *st, bool explained, const char **impl,
				     char *why, size_t whylen, struct tls_target **out)
{
	struct sl_tls_located *loc = calloc(1, sizeof(*loc));
	struct elf_info lei = {0};
	struct tls_target *tg = NULL;
	enum locate_result res = LOC_NONE;
	json_t *located = NULL;
	int err;

	if (!loc)
		return LOC_NONE;
	err = sl_tls_locate(fd, rp, NULL, loc);
	if (err) {
		log_warn("tls: locate in '%s': %s", rp, strerror(-err));
		goto out;
	}
	*impl = sl_tls_impl_name(loc->impl);
	if (loc->impl == SL_TLS_IMPL_NONE || (loc->impl == SL_TLS_IMPL_OPENSSL && explained))
		goto out;
	located = json_array();
	for (size_t i = 0; i < loc->nfuncs; i++) {
		const struct sl_tls_func *f = &loc->funcs[i];
		int k = located_index(f->abi);
		char off[32];

		if (k < 0 || (sl_tls_funcs[k].ret && !f->retprobe_ok))
			continue;
		lei.present |= 1ULL << k;
		lei.off[k] = f->offset;
		snprintf(off, sizeof(off), "0x%llx", (unsigned long long)f->offset);
		json_array_append_new(located, json_pack("{s:s, s:s, s:s, s:s}", "function",
							 sl_tls_abi_name(f->abi), "how",
							 sl_tls_how_name(f->how), "offset", off,
							 "evidence", f->evidence));
	}
	for (size_t i = 0; i < loc->nrejects; i++)
		log_warn("tls: '%s': %s candidate at 0x%llx (%s) rejected: %s", rp,
			 sl_tls_abi_name(loc->rejects[i].abi),
			 (unsigned long long)loc->rejects[i].vaddr,
			 sl_tls_how_name(loc->rejects[i].how), loc->rejects[i].why);
	if (!(lei.present & capture_mask())) {
		snprintf(why, whylen, "%s: %s", loc->impl_detail,
			 loc->reason[0] ? reason_tail(loc->reason)
					: "no plaintext write function located");
		res = LOC_BLIND;
		goto out;
	}
	err = target_add(t, rp, fd, "session exec (located)", st, &lei, &tg);
	if (err || !tg) {
		snprintf(why, whylen, "%s: write function located, not instrumented: %s",
			 loc->impl_detail, strerror(err ? -err : ENOENT));
		res = LOC_BLIND;
		goto out;
	}
	if (!tg->located) {
		tg->located = located;
		located = NULL;
	}
	loc_arm(t, tg);
	/* a state kept by the kernel (a previous daemon's): refuted is blind now */
	loc_poll_one(t, tg);
	if (!(tg->attached & capture_mask())) {
		snprintf(why, whylen, "%s: write function located, uprobe attach failed",
			 loc->impl_detail);
		res = LOC_BLIND;
		goto out;
	}
	log_info("tls: '%s': %s located (%llu us) and instrumented", rp, loc->impl_detail,
		 (unsigned long long)loc->elapsed_us);
	*out = tg;
	res = LOC_TARGET;
out:
	json_decref(located);
	free(loc);
	return res;
}

/*
 * Decide for one executable file (fd, real path rp): attach, blind spot, or
 * nothing. Fills c (verdict, blind spot, TLS libraries).
 */
static int analyse_exe(struct sl_tls *t, int fd, const char *rp, const struct stat *st,
		       struct exe_cache *c)
{
	struct elf_info ei = {0};
	struct walk w = {0};
	struct tls_target *tg = NULL;
	const char *reason = NULL, *marker = NULL, *impl = "openssl";
	char why[PATH_MAX + 128];
	bool is_static, stripped;
	enum locate_result lr;
	int err, m;

	err = sl_tls_elf_inspect(fd, &ei);
	if (err)
		goto out;
	if (!ei.is_elf || ei.machine != SL_EM)
		goto out;
	/* embedded OpenSSL/GnuTLS with symbols: instrument the executable */
	if (ei.present & capture_mask()) {
		err = target_add(t, rp, fd, "session exec", st, &ei, &tg);
		if (err)
			goto out;
		if (tg && (tg->attached & capture_mask())) {
			c->verdict = EXE_TARGET;
			goto out;
		}
		snprintf(why, sizeof(why), "embedded TLS library, uprobe attach failed");
		reason = why;
		goto blind;
	}
	if (ei.nneeded)
		walk_needed(t, rp, &ei, &w);
	c->libs = w.tls_libs;
	c->nlibs = w.ntls;
	w.tls_libs = NULL;
	w.ntls = 0;
	if (c->nlibs)
		c->verdict = EXE_TARGET;

	/* TLS embedded without symbols: located, or a blind spot named by what it is */
	lr = locate_exe(t, fd, rp, st, ei.imports_tls || w.uses_openssl, &impl, why, sizeof(why),
			&tg);
	if (lr == LOC_TARGET) {
		c->verdict = EXE_TARGET;
		goto out;
	}
	is_static = !ei.has_interp && !ei.nneeded;
	stripped = !ei.has_symtab;
	/* OpenSSL without symbols in a static or stripped binary: the marker
	 * scan below names it with the string found */
	if (lr == LOC_BLIND && !(!strcmp(impl, "openssl") && (is_static || stripped))) {
		reason = why;
		marker = NULL;
		goto blind;
	}
	if (is_static || stripped || ei.is_go) {
		m = sl_tls_scan_markers(&t->scans, fd, st->st_size, ei.is_go);
		if (m >= 0) {
			marker = sl_tls_markers[m].s;
			switch (sl_tls_markers[m].kind) {
			case MK_GO:
				impl = "go";
				reason = is_static ? "statically linked Go crypto/tls"
						   : "Go crypto/tls (not instrumentable)";
				break;
			case MK_OPENSSL:
				/* the strings of a shared OpenSSL it links are explained */
				if (ei.imports_tls || w.uses_openssl) {
					marker = NULL;
					break;
				}
				impl = "openssl";
				snprintf(why, sizeof(why), "%s %s without symbols",
					 is_static ? "statically linked" : "stripped binary with",
					 sl_tls_markers[m].what);
				reason = why;
				break;
			default:
				impl = "other";
				snprintf(why, sizeof(why), "%s binary with TLS strings (%s)",
					 is_static ? "statically linked" : "stripped",
					 sl_tls_markers[m].what);
				reason = why;
				break;
			}
		} else if (m < -1) {
			log_warn("tls: scan '%s': %s", rp, strerror(-m));
		}
	}
	if (!reason && w.foreign) {
		impl = "library";
		snprintf(why, sizeof(why), "dynamically linked against %s, not instrumented",
			 w.foreign);
		reason = why;
		marker = w.foreign_name;
	}
	if (!reason && w.failed[0]) {
		impl = "library";
		snprintf(why, sizeof(why), "links '%s', which could not be instrumented", w.failed);
		reason = why;
	}
	if (!reason)
		goto out;
blind:
	c->blind = blind_get(t, rp, st, impl, reason, marker);
	c->verdict = c->blind ? EXE_BLIND : c->verdict;
out:
	sl_tls_strv_free(w.seen, w.nseen);
	sl_tls_strv_free(w.tls_libs, w.ntls);
	sl_tls_elf_info_clear(&ei);
	return err;
}

/* the cache entry for an executable, analysing it on a miss */
static struct exe_cache *exe_lookup(struct sl_tls *t, int fd, const char *rp, const struct stat *st)
{
	struct exe_cache key = {.dev = st->st_dev, .ino = st->st_ino, .ctime = st->st_ctim};
	struct exe_cache *c, **found;
	int err;

	found = tfind(&key, &t->cache, cache_cmp);
	if (found)
		return *found;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	*c = key;
	err = analyse_exe(t, fd, rp, st, c);
	if (err) {
		log_warn("tls: inspect '%s': %s", rp, strerror(-err));
		cache_free(c);
		return NULL;
	}
	if (!tsearch(c, &t->cache, cache_cmp)) {
		cache_free(c);
		return NULL;
	}
	return c;
}

/*
 * One executable a session process ran: follow "#!" lines, analyse (cached),
 * attach or report. *dev, *ino: the file analysed (0 if none).
 */
static struct exe_cache *exec_file(struct sl_tls *t, pid_t pid, const char *path,
				   const char *session, const char *mode, dev_t *dev, ino_t *ino)
{
	char cur[PATH_MAX], rp[PATH_MAX];
	struct exe_cache *c = NULL;
	struct stat st;
	int depth, fd;

	snprintf(cur, sizeof(cur), "%s", path);
	for (depth = 0; depth < SL_TLS_SHEBANG_MAX; depth++) {
		char interp[PATH_MAX];

		fd = open_real(cur, rp, &st);
		if (fd < 0) {
			log_debug("tls: exec '%s' (pid %d): %s", cur, (int)pid, strerror(-fd));
			return NULL;
		}
		if (!read_shebang(fd, interp)) {
			*dev = st.st_dev;
			*ino = st.st_ino;
			c = exe_lookup(t, fd, rp, &st);
			close(fd);
			break;
		}
		close(fd);
		snprintf(cur, sizeof(cur), "%s", interp);
	}
	if (!c)
		return NULL;
	/* instrumented by a location live traffic refuted: blind */
	if (c->verdict == EXE_TARGET) {
		struct tls_target *tg = target_find(t, *dev, *ino);

		if (tg && tg->refuted) {
			c->verdict = EXE_BLIND;
			c->blind = tg->refuted;
		}
	}
	/* libraries it links may have been replaced since (new inode) */
	for (size_t i = 0; i < c->nlibs; i++) {
		struct stat ls;

		if (!stat(c->libs[i], &ls) && !target_find(t, ls.st_dev, ls.st_ino))
			consider_file(t, c->libs[i], "linked by a session executable", NULL);
	}
	if (c->verdict == EXE_BLIND && c->blind)
		blind_report(t, c->blind, pid, session, mode);
	return c;
}

/*
 * what the session's scope does with TLS scopelock cannot read (policy
 * blind_tls, as the daemon put it in the kernel): "deny", "proxy" (denied
 * except to the session's proxy) or "alert"
 */
static const char *session_blind_mode(struct sl_tls *t, uint64_t cgroup_id)
{
	struct sl_session_info info;

	if (!cgroup_id || sl_kernel_session_get(t->kernel, cgroup_id, &info) ||
	    !(info.flags & SL_SESSION_BLIND_DENY))
		return "alert";
	return (info.flags & SL_SESSION_BLIND_PROXY) ? "proxy" : "deny";
}

/*
 * The TLS gate stopped pid at its exec (bpf/tlsgate.bpf.h): its executable
 * (c: the image it runs, analysed; NULL if it could not be) is entered in
 * sl_tls_exes, the process' state set, and it is let go. pidfd first, then
 * the state is checked to still be that exec's: the pid cannot have been
 * reused for another process that the SIGCONT would reach. A process whose
 * executable could not be analysed stays SL_TLS_PROC_HELD: it runs, but its
 * connects are refused (fail closed).
 */
static void gate_release(struct sl_tls *t, pid_t pid, uint64_t exec_id, struct sl_tls_proc *gp,
			 const struct exe_cache *c, struct tls_target *tg)
{
	struct sl_tls_proc now;
	bool verdict_stop;
	uint32_t state = 0;
	int pidfd, err = 0;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		log_debug("tls: gate: pid %d is gone: %s", (int)pid, strerror(errno));
		return;
	}
	if (sl_kernel_tls_proc_get(t->kernel, (uint32_t)pid, &now) || now.exec_id != exec_id ||
	    !(now.state & SL_TLS_PROC_HELD))
		goto out; /* exited, or exec'd again: that exec has its own record */
	verdict_stop = now.state & SL_TLS_PROC_VERDICT_STOP;
	/* the probes this daemon attached for the pid were another task's */
	if (now.state & SL_TLS_PROC_NEWTASK)
		proc_forget(t, pid);
	if (c) {
		state = c->verdict == EXE_BLIND ? SL_TLS_EXE_BLIND : SL_TLS_EXE_SEEN;
		if (tg && state != SL_TLS_EXE_BLIND && (tg->attached & capture_mask()))
			state |= SL_TLS_EXE_TARGET;
		err = sl_kernel_tls_exe_set(t->kernel, &gp->exe, state);
		if (err)
			log_warn("tls: gate: remember executable of pid %d: %s", (int)pid,
				 strerror(-err));
		if (state == SL_TLS_EXE_BLIND) {
			now.state = SL_TLS_PROC_BLIND;
			err = sl_kernel_tls_proc_put(t->kernel, (uint32_t)pid, &now);
		} else if (state & SL_TLS_EXE_TARGET) {
			/* the executable is instrumented: this process' probes */
			err = proc_attach(t, pid, pidfd, tg);
			if (err)
				log_warn("tls: gate: the TLS functions of '%s' could not be "
					 "attached for pid %d (%s): it is blind",
					 tg->path, (int)pid, strerror(-err));
			now.state = err ? SL_TLS_PROC_BLIND : SL_TLS_PROC_PROBED;
			err = sl_kernel_tls_proc_put(t->kernel, (uint32_t)pid, &now);
		} else {
			err = sl_kernel_tls_proc_del(t->kernel, (uint32_t)pid);
		}
		if (err)
			log_warn("tls: gate: state of pid %d: %s", (int)pid, strerror(-err));
	} else {
		log_warn("tls: gate: the executable of pid %d could not be analysed: its "
			 "connections are refused",
			 (int)pid);
	}
	t->released++;
	/* the process is in a session cgroup this daemon created (sl_tls_procs);
	 * one its exec's verdict stopped is let go (or killed) by that verdict */
	if (!verdict_stop && syscall(SYS_pidfd_send_signal, pidfd, SIGCONT, NULL, 0) &&
	    errno != ESRCH)
		log_warn("tls: gate: let pid %d go: %s", (int)pid, strerror(errno));
out:
	close(pidfd);
}

void sl_tls_on_exec(struct sl_tls *t, pid_t pid, uint64_t exec_id, uint64_t cgroup_id,
		    const char *path, const char *session)
{
	char proc[64];
	dev_t dev = 0, dev2 = 0;
	ino_t ino = 0, ino2 = 0;
	struct sl_tls_proc gp;
	struct exe_cache *c;
	struct stat st;
	const char *mode;

	if (!t || !path)
		return;
	mode = session_blind_mode(t, cgroup_id);
	recheck_libraries(t);
	snprintf(proc, sizeof(proc), "/proc/%d/exe", (int)pid);
	if (!sl_kernel_tls_proc_get(t->kernel, (uint32_t)pid, &gp) && gp.exec_id == exec_id &&
	    (gp.state & SL_TLS_PROC_HELD)) {
		/* stopped before its first instruction: the image it runs is that exec's */
		uint64_t t0 = now_ns();

		c = exec_file(t, pid, proc, session, mode, &dev, &ino);
		gate_release(t, pid, exec_id, &gp, c, c ? target_find(t, dev, ino) : NULL);
		t->held_ns += now_ns() - t0;
		return;
	}
	/* the kernel's filename (relative ones are relative to the process' cwd) */
	if (path[0] == '/')
		exec_file(t, pid, path, session, mode, &dev, &ino);
	/*
	 * and the image the process runs, if still alive: the path may have
	 * been renamed over since the exec (if the process exec'd again since,
	 * that image is analysed a little early: its own exec record follows)
	 */
	if (!stat(proc, &st) && (st.st_dev != dev || st.st_ino != ino))
		exec_file(t, pid, proc, session, mode, &dev2, &ino2);
}

/*
 * The file a process held at mmap maps: /proc/PID/fd/FD when that is still
 * the inode, else its mapping in /proc/PID/maps, opened through
 * /proc/PID/map_files (a file renamed or removed meanwhile is still found).
 */
static int mapped_path(pid_t pid, int fd, const struct sl_tls_exe_key *key, char *out)
{
	char line[PATH_MAX + 128];
	struct stat st;
	FILE *f;
	int err = -ENOENT;

	snprintf(out, PATH_MAX, "/proc/%d/fd/%d", (int)pid, fd);
	if (fd >= 0 && !stat(out, &st) && (uint64_t)st.st_ino == key->ino)
		return 0;
	snprintf(line, sizeof(line), "/proc/%d/maps", (int)pid);
	f = fopen(line, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end, ino;

		if (sscanf(line, "%lx-%lx %*s %*x %*x:%*x %lu", &start, &end, &ino) == 3 &&
		    ino == key->ino) {
			snprintf(out, PATH_MAX, "/proc/%d/map_files/%lx-%lx", (int)pid, start, end);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

/*
 * The mapping of pid was analysed: remember the file, attach the process'
 * probes if it is instrumented (tg), let the process go.
 */
static void map_release(struct sl_tls *t, pid_t pid, uint64_t exec_id,
			const struct sl_tls_exe_key *key, uint64_t seq, bool blind,
			struct tls_target *tg, bool remember)
{
	struct sl_tls_maphold now;
	struct sl_tls_proc gp = {0};
	uint64_t done = 0;
	uint32_t state;
	int pidfd, err, aerr = 0;
	bool have;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return;
	/*
	 * still held for this mapping or a later one, not done: the pid is that
	 * process (pidfd taken first). Holds are handled in order (one ring):
	 * done = seq says every mapping up to this one is instrumented.
	 */
	if (sl_kernel_tls_mapheld_get(t->kernel, (uint32_t)pid, &now) || now.seq < seq ||
	    (!sl_kernel_tls_mapdone_get(t->kernel, (uint32_t)pid, &done) && done >= seq))
		goto out;
	if (tg && !(tg->attached & capture_mask()))
		tg = NULL;
	state = blind ? SL_TLS_EXE_BLIND : SL_TLS_EXE_SEEN | (tg ? SL_TLS_EXE_TARGET : 0);
	err = remember ? sl_kernel_tls_exe_set(t->kernel, key, state) : 0;
	have = !sl_kernel_tls_proc_get(t->kernel, (uint32_t)pid, &gp);
	if (!have) {
		gp.exec_id = exec_id;
		gp.exe = *key;
	}
	if (!err && (blind || tg)) {
		if (gp.state & SL_TLS_PROC_NEWTASK) {
			proc_forget(t, pid);
			gp.state &= ~SL_TLS_PROC_NEWTASK;
		}
		if (tg) {
			aerr = proc_attach(t, pid, pidfd, tg);
			if (aerr)
				log_warn("tls: gate: the TLS functions of '%s' could not be "
					 "attached for pid %d (%s): it is blind",
					 tg->path, (int)pid, strerror(-aerr));
		}
		if (blind || aerr)
			gp.state = (gp.state & ~SL_TLS_PROC_HELD) | SL_TLS_PROC_BLIND;
		else
			gp.state |= SL_TLS_PROC_PROBED;
		err = sl_kernel_tls_proc_put(t->kernel, (uint32_t)pid, &gp);
	}
	if (!err)
		err = sl_kernel_tls_mapdone_set(t->kernel, (uint32_t)pid, seq);
	if (err)
		log_warn("tls: gate: mapping of pid %d: %s", (int)pid, strerror(-err));
	t->map_released++;
	/* the process is in a session cgroup this daemon created (sl_tls_mapheld) */
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGCONT, NULL, 0) && errno != ESRCH)
		log_warn("tls: gate: let pid %d go: %s", (int)pid, strerror(errno));
out:
	close(pidfd);
}

/*
 * A fork of a process with probes, held on its return from fork: the probes
 * of its parent's files (those the daemon attached for the parent; all the
 * instrumented files if the parent's are not known), then it goes. One that
 * cannot be attached makes the process blind.
 */
static void fork_release(struct sl_tls *t, pid_t pid, uint32_t parent)
{
	struct tls_target **want = NULL;
	struct sl_tls_proc gp;
	size_t nwant = 0;
	uint64_t t0 = now_ns();
	int pidfd, err = 0;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return;
	if (sl_kernel_tls_proc_get(t->kernel, (uint32_t)pid, &gp) ||
	    (gp.state & (SL_TLS_PROC_HELD | SL_TLS_PROC_FORKED)) !=
		(SL_TLS_PROC_HELD | SL_TLS_PROC_FORKED))
		goto out; /* let go already, or exec'd */
	for (size_t i = 0; parent && i < t->npp; i++)
		if (t->pp[i]->pid == (pid_t)parent && t->pp[i]->tg)
			sl_tls_ptrv_add(&want, &nwant, t->pp[i]->tg);
	if (!nwant)
		for (size_t i = 0; i < t->ntargets; i++)
			if (t->targets[i]->attached & capture_mask())
				sl_tls_ptrv_add(&want, &nwant, t->targets[i]);
	for (size_t i = 0; i < nwant; i++) {
		int e = proc_attach(t, pid, pidfd, want[i]);

		if (e) {
			log_warn("tls: gate: the TLS functions of '%s' could not be attached "
				 "for pid %d, a fork of %u (%s): it is blind",
				 want[i]->path, (int)pid, parent, strerror(-e));
			err = e;
		}
	}
	/* not attached: blind, and FORKED still (its writes to sockets kill it:
	 * those on the connections it inherited would not be seen) */
	gp.state &= ~(SL_TLS_PROC_HELD | (err ? 0 : SL_TLS_PROC_FORKED));
	gp.state |= err ? SL_TLS_PROC_BLIND : SL_TLS_PROC_PROBED;
	gp.parent = 0;
	err = sl_kernel_tls_proc_put(t->kernel, (uint32_t)pid, &gp);
	if (err)
		log_warn("tls: gate: state of pid %d: %s", (int)pid, strerror(-err));
	t->fork_released++;
	t->held_ns += now_ns() - t0;
	/* the process is in a session cgroup this daemon created (sl_tls_procs) */
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGCONT, NULL, 0) && errno != ESRCH)
		log_warn("tls: gate: let pid %d go: %s", (int)pid, strerror(errno));
out:
	free(want);
	close(pidfd);
}

/*
 * A library mapped by a session process that defines no TLS entry point
 * scopelock instruments, but carries TLS protocol code (a marker only TLS
 * code has: a libssl built in with hidden symbols, a Go c-shared library,
 * rustls): a blind spot, reported for the session; true: the process is blind.
 */
static bool library_blind(struct sl_tls *t, pid_t pid, const char *path, const char *session,
			  const char *mode)
{
	char rp[PATH_MAX], why[PATH_MAX + 128];
	struct elf_info ei = {0};
	struct blind_spot *b = NULL;
	const char *impl = "other";
	uint64_t mask = 0;
	struct stat st;
	int fd, m = -1;

	fd = open_real(path, rp, &st);
	if (fd < 0)
		return false;
	for (size_t i = 0; i < t->nblind && !b; i++)
		if (t->blind[i]->dev == st.st_dev && t->blind[i]->ino == st.st_ino)
			b = t->blind[i];
	if (b)
		goto report;
	if (sl_tls_elf_inspect(fd, &ei) || !ei.is_elf || ei.machine != SL_EM)
		goto out;
	if (sl_tls_scan_marker_mask(&t->scans, fd, st.st_size, ei.is_go, &mask))
		goto out;
	for (int i = 0; i < SL_TLS_NMARKERS && m < 0; i++)
		if ((mask & (1ULL << i)) && sl_tls_markers[i].protocol)
			m = i;
	if (m < 0)
		goto out;
	if (sl_tls_markers[m].kind == MK_GO)
		impl = "go";
	else if (sl_tls_markers[m].kind == MK_OPENSSL)
		impl = "openssl";
	snprintf(why, sizeof(why), "library with %s and no instrumentable TLS entry point",
		 sl_tls_markers[m].what);
	b = blind_get(t, rp, &st, impl, why, sl_tls_markers[m].s);
report:
	if (b)
		blind_report(t, b, pid, session, mode);
out:
	sl_tls_elf_info_clear(&ei);
	close(fd);
	return b != NULL;
}

/* a program (it asks for a dynamic loader), not a library: mapped by ld.so run directly */
static bool is_program(const char *path)
{
	char rp[PATH_MAX];
	struct elf_info ei = {0};
	struct stat st;
	bool prog = false;
	int fd = open_real(path, rp, &st);

	if (fd < 0)
		return false;
	if (!sl_tls_elf_inspect(fd, &ei))
		prog = ei.is_elf && ei.has_interp;
	sl_tls_elf_info_clear(&ei);
	close(fd);
	return prog;
}

/*
 * A library: attached if it defines the entry points. A program (the
 * dynamic loader run directly maps the program it runs): analysed as an
 * exec would be; a blind spot marks the process blind.
 */
static void map_file(struct sl_tls *t, pid_t pid, uint64_t exec_id, int fd,
		     const struct sl_tls_exe_key *key, uint64_t seq, const char *session,
		     uint64_t cgroup_id)
{
	char path[PATH_MAX];
	struct tls_target *tg = NULL;
	uint64_t t0 = now_ns();
	bool blind = false;
	int err;

	err = mapped_path(pid, fd, key, path);
	if (!err && is_program(path)) {
		dev_t dev;
		ino_t ino;
		struct exe_cache *c =
		    exec_file(t, pid, path, session, session_blind_mode(t, cgroup_id), &dev, &ino);

		blind = c && c->verdict == EXE_BLIND;
		if (c && !blind)
			tg = target_find(t, dev, ino);
	} else if (!err) {
		err = consider_file(t, path, "mapped by a session process", &tg);
		if (!err && !tg)
			blind =
			    library_blind(t, pid, path, session, session_blind_mode(t, cgroup_id));
	}
	if (err && err != -ENOENT)
		log_debug("tls: gate: file mapped by pid %d: %s", (int)pid, strerror(-err));
	/* a blind library is analysed (and reported) again in each session that maps it */
	map_release(t, pid, exec_id, key, seq, blind, tg, !blind);
	t->held_ns += now_ns() - t0;
}

void sl_tls_on_map(struct sl_tls *t, const struct sl_tls_map_event *e, const char *session)
{
	if (!t || !e)
		return;
	if (e->fd == SL_TLS_MAP_FORK)
		fork_release(t, (pid_t)e->hdr.pid, e->parent);
	else
		map_file(t, (pid_t)e->hdr.pid, e->hdr.exec_id, e->fd, &e->key, e->seq, session,
			 e->hdr.cgroup_id);
}

void sl_tls_on_exit(struct sl_tls *t, pid_t pid)
{
	if (t)
		proc_forget(t, pid);
}

/*
 * A process the gate holds whose exec record never comes (lost: ring buffer
 * full) would stay stopped: held at two ticks in a row with the same exec,
 * it is analysed and let go here (its exec record, if it comes later, finds
 * it no longer held).
 */
/* the same for processes held at mmap (SL_OP_TLS_MAP lost) */
/* a held mapping the daemon is not done with (its latest in *h) */
static bool map_pending(struct sl_tls *t, uint32_t pid, struct sl_tls_maphold *h)
{
	uint64_t done = 0;

	if (sl_kernel_tls_mapheld_get(t->kernel, pid, h))
		return false;
	return sl_kernel_tls_mapdone_get(t->kernel, pid, &done) || done != h->seq;
}

static void map_sweep(struct sl_tls *t)
{
	struct gate_seen cur[SL_TLS_GATE_SWEEP];
	uint32_t key, next, *prev = NULL;
	struct sl_tls_maphold h;
	size_t ncur = 0;

	while (ncur < SL_TLS_GATE_SWEEP && !sl_kernel_tls_mapheld_next(t->kernel, prev, &next)) {
		key = next;
		prev = &key;
		if (map_pending(t, key, &h))
			cur[ncur++] = (struct gate_seen){.pid = key, .exec_id = h.seq};
	}
	for (size_t i = 0; i < ncur; i++) {
		bool again = false;

		for (size_t j = 0; j < t->nmapseen && !again; j++)
			again = t->mapseen[j].pid == cur[i].pid &&
				t->mapseen[j].exec_id == cur[i].exec_id;
		if (!again || !map_pending(t, cur[i].pid, &h) || h.seq != cur[i].exec_id)
			continue;
		/* the latest mapping's file; earlier ones whose records were lost too
		 * are not known here (docs/operations.md, "Known limits") */
		log_warn("tls: gate: pid %u held at mmap without its record (lost?): analysed now",
			 cur[i].pid);
		map_file(t, (pid_t)cur[i].pid, 0, -1, &h.key, h.seq, NULL, 0);
	}
	memcpy(t->mapseen, cur, ncur * sizeof(cur[0]));
	t->nmapseen = ncur;
}

void sl_tls_tick(struct sl_tls *t)
{
	struct gate_seen cur[SL_TLS_GATE_SWEEP];
	size_t ncur = 0;
	uint32_t key, next, *prev = NULL;
	struct sl_tls_proc gp;

	if (!t)
		return;
	while (ncur < SL_TLS_GATE_SWEEP && !sl_kernel_tls_proc_next(t->kernel, prev, &next)) {
		key = next;
		prev = &key;
		if (sl_kernel_tls_proc_get(t->kernel, key, &gp) || !(gp.state & SL_TLS_PROC_HELD))
			continue;
		cur[ncur++] = (struct gate_seen){.pid = key, .exec_id = gp.exec_id};
	}
	for (size_t i = 0; i < ncur; i++) {
		struct exe_cache *c;
		bool again = false;
		char proc[64];
		dev_t dev;
		ino_t ino;

		for (size_t k = 0; k < t->nseen && !again; k++)
			again =
			    t->seen[k].pid == cur[i].pid && t->seen[k].exec_id == cur[i].exec_id;
		if (!again || sl_kernel_tls_proc_get(t->kernel, cur[i].pid, &gp) ||
		    gp.exec_id != cur[i].exec_id || !(gp.state & SL_TLS_PROC_HELD))
			continue;
		if (gp.state & SL_TLS_PROC_FORKED) {
			log_warn("tls: gate: pid %u held at fork without its record (lost?): "
				 "attached now",
				 cur[i].pid);
			fork_release(t, (pid_t)cur[i].pid, gp.parent);
			continue;
		}
		log_warn("tls: gate: pid %u held without its exec record (lost?): analysed now",
			 cur[i].pid);
		snprintf(proc, sizeof(proc), "/proc/%u/exe", cur[i].pid);
		c = exec_file(t, (pid_t)cur[i].pid, proc, NULL, false, &dev, &ino);
		gate_release(t, (pid_t)cur[i].pid, gp.exec_id, &gp, c,
			     c ? target_find(t, dev, ino) : NULL);
	}
	memcpy(t->seen, cur, ncur * sizeof(cur[0]));
	t->nseen = ncur;
	map_sweep(t);
	proc_gc(t);
}

/* ------------------------------------------------------------ public */

static int resolve_programs(struct sl_tls *t)
{
	for (size_t i = 0; i < N_FUNCS; i++) {
		t->entry[i] = sl_kernel_program(t->kernel, sl_tls_funcs[i].entry);
		if (sl_tls_funcs[i].ret)
			t->ret[i] = sl_kernel_program(t->kernel, sl_tls_funcs[i].ret);
		if (!t->entry[i] || (sl_tls_funcs[i].ret && !t->ret[i]))
			return -ENOENT;
	}
	return 0;
}

int sl_tls_init(struct sl_kernel *kernel, sl_tls_report_fn report, void *report_ctx,
		struct sl_tls **out)
{
	struct sl_tls *t;
	size_t ok = 0;
	int err, e;

	if (!kernel || !out)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->kernel = kernel;
	t->report = report;
	t->report_ctx = report_ctx;
	err = resolve_programs(t);
	if (err) {
		log_err("tls: BPF programs of bpf/tls.bpf.c missing from the object");
		free(t);
		return err;
	}
	load_ldconfig(t);
	discover_libraries(t);
	for (size_t i = 0; i < SL_ARRAY_SIZE(known_executables); i++) {
		struct stat st;

		if (stat(known_executables[i], &st))
			continue;
		e = consider_file(t, known_executables[i], "known executable", NULL);
		if (e)
			log_warn("tls: inspect '%s': %s", known_executables[i], strerror(-e));
	}
	for (size_t i = 0; i < t->ntargets; i++)
		if (t->targets[i]->attached & capture_mask())
			ok++;
	/* the probes a previous daemon attached for processes still running */
	e = sl_kernel_link_adopt(kernel, "p", adopt_one, t);
	if (e > 0)
		log_info("tls: adopted %d probes of running session processes", e);
	else if (e < 0)
		log_warn("tls: adopt the probes of running session processes: %s", strerror(-e));
	t->last_recheck_ns = now_ns();
	/* from now on a session exec waits for this room to have analysed its file */
	sl_kernel_tls_gate(kernel, true);
	if (!ok)
		log_warn("tls: no TLS library instrumented: TLS plaintext will not be captured");
	else
		log_info("tls: %zu of %zu TLS targets instrumented (per session process)", ok,
			 t->ntargets);
	*out = t;
	return 0;
}

static json_t *funcs_json(uint64_t mask)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < N_FUNCS; i++)
		if (mask & (1ULL << i))
			json_array_append_new(a, json_string(sl_tls_funcs[i].name));
	return a;
}

static json_t *libs_json(unsigned int libs)
{
	static const char *const names[] = {"openssl", "gnutls", "boringssl", "go", "rustls"};
	char buf[64] = "";

	for (size_t i = 0; i < SL_ARRAY_SIZE(names); i++)
		if (libs & (1U << i))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
				 buf[0] ? "+" : "", names[i]);
	return json_string(buf);
}

json_t *sl_tls_status(struct sl_tls *t)
{
	json_t *st, *targets, *blind;

	if (!t)
		return json_null();
	st = json_object();
	targets = json_array();
	blind = json_array();
	if (!st || !targets || !blind) {
		json_decref(st);
		json_decref(targets);
		json_decref(blind);
		return NULL;
	}
	json_object_set_new(st, "targets", targets);
	json_object_set_new(st, "blind_spots", blind);
	for (size_t i = 0; i < t->ntargets; i++) {
		const struct tls_target *tg = t->targets[i];
		json_t *o = json_object();

		if (!o)
			break;
		sl_json_set_bytes(o, "path", tg->path, strlen(tg->path));
		json_object_set_new(o, "lib", libs_json(tg->libs));
		json_object_set_new(o, "origin", json_string(tg->origin));
		json_object_set_new(o, "functions", funcs_json(tg->attached));
		json_object_set_new(o, "missing", funcs_json(tg->present & ~tg->attached));
		json_object_set_new(o, "errors", json_deep_copy(tg->errors));
		json_object_set_new(o, "status", json_string(target_status(tg)));
		json_object_set_new(o, "processes_attached", json_integer((json_int_t)tg->procs));
		json_object_set_new(o, "processes_failed", json_integer((json_int_t)tg->failures));
		if (tg->located)
			json_object_set_new(o, "located", json_deep_copy(tg->located));
		if (tg->loc_key)
			json_object_set_new(o, "live_confirmation",
					    json_pack("{s:s, s:I, s:I, s:I}", "state",
						      loc_state_name(tg->loc.state), "matches",
						      (json_int_t)tg->loc.matches, "mismatches",
						      (json_int_t)tg->loc.mismatches, "unseen",
						      (json_int_t)tg->loc.unseen));
		json_array_append_new(targets, o);
	}
	for (size_t i = 0; i < t->nblind; i++) {
		const struct blind_spot *b = t->blind[i];
		json_t *o = json_object();

		if (!o)
			break;
		sl_json_set_bytes(o, "path", b->path, strlen(b->path));
		json_object_set_new(o, "impl", json_string(b->impl));
		json_object_set_new(o, "reason", json_string(b->reason));
		json_object_set_new(o, "marker", b->marker ? json_string(b->marker) : json_null());
		json_object_set_new(o, "execs", json_integer((json_int_t)b->execs));
		json_object_set_new(o, "sessions", json_deep_copy(b->sessions));
		json_array_append_new(blind, o);
	}
	json_object_set_new(st, "files_scanned", json_integer((json_int_t)t->scans));
	json_object_set_new(st, "gate_released", json_integer((json_int_t)t->released));
	json_object_set_new(st, "gate_map_released", json_integer((json_int_t)t->map_released));
	json_object_set_new(st, "gate_held_ms", json_integer((json_int_t)(t->held_ns / 1000000)));
	json_object_set_new(st, "gate_fork_released", json_integer((json_int_t)t->fork_released));
	{
		size_t links = 0, procs = 0;
		uint64_t done = 0;

		for (size_t i = 0; i < t->npp; i++) {
			bool first = true;

			links += t->pp[i]->nlinks + t->pp[i]->nfds;
			for (size_t j = 0; j < i && first; j++)
				first = t->pp[j]->pid != t->pp[i]->pid;
			procs += first;
		}
		if (t->reaper.started) {
			pthread_mutex_lock(&t->reaper.mu);
			done = t->reaper.done;
			pthread_mutex_unlock(&t->reaper.mu);
		}
		json_object_set_new(
		    st, "probes",
		    json_pack("{s:s, s:I, s:I, s:I, s:I}", "mode", "per_process", "processes",
			      (json_int_t)procs, "links", (json_int_t)links, "attach_ms",
			      (json_int_t)(t->attach_ns / 1000000), "detached", (json_int_t)done));
	}
	return st;
}

/*
 * every per-process probe (pinned ones stay: the kernel room disconnected the
 * libbpf links when the enforcement is kept, and a pin holds a multi link)
 */
static void destroy_all_links(struct sl_tls *t)
{
	struct reap_item *all = NULL;
	size_t n = 0;

	for (size_t i = 0; i < t->npp; i++)
		n += t->pp[i]->nlinks + t->pp[i]->nfds;
	if (n)
		all = calloc(n, sizeof(*all));
	n = 0;
	for (size_t i = 0; i < t->npp; i++) {
		struct proc_probe *pp = t->pp[i];
		struct reap_item it;

		for (size_t k = 0; k < pp->nlinks + pp->nfds; k++) {
			it = k < pp->nlinks ? (struct reap_item){.l = pp->links[k], .fd = -1}
					    : (struct reap_item){.fd = pp->fds[k - pp->nlinks]};
			if (all)
				all[n++] = it;
			else
				reap_one(&it);
		}
		for (size_t k = 0; k < pp->nfds; k++)
			free(pp->pins[k]);
		free(pp->pins);
		free(pp->fds);
		free(pp->links);
		if (pp->pidfd >= 0)
			close(pp->pidfd);
		free(pp);
	}
	free(t->pp);
	t->pp = NULL;
	t->npp = 0;
	if (all)
		destroy_parallel(all, n);
	free(all);
	reaper_stop(t);
}

/* SIGCONT to pid, by pidfd (a session process the gate holds) */
static void let_go(pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0)
		return;
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGCONT, NULL, 0) && errno != ESRCH)
		log_warn("tls: gate: let pid %d go: %s", (int)pid, strerror(errno));
	close(pidfd);
}

/*
 * The daemon stops: nothing is held any more. A process still held (its
 * record not processed yet) is let go: once the daemon is gone its session
 * is not monitored anyway (operations.md), and a process left stopped would
 * never run again.
 */
static void gate_close(struct sl_tls *t)
{
	uint32_t key, next, *prev = NULL;
	struct sl_tls_maphold h;
	struct sl_tls_proc gp;

	sl_kernel_tls_gate(t->kernel, false);
	while (!sl_kernel_tls_proc_next(t->kernel, prev, &next)) {
		key = next;
		prev = &key;
		if (!sl_kernel_tls_proc_get(t->kernel, key, &gp) && (gp.state & SL_TLS_PROC_HELD))
			let_go((pid_t)key);
	}
	prev = NULL;
	while (!sl_kernel_tls_mapheld_next(t->kernel, prev, &next)) {
		key = next;
		prev = &key;
		if (map_pending(t, key, &h))
			let_go((pid_t)key);
	}
}

void sl_tls_keep(struct sl_tls *t)
{
	if (t)
		t->keep = true;
}

void sl_tls_free(struct sl_tls *t)
{
	if (!t)
		return;
	/* kept: held processes wait for the next daemon (its gate sweep lets them go) */
	if (!t->keep)
		gate_close(t);
	destroy_all_links(t);
	for (size_t i = 0; i < t->ntargets; i++)
		target_free(t->targets[i]);
	free(t->targets);
	for (size_t i = 0; i < t->nblind; i++)
		blind_free(t->blind[i]);
	free(t->blind);
	tdestroy(t->cache, cache_free);
	for (size_t i = 0; i < t->nsonames; i++) {
		free(t->sonames[i].name);
		free(t->sonames[i].path);
	}
	free(t->sonames);
	sl_tls_strv_free(t->watch, t->nwatch);
	free(t);
}
