// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Environment labels: path globs, hosts (DNS names, wildcards, IPs, CIDRs,
 * ports) and SHA-256 fingerprints. Parsing validates strictly (addresses
 * through inet_pton); matching is the user-space reference of what the
 * kernel side compiles.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "policy_internal.h"

#define Q(s, len) sl_perr_quote((s), (len), 96, q, sizeof(q))

/* ---- globs ---- */

/*
 * End of a '[' class starting at s[i] (index of its ']'), or 0 if it does not
 * close within the component. After an optional '!', a ']' first is a
 * member; the first ']' after that closes the class. *bad: a construct
 * fnmatch(3) would read otherwise than this (an escape, "[:", "[.", "[="
 * inside the class, '^' first, which negates or not depending on the
 * environment): refused, so that the kernel's DFA (policy_globs.c) and
 * fnmatch agree on every glob accepted.
 */
static size_t class_end(const char *s, size_t len, size_t i, const char **bad)
{
	size_t j = i + 1;

	*bad = NULL;
	if (j < len && s[j] == '^') {
		*bad = "'[^' (write '[!...]' for a class of the characters not listed)";
		return 0;
	}
	if (j < len && s[j] == '!')
		j++;
	if (j < len && s[j] == ']')
		j++;
	for (; j < len && s[j] != '/'; j++) {
		if (s[j] == '\\') {
			*bad = "'\\' inside '[...]' (write the character itself; ']' first "
			       "in the class is a member)";
			return 0;
		}
		if (s[j] == '[' && j + 1 < len &&
		    (s[j + 1] == ':' || s[j + 1] == '.' || s[j + 1] == '=')) {
			*bad = "a '[:class:]', '[.symbol.]' or '[=equivalence=]' inside "
			       "'[...]' (list the characters or a range)";
			return 0;
		}
		if (s[j] == ']')
			return j;
	}
	return 0;
}

int sl_parse_glob(const char *s, size_t len, struct sl_policy_path *out, char *msg, size_t msgsz)
{
	size_t first_wild = len;
	size_t comp = 1; /* start of the current component */
	char q[160];

	Q(s, len);
	if (len == 0 || s[0] != '/') {
		snprintf(msg, msgsz, "expected an absolute path glob (starting with '/'), found %s",
			 q);
		return -EINVAL;
	}
	if (len > 1 && s[len - 1] == '/') {
		snprintf(msg, msgsz,
			 "expected no trailing '/' (write '<dir>/**' for everything below a "
			 "directory), found %s",
			 q);
		return -EINVAL;
	}
	for (size_t i = 1; i <= len; i++) {
		if (i == len || s[i] == '/') {
			size_t cl = i - comp;
			const char *c = s + comp;

			if (len > 1 && (cl == 0 || (cl == 1 && c[0] == '.') ||
					(cl == 2 && c[0] == '.' && c[1] == '.'))) {
				snprintf(
				    msg, msgsz,
				    "expected a normalised path without empty, '.' or '..' "
				    "components (paths are matched as the kernel resolved them), "
				    "found %s",
				    q);
				return -EINVAL;
			}
			comp = i + 1;
			continue;
		}
		switch (s[i]) {
		case '*':
			if (i + 1 < len && s[i + 1] == '*') {
				bool whole = i == comp && (i + 2 == len || s[i + 2] == '/');

				if (!whole) {
					snprintf(
					    msg, msgsz,
					    "expected '**' only as a whole path component, found "
					    "%s",
					    q);
					return -EINVAL;
				}
			}
			/* fallthrough */
		case '?':
			if (first_wild == len)
				first_wild = i;
			break;
		case '[': {
			const char *bad;
			size_t e = class_end(s, len, i, &bad);

			if (!e && bad) {
				snprintf(
				    msg, msgsz,
				    "expected a class of plain characters and ranges, found %s "
				    "in the '[' at byte %zu of %s",
				    bad, i + 1, q);
				return -EINVAL;
			}
			if (!e) {
				snprintf(
				    msg, msgsz,
				    "expected a ']' closing the '[' at byte %zu within the same "
				    "component, found %s",
				    i + 1, q);
				return -EINVAL;
			}
			if (first_wild == len)
				first_wild = i;
			i = e;
			break;
		}
		case '\\':
			if (i + 1 >= len || s[i + 1] == '/') {
				snprintf(msg, msgsz,
					 "expected a character after '\\' (escape), found %s", q);
				return -EINVAL;
			}
			if (first_wild == len)
				first_wild = i;
			i++;
			break;
		default:
			break;
		}
	}
	if (len == 3 && !memcmp(s, "/**", 3)) {
		snprintf(msg, msgsz,
			 "expected a glob narrower than '/**' (a label on every file would mark "
			 "every session), found %s",
			 q);
		return -EINVAL;
	}
	out->glob = NULL;
	out->prefix_len = (uint32_t)first_wild;
	if (first_wild == len)
		out->kind = SL_PATH_EXACT;
	else if (first_wild == len - 2 && len >= 3 && !memcmp(s + len - 3, "/**", 3))
		out->kind = SL_PATH_PREFIX;
	else
		out->kind = SL_PATH_GLOB;
	return 0;
}

/* split a copy of an absolute path into components (NUL-separated in place) */
static char **split_components(const char *s, char **buf, size_t *n)
{
	size_t len = strlen(s), cnt = 0;
	char **v;
	char *b;

	b = strdup(s);
	if (!b)
		return NULL;
	v = calloc(len / 2 + 2, sizeof(*v));
	if (!v) {
		free(b);
		return NULL;
	}
	for (char *p = b; *p;) {
		while (*p == '/')
			*p++ = '\0';
		if (!*p)
			break;
		v[cnt++] = p;
		while (*p && *p != '/')
			p++;
	}
	*buf = b;
	*n = cnt;
	return v;
}

bool sl_policy_glob_match(const char *glob, const char *path)
{
	char *gb = NULL, *pb = NULL;
	char **g = NULL, **p = NULL;
	bool *cur = NULL, *next = NULL;
	size_t ng, np;
	bool res = false;

	if (!glob || !path || glob[0] != '/' || path[0] != '/')
		return false;
	g = split_components(glob, &gb, &ng);
	p = split_components(path, &pb, &np);
	cur = calloc(np + 1, sizeof(*cur));
	next = calloc(np + 1, sizeof(*next));
	if (!g || !p || !cur || !next)
		goto out;
	/*
	 * next[j]: glob components i+1.. match path components j..; cur[j] the
	 * same for i. "**" matches zero or more components.
	 */
	for (size_t j = 0; j <= np; j++)
		next[j] = j == np;
	for (size_t i = ng; i-- > 0;) {
		bool dstar = !strcmp(g[i], "**");

		cur[np] = dstar ? next[np] : false;
		for (size_t j = np; j-- > 0;) {
			if (dstar)
				cur[j] = next[j] || cur[j + 1];
			else
				cur[j] = next[j + 1] && fnmatch(g[i], p[j], 0) == 0;
		}
		bool *t = next;
		next = cur;
		cur = t;
	}
	res = next[0];
out:
	free(cur);
	free(next);
	free(g);
	free(p);
	free(gb);
	free(pb);
	return res;
}

/* ---- hosts ---- */

static bool is_dns_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* labels of 1..63 name characters separated by single dots */
static bool valid_dns(const char *s, size_t len)
{
	size_t lab = 0;

	if (len == 0 || len > SL_POLICY_HOST_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (lab == 0)
				return false;
			lab = 0;
			continue;
		}
		if (!is_dns_char(s[i]) || ++lab > 63)
			return false;
	}
	return lab > 0;
}

static bool all_digits_dots(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '.')
			return false;
	return len > 0;
}

static int parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* "addr" or "addr/len" for one family */
static int parse_ip(const char *s, size_t len, int family, struct sl_policy_host *h, char *msg,
		    size_t msgsz)
{
	unsigned int maxlen = family == AF_INET ? 32 : 128;
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	const char *slash = memchr(s, '/', len);
	char addr[INET6_ADDRSTRLEN + 1];
	size_t alen = slash ? (size_t)(slash - s) : len;
	unsigned long plen = maxlen;
	char q[160];

	Q(s, len);
	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(msg, msgsz, "expected an %s address%s, found %s", fam,
			 family == AF_INET6 ? " (with a port: '[addr]:port')" : "", q);
		return -EINVAL;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(h->addr, 0, sizeof(h->addr));
	if (inet_pton(family, addr, h->addr) != 1) {
		snprintf(msg, msgsz, "expected an %s address%s, found %s", fam,
			 family == AF_INET6 ? " (with a port: '[addr]:port')" : "", q);
		return -EINVAL;
	}
	if (slash) {
		const char *p = slash + 1;
		size_t pl = len - alen - 1;

		plen = 0;
		for (size_t i = 0; i < pl; i++) {
			if (!isdigit((unsigned char)p[i]) || i >= 3) {
				pl = 0;
				break;
			}
			plen = plen * 10 + (unsigned long)(p[i] - '0');
		}
		if (pl == 0 || plen > maxlen) {
			snprintf(msg, msgsz,
				 "expected an %s prefix length from 0 to %u after '/', found %s",
				 fam, maxlen, q);
			return -EINVAL;
		}
	}
	for (unsigned int bit = (unsigned int)plen; bit < maxlen; bit++) {
		if (h->addr[bit / 8] & (0x80 >> (bit % 8))) {
			uint8_t net[16];
			char ns[INET6_ADDRSTRLEN];

			memcpy(net, h->addr, sizeof(net));
			for (unsigned int b = (unsigned int)plen; b < maxlen; b++)
				net[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
			inet_ntop(family, net, ns, sizeof(ns));
			snprintf(
			    msg, msgsz,
			    "expected a network address with no bits set after the /%lu prefix "
			    "('%s/%lu'), found %s",
			    plen, ns, plen, q);
			return -EINVAL;
		}
	}
	h->kind = family == AF_INET ? SL_HOST_IPV4 : SL_HOST_IPV6;
	h->prefix_len = (uint8_t)plen;
	return 0;
}

int sl_parse_host(const char *s, size_t len, struct sl_policy_host *out, char *msg, size_t msgsz)
{
	struct sl_policy_host h = {0};
	const char *host = s;
	size_t hlen = len;
	size_t colons = 0;
	char q[160];

	Q(s, len);
	for (size_t i = 0; i < len; i++)
		colons += s[i] == ':';

	if (len && s[0] == '[') {
		/* [IPv6] or [IPv6/len], then an optional :port */
		const char *rb = memchr(s, ']', len);
		size_t rest;

		if (!rb) {
			snprintf(msg, msgsz,
				 "expected ']' after a bracketed IPv6 address, found %s", q);
			return -EINVAL;
		}
		host = s + 1;
		hlen = (size_t)(rb - s) - 1;
		rest = len - (size_t)(rb - s) - 1;
		if (rest) {
			if (rb[1] != ':' || parse_port(rb + 2, rest - 1, &h.port)) {
				snprintf(msg, msgsz,
					 "expected a port from 1 to 65535 after ']:', found %s", q);
				return -EINVAL;
			}
		}
		if (parse_ip(host, hlen, AF_INET6, &h, msg, msgsz))
			return -EINVAL;
		goto done;
	}
	if (colons >= 2) {
		/* bare IPv6 (no port: write [addr]:port for one) */
		if (parse_ip(s, len, AF_INET6, &h, msg, msgsz))
			return -EINVAL;
		goto done;
	}
	if (colons == 1) {
		const char *c = memchr(s, ':', len);

		hlen = (size_t)(c - s);
		if (parse_port(c + 1, len - hlen - 1, &h.port)) {
			snprintf(msg, msgsz, "expected a port from 1 to 65535 after ':', found %s",
				 q);
			return -EINVAL;
		}
	}
	if (hlen == 0) {
		snprintf(msg, msgsz, "expected a host name or address before ':', found %s", q);
		return -EINVAL;
	}
	if (memchr(host, '/', hlen) || all_digits_dots(host, hlen)) {
		if (parse_ip(host, hlen, AF_INET, &h, msg, msgsz))
			return -EINVAL;
		goto done;
	}
	if (hlen >= 2 && host[0] == '*' && host[1] == '.') {
		if (!valid_dns(host + 2, hlen - 2) || memchr(host + 2, '*', hlen - 2)) {
			snprintf(msg, msgsz,
				 "expected '*.' followed by a DNS name (letters, digits, '-', '_', "
				 "labels of 1 to 63 separated by '.'), found %s",
				 q);
			return -EINVAL;
		}
		h.kind = SL_HOST_WILDCARD;
		h.name = strndup(host + 1, hlen - 1); /* keep the dot: ".example.com" */
		goto name;
	}
	if (memchr(host, '*', hlen)) {
		snprintf(msg, msgsz, "expected '*' only as a leading '*.' label, found %s", q);
		return -EINVAL;
	}
	if (!valid_dns(host, hlen)) {
		snprintf(msg, msgsz,
			 "expected a DNS name (letters, digits, '-', '_', labels of 1 to 63 "
			 "separated by '.', at most %u in all), found %s",
			 SL_POLICY_HOST_MAX, q);
		return -EINVAL;
	}
	h.kind = SL_HOST_NAME;
	h.name = strndup(host, hlen);
name:
	if (!h.name)
		return -ENOMEM;
	for (char *p = h.name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
done:
	*out = h;
	return 0;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int bytes = bits / 8, rem = bits % 8;

	if (memcmp(a, b, bytes))
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));

		return (a[bytes] & mask) == (b[bytes] & mask);
	}
	return true;
}

bool sl_policy_host_match(const struct sl_policy_host *h, const char *name, const uint8_t *addr,
			  int family, uint16_t port)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (h->port && h->port != port)
		return false;
	switch (h->kind) {
	case SL_HOST_NAME:
		return name && !strcasecmp(name, h->name);
	case SL_HOST_WILDCARD: {
		size_t nl, sl;

		if (!name)
			return false;
		nl = strlen(name);
		sl = strlen(h->name);
		return nl > sl && !strcasecmp(name + nl - sl, h->name);
	}
	case SL_HOST_IPV4:
		if (!addr)
			return false;
		if (family == AF_INET6 && !memcmp(addr, v4mapped, sizeof(v4mapped)))
			return prefix_eq(h->addr, addr + 12, h->prefix_len);
		return family == AF_INET && prefix_eq(h->addr, addr, h->prefix_len);
	case SL_HOST_IPV6:
		return addr && family == AF_INET6 && prefix_eq(h->addr, addr, h->prefix_len);
	default:
		return false;
	}
}

/* ---- fingerprints ---- */

int sl_parse_sha256(const char *s, size_t len, uint8_t sha[32], char *msg, size_t msgsz)
{
	static const char pfx[] = "sha256:";
	const size_t pl = sizeof(pfx) - 1;
	char q[160];

	Q(s, len);
	if (len != pl + 64 || strncasecmp(s, pfx, pl)) {
		snprintf(msg, msgsz,
			 "expected 'sha256:' followed by 64 hex digits (the SHA-256 of the "
			 "value), found %s (%zu characters)",
			 q, len);
		return -EINVAL;
	}
	for (size_t i = 0; i < 32; i++) {
		char hx[3] = {s[pl + 2 * i], s[pl + 2 * i + 1], 0};

		if (!isxdigit((unsigned char)hx[0]) || !isxdigit((unsigned char)hx[1])) {
			snprintf(
			    msg, msgsz,
			    "expected 64 hex digits after 'sha256:', found %s (not a hex digit "
			    "at character %zu)",
			    q, pl + 2 * i + (isxdigit((unsigned char)hx[0]) ? 2 : 1));
			return -EINVAL;
		}
		sha[i] = (uint8_t)strtoul(hx, NULL, 16);
	}
	return 0;
}
