/* provisionctl cancel: requests the cancellation of a queued or running task. */
#include <stdio.h>

#include "ctl.h"
#include "db.h"
#include "output.h"
#include "parse.h"
#include "queue.h"

static const char usage[] =
	"Usage: provisionctl cancel ID\n"
	"\n"
	"Requests the cancellation of task ID by setting its cancel_requested_at.\n"
	"The daemon acts on the request: it marks a queued task cancelled and\n"
	"stops a running one.  Cancelling a task twice is no error.  A task that\n"
	"has finished cannot be cancelled (exit code 5).  With --json it prints\n"
	"{\"id\", \"status\", \"cancel_requested_at\"}.\n";

static int print_requested(struct ctl *ctl, long long id, const PGresult *res, bool already)
{
	const char *status = PQgetvalue(res, 0, 0);
	const char *requested_at = PQgetvalue(res, 0, 1);

	if (ctl->json)
		print_json(json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "status", status,
				     "cancel_requested_at", requested_at));
	else if (already)
		printf("cancellation of task %lld (%s) was already requested at %s\n", id, status,
		       requested_at);
	else
		printf("requested cancellation of task %lld (%s)\n", id, status);
	return CTL_EXIT_OK;
}

/* Explains why the UPDATE changed no row: the task is missing, finished or already cancelling. */
static int explain_unchanged(struct ctl *ctl, long long id, const char *const *params)
{
	PGresult *res;
	int status;

	res = db_query(ctl->conn, "SELECT status, date_trunc('second', cancel_requested_at)"
		       " FROM provision.tasks WHERE id = $1::bigint", 1, params);
	if (res == NULL)
		return CTL_EXIT_DB;

	if (PQntuples(res) == 0) {
		status = report_task_not_found(id);
	} else if (task_status_final(PQgetvalue(res, 0, 0))) {
		ctl_error("task %lld has already finished (%s); there is nothing to cancel", id,
			  PQgetvalue(res, 0, 0));
		status = CTL_EXIT_CONFLICT;
	} else {
		status = print_requested(ctl, id, res, true);
	}
	PQclear(res);
	return status;
}

static int run(struct ctl *ctl, int argc, char **argv)
{
	char id_text[32];
	const char *const params[] = { id_text };
	PGresult *res;
	long long id;
	int status;

	status = start_task_command(ctl, "cancel", argc, argv, &id, id_text, sizeof(id_text));
	if (status != 0)
		return status;

	res = db_query(ctl->conn, "UPDATE provision.tasks SET cancel_requested_at = now()"
		       " WHERE id = $1::bigint AND status IN ('queued', 'running')"
		       "   AND cancel_requested_at IS NULL"
		       " RETURNING status, date_trunc('second', cancel_requested_at)", 1, params);
	if (res == NULL)
		return CTL_EXIT_DB;

	if (PQntuples(res) == 0)
		status = explain_unchanged(ctl, id, params);
	else
		status = print_requested(ctl, id, res, false);
	PQclear(res);
	return status;
}

const struct ctl_command cmd_cancel = {
	.name = "cancel",
	.summary = "request the cancellation of a queued or running task",
	.run = run,
	.usage = usage,
};
