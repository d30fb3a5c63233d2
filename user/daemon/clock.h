/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The clock of the records: the kernel stamps events with CLOCK_BOOTTIME,
 * records carry wall-clock time (RFC 3339, UTC, nanoseconds). Its state is
 * the offset between the two, refreshed by main.c (at start and every
 * minute).
 */
#ifndef SL_CLOCK_H
#define SL_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* measure the offset of CLOCK_REALTIME from CLOCK_BOOTTIME again */
void sl_clock_refresh(void);
/* "2026-04-01T12:00:00.000000000Z" of a CLOCK_BOOTTIME stamp */
json_t *sl_clock_json(uint64_t boot_ns);
/* the same into buf (at least SL_CLOCK_STR_SIZE bytes); its length */
#define SL_CLOCK_STR_SIZE 40
size_t sl_clock_str(uint64_t boot_ns, char *buf);
/* the same, now */
json_t *sl_clock_now_json(void);

#endif
