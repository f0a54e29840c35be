#include "queue.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "output.h"
#include "parse.h"

/* The CHECK constraint on provision.tasks.status lists the same values. */
static const char *const statuses[] = {
	"queued", "running", "succeeded", "warning", "failed", "cancelled",
};

bool task_status_valid(const char *status)
{
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(status, statuses[i]) == 0)
			return true;
	return false;
}

bool task_status_final(const char *status)
{
	return task_status_valid(status) && strcmp(status, "queued") != 0 &&
	       strcmp(status, "running") != 0;
}

int report_server_not_found(const char *name)
{
	ctl_error("server \"%s\" not found; provisionctl servers list shows the servers", name);
	return CTL_EXIT_NOT_FOUND;
}

int report_task_not_found(long long id)
{
	ctl_error("task %lld not found; provisionctl tasks lists the tasks", id);
	return CTL_EXIT_NOT_FOUND;
}

int find_server(struct ctl *ctl, const char *command, const char *name, char *id, size_t idlen)
{
	const char *const params[] = { name };
	PGresult *res;
	int status;

	if ((status = check_server_name(command, name)) != 0)
		return status;
	if ((status = ctl_connect(ctl)) != 0)
		return status;

	res = db_query(ctl->conn, "SELECT id FROM provision.servers WHERE name = $1", 1, params);
	if (res == NULL)
		return CTL_EXIT_DB;
	if (PQntuples(res) == 0) {
		status = report_server_not_found(name);
	} else {
		snprintf(id, idlen, "%s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return status;
}

int find_task(struct ctl *ctl, long long id, char *status, size_t len)
{
	char id_text[32];
	const char *const params[] = { id_text };
	PGresult *res;
	int result = CTL_EXIT_OK;

	if ((result = ctl_connect(ctl)) != 0)
		return result;
	snprintf(id_text, sizeof(id_text), "%lld", id);
	res = db_query(ctl->conn, "SELECT status FROM provision.tasks WHERE id = $1::bigint",
		       1, params);
	if (res == NULL)
		return CTL_EXIT_DB;
	if (PQntuples(res) == 0) {
		result = report_task_not_found(id);
	} else {
		snprintf(status, len, "%s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return result;
}

int start_task_command(struct ctl *ctl, const char *command, int argc, char **argv,
		       long long *id, char *id_text, size_t len)
{
	int status;

	if ((status = parse_no_options(command, argc, argv)) != 0)
		return status;
	if ((status = parse_task_id_argument(command, argc, argv, id)) != 0)
		return status;
	if ((status = ctl_connect(ctl)) != 0)
		return status;
	snprintf(id_text, len, "%lld", *id);
	return 0;
}
