/*
 * A task's connection to its server: builds the SSH target from the task
 * (server row and daemon settings), connects, and runs commands whose
 * output goes to the task log.  Every failure fills ctx->error and
 * ctx->transient from the SSH layer's error.
 */
#ifndef PROVISION_WORKER_REMOTE_H
#define PROVISION_WORKER_REMOTE_H

#include "ssh.h"
#include "tasks.h"

/* Seconds a remote command may run unless the caller gives another limit. */
#define REMOTE_COMMAND_TIMEOUT 300.0

/*
 * Connects to the task's server as its ssh_user with the configured key
 * and known_hosts file, then proves the login shell works.  Logs each step.
 * Returns the connection or NULL with ctx->error set.
 */
struct ssh_conn *remote_connect(struct task_ctx *ctx);

/*
 * Runs COMMAND on the server.  Each output line becomes a task log line
 * (stdout at info, stderr at LEVEL_STDERR).  Returns 0 when the command
 * ran, with its exit status or signal in *out, or -1 with ctx->error set.
 */
int remote_run(struct task_ctx *ctx, struct ssh_conn *conn, const char *command, double timeout,
	       const char *level_stderr, struct ssh_cmd_result *out);

/* Describes how a command ended ("exit status 1", "signal KILL") into BUF. */
void remote_describe_end(const struct ssh_cmd_result *res, char *buf, size_t len);

/* Copies an SSH error into ctx->error and ctx->transient. */
void remote_set_error(struct task_ctx *ctx, const struct ssh_error *err);

#endif
