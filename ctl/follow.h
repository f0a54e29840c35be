/*
 * Printing a task's log and waiting for the task to finish, for log,
 * log -f and enqueue --wait.
 *
 * Log rows print as "logged_at level message" lines, or with --json as
 * objects {"id", "logged_at", "level", "message"}.
 */
#ifndef PROVISIONCTL_FOLLOW_H
#define PROVISIONCTL_FOLLOW_H

#include <stdbool.h>

#include "ctl.h"

/*
 * Seconds that a follow retries a lost connection by default, enough for
 * a restart or a failover of PostgreSQL.  The option --reconnect-timeout
 * of log, enqueue and retry sets it from 0 (exit at once) to
 * FOLLOW_RECONNECT_TIMEOUT_MAX.
 */
#define FOLLOW_RECONNECT_TIMEOUT_DEFAULT 300
#define FOLLOW_RECONNECT_TIMEOUT_MAX 86400

/*
 * Prints the log rows of task ID with an id above *LAST_ID in id order,
 * and sets *LAST_ID to the last id printed.  With --json each row is one
 * line of JSON when STREAM is true and an element of one JSON array
 * otherwise.  Returns 0 or CTL_EXIT_DB.
 */
int print_log_rows(struct ctl *ctl, long long id, long long *last_id, bool stream);

/*
 * Waits until task ID reaches a final status, printing its log rows with
 * an id above LAST_ID as they arrive when PRINT_LOG is true, then prints
 * the final status and error.  It listens on provision_task_status and
 * provision_task_log and polls every few seconds in case a notification
 * is lost.  When the connection is lost it prints so on stderr and
 * reconnects for up to RECONNECT_TIMEOUT seconds (see reconnect.h), then
 * listens again and goes on from the last row printed, so that no row is
 * printed twice or left out.  Returns CTL_EXIT_OK for succeeded and
 * warning, CTL_EXIT_FAILED for failed and cancelled, CTL_EXIT_NOT_FOUND
 * if the task was deleted, or CTL_EXIT_DB after a failed query or when
 * the reconnect timeout ended.
 */
int follow_task(struct ctl *ctl, long long id, long long last_id, bool print_log,
		int reconnect_timeout);

/*
 * Prints the id of the new task ID, as {"id": ID} with --json, then
 * follows the task like follow_task when WAIT is true.  With --json and
 * WAIT the id is the first of the JSON lines.  Returns CTL_EXIT_OK, or
 * the code of follow_task.
 */
int print_new_task(struct ctl *ctl, long long id, bool wait, int reconnect_timeout);

/*
 * Parses TEXT, the value of --reconnect-timeout of COMMAND, into
 * *SECONDS.  Returns 0, or CTL_EXIT_USAGE after printing why TEXT is
 * invalid.
 */
int parse_reconnect_timeout(const char *command, const char *text, int *seconds);

#endif
