#include "follow.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "output.h"
#include "parse.h"
#include "queue.h"
#include "reconnect.h"

/* Milliseconds between checks of the task when no notification arrives. */
#define FOLLOW_POLL_MS 2000

/* Results of the steps of a follow besides the exit codes. */
#define FOLLOW_RUNNING (-1)	/* the task has not finished yet */
#define FOLLOW_LOST (-2)	/* the connection was lost and may be opened again */

static const char listen_sql[] = "LISTEN provision_task_status; LISTEN provision_task_log";

/* One follow of a task. */
struct follow {
	struct ctl *ctl;
	long long id;
	long long last_id;	/* the id of the last log row printed */
	bool print_log;
	int reconnect_timeout;	/* seconds */
	char lost_reason[512];	/* why the connection was lost, on one line */
	char server_fatal[512];	/* a FATAL message the server sent outside a query, or "" */
	PQnoticeReceiver default_receiver;	/* libpq's, restored when the follow ends */
};

/*
 * NOTE: reading rows by "id > last seen" assumes that the log rows of one
 * task commit in id order, which is true while one connection writes them.
 * A row with a lower id that commits after a higher one would be skipped.
 */
static const char log_rows_sql[] =
	"SELECT id, task_id, date_trunc('milliseconds', logged_at) AS logged_at, level, message"
	" FROM provision.task_log WHERE task_id = $1::bigint AND id > $2::bigint ORDER BY id";

/* Prints the log rows in RES and sets *LAST_ID to the id of the last one. */
static void print_rows(const struct ctl *ctl, PGresult *res, long long *last_id, bool stream)
{
	int rows = PQntuples(res);

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
}

int print_log_rows(struct ctl *ctl, long long id, long long *last_id, bool stream)
{
	char id_text[32], last_text[32];
	const char *const params[] = { id_text, last_text };
	PGresult *res;

	snprintf(id_text, sizeof(id_text), "%lld", id);
	snprintf(last_text, sizeof(last_text), "%lld", *last_id);
	res = db_query(ctl->conn, log_rows_sql, 2, params);
	if (res == NULL)
		return CTL_EXIT_DB;

	print_rows(ctl, res, last_id, stream);
	PQclear(res);
	return CTL_EXIT_OK;
}

/*
 * Returns CTL_EXIT_DB after printing the error of RES (or of the
 * connection when RES is NULL), or FOLLOW_LOST after storing it in
 * F->lost_reason when the connection is lost.
 */
static int query_failed(struct follow *f, const PGresult *res)
{
	PGconn *conn = f->ctl->conn;

	if (PQstatus(conn) == CONNECTION_BAD && f->server_fatal[0] != '\0') {
		snprintf(f->lost_reason, sizeof(f->lost_reason), "%s", f->server_fatal);
		return FOLLOW_LOST;
	}
	if (PQstatus(conn) == CONNECTION_BAD) {
		db_error_line(conn, res, f->lost_reason, sizeof(f->lost_reason));
		return FOLLOW_LOST;
	}
	db_print_error(conn, res, NULL);
	return CTL_EXIT_DB;
}

/*
 * Runs SQL like db_try.  Returns the result, or NULL with *STATUS set by
 * query_failed.
 *
 * NOTE: a query blocks while the server's host is gone without closing
 * the connection (a half-open TCP connection), until the kernel gives up
 * after minutes.  tcp_user_timeout or keepalives_idle in the connection
 * string shorten that; nothing here sets them.
 */
static PGresult *follow_query(struct follow *f, const char *sql, int nparams,
			      const char *const *params, int *status)
{
	PGresult *res = db_try(f->ctl->conn, sql, nparams, params);

	if (db_ok(res))
		return res;
	*status = query_failed(f, res);
	PQclear(res);
	return NULL;
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
 * Waits until a notification about task F->id arrives or TIMEOUT_MS pass.
 * Returns 0 in both cases, CTL_EXIT_DB after printing why waiting failed,
 * or FOLLOW_LOST.
 */
static int wait_for_notification(struct follow *f, int timeout_ms)
{
	PGconn *conn = f->ctl->conn;
	struct pollfd pfd = { .fd = PQsocket(conn), .events = POLLIN };
	struct timespec start;

	/* Notifications that arrived during the last query wait in libpq's queue already. */
	if (drain_notifications(conn, f->id))
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
			return CTL_EXIT_DB;
		}
		if (ready == 0)
			return 0;

		/* A server that ends the session sends an error first, so the socket may still be open. */
		if (!PQconsumeInput(conn) || PQstatus(conn) == CONNECTION_BAD)
			return query_failed(f, NULL);
		if (drain_notifications(conn, f->id))
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
 * Runs one check of task F->id: its status first, then the log rows, so
 * that every row written before the task finished is printed.  Returns
 * FOLLOW_RUNNING while the task runs, FOLLOW_LOST, or the exit code once
 * it has finished or the check failed.
 */
static int check_task(struct follow *f)
{
	char id_text[32], last_text[32];
	const char *const params[] = { id_text, last_text };
	PGresult *task, *rows;
	int status = FOLLOW_RUNNING;

	snprintf(id_text, sizeof(id_text), "%lld", f->id);
	snprintf(last_text, sizeof(last_text), "%lld", f->last_id);
	task = follow_query(f, "SELECT status, error FROM provision.tasks WHERE id = $1::bigint",
			    1, params, &status);
	if (task == NULL)
		return status;
	if (PQntuples(task) == 0) {
		ctl_error("task %lld was deleted while it was followed", f->id);
		status = CTL_EXIT_NOT_FOUND;
		goto out;
	}

	if (f->print_log) {
		rows = follow_query(f, log_rows_sql, 2, params, &status);
		if (rows == NULL)
			goto out;
		print_rows(f->ctl, rows, &f->last_id, true);
		PQclear(rows);
	}
	if (task_status_final(PQgetvalue(task, 0, 0)))
		status = print_final(f->ctl, f->id, task);

out:
	PQclear(task);
	return status;
}

/*
 * Receives the notices of the follow's connection.  The server's reason
 * for closing a session, such as "terminating connection due to
 * administrator command" when it shuts down, arrives here as a FATAL
 * message while no query runs.  It is kept for the message about the
 * lost connection instead of printed.  Other notices print as libpq's
 * default receiver prints them.
 */
static void receive_notice(void *arg, const PGresult *res)
{
	struct follow *f = arg;
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (severity != NULL && primary != NULL &&
	    (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0)) {
		snprintf(f->server_fatal, sizeof(f->server_fatal), "%s", primary);
		return;
	}
	fputs(PQresultErrorMessage(res), stderr);
}

/* Sends the notices of the new ctl->conn to receive_notice and clears the last FATAL one. */
static void watch_connection(struct follow *f)
{
	f->server_fatal[0] = '\0';
	f->default_receiver = PQsetNoticeReceiver(f->ctl->conn, receive_notice, f);
}

/* Listens on the first connection.  Returns 0, CTL_EXIT_DB or FOLLOW_LOST. */
static int start_listening(struct follow *f)
{
	PGresult *res = PQexec(f->ctl->conn, listen_sql);
	int status = 0;

	if (!db_ok(res))
		status = query_failed(f, res);
	PQclear(res);
	return status;
}

/*
 * Checks task F->id after each notification or poll interval until it
 * ends.  Returns its exit code, CTL_EXIT_DB or FOLLOW_LOST.
 */
static int follow_connection(struct follow *f)
{
	int status;

	while ((status = check_task(f)) == FOLLOW_RUNNING) {
		if ((status = wait_for_notification(f, FOLLOW_POLL_MS)) != 0)
			return status;
	}
	return status;
}

/*
 * Reports the lost connection and opens a new one that listens.  Returns
 * 0, or CTL_EXIT_DB after printing how long it tried and what to check.
 */
static int reconnect(struct follow *f)
{
	char error[1024];
	struct timespec start;
	double seconds;

	if (f->reconnect_timeout == 0) {
		ctl_error("lost the connection to the database: %s", f->lost_reason);
		return CTL_EXIT_DB;
	}
	ctl_error("lost the connection to the database: %s; reconnecting for up to %d s",
		  f->lost_reason, f->reconnect_timeout);

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (ctl_reconnect(f->ctl, f->reconnect_timeout, listen_sql, error, sizeof(error)) != 0) {
		ctl_error("could not reconnect to the database within %d s: %s",
			  f->reconnect_timeout, error);
		ctl_error("check that PostgreSQL is running and that the connection string of -c "
			  "or -d reaches it; task %lld goes on, and \"provisionctl log -f %lld\" "
			  "follows it again", f->id, f->id);
		return CTL_EXIT_DB;
	}

	watch_connection(f);
	seconds = elapsed_ms(&start) / 1000.0;
	ctl_error("reconnected to the database after %.1f s; following task %lld again", seconds,
		  f->id);
	return 0;
}

int follow_task(struct ctl *ctl, long long id, long long last_id, bool print_log,
		int reconnect_timeout)
{
	struct follow f = {
		.ctl = ctl,
		.id = id,
		.last_id = last_id,
		.print_log = print_log,
		.reconnect_timeout = reconnect_timeout,
	};
	int status;

	/* Listening before the first check means no change after it goes unnoticed. */
	watch_connection(&f);
	if ((status = start_listening(&f)) == 0)
		status = follow_connection(&f);

	/* The catch-up after a reconnect is the first check_task, which reads from f.last_id. */
	while (status == FOLLOW_LOST) {
		if ((status = reconnect(&f)) != 0)
			return status;
		status = follow_connection(&f);
	}

	PQclear(PQexec(ctl->conn, "UNLISTEN *"));

	/* libpq's default receiver, defaultNoticeReceiver in fe-connect.c, ignores its argument. */
	PQsetNoticeReceiver(ctl->conn, f.default_receiver, NULL);
	return status;
}

int print_new_task(struct ctl *ctl, long long id, bool wait, int reconnect_timeout)
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
	return follow_task(ctl, id, 0, true, reconnect_timeout);
}

int parse_reconnect_timeout(const char *command, const char *text, int *seconds)
{
	long long value;
	int status;

	status = parse_number(command, "--reconnect-timeout", text, 0,
			      FOLLOW_RECONNECT_TIMEOUT_MAX, &value);
	if (status == 0)
		*seconds = (int)value;
	return status;
}
