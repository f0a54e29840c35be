#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "provision";
static enum log_level log_threshold = LOG_LEVEL_INFO;
static int log_to_journal;

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/*
 * JOURNAL_STREAM contains "device:inode" of the stream journald connected
 * to stderr.  It is only trusted while stderr is still that stream, so
 * output redirected by a child's caller gets timestamps again.
 */
static int stderr_is_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (stream == NULL || sscanf(stream, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *program)
{
	log_program = program;
	log_to_journal = stderr_is_journal();
}

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

enum log_level log_get_level(void)
{
	return log_threshold;
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (int i = LOG_LEVEL_ERROR; i <= LOG_LEVEL_DEBUG; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *log_level_name(enum log_level level)
{
	if (level < LOG_LEVEL_ERROR || level > LOG_LEVEL_DEBUG)
		return "unknown";
	return level_names[level];
}

/*
 * Rewrites control characters other than tab as \xNN in place, so that a
 * value from a task or a server cannot end a log line early and forge the
 * next one; the text is cut if the escapes do not fit.
 */
static void escape_controls(char *line, size_t size)
{
	char copy[4096];
	size_t out = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (const char *p = copy; *p != '\0' && out + 5 < size; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			out += (size_t)snprintf(line + out, size - out, "\\x%02x", c);
		else
			line[out++] = (char)c;
	}
	line[out] = '\0';
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[4096];
	size_t len;

	if (level > log_threshold)
		return;

	vsnprintf(line, sizeof(line), fmt, ap);
	len = strlen(line);
	while (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	escape_controls(line, sizeof(line));

	if (log_to_journal) {
		fprintf(stderr, "<%d>%s: %s\n", (int)level, log_program, line);
	} else {
		struct timespec now;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s[%d] %s: %s\n", stamp, now.tv_nsec / 1000000,
			log_program, (int)getpid(), log_level_name(level), line);
	}
	fflush(stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
