/*
 * Tasks this daemon has claimed but not yet handed to a worker, oldest
 * first.  With prefetch > 0 the daemon claims ahead of free workers, so
 * that a worker finishing a short task gets the next one without waiting
 * for a database round trip.
 */
#ifndef PROVISIOND_BACKLOG_H
#define PROVISIOND_BACKLOG_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* Appends a claimed task; takes a reference to REQUEST. */
void backlog_push(int64_t task_id, const char *type, json_t *request);

/*
 * Removes the oldest task.  Returns false when empty; otherwise stores its
 * id, a new string in *type and the request reference in *request, all of
 * which the caller then owns.
 */
bool backlog_pop(int64_t *task_id, char **type, json_t **request);

/* Removes TASK_ID if present; returns whether it was there. */
bool backlog_remove(int64_t task_id);

int backlog_count(void);

/* Calls FN for each task id, oldest first; FN must not change the backlog. */
void backlog_foreach(void (*fn)(int64_t task_id, void *arg), void *arg);

#endif
