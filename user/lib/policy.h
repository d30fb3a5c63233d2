/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * scopelock policy: YAML (libyaml) -> validated in-memory policy, laid out so
 * that it compiles directly into BPF maps. The language is documented in
 * docs/policy.md.
 *
 *   struct sl_policy_errors errs;
 *   struct sl_policy *p = NULL;
 *
 *   sl_policy_errors_init(&errs);
 *   err = sl_policy_load_file(path, &p, &errs);
 *   if (err == -EINVAL)
 *           sl_policy_errors_print(&errs, stderr);   every error, file:line:col
 *   ...
 *   sl_policy_free(p);
 *   sl_policy_errors_free(&errs);
 *
 * Layout for the compiler (all arrays in declaration order):
 *   - environments: id = index + 1 (0 is "unknown"), at most 63, so a set of
 *     environments (session taint) fits a u64 bitmask: bit (1 << id).
 *   - keywords: one table of distinct byte strings for the whole policy
 *     (exec argv and TLS plaintext), each with a case-insensitive flag and the
 *     channels that use it; at most SL_POLICY_MAX_KEYWORDS, so one
 *     multi-pattern automaton per channel reports keyword indices and a
 *     fixed-size bitmap of keywords seen per exec / TLS connection suffices.
 *   - patterns: CNF over keyword indices: every group needs at least one hit,
 *     and no keyword of "none" may have been seen.
 *   - rules: reference patterns by index (any of them matches).
 *
 * Secret values: sl_policy_load_secrets() reads the secret files and
 * environment variables a policy names. Values stay in sl_policy_secret.value
 * and are wiped on free; print only sl_policy_fingerprint_str() and the
 * environment name, never the value.
 */
#ifndef SL_POLICY_H
#define SL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- limits (each error message names the limit it hit) ---- */
#define SL_POLICY_MAX_BYTES (1U << 20) /* policy file size */
#define SL_POLICY_MAX_DEPTH 16	       /* nesting of lists and mappings */
#define SL_POLICY_MAX_NODES 200000     /* YAML nodes in a document */
#define SL_POLICY_MAX_SCALAR 4096      /* bytes in one YAML value */
#define SL_POLICY_MAX_SEQ 1024	       /* items in one list */
#define SL_POLICY_MAX_MAP 256	       /* keys in one mapping */
#define SL_POLICY_MAX_ERRORS 100       /* errors kept (all are counted) */
#define SL_POLICY_MAX_ENVS 62	       /* ids 1..62: u64 taint bitmask; 63 is foreign */
#define SL_POLICY_MAX_PATTERNS 128
#define SL_POLICY_MAX_RULES 256
#define SL_POLICY_MAX_KEYWORDS 256	     /* distinct keywords, whole policy */
#define SL_POLICY_MAX_PATTERN_KW 64	     /* keywords in one pattern (all groups + none) */
#define SL_POLICY_MAX_GROUPS 16		     /* AND groups in one pattern */
#define SL_POLICY_MAX_RULE_PATTERNS 16	     /* patterns one rule references */
#define SL_POLICY_MAX_SECRETS 64	     /* secret entries per environment */
#define SL_POLICY_MAX_SECRET_VALUES 1024     /* values loaded, whole policy */
#define SL_POLICY_SECRET_FILE_MAX (1U << 20) /* secret file size */
#define SL_POLICY_SECRET_VALUE_MAX 4096	     /* bytes in one secret value */
#define SL_POLICY_NAME_MAX 64		     /* environment, pattern, rule names */
#define SL_POLICY_KEYWORD_MIN 2
#define SL_POLICY_KEYWORD_MAX 256
#define SL_POLICY_RESOURCE_MIN 4
#define SL_POLICY_RESOURCE_MAX 256
#define SL_POLICY_HOST_MAX 253
#define SL_POLICY_DESC_MAX 512
#define SL_POLICY_FIELD_MAX 256 /* length of a field path in an error */

/* ---- defaults of `settings` ---- */
#define SL_POLICY_HOLD_TIMEOUT_DEFAULT 300 /* seconds */
#define SL_POLICY_HOLD_TIMEOUT_MAX 86400
#define SL_POLICY_SECRET_MIN_DEFAULT 8 /* shorter secret values are ignored */
#define SL_POLICY_SECRET_MIN_MIN 4
#define SL_POLICY_SECRET_MIN_MAX 1024
/* records kept in memory while the audit log cannot be written (bytes) */
#define SL_POLICY_AUDIT_BUFFER_DEFAULT (64ULL << 20)
#define SL_POLICY_AUDIT_BUFFER_MIN (256ULL << 10)
#define SL_POLICY_AUDIT_BUFFER_MAX (1ULL << 30)

/* settings.on_audit_failure: what happens to sessions when that buffer fills */
enum sl_audit_failure_action {
	SL_AUDIT_FAIL_FREEZE = 0,   /* freeze every session until the log is written */
	SL_AUDIT_FAIL_CONTINUE = 1, /* let sessions run; drop (and count) what does not fit */
};

/* settings.daemon_absent: what happens to sessions while no scopelockd runs */
enum sl_daemon_absent_action {
	SL_DAEMON_ABSENT_FREEZE = 0,   /* frozen after the grace period, until adopted */
	SL_DAEMON_ABSENT_CONTINUE = 1, /* run on (the kernel's verdicts still apply) */
};
/* settings.daemon_absent_grace: seconds */
#define SL_POLICY_DAEMON_GRACE_DEFAULT 5
#define SL_POLICY_DAEMON_GRACE_MAX 300

#define SL_POLICY_MAX_PROGRAM_PATHS 64
/* settings.program_paths when the policy gives none */
#define SL_POLICY_PROGRAM_PATHS                                                                    \
	{                                                                                          \
		"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"      \
	}

/* "sha256:" + 16 hex + NUL */
#define SL_POLICY_FP_STR_SIZE 24

/* environment id 0: no label says anything about the target */
#define SL_ENV_UNKNOWN 0
/* credentials found outside anything of the session's (include/scopelock_policy.h) */
#define SL_ENV_FOREIGN 63

enum sl_policy_mode {
	SL_POLICY_ENFORCE = 0,
	SL_POLICY_MONITOR = 1, /* every rule records what it would have done */
};

enum sl_channel {
	SL_CHAN_EXEC = 0,    /* argv of an exec, each argument followed by one space */
	SL_CHAN_TLS = 1,     /* plaintext of TLS writes, streamed per connection */
	SL_CHAN_CONNECT = 2, /* connect / UDP sendmsg destination */
	SL_CHAN_OPEN = 3,    /* opened file (resolved path) */
	SL_CHAN_MAX = 4,
};
#define SL_CHAN_BIT(c) (1U << (c))

/* ordered by strength: when several rules match, the strongest acts */
enum sl_action {
	SL_ACT_LOG = 0,
	SL_ACT_ALERT = 1,
	SL_ACT_DENY = 2,   /* connect only: EPERM */
	SL_ACT_FREEZE = 3, /* hold the action, freeze the session, ask a person */
	SL_ACT_KILL = 4,   /* kill before the action, then the whole session */
	SL_ACT_MAX = 5,
};

/* rule target condition: a mask of the cases in which the rule applies */
#define SL_TARGET_IN_SCOPE (1U << 0) /* target environment == session scope */
#define SL_TARGET_OUTSIDE (1U << 1)  /* known environment != session scope */
#define SL_TARGET_UNKNOWN (1U << 2)  /* no label decides the target */
#define SL_TARGET_FOREIGN (1U << 3)  /* a credential found outside the session's (foreign) */
#define SL_TARGET_ANY                                                                              \
	(SL_TARGET_IN_SCOPE | SL_TARGET_OUTSIDE | SL_TARGET_UNKNOWN | SL_TARGET_FOREIGN)

/* where a policy item was written, for messages after loading (1-based) */
struct sl_policy_loc {
	uint32_t line;
	uint32_t column;
};

enum sl_path_kind {
	SL_PATH_EXACT = 0, /* no wildcard: the path itself */
	SL_PATH_PREFIX =
	    1,		  /* "<dir>" + "/" + "**": dir and everything below (prefix ends in '/') */
	SL_PATH_GLOB = 2, /* anything else: match with sl_policy_glob_match() */
};

struct sl_policy_path {
	char *glob;	     /* absolute, as written */
	uint32_t prefix_len; /* bytes before the first wildcard */
	uint32_t kind;	     /* enum sl_path_kind */
};

enum sl_host_kind {
	SL_HOST_NAME = 0,     /* exact DNS name (lowercase) */
	SL_HOST_WILDCARD = 1, /* "*.example.com": any name ending in ".example.com" */
	SL_HOST_IPV4 = 2,     /* addr[0..3], prefix_len 0..32 */
	SL_HOST_IPV6 = 3,     /* addr[0..15], prefix_len 0..128 */
};

struct sl_policy_host {
	char *text;	    /* as written */
	char *name;	    /* NAME: the name; WILDCARD: the suffix with its dot; NULL for IPs */
	uint8_t addr[16];   /* network byte order; IPv4 in the first 4 bytes */
	uint32_t kind;	    /* enum sl_host_kind */
	uint16_t port;	    /* 0: any port */
	uint8_t prefix_len; /* IPs: 32 / 128 for a single address */
	uint8_t pad;
};

enum sl_secret_kind {
	SL_SECRET_FILE = 0,	   /* credential values read from a file */
	SL_SECRET_FINGERPRINT = 1, /* SHA-256 of a value */
	SL_SECRET_ENV = 2,	   /* value of one of the daemon's environment variables */
};

enum sl_secret_format {
	SL_SECFMT_AUTO = 0, /* KEY=VALUE lines give VALUE, other lines the whole line */
	SL_SECFMT_RAW = 1,  /* the whole file, trailing newlines removed */
	SL_SECFMT_ENV = 2,  /* only KEY=VALUE (dotenv) lines */
	SL_SECFMT_JSON = 3, /* string values of a JSON document */
};

struct sl_policy_secret_src {
	uint32_t kind;	 /* enum sl_secret_kind */
	uint32_t format; /* FILE: enum sl_secret_format */
	char *path;	 /* FILE */
	char *env_var;	 /* ENV */
	char **keys;	 /* FILE: only these keys (env / auto / json), NULL: all */
	uint32_t n_keys;
	uint8_t sha256[32];	  /* FINGERPRINT */
	struct sl_policy_loc loc; /* of the entry, for secret loading errors */
};

enum sl_policy_blind_tls {
	SL_BLIND_TLS_DENY = 0,
	SL_BLIND_TLS_ALERT = 1,
	/* through the session's inspecting proxy (scopelock-proxy), every other
	 * connect refused as with deny */
	SL_BLIND_TLS_PROXY = 2,
};
extern const char *const sl_policy_blind_tls_names[3]; /* "deny", "alert", "proxy" */

enum sl_policy_loss {
	SL_LOSS_MODE_THROTTLE = 0,
	SL_LOSS_MODE_DROP = 1,
};
extern const char *const sl_policy_loss_names[2]; /* "throttle", "drop" */

struct sl_policy_env {
	uint32_t id; /* 1..SL_POLICY_MAX_ENVS, declaration order */
	char *name;
	char *description; /* NULL if none */
	struct sl_policy_path *paths;
	uint32_t n_paths;
	struct sl_policy_host *hosts;
	uint32_t n_hosts;
	struct sl_policy_secret_src *secrets;
	uint32_t n_secrets;
	char **resources; /* literal ids, case-sensitive */
	uint32_t n_resources;
	/*
	 * confine: what sessions of this scope are kept from (both true unless
	 * the policy opts out): ptrace, process_vm_readv/writev and pidfd_getfd
	 * of processes outside the session; new user namespaces.
	 */
	bool confine_ptrace;
	bool confine_userns;
	/*
	 * blind_tls: what a session of this scope may do with TLS scopelock
	 * cannot read (a tls_blind_spot executable): deny (default: every
	 * connect and UDP send of that process is refused), alert (recorded)
	 * or proxy (it may connect only to the session's inspecting proxy,
	 * whose upstream TLS is captured; everything else refused as deny)
	 */
	enum sl_policy_blind_tls blind_tls;
	/*
	 * loss: when a session of this scope produces records faster than the
	 * daemon writes them: throttle (default: the producing process is
	 * stopped until the daemon has caught up) or drop (records are lost,
	 * counted)
	 */
	enum sl_policy_loss loss;
	struct sl_policy_loc loc;
};

struct sl_policy_keyword {
	uint8_t *bytes; /* may hold any byte but is also NUL-terminated; icase: ASCII-lowercased */
	uint32_t len;
	uint8_t icase;	  /* match ASCII letters case-insensitively */
	uint8_t channels; /* SL_CHAN_BIT() of the patterns using it */
	uint16_t pad;
};

struct sl_policy_group {
	uint32_t *kw; /* keyword indices: at least one must be seen */
	uint32_t n_kw;
};

struct sl_policy_pattern {
	char *name;
	uint32_t channels;		/* SL_CHAN_BIT(EXEC) and/or SL_CHAN_BIT(TLS) */
	struct sl_policy_group *groups; /* all must be satisfied */
	uint32_t n_groups;
	uint32_t *none; /* keyword indices that must not have been seen */
	uint32_t n_none;
	struct sl_policy_loc loc;
};

struct sl_policy_rule {
	char *name;
	char *description;  /* NULL if none */
	uint32_t channel;   /* enum sl_channel */
	uint32_t action;    /* enum sl_action */
	uint32_t target;    /* SL_TARGET_* mask */
	uint32_t *patterns; /* pattern indices, any of them; NULL: no pattern condition */
	uint32_t n_patterns;
	bool monitor;		/* as written in the rule */
	bool taint;		/* the session's taint counts in the target (default) */
	bool effective_monitor; /* monitor || policy mode monitor */
	struct sl_policy_loc loc;
};

struct sl_policy_settings {
	uint32_t hold_timeout_s;   /* freeze: a held action is denied after this */
	uint32_t secret_min_len;   /* secret values shorter than this are ignored */
	char *alert_file;	   /* NULL: the daemon's default */
	char *admin_group;	   /* may approve / deny besides root; NULL: root only */
	bool syslog;		   /* alerts to syslog / journald */
	uint64_t audit_buffer;	   /* bytes; SL_POLICY_AUDIT_BUFFER_* */
	uint32_t on_audit_failure; /* enum sl_audit_failure_action */
	uint32_t daemon_absent;	   /* enum sl_daemon_absent_action */
	uint32_t daemon_grace_s;   /* daemon_absent_grace */
	/*
	 * unreadable: an exec or TLS write whose evidence the kernel could not
	 * read whole (argv or plaintext past the scan limit, a buffer that
	 * faulted), or an open whose path could not be resolved: the action
	 * (enum sl_action, not deny) when the session is tainted with another
	 * environment or a pattern partly matched, and otherwise
	 */
	uint32_t unreadable_suspicious; /* default SL_ACT_FREEZE */
	uint32_t unreadable_otherwise;	/* default SL_ACT_ALERT */
	/* where program words are looked up (NULL: SL_POLICY_PROGRAM_PATHS) */
	char **program_paths;
	uint32_t n_program_paths;
};

/*
 * outputs: where alert-class records go besides the audit log, the alerts
 * file and syslog (docs/policy.md, "Outputs"). Each output has its own
 * bounded queue and delivery thread in the daemon: none ever blocks
 * enforcement or the journal.
 */
#define SL_OUTPUT_QUEUE_DEFAULT 1000
#define SL_OUTPUT_QUEUE_MAX 100000
struct sl_policy_outputs {
	/* program: JSON lines on the stdin of `sh -c command` (NULL: none) */
	char *program;
	uint32_t program_queue;
	/* webhook: an HTTP(S) POST per alert (NULL: none) */
	char *webhook_url;
	char *webhook_ca_file;	      /* NULL: the system's CAs */
	uint32_t webhook_timeout_ms;  /* one attempt */
	uint32_t webhook_retries;     /* attempts after the first before the alert is dropped */
	uint32_t webhook_backoff_ms;  /* first wait after a failure, doubled each time */
	uint32_t webhook_backoff_max; /* ms: the longest wait */
	uint32_t webhook_queue;
	/* syslog: RFC 5424 with structured data to a unix datagram socket (NULL: none) */
	char *syslog_socket;
	uint32_t syslog_queue;
	/* journald: an entry with SCOPELOCK_* fields (sd_journal_send) */
	bool journald;
	uint32_t journald_queue;
};

/*
 * A credential the daemon discovered (user/daemon/creds.c), not the policy:
 * its value labels env_id (a policy environment, or SL_ENV_FOREIGN) like a
 * secret's. Owned by the daemon; a policy only borrows the array.
 */
struct sl_policy_discovered {
	uint32_t env_id;
	uint32_t len;
	const uint8_t *value; /* never print it */
	uint8_t sha256[32];
	const char *kind;   /* sl_cred_kind_name() */
	const char *source; /* the file's path, or "environment" */
	uint64_t ino;	    /* of the file (0: the environment) */
	uint32_t dev;	    /* kernel dev_t */
	bool kernel;	    /* a label string of the kernel's automaton (else redacted only) */
};

/* a credential value (or fingerprint) labelled with an environment */
struct sl_policy_secret {
	uint32_t env_id;
	uint32_t src; /* index into the environment's secrets[] */
	uint8_t sha256[32];
	uint8_t *value; /* NULL for a fingerprint entry; never print it */
	uint32_t len;
};

struct sl_policy {
	char *source; /* file name given to the loader */
	/* sl_policy_load_file: SHA-256 of the file, or over every layer (extends, drop-ins) */
	char sha256[65];
	uint32_t n_layers; /* files merged (1: no extends, no drop-ins) */
	uint32_t version;
	uint32_t mode; /* enum sl_policy_mode */
	struct sl_policy_settings settings;
	struct sl_policy_outputs outputs;
	struct sl_policy_env *envs; /* envs[i].id == i + 1 */
	uint32_t n_envs;
	struct sl_policy_keyword *keywords;
	uint32_t n_keywords;
	struct sl_policy_pattern *patterns;
	uint32_t n_patterns;
	struct sl_policy_rule *rules;
	uint32_t n_rules;
	/*
	 * destinations.model_providers: hosts whose traffic is the agent's
	 * conversation with its model (recorded, never judged by the TLS
	 * rules; a labelled credential sent there is a credential_exposure
	 * alert). Host names and *.domain wildcards only.
	 */
	struct sl_policy_host *providers;
	uint32_t n_providers;
	/* filled by sl_policy_load_secrets() */
	struct sl_policy_secret *secrets;
	uint32_t n_secrets;
	bool secrets_loaded;
	/* credentials the daemon discovered (borrowed; compiled and redacted like secrets) */
	const struct sl_policy_discovered *discovered;
	uint32_t n_discovered;
};

/* ---- errors ---- */
struct sl_policy_error {
	char *file;
	uint32_t line;	 /* 1-based */
	uint32_t column; /* 1-based, in characters */
	char *field;	 /* "environments.production.hosts[2]", "(document)" */
	char *message;	 /* "expected ..., found ..." */
};

struct sl_policy_errors {
	struct sl_policy_error *v; /* the first SL_POLICY_MAX_ERRORS */
	size_t n;
	size_t alloc;
	size_t total; /* every error found, including those not kept */
};

void sl_policy_errors_init(struct sl_policy_errors *errs);
/* free the entries and re-initialise; NULL-safe */
void sl_policy_errors_free(struct sl_policy_errors *errs);
size_t sl_policy_errors_count(const struct sl_policy_errors *errs); /* kept entries */
size_t sl_policy_errors_total(const struct sl_policy_errors *errs); /* all found */
const struct sl_policy_error *sl_policy_errors_get(const struct sl_policy_errors *errs, size_t i);
#define sl_policy_errors_foreach(errs, e)                                                          \
	for (size_t _i = 0; ((e) = sl_policy_errors_get((errs), _i)) != NULL; _i++)
/* "FILE:LINE:COLUMN: field 'F': MESSAGE"; returns what snprintf returns */
int sl_policy_error_format(const struct sl_policy_error *e, char *buf, size_t size);
/* one line per kept error, then a line for those not kept */
void sl_policy_errors_print(const struct sl_policy_errors *errs, FILE *f);

/* ---- loading ---- */
/*
 * Parse and validate. On success *out owns a policy (free with
 * sl_policy_free) and 0 is returned. Otherwise *out is untouched and:
 *   -EINVAL  the policy has errors, all of them appended to errs
 *   -ENOMEM  out of memory
 *   -errno   the file could not be read (load_file; nothing appended)
 * errs may be NULL (errors are then only counted internally and dropped).
 * No file besides the policy is read: see sl_policy_load_secrets().
 */
int sl_policy_load_file(const char *path, struct sl_policy **out, struct sl_policy_errors *errs);
/*
 * The effective policy of path (its extends chain, the file, its drop-ins,
 * merged as sl_policy_load_file does) validated, then written to f as YAML
 * after a comment naming the files. 0, -EINVAL (errors in errs) or -errno.
 */
int sl_policy_show(const char *path, FILE *f, struct sl_policy_errors *errs);
int sl_policy_load_buf(const char *name, const void *buf, size_t len, struct sl_policy **out,
		       struct sl_policy_errors *errs);
void sl_policy_free(struct sl_policy *p);

/*
 * Read every secret the policy names (files, environment variables) and
 * fill p->secrets (fingerprint entries included, value NULL). Errors are
 * reported at the secret's entry in the policy file and never contain a
 * value. 0, -EINVAL (errors appended, p unchanged) or -ENOMEM.
 */
int sl_policy_load_secrets(struct sl_policy *p, struct sl_policy_errors *errs);

/* SHA-256 of a value, and its printable form "sha256:<first 16 hex>" */
void sl_policy_fingerprint(const void *value, size_t len, uint8_t sha256[32]);
void sl_policy_fingerprint_str(const void *value, size_t len, char out[SL_POLICY_FP_STR_SIZE]);
void sl_policy_sha256_str(const uint8_t sha256[32], char out[SL_POLICY_FP_STR_SIZE]);

/* ---- lookups (user-space reference semantics of the labels) ---- */
/* one table of names each (policy_names.c); "?" for a value out of range */
const char *sl_policy_mode_name(uint32_t mode);
const char *sl_policy_channel_name(uint32_t chan);
const char *sl_policy_action_name(uint32_t action);
/* "in_scope", "outside_scope", "unknown", "foreign" for one SL_TARGET_* bit, else "?" */
const char *sl_policy_target_class_name(uint32_t cls);
/* environment id for a name, or -ENOENT */
int sl_policy_env_id(const struct sl_policy *p, const char *name);
/* name for an id; "unknown" for 0, "foreign" for SL_ENV_FOREIGN, NULL if out of range */
const char *sl_policy_env_name(const struct sl_policy *p, uint32_t id);
/* '*' and '?' within a component, '[...]' classes, "**" for any components */
bool sl_policy_glob_match(const char *glob, const char *path);
/*
 * Environments (bit 1 << id) of every path label matching path: the union,
 * as the kernel's tables answer it (policy_compile.c folds enclosing labels
 * into each entry). 0: no label.
 */
uint64_t sl_policy_env_for_path(const struct sl_policy *p, const char *path);
/*
 * Environments of an opened file by its path as the kernel decides them
 * (bpf/file.bpf.c): the whole path, sl_policy_env_for_path(); a path the
 * kernel walked only in part (an open record's path_partial) is no path
 * label's: 0, except when the walk stopped at its length, depth or mount
 * limit (cut: the tail begins with '/' and the read did not fault): then
 * the environments of every wildcard glob that can match a path that long
 * or deep (fail closed: sl_glob_reaches_past_walk()). Labels by identity
 * are not included.
 */
uint64_t sl_policy_env_for_open(const struct sl_policy *p, const char *path, bool partial,
				bool cut);
/*
 * Environments of an absolute path written in an exec's argv as the kernel
 * decides them (the path trie: exact and directory labels; no wildcard glob).
 */
uint64_t sl_policy_env_for_arg(const struct sl_policy *p, const char *path);
/* name: lowercase-insensitive DNS name or NULL; addr: 4 or 16 bytes or NULL; port 0 = any */
bool sl_policy_host_match(const struct sl_policy_host *h, const char *name, const uint8_t *addr,
			  int family, uint16_t port);
/* the name (any case) is a model provider of destinations.model_providers */
bool sl_policy_provider_match(const struct sl_policy *p, const char *name);
/* environments (bit 1 << id) of every host label matching: the union */
uint64_t sl_policy_env_for_host(const struct sl_policy *p, const char *name, const uint8_t *addr,
				int family, uint16_t port);

/*
 * Reference matcher, the user-space model of the kernel automaton: scan a
 * buffer for the keywords of one channel into a bit set (bit i = keywords[i]
 * seen), then evaluate a pattern on it. For a TLS stream scan the
 * concatenation of the writes so far (a keyword may span two writes).
 * For exec the buffer is the argv with each argument followed by one space;
 * sl_policy_exec_subject() builds it.
 */
#define SL_POLICY_KW_WORDS (SL_POLICY_MAX_KEYWORDS / 64)
void sl_policy_keywords_scan(const struct sl_policy *p, uint32_t channel, const void *buf,
			     size_t len, uint64_t seen[SL_POLICY_KW_WORDS]);
bool sl_policy_pattern_eval(const struct sl_policy *p, uint32_t pattern,
			    const uint64_t seen[SL_POLICY_KW_WORDS]);
/* scan + eval on one complete buffer */
bool sl_policy_pattern_match(const struct sl_policy *p, uint32_t pattern, uint32_t channel,
			     const void *buf, size_t len);
/* "arg0 arg1 ... argN " (malloc'd, NUL-terminated; *len without the NUL); 0 or -ENOMEM */
int sl_policy_exec_subject(char *const argv[], char **out, size_t *len);

/*
 * Reference decision, the user-space model of the kernel's (bpf/match.bpf.h)
 * on the same decision functions (include/scopelock_decide.h): the patterns
 * of channel matched by the keyword set seen, the target class of the
 * evidence environments and the session's taint, and the deciding rule.
 */
/* sl_policy_decision.rule when settings.unreadable decided */
#define SL_POLICY_RULE_UNREADABLE (-2)

struct sl_policy_decision {
	int32_t rule; /* deciding rule, -1: none matched, SL_POLICY_RULE_UNREADABLE */
	uint32_t action;
	bool monitor;	       /* a monitor rule decided, or the session is in monitor mode */
	uint32_t target_class; /* SL_TARGET_* (one bit) */
	uint64_t target_env;   /* the environments the class was computed from */
	uint64_t patterns[SL_POLICY_MAX_PATTERNS / 64]; /* bit p: pattern p matched */
	bool partial;	 /* a pattern of the channel partly matched */
	bool suspicious; /* unread evidence: the stronger unreadable action */
};
/* unread: the evidence was not read whole (settings.unreadable takes part) */
void sl_policy_decide(const struct sl_policy *p, uint32_t channel,
		      const uint64_t seen[SL_POLICY_KW_WORDS], uint64_t evidence_env,
		      uint64_t taint, uint32_t scope_env, bool session_monitor, bool unread,
		      struct sl_policy_decision *out);

#endif /* SL_POLICY_H */
