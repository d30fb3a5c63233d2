/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef SL_UTIL_H
#define SL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define SL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* cleanup helpers (systemd style) */
void sl_freep(void *p);
void sl_closep(int *fd);
#define _cleanup_free_ __attribute__((cleanup(sl_freep)))
#define _cleanup_close_ __attribute__((cleanup(sl_closep)))

/* move ownership out of a cleanup variable */
#define SL_TAKE_PTR(p)                                                                             \
	({                                                                                         \
		__typeof__(p) _tmp = (p);                                                          \
		(p) = NULL;                                                                        \
		_tmp;                                                                              \
	})

/*
 * Strict number parsing: the whole string must be a number in [min, max].
 * Accepts an optional K/M/G suffix (powers of 1024) with sl_parse_size.
 * Return 0, -EINVAL (not a number) or -ERANGE (out of range).
 */
int sl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int sl_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* mkdir -p with mode for created components; 0 or -errno */
int sl_mkdir_p(const char *path, unsigned int mode);

/* write a whole buffer, retrying on EINTR/short writes; 0 or -errno */
int sl_write_all(int fd, const void *buf, size_t len);

/* read a small file (< cap bytes) into a NUL-terminated malloc'd buffer */
int sl_read_file(const char *path, size_t cap, char **out, size_t *out_len);

#endif
