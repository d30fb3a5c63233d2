// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Policy validation: the outputs section (docs/policy.md, "Outputs"): where
 * alert-class records go besides the audit log, the alerts file and syslog.
 *
 *	outputs:
 *	  program: {command: "jq -c . >> /var/log/x", queue: 1000}
 *	  webhook: {url: https://..., timeout: 5s, retries: 20, backoff: 1s,
 *		    backoff_max: 1m, queue: 1000, ca_file: /etc/...}
 *	  syslog: {socket: /dev/log, queue: 1000}
 *	  journald: true
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"
#include "util.h"

#define SL_OUTPUT_TIMEOUT_MS_DEFAULT 5000
#define SL_OUTPUT_TIMEOUT_MS_MAX 300000
#define SL_OUTPUT_RETRIES_DEFAULT 20
#define SL_OUTPUT_RETRIES_MAX 100000
#define SL_OUTPUT_BACKOFF_MS_DEFAULT 1000
#define SL_OUTPUT_BACKOFF_MAX_MS_DEFAULT 60000
#define SL_OUTPUT_BACKOFF_MS_MAX 3600000

/* "250ms", "5s", "2m", "5" (seconds): milliseconds in [min, max] */
static bool get_ms(struct vctx *c, const struct ynode *n, uint64_t min, uint64_t max, uint32_t *out)
{
	uint64_t v, mult = 1000;
	char num[32];
	size_t l;

	if (n->bad)
		return false;
	if (n->type != YN_SCALAR || sl_pv_is_null(n) || n->len == 0 || n->len >= sizeof(num))
		goto bad;
	l = n->len;
	memcpy(num, n->val, l + 1);
	if (l > 2 && !strcmp(num + l - 2, "ms")) {
		mult = 1;
		l -= 2;
	} else if (num[l - 1] == 's') {
		l--;
	} else if (num[l - 1] == 'm') {
		mult = 60000;
		l--;
	}
	num[l] = '\0';
	if (!l || sl_parse_u64(num, 0, UINT32_MAX, &v) || v * mult < min || v * mult > max)
		goto bad;
	*out = (uint32_t)(v * mult);
	return true;
bad:
	sl_pv_err(c, n,
		  "expected a duration from %llu ms to %llu s (a number with an ms, s or m "
		  "suffix; seconds without one), found %s",
		  (unsigned long long)min, (unsigned long long)(max / 1000), FOUND(n));
	return false;
}

static void get_queue(struct vctx *c, const struct ynode *n, uint32_t *out)
{
	const struct ynode *v = sl_pv_map_get(n, "queue");
	uint64_t u;
	size_t old;

	*out = SL_OUTPUT_QUEUE_DEFAULT;
	if (!v)
		return;
	old = sl_pv_path_str(c, "queue");
	if (sl_pv_get_uint(c, v, 1, SL_OUTPUT_QUEUE_MAX, &u))
		*out = (uint32_t)u;
	sl_pv_path_restore(c, old);
}

static bool get_abs_path(struct vctx *c, const struct ynode *n, const char *key, char **out)
{
	const struct ynode *v = sl_pv_map_get(n, key);
	size_t old;
	bool ok = false;

	if (!v)
		return true;
	old = sl_pv_path_str(c, key);
	if (sl_pv_get_str(c, v, "an absolute file path", 2, 107, false, out)) {
		if ((*out)[0] != '/' || (*out)[v->len - 1] == '/') {
			sl_pv_err(c, v, "expected an absolute file path, found %s", FOUND(v));
			free(*out);
			*out = NULL;
		} else {
			ok = true;
		}
	}
	sl_pv_path_restore(c, old);
	return ok;
}

static void parse_program(struct vctx *c, const struct ynode *n)
{
	static const struct keyspec ks[] = {
	    {"command", true, "a shell command that reads JSON lines on its stdin"},
	    {"queue", false, NULL},
	};
	struct sl_policy_outputs *o = &c->p->outputs;
	const struct ynode *v;
	size_t old;

	if (!sl_pv_check_map(c, n, "a mapping (command, queue)", ks, SL_ARRAY_SIZE(ks)))
		return;
	if ((v = sl_pv_map_get(n, "command"))) {
		old = sl_pv_path_str(c, "command");
		if (sl_pv_get_str(c, v, "a shell command", 1, 4095, false, &o->program) &&
		    strspn(o->program, " \t\n") == v->len) {
			sl_pv_err(c, v, "expected a shell command, found %s", FOUND(v));
			free(o->program);
			o->program = NULL;
		}
		sl_pv_path_restore(c, old);
	}
	get_queue(c, n, &o->program_queue);
}

/* http:// or https://, a host, no whitespace or control characters */
static bool url_ok(const char *u)
{
	const char *host;

	if (!strncmp(u, "http://", 7))
		host = u + 7;
	else if (!strncmp(u, "https://", 8))
		host = u + 8;
	else
		return false;
	if (!*host || *host == '/' || *host == ':')
		return false;
	for (const unsigned char *p = (const unsigned char *)u; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

static void parse_webhook(struct vctx *c, const struct ynode *n)
{
	static const struct keyspec ks[] = {
	    {"url", true, "an http:// or https:// URL"},
	    {"timeout", false, NULL},
	    {"retries", false, NULL},
	    {"backoff", false, NULL},
	    {"backoff_max", false, NULL},
	    {"queue", false, NULL},
	    {"ca_file", false, NULL},
	};
	struct sl_policy_outputs *o = &c->p->outputs;
	const struct ynode *v;
	uint64_t u;
	size_t old;

	o->webhook_timeout_ms = SL_OUTPUT_TIMEOUT_MS_DEFAULT;
	o->webhook_retries = SL_OUTPUT_RETRIES_DEFAULT;
	o->webhook_backoff_ms = SL_OUTPUT_BACKOFF_MS_DEFAULT;
	o->webhook_backoff_max = SL_OUTPUT_BACKOFF_MAX_MS_DEFAULT;
	if (!sl_pv_check_map(
		c, n, "a mapping (url, timeout, retries, backoff, backoff_max, queue, ca_file)", ks,
		SL_ARRAY_SIZE(ks)))
		return;
	if ((v = sl_pv_map_get(n, "url"))) {
		old = sl_pv_path_str(c, "url");
		if (sl_pv_get_str(c, v, "an http:// or https:// URL", 1, 2048, false,
				  &o->webhook_url) &&
		    !url_ok(o->webhook_url)) {
			sl_pv_err(c, v,
				  "expected an http:// or https:// URL with a host and no spaces, "
				  "found %s",
				  FOUND(v));
			free(o->webhook_url);
			o->webhook_url = NULL;
		}
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "timeout"))) {
		old = sl_pv_path_str(c, "timeout");
		get_ms(c, v, 100, SL_OUTPUT_TIMEOUT_MS_MAX, &o->webhook_timeout_ms);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "retries"))) {
		old = sl_pv_path_str(c, "retries");
		if (sl_pv_get_uint(c, v, 0, SL_OUTPUT_RETRIES_MAX, &u))
			o->webhook_retries = (uint32_t)u;
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "backoff"))) {
		old = sl_pv_path_str(c, "backoff");
		get_ms(c, v, 10, SL_OUTPUT_BACKOFF_MS_MAX, &o->webhook_backoff_ms);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "backoff_max"))) {
		old = sl_pv_path_str(c, "backoff_max");
		if (get_ms(c, v, 10, SL_OUTPUT_BACKOFF_MS_MAX, &o->webhook_backoff_max) &&
		    o->webhook_backoff_max < o->webhook_backoff_ms)
			sl_pv_err(c, v,
				  "expected a duration at least as long as backoff (%u ms), found "
				  "%s",
				  o->webhook_backoff_ms, FOUND(v));
		sl_pv_path_restore(c, old);
	}
	get_queue(c, n, &o->webhook_queue);
	get_abs_path(c, n, "ca_file", &o->webhook_ca_file);
}

static void parse_syslog(struct vctx *c, const struct ynode *n)
{
	static const struct keyspec ks[] = {
	    {"socket", false, NULL},
	    {"queue", false, NULL},
	};
	struct sl_policy_outputs *o = &c->p->outputs;

	if (!sl_pv_check_map(c, n, "a mapping (socket, queue)", ks, SL_ARRAY_SIZE(ks)))
		return;
	if (!sl_pv_map_get(n, "socket"))
		o->syslog_socket = strdup("/dev/log");
	else
		get_abs_path(c, n, "socket", &o->syslog_socket);
	if (!sl_pv_map_get(n, "socket") && !o->syslog_socket)
		c->err = -ENOMEM;
	get_queue(c, n, &o->syslog_queue);
}

void sl_pv_parse_outputs(struct vctx *c, const struct ynode *n)
{
	static const struct keyspec ks[] = {
	    {"program", false, NULL},
	    {"webhook", false, NULL},
	    {"syslog", false, NULL},
	    {"journald", false, NULL},
	};
	struct sl_policy_outputs *o = &c->p->outputs;
	const struct ynode *v;
	size_t old;

	/* `outputs:` with nothing under it: no output */
	if (sl_pv_is_null(n))
		return;
	if (!sl_pv_check_map(c, n, "a mapping (program, webhook, syslog, journald)", ks,
			     SL_ARRAY_SIZE(ks)))
		return;
	if ((v = sl_pv_map_get(n, "program"))) {
		old = sl_pv_path_str(c, "program");
		parse_program(c, v);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "webhook"))) {
		old = sl_pv_path_str(c, "webhook");
		parse_webhook(c, v);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "syslog"))) {
		old = sl_pv_path_str(c, "syslog");
		parse_syslog(c, v);
		sl_pv_path_restore(c, old);
	}
	if ((v = sl_pv_map_get(n, "journald"))) {
		old = sl_pv_path_str(c, "journald");
		sl_pv_get_bool(c, v, &o->journald);
		o->journald_queue = SL_OUTPUT_QUEUE_DEFAULT;
		sl_pv_path_restore(c, old);
	}
}

void sl_pv_free_outputs(struct sl_policy_outputs *o)
{
	free(o->program);
	free(o->webhook_url);
	free(o->webhook_ca_file);
	free(o->syslog_socket);
	memset(o, 0, sizeof(*o));
}
