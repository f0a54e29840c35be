#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "orphans.h"
#include "queries.h"

/* Lease durations of silence after which a daemon whose pid was reused counts as gone. */
#define SILENT_LEASES 3

static struct {
	struct pgconn *conn;
	const struct config *cfg;
	struct orphan *found;
	int found_count;
	int next;		/* index in found of the next file to check */
	bool checking;		/* SQL_ORPHAN_DAEMON is in flight */

	struct spill *file;	/* the file being replayed */
	long long seq;
	long batches, log_rows, log_rows_written, statuses, statuses_applied;
} r;

/* Logs what a finished replay wrote, removes the file and moves on to the next. */
static void finish_file(void)
{
	log_notice("replayed spill file %s of daemon %s: %ld batch(es), %ld of %ld log row(s) "
		   "written, %ld of %ld final status(es) applied (the others belonged to deleted "
		   "tasks, or to tasks recovered or claimed again meanwhile); removing the file",
		   spill_path(r.file), spill_daemon_name(r.file), r.batches, r.log_rows_written,
		   r.log_rows, r.statuses_applied, r.statuses);
	spill_close(r.file);
	r.file = NULL;
}

/* Opens the checked file if its daemon is gone. */
static void open_if_gone(const struct orphan *o, bool daemon_gone, long long last_batch)
{
	if (!o->process_gone && !daemon_gone) {
		log_notice("spill file %s belongs to daemon %s, which is still running (pid %d exists "
			   "and the daemon renewed its heartbeat in the last %g s); it is left alone",
			   o->path, o->daemon_name, o->pid, SILENT_LEASES * r.cfg->lease_duration);
		return;
	}
	r.file = spill_open_orphan(o->path, o->daemon_name);
	r.seq = last_batch;
	r.batches = r.log_rows = r.log_rows_written = r.statuses = r.statuses_applied = 0;
}

static void check_done(PGresult *res, void *arg)
{
	const struct orphan *o = &r.found[r.next];

	r.checking = false;
	if (res == NULL) {
		log_warning("checking the daemon of spill file %s: database connection lost; will retry "
			    "after reconnecting", o->path);
		return;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("checking the daemon of spill file %s failed: %s; the file is kept until the "
			  "next start of provisiond", o->path, PQresultErrorMessage(res));
		r.next++;
		return;
	}
	if (PQntuples(res) == 0) {
		/* Another daemon added the row at the same moment, after this statement's snapshot. */
		log_debug("daemon %s of spill file %s was added by another daemon; checking again",
			  o->daemon_name, o->path);
		return;
	}
	r.next++;
	open_if_gone(o, strcmp(PQgetvalue(res, 0, 0), "t") == 0, strtoll(PQgetvalue(res, 0, 1), NULL, 10));
}

/* Sends the check of the next file found. */
static void check_next(void)
{
	const struct orphan *o = &r.found[r.next];
	char pid[16], silence[32];
	const char *params[4] = { o->daemon_name, o->hostname, pid, silence };

	snprintf(pid, sizeof(pid), "%d", o->pid);
	snprintf(silence, sizeof(silence), "%g", SILENT_LEASES * r.cfg->lease_duration);
	if (pgconn_query(r.conn, SQL_ORPHAN_DAEMON, 4, params, check_done, NULL) == 0)
		r.checking = true;
}

void replay_start(struct pgconn *conn, const struct config *cfg, const char *own_name)
{
	r.conn = conn;
	r.cfg = cfg;
	r.found_count = orphans_find(cfg->state_dir, own_name, &r.found);
	r.next = 0;
	if (r.found_count > 0)
		log_notice("found %d spill file(s) of other daemons of this host in %s; checking whether "
			   "their daemons are gone", r.found_count, cfg->state_dir);
}

struct spill *replay_file(void)
{
	if (r.file != NULL && !spill_pending(r.file))
		finish_file();
	if (r.file == NULL && !r.checking && r.next < r.found_count)
		check_next();
	return r.file;
}

long long replay_next_seq(void)
{
	return ++r.seq;
}

void replay_batch_written(const struct batch *b, long log_rows, long statuses)
{
	r.batches++;
	r.log_rows += b->log_task.count;
	r.log_rows_written += log_rows;
	r.statuses += b->out_id.count;
	r.statuses_applied += statuses;
}

void replay_abandon(void)
{
	log_error("stopped replaying spill file %s after %ld batch(es); the file is kept",
		  spill_path(r.file), r.batches);
	spill_close(r.file);
	r.file = NULL;
}

void replay_free(void)
{
	if (r.file != NULL && !spill_pending(r.file))
		finish_file();
	spill_close(r.file);
	orphans_free(r.found, r.found_count);
	memset(&r, 0, sizeof(r));
}
