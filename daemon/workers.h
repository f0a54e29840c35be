/*
 * The pool of worker processes: starts provisiond-worker programs, hands
 * them tasks, reads their events, enforces task timeouts and cancellation,
 * and reaps them.  Each worker runs one task at a time and serves up to
 * worker_max_tasks tasks before it is retired.
 */
#ifndef PROVISIOND_WORKERS_H
#define PROVISIOND_WORKERS_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "config.h"

/* The end of a task, as reported to the queue. */
struct task_outcome {
	int64_t task_id;
	const char *status;	/* succeeded, warning, failed or cancelled */
	const char *error;	/* NULL unless failed or cancelled */
	const char *result;	/* JSON text or NULL */
	bool transient;		/* the failure may go away on a retry */
	double started_at;	/* Unix seconds when the worker began it, 0 if it never did */
	double finished_at;	/* Unix seconds */
};

struct workers_events {
	/* A log line for a task; LEVEL is one of the task_log levels. */
	void (*log)(int64_t task_id, const char *level, const char *message, double ts, void *arg);
	/* A task ended; the slot it used is free again. */
	void (*done)(const struct task_outcome *outcome, void *arg);
	/*
	 * A task never started because its worker died first (for example the
	 * worker program is missing); REQUEST is borrowed and the task should
	 * be dispatched again later.
	 */
	void (*undelivered)(int64_t task_id, const char *type, json_t *request, void *arg);
	void *arg;
};

void workers_init(struct ev_loop *loop, const struct config *cfg, const struct workers_events *events);

/* Points the pool at a new configuration (after a reload); CFG must outlive the pool. */
void workers_set_config(const struct config *cfg);

/*
 * Returns how many more tasks may start now: none while worker starts are
 * throttled after a worker died before it was ready.
 */
int workers_free_slots(void);

/* Returns the number of tasks running. */
int workers_running(void);

/*
 * Starts the task described by REQUEST (the "task" message of proto.h,
 * without "settings", which are added here).  Takes a reference to REQUEST.
 * If no worker can be started, the task ends at once as failed.
 */
void workers_dispatch(int64_t task_id, const char *type, json_t *request);

/* Asks the worker running TASK_ID to stop; the task ends as cancelled. */
void workers_cancel(int64_t task_id);

/*
 * Stops the worker running TASK_ID without reporting an outcome, because
 * the task is no longer this daemon's (its lease lapsed and another daemon
 * took it over).
 */
void workers_abandon(int64_t task_id, const char *reason);

/*
 * Tells the worker running TASK_ID that its lease was renewed (SIGUSR1);
 * a worker that hears nothing for two thirds of lease_duration stops the
 * task by itself.
 */
void workers_confirm_lease(int64_t task_id);

/* Returns true if TASK_ID runs in this pool. */
bool workers_has_task(int64_t task_id);

/* Calls FN for each running task id. */
void workers_foreach_task(void (*fn)(int64_t task_id, void *arg), void *arg);

/*
 * Stops every worker: SIGTERM now, SIGKILL after kill_grace.  Running
 * tasks are abandoned without an outcome; the caller hands them back to
 * the queue (queue_release).
 */
void workers_stop_all(void);

/*
 * Stops or resumes reading the workers' event pipes.  While paused, a
 * worker that writes blocks once its pipe is full, which bounds the memory
 * the daemon spends on lines it cannot store yet.
 */
void workers_pause_events(bool pause);

/* Returns the number of worker processes still alive. */
int workers_alive(void);

#endif
