// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Forward-secure checkpoints of the audit chain (checkpoint.h): the key file,
 * sealing, the line format and verification. HMAC-SHA256 and SHA-256 from
 * OpenSSL libcrypto, the line through jansson.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "audit_priv.h"
#include "checkpoint.h"

#define KEY_MAGIC "scopelock checkpoint key v1"
#define EVOLVE_LABEL "scopelock-checkpoint-evolve"
#define MAC_LABEL "scopelock-checkpoint-v1"

/* exactly 2n lowercase hex digits (as written: sl_audit_hex) */
static int unhex(const char *s, size_t len, uint8_t *raw, size_t n)
{
	return len == 2 * n ? sl_audit_unhex(s, n, raw) : -EINVAL;
}

int sl_ckpt_parse_key(const char *text, uint8_t key[SL_CKPT_KEY_LEN])
{
	static const char label[] = "verification key:";
	char lower[2 * SL_CKPT_KEY_LEN];
	size_t len;

	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	/* the line checkpoint-setup printed, as it was saved */
	if (!strncmp(text, label, sizeof(label) - 1))
		text += sizeof(label) - 1;
	while (*text == ' ' || *text == '\t')
		text++;
	len = strlen(text);
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
		       text[len - 1] == '\r'))
		len--;
	if (len != 2 * SL_CKPT_KEY_LEN)
		return -EINVAL;
	/* typed or copied by a person: either case */
	for (size_t i = 0; i < len; i++)
		lower[i] = (char)tolower((unsigned char)text[i]);
	return unhex(lower, len, key, SL_CKPT_KEY_LEN);
}

/*
 * The replaced key file's blocks, overwritten in place (zeros, synced) once
 * the new file has its name: a rename alone frees them with the old key in
 * them, where root reads it from the block device (k[0] is the verification
 * key). old: the replaced file, opened before the rename (-1: none).
 */
static int scrub_old_key(int old)
{
	static const char zeros[512];
	struct stat st;
	off_t off = 0;

	if (old < 0)
		return 0;
	if (fstat(old, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	while (off < st.st_size) {
		size_t n = st.st_size - off < (off_t)sizeof(zeros) ? (size_t)(st.st_size - off)
								   : sizeof(zeros);
		ssize_t w = pwrite(old, zeros, n, off);

		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += w;
	}
	return fdatasync(old) ? -errno : 0;
}

static int write_key_file(const char *path, const struct sl_ckpt_key *k, bool excl)
{
	char tmp[4096], dir[4096], khex[2 * SL_CKPT_KEY_LEN + 1], buf[256], *slash;
	int fd = -1, dfd = -1, old = -1, err = 0, n;
	bool renamed = false;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	sl_audit_hex(k->key, SL_CKPT_KEY_LEN, khex);
	n = snprintf(buf, sizeof(buf), KEY_MAGIC "\nepoch %" PRIu64 "\nkey %s\n", k->epoch, khex);
	OPENSSL_cleanse(khex, sizeof(khex));
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (write(fd, buf, (size_t)n) != n || fsync(fd)) {
		err = errno ? -errno : -EIO;
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		err = -errno;
		goto out;
	}
	fd = -1;
	if (excl) {
		/* never replace a key file someone else made meanwhile */
		if (link(tmp, path)) {
			err = -errno;
			goto out;
		}
		unlink(tmp);
	} else {
		/* the file replaced: a regular file of ours, or none */
		old = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (old < 0 && errno != ENOENT && errno != ELOOP) {
			err = -errno;
			goto out;
		}
		if (rename(tmp, path)) {
			err = -errno;
			goto out;
		}
	}
	renamed = true;
	/* the directory entry, durable */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd))
		err = -errno;
	if (!err)
		err = scrub_old_key(old);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (old >= 0)
		close(old);
	if (fd >= 0)
		close(fd);
	if (err && !renamed)
		unlink(tmp);
	if (dfd >= 0)
		close(dfd);
	return err;
}

int sl_ckpt_key_create(const char *path, bool force, uint8_t verification[SL_CKPT_KEY_LEN])
{
	struct sl_ckpt_key k = {.epoch = 0};
	int err;

	if (RAND_bytes(k.key, SL_CKPT_KEY_LEN) != 1)
		return -EIO;
	err = write_key_file(path, &k, !force);
	if (!err)
		memcpy(verification, k.key, SL_CKPT_KEY_LEN);
	OPENSSL_cleanse(&k, sizeof(k));
	return err;
}

/* the key file's directory: only its owner (root or this user) may change it */
static int check_key_dir(const char *path, char *why, size_t why_len)
{
	char dir[4096], *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (stat(dir, &st))
		return -errno;
	if ((st.st_mode & 022) || (st.st_uid != 0 && st.st_uid != geteuid())) {
		snprintf(
		    why, why_len,
		    "its directory '%.200s' (mode %03o, uid %u) may be changed by others: they "
		    "could replace the key or block its updates",
		    dir, (unsigned int)(st.st_mode & 0777), (unsigned int)st.st_uid);
		return -EPERM;
	}
	return 0;
}

int sl_ckpt_key_load(const char *path, struct sl_ckpt_key *k, char *why, size_t why_len)
{
	char buf[512], khex[2 * SL_CKPT_KEY_LEN + 2] = "";
	unsigned long long epoch;
	struct stat st;
	ssize_t n;
	int fd, err = 0, used = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(why, why_len, "mode %03o: the key file must be readable by its owner only",
			 (unsigned int)(st.st_mode & 0777));
		err = -EPERM;
		goto out;
	}
	/* whoever else made it, or may replace it, knows the key */
	if (st.st_uid != geteuid()) {
		snprintf(why, why_len, "owned by uid %u: the key file must be this user's (uid %u)",
			 (unsigned int)st.st_uid, (unsigned int)geteuid());
		err = -EPERM;
		goto out;
	}
	err = check_key_dir(path, why, why_len);
	if (err)
		goto out;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	buf[n] = '\0';
	if (sscanf(buf, KEY_MAGIC "\nepoch %llu\nkey %65s\n%n", &epoch, khex, &used) != 2 ||
	    used != n || unhex(khex, strlen(khex), k->key, SL_CKPT_KEY_LEN) ||
	    epoch > SL_CKPT_EPOCH_MAX) {
		snprintf(why, why_len,
			 "not a scopelock checkpoint key file (expected the lines '" KEY_MAGIC
			 "', 'epoch N', 'key <64 hex digits>')");
		err = -EINVAL;
		goto out;
	}
	k->epoch = epoch;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(khex, sizeof(khex));
	close(fd);
	return err;
}

void sl_ckpt_key_evolve(struct sl_ckpt_key *k)
{
	uint8_t next[SL_CKPT_KEY_LEN];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int len = 0;

	/* out of memory: a key that cannot evolve must not be used again */
	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, EVOLVE_LABEL, strlen(EVOLVE_LABEL)) ||
	    !EVP_DigestUpdate(c, k->key, SL_CKPT_KEY_LEN) || !EVP_DigestFinal_ex(c, next, &len))
		abort();
	EVP_MD_CTX_free(c);
	memcpy(k->key, next, SL_CKPT_KEY_LEN);
	OPENSSL_cleanse(next, sizeof(next));
	k->epoch++;
}

int sl_ckpt_key_save(const char *path, const struct sl_ckpt_key *k)
{
	return write_key_file(path, k, false);
}

static int mac_of(const uint8_t key[SL_CKPT_KEY_LEN], const struct sl_ckpt *c,
		  uint8_t out[SL_CKPT_HASH_LEN])
{
	char msg[64 + 2 * 20 + 2 * SL_CKPT_HASH_LEN + SL_CKPT_TIME_MAX + SL_CKPT_HOST_MAX];
	char h[2 * SL_CKPT_HASH_LEN + 1];
	unsigned int len = 0;
	int n;

	sl_audit_hex(c->hash, SL_CKPT_HASH_LEN, h);
	n = snprintf(msg, sizeof(msg), MAC_LABEL "|%" PRIu64 "|%" PRIu64 "|%s|%s|%s", c->epoch,
		     c->seq, h, c->time, c->host);
	if (n < 0 || n >= (int)sizeof(msg))
		return -EINVAL;
	if (!HMAC(EVP_sha256(), key, SL_CKPT_KEY_LEN, (const unsigned char *)msg, (size_t)n, out,
		  &len) ||
	    len != SL_CKPT_HASH_LEN)
		return -EIO;
	return 0;
}

int sl_ckpt_seal(struct sl_ckpt_key *k, uint64_t seq, const uint8_t hash[SL_CKPT_HASH_LEN],
		 const char *time, const char *host, struct sl_ckpt *c)
{
	int err;

	memset(c, 0, sizeof(*c));
	if (strlen(time) >= sizeof(c->time) || strlen(host) >= sizeof(c->host) ||
	    strchr(time, '|') || strchr(host, '|'))
		return -EINVAL;
	c->epoch = k->epoch;
	c->seq = seq;
	memcpy(c->hash, hash, SL_CKPT_HASH_LEN);
	snprintf(c->time, sizeof(c->time), "%s", time);
	snprintf(c->host, sizeof(c->host), "%s", host);
	err = mac_of(k->key, c, c->mac);
	if (!err)
		sl_ckpt_key_evolve(k);
	return err;
}

char *sl_ckpt_format(const struct sl_ckpt *c)
{
	char h[2 * SL_CKPT_HASH_LEN + 1], m[2 * SL_CKPT_HASH_LEN + 1];
	json_t *o;
	char *s;

	sl_audit_hex(c->hash, SL_CKPT_HASH_LEN, h);
	sl_audit_hex(c->mac, SL_CKPT_HASH_LEN, m);
	o = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "type", "checkpoint", "epoch",
		      (json_int_t)c->epoch, "seq", (json_int_t)c->seq, "hash", h, "time", c->time,
		      "host", c->host, "mac", m);
	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static int get_u64(json_t *o, const char *key, uint64_t *v, char *why, size_t why_len)
{
	json_t *x = json_object_get(o, key);

	if (!json_is_integer(x) || json_integer_value(x) < 0) {
		snprintf(why, why_len, "'%s' is missing or not a non-negative integer", key);
		return -EINVAL;
	}
	*v = (uint64_t)json_integer_value(x);
	return 0;
}

static int get_str(json_t *o, const char *key, char *out, size_t cap, char *why, size_t why_len)
{
	json_t *x = json_object_get(o, key);
	const char *s = json_string_value(x);

	if (!s || json_string_length(x) >= cap || strlen(s) != json_string_length(x) ||
	    strchr(s, '|')) {
		snprintf(why, why_len, "'%s' is missing, too long or not a plain string", key);
		return -EINVAL;
	}
	snprintf(out, cap, "%s", s);
	return 0;
}

int sl_ckpt_parse(const char *line, size_t len, struct sl_ckpt *c, char *why, size_t why_len)
{
	char h[2 * SL_CKPT_HASH_LEN + 1], m[2 * SL_CKPT_HASH_LEN + 1];
	json_error_t jerr;
	json_t *o;
	int err = -EINVAL;

	memset(c, 0, sizeof(*c));
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o || !json_is_object(o)) {
		snprintf(why, why_len, "not a JSON object%s%s", o ? "" : ": ", o ? "" : jerr.text);
		goto out;
	}
	if (!json_is_string(json_object_get(o, "type")) ||
	    strcmp(json_string_value(json_object_get(o, "type")), "checkpoint")) {
		snprintf(why, why_len, "not a checkpoint (its 'type' is not \"checkpoint\")");
		goto out;
	}
	if (get_u64(o, "epoch", &c->epoch, why, why_len) ||
	    get_u64(o, "seq", &c->seq, why, why_len) ||
	    get_str(o, "hash", h, sizeof(h), why, why_len) ||
	    get_str(o, "mac", m, sizeof(m), why, why_len) ||
	    get_str(o, "time", c->time, sizeof(c->time), why, why_len) ||
	    get_str(o, "host", c->host, sizeof(c->host), why, why_len))
		goto out;
	if (unhex(h, strlen(h), c->hash, SL_CKPT_HASH_LEN) ||
	    unhex(m, strlen(m), c->mac, SL_CKPT_HASH_LEN)) {
		snprintf(why, why_len, "'hash' and 'mac' must be 64 hex digits each");
		goto out;
	}
	err = 0;
out:
	json_decref(o);
	return err;
}

void sl_ckpt_verifier_init(struct sl_ckpt_verifier *v, const uint8_t k0[SL_CKPT_KEY_LEN])
{
	v->cur.epoch = 0;
	memcpy(v->cur.key, k0, SL_CKPT_KEY_LEN);
}

int sl_ckpt_verify_mac(struct sl_ckpt_verifier *v, const struct sl_ckpt *c)
{
	uint8_t mac[SL_CKPT_HASH_LEN];

	if (c->epoch < v->cur.epoch || c->epoch > SL_CKPT_EPOCH_MAX)
		return -EINVAL;
	while (v->cur.epoch < c->epoch)
		sl_ckpt_key_evolve(&v->cur);
	if (mac_of(v->cur.key, c, mac))
		return 0;
	return CRYPTO_memcmp(mac, c->mac, sizeof(mac)) == 0;
}
