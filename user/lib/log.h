/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Logging: one level-macro family with a component prefix. Library code logs
 * at debug only; errors are logged once, where they are handled.
 *   return sl_err_ret(-ENOENT, "policy: open '%s'", path);
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <errno.h>
#include <stdarg.h>

enum sl_log_level {
	SL_LOG_ERR = 0,
	SL_LOG_WARN = 1,
	SL_LOG_INFO = 2,
	SL_LOG_DEBUG = 3,
};

void sl_log_set_level(enum sl_log_level lvl);
enum sl_log_level sl_log_get_level(void);
/* program name printed before each line ("scopelockd", "scopelock") */
void sl_log_set_ident(const char *ident);
/* also send warnings and errors to syslog (daemon) */
void sl_log_set_syslog(int on);
void sl_log(enum sl_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sl_vlog(enum sl_log_level lvl, const char *fmt, va_list ap);

#define log_err(...) sl_log(SL_LOG_ERR, __VA_ARGS__)
#define log_warn(...) sl_log(SL_LOG_WARN, __VA_ARGS__)
#define log_info(...) sl_log(SL_LOG_INFO, __VA_ARGS__)
#define log_debug(...) sl_log(SL_LOG_DEBUG, __VA_ARGS__)

/* log at error level with ": strerror(-err)" appended, return err (< 0) */
int sl_err_ret(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
