/*
 * The sync task: copies a folder under the master's base_dir to the same
 * place under the server's base_dir, with sync_tree (lib/sync.h).
 *
 * args: path (string, relative to base_dir or absolute under it),
 * exclude (array of fnmatch patterns), delete (default true), checksum
 * (default false).  Every argument is checked before connecting.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "remote.h"
#include "report.h"
#include "sync.h"
#include "tasks.h"
#include "text_sanitize.h"
#include "xalloc.h"

/* Skipped entries logged one by one; later ones are only counted. */
#define MAX_NOTICES 20

struct sync_args {
	char *relative;		/* normalized: no leading, trailing or double "/", no "." */
	const char **exclude;	/* NULL-terminated, borrowed from the args */
	bool delete;
	bool checksum;
};

struct sync_log {
	unsigned notices;
};

static const char *json_kind(const json_t *v)
{
	if (json_is_string(v))
		return "a string";
	if (json_is_array(v))
		return "an array";
	if (json_is_object(v))
		return "an object";
	if (json_is_boolean(v))
		return "a boolean";
	if (json_is_null(v))
		return "null";
	return "a number";
}

/* Returns PATH sanitized and cut to 200 bytes for an error message, newly allocated. */
static char *shown_path(const char *path)
{
	size_t len = strlen(path);

	return text_sanitize_dup(path, len > 200 ? 200 : len);
}

static char *strip_trailing_slashes(const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	return xstrndup(path, len);
}

/*
 * Turns args.path into a path relative to BASE: an absolute path must lie
 * under BASE.  Rejects "..", the empty path and BASE itself.  Returns the
 * normalized relative path, or NULL with ctx->error set.
 */
static char *relative_path(struct task_ctx *ctx, const char *path, const char *base)
{
	const char *rest = path;
	size_t base_len = strlen(base);
	char *shown, *out, *copy, *save = NULL;
	size_t out_len = 0;

	if (path[0] == '\0') {
		snprintf(ctx->error, sizeof(ctx->error),
			 "args.path is empty; give a folder under base_dir %s, such as \"platforms/wordpress\"", base);
		return NULL;
	}

	shown = shown_path(path);
	if (path[0] == '/') {
		bool under = base_len == 1 ? true
					   : strncmp(path, base, base_len) == 0 &&
					     (path[base_len] == '/' || path[base_len] == '\0');

		if (!under) {
			snprintf(ctx->error, sizeof(ctx->error),
				 "args.path \"%s\" is outside base_dir %s; give a folder under %s, or a path relative to it",
				 shown, base, base);
			free(shown);
			return NULL;
		}
		rest = path + (base_len == 1 ? 1 : base_len);
	}

	/* Rebuild the path from its components, leaving out empty ones and ".". */
	out = xmalloc(strlen(rest) + 1);
	copy = xstrdup(rest);
	for (char *part = strtok_r(copy, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			snprintf(ctx->error, sizeof(ctx->error),
				 "args.path \"%s\" contains \"..\", which could leave base_dir %s; "
				 "give the folder's path under %s without \"..\"", shown, base, base);
			free(copy);
			free(out);
			free(shown);
			return NULL;
		}
		if (out_len > 0)
			out[out_len++] = '/';
		memcpy(out + out_len, part, strlen(part));
		out_len += strlen(part);
	}
	out[out_len] = '\0';
	free(copy);

	if (out_len == 0) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "args.path \"%s\" is %s, and a sync must not replace all of it; give a folder under %s, "
			 "such as \"platforms/wordpress\"", shown,
			 strcmp(path, "/") == 0 ? "the root folder, which contains base_dir" : "base_dir itself", base);
		free(out);
		free(shown);
		return NULL;
	}
	free(shown);
	return out;
}

static int parse_bool(struct task_ctx *ctx, const char *field, bool *out)
{
	const json_t *v = json_object_get(ctx->args, field);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(ctx->error, sizeof(ctx->error), "args.%s must be true or false; found %s", field,
			 json_kind(v));
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

static int parse_exclude(struct task_ctx *ctx, struct sync_args *args)
{
	const json_t *list = json_object_get(ctx->args, "exclude");
	size_t count;

	args->exclude = xcalloc(1, sizeof(*args->exclude));
	if (list == NULL)
		return 0;
	if (!json_is_array(list)) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "args.exclude must be an array of strings, such as [\"*.log\", \"sites/*/files\"]; found %s",
			 json_kind(list));
		return -1;
	}

	count = json_array_size(list);
	free(args->exclude);
	args->exclude = xcalloc(count + 1, sizeof(*args->exclude));
	for (size_t i = 0; i < count; i++) {
		const json_t *item = json_array_get(list, i);
		const char *problem;

		if (!json_is_string(item)) {
			snprintf(ctx->error, sizeof(ctx->error),
				 "args.exclude[%zu] must be a string (an fnmatch pattern); found %s", i, json_kind(item));
			return -1;
		}
		problem = sync_exclude_check(json_string_value(item));
		if (problem != NULL) {
			snprintf(ctx->error, sizeof(ctx->error), "args.exclude[%zu] is invalid: %s", i, problem);
			return -1;
		}
		args->exclude[i] = json_string_value(item);
	}
	return 0;
}

static int parse_args(struct task_ctx *ctx, const char *base, struct sync_args *args)
{
	static const char *const allowed[] = { "path", "exclude", "delete", "checksum" };
	const json_t *path = json_object_get(ctx->args, "path");
	const char *key;
	const json_t *value;

	json_object_foreach((json_t *)ctx->args, key, value) {
		bool known = false;

		for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			if (strcmp(key, allowed[i]) == 0)
				known = true;
		if (!known) {
			snprintf(ctx->error, sizeof(ctx->error),
				 "args.%.64s is not a sync argument; use path, exclude, delete or checksum", key);
			return -1;
		}
	}

	if (path == NULL) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "args.path is missing; give the folder to sync, relative to base_dir %s", base);
		return -1;
	}
	if (!json_is_string(path)) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "args.path must be a string, such as \"platforms/wordpress\"; found %s", json_kind(path));
		return -1;
	}

	args->delete = true;
	if (parse_bool(ctx, "delete", &args->delete) != 0 || parse_bool(ctx, "checksum", &args->checksum) != 0 ||
	    parse_exclude(ctx, args) != 0)
		return -1;
	args->relative = relative_path(ctx, json_string_value(path), base);
	return args->relative == NULL ? -1 : 0;
}

/* Checks that the local folder is a real folder whose resolved path stays under BASE. */
static int check_local_dir(struct task_ctx *ctx, const char *base, const char *local)
{
	char *shown = shown_path(local);
	char *real_base = NULL, *real_local = NULL;
	struct stat st;
	int rc = -1;

	if (lstat(local, &st) != 0) {
		snprintf(ctx->error, sizeof(ctx->error), "the folder to sync, %s, cannot be read: %s; "
			 "check args.path", shown, strerror(errno));
		goto out;
	}
	if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
		snprintf(ctx->error, sizeof(ctx->error), "%s is %s, not a folder; give the path of the folder itself",
			 shown, S_ISLNK(st.st_mode) ? "a symbolic link" : "a file");
		goto out;
	}
	real_base = realpath(base, NULL);
	real_local = realpath(local, NULL);
	if (real_base == NULL || real_local == NULL) {
		snprintf(ctx->error, sizeof(ctx->error), "resolving %s failed: %s", real_base ? shown : base,
			 strerror(errno));
		goto out;
	}
	if (strncmp(real_local, real_base, strlen(real_base)) != 0 || real_local[strlen(real_base)] != '/') {
		/* A symbolic link in a parent folder leads out of base_dir. */
		char *shown_real = shown_path(real_local);

		snprintf(ctx->error, sizeof(ctx->error),
			 "%s resolves to %s, which is outside base_dir %s; a symbolic link in the path leads out of "
			 "base_dir", shown, shown_real, base);
		free(shown_real);
		goto out;
	}
	rc = 0;

out:
	free(shown);
	free(real_base);
	free(real_local);
	return rc;
}

static void log_progress(void *arg, const struct sync_stats *s)
{
	report_log("info", "sync progress: %" PRIu64 " of %" PRIu64 " files, %.1f of %.1f MB copied, %.0f s",
		   s->files_copied, s->files_to_copy, (double)s->bytes_copied / 1e6, (double)s->bytes_to_copy / 1e6,
		   s->seconds);
}

static void log_notice(void *arg, const char *path, const char *reason)
{
	struct sync_log *log = arg;
	char *shown;

	if (++log->notices > MAX_NOTICES)
		return;
	shown = shown_path(path);
	report_log("warning", "skipped %s: %s%s", shown, reason,
		   log->notices == MAX_NOTICES ? " (further skipped entries are only counted)" : "");
	free(shown);
}

static json_t *make_result(const struct sync_stats *s, const char *local, const char *remote)
{
	return json_pack("{s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s}",
			 "files_copied", (json_int_t)s->files_copied,
			 "deleted", (json_int_t)s->deleted,
			 "bytes", (json_int_t)s->bytes_copied,
			 "seconds", s->seconds,
			 "links", (json_int_t)s->links_created,
			 "dirs_created", (json_int_t)s->dirs_created,
			 "unchanged", (json_int_t)s->unchanged,
			 "attrs_updated", (json_int_t)s->attrs_updated,
			 "temporaries_removed", (json_int_t)s->temporaries_removed,
			 "skipped", (json_int_t)s->skipped,
			 "files_total", (json_int_t)s->files_total,
			 "local", local,
			 "remote", remote);
}

int task_sync(struct task_ctx *ctx)
{
	const char *base = json_string_value(json_object_get(ctx->settings, "base_dir"));
	const char *server_base = json_string_value(json_object_get(ctx->server, "base_dir"));
	struct sync_args args = { 0 };
	struct sync_log log = { 0 };
	char *local_base = NULL, *remote_base = NULL, *local = NULL, *remote = NULL;
	char *shown_local = NULL, *shown_remote = NULL;
	struct sync_options opt;
	struct sync_stats stats;
	struct ssh_error err;
	struct ssh_conn *conn;
	int rc = -1;

	if (base == NULL || base[0] != '/') {
		snprintf(ctx->error, sizeof(ctx->error),
			 "the daemon's base_dir setting must be an absolute path; found \"%.200s\"", base ? base : "");
		goto out;
	}
	if (server_base == NULL || server_base[0] != '/') {
		snprintf(ctx->error, sizeof(ctx->error),
			 "base_dir of the server in provision.servers must be an absolute path; found \"%.200s\"",
			 server_base ? server_base : "");
		goto out;
	}
	local_base = strip_trailing_slashes(base);
	remote_base = strip_trailing_slashes(server_base);
	if (parse_args(ctx, local_base, &args) != 0)
		goto out;

	local = xasprintf("%s/%s", strcmp(local_base, "/") == 0 ? "" : local_base, args.relative);
	remote = xasprintf("%s/%s", strcmp(remote_base, "/") == 0 ? "" : remote_base, args.relative);
	if (check_local_dir(ctx, local_base, local) != 0)
		goto out;

	shown_local = shown_path(local);
	shown_remote = shown_path(remote);
	conn = remote_connect(ctx);
	if (conn == NULL)
		goto out;

	sync_options_default(&opt);
	opt.exclude = args.exclude;
	opt.delete = args.delete;
	opt.checksum = args.checksum;
	opt.progress = log_progress;
	opt.notice = log_notice;
	opt.arg = &log;
	report_log("info", "syncing %s to %s on %s (delete %s, %s comparison, %zu exclude patterns)", shown_local,
		   shown_remote, ssh_server_name(conn), args.delete ? "on" : "off",
		   args.checksum ? "content" : "size and time", json_array_size(json_object_get(ctx->args, "exclude")));

	rc = sync_tree(conn, local, remote, &opt, &stats, &err);
	ctx->result = make_result(&stats, local, remote);
	if (rc != 0) {
		remote_set_error(ctx, &err);
		report_log("error", "sync failed after %.1f s with %" PRIu64 " files copied: %s", stats.seconds,
			   stats.files_copied, err.message);
	} else {
		if (log.notices > MAX_NOTICES)
			report_log("warning", "%u entries skipped in all", log.notices);
		report_log("info",
			   "sync done in %.1f s: %" PRIu64 " files copied (%" PRIu64 " bytes), %" PRIu64
			   " deleted, %" PRIu64 " links, %" PRIu64 " folders created, %" PRIu64 " unchanged, %" PRIu64
			   " attributes fixed, %" PRIu64 " stale temporaries removed",
			   stats.seconds, stats.files_copied, stats.bytes_copied, stats.deleted, stats.links_created,
			   stats.dirs_created, stats.unchanged, stats.attrs_updated, stats.temporaries_removed);
	}
	ssh_close(conn);

out:
	free(args.relative);
	free(args.exclude);
	free(local_base);
	free(remote_base);
	free(local);
	free(remote);
	free(shown_local);
	free(shown_remote);
	return rc;
}
