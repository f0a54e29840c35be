/* provisionctl log: prints a task's log, and with -f follows it to the task's end. */
#include <getopt.h>
#include <stdio.h>

#include "ctl.h"
#include "follow.h"
#include "output.h"
#include "parse.h"
#include "queue.h"

static const char usage[] =
	"Usage: provisionctl log ID [-f [--reconnect-timeout SECONDS]]\n"
	"\n"
	"Prints the log of task ID, oldest first, as \"logged_at level message\" lines.\n"
	"With --json it prints an array of objects with id, task_id, logged_at, level\n"
	"and message.\n"
	"\n"
	"Options:\n"
	"  -f, --follow   keep printing log rows as they arrive until the task reaches\n"
	"                 a final status, then print \"task ID STATUS[: ERROR]\"; exits\n"
	"                 0 for succeeded or warning and 1 for failed or cancelled.\n"
	"                 With --json every row and the final status\n"
	"                 {\"task_id\", \"status\", \"error\"} are one JSON object per line\n"
	"  --reconnect-timeout SECONDS\n"
	"                 when the database connection is lost, reconnect for up to\n"
	"                 SECONDS (0 to 86400, default 300), then go on from the last\n"
	"                 row printed; exit 3 when the time is up.  0 exits 3 at once\n";

static int run(struct ctl *ctl, int argc, char **argv)
{
	enum { OPT_RECONNECT_TIMEOUT = 256 };
	static const struct option options[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "reconnect-timeout", required_argument, NULL, OPT_RECONNECT_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	char task_status[32];
	long long id, last_id = 0;
	bool follow = false;
	int reconnect_timeout = FOLLOW_RECONNECT_TIMEOUT_DEFAULT;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "f", options, NULL)) != -1) {
		if (opt == 'f')
			follow = true;
		else if (opt != OPT_RECONNECT_TIMEOUT)
			return ctl_option_error("log");
		else if ((status = parse_reconnect_timeout("log", optarg, &reconnect_timeout)) != 0)
			return status;
	}
	if ((status = parse_task_id_argument("log", argc, argv, &id)) != 0)
		return status;

	if ((status = find_task(ctl, id, task_status, sizeof(task_status))) != 0)
		return status;
	if (follow)
		return follow_task(ctl, id, last_id, true, reconnect_timeout);
	return print_log_rows(ctl, id, &last_id, false);
}

const struct ctl_command cmd_log = {
	.name = "log",
	.summary = "print a task's log; -f follows it until the task finishes",
	.run = run,
	.usage = usage,
};
