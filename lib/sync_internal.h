/*
 * Definitions shared by the files of the sync engine (sync.c for the run
 * and its steps, sync_upload.c for comparing and uploading files), not
 * part of its contract with callers.
 */
#ifndef PROVISION_SYNC_INTERNAL_H
#define PROVISION_SYNC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "sftp_pipeline.h"
#include "sync.h"
#include "sync_walk.h"

/* Folders listed at once, and files opened at once in checksum mode. */
#define OPEN_BATCH 64

/* The state of one sync_tree call. */
struct sync_run {
	struct ssh_conn *conn;
	struct sftp_pipeline *p;
	const struct sync_options *opt;
	struct sync_stats *stats;
	struct ssh_error *err;
	const char *local_root;
	const char *remote_root;

	struct sync_filter filter;
	struct sync_list local, remote;
	struct sync_entry local_root_entry;
	struct sftp_attrs remote_root_attrs;
	bool remote_root_created;
	bool root_changed;

	char **stale;		/* remote paths of temporaries left by an interrupted sync */
	size_t stale_count, stale_capacity;

	char temp_id[17];	/* random hex that makes this run's temporary names unique */
	unsigned long temp_counter;

	double started, last_progress;
};

/* Returns the server path of relative path REL, newly allocated. */
char *sync_remote_path(const struct sync_run *run, const char *rel);

/* Returns the local path of relative path REL, newly allocated. */
char *sync_local_path(const struct sync_run *run, const char *rel);

/* Returns a new temporary path in the remote folder of relative path REL. */
char *sync_temporary_path(struct sync_run *run, const char *rel);

/* Fills the error for a request REQ that the server rejected.  Returns -1. */
int sync_fail_request(struct sync_run *run, const struct sftp_request *req, const char *op, const char *path);

/* Fills the error for a failed local operation on PATH.  Returns -1. */
int sync_fail_local(struct sync_run *run, const char *op, const char *path, int errnum);

/* Records that an entry was created, replaced or removed in the folder that contains REL. */
void sync_mark_parent_changed(struct sync_run *run, const char *rel);

/* Calls the progress callback if progress_interval seconds have passed since the last call. */
void sync_report_progress(struct sync_run *run);

/* Counts a skipped local entry and passes it to the notice callback. */
void sync_notice(struct sync_run *run, const char *rel, const char *reason);

/*
 * Steps 5 and 6: decides which files differ (comparing contents in
 * checksum mode) and uploads them.  Returns 0 or -1 with run->err filled.
 */
int sync_upload_files(struct sync_run *run);

#endif
