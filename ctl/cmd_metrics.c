/*
 * provisionctl metrics: the state of the queue in the Prometheus text
 * exposition format (version 0.0.4), read from the database, so that one
 * scrape covers every daemon that shares it.
 *
 * All queries run in one read-only REPEATABLE READ transaction, so the
 * numbers come from one snapshot of the tables.  The counters are counts of
 * rows: deleting finished tasks makes them drop, which Prometheus treats as
 * a counter reset.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "db.h"
#include "output.h"
#include "parse.h"
#include "xalloc.h"

static const char usage[] =
	"Usage: provisionctl metrics\n"
	"\n"
	"Prints the state of the task queue in the Prometheus text exposition\n"
	"format: tasks by status and type, the age of the oldest queued task, the\n"
	"running tasks and last heartbeat of each daemon, finished and failed tasks\n"
	"by type, and a histogram of the run time of finished tasks.  It reads\n"
	"everything from the database, so it covers every daemon.  Publish it with\n"
	"node_exporter's textfile collector by writing it to a temporary file and\n"
	"renaming that to NAME.prom.  --json is not supported.\n";

/*
 * Upper bounds in seconds of the task duration buckets: noop tasks take
 * well under a second, verify seconds to a minute, and sync up to its
 * default timeout of an hour; 7200 keeps a raised timeout in a finite bucket.
 */
static const double duration_buckets[] = {
	0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200,
};

#define N_BUCKETS (sizeof(duration_buckets) / sizeof(duration_buckets[0]))

/*
 * The task types the daemon implements and every other type in the table,
 * so that each known type has its series even before its first task.
 */
#define TASK_TYPES_CTE \
	"task_types AS (" \
	" SELECT unnest(ARRAY['noop', 'restart', 'sync', 'verify']) AS type" \
	" UNION SELECT type FROM provision.tasks)"

#define FINAL_STATUSES "('succeeded', 'warning', 'failed', 'cancelled')"

/* Every status of every type, zeros included, in the order a task passes through them. */
static const char tasks_sql[] =
	"WITH " TASK_TYPES_CTE
	" SELECT tt.type, s.status, count(t.id)"
	" FROM task_types tt"
	" CROSS JOIN unnest(ARRAY['queued', 'running', 'succeeded', 'warning', 'failed', 'cancelled'])"
	"      WITH ORDINALITY AS s(status, position)"
	" LEFT JOIN provision.tasks t ON t.type = tt.type AND t.status = s.status"
	" GROUP BY tt.type, s.status, s.position ORDER BY tt.type, s.position";

/*
 * Seconds since the oldest queued task was created, and seconds since the
 * oldest due one (run_after passed) became due; 0 without such a task.
 */
static const char queue_age_sql[] =
	"SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0),"
	" coalesce(extract(epoch FROM now() - min(run_after) FILTER (WHERE run_after <= now())), 0)"
	" FROM provision.tasks WHERE status = 'queued'";

static const char daemons_sql[] =
	"SELECT d.name, extract(epoch FROM d.heartbeat_at), (d.stopped_at IS NOT NULL)::int,"
	" (SELECT count(*) FROM provision.tasks t WHERE t.status = 'running' AND t.claimed_by = d.name)"
	" FROM provision.daemons d ORDER BY d.name";

static const char finished_sql[] =
	"WITH " TASK_TYPES_CTE
	" SELECT tt.type, count(t.id) FILTER (WHERE t.status IN " FINAL_STATUSES "),"
	" count(t.id) FILTER (WHERE t.status = 'failed')"
	" FROM task_types tt LEFT JOIN provision.tasks t ON t.type = tt.type"
	" GROUP BY tt.type ORDER BY tt.type";

/* Escapes a label value as the text format requires: backslash, double quote and line feed. */
static void print_label_value(const char *value)
{
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\\')
			fputs("\\\\", stdout);
		else if (*p == '"')
			fputs("\\\"", stdout);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else
			putchar(*p);
	}
}

static void print_header(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * Prints one sample: NAME, then the label LABEL="VALUE" when LABEL is not
 * NULL, then EXTRA (already formatted, such as "le=\"0.5\"") when it is
 * not NULL, then the value as text.
 */
static void print_sample(const char *name, const char *label, const char *value_of_label,
			 const char *extra, const char *value)
{
	fputs(name, stdout);
	if (label != NULL || extra != NULL) {
		putchar('{');
		if (label != NULL) {
			printf("%s=\"", label);
			print_label_value(value_of_label);
			putchar('"');
		}
		if (extra != NULL)
			printf("%s%s", label != NULL ? "," : "", extra);
		putchar('}');
	}
	printf(" %s\n", value);
}

static void print_tasks(const PGresult *res)
{
	print_header("provision_tasks", "gauge", "Tasks in the table by status and type.");
	for (int row = 0; row < PQntuples(res); row++) {
		char status[64];

		snprintf(status, sizeof(status), "status=\"%s\"", PQgetvalue(res, row, 1));
		print_sample("provision_tasks", "type", PQgetvalue(res, row, 0), status,
			     PQgetvalue(res, row, 2));
	}
}

static void print_queue_age(const PGresult *res)
{
	print_header("provision_queue_oldest_task_age_seconds", "gauge",
		     "Seconds since the oldest queued task was created; 0 when none is queued.");
	print_sample("provision_queue_oldest_task_age_seconds", NULL, NULL, NULL,
		     PQgetvalue(res, 0, 0));
	print_header("provision_queue_oldest_due_task_wait_seconds", "gauge",
		     "Seconds the oldest queued task whose run_after has passed has been due; "
		     "0 when none is due.");
	print_sample("provision_queue_oldest_due_task_wait_seconds", NULL, NULL, NULL,
		     PQgetvalue(res, 0, 1));
}

static void print_daemon_column(const PGresult *res, const char *name, const char *type,
				const char *help, int column)
{
	print_header(name, type, help);
	for (int row = 0; row < PQntuples(res); row++)
		print_sample(name, "daemon", PQgetvalue(res, row, 0), NULL,
			     PQgetvalue(res, row, column));
}

static void print_daemons(const PGresult *res)
{
	print_daemon_column(res, "provision_daemon_heartbeat_timestamp_seconds", "gauge",
			    "Unix time of the daemon's last heartbeat in provision.daemons.", 1);
	print_daemon_column(res, "provision_daemon_stopped", "gauge",
			    "1 if the daemon recorded a clean stop, 0 while it runs or after it died.", 2);
	print_daemon_column(res, "provision_daemon_running_tasks", "gauge",
			    "Running tasks claimed by the daemon.", 3);
}

static void print_finished(const PGresult *res)
{
	print_header("provision_tasks_finished_total", "counter",
		     "Tasks in the table that ended succeeded, warning, failed or cancelled, by type.");
	for (int row = 0; row < PQntuples(res); row++)
		print_sample("provision_tasks_finished_total", "type", PQgetvalue(res, row, 0), NULL,
			     PQgetvalue(res, row, 1));
	print_header("provision_tasks_failed_total", "counter",
		     "Tasks in the table that ended failed, by type.");
	for (int row = 0; row < PQntuples(res); row++)
		print_sample("provision_tasks_failed_total", "type", PQgetvalue(res, row, 0), NULL,
			     PQgetvalue(res, row, 2));
}

/*
 * Builds the histogram query: per type, one cumulative count per bucket
 * (duration <= bound, as Prometheus defines "le"), then the count and the
 * sum of every duration.  Only finished tasks that started have one.
 */
static char *duration_sql(void)
{
	char filters[N_BUCKETS * 64] = "";
	size_t used = 0;

	for (size_t i = 0; i < N_BUCKETS; i++)
		used += (size_t)snprintf(filters + used, sizeof(filters) - used,
					 "count(d.seconds) FILTER (WHERE d.seconds <= %g), ",
					 duration_buckets[i]);
	return xasprintf("WITH " TASK_TYPES_CTE ","
			 " d AS (SELECT type, extract(epoch FROM finished_at - started_at)::float8 AS seconds"
			 "  FROM provision.tasks WHERE status IN " FINAL_STATUSES
			 "  AND started_at IS NOT NULL AND finished_at IS NOT NULL)"
			 " SELECT tt.type, %s count(d.seconds), coalesce(sum(d.seconds), 0)"
			 " FROM task_types tt LEFT JOIN d ON d.type = tt.type"
			 " GROUP BY tt.type ORDER BY tt.type", filters);
}

static void print_durations(const PGresult *res)
{
	const char *name = "provision_task_duration_seconds";

	print_header(name, "histogram",
		     "Run time of finished tasks, from started_at to finished_at, by type.");
	for (int row = 0; row < PQntuples(res); row++) {
		const char *type = PQgetvalue(res, row, 0);
		char le[32];

		for (size_t i = 0; i < N_BUCKETS; i++) {
			snprintf(le, sizeof(le), "le=\"%g\"", duration_buckets[i]);
			print_sample("provision_task_duration_seconds_bucket", "type", type, le,
				     PQgetvalue(res, row, 1 + (int)i));
		}
		print_sample("provision_task_duration_seconds_bucket", "type", type, "le=\"+Inf\"",
			     PQgetvalue(res, row, 1 + N_BUCKETS));
		print_sample("provision_task_duration_seconds_sum", "type", type, NULL,
			     PQgetvalue(res, row, 2 + N_BUCKETS));
		print_sample("provision_task_duration_seconds_count", "type", type, NULL,
			     PQgetvalue(res, row, 1 + N_BUCKETS));
	}
}

static int run(struct ctl *ctl, int argc, char **argv)
{
	PGresult *tasks = NULL, *queue_age = NULL, *daemons = NULL, *finished = NULL,
		 *durations = NULL;
	char *durations_sql = duration_sql();
	int status;

	if ((status = parse_no_options("metrics", argc, argv)) != 0)
		goto out;
	if (optind < argc) {
		status = ctl_usage_error("metrics", "unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	if (ctl->json) {
		status = ctl_usage_error("metrics", "metrics prints the Prometheus text format only; "
					 "leave out --json");
		goto out;
	}
	if ((status = ctl_connect(ctl)) != 0)
		goto out;

	status = CTL_EXIT_DB;
	if (db_command(ctl->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0)
		goto out;
	if ((tasks = db_query(ctl->conn, tasks_sql, 0, NULL)) == NULL ||
	    (queue_age = db_query(ctl->conn, queue_age_sql, 0, NULL)) == NULL ||
	    (daemons = db_query(ctl->conn, daemons_sql, 0, NULL)) == NULL ||
	    (finished = db_query(ctl->conn, finished_sql, 0, NULL)) == NULL ||
	    (durations = db_query(ctl->conn, durations_sql, 0, NULL)) == NULL)
		goto out;
	if (db_command(ctl->conn, "COMMIT") != 0)
		goto out;

	print_tasks(tasks);
	print_queue_age(queue_age);
	print_daemons(daemons);
	print_finished(finished);
	print_durations(durations);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_error("writing the metrics to standard output failed");
		status = CTL_EXIT_FAILED;
		goto out;
	}
	status = CTL_EXIT_OK;

out:
	PQclear(tasks);
	PQclear(queue_age);
	PQclear(daemons);
	PQclear(finished);
	PQclear(durations);
	free(durations_sql);
	return status;
}

const struct ctl_command cmd_metrics = {
	.name = "metrics",
	.summary = "print queue metrics in the Prometheus text format",
	.run = run,
	.usage = usage,
};
