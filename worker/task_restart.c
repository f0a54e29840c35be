/*
 * The restart task: tests the configuration of one of the server's
 * services and then reloads it gracefully.  A failed configtest stops the
 * task before the restart, so a broken configuration never takes a
 * running web server down.
 *
 * args: {"service": "web"}; service is optional and defaults to "web",
 * the only service kind that can be restarted so far.
 */
#include <stdio.h>
#include <string.h>

#include "remote.h"
#include "report.h"
#include "tasks.h"
#include "webserver.h"

/* Validates ARGS; sets *service.  Returns 0 or -1 with ctx->error naming the field. */
static int parse_restart_args(struct task_ctx *ctx, const char **service)
{
	const char *key;
	const json_t *value;
	const json_t *v;

	json_object_foreach((json_t *)ctx->args, key, value) {
		if (strcmp(key, "service") != 0) {
			snprintf(ctx->error, sizeof(ctx->error),
				 "args.%.64s is not a restart argument; the only one is service, such as "
				 "{\"service\": \"web\"}", key);
			return -1;
		}
	}

	*service = "web";
	v = json_object_get(ctx->args, "service");
	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "args.service must be a string naming a service kind, such as \"web\"");
		return -1;
	}
	*service = json_string_value(v);
	if (strcmp(*service, "db") == 0) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "args.service \"db\" cannot be restarted by provisiond; only \"web\" can");
		return -1;
	}
	if (strcmp(*service, "web") != 0) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "args.service \"%.64s\" is not a service kind; use \"web\"", *service);
		return -1;
	}
	return 0;
}

int task_restart(struct task_ctx *ctx)
{
	struct web_service ws;
	const json_t *service;
	const char *kind;
	struct ssh_conn *conn;
	int rc;

	if (parse_restart_args(ctx, &kind) != 0)
		return -1;
	service = service_find(ctx, kind);
	if (service == NULL) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s has no %s service; add one to provision.services or check the task's server_id",
			 task_server_name(ctx), kind);
		return -1;
	}
	if (web_service_load(ctx, service, &ws) != 0)
		return -1;

	conn = remote_connect(ctx);
	if (conn == NULL)
		return -1;

	rc = web_configtest(ctx, conn, &ws);
	if (rc == 0)
		rc = web_restart(ctx, conn, &ws);
	ssh_close(conn);

	if (rc == 0)
		ctx->result = json_pack("{s:s, s:s, s:b}", "service", kind, "type", ws.type, "restarted", 1);
	return rc;
}
