/*
 * A minimal check helper for the SSH tests: each failed CHECK prints the
 * file, line, condition and a message, and the test exits non-zero at the
 * end through check_exit_status().
 */
#ifndef PROVISION_TEST_CHECK_H
#define PROVISION_TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>

/* Exit status that ctest's SKIP_RETURN_CODE property turns into "skipped". */
#define CHECK_SKIP 77

static int check_failures;

static void check_report(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void check_report(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: FAILED: %s\n    ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	check_failures++;
}

#define CHECK(cond, ...)							\
	do {									\
		if (!(cond))							\
			check_report(__FILE__, __LINE__, #cond, __VA_ARGS__);	\
	} while (0)

static inline int check_exit_status(void)
{
	if (check_failures > 0)
		fprintf(stderr, "%d check(s) failed\n", check_failures);
	return check_failures > 0 ? 1 : 0;
}

#endif
