// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static enum sl_log_level g_level = SL_LOG_INFO;
static const char *g_ident = "scopelock";
static int g_syslog;

void sl_log_set_level(enum sl_log_level lvl)
{
	g_level = lvl;
}

enum sl_log_level sl_log_get_level(void)
{
	return g_level;
}

void sl_log_set_ident(const char *ident)
{
	g_ident = ident;
}

void sl_log_set_syslog(int on)
{
	if (on && !g_syslog)
		openlog(g_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	g_syslog = on;
}

static const char *const level_names[] = {
    [SL_LOG_ERR] = "error",
    [SL_LOG_WARN] = "warning",
    [SL_LOG_INFO] = "info",
    [SL_LOG_DEBUG] = "debug",
};

void sl_vlog(enum sl_log_level lvl, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char buf[2048];

	if (lvl > g_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "%s: %s: %s\n", g_ident, level_names[lvl], buf);
	if (g_syslog && lvl <= SL_LOG_WARN)
		syslog(prio[lvl], "%s", buf);
}

void sl_log(enum sl_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sl_vlog(lvl, fmt, ap);
	va_end(ap);
}

int sl_err_ret(int err, const char *fmt, ...)
{
	char buf[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sl_log(SL_LOG_ERR, "%s: %s", buf, strerror(err < 0 ? -err : err));
	return err < 0 ? err : -err;
}
