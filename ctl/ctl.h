/*
 * provisionctl, the operator tool: the state every command shares, the
 * exit codes scripts rely on, and the entry point of each command.
 *
 * main.c parses the global options and calls one command with argv[0]
 * set to "provisionctl COMMAND", so getopt's own messages name the
 * command.  A command returns one of the exit codes below.
 */
#ifndef PROVISIONCTL_CTL_H
#define PROVISIONCTL_CTL_H

#include <stdbool.h>

#include <libpq-fe.h>

struct config;

/* Exit codes; the tool's --help lists them too. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,	/* the operation failed, e.g. the awaited task failed */
	CTL_EXIT_USAGE = 2,	/* unknown command or option, invalid value, invalid config file */
	CTL_EXIT_DB = 3,	/* database unreachable or an SQL error */
	CTL_EXIT_NOT_FOUND = 4,	/* the named task, server or service does not exist */
	CTL_EXIT_CONFLICT = 5,	/* it exists already, or its state does not allow the operation */
};

struct ctl {
	const char *conninfo;	/* libpq connection string from -d or the config file */
	const struct config *config;	/* the config file given with -c, or NULL with -d */
	bool json;		/* --json: print JSON instead of tables */
	PGconn *conn;		/* opened by ctl_connect */
};

/*
 * Opens ctl->conn unless it is open.  Returns 0, or CTL_EXIT_DB after
 * printing why the connection failed.
 */
int ctl_connect(struct ctl *ctl);

/* One command: NAME, its one-line summary for the tool's --help, its runner and its help. */
struct ctl_command {
	const char *name;
	const char *summary;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	const char *usage;
};

extern const struct ctl_command cmd_migrate;
extern const struct ctl_command cmd_enqueue;
extern const struct ctl_command cmd_log;
extern const struct ctl_command cmd_tasks;
extern const struct ctl_command cmd_show;
extern const struct ctl_command cmd_cancel;
extern const struct ctl_command cmd_retry;
extern const struct ctl_command cmd_status;
extern const struct ctl_command cmd_servers;
extern const struct ctl_command cmd_metrics;
extern const struct ctl_command cmd_trust_host;
extern const struct ctl_command cmd_prune;

#endif
