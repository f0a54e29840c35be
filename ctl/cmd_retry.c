/* provisionctl retry: queues a new task like a failed or cancelled one. */
#include <getopt.h>
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

static const char usage[] =
	"Usage: provisionctl retry ID [--wait [--reconnect-timeout SECONDS]]\n"
	"\n"
	"Queues a new task with the type, server, args and priority of task ID,\n"
	"which must have failed or been cancelled, and prints the new task's id.\n"
	"Task ID itself stays as it is.  With --json it prints {\"id\": NEW_ID}.\n"
	"\n"
	"Options:\n"
	"  --wait   follow the new task like enqueue --wait\n"
	"  --reconnect-timeout SECONDS\n"
	"           with --wait: reconnect for up to SECONDS (0 to 86400, default\n"
	"           300) when the database connection is lost\n";

/* Checks that task ID may be retried.  Returns 0 or an exit code after printing why not. */
static int check_retryable(struct ctl *ctl, long long id, const char *const *params)
{
	PGresult *res;
	const char *status, *type;
	int result = CTL_EXIT_OK;

	res = db_query(ctl->conn, "SELECT status, type, server_id IS NULL"
		       " FROM provision.tasks WHERE id = $1::bigint", 1, params);
	if (res == NULL)
		return CTL_EXIT_DB;
	if (PQntuples(res) == 0) {
		result = report_task_not_found(id);
		goto out;
	}

	status = PQgetvalue(res, 0, 0);
	type = PQgetvalue(res, 0, 1);
	if (strcmp(status, "failed") != 0 && strcmp(status, "cancelled") != 0) {
		ctl_error("task %lld has status %s; only failed or cancelled tasks can be retried", id,
			  status);
		result = CTL_EXIT_CONFLICT;
	} else if (PQgetvalue(res, 0, 2)[0] == 't' && task_type_needs_server(type)) {
		/* server_id became NULL through ON DELETE SET NULL. */
		ctl_error("the server of task %lld was removed; enqueue a new %s task with a "
			  "server instead", id, type);
		result = CTL_EXIT_CONFLICT;
	}

out:
	PQclear(res);
	return result;
}

/* Copies task ID into a new task.  Returns 0 or an exit code. */
static int insert_copy(struct ctl *ctl, long long id, const char *const *params, long long *new_id)
{
	PGresult *res;

	/* The status condition is repeated so that a concurrent change cannot slip in. */
	res = db_query(ctl->conn, "INSERT INTO provision.tasks (type, server_id, args, priority)"
		       " SELECT type, server_id, args, priority FROM provision.tasks"
		       " WHERE id = $1::bigint AND status IN ('failed', 'cancelled')"
		       " RETURNING id", 1, params);
	if (res == NULL)
		return CTL_EXIT_DB;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ctl_error("task %lld changed while it was copied; try again", id);
		return CTL_EXIT_CONFLICT;
	}
	*new_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return CTL_EXIT_OK;
}

static int run(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_RECONNECT_TIMEOUT = 256 };
	static const struct option options[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "reconnect-timeout", required_argument, NULL, OPT_RECONNECT_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	char id_text[32];
	const char *const params[] = { id_text };
	long long id, new_id;
	bool wait = false;
	int reconnect_timeout = FOLLOW_RECONNECT_TIMEOUT_DEFAULT;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'w')
			wait = true;
		else if (opt != OPT_RECONNECT_TIMEOUT)
			return ctl_option_error("retry");
		else if ((status = parse_reconnect_timeout("retry", optarg, &reconnect_timeout)) != 0)
			return status;
	}
	if ((status = parse_task_id_argument("retry", argc, argv, &id)) != 0)
		return status;
	if ((status = ctl_connect(ctl)) != 0)
		return status;

	snprintf(id_text, sizeof(id_text), "%lld", id);
	if ((status = check_retryable(ctl, id, params)) != 0)
		return status;
	if ((status = insert_copy(ctl, id, params, &new_id)) != 0)
		return status;

	return print_new_task(ctl, new_id, wait, reconnect_timeout);
}

const struct ctl_command cmd_retry = {
	.name = "retry",
	.summary = "queue a failed or cancelled task again as a new task",
	.run = run,
	.usage = usage,
};
