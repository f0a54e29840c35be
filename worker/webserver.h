/*
 * The web service of a server (Apache or nginx) and the commands that test
 * and reload its configuration, shared by the verify and restart tasks.
 *
 * Each command is a shell command line run on the server through the login
 * shell.  The defaults use "sudo -n", so that a missing sudoers rule fails
 * at once instead of waiting for a password:
 *
 *   apache: sudo -n /usr/sbin/apache2ctl configtest
 *           sudo -n /usr/sbin/apache2ctl graceful
 *           sudo -n /usr/sbin/apache2ctl -t -D DUMP_INCLUDES
 *   nginx:  sudo -n /usr/sbin/nginx -t
 *           sudo -n /usr/sbin/nginx -s reload
 *           sudo -n /usr/sbin/nginx -T
 *
 * The service's settings (provision.services.settings) replace a whole
 * command line, sudo included: configtest_command, restart_command and
 * dump_includes_command.  When configtest_command is set and
 * dump_includes_command is not, no dump command is known, because the
 * default dump would read the configuration that the replaced configtest
 * does not use; verify then skips its include check and logs a notice.
 */
#ifndef PROVISION_WORKER_WEBSERVER_H
#define PROVISION_WORKER_WEBSERVER_H

#include <stdbool.h>

#include <jansson.h>

#include "ssh.h"
#include "tasks.h"

/* Seconds that each configtest, restart or dump command may run. */
#define WEB_COMMAND_TIMEOUT 120.0

struct web_service {
	const char *type;		/* "apache" or "nginx" */
	const char *configtest_command;
	const char *restart_command;
	const char *dump_includes_command;	/* NULL: the include check is skipped */
	bool configtest_overridden;
	bool restart_overridden;
};

/* Returns the entry of KIND ("web", "db") in ctx->services, or NULL if the server has none. */
const json_t *service_find(const struct task_ctx *ctx, const char *kind);

/*
 * Fills *ws from SERVICE, an entry of ctx->services of kind web.  The
 * strings point into SERVICE.  Returns 0, or -1 with ctx->error naming the
 * invalid setting.
 */
int web_service_load(struct task_ctx *ctx, const json_t *service, struct web_service *ws);

/*
 * Runs the configtest command.  Output lines go to the task log.  Returns
 * 0 when it exits with status 0, else -1 with ctx->error holding the last
 * lines of the web server's output and what to do next.
 */
int web_configtest(struct task_ctx *ctx, struct ssh_conn *conn, const struct web_service *ws);

/* Runs the restart command; returns 0 or -1 with ctx->error, as web_configtest. */
int web_restart(struct task_ctx *ctx, struct ssh_conn *conn, const struct web_service *ws);

/*
 * Runs the dump command and looks for PATH among the configuration files
 * that it lists.  Sets *found.  Returns 0 when the command ran and exited
 * with status 0, else -1 with ctx->error.
 */
int web_config_included(struct task_ctx *ctx, struct ssh_conn *conn, const struct web_service *ws,
			const char *path, bool *found);

/* Returns the server's name from ctx->server, or "?" when it has none. */
const char *task_server_name(const struct task_ctx *ctx);

#endif
