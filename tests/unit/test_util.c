// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Argument parsing, mountinfo parsing and the control protocol framing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"
#include "proto.h"
#include "util.h"

static void test_parse_u64(void **state)
{
	uint64_t v = 7;

	assert_int_equal(sl_parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sl_parse_u64("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(sl_parse_u64("11", 0, 10, &v), -ERANGE);
	assert_int_equal(sl_parse_u64("3", 4, 10, &v), -ERANGE);
	assert_int_equal(v, 10); /* untouched on failure */
	assert_int_equal(sl_parse_u64("", 0, 10, &v), -EINVAL);
	assert_int_equal(sl_parse_u64(NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(sl_parse_u64("-1", 0, 10, &v), -EINVAL);
	assert_int_equal(sl_parse_u64("+1", 0, 10, &v), -EINVAL);
	assert_int_equal(sl_parse_u64(" 1", 0, 10, &v), -EINVAL);
	assert_int_equal(sl_parse_u64("1 ", 0, 10, &v), -EINVAL);
	assert_int_equal(sl_parse_u64("1k", 0, 10000, &v), -EINVAL); /* no suffix here */
	assert_int_equal(sl_parse_u64("0x10", 0, 100, &v), -EINVAL);
	assert_int_equal(sl_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(sl_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(sl_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
}

static void test_parse_size(void **state)
{
	uint64_t v = 0;

	assert_int_equal(sl_parse_size("4096", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(sl_parse_size("16M", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 16ULL << 20);
	assert_int_equal(sl_parse_size("16MiB", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 16ULL << 20);
	assert_int_equal(sl_parse_size("2k", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(sl_parse_size("1G", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(sl_parse_size("1T", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(sl_parse_size("M", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(sl_parse_size("1MB2", 0, UINT64_MAX, &v), -EINVAL);
	assert_int_equal(sl_parse_size("2G", 0, 1ULL << 30, &v), -ERANGE);
	assert_int_equal(sl_parse_size("17179869184G", 0, UINT64_MAX, &v), -ERANGE);
}

static const char mountinfo_hybrid[] =
    "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char mountinfo_escaped[] =
    "22 1 254:0 / / rw - ext4 /dev/vda rw\n"
    "50 22 0:40 / /mnt/cg\\040two rw shared:5 - cgroup2 none rw,nsdelegate\n";

static void test_cgroup2_find(void **state)
{
	FILE *f;
	char *out = NULL;

	f = fmemopen((void *)mountinfo_hybrid, sizeof(mountinfo_hybrid) - 1, "r");
	assert_non_null(f);
	assert_int_equal(sl_cgroup2_find(f, &out), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	free(out);
	fclose(f);

	f = fmemopen((void *)mountinfo_escaped, sizeof(mountinfo_escaped) - 1, "r");
	assert_int_equal(sl_cgroup2_find(f, &out), 0);
	assert_string_equal(out, "/mnt/cg two");
	free(out);
	fclose(f);

	f = fmemopen((void *)mountinfo_hybrid, 120, "r"); /* no cgroup2 line */
	out = NULL;
	assert_int_equal(sl_cgroup2_find(f, &out), -ENOENT);
	assert_null(out);
	fclose(f);
}

static void test_cgroup_level(void **state)
{
	assert_int_equal(sl_cgroup_level(""), 0);
	assert_int_equal(sl_cgroup_level("/"), 0);
	assert_int_equal(sl_cgroup_level("scopelock"), 1);
	assert_int_equal(sl_cgroup_level("/scopelock/abc"), 2);
	assert_int_equal(sl_cgroup_level("a//b/"), 2);
}

static void test_proto_roundtrip(void **state)
{
	int sv[2], fds[2], got = -1;
	json_t *msg, *in = NULL;
	char *raw = NULL;
	size_t len;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(pipe(fds), 0);
	msg = json_pack("{s:s, s:i}", "op", "run", "n", 3);
	assert_int_equal(sl_proto_send(sv[0], msg, fds[0]), 0);
	assert_int_equal(sl_proto_recv(sv[1], &in, &got), 0);
	assert_true(json_equal(msg, in));
	assert_true(got >= 0);
	/* the passed fd is the pipe's read end */
	assert_int_equal(write(fds[1], "x", 1), 1);
	{
		char c = 0;

		assert_int_equal(read(got, &c, 1), 1);
		assert_int_equal(c, 'x');
	}
	close(got);
	json_decref(in);

	/* not a JSON object: -EBADMSG, fd closed, nothing returned */
	assert_int_equal(sl_proto_send_raw(sv[0], "[1,2]", 5, 0), 0);
	in = NULL;
	assert_int_equal(sl_proto_recv(sv[1], &in, &got), -EBADMSG);
	assert_null(in);
	assert_int_equal(got, -1);

	/* raw text is delivered as is */
	assert_int_equal(sl_proto_send_raw(sv[0], "{\"a\":1}\n", 8, 0), 0);
	assert_int_equal(sl_proto_recv_raw(sv[1], &raw, &len, NULL), 0);
	assert_int_equal(len, 8);
	assert_memory_equal(raw, "{\"a\":1}\n", 8);
	free(raw);

	/* orderly close */
	close(sv[0]);
	assert_int_equal(sl_proto_recv(sv[1], &in, NULL), -ECONNRESET);
	close(sv[1]);
	close(fds[0]);
	close(fds[1]);
	json_decref(msg);
}

static void test_proto_connect_errors(void **state)
{
	char path[200];
	int fd = -1;

	snprintf(path, sizeof(path), "/tmp/sl-test-nonexistent-%d.sock", getpid());
	assert_int_equal(sl_proto_connect(path, &fd), -ENOENT);
	assert_int_equal(fd, -1);
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(sl_proto_connect(path, &fd), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_u64),	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_cgroup2_find),    cmocka_unit_test(test_cgroup_level),
	    cmocka_unit_test(test_proto_roundtrip), cmocka_unit_test(test_proto_connect_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
