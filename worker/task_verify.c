/*
 * The verify task: proves that a server is set up for the control panel.
 *
 * Every server: SSH host key, key login and login shell (remote_connect),
 * then base_dir exists and is writable by the SSH user.
 *
 * A web service (apache or nginx) adds, in this order: config/ under
 * base_dir is writable; the server's web configuration is written on the
 * master under <master base_dir>/config/server_<name>/ and copied to the
 * same place under the server's base_dir; <base_dir>/config/apache.conf
 * (nginx.conf) on the server is written as a file that includes
 * server_<name>/apache.conf; the configtest passes; the graceful restart
 * works; and the web server's dump of included files lists
 * server_<name>/apache.conf.  A plain file rather than a symlink is written
 * so that it can be replaced atomically and so that the dump names the
 * server_<name> file itself.  See webserver.h for the commands.
 *
 * A db service (mysql) adds the checks of mysql_check.h with the
 * credentials from provision.db_credentials, which are checked before
 * any remote action.
 *
 * The worker cannot write the database: the result carries
 * "verified": true when every check passed without a warning, and the
 * daemon is expected to set provision.servers.verified_at from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mysql_check.h"
#include "remote.h"
#include "report.h"
#include "sftp.h"
#include "shell_quote.h"
#include "sync.h"
#include "tasks.h"
#include "webserver.h"
#include "xalloc.h"

/* Seconds for the base_dir check. */
#define BASE_DIR_CHECK_TIMEOUT 30.0

/* Folders of a server's web configuration, each included by its main file in this order. */
static const char *const config_subdirs[] = { "pre.d", "platform.d", "vhost.d", "post.d" };
#define N_SUBDIRS (sizeof(config_subdirs) / sizeof(config_subdirs[0]))

struct verify {
	struct task_ctx *ctx;
	const char *name;		/* server name */
	const char *user;		/* SSH user */
	const char *base_dir;		/* on the server */
	const char *master_base_dir;
	struct ssh_conn *conn;
	json_t *result;
	struct mysql_check_target db;	/* the db service's admin login, when there is one */
};

/* Returns true if NAME can be used as a folder name: letters, digits, ".", "_" and "-". */
static bool name_valid_for_path(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= 200 && name[0] != '.' &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

/*
 * Returns true if PATH is absolute and can be written inside double quotes
 * of an Apache or nginx configuration: no quote, backslash or control byte.
 */
static bool path_valid_for_config(const char *path)
{
	if (path[0] != '/' || strlen(path) > 1024)
		return false;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			return false;
	return true;
}

static int check_server_fields(struct verify *v)
{
	struct task_ctx *ctx = v->ctx;

	v->name = json_string_value(json_object_get(ctx->server, "name"));
	v->user = json_string_value(json_object_get(ctx->server, "ssh_user"));
	v->base_dir = json_string_value(json_object_get(ctx->server, "base_dir"));
	v->master_base_dir = json_string_value(json_object_get(ctx->settings, "base_dir"));
	if (v->name == NULL || v->user == NULL || v->base_dir == NULL || v->master_base_dir == NULL) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "the task lacks the server's name, ssh_user or base_dir, or the base_dir setting; "
			 "this is a bug in provisiond");
		return -1;
	}
	if (!name_valid_for_path(v->name)) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server \"%.100s\": the name may contain only letters, digits, \".\", \"_\" and \"-\" "
			 "and must not start with \".\", because it names the folder config/server_<name>; "
			 "rename the server", v->name);
		return -1;
	}
	if (!path_valid_for_config(v->base_dir)) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: base_dir \"%.200s\" must be an absolute path without quotes, backslashes "
			 "or control characters; fix provision.servers.base_dir", v->name, v->base_dir);
		return -1;
	}
	return 0;
}

/* Checks that base_dir, and config/ inside it when WITH_CONFIG, are folders the SSH user can write. */
static int check_base_dir(struct verify *v, bool with_config)
{
	struct task_ctx *ctx = v->ctx;
	char *config = xasprintf("%s/config", v->base_dir);
	char *base_q = shell_quote(v->base_dir);
	char *config_q = shell_quote(config);
	char *command;
	struct ssh_cmd_result res;
	char ended[64];
	int rc = -1;

	/* Exit statuses 3 to 6 tell the failed test apart without parsing output. */
	command = xasprintf("test -d %s || exit 3; test -w %s && test -x %s || exit 4%s%s%s%s%s%s%s",
			    base_q, base_q, base_q,
			    with_config ? "; test -d " : "", with_config ? config_q : "",
			    with_config ? " || exit 5; test -w " : "", with_config ? config_q : "",
			    with_config ? " && test -x " : "", with_config ? config_q : "",
			    with_config ? " || exit 6" : "");
	if (remote_run(ctx, v->conn, command, BASE_DIR_CHECK_TIMEOUT, "warning", &res) != 0)
		goto out;

	if (res.signal[0] != '\0' || res.exit_status < 0 || res.exit_status > 6 ||
	    (res.exit_status > 0 && res.exit_status < 3)) {
		remote_describe_end(&res, ended, sizeof(ended));
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: base_dir: checking %s failed with %s; check the login shell of %s",
			 v->name, v->base_dir, ended, v->user);
	} else if (res.exit_status == 3) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: base_dir: %s does not exist on the server; create it as root there with "
			 "mkdir -p %s/config && chown -R %s: %s, or fix base_dir of the server",
			 v->name, v->base_dir, v->base_dir, v->user, v->base_dir);
	} else if (res.exit_status == 4) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: base_dir: %s exists but user %s cannot write to it; as root on the server "
			 "run chown -R %s: %s", v->name, v->base_dir, v->user, v->user, v->base_dir);
	} else if (res.exit_status == 5) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: base_dir: %s does not exist on the server; create it with mkdir %s and make "
			 "it writable by %s", v->name, config, config, v->user);
	} else if (res.exit_status == 6) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: base_dir: %s exists but user %s cannot write to it; as root on the server "
			 "run chown -R %s: %s", v->name, config, v->user, v->user, config);
	} else {
		report_log("info", "base_dir: %s%s exists and %s can write to it", v->base_dir,
			   with_config ? " with config/" : "", v->user);
		rc = 0;
	}
out:
	free(command);
	free(config_q);
	free(base_q);
	free(config);
	return rc;
}

/* Creates PATH and its missing parents; the C library has no mkdir -p. */
static int mkdir_local(const char *path, mode_t mode)
{
	char *copy = xstrdup(path);
	int rc = 0;

	for (char *p = copy + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(copy, mode) != 0 && errno != EEXIST)
			rc = -1;
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
	return rc;
}

/* Writes DATA to PATH through a temporary file and rename(2), so readers never see half a file. */
static int write_local_file(const char *path, const char *data)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	size_t len = strlen(data);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = -1;

	if (fd >= 0) {
		if (write(fd, data, len) == (ssize_t)len && fsync(fd) == 0)
			rc = 0;
		if (close(fd) != 0)
			rc = -1;
		if (rc == 0 && rename(tmp, path) != 0)
			rc = -1;
		if (rc != 0)
			unlink(tmp);
	}
	free(tmp);
	return rc;
}

/* Returns the main configuration of server_<name>, newly allocated; paths are those on the server. */
static char *server_config_text(const struct verify *v, const struct web_service *ws)
{
	bool apache = strcmp(ws->type, "apache") == 0;
	char *text = xasprintf("# The %s configuration of server %s, written by provisiond's verify task.\n"
			       "# verify overwrites this file; put your own files into pre.d/ or post.d/.\n",
			       ws->type, v->name);

	for (size_t i = 0; i < N_SUBDIRS; i++) {
		char *next;

		/* Apache's IncludeOptional and nginx's include both accept a pattern that matches nothing. */
		if (apache)
			next = xasprintf("%sIncludeOptional \"%s/config/server_%s/%s/*\"\n", text, v->base_dir,
					 v->name, config_subdirs[i]);
		else
			next = xasprintf("%sinclude \"%s/config/server_%s/%s/*\";\n", text, v->base_dir, v->name,
					 config_subdirs[i]);
		free(text);
		text = next;
	}
	return text;
}

/* Writes <master base_dir>/config/server_<name>/ with its main file and empty folders. */
static int write_master_config(struct verify *v, const struct web_service *ws, const char *main_file)
{
	struct task_ctx *ctx = v->ctx;
	char *dir = xasprintf("%s/config/server_%s", v->master_base_dir, v->name);
	char *path = xasprintf("%s/%s", dir, main_file);
	char *text = server_config_text(v, ws);
	int rc = 0;

	for (size_t i = 0; i < N_SUBDIRS && rc == 0; i++) {
		char *sub = xasprintf("%s/%s", dir, config_subdirs[i]);

		if (mkdir_local(sub, 0755) != 0) {
			snprintf(ctx->error, sizeof(ctx->error),
				 "server %s: web config: creating %s on the master failed: %s; check the base_dir "
				 "setting of provisiond and the permissions of that folder", v->name, sub,
				 strerror(errno));
			rc = -1;
		}
		free(sub);
	}
	if (rc == 0 && write_local_file(path, text) != 0) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: web config: writing %s on the master failed: %s", v->name, path, strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		report_log("info", "web config: wrote %s on the master", path);
	free(text);
	free(path);
	free(dir);
	return rc;
}

/* Passes a skipped entry of the config folder to the task log. */
static void log_sync_notice(void *arg, const char *path, const char *reason)
{
	report_log("warning", "web config: %s skipped: %s", path, reason);
}

/*
 * Copies <master base_dir>/config/server_<name>/ to the same place on the
 * server with sync_tree, which removes files the master no longer has, and
 * writes <base_dir>/config/MAIN_FILE there, which includes it.
 */
static int copy_config_to_server(struct verify *v, const char *main_file)
{
	struct task_ctx *ctx = v->ctx;
	const struct sftp_put_options opt = { .mode = 0644 };
	char *local = xasprintf("%s/config/server_%s", v->master_base_dir, v->name);
	char *remote = xasprintf("%s/config/server_%s", v->base_dir, v->name);
	char *top = xasprintf("%s/config/%s", v->base_dir, main_file);
	char *top_text = NULL;
	const struct sync_options sync_opts = { .delete = true, .notice = log_sync_notice };
	struct sftp_session *s = NULL;
	struct sync_stats stats;
	struct ssh_error err;
	int rc = -1;

	if (sync_tree(v->conn, local, remote, &sync_opts, &stats, &err) != 0) {
		remote_set_error(ctx, &err);
		goto out;
	}
	report_log("info", "web config: synced %s on the master to %s on the server (%llu file(s) copied, "
		   "%llu deleted, %llu unchanged)", local, remote, (unsigned long long)stats.files_copied,
		   (unsigned long long)stats.deleted, (unsigned long long)stats.unchanged);

	s = sftp_open(v->conn, &err);
	if (s == NULL) {
		remote_set_error(ctx, &err);
		goto out;
	}
	if (strcmp(main_file, "apache.conf") == 0)
		top_text = xasprintf("# Written by provisiond's verify task: the web configuration of this server.\n"
				     "Include \"%s/%s\"\n", remote, main_file);
	else
		top_text = xasprintf("# Written by provisiond's verify task: the web configuration of this server.\n"
				     "include \"%s/%s\";\n", remote, main_file);
	if (sftp_put_buffer(s, top, top_text, strlen(top_text), &opt, &err) != 0) {
		remote_set_error(ctx, &err);
		goto out;
	}
	report_log("info", "web config: %s includes %s/%s", top, remote, main_file);
	rc = 0;
out:
	sftp_close(s);
	free(top_text);
	free(top);
	free(remote);
	free(local);
	return rc;
}

static int verify_web(struct verify *v, const json_t *service)
{
	struct task_ctx *ctx = v->ctx;
	struct web_service ws;
	const char *main_file;
	char *included_path;
	bool found = false;
	json_t *web;
	int rc = -1;

	if (web_service_load(ctx, service, &ws) != 0)
		return -1;
	main_file = strcmp(ws.type, "apache") == 0 ? "apache.conf" : "nginx.conf";
	included_path = xasprintf("%s/config/server_%s/%s", v->base_dir, v->name, main_file);
	web = json_pack("{s:s, s:s}", "type", ws.type, "config", included_path);
	json_object_set_new(v->result, "web", web);

	if (write_master_config(v, &ws, main_file) != 0 || copy_config_to_server(v, main_file) != 0 ||
	    web_configtest(ctx, v->conn, &ws) != 0 || web_restart(ctx, v->conn, &ws) != 0)
		goto out;
	json_object_set_new(web, "restarted", json_true());

	if (ws.dump_includes_command == NULL) {
		report_log("notice", "include check skipped: configtest_command is set but dump_includes_command "
			   "is not; set dump_includes_command to check that the web server reads %s", included_path);
		json_object_set_new(web, "included", json_null());
	} else {
		if (web_config_included(ctx, v->conn, &ws, included_path, &found) != 0)
			goto out;
		json_object_set_new(web, "included", json_boolean(found));
		if (!found && strcmp(ws.type, "apache") == 0)
			report_log("warning", "server %s: include check: Apache does not read %s; link it into "
				   "Apache's configuration as root on the server, for example: ln -s %s/config/"
				   "apache.conf /etc/apache2/conf-enabled/aegir.conf (or conf.d/aegir.conf), then "
				   "run verify again", v->name, included_path, v->base_dir);
		else if (!found)
			report_log("warning", "server %s: include check: nginx does not read %s; add "
				   "\"include %s/config/nginx.conf;\" to the http block of /etc/nginx/nginx.conf, "
				   "then run verify again", v->name, included_path, v->base_dir);
	}
	rc = 0;
out:
	free(included_path);
	return rc;
}

static void log_mysql_line(void *arg, const char *level, const char *message)
{
	report_log(level, "%s", message);
}

/* Seconds for the database checks: the TCP connect, and each read and write. */
#define DB_CONNECT_TIMEOUT 10
#define DB_IO_TIMEOUT 30

/*
 * Fills v->db with the db service's admin login and checks it, so that
 * missing or invalid credentials fail the task before any remote action.
 */
static int prepare_db_target(struct verify *v, const json_t *service)
{
	struct task_ctx *ctx = v->ctx;
	const json_t *port = json_object_get(service, "port");
	struct mysql_check_target target = {
		.server_name = v->name,
		.host = json_string_value(json_object_get(ctx->server, "hostname")),
		.port = json_is_integer(port) ? (unsigned int)json_integer_value(port) : 0,
		.user = json_string_value(json_object_get(ctx->credentials, "admin_user")),
		.password = json_string_value(json_object_get(ctx->credentials, "admin_password")),
		.connect_timeout = DB_CONNECT_TIMEOUT,
		.io_timeout = DB_IO_TIMEOUT,
	};
	struct mysql_check_error err;

	v->db = target;
	if (target.user == NULL || target.password == NULL) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server %s: db: the server has a db service but no admin account; insert admin_user and "
			 "admin_password into provision.db_credentials for server_id %lld", v->name,
			 (long long)json_integer_value(json_object_get(ctx->server, "id")));
		return -1;
	}
	if (target.host == NULL) {
		snprintf(ctx->error, sizeof(ctx->error), "the task lacks the server's hostname; this is a bug in provisiond");
		return -1;
	}
	if (mysql_check_validate(&target, &err) != 0) {
		snprintf(ctx->error, sizeof(ctx->error), "%s", err.message);
		return -1;
	}
	return 0;
}

static int verify_db(struct verify *v)
{
	struct task_ctx *ctx = v->ctx;
	struct mysql_check_result out;
	struct mysql_check_error err;

	if (mysql_check_run(&v->db, log_mysql_line, NULL, &out, &err) != 0) {
		snprintf(ctx->error, sizeof(ctx->error), "%s", err.message);
		ctx->transient = err.transient;
		return -1;
	}
	json_object_set_new(v->result, "db", json_pack("{s:s, s:s, s:s, s:s, s:b}",
							"version", out.server_version,
							"current_user", out.current_user,
							"client_host", out.client_host,
							"transport", out.transport,
							"cleanup_failed", out.cleanup_failed));
	return 0;
}

int task_verify(struct task_ctx *ctx)
{
	struct verify v = { .ctx = ctx };
	const json_t *web = service_find(ctx, "web");
	const json_t *db = service_find(ctx, "db");
	int rc;

	if (check_server_fields(&v) != 0)
		return -1;
	if (db != NULL && prepare_db_target(&v, db) != 0)
		return -1;
	v.result = json_pack("{s:b, s:s}", "verified", 0, "server", v.name);
	ctx->result = v.result;

	v.conn = remote_connect(ctx);
	if (v.conn == NULL)
		return -1;
	json_object_set_new(v.result, "ssh", json_true());

	rc = check_base_dir(&v, web != NULL);
	if (rc == 0 && web != NULL)
		rc = verify_web(&v, web);
	ssh_close(v.conn);
	if (rc == 0 && db != NULL)
		rc = verify_db(&v);

	if (rc == 0 && !report_warned())
		json_object_set_new(v.result, "verified", json_true());
	if (rc == 0)
		report_log("info", "server %s: verify %s", v.name,
			   report_warned() ? "finished with warnings" : "passed");
	return rc;
}
