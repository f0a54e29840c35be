/*
 * A minimal check helper for the SSH tests: each failed CHECK prints the
 * file, line, condition and a message, and the test exits non-zero at the
 * end through check_exit_status().
 */
#ifndef PROVISION_TEST_CHECK_H
#define PROVISION_TEST_CHECK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

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

/* One case of a test program that runs the case named on its command line. */
struct check_case {
	const char *name;
	void (*fn)(void);
};

/*
 * Runs the case that the only argument names and returns main's exit
 * status: check_exit_status(), or 2 for a missing or unknown case.
 */
static inline int check_run_case(int argc, char **argv, const struct check_case *cases, size_t count)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CASE\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < count; i++) {
		if (strcmp(argv[1], cases[i].name) == 0) {
			cases[i].fn();
			return check_exit_status();
		}
	}
	fprintf(stderr, "unknown case %s\n", argv[1]);
	return 2;
}

#endif
