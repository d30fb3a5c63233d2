// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Checkpoints (user/lib/checkpoint.h): a seal verifies under its epoch's key
 * derived from the verification key and under no other; any field changed
 * breaks it; the key evolves one way and is gone from the key file; the key
 * file is private and parsed strictly; lines parse back to what was sealed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "checkpoint.h"

static char dir[] = "/tmp/sl-test-ckpt-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static void test_seal_verify(void **state)
{
	uint8_t k0[SL_CKPT_KEY_LEN], hash[SL_CKPT_HASH_LEN];
	struct sl_ckpt_key k = {0};
	struct sl_ckpt c[5], p;
	struct sl_ckpt_verifier v;
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(k0); i++)
		k0[i] = (uint8_t)(i * 7 + 1);
	memcpy(k.key, k0, sizeof(k0));
	for (int i = 0; i < 5; i++) {
		memset(hash, i, sizeof(hash));
		assert_int_equal(sl_ckpt_seal(&k, 100 + (uint64_t)i, hash, "2026-12-03T12:00:00Z",
					      "host-a", &c[i]),
				 0);
		assert_int_equal(c[i].epoch, (uint64_t)i);
	}
	assert_int_equal(k.epoch, 5);
	assert_memory_not_equal(k.key, k0, sizeof(k0));

	/* every seal verifies, in order; a line round-trips */
	sl_ckpt_verifier_init(&v, k0);
	for (int i = 0; i < 5; i++) {
		char *line = sl_ckpt_format(&c[i]);

		assert_non_null(line);
		assert_int_equal(sl_ckpt_parse(line, strlen(line), &p, why, sizeof(why)), 0);
		assert_memory_equal(&p, &c[i], sizeof(p));
		free(line);
		assert_int_equal(sl_ckpt_verify_mac(&v, &c[i]), 1);
	}
	/* going back is refused (keys only evolve forward) */
	assert_int_equal(sl_ckpt_verify_mac(&v, &c[2]), -EINVAL);

	/* skipping epochs is fine; any field changed is not */
	sl_ckpt_verifier_init(&v, k0);
	assert_int_equal(sl_ckpt_verify_mac(&v, &c[3]), 1);
	p = c[4];
	p.seq++;
	assert_int_equal(sl_ckpt_verify_mac(&v, &p), 0);
	p = c[4];
	p.hash[0] ^= 1;
	assert_int_equal(sl_ckpt_verify_mac(&v, &p), 0);
	p = c[4];
	p.time[3] = '7';
	assert_int_equal(sl_ckpt_verify_mac(&v, &p), 0);
	p = c[4];
	p.host[0] = 'H';
	assert_int_equal(sl_ckpt_verify_mac(&v, &p), 0);
	/* sealed at epoch 4, claimed to be another epoch */
	p = c[4];
	p.epoch = 5;
	assert_int_equal(sl_ckpt_verify_mac(&v, &p), 0);

	/* another verification key */
	k0[0] ^= 0x80;
	sl_ckpt_verifier_init(&v, k0);
	assert_int_equal(sl_ckpt_verify_mac(&v, &c[0]), 0);
}

static void test_key_file(void **state)
{
	uint8_t vk[SL_CKPT_KEY_LEN], vk2[SL_CKPT_KEY_LEN];
	struct sl_ckpt_key k, k2;
	char path[256], why[256] = "";
	FILE *f;

	(void)state;
	path_of(path, sizeof(path), "key");
	assert_int_equal(sl_ckpt_key_create(path, false, vk), 0);
	assert_int_equal(sl_ckpt_key_create(path, false, vk2), -EEXIST);
	assert_int_equal(sl_ckpt_key_load(path, &k, why, sizeof(why)), 0);
	assert_int_equal(k.epoch, 0);
	assert_memory_equal(k.key, vk, sizeof(vk));

	/* evolved and saved: the old key is not in the file */
	sl_ckpt_key_evolve(&k);
	assert_int_equal(sl_ckpt_key_save(path, &k), 0);
	assert_int_equal(sl_ckpt_key_load(path, &k2, why, sizeof(why)), 0);
	assert_int_equal(k2.epoch, 1);
	assert_memory_equal(k2.key, k.key, sizeof(k.key));
	assert_memory_not_equal(k2.key, vk, sizeof(vk));

	/* --force replaces it */
	assert_int_equal(sl_ckpt_key_create(path, true, vk2), 0);
	assert_memory_not_equal(vk2, vk, sizeof(vk));

	/* others may read it: refused */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(sl_ckpt_key_load(path, &k, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "owner only"));

	/* a directory others may change (they could swap the key): refused */
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(sl_ckpt_key_load(path, &k, why, sizeof(why)), 0);
	{
		char dir[256], *slash;

		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		assert_non_null(slash);
		*slash = '\0';
		assert_int_equal(chmod(dir, 0777), 0);
		assert_int_equal(sl_ckpt_key_load(path, &k, why, sizeof(why)), -EPERM);
		assert_non_null(strstr(why, "may be changed by others"));
		assert_int_equal(chmod(dir, 0700), 0);
	}
	/* a key file someone else owns (and so knows): refused */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(sl_ckpt_key_load(path, &k, why, sizeof(why)), -EPERM);
		assert_non_null(strstr(why, "owned by uid 65534"));
		assert_int_equal(chown(path, 0, 0), 0);
	}

	/* malformed files */
	path_of(path, sizeof(path), "bad");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("scopelock checkpoint key v1\nepoch 3\nkey 00zz\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(sl_ckpt_key_load(path, &k, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not a scopelock checkpoint key file"));
	path_of(path, sizeof(path), "missing");
	assert_int_equal(sl_ckpt_key_load(path, &k, why, sizeof(why)), -ENOENT);
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"type\":\"gap\"}",
	    "{\"type\":\"checkpoint\",\"epoch\":-1,\"seq\":1,\"hash\":\"00\",\"mac\":\"00\","
	    "\"time\":\"t\",\"host\":\"h\"}",
	    "{\"type\":\"checkpoint\",\"epoch\":1,\"seq\":1,\"hash\":\"00\",\"mac\":\"00\","
	    "\"time\":\"t\",\"host\":\"h\"}",
	    "{\"type\":\"checkpoint\",\"epoch\":1,\"seq\":1,\"hash\":\"00\",\"mac\":\"00\","
	    "\"time\":\"t|x\",\"host\":\"h\"}",
	    "{\"type\":\"checkpoint\",\"type\":\"checkpoint\"}",
	};
	uint8_t key[SL_CKPT_KEY_LEN];
	struct sl_ckpt c;
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(sl_ckpt_parse(bad[i], strlen(bad[i]), &c, why, sizeof(why)),
				 -EINVAL);
		assert_true(why[0]);
	}
	assert_int_equal(sl_ckpt_parse_key("  00112233445566778899aabbccddeeff00112233445566778899"
					   "aabbccddeeff\n",
					   key),
			 0);
	assert_int_equal(key[15], 0xff);
	assert_int_equal(sl_ckpt_parse_key("verification key: 00112233445566778899aabbccddeeff0011"
					   "2233445566778899aabbccddeeff\n",
					   key),
			 0);
	assert_int_equal(sl_ckpt_parse_key("0011", key), -EINVAL);
	assert_int_equal(sl_ckpt_parse_key("zz112233445566778899aabbccddeeff00112233445566778899aa"
					   "bbccddeeff",
					   key),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seal_verify),
	    cmocka_unit_test(test_key_file),
	    cmocka_unit_test(test_parse_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
