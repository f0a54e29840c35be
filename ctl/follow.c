#include "follow.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "output.h"
#include "queue.h"

/* Milliseconds between checks of the task when no notification arrives. */
#define FOLLOW_POLL_MS 2000

/*
 * NOTE: reading rows by "id > last seen" assumes that the log rows of one
 * task commit in id order, which is true while one connection writes them.
 * A row with a lower id that commits after a higher one would be skipped.
 */
static const char log_rows_sql[] =
	"SELECT id, task_id, date_trunc('milliseconds', logged_at) AS logged_at, level, message"
	" FROM provision.task_log WHERE task_id = $1::bigint AND id > $2::bigint ORDER BY id";

int print_log_rows(struct ctl *ctl, long long id, long long *last_id, bool stream)
{
	char id_text[32], last_text[32];
	const char *const params[] = { id_text, last_text };
	PGresult *res;
	int rows;

	snprintf(id_text, sizeof(id_text), "%lld", id);
	snprintf(last_text, sizeof(last_text), "%lld", *last_id);
	res = db_query(ctl->conn, log_rows_sql, 2, params);
	if (res == NULL)
		return CTL_EXIT_DB;

	rows = PQntuples(res);
	if (ctl->json && !stream)
		print_json(result_to_json(res));
	for (int row = 0; row < rows; row++) {
		if (ctl->json && stream)
			print_json_line(result_row_to_json(res, row));
		else if (!ctl->json)
			printf("%s %-7s %s\n", PQgetvalue(res, row, 2), PQgetvalue(res, row, 3),
			       PQgetvalue(res, row, 4));
	}
	if (rows > 0)
		sscanf(PQgetvalue(res, rows - 1, 0), "%lld", last_id);
	fflush(stdout);
	PQclear(res);
	return CTL_EXIT_OK;
}

/* Returns true if PAYLOAD, task ids separated by commas, contains ID_TEXT. */
static bool payload_lists(const char *payload, const char *id_text)
{
	size_t len = strlen(id_text);
	const char *p = payload;

	for (;;) {
		if (strncmp(p, id_text, len) == 0 && (p[len] == ',' || p[len] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p == NULL)
			return false;
		p++;
	}
}

/* Empties libpq's queue of notifications.  Returns true if one was about task ID. */
static bool drain_notifications(PGconn *conn, long long id)
{
	char id_text[32];
	PGnotify *notify;
	bool matched = false;

	snprintf(id_text, sizeof(id_text), "%lld", id);
	while ((notify = PQnotifies(conn)) != NULL) {
		if (payload_lists(notify->extra, id_text))
			matched = true;
		PQfreemem(notify);
	}
	return matched;
}

static long long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000LL + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/*
 * Waits until a notification about task ID arrives or TIMEOUT_MS pass.
 * Returns 0 in both cases, or -1 after printing why the connection failed.
 */
static int wait_for_notification(PGconn *conn, long long id, int timeout_ms)
{
	struct pollfd pfd = { .fd = PQsocket(conn), .events = POLLIN };
	struct timespec start;

	/* Notifications that arrived during the last query wait in libpq's queue already. */
	if (drain_notifications(conn, id))
		return 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		long long remaining = timeout_ms - elapsed_ms(&start);
		int ready;

		if (remaining <= 0)
			return 0;
		ready = poll(&pfd, 1, (int)remaining);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0) {
			ctl_error("waiting for the database failed: %s", strerror(errno));
			return -1;
		}
		if (ready == 0)
			return 0;

		if (!PQconsumeInput(conn)) {
			db_print_error(conn, NULL, "lost the connection to the database");
			return -1;
		}
		if (drain_notifications(conn, id))
			return 0;
	}
}

/* Prints the final status line and returns the exit code for STATUS. */
static int print_final(struct ctl *ctl, long long id, const PGresult *task)
{
	const char *status = PQgetvalue(task, 0, 0);
	bool has_error = !PQgetisnull(task, 0, 1);
	const char *error = PQgetvalue(task, 0, 1);

	if (ctl->json)
		print_json_line(json_pack("{s:I, s:s, s:o}", "task_id", (json_int_t)id,
					  "status", status,
					  "error", has_error ? json_string(error) : json_null()));
	else if (has_error)
		printf("task %lld %s: %s\n", id, status, error);
	else
		printf("task %lld %s\n", id, status);
	fflush(stdout);

	if (strcmp(status, "succeeded") == 0 || strcmp(status, "warning") == 0)
		return CTL_EXIT_OK;
	return CTL_EXIT_FAILED;
}

/*
 * Runs one check of task ID: its status first, then the log rows, so that
 * every row written before the task finished is printed.  Returns -1 while
 * the task runs, or the exit code once it has finished or failed.
 */
static int check_task(struct ctl *ctl, long long id, long long *last_id, bool print_log)
{
	char id_text[32];
	const char *const params[] = { id_text };
	PGresult *task;
	int status = -1;

	snprintf(id_text, sizeof(id_text), "%lld", id);
	task = db_query(ctl->conn, "SELECT status, error FROM provision.tasks WHERE id = $1::bigint",
			1, params);
	if (task == NULL)
		return CTL_EXIT_DB;
	if (PQntuples(task) == 0) {
		ctl_error("task %lld was deleted while it was followed", id);
		status = CTL_EXIT_NOT_FOUND;
		goto out;
	}

	if (print_log && print_log_rows(ctl, id, last_id, true) != 0) {
		status = CTL_EXIT_DB;
		goto out;
	}
	if (task_status_final(PQgetvalue(task, 0, 0)))
		status = print_final(ctl, id, task);

out:
	PQclear(task);
	return status;
}

int follow_task(struct ctl *ctl, long long id, long long last_id, bool print_log)
{
	int status;

	/* Listening before the first check means no change after it goes unnoticed. */
	if (db_command(ctl->conn, "LISTEN provision_task_status; LISTEN provision_task_log") != 0)
		return CTL_EXIT_DB;

	while ((status = check_task(ctl, id, &last_id, print_log)) < 0) {
		if (wait_for_notification(ctl->conn, id, FOLLOW_POLL_MS) != 0)
			return CTL_EXIT_DB;
	}

	PQclear(PQexec(ctl->conn, "UNLISTEN *"));
	return status;
}

int print_new_task(struct ctl *ctl, long long id, bool wait)
{
	if (ctl->json && wait)
		print_json_line(json_pack("{s:I}", "id", (json_int_t)id));
	else if (ctl->json)
		print_json(json_pack("{s:I}", "id", (json_int_t)id));
	else
		printf("%lld\n", id);
	fflush(stdout);

	if (!wait)
		return CTL_EXIT_OK;
	return follow_task(ctl, id, 0, true);
}
