/* provisionctl tasks: lists tasks, newest first. */
#include <getopt.h>
#include <stdio.h>

#include "ctl.h"
#include "db.h"
#include "output.h"
#include "parse.h"
#include "queue.h"

#define LIMIT_DEFAULT "50"
#define LIMIT_MAX 10000

static const char usage[] =
	"Usage: provisionctl tasks [--status S] [--server NAME] [--type T] [--limit N]\n"
	"\n"
	"Lists tasks, newest first.  With --json it prints an array of objects.\n"
	"\n"
	"Options:\n"
	"  --status S      only tasks with status S: queued, running, succeeded,\n"
	"                  warning, failed or cancelled\n"
	"  --server NAME   only tasks of server NAME\n"
	"  --type T        only tasks of type T\n"
	"  --limit N       print at most N tasks, 1 to 10000 (default 50)\n";

static const char tasks_sql[] =
	"SELECT t.id, t.type, s.name AS server, t.status, t.priority, t.attempts, t.max_attempts,"
	" date_trunc('second', t.created_at) AS created_at,"
	" date_trunc('second', t.finished_at) AS finished_at, t.error"
	" FROM provision.tasks t LEFT JOIN provision.servers s ON s.id = t.server_id"
	" WHERE ($1::text IS NULL OR t.status = $1)"
	"   AND ($2::bigint IS NULL OR t.server_id = $2::bigint)"
	"   AND ($3::text IS NULL OR t.type = $3)"
	" ORDER BY t.id DESC LIMIT $4::integer";

/* The filters, as text parameters of tasks_sql; NULL means no filter. */
struct task_filter {
	const char *status;
	const char *server;
	const char *type;
	const char *limit;
};

static int parse_options(int argc, char **argv, struct task_filter *filter)
{
	static const struct option options[] = {
		{ "status", required_argument, NULL, 's' },
		{ "server", required_argument, NULL, 'S' },
		{ "type", required_argument, NULL, 't' },
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	long long limit;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (!task_status_valid(optarg))
				return ctl_usage_error("tasks", "invalid --status \"%s\": use queued, "
						       "running, succeeded, warning, failed or "
						       "cancelled", optarg);
			filter->status = optarg;
			break;
		case 'S':
			if ((status = check_server_name("tasks", optarg)) != 0)
				return status;
			filter->server = optarg;
			break;
		case 't':
			filter->type = optarg;
			break;
		case 'n':
			status = parse_number("tasks", "--limit", optarg, 1, LIMIT_MAX, &limit);
			if (status != 0)
				return status;
			filter->limit = optarg;
			break;
		default:
			return ctl_option_error("tasks");
		}
	}
	if (optind < argc)
		return ctl_usage_error("tasks", "unexpected argument \"%s\"", argv[optind]);
	return 0;
}

static int run(struct ctl *ctl, int argc, char **argv)
{
	struct task_filter filter = { .limit = LIMIT_DEFAULT };
	char server_id[32];
	const char *params[4];
	PGresult *res;
	int status;

	if ((status = parse_options(argc, argv, &filter)) != 0)
		return status;
	if ((status = ctl_connect(ctl)) != 0)
		return status;

	/* An unknown server is reported, where an empty list would hide the typo. */
	if (filter.server != NULL) {
		status = find_server(ctl, "tasks", filter.server, server_id, sizeof(server_id));
		if (status != 0)
			return status;
	}

	params[0] = filter.status;
	params[1] = filter.server != NULL ? server_id : NULL;
	params[2] = filter.type;
	params[3] = filter.limit;
	res = db_query(ctl->conn, tasks_sql, 4, params);
	if (res == NULL)
		return CTL_EXIT_DB;

	if (ctl->json)
		print_json(result_to_json(res));
	else
		print_table(res, stdout);
	PQclear(res);
	return CTL_EXIT_OK;
}

const struct ctl_command cmd_tasks = {
	.name = "tasks",
	.summary = "list tasks, newest first",
	.run = run,
	.usage = usage,
};
