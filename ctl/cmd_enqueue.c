/* provisionctl enqueue: inserts a task into provision.tasks and prints its id. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "db.h"
#include "follow.h"
#include "output.h"
#include "parse.h"
#include "queue.h"
#include "task.h"
#include "xalloc.h"

#define MAX_ATTEMPTS_MAX 100	/* the range the daemon's max_attempts setting allows */

static const char usage[] =
	"Usage: provisionctl enqueue TYPE [SERVER] [OPTIONS]\n"
	"\n"
	"Queues a task and prints its id.  TYPE is verify, sync, restart or noop.\n"
	"SERVER is a server name from \"provisionctl servers list\"; every type but\n"
	"noop needs one.  With --json it prints {\"id\": ID}.\n"
	"\n"
	"Options:\n"
	"  --arg KEY=VALUE     set task argument KEY; repeat for more.  VALUE is read\n"
	"                      as JSON when it is valid JSON (42, true, null, \"text\",\n"
	"                      [1,2], {\"a\":1}) and as a string otherwise, so\n"
	"                      --arg name=web1 sets \"web1\" and --arg n='\"42\"' the\n"
	"                      string \"42\".  noop takes sleep_ms, log, warn and fail\n"
	"  --priority N        tasks with a higher N run first (default 0)\n"
	"  --run-after TIME    start no earlier than TIME, a PostgreSQL timestamp such\n"
	"                      as \"2030-01-31 02:00:00+00\", or +INTERVAL such as\n"
	"                      \"+10 minutes\" (default: now)\n"
	"  --max-attempts N    attempts before the task fails, 1 to 100 (default: the\n"
	"                      column default, 3)\n"
	"  --wait              print the task's log as it arrives until the task\n"
	"                      finishes; exit 0 for succeeded or warning and 1 for\n"
	"                      failed or cancelled.  With --json the id, every log row\n"
	"                      and the final status are one JSON object per line\n"
	"  --reconnect-timeout SECONDS\n"
	"                      with --wait: when the database connection is lost,\n"
	"                      reconnect for up to SECONDS (0 to 86400, default 300)\n"
	"                      and go on; exit 3 when the time is up\n";

/* The values of one enqueue, as text for libpq; NULL means the column default. */
struct task_request {
	const char *type;
	const char *server;
	json_t *args;
	const char *priority;
	const char *run_after;
	const char *max_attempts;
	bool wait;
	int reconnect_timeout;	/* seconds */
};

/* Checks that the database reads --run-after as a time, so that a typo is a usage error. */
static int check_run_after(struct ctl *ctl, const char *run_after)
{
	const char *const params[] = { run_after + (run_after[0] == '+') };
	PGresult *res;
	int status = 0;

	if ((status = ctl_connect(ctl)) != 0)
		return status;
	res = db_try(ctl->conn, run_after[0] == '+' ? "SELECT now() + $1::interval"
			    : "SELECT $1::timestamptz", 1, params);

	/* SQLSTATE class 22 is "data exception": the text is no time or interval. */
	if (!db_ok(res) && strncmp(db_sqlstate(res), "22", 2) == 0)
		status = ctl_usage_error("enqueue", "invalid --run-after \"%s\": expected a "
					 "timestamp such as \"2030-01-31 02:00:00+00\" or an "
					 "interval such as \"+10 minutes\"", run_after);
	else if (!db_ok(res)) {
		db_print_error(ctl->conn, res, NULL);
		status = CTL_EXIT_DB;
	}
	PQclear(res);
	return status;
}

/* Checks TYPE, SERVER and ARGS before anything is written. */
static int check_request(const struct task_request *req)
{
	struct noop_args noop;
	char err[256];

	if (!task_type_known(req->type))
		return ctl_usage_error("enqueue", "unknown task type \"%s\": use verify, sync, "
				       "restart or noop", req->type);
	if (req->server != NULL && check_server_name("enqueue", req->server) != 0)
		return CTL_EXIT_USAGE;
	if (req->server == NULL && task_type_needs_server(req->type))
		return ctl_usage_error("enqueue", "task type %s needs a SERVER; provisionctl "
				       "servers list shows the servers", req->type);
	if (strcmp(req->type, "noop") == 0 && task_parse_noop_args(req->args, &noop, err,
								   sizeof(err)) != 0)
		return ctl_usage_error("enqueue", "invalid --arg: %s", err);
	return 0;
}

/* Inserts the task and stores its id.  Returns 0 or an exit code. */
static int insert_task(struct ctl *ctl, const struct task_request *req, long long *id)
{
	struct db_insert ins = { 0 };
	char server_id[32], *args, *sql;
	PGresult *res;
	int status;

	args = json_dumps(req->args, JSON_COMPACT);
	db_insert_add(&ins, "type", "$", req->type);
	db_insert_add(&ins, "args", "$::jsonb", args);
	if (req->server != NULL) {
		status = find_server(ctl, "enqueue", req->server, server_id, sizeof(server_id));
		if (status != 0)
			goto out;
		db_insert_add(&ins, "server_id", "$::bigint", server_id);
	}
	if (req->priority != NULL)
		db_insert_add(&ins, "priority", "$::integer", req->priority);
	if (req->run_after != NULL && req->run_after[0] == '+')
		db_insert_add(&ins, "run_after", "now() + $::interval", req->run_after + 1);
	else if (req->run_after != NULL)
		db_insert_add(&ins, "run_after", "$::timestamptz", req->run_after);
	if (req->max_attempts != NULL)
		db_insert_add(&ins, "max_attempts", "$::integer", req->max_attempts);

	if ((status = ctl_connect(ctl)) != 0)
		goto out;
	sql = db_insert_sql(&ins, "provision.tasks", "id");
	res = db_query(ctl->conn, sql, ins.count, ins.params);
	free(sql);
	if (res == NULL) {
		status = CTL_EXIT_DB;
		goto out;
	}
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);

out:
	free(args);
	return status;
}

/* Reads the options into REQ.  Returns 0 or CTL_EXIT_USAGE. */
static int parse_options(int argc, char **argv, struct task_request *req)
{
	enum { OPT_ARG = 256, OPT_PRIORITY, OPT_RUN_AFTER, OPT_MAX_ATTEMPTS, OPT_WAIT,
	       OPT_RECONNECT_TIMEOUT };
	static const struct option options[] = {
		{ "arg", required_argument, NULL, OPT_ARG },
		{ "priority", required_argument, NULL, OPT_PRIORITY },
		{ "run-after", required_argument, NULL, OPT_RUN_AFTER },
		{ "max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "reconnect-timeout", required_argument, NULL, OPT_RECONNECT_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	long long number;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_ARG:
			status = parse_key_value("enqueue", "--arg", optarg, req->args);
			break;
		case OPT_PRIORITY:
			status = parse_number("enqueue", "--priority", optarg, INT32_MIN,
					      INT32_MAX, &number);
			req->priority = optarg;
			break;
		case OPT_RUN_AFTER:
			status = 0;
			req->run_after = optarg;
			break;
		case OPT_MAX_ATTEMPTS:
			status = parse_number("enqueue", "--max-attempts", optarg, 1,
					      MAX_ATTEMPTS_MAX, &number);
			req->max_attempts = optarg;
			break;
		case OPT_WAIT:
			status = 0;
			req->wait = true;
			break;
		case OPT_RECONNECT_TIMEOUT:
			status = parse_reconnect_timeout("enqueue", optarg, &req->reconnect_timeout);
			break;
		default:
			return ctl_option_error("enqueue");
		}
		if (status != 0)
			return status;
	}

	if (optind >= argc)
		return ctl_usage_error("enqueue", "missing task TYPE");
	req->type = argv[optind];
	req->server = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (optind + 2 < argc)
		return ctl_usage_error("enqueue", "unexpected argument \"%s\"", argv[optind + 2]);
	return 0;
}

static int run(struct ctl *ctl, int argc, char **argv)
{
	struct task_request req = {
		.args = json_object(),
		.reconnect_timeout = FOLLOW_RECONNECT_TIMEOUT_DEFAULT,
	};
	long long id;
	int status;

	if ((status = parse_options(argc, argv, &req)) != 0)
		goto out;
	if ((status = check_request(&req)) != 0)
		goto out;
	if (req.run_after != NULL && (status = check_run_after(ctl, req.run_after)) != 0)
		goto out;
	if ((status = insert_task(ctl, &req, &id)) != 0)
		goto out;

	status = print_new_task(ctl, id, req.wait, req.reconnect_timeout);

out:
	json_decref(req.args);
	return status;
}

const struct ctl_command cmd_enqueue = {
	.name = "enqueue",
	.summary = "queue a task and print its id; --wait follows it to its end",
	.run = run,
	.usage = usage,
};
