/*
 * Process-wide logging for the daemon, the worker and provisionctl.
 *
 * Lines go to stderr.  Under journald (JOURNAL_STREAM set and matching
 * stderr) each line starts with a "<N>" syslog priority prefix and carries
 * no timestamp, because journald adds its own; elsewhere each line starts
 * with an ISO 8601 timestamp, the program name and the level.
 */
#ifndef PROVISION_LOG_H
#define PROVISION_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 3,	/* values match syslog priorities */
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Sets the program name shown in each line and detects journald. */
void log_init(const char *program);

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "error", "warning", "notice", "info" or "debug"; returns -1 on anything else. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Logs at error level and exits with status 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
