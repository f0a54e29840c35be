/* provisionctl status: an overview of the queue, the running tasks and the daemons. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "db.h"
#include "output.h"
#include "parse.h"

static const char usage[] =
	"Usage: provisionctl status\n"
	"\n"
	"Prints the number of tasks in each status, the running tasks with their\n"
	"server, daemon and age, and the daemons in provision.daemons with the age\n"
	"of their last heartbeat.  With --json it prints one object with the keys\n"
	"tasks_by_status, running and daemons.\n";

/* Counts every status, zeros included, in the order a task passes through them. */
static const char counts_sql[] =
	"SELECT s.status, count(t.id) AS tasks"
	" FROM unnest(ARRAY['queued', 'running', 'succeeded', 'warning', 'failed', 'cancelled'])"
	"      WITH ORDINALITY AS s(status, position)"
	" LEFT JOIN provision.tasks t ON t.status = s.status"
	" GROUP BY s.status, s.position ORDER BY s.position";

static const char running_sql[] =
	"SELECT t.id, t.type, s.name AS server, t.claimed_by AS daemon,"
	" date_trunc('second', t.started_at) AS started_at,"
	" date_trunc('second', now() - t.started_at) AS age,"
	" t.cancel_requested_at IS NOT NULL AS cancel_requested"
	" FROM provision.tasks t LEFT JOIN provision.servers s ON s.id = t.server_id"
	" WHERE t.status = 'running' ORDER BY t.started_at, t.id";

static const char daemons_sql[] =
	"SELECT name, hostname, pid, version, date_trunc('second', started_at) AS started_at,"
	" date_trunc('second', heartbeat_at) AS heartbeat_at,"
	" date_trunc('second', now() - heartbeat_at) AS heartbeat_age,"
	" date_trunc('second', stopped_at) AS stopped_at"
	" FROM provision.daemons ORDER BY stopped_at IS NOT NULL, name";

/* Converts the (status, tasks) rows to one object {"queued": N, ...}. */
static json_t *counts_to_json(const PGresult *res)
{
	json_t *counts = json_object();

	for (int row = 0; row < PQntuples(res); row++)
		json_object_set_new(counts, PQgetvalue(res, row, 0),
				    json_integer(strtoll(PQgetvalue(res, row, 1), NULL, 10)));
	return counts;
}

static void print_section(const char *title, const PGresult *res)
{
	printf("%s:\n", title);
	if (PQntuples(res) == 0)
		printf("(none)\n");
	else
		print_table(res, stdout);
}

static int run(struct ctl *ctl, int argc, char **argv)
{
	PGresult *counts = NULL, *running = NULL, *daemons = NULL;
	int status;

	if ((status = parse_no_options("status", argc, argv)) != 0)
		return status;
	if (optind < argc)
		return ctl_usage_error("status", "unexpected argument \"%s\"", argv[optind]);
	if ((status = ctl_connect(ctl)) != 0)
		return status;

	status = CTL_EXIT_DB;
	if ((counts = db_query(ctl->conn, counts_sql, 0, NULL)) == NULL ||
	    (running = db_query(ctl->conn, running_sql, 0, NULL)) == NULL ||
	    (daemons = db_query(ctl->conn, daemons_sql, 0, NULL)) == NULL)
		goto out;

	if (ctl->json) {
		print_json(json_pack("{s:o, s:o, s:o}", "tasks_by_status", counts_to_json(counts),
				     "running", result_to_json(running),
				     "daemons", result_to_json(daemons)));
	} else {
		print_section("Tasks by status", counts);
		printf("\n");
		print_section("Running tasks", running);
		printf("\n");
		print_section("Daemons", daemons);
	}
	status = CTL_EXIT_OK;

out:
	PQclear(counts);
	PQclear(running);
	PQclear(daemons);
	return status;
}

const struct ctl_command cmd_status = {
	.name = "status",
	.summary = "print queue depth, running tasks and daemon heartbeats",
	.run = run,
	.usage = usage,
};
