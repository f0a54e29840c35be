/* provisionctl show: prints every column of one task. */
#include <stdio.h>

#include "ctl.h"
#include "db.h"
#include "output.h"
#include "parse.h"
#include "queue.h"

static const char usage[] =
	"Usage: provisionctl show ID\n"
	"\n"
	"Prints every column of task ID and the name of its server, one\n"
	"\"column: value\" line each, with args and result as indented JSON.\n"
	"With --json it prints one object.\n";

static int run(struct ctl *ctl, int argc, char **argv)
{
	char id_text[32];
	const char *const params[] = { id_text };
	PGresult *res;
	long long id;
	int status;

	status = start_task_command(ctl, "show", argc, argv, &id, id_text, sizeof(id_text));
	if (status != 0)
		return status;

	res = db_query(ctl->conn, "SELECT t.*, s.name AS server FROM provision.tasks t"
		       " LEFT JOIN provision.servers s ON s.id = t.server_id"
		       " WHERE t.id = $1::bigint", 1, params);
	if (res == NULL)
		return CTL_EXIT_DB;

	if (PQntuples(res) == 0) {
		status = report_task_not_found(id);
	} else if (ctl->json) {
		print_json(result_row_to_json(res, 0));
	} else {
		print_record(res, 0, stdout);
	}
	PQclear(res);
	return status;
}

const struct ctl_command cmd_show = {
	.name = "show",
	.summary = "print every column of one task",
	.run = run,
	.usage = usage,
};
