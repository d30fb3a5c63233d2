/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Compiled policy: the BPF maps user space fills from a parsed policy
 * (user/lib/policy.h) and the kernel side decides verdicts with.
 *
 * Double buffering. Every policy map holds two slots; sl_policy_active[0]
 * names the slot in force. A reload fills the other slot completely, then
 * flips the index with one map update: there is no moment without a policy.
 * Kernel state that refers to a slot (automaton states kept per TLS
 * connection) carries the generation it was computed under and restarts at
 * the root when the generation changed.
 *
 * Keyword automaton. Two DFAs per slot (Aho-Corasick, failure links folded
 * into full transition tables): "cs" walks the raw bytes, "ci" walks the
 * ASCII-lowercased bytes; each keyword and label string is in exactly one of
 * them. State 0 of each DFA is its root; the DFA of slot s, kind k (0 cs,
 * 1 ci) occupies sl_ac[(s * 2 + k) * SL_AC_MAX_STATES + state].
 * A state's kw[] has bit i set when keyword i ends there (directly or via a
 * failure link); env is the set of environments whose label strings (secret
 * values, resource ids, host names) end there.
 */
#ifndef SCOPELOCK_POLICY_H
#define SCOPELOCK_POLICY_H

#include "scopelock_abi.h"

#define SL_KW_MAX 256 /* keywords per policy (bits in a hit set) */
#define SL_KW_WORDS (SL_KW_MAX / 64)
#define SL_PAT_MAX 128 /* patterns per policy */
#define SL_PAT_WORDS (SL_PAT_MAX / 64)
#define SL_PAT_GROUPS_MAX 16
#define SL_RULE_MAX 256
#define SL_AC_MAX_STATES 4096 /* per DFA */
#define SL_ENV_MAX 63	      /* environment ids 1..63; bit (1 << id) */
#define SL_LABEL_PATH_MAX 255 /* bytes of a path label prefix */
#define SL_LABEL_HOST_MAX 253
#define SL_INODE_LABELS_MAX 65536 /* labels by identity per slot (files and directories) */
#define SL_PROGRAMS_MAX 1024	  /* program files per slot */
/* wildcard path globs (sl_glob_*): DFA states per slot, byte classes */
#define SL_GLOB_STATES_MAX 4096
#define SL_GLOB_CLASSES_MAX 128
/* ancestors walked for labels by identity (past it: the path is unresolved) */
#define SL_INODE_WALK_MAX 4096

/* channels (same values as enum sl_channel in user/lib/policy.h) */
enum sl_kchannel {
	SL_KCH_EXEC = 0,
	SL_KCH_TLS = 1,
	SL_KCH_CONNECT = 2,
	SL_KCH_OPEN = 3,
	SL_KCH_MAX = 4,
};

/* actions, ordered by strength (same values as enum sl_action) */
enum sl_kaction {
	SL_KACT_LOG = 0,
	SL_KACT_ALERT = 1,
	SL_KACT_DENY = 2,
	SL_KACT_FREEZE = 3,
	SL_KACT_KILL = 4,
	SL_KACT_MAX = 5,
};

/* target classes (same values as SL_TARGET_*) */
#define SL_KTGT_IN_SCOPE (1U << 0)
#define SL_KTGT_OUTSIDE (1U << 1)
#define SL_KTGT_UNKNOWN (1U << 2)
/* the target names the foreign environment only besides the scope (below) */
#define SL_KTGT_FOREIGN (1U << 3)

/*
 * Environment id SL_ENV_FOREIGN is reserved (policies name at most
 * SL_ENV_MAX - 1 environments): "foreign", the environment of a credential
 * the daemon discovered outside anything that belongs to the session (a file
 * no label names, outside the session's workspace). Its label strings are
 * the discovered values (docs/credentials.md).
 */
#define SL_ENV_FOREIGN 63

/*
 * Bit 0 of sl_ac_state.env (environment id 0 is "unknown": no label uses it)
 * marks a decode marker: a string that says the plaintext is not text the
 * kernel can judge (the HTTP/2 connection preface, Content-Encoding,
 * Transfer-Encoding, Upgrade, a JSON \u escape). The compiler adds them to
 * every policy; a TLS connection on which one was seen is in decode mode:
 * its writes are held for the daemon to decode (SL_VERDICT_DECODE). The
 * matcher takes the bit out of the evidence before deciding.
 */
#define SL_AC_ENV_DECODE 1ULL

struct sl_ac_state {
	__u16 next[256];
	__u64 kw[SL_KW_WORDS];
	__u64 env;
};
_Static_assert(sizeof(struct sl_ac_state) == 512 + 32 + 8, "sl_ac_state ABI");

/* pattern: every group needs one hit, no keyword of none may be seen */
struct sl_kpattern {
	__u64 groups[SL_PAT_GROUPS_MAX][SL_KW_WORDS];
	__u64 none[SL_KW_WORDS];
	__u32 n_groups;
	__u32 channels; /* bit per channel */
};

#define SL_KRULE_MONITOR (1U << 0)  /* record what would have happened only */
#define SL_KRULE_NO_TAINT (1U << 1) /* target from the action's evidence alone (taint: false) */

struct sl_krule {
	__u64 patterns[SL_PAT_WORDS]; /* any of these; all zero: no pattern condition */
	__u32 channel;		      /* enum sl_kchannel */
	__u32 target;		      /* SL_KTGT_* mask */
	__u32 action;		      /* enum sl_kaction */
	__u32 flags;		      /* SL_KRULE_* */
};

/* sl_policy_active[0]: the slot in force */
struct sl_policy_active {
	__u32 slot;	  /* 0 or 1 */
	__u32 generation; /* 0: no policy loaded yet */
};

/* sl_policy_hdr[slot]: sizes of the slot's tables */
struct sl_kpolicy_hdr {
	__u32 generation; /* increases with every load */
	__u32 n_patterns;
	__u32 n_rules;
	__u32 cs_states; /* 0: the DFA is empty */
	__u32 ci_states;
	__u32 mode; /* 0 enforce, 1 monitor (already folded into rule flags) */
	/* settings.unreadable (enum sl_kaction): an action whose evidence could
	 * not be read whole, in a tainted session or with a pattern partly
	 * matched (suspicious), or otherwise */
	__u32 unread_suspicious;
	__u32 unread_otherwise;
	/* path labels in the policy: opened files and working directories are
	 * walked to the root for labels by identity (sl_inode_labels) */
	__u32 n_path_labels;
	__u32 n_programs; /* program files resolved (0: no identity lookups) */
	/* wildcard path globs (sl_glob): DFA states, 0: none */
	__u32 glob_states;
	__u32 _pad;
	/* environments of every wildcard glob: the labels of a path the kernel
	 * could not walk whole (length, depth or mount limit: SL_EVF_TRUNCATED) */
	__u64 glob_trunc_env;
};

/*
 * Wildcard path globs (docs/policy.md "### paths"): the globs the LPM trie
 * cannot hold (a wildcard inside a component, '**' before the last
 * component, an escaped character) as one DFA over the bytes of the walked
 * path. sl_glob_classes[slot] maps a byte to its class; state s of slot's
 * DFA is sl_glob[slot * SL_GLOB_STATES_MAX + s]. State 0 is dead (nothing
 * can match any more: the walk stops), state 1 the start; env: the
 * environments of the globs matching a path that ends in this state.
 */
struct sl_glob_classes {
	__u8 cls[256];
};

struct sl_glob_state {
	__u16 next[SL_GLOB_CLASSES_MAX];
	__u64 env;
};
_Static_assert(sizeof(struct sl_glob_state) == 2 * SL_GLOB_CLASSES_MAX + 8, "sl_glob_state ABI");

/* LPM key for path labels: data[0] = slot, then the path bytes */
struct sl_path_key {
	__u32 prefixlen; /* bits, including the slot byte */
	__u8 data[1 + SL_LABEL_PATH_MAX];
};

/* LPM key for IP labels: slot, family (4 or 6), address */
struct sl_ip_key {
	__u32 prefixlen; /* bits, including slot and family bytes */
	__u8 slot;
	__u8 family;
	__u8 addr[16];
};

#define SL_LABEL_PORTS 8
struct sl_ip_label {
	__u64 env;		     /* environments of the CIDR when any port matches */
	__u16 ports[SL_LABEL_PORTS]; /* host order; all zero: any port */
};

/*
 * Labels by identity (sl_inode_labels): the directories and files the path
 * labels name, resolved by the daemon to (device, inode) when the policy is
 * loaded and again every few seconds. A file is labelled when it or any of
 * its ancestors is, whatever path reaches it (a bind mount, a rename of the
 * directory, a walk deeper than the path limit). dev is the kernel's dev_t
 * of the superblock (major << 20 | minor).
 */
struct sl_inode_key {
	__u64 ino;
	__u32 dev;
	__u32 slot;
};

/*
 * Programs by the file that runs (sl_prog_ids, sl_prog_sizes, sl_prog_seen).
 * A program word of an exec pattern (a keyword "railway " naming a program)
 * is resolved by the daemon to the files that carry that name in the
 * policy's program directories: their (device, inode) say "this is railway"
 * whatever the name it is run under (a symlink, a hardlink, argv[0] set by
 * exec -a, /proc/self/fd); their sizes mark files that may be copies (a
 * renamed copy, a memfd): such an exec, when being that program would change
 * the decision, is held until the daemon has compared the contents.
 */
struct sl_prog_kw {
	__u64 kw[SL_KW_WORDS]; /* the program words naming the file */
	/*
	 * A copy the daemon compared and found to be the program (learnt), or a
	 * file it found to be none (sl_prog_seen): valid only while the file's
	 * change time is this one (rewritten since: compared again). 0: a
	 * program file of the policy (known by identity whatever it holds).
	 */
	__u64 ctime_ns;
};

struct sl_size_key {
	__u64 size;
	__u32 slot;
	__u32 _pad;
};

/*
 * Bit 0 of a host label's environments (sl_host_labels; id 0 is no
 * environment): the destination is a model provider
 * (destinations.model_providers): the agent's conversation, never judged by
 * the TLS rules.
 */
#define SL_DEST_ROLE_PROVIDER 1ULL

/* exact host names and wildcard suffixes (".example.com"), lowercase */
struct sl_host_key {
	__u8 slot;
	__u8 wildcard; /* 1: name is a suffix beginning with '.' */
	__u8 name[SL_LABEL_HOST_MAX + 1];
	__u16 _pad;
};

/*
 * SL_OP_VERDICT: a rule matched. Emitted after the kernel acted (a verdict
 * never waits for ring buffer room). For TLS and exec the capture record of
 * the same action precedes it. data[] is empty.
 */
struct sl_verdict_event {
	struct sl_event_hdr hdr;
	__u64 target_env;	      /* environments named by the action's evidence */
	__u64 taint;		      /* session taint at the time */
	__u64 kw[SL_KW_WORDS];	      /* keywords seen (exec: this argv; tls: this connection) */
	__u64 patterns[SL_PAT_WORDS]; /* patterns matched */
	__u64 conn;		      /* TLS: connection pointer; else 0 */
	__u32 rule;		      /* index of the deciding rule */
	__u32 action;		      /* enum sl_kaction */
	__u32 channel;		      /* enum sl_kchannel */
	__u32 target_class;	      /* SL_KTGT_* (one bit) */
	__u32 flags;		      /* SL_VERDICT_* */
	__u32 trigger_op;	      /* op of the action (SL_OP_TLS_WRITE, SL_OP_EXEC, ...) */
	__u32 generation;	      /* policy generation that decided */
	__u32 unread;		      /* SL_UNREAD_*: evidence that could not be read */
	/* SL_VERDICT_IDENTIFY: the file whose contents decide (exe or script);
	 * SL_VERDICT_DECODE: file_ino is hdr.ktime_ns of the held write's
	 * capture record (the two are on different rings) */
	__u64 file_ino;
	__u32 file_dev;
	__s32 file_fd; /* the script's fd in the process, -1: the executable */
};

_Static_assert(sizeof(struct sl_verdict_event) == 64 + 72 + 32 + 16, "sl_verdict_event ABI");

#define SL_VERDICT_MONITOR (1U << 0)	   /* recorded only: nothing was stopped */
#define SL_VERDICT_ENFORCED (1U << 1)	   /* the kernel acted (signal sent / EPERM) */
#define SL_VERDICT_SIGNAL_FAILED (1U << 2) /* bpf_send_signal failed */
#define SL_VERDICT_SUSPICIOUS (1U << 3)	   /* unreadable evidence: tainted or partly matched */
#define SL_VERDICT_PARTIAL (1U << 4)	   /* a pattern of the channel partly matched */
#define SL_VERDICT_DOOMED (1U << 5)	   /* the session had a kill verdict: everything stops */
/*
 * The decision (rule, action) is what it would be if the file that runs
 * (file_*) were the program its size suggests: the process is stopped
 * before its first instruction until the daemon has compared the contents,
 * then killed / held for a person, or let go.
 */
#define SL_VERDICT_IDENTIFY (1U << 6)
/* a write judged again while it was being sent (its buffer changed after the
 * judgement at entry): the capture before this verdict is the buffer as it
 * was when the decision was taken */
#define SL_VERDICT_RECHECK (1U << 7)
/*
 * Two-stage verdict: the kernel could not judge the write from its bytes (a
 * connection in decode mode: HTTP/2, a content coding, chunked framing,
 * WebSocket, JSON escapes, a connection first seen mid-stream): the writer
 * is stopped and the session's egress held (as for a freeze), rule
 * SL_RULE_DECODE, until the daemon has decoded the request and judged it
 * (released, killed, or held for a person when it cannot decide).
 */
#define SL_VERDICT_DECODE (1U << 8)
/*
 * The write was captured by a function located without symbols that live
 * traffic has not confirmed yet (SL_EVF_UNCONFIRMED): a kill decision is
 * taken as a hold for a person (action freeze), never a kill.
 */
#define SL_VERDICT_UNCONFIRMED (1U << 9)

/*
 * sl_verdict_event.rule when no rule decided but the evidence could not be
 * read whole: settings.unreadable decided (unread says what was not read).
 */
#define SL_RULE_UNREADABLE 0xfffffffeU
/* sl_verdict_event.rule of an action of a session that had a kill verdict */
#define SL_RULE_DOOMED 0xfffffffdU
/* sl_verdict_event.rule of a two-stage hold (SL_VERDICT_DECODE) */
#define SL_RULE_DECODE 0xfffffffcU
/*
 * sl_verdict_event.rule of a hold taken at a socket write: a rustls process
 * read at its located seals writes a TLS record no seal was seen for
 * (bpf/tls.bpf.c, sl_tls_unseen_io), in a session whose scope does not let
 * unread TLS out (blind_tls: deny or proxy): held for a person before it
 * leaves.
 */
#define SL_RULE_UNREAD_TLS 0xfffffffbU

/* sl_verdict_event.unread: evidence the kernel could not read */
#define SL_UNREAD_LIMIT (1U << 0) /* longer than the in-kernel scan limit */
#define SL_UNREAD_FAULT (1U << 1) /* a page of the buffer could not be read */
#define SL_UNREAD_PATH (1U << 2)  /* a path could not be resolved to its root */
#define SL_UNREAD_ENV (1U << 3)	  /* the environment block past the scan limit */

#endif /* SCOPELOCK_POLICY_H */
