// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The clock of the records (clock.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/* CLOCK_REALTIME - CLOCK_BOOTTIME, at the last refresh */
static int64_t boot_to_real_ns;

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

void sl_clock_refresh(void)
{
	struct timespec real, boot;

	clock_gettime(CLOCK_BOOTTIME, &boot);
	clock_gettime(CLOCK_REALTIME, &real);
	boot_to_real_ns = ts_ns(&real) - ts_ns(&boot);
}

static json_t *format_time(int64_t ns)
{
	char buf[64];
	struct tm tm;
	time_t sec = (time_t)(ns / 1000000000LL);
	long frac = (long)(ns % 1000000000LL);

	if (frac < 0) {
		frac += 1000000000L;
		sec--;
	}
	gmtime_r(&sec, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return json_string(buf);
}

/* the date and time of the last second formatted (one thread: the daemon's loop) */
static time_t last_sec = -1;
static char last_text[64]; /* "2026-04-01T12:00:00." (20 bytes) */

size_t sl_clock_str(uint64_t boot_ns, char *buf)
{
	int64_t ns = (int64_t)boot_ns + boot_to_real_ns;
	time_t sec = (time_t)(ns / 1000000000LL);
	long frac = (long)(ns % 1000000000LL);

	if (frac < 0) {
		frac += 1000000000L;
		sec--;
	}
	if (sec != last_sec) {
		struct tm tm;

		gmtime_r(&sec, &tm);
		snprintf(last_text, sizeof(last_text), "%04d-%02d-%02dT%02d:%02d:%02d.",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
		last_sec = sec;
	}
	memcpy(buf, last_text, 20);
	for (int i = 28; i >= 20; i--) {
		buf[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	buf[29] = 'Z';
	buf[30] = '\0';
	return 30;
}

json_t *sl_clock_json(uint64_t boot_ns)
{
	return format_time((int64_t)boot_ns + boot_to_real_ns);
}

json_t *sl_clock_now_json(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return format_time(ts_ns(&ts));
}
