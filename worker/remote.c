#include "remote.h"

#include <stdio.h>
#include <string.h>

#include "report.h"
#include "server_check.h"

static const char *setting(const struct task_ctx *ctx, const char *name)
{
	return json_string_value(json_object_get(ctx->settings, name));
}

void remote_set_error(struct task_ctx *ctx, const struct ssh_error *err)
{
	snprintf(ctx->error, sizeof(ctx->error), "%s", err->message);
	ctx->transient = err->transient;
}

struct ssh_conn *remote_connect(struct task_ctx *ctx)
{
	struct ssh_target target = {
		.server_name = json_string_value(json_object_get(ctx->server, "name")),
		.hostname = json_string_value(json_object_get(ctx->server, "hostname")),
		.port = (int)json_integer_value(json_object_get(ctx->server, "ssh_port")),
		.user = json_string_value(json_object_get(ctx->server, "ssh_user")),
		.private_key = setting(ctx, "ssh_private_key"),
		.known_hosts = setting(ctx, "ssh_known_hosts"),
	};
	struct ssh_timeouts timeouts;
	struct ssh_error err;
	struct ssh_conn *conn;

	if (server_check_fields(target.server_name, target.hostname, target.port, target.user,
				json_string_value(json_object_get(ctx->server, "base_dir")),
				ctx->error, sizeof(ctx->error)) != 0)
		return NULL;

	if (target.server_name == NULL || target.hostname == NULL || target.user == NULL ||
	    target.private_key == NULL || target.known_hosts == NULL) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "the task lacks server or SSH settings (name, hostname, ssh_user, "
			 "ssh_private_key, ssh_known_hosts); this is a bug in provisiond");
		return NULL;
	}

	ssh_timeouts_default(&timeouts);
	report_log("info", "connecting to %s as %s on port %d (server %s)", target.hostname,
		   target.user, target.port, target.server_name);
	conn = ssh_connect(&target, &timeouts, &err);
	if (conn == NULL) {
		remote_set_error(ctx, &err);
		return NULL;
	}
	report_log("info", "host key matched %s; logged in as %s", target.known_hosts, target.user);

	if (ssh_check_shell(conn, 30, &err) != 0) {
		remote_set_error(ctx, &err);
		ssh_close(conn);
		return NULL;
	}
	report_log("info", "the login shell of %s runs commands", target.user);
	return conn;
}

struct output_levels {
	const char *stderr_level;
};

static void log_line(void *arg, enum ssh_stream stream, const char *line)
{
	const struct output_levels *levels = arg;

	switch (stream) {
	case SSH_STREAM_STDOUT:
		report_log("info", "%s", line);
		break;
	case SSH_STREAM_STDERR:
		report_log(levels->stderr_level, "%s", line);
		break;
	case SSH_STREAM_NOTICE:
		report_log("notice", "%s", line);
		break;
	}
}

int remote_run(struct task_ctx *ctx, struct ssh_conn *conn, const char *command, double timeout,
	       const char *level_stderr, struct ssh_cmd_result *out)
{
	struct output_levels levels = { .stderr_level = level_stderr };
	struct ssh_error err;

	report_log("info", "running on %s: %s", ssh_server_name(conn), command);
	if (ssh_run(conn, command, timeout, log_line, &levels, out, &err) != 0) {
		remote_set_error(ctx, &err);
		return -1;
	}
	return 0;
}

void remote_describe_end(const struct ssh_cmd_result *res, char *buf, size_t len)
{
	if (res->signal[0] != '\0')
		snprintf(buf, len, "killed by signal %s%s", res->signal,
			 res->core_dumped ? " (core dumped)" : "");
	else
		snprintf(buf, len, "exit status %d", res->exit_status);
}
