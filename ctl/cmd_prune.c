/*
 * provisionctl prune: deletes finished tasks and their log rows older
 * than an interval, in short transactions of at most --batch-size tasks.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "db.h"
#include "output.h"
#include "parse.h"

#define BATCH_SIZE_DEFAULT "1000"
#define BATCH_SIZE_MAX 100000

/* PostgreSQL's SQLSTATE class for invalid values, such as an interval it cannot parse. */
#define SQLSTATE_CLASS_DATA_EXCEPTION "22"

static const char usage[] =
	"Usage: provisionctl prune --older-than INTERVAL [--batch-size N] [--dry-run]\n"
	"\n"
	"Deletes the finished tasks (succeeded, warning, failed or cancelled) that\n"
	"finished more than INTERVAL ago, and their log rows.  A task without\n"
	"finished_at counts from its created_at.  Queued and running tasks are never\n"
	"deleted.  The rows go in batches, each in its own short transaction, so\n"
	"that the daemons and frontends are not blocked; tasks locked by another\n"
	"session are skipped.  It prints the number of tasks and log rows deleted;\n"
	"with --json it prints {\"dry_run\", \"cutoff\", \"tasks\", \"log_rows\",\n"
	"\"batches\"}.\n"
	"\n"
	"Options:\n"
	"  --older-than INTERVAL  a positive PostgreSQL interval, such as \"90 days\",\n"
	"                         \"12 hours\" or \"1 year\" (required)\n"
	"  --batch-size N         tasks deleted per transaction, 1 to 100000\n"
	"                         (default 1000)\n"
	"  --dry-run              count what would be deleted and delete nothing\n"
	"\n"
	"Run it regularly, for example daily from cron or a systemd timer;\n"
	"autovacuum then reuses the space of the deleted rows.\n";

struct prune_options {
	const char *older_than;
	const char *batch_size;
	bool dry_run;
};

/* Tasks that prune may delete; $1 is the cutoff time. */
#define PRUNABLE \
	" t.status IN ('succeeded', 'warning', 'failed', 'cancelled')" \
	" AND coalesce(t.finished_at, t.created_at) < $1::timestamptz"

/*
 * $1 INTERVAL: the cutoff, fixed once so that every batch uses the same
 * one.  The second column is false for a zero or negative interval.
 */
static const char cutoff_sql[] =
	"SELECT date_trunc('second', now() - $1::interval), ($1::interval > interval '0')";

static const char count_sql[] =
	"SELECT count(*), coalesce(sum((SELECT count(*) FROM provision.task_log l"
	"                               WHERE l.task_id = t.id)), 0)"
	" FROM provision.tasks t WHERE" PRUNABLE;

/*
 * Locks the next batch of prunable tasks in id order and deletes their log
 * rows.  $1 is the cutoff, $2 the batch size and $3 the highest id of the
 * previous batch.  It returns the tasks' ids, the count of log rows and the
 * highest id.  Each scan starts after $3, so the whole run reads the table
 * once.
 */
static const char batch_logs_sql[] =
	"WITH doomed AS ("
	"  SELECT t.id FROM provision.tasks t WHERE t.id > $3::bigint AND" PRUNABLE
	"  ORDER BY t.id LIMIT $2::integer FOR UPDATE SKIP LOCKED"
	"), logs AS ("
	"  DELETE FROM provision.task_log l USING doomed d WHERE l.task_id = d.id RETURNING 1"
	")"
	" SELECT coalesce(array_agg(id), '{}'), (SELECT count(*) FROM logs), max(id) FROM doomed";

/* $1 ids locked by batch_logs_sql in the same transaction. */
static const char batch_tasks_sql[] =
	"DELETE FROM provision.tasks WHERE id = ANY($1::bigint[])";

static int parse_options(int argc, char **argv, struct prune_options *opts)
{
	static const struct option options[] = {
		{ "older-than", required_argument, NULL, 'o' },
		{ "batch-size", required_argument, NULL, 'b' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	long long batch_size;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'o':
			opts->older_than = optarg;
			break;
		case 'b':
			status = parse_number("prune", "--batch-size", optarg, 1, BATCH_SIZE_MAX,
					      &batch_size);
			if (status != 0)
				return status;
			opts->batch_size = optarg;
			break;
		case 'n':
			opts->dry_run = true;
			break;
		default:
			return ctl_option_error("prune");
		}
	}
	if (optind < argc)
		return ctl_usage_error("prune", "unexpected argument \"%s\"", argv[optind]);
	if (opts->older_than == NULL)
		return ctl_usage_error("prune", "missing --older-than INTERVAL, such as \"90 days\"");
	return 0;
}

/*
 * Lets the server parse INTERVAL, so that every PostgreSQL interval
 * syntax works, and stores the cutoff time, cut to whole seconds, in CUTOFF
 * (size LEN).
 * Returns 0, CTL_EXIT_USAGE for an invalid or non-positive interval, or
 * CTL_EXIT_DB.
 */
static int compute_cutoff(struct ctl *ctl, const char *interval, char *cutoff, size_t len)
{
	const char *const params[] = { interval };
	PGresult *res = db_try(ctl->conn, cutoff_sql, 1, params);
	int status = CTL_EXIT_OK;

	if (!db_ok(res)) {
		if (strncmp(db_sqlstate(res), SQLSTATE_CLASS_DATA_EXCEPTION, 2) == 0) {
			status = ctl_usage_error("prune", "invalid --older-than \"%s\": expected a "
						 "PostgreSQL interval, such as \"90 days\"", interval);
		} else {
			db_print_error(ctl->conn, res, NULL);
			status = CTL_EXIT_DB;
		}
	} else if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
		status = ctl_usage_error("prune", "invalid --older-than \"%s\": the interval must "
					 "be positive", interval);
	} else {
		snprintf(cutoff, len, "%s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return status;
}

/* Counts what prune would delete, into *TASKS and *LOG_ROWS. */
static int count_prunable(struct ctl *ctl, const char *cutoff, long long *tasks,
			  long long *log_rows)
{
	const char *const params[] = { cutoff };
	PGresult *res = db_query(ctl->conn, count_sql, 1, params);

	if (res == NULL)
		return CTL_EXIT_DB;
	*tasks = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	*log_rows = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return CTL_EXIT_OK;
}

/*
 * Deletes one batch in its own transaction.  Adds the rows deleted to
 * *TASKS and *LOG_ROWS and moves LAST_ID (size LEN) to the batch's
 * highest id.  Sets *DONE when no prunable task is left after LAST_ID.
 */
static int delete_batch(struct ctl *ctl, const char *cutoff, const char *batch_size,
			char *last_id, size_t len, long long *tasks, long long *log_rows,
			bool *done)
{
	const char *const params[] = { cutoff, batch_size, last_id };
	const char *ids_param[1];
	PGresult *logs = NULL, *deleted = NULL;
	int status = CTL_EXIT_DB;

	if (db_command(ctl->conn, "BEGIN") != 0)
		return CTL_EXIT_DB;
	if ((logs = db_query(ctl->conn, batch_logs_sql, 3, params)) == NULL)
		goto out;

	if (PQgetisnull(logs, 0, 2)) {
		*done = true;
		status = db_command(ctl->conn, "COMMIT") == 0 ? CTL_EXIT_OK : CTL_EXIT_DB;
		goto out;
	}

	ids_param[0] = PQgetvalue(logs, 0, 0);
	if ((deleted = db_query(ctl->conn, batch_tasks_sql, 1, ids_param)) == NULL)
		goto out;
	if (db_command(ctl->conn, "COMMIT") != 0)
		goto out;

	*tasks += strtoll(PQcmdTuples(deleted), NULL, 10);
	*log_rows += strtoll(PQgetvalue(logs, 0, 1), NULL, 10);
	snprintf(last_id, len, "%s", PQgetvalue(logs, 0, 2));
	status = CTL_EXIT_OK;

out:
	if (status != CTL_EXIT_OK && PQtransactionStatus(ctl->conn) != PQTRANS_IDLE)
		PQclear(PQexec(ctl->conn, "ROLLBACK"));
	PQclear(logs);
	PQclear(deleted);
	return status;
}

static void print_counts(struct ctl *ctl, const struct prune_options *opts, const char *cutoff,
			 long long tasks, long long log_rows, long long batches)
{
	if (ctl->json) {
		print_json(json_pack("{s:b, s:s, s:I, s:I, s:I}", "dry_run", opts->dry_run,
				     "cutoff", cutoff, "tasks", (json_int_t)tasks,
				     "log_rows", (json_int_t)log_rows,
				     "batches", (json_int_t)batches));
		return;
	}
	printf("%s %lld finished task(s) and %lld log row(s) that finished before %s\n",
	       opts->dry_run ? "would delete" : "deleted", tasks, log_rows, cutoff);
}

static int run(struct ctl *ctl, int argc, char **argv)
{
	struct prune_options opts = { .batch_size = BATCH_SIZE_DEFAULT };
	char cutoff[64], last_id[32] = "0";
	long long tasks = 0, log_rows = 0, batches = 0;
	bool done = false;
	int status;

	if ((status = parse_options(argc, argv, &opts)) != 0)
		return status;
	if ((status = ctl_connect(ctl)) != 0)
		return status;
	if ((status = compute_cutoff(ctl, opts.older_than, cutoff, sizeof(cutoff))) != 0)
		return status;

	if (opts.dry_run) {
		if ((status = count_prunable(ctl, cutoff, &tasks, &log_rows)) != 0)
			return status;
		print_counts(ctl, &opts, cutoff, tasks, log_rows, 0);
		return CTL_EXIT_OK;
	}

	while (!done) {
		status = delete_batch(ctl, cutoff, opts.batch_size, last_id, sizeof(last_id),
				      &tasks, &log_rows, &done);
		if (status != 0) {
			ctl_error("stopped after deleting %lld task(s) and %lld log row(s); "
				  "run prune again to go on", tasks, log_rows);
			return status;
		}
		if (!done)
			batches++;
	}
	print_counts(ctl, &opts, cutoff, tasks, log_rows, batches);
	return CTL_EXIT_OK;
}

const struct ctl_command cmd_prune = {
	.name = "prune",
	.summary = "delete finished tasks and their log rows older than an interval",
	.run = run,
	.usage = usage,
};
