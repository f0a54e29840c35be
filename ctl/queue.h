/*
 * Facts about provision.tasks and provision.servers that several commands
 * share: the task statuses and lookups of servers and tasks by the names
 * and ids that users type.
 */
#ifndef PROVISIONCTL_QUEUE_H
#define PROVISIONCTL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl.h"

/* Returns true for the values of provision.tasks.status. */
bool task_status_valid(const char *status);

/* Returns true for succeeded, warning, failed and cancelled, after which a task never changes. */
bool task_status_final(const char *status);

/* Prints that server NAME does not exist and how to list servers.  Returns CTL_EXIT_NOT_FOUND. */
int report_server_not_found(const char *name);

/* Prints that task ID does not exist and how to list tasks.  Returns CTL_EXIT_NOT_FOUND. */
int report_task_not_found(long long id);

/*
 * Finds the server called NAME and stores its id as text in ID (size
 * IDLEN).  Returns 0, CTL_EXIT_USAGE for an invalid name,
 * CTL_EXIT_NOT_FOUND or CTL_EXIT_DB, after printing the error.
 */
int find_server(struct ctl *ctl, const char *command, const char *name, char *id, size_t idlen);

/*
 * Reads the status of task ID into STATUS (size LEN).  Returns 0,
 * CTL_EXIT_NOT_FOUND or CTL_EXIT_DB, after printing the error.
 */
int find_task(struct ctl *ctl, long long id, char *status, size_t len);

/*
 * Parses the arguments of a command that takes one task ID and no
 * options, then connects.  Stores the id in *ID and as text in ID_TEXT
 * (size LEN) for SQL parameters.  Returns 0 or an exit code.
 */
int start_task_command(struct ctl *ctl, const char *command, int argc, char **argv,
		       long long *id, char *id_text, size_t len);

#endif
