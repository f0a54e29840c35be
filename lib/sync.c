/*
 * The sync engine.  A run goes through fixed steps, each a few flights of
 * pipelined SFTP requests (sftp_pipeline.h) with a wait between flights
 * that depend on each other:
 *
 *   1. walk the local tree; make sure the remote folder exists
 *   2. list the remote tree, one flight per folder depth
 *   3. remove stale temporaries and what must go (deleted entries, and
 *      entries whose type changed), files first, then folders deepest first
 *   4. create missing folders, shallowest first
 *   5. compare file contents (checksum mode only)
 *   6. upload changed files in batches: open temporaries, write, set
 *      attributes, close, rename over the targets
 *   7. create or replace symbolic links
 *   8. fix modes and times of files and folders, folders last of all
 *      because every change inside a folder moves its time
 *
 * Steps 5 and 6 are in sync_upload.c.
 */
#include "sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "sftp_pipeline.h"
#include "ssh_internal.h"
#include "sync_internal.h"
#include "sync_walk.h"
#include "text_sanitize.h"
#include "xalloc.h"

/* ---- paths and errors ---- */

char *sync_remote_path(const struct sync_run *run, const char *rel)
{
	if (rel[0] == '\0')
		return xstrdup(run->remote_root);
	return xasprintf("%s/%s", run->remote_root, rel);
}

char *sync_local_path(const struct sync_run *run, const char *rel)
{
	return xasprintf("%s/%s", run->local_root, rel);
}

char *sync_temporary_path(struct sync_run *run, const char *rel)
{
	const char *slash = strrchr(rel, '/');

	run->temp_counter++;
	if (slash == NULL)
		return xasprintf("%s/%s%s-%lu", run->remote_root, SYNC_TEMP_PREFIX, run->temp_id,
				 run->temp_counter);
	return xasprintf("%s/%.*s/%s%s-%lu", run->remote_root, (int)(slash - rel), rel, SYNC_TEMP_PREFIX,
			 run->temp_id, run->temp_counter);
}

int sync_fail_request(struct sync_run *run, const struct sftp_request *req, const char *op,
			const char *path)
{
	char *shown = text_sanitize_dup(path, strlen(path));

	ssh_error_set(run->err, run->conn, SSH_STEP_SFTP, false, "%s \"%s\" failed: %s (SFTP status %u)", op,
		      shown, sftp_status_name(req->status), req->status);
	run->err->sftp_status = req->status;
	free(shown);
	return -1;
}

int sync_fail_local(struct sync_run *run, const char *op, const char *path, int errnum)
{
	char *shown = text_sanitize_dup(path, strlen(path));

	snprintf(run->err->message, sizeof(run->err->message), "%s \"%s\" on this host failed: %s", op,
		 shown, strerror(errnum));
	run->err->transient = false;
	run->err->step = SSH_STEP_SFTP;
	run->err->sftp_status = 0;
	free(shown);
	return -1;
}

void sync_mark_parent_changed(struct sync_run *run, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	char *parent;
	long i;

	if (slash == NULL) {
		run->root_changed = true;
		return;
	}
	parent = xstrndup(rel, (size_t)(slash - rel));
	i = sync_list_find(&run->local, parent);
	if (i >= 0)
		run->local.entries[i].changed_inside = true;
	free(parent);
}

void sync_report_progress(struct sync_run *run)
{
	double now = ssh_now();

	if (run->opt->progress == NULL || run->opt->progress_interval <= 0 ||
	    now - run->last_progress < run->opt->progress_interval)
		return;
	run->last_progress = now;
	run->stats->seconds = now - run->started;
	run->opt->progress(run->opt->arg, run->stats);
}

void sync_notice(struct sync_run *run, const char *rel, const char *reason)
{
	run->stats->skipped++;
	if (run->opt->notice != NULL)
		run->opt->notice(run->opt->arg, rel, reason);
}

static enum sync_type remote_type(const struct sftp_attrs *a)
{
	if (sftp_attrs_is_file(a))
		return SYNC_TYPE_FILE;
	if (sftp_attrs_is_dir(a))
		return SYNC_TYPE_DIR;
	if (sftp_attrs_is_symlink(a))
		return SYNC_TYPE_LINK;
	return SYNC_TYPE_OTHER;
}

static void reset_requests(struct sftp_request *reqs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		sftp_request_reset(&reqs[i]);
}

/* ---- step 1: the remote folder ---- */

static int lstat_remote_root(struct sync_run *run, struct sftp_request *req)
{
	if (sftp_send_lstat(run->p, req, run->remote_root, run->err) != 0 ||
	    sftp_pipeline_wait(run->p, run->err) != 0)
		return -1;
	return 0;
}

/* Makes sure the remote folder exists and is a folder, creating it and its parents if needed. */
static int prepare_remote_root(struct sync_run *run)
{
	struct sftp_request req = { 0 };
	size_t len = strlen(run->remote_root);

	if (lstat_remote_root(run, &req) != 0)
		return -1;
	if (!sftp_request_ok(&req)) {
		if (req.status != SFTP_STATUS_NO_SUCH_FILE)
			return sync_fail_request(run, &req, "lstat", run->remote_root);

		/* Each missing level in turn; a level that exists already fails harmlessly. */
		for (size_t i = 1; i <= len; i++) {
			char *prefix;

			if (i < len && run->remote_root[i] != '/')
				continue;
			prefix = xstrndup(run->remote_root, i);
			if (sftp_send_mkdir(run->p, &req, prefix, 0755, run->err) != 0 ||
			    sftp_pipeline_wait(run->p, run->err) != 0) {
				free(prefix);
				return -1;
			}
			free(prefix);
		}
		if (!sftp_request_ok(&req))
			return sync_fail_request(run, &req, "mkdir", run->remote_root);
		run->remote_root_created = true;
		if (lstat_remote_root(run, &req) != 0)
			return -1;
		if (!sftp_request_ok(&req))
			return sync_fail_request(run, &req, "lstat", run->remote_root);
	}

	if (!sftp_attrs_is_dir(&req.attrs)) {
		char *shown = text_sanitize_dup(run->remote_root, len);

		ssh_error_set(run->err, run->conn, SSH_STEP_SFTP, false,
			      "\"%s\" exists and is %s, not a folder; remove it on the server or choose another path",
			      shown, sftp_attrs_is_symlink(&req.attrs) ? "a symbolic link" : "a file");
		free(shown);
		return -1;
	}
	run->remote_root_attrs = req.attrs;
	return 0;
}

/* ---- step 2: the remote listing ---- */

struct listed_dir {
	char *rel;
	struct sftp_request open;
	struct sftp_request read;
	bool eof;
};

static void add_stale(struct sync_run *run, const char *rel)
{
	if (run->stale_count == run->stale_capacity) {
		run->stale_capacity = run->stale_capacity ? run->stale_capacity * 2 : 16;
		run->stale = xrealloc(run->stale, run->stale_capacity * sizeof(*run->stale));
	}
	run->stale[run->stale_count++] = sync_remote_path(run, rel);
}

/* Adds the entries of one readdir reply of folder DIR; folders to descend into go to NEXT. */
static void add_remote_names(struct sync_run *run, const struct listed_dir *dir, char ***next,
			     size_t *next_count, size_t *next_capacity)
{
	for (size_t i = 0; i < dir->read.name_count; i++) {
		const struct sftp_dirent *d = &dir->read.names[i];
		enum sync_type type = remote_type(&d->attrs);
		struct sync_entry *e;
		char *rel;

		if (strcmp(d->name, ".") == 0 || strcmp(d->name, "..") == 0 || d->name[0] == '\0' ||
		    strchr(d->name, '/') != NULL)
			continue;
		rel = dir->rel[0] ? xasprintf("%s/%s", dir->rel, d->name) : xstrdup(d->name);

		if (strncmp(d->name, SYNC_TEMP_PREFIX, strlen(SYNC_TEMP_PREFIX)) == 0) {
			if (type == SYNC_TYPE_FILE || type == SYNC_TYPE_LINK)
				add_stale(run, rel);
			free(rel);
			continue;
		}
		if (sync_filter_excludes(&run->filter, rel, type == SYNC_TYPE_DIR)) {
			free(rel);
			continue;
		}

		e = sync_list_add(&run->remote, rel);
		e->type = type;
		e->mode = d->attrs.mode & 07777;
		e->size = d->attrs.has_size ? d->attrs.size : UINT64_MAX;
		e->mtime = d->attrs.has_times ? d->attrs.mtime : 0;
		if (type == SYNC_TYPE_DIR) {
			if (*next_count == *next_capacity) {
				*next_capacity = *next_capacity ? *next_capacity * 2 : 64;
				*next = xrealloc(*next, *next_capacity * sizeof(**next));
			}
			(*next)[(*next_count)++] = rel;
		} else {
			free(rel);
		}
	}
}

/* Lists up to OPEN_BATCH folders at once: opendir, readdir until end of file, close. */
static int list_dirs(struct sync_run *run, struct listed_dir *dirs, size_t count, char ***next,
		     size_t *next_count, size_t *next_capacity)
{
	bool reading = true;

	for (size_t i = 0; i < count; i++) {
		char *path = sync_remote_path(run, dirs[i].rel);
		int rc = sftp_send_opendir(run->p, &dirs[i].open, path, run->err);

		free(path);
		if (rc != 0)
			return -1;
	}
	if (sftp_pipeline_wait(run->p, run->err) != 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (sftp_request_ok(&dirs[i].open))
			continue;
		dirs[i].eof = true;
		/* A folder removed on the server since its parent was listed has nothing to sync against. */
		if (dirs[i].open.status != SFTP_STATUS_NO_SUCH_FILE) {
			char *path = sync_remote_path(run, dirs[i].rel);
			int rc = sync_fail_request(run, &dirs[i].open, "opendir", path);

			free(path);
			return rc;
		}
	}

	while (reading) {
		reading = false;
		for (size_t i = 0; i < count; i++) {
			if (dirs[i].eof)
				continue;
			if (sftp_send_readdir(run->p, &dirs[i].read, dirs[i].open.handle, dirs[i].open.handle_len,
					      run->err) != 0)
				return -1;
			reading = true;
		}
		if (!reading)
			break;
		if (sftp_pipeline_wait(run->p, run->err) != 0)
			return -1;
		for (size_t i = 0; i < count; i++) {
			if (dirs[i].eof)
				continue;
			if (dirs[i].read.status == SFTP_STATUS_EOF) {
				dirs[i].eof = true;
			} else if (!sftp_request_ok(&dirs[i].read)) {
				char *path = sync_remote_path(run, dirs[i].rel);
				int rc = sync_fail_request(run, &dirs[i].read, "readdir", path);

				free(path);
				return rc;
			} else {
				add_remote_names(run, &dirs[i], next, next_count, next_capacity);
			}
			sftp_request_reset(&dirs[i].read);
		}
	}

	for (size_t i = 0; i < count; i++) {
		if (!sftp_request_ok(&dirs[i].open))
			continue;
		if (sftp_send_close(run->p, &dirs[i].read, dirs[i].open.handle, dirs[i].open.handle_len,
				    run->err) != 0)
			return -1;
	}
	return sftp_pipeline_wait(run->p, run->err);
}

/* Lists the remote tree breadth first, one depth of folders per round of flights. */
static int list_remote(struct sync_run *run)
{
	char **level = xmalloc(sizeof(*level));
	size_t level_count = 1;
	int rc = 0;

	level[0] = xstrdup("");
	while (level_count > 0 && rc == 0) {
		char **next = NULL;
		size_t next_count = 0, next_capacity = 0;

		for (size_t start = 0; start < level_count && rc == 0; start += OPEN_BATCH) {
			size_t count = level_count - start < OPEN_BATCH ? level_count - start : OPEN_BATCH;
			struct listed_dir *dirs = xcalloc(count, sizeof(*dirs));

			for (size_t i = 0; i < count; i++)
				dirs[i].rel = level[start + i];
			rc = list_dirs(run, dirs, count, &next, &next_count, &next_capacity);
			for (size_t i = 0; i < count; i++) {
				sftp_request_reset(&dirs[i].open);
				sftp_request_reset(&dirs[i].read);
			}
			free(dirs);
		}
		for (size_t i = 0; i < level_count; i++)
			free(level[i]);
		free(level);
		level = next;
		level_count = next_count;
	}
	for (size_t i = 0; i < level_count; i++)
		free(level[i]);
	free(level);
	sync_list_sort(&run->remote);
	return rc;
}

/* ---- step 3: removals ---- */

/* Matches remote entries with local ones and marks what must be removed on the server. */
static void plan_removals(struct sync_run *run)
{
	for (size_t i = 0; i < run->remote.count; i++) {
		struct sync_entry *r = &run->remote.entries[i];
		const char *slash = strrchr(r->path, '/');
		long li;

		/* Sorting puts a folder before its contents, so the parent is decided already. */
		if (slash != NULL) {
			char *parent = xstrndup(r->path, (size_t)(slash - r->path));
			long pi = sync_list_find(&run->remote, parent);

			free(parent);
			if (pi >= 0 && run->remote.entries[pi].remove) {
				r->remove = true;
				continue;
			}
		}

		li = sync_list_find(&run->local, r->path);
		if (li < 0 || run->local.entries[li].type == SYNC_TYPE_OTHER) {
			r->remove = run->opt->delete;
		} else if (run->local.entries[li].type != r->type || r->type == SYNC_TYPE_OTHER) {
			/* The master's entry replaces one of another type, whatever the delete setting. */
			r->remove = true;
		} else {
			r->match = li;
			run->local.entries[li].match = (long)i;
		}
	}
}

static int remove_stale(struct sync_run *run)
{
	struct sftp_request *reqs;
	int rc = 0;

	if (run->stale_count == 0)
		return 0;
	reqs = xcalloc(run->stale_count, sizeof(*reqs));
	for (size_t i = 0; i < run->stale_count && rc == 0; i++)
		rc = sftp_send_remove(run->p, &reqs[i], run->stale[i], run->err);
	if (rc == 0)
		rc = sftp_pipeline_wait(run->p, run->err);
	for (size_t i = 0; i < run->stale_count && rc == 0; i++) {
		if (sftp_request_ok(&reqs[i]))
			run->stats->temporaries_removed++;
		else if (reqs[i].status != SFTP_STATUS_NO_SUCH_FILE)
			rc = sync_fail_request(run, &reqs[i], "removing stale temporary", run->stale[i]);
	}
	reset_requests(reqs, run->stale_count);
	free(reqs);
	return rc;
}

/* Sends one removal flight: non-folders (DEPTH 0) or the folders at DEPTH, then checks the replies. */
static int remove_flight(struct sync_run *run, unsigned depth)
{
	struct sftp_request *reqs = xcalloc(run->remote.count ? run->remote.count : 1, sizeof(*reqs));
	bool *sent = xcalloc(run->remote.count ? run->remote.count : 1, sizeof(*sent));
	int rc = 0;

	for (size_t i = 0; i < run->remote.count && rc == 0; i++) {
		const struct sync_entry *r = &run->remote.entries[i];
		char *path;

		if (!r->remove || (depth == 0) != (r->type != SYNC_TYPE_DIR))
			continue;
		if (depth != 0 && sync_path_depth(r->path) != depth)
			continue;
		path = sync_remote_path(run, r->path);
		rc = depth == 0 ? sftp_send_remove(run->p, &reqs[i], path, run->err)
				: sftp_send_rmdir(run->p, &reqs[i], path, run->err);
		free(path);
		sent[i] = true;
	}
	if (rc == 0)
		rc = sftp_pipeline_wait(run->p, run->err);

	for (size_t i = 0; i < run->remote.count && rc == 0; i++) {
		if (!sent[i])
			continue;
		if (sftp_request_ok(&reqs[i]) || reqs[i].status == SFTP_STATUS_NO_SUCH_FILE) {
			run->stats->deleted++;
			sync_mark_parent_changed(run, run->remote.entries[i].path);
		} else if (depth != 0 && reqs[i].status == SFTP_STATUS_FAILURE &&
			   sync_list_find(&run->local, run->remote.entries[i].path) < 0) {
			/*
			 * OpenSSH reports a folder that is not empty as a plain failure.
			 * Excluded entries, which the listing leaves out, keep it alive,
			 * and that is no reason to fail the whole sync.
			 */
			sync_notice(run, run->remote.entries[i].path,
				    "the server's folder was kept because it still contains excluded entries");
		} else {
			char *path = sync_remote_path(run, run->remote.entries[i].path);

			rc = sync_fail_request(run, &reqs[i], depth == 0 ? "remove" : "rmdir", path);
			free(path);
		}
	}
	reset_requests(reqs, run->remote.count);
	free(reqs);
	free(sent);
	return rc;
}

static int remove_entries(struct sync_run *run)
{
	unsigned max_depth = 0;

	if (remove_stale(run) != 0 || remove_flight(run, 0) != 0)
		return -1;
	for (size_t i = 0; i < run->remote.count; i++) {
		const struct sync_entry *r = &run->remote.entries[i];
		unsigned depth = sync_path_depth(r->path);

		if (r->remove && r->type == SYNC_TYPE_DIR && depth > max_depth)
			max_depth = depth;
	}
	for (unsigned depth = max_depth; depth >= 1; depth--)
		if (remove_flight(run, depth) != 0)
			return -1;
	return 0;
}

/* ---- step 4: folders ---- */

/* Creates missing folders, one flight per depth; existing ones the user cannot write become writable. */
static int make_dirs(struct sync_run *run)
{
	size_t n = run->local.count;
	struct sftp_request *reqs = xcalloc(n ? n : 1, sizeof(*reqs));
	bool *sent = xcalloc(n ? n : 1, sizeof(*sent));
	unsigned max_depth = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned depth = sync_path_depth(run->local.entries[i].path);

		if (run->local.entries[i].type == SYNC_TYPE_DIR && depth > max_depth)
			max_depth = depth;
	}

	/* Folders are created writable for the user; step 8 sets their real mode. */
	if (run->remote_root_created || (run->remote_root_attrs.mode & 0700) != 0700) {
		struct sftp_request req = { 0 };

		run->root_changed = true;
		if (sftp_send_setstat(run->p, &req, run->remote_root, run->local_root_entry.mode | 0700, false, 0,
				      0, run->err) != 0 ||
		    sftp_pipeline_wait(run->p, run->err) != 0) {
			rc = -1;
		} else if (!sftp_request_ok(&req)) {
			rc = sync_fail_request(run, &req, "chmod", run->remote_root);
		}
	}

	for (unsigned depth = 1; depth <= max_depth && rc == 0; depth++) {
		for (size_t i = 0; i < n && rc == 0; i++) {
			const struct sync_entry *l = &run->local.entries[i];
			char *path;

			if (l->type != SYNC_TYPE_DIR || sync_path_depth(l->path) != depth)
				continue;
			path = sync_remote_path(run, l->path);
			if (l->match < 0) {
				rc = sftp_send_mkdir(run->p, &reqs[i], path, l->mode | 0700, run->err);
				sent[i] = true;
			} else if ((run->remote.entries[l->match].mode & 0700) != 0700) {
				rc = sftp_send_setstat(run->p, &reqs[i], path, l->mode | 0700, false, 0, 0, run->err);
				sent[i] = true;
				/* Step 8 must set the real mode again even if it equals the old one. */
				run->local.entries[i].changed_inside = true;
			}
			free(path);
		}
		if (rc == 0)
			rc = sftp_pipeline_wait(run->p, run->err);
		for (size_t i = 0; i < n && rc == 0; i++) {
			struct sync_entry *l = &run->local.entries[i];

			if (!sent[i] || sync_path_depth(l->path) != depth)
				continue;
			if (!sftp_request_ok(&reqs[i])) {
				char *path = sync_remote_path(run, l->path);

				rc = sync_fail_request(run, &reqs[i], l->match < 0 ? "mkdir" : "chmod", path);
				free(path);
			} else if (l->match < 0) {
				run->stats->dirs_created++;
				sync_mark_parent_changed(run, l->path);
			}
		}
	}
	reset_requests(reqs, n);
	free(reqs);
	free(sent);
	return rc;
}

/* ---- step 7: symbolic links ---- */

static int sync_links(struct sync_run *run)
{
	size_t n = run->local.count;
	struct sftp_request *reqs = xcalloc(n ? n : 1, sizeof(*reqs));
	struct sftp_request *renames = xcalloc(n ? n : 1, sizeof(*renames));
	char **temps = xcalloc(n ? n : 1, sizeof(*temps));
	bool posix = sftp_pipeline_has_posix_rename(run->p);
	int rc = 0;

	/* Read the targets of links that exist on both sides. */
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct sync_entry *l = &run->local.entries[i];
		char *path;

		if (l->type != SYNC_TYPE_LINK || l->match < 0)
			continue;
		path = sync_remote_path(run, l->path);
		rc = sftp_send_readlink(run->p, &reqs[i], path, run->err);
		free(path);
	}
	if (rc == 0)
		rc = sftp_pipeline_wait(run->p, run->err);

	/*
	 * A new link is created at its name directly, which is atomic.  A
	 * changed one is created under a temporary name and renamed over the
	 * old one; without posix-rename the old link is removed first.
	 */
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct sync_entry *l = &run->local.entries[i];
		char *path;

		if (l->type != SYNC_TYPE_LINK)
			continue;
		if (l->match >= 0 && sftp_request_ok(&reqs[i]) && strcmp(reqs[i].data, l->link_target) == 0) {
			run->stats->unchanged++;
			sftp_request_reset(&reqs[i]);
			continue;
		}
		sftp_request_reset(&reqs[i]);
		path = sync_remote_path(run, l->path);
		if (l->match < 0) {
			rc = sftp_send_symlink(run->p, &reqs[i], l->link_target, path, run->err);
		} else if (posix) {
			temps[i] = sync_temporary_path(run, l->path);
			rc = sftp_send_symlink(run->p, &reqs[i], l->link_target, temps[i], run->err);
		} else {
			rc = sftp_send_remove(run->p, &renames[i], path, run->err);
			if (rc == 0)
				rc = sftp_pipeline_wait_for(run->p, &renames[i], run->err);
			if (rc == 0)
				rc = sftp_send_symlink(run->p, &reqs[i], l->link_target, path, run->err);
		}
		free(path);
	}
	if (rc == 0)
		rc = sftp_pipeline_wait(run->p, run->err);

	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct sync_entry *l = &run->local.entries[i];
		char *path;

		if (l->type != SYNC_TYPE_LINK || !reqs[i].done)
			continue;
		path = sync_remote_path(run, l->path);
		if (!sftp_request_ok(&reqs[i])) {
			rc = sync_fail_request(run, &reqs[i], "symlink", temps[i] ? temps[i] : path);
		} else if (temps[i] != NULL) {
			rc = sftp_send_rename(run->p, &renames[i], temps[i], path, run->err);
		}
		free(path);
	}
	if (rc == 0)
		rc = sftp_pipeline_wait(run->p, run->err);

	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct sync_entry *l = &run->local.entries[i];

		if (l->type != SYNC_TYPE_LINK || !reqs[i].done)
			continue;
		if (temps[i] != NULL && !sftp_request_ok(&renames[i])) {
			char *path = sync_remote_path(run, l->path);

			rc = sync_fail_request(run, &renames[i], "rename to", path);
			free(path);
			break;
		}
		run->stats->links_created++;
		sync_mark_parent_changed(run, l->path);
	}

	reset_requests(reqs, n);
	reset_requests(renames, n);
	for (size_t i = 0; i < n; i++)
		free(temps[i]);
	free(temps);
	free(reqs);
	free(renames);
	return rc;
}

/* ---- step 8: modes and times ---- */

static int fix_attributes(struct sync_run *run)
{
	size_t n = run->local.count;
	struct sftp_request *reqs = xcalloc(n + 1, sizeof(*reqs));
	const struct sync_entry *root = &run->local_root_entry;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		struct sync_entry *l = &run->local.entries[i];
		const struct sync_entry *r = l->match >= 0 ? &run->remote.entries[l->match] : NULL;
		bool differs = r != NULL && (r->mode != l->mode || r->mtime != l->mtime);
		char *path;

		if (l->type == SYNC_TYPE_FILE && !l->fix_attrs)
			continue;
		if (l->type == SYNC_TYPE_DIR && r != NULL && !differs && !l->changed_inside)
			continue;
		if (l->type != SYNC_TYPE_FILE && l->type != SYNC_TYPE_DIR)
			continue;
		if (l->fix_attrs || (l->type == SYNC_TYPE_DIR && differs))
			run->stats->attrs_updated++;
		path = sync_remote_path(run, l->path);
		rc = sftp_send_setstat(run->p, &reqs[i], path, l->mode, true, l->atime, l->mtime, run->err);
		free(path);
	}
	if (rc == 0 && (run->remote_root_created || run->root_changed || run->remote_root_attrs.mtime != root->mtime ||
			(run->remote_root_attrs.mode & 07777) != root->mode))
		rc = sftp_send_setstat(run->p, &reqs[n], run->remote_root, root->mode, true, root->atime, root->mtime,
				       run->err);
	if (rc == 0)
		rc = sftp_pipeline_wait(run->p, run->err);

	for (size_t i = 0; i <= n && rc == 0; i++) {
		if (reqs[i].done && !sftp_request_ok(&reqs[i])) {
			char *path = i < n ? sync_remote_path(run, run->local.entries[i].path) : xstrdup(run->remote_root);

			rc = sync_fail_request(run, &reqs[i], "set attributes of", path);
			free(path);
		}
	}
	reset_requests(reqs, n + 1);
	free(reqs);
	return rc;
}

/* ---- the whole run ---- */

void sync_options_default(struct sync_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->exclude_vcs = true;
	opt->delete = true;
	opt->progress_interval = 2.0;
}

static void make_temp_id(struct sync_run *run)
{
	unsigned char random[8];

	if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random)) {
		/* The counter and EXCL still keep names apart within a run; the pid separates runs. */
		memset(random, 0, sizeof(random));
		memcpy(random, &(pid_t){ getpid() }, sizeof(pid_t));
	}
	for (size_t i = 0; i < sizeof(random); i++)
		snprintf(run->temp_id + 2 * i, 3, "%02x", random[i]);
}

static void walk_notice(void *arg, const char *rel, const char *reason)
{
	sync_notice(arg, rel, reason);
}

static int run_steps(struct sync_run *run)
{
	char message[sizeof(run->err->message)];

	if (sync_walk_local(run->local_root, &run->filter, walk_notice, run, &run->local,
			    &run->local_root_entry, message, sizeof(message)) != 0) {
		snprintf(run->err->message, sizeof(run->err->message), "%s", message);
		run->err->transient = false;
		run->err->step = SSH_STEP_SFTP;
		run->err->sftp_status = 0;
		return -1;
	}
	for (size_t i = 0; i < run->local.count; i++) {
		const struct sync_entry *l = &run->local.entries[i];

		if (l->type == SYNC_TYPE_FILE)
			run->stats->files_total++;
		else if (l->type == SYNC_TYPE_OTHER)
			sync_notice(run, l->path, "it is a device, FIFO or socket");
	}

	run->p = sftp_pipeline_open(run->conn, run->err);
	if (run->p == NULL)
		return -1;
	if (run->opt->no_posix_rename)
		sftp_pipeline_disable_posix_rename(run->p);

	if (prepare_remote_root(run) != 0 || list_remote(run) != 0)
		return -1;
	plan_removals(run);
	if (remove_entries(run) != 0 || make_dirs(run) != 0 || sync_upload_files(run) != 0 || sync_links(run) != 0 ||
	    fix_attributes(run) != 0)
		return -1;
	return 0;
}

int sync_tree(struct ssh_conn *conn, const char *local_dir, const char *remote_dir,
	      const struct sync_options *opt, struct sync_stats *stats, struct ssh_error *err)
{
	struct sync_run run = {
		.conn = conn,
		.opt = opt,
		.stats = stats,
		.err = err,
		.local_root = local_dir,
		.remote_root = remote_dir,
	};
	int rc;

	memset(stats, 0, sizeof(*stats));
	memset(err, 0, sizeof(*err));
	run.started = ssh_now();
	run.last_progress = run.started;
	make_temp_id(&run);
	sync_filter_init(&run.filter, opt);

	rc = run_steps(&run);

	sftp_pipeline_close(run.p);
	sync_filter_free(&run.filter);
	sync_list_free(&run.local);
	sync_list_free(&run.remote);
	for (size_t i = 0; i < run.stale_count; i++)
		free(run.stale[i]);
	free(run.stale);
	stats->seconds = ssh_now() - run.started;
	return rc;
}
