#include "webserver.h"

#include <stdio.h>
#include <string.h>

#include "remote.h"
#include "report.h"

/* The lines of a command's output kept for its error message. */
#define TAIL_LINES 6
#define TAIL_LINE_MAX 320

struct command_output {
	const char *stderr_level;	/* log level of stderr lines; NULL: lines are not logged */
	char tail[TAIL_LINES][TAIL_LINE_MAX];
	unsigned long lines;
	bool sudo_password;		/* sudo asked for a password or a terminal to read one */
	bool sudo_tty;			/* sudo requires a tty (Defaults requiretty) */
	const char *wanted_path;	/* for the include check: a path to find, else NULL */
	bool found;
};

const char *task_server_name(const struct task_ctx *ctx)
{
	return json_string_value(json_object_get(ctx->server, "name")) ?: "?";
}

const json_t *service_find(const struct task_ctx *ctx, const char *kind)
{
	size_t i;
	const json_t *service;

	json_array_foreach(ctx->services, i, service) {
		const char *k = json_string_value(json_object_get(service, "kind"));

		if (k != NULL && strcmp(k, kind) == 0)
			return service;
	}
	return NULL;
}

/* Reads optional string setting NAME into *out; returns -1 with ctx->error if it is not a non-empty string. */
static int command_setting(struct task_ctx *ctx, const json_t *settings, const char *name, const char **out,
			   bool *overridden)
{
	const json_t *v = json_object_get(settings, name);

	*overridden = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || strchr(json_string_value(v), '\n')) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: settings.%s of the web service must be a non-empty one-line shell command, "
			 "such as \"sudo -n /usr/sbin/apache2ctl configtest\"; fix provision.services.settings",
			 task_server_name(ctx), name);
		return -1;
	}
	*out = json_string_value(v);
	*overridden = true;
	return 0;
}

int web_service_load(struct task_ctx *ctx, const json_t *service, struct web_service *ws)
{
	const json_t *settings = json_object_get(service, "settings");
	bool dump_overridden;

	memset(ws, 0, sizeof(*ws));
	ws->type = json_string_value(json_object_get(service, "type")) ?: "";
	if (strcmp(ws->type, "apache") == 0) {
		ws->configtest_command = "sudo -n /usr/sbin/apache2ctl configtest";
		ws->restart_command = "sudo -n /usr/sbin/apache2ctl graceful";
		ws->dump_includes_command = "sudo -n /usr/sbin/apache2ctl -t -D DUMP_INCLUDES";
	} else if (strcmp(ws->type, "nginx") == 0) {
		ws->configtest_command = "sudo -n /usr/sbin/nginx -t";
		ws->restart_command = "sudo -n /usr/sbin/nginx -s reload";
		ws->dump_includes_command = "sudo -n /usr/sbin/nginx -T";
	} else {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: the web service has type \"%.64s\"; expected apache or nginx",
			 task_server_name(ctx), ws->type);
		return -1;
	}

	if (settings != NULL && !json_is_object(settings)) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: the settings of the web service must be a JSON object", task_server_name(ctx));
		return -1;
	}
	if (command_setting(ctx, settings, "configtest_command", &ws->configtest_command,
			    &ws->configtest_overridden) != 0 ||
	    command_setting(ctx, settings, "restart_command", &ws->restart_command, &ws->restart_overridden) != 0 ||
	    command_setting(ctx, settings, "dump_includes_command", &ws->dump_includes_command,
			    &dump_overridden) != 0)
		return -1;

	/* The default dump reads the system configuration, which a replaced configtest may not use. */
	if (ws->configtest_overridden && !dump_overridden)
		ws->dump_includes_command = NULL;
	return 0;
}

static void keep_line(struct command_output *out, const char *line)
{
	snprintf(out->tail[out->lines % TAIL_LINES], TAIL_LINE_MAX, "%s", line);
	out->lines++;

	if (strstr(line, "sudo: a password is required") || strstr(line, "sudo: a terminal is required"))
		out->sudo_password = true;
	if (strstr(line, "you must have a tty"))
		out->sudo_tty = true;
}

/*
 * Returns true if LINE of a dump lists PATH.  apache2ctl -D DUMP_INCLUDES
 * prints "  (12) /path" or "  (*) /path"; nginx -T prints
 * "# configuration file /path:".  The whole path must match, so that
 * "apache.conf.bak" does not count as "apache.conf".
 */
static bool dump_line_lists(const char *line, const char *path)
{
	const char *p = line;
	size_t len;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '(') {
		p = strchr(p, ')');
		if (p == NULL)
			return false;
		p++;
		while (*p == ' ')
			p++;
	} else if (strncmp(p, "# configuration file ", 21) == 0) {
		p += 21;
	} else {
		return false;
	}

	len = strlen(path);
	if (strncmp(p, path, len) != 0)
		return false;
	p += len;
	if (*p == ':')
		p++;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '\0';
}

static void on_output(void *arg, enum ssh_stream stream, const char *line)
{
	struct command_output *out = arg;

	if (out->wanted_path != NULL) {
		if (dump_line_lists(line, out->wanted_path))
			out->found = true;
	} else if (stream == SSH_STREAM_STDERR) {
		report_log(out->stderr_level, "%s", line);
	} else {
		report_log(stream == SSH_STREAM_NOTICE ? "notice" : "info", "%s", line);
	}
	if (stream != SSH_STREAM_NOTICE)
		keep_line(out, line);
}

/* Appends the kept lines to BUF, oldest first, separated by " | ". */
static void append_tail(const struct command_output *out, char *buf, size_t size)
{
	unsigned long first = out->lines > TAIL_LINES ? out->lines - TAIL_LINES : 0;
	size_t used = strlen(buf);

	if (out->lines == 0) {
		snprintf(buf + used, size - used, " and printed nothing");
		return;
	}
	snprintf(buf + used, size - used, "; last output: ");
	for (unsigned long i = first; i < out->lines; i++) {
		used = strlen(buf);
		snprintf(buf + used, size - used, "%s%s", i > first ? " | " : "", out->tail[i % TAIL_LINES]);
	}
}

/*
 * Writes into BUF the program that sudo runs in COMMAND, such as
 * "/usr/sbin/apache2ctl" for "sudo -n /usr/sbin/apache2ctl configtest":
 * the first word after "sudo" and its options.  Words are split at spaces
 * only, which fits the command lines that sudoers rules name.
 */
static void sudo_program(const char *command, char *buf, size_t size)
{
	const char *p = command;
	size_t len;

	snprintf(buf, size, "<program>");
	if (strncmp(p, "sudo ", 5) != 0)
		return;
	p += 5;
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p != '-')
			break;
		p += strcspn(p, " ");
	}
	len = strcspn(p, " ");
	if (len > 0)
		snprintf(buf, size, "%.*s", (int)len, p);
}

/* Runs COMMAND with its output handled by OUT; returns 0 on exit status 0. */
static int run_command(struct task_ctx *ctx, struct ssh_conn *conn, const char *step, const char *command,
		       struct command_output *out)
{
	struct ssh_cmd_result res;
	struct ssh_error err;
	char ended[64];
	char program[256];

	report_log("info", "%s: running %s", step, command);
	if (ssh_run(conn, command, WEB_COMMAND_TIMEOUT, on_output, out, &res, &err) != 0) {
		remote_set_error(ctx, &err);
		return -1;
	}
	if (res.signal[0] == '\0' && res.exit_status == 0)
		return 0;

	remote_describe_end(&res, ended, sizeof(ended));
	if (out->sudo_tty) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: %s: sudo requires a terminal (Defaults requiretty), and tasks run without "
			 "one; allow the user without a tty in /etc/sudoers.d, for example: Defaults:%s !requiretty",
			 task_server_name(ctx), step,
			 json_string_value(json_object_get(ctx->server, "ssh_user")) ?: "aegir");
	} else if (out->sudo_password) {
		sudo_program(command, program, sizeof(program));
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: %s: sudo asked for a password while running \"%s\", so no NOPASSWD sudoers "
			 "rule matches this command (the rule is missing or names another path); add one with "
			 "visudo -f /etc/sudoers.d/aegir, for example: %s ALL=NOPASSWD: %s",
			 task_server_name(ctx), step, command,
			 json_string_value(json_object_get(ctx->server, "ssh_user")) ?: "aegir", program);
	} else {
		snprintf(ctx->error, sizeof(ctx->error), "server %s: %s: \"%s\" ended with %s",
			 task_server_name(ctx), step, command, ended);
		append_tail(out, ctx->error, sizeof(ctx->error));
	}
	return -1;
}

/* Runs one step's command; on failure appends NEXT (what to do) to ctx->error. */
static int run_step(struct task_ctx *ctx, struct ssh_conn *conn, const char *step, const char *command,
		    const char *next, const char *success)
{
	/* Not "warning": apache2ctl prints "Syntax OK" on stderr, and a warning would mark the task. */
	struct command_output out = { .stderr_level = "notice" };
	size_t used;

	if (run_command(ctx, conn, step, command, &out) != 0) {
		used = strlen(ctx->error);
		snprintf(ctx->error + used, sizeof(ctx->error) - used, "; %s", next);
		return -1;
	}
	report_log("info", "%s", success);
	return 0;
}

int web_configtest(struct task_ctx *ctx, struct ssh_conn *conn, const struct web_service *ws)
{
	return run_step(ctx, conn, "configtest", ws->configtest_command,
			"the web server was not restarted; fix its configuration and run the task again",
			"configtest passed");
}

int web_restart(struct task_ctx *ctx, struct ssh_conn *conn, const struct web_service *ws)
{
	return run_step(ctx, conn, "restart", ws->restart_command,
			"check the web server's error log on the server",
			"the web server reloaded its configuration");
}

int web_config_included(struct task_ctx *ctx, struct ssh_conn *conn, const struct web_service *ws,
			const char *path, bool *found)
{
	struct command_output out = { .wanted_path = path };

	*found = false;
	if (run_command(ctx, conn, "include check", ws->dump_includes_command, &out) != 0)
		return -1;
	report_log("info", "include check: the dump of %lu lines %s %s", out.lines,
		   out.found ? "lists" : "does not list", path);
	*found = out.found;
	return 0;
}
