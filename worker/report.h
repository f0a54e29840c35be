/*
 * The worker's half of the protocol in proto.h: sends events for the task
 * being run to the daemon.  A failed write means the daemon is gone, so
 * the worker exits at once with WORKER_EXIT_IO.
 */
#ifndef PROVISION_WORKER_REPORT_H
#define PROVISION_WORKER_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

void report_ready(void);
void report_started(int64_t task_id);

/* Sends a log line for the current task; LEVEL is a task_log level. */
void report_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sends the final event; ERROR may be NULL, RESULT (borrowed) may be NULL. */
void report_done(const char *status, const char *error, bool transient, const json_t *result);

/* Returns true if a warning was logged for the current task. */
bool report_warned(void);

#endif
