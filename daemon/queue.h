/*
 * The daemon's side of the database: claims due tasks, writes log lines
 * and final statuses in batches, renews leases, recovers tasks of dead
 * daemons and handles cancellation requests, all over one asynchronous
 * connection.
 */
#ifndef PROVISIOND_QUEUE_H
#define PROVISIOND_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "config.h"
#include "workers.h"

struct queue_events {
	/* The database is connected, the schema is current and this daemon is registered. */
	void (*ready)(void *arg);
	/* The schema is older than this daemon; MESSAGE names the command to run. */
	void (*fatal)(const char *message, void *arg);
	void *arg;
};

void queue_init(struct ev_loop *loop, const struct config *cfg, const char *daemon_name,
		const struct queue_events *events);

/* Points the queue at a new configuration; a changed database string applies on the next reconnect. */
void queue_set_config(const struct config *cfg);

void queue_start(void);

/* Stops claiming new tasks (graceful shutdown). */
void queue_drain(void);

/* Returns true when no write is pending or in flight. */
bool queue_flushed(void);

bool queue_connected(void);

/* Buffers a log line of a task until the next batch write. */
void queue_add_log(int64_t task_id, const char *level, const char *message, double ts);

/* Puts a claimed task that never started back in the backlog; REQUEST is borrowed. */
void queue_requeue_local(int64_t task_id, const char *type, json_t *request);

/* Buffers a task's outcome until the next batch write and claims again. */
void queue_add_outcome(const struct task_outcome *outcome);

/*
 * Hands this daemon's running tasks back to the queue (shutdown after the
 * grace period) and marks the daemon stopped, then calls DONE.  DONE is
 * called at once if the database is unreachable; the leases then expire
 * and another daemon recovers the tasks.
 */
void queue_release(const char *reason, void (*done)(void *arg), void *arg);

/*
 * Gives up on writes the database did not take (it stayed unreachable at
 * shutdown): logs every buffered row to the daemon log at error level, so
 * that nothing a worker reported is lost without a trace, and empties the
 * buffers.
 */
void queue_discard_unwritten(void);

void queue_free(void);

#endif
