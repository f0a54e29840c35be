/*
 * The interface of every task implementation.  An implementation
 * logs through report_log(), fills ctx->result if it has a summary, and
 * returns 0 on success or -1 with ctx->error set.
 */
#ifndef PROVISION_WORKER_TASKS_H
#define PROVISION_WORKER_TASKS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct task_ctx {
	int64_t id;
	const char *type;
	int attempt;
	const json_t *args;		/* always an object when the task runs */
	const json_t *server;		/* object, or NULL for tasks without a server */
	const json_t *services;		/* array */
	const json_t *credentials;	/* object or NULL; never log it */
	const json_t *settings;		/* base_dir, ssh_private_key, ssh_known_hosts */

	json_t *result;			/* set by the task, owned by the context */
	char error[2048];		/* one line: why the task failed */
	bool transient;			/* a retry may succeed */
};

typedef int (*task_fn)(struct task_ctx *ctx);

/*
 * Returns true once the daemon asked the worker to stop (SIGTERM, after a
 * timeout or a cancel).  Long-running steps check it and return early.
 */
bool task_stop_requested(void);

int task_noop(struct task_ctx *ctx);
int task_verify(struct task_ctx *ctx);
int task_restart(struct task_ctx *ctx);
int task_sync(struct task_ctx *ctx);

/* Returns the implementation of TYPE, or NULL if this worker has none. */
task_fn task_lookup(const char *type);

#endif
