/*
 * The configuration file shared by provisiond, its workers and
 * provisionctl: "key = value" lines, '#' comments, values optionally in
 * double quotes.  Every setting but "database" has a default, so a file
 * only names what differs from the defaults.
 */
#ifndef PROVISION_CONFIG_H
#define PROVISION_CONFIG_H

#include <stdio.h>

#include "log.h"

struct config {
	char *database;		/* libpq connection string */
	int workers;		/* maximum number of tasks running at once */
	double poll_interval;	/* seconds between fallback polls for due tasks */
	char *base_dir;		/* the aegir user's base directory on the master */
	char *ssh_private_key;
	char *ssh_known_hosts;
	char *worker_program;	/* path of provisiond-worker */
	char *state_dir;	/* the daemon's own files: the spill file of an outage */
	int worker_max_tasks;	/* tasks one worker process serves before it retires */
	double worker_idle_timeout;	/* seconds an idle worker waits for a task before it retires */
	enum log_level log_level;
	int claim_batch;	/* maximum tasks claimed by one query */
	int prefetch;		/* tasks claimed ahead of free workers */
	int log_buffer_max;	/* bytes of unwritten log rows before workers' output is paused */
	double timeout_noop;	/* seconds a task of each type may run */
	double timeout_verify;
	double timeout_sync;
	double timeout_restart;
	double kill_grace;	/* seconds between SIGTERM and SIGKILL of a worker */
	double shutdown_grace;	/* seconds SIGTERM waits for running tasks */
	double lease_duration;	/* seconds a claim lasts without renewal */
};

/*
 * Reads and validates FILE into *cfg.  Returns 0, or -1 after writing one
 * message per problem ("FILE:LINE: ...") into err (size errlen, lines
 * separated by newlines).  *cfg is only written on success.
 */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);

/* Fills every setting with its default (database stays NULL). */
void config_defaults(struct config *cfg);

void config_free(struct config *cfg);

/* Writes the effective settings as "key = value" lines, with any password in database masked. */
void config_dump(const struct config *cfg, FILE *out);

/* Returns the timeout in seconds for a task type, or the noop timeout for an unknown type. */
double config_task_timeout(const struct config *cfg, const char *type);

#endif
