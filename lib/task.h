/*
 * The task model shared by the daemon and the worker: task types, final
 * statuses, log levels and the validation of task arguments.
 */
#ifndef PROVISION_TASK_H
#define PROVISION_TASK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Returns true for "verify", "sync", "restart" and "noop". */
bool task_type_known(const char *type);

/* Returns true if tasks of TYPE act on a server and so need server_id. */
bool task_type_needs_server(const char *type);

/* Returns true for the levels allowed in provision.task_log.level. */
bool task_log_level_valid(const char *level);

/* Arguments of a noop task, after validation. */
struct noop_args {
	long long sleep_ms;
	long long log_lines;
	bool warn;
	bool fail;
};

/*
 * Validates ARGS for a noop task.  Returns 0, or -1 with a message naming
 * the field and the expected type in err.
 */
int task_parse_noop_args(const json_t *args, struct noop_args *out, char *err, size_t errlen);

#endif
