#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

static int64_t current_task;
static bool current_warned;

static void send_message(json_t *msg)
{
	size_t len;
	char *line = proto_encode(msg, &len);

	json_decref(msg);
	if (line == NULL)
		_exit(WORKER_EXIT_SOFTWARE);
	if (proto_write_all(PROTO_FD_EVENTS, line, len) != 0)
		_exit(WORKER_EXIT_IO);
	free(line);
}

static double now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void report_ready(void)
{
	send_message(json_pack("{s:s, s:i}", "op", "ready", "pid", (int)getpid()));
}

void report_started(int64_t task_id)
{
	current_task = task_id;
	current_warned = false;
	send_message(json_pack("{s:s, s:I, s:f}", "op", "started", "id", (json_int_t)task_id,
			       "ts", now_unix()));
}

void report_log(const char *level, const char *fmt, ...)
{
	char *text;
	json_t *message;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		_exit(WORKER_EXIT_SOFTWARE);

	/* jansson accepts only valid UTF-8; callers pass sanitized text, so this is a last resort. */
	message = json_string(text);
	if (message == NULL)
		message = json_string("(log line not valid UTF-8; dropped)");
	free(text);

	if (strcmp(level, "warning") == 0)
		current_warned = true;
	send_message(json_pack("{s:s, s:I, s:s, s:o, s:f}", "op", "log", "id",
			       (json_int_t)current_task, "level", level, "message", message,
			       "ts", now_unix()));
}

void report_done(const char *status, const char *error, bool transient, const json_t *result)
{
	json_t *msg = json_pack("{s:s, s:I, s:s, s:b, s:f}", "op", "done", "id",
				(json_int_t)current_task, "status", status, "transient", transient,
				"ts", now_unix());

	json_t *error_value = error ? json_string(error) : json_null();

	if (error_value == NULL)
		error_value = json_string("(error message not valid UTF-8)");
	json_object_set_new(msg, "error", error_value);
	json_object_set(msg, "result", result ? (json_t *)result : json_null());
	send_message(msg);
	current_task = 0;
}

bool report_warned(void)
{
	return current_warned;
}
