/*
 * Replays the spill files that dead daemons of this host left in
 * state_dir, so that log rows and statuses spilled during a database
 * outage are not lost when their daemon is killed before it could write
 * them.  Files go one at a time, in the order of their paths, and each
 * batch is written under the dead daemon's name.  SQL_WRITE_BATCH then
 * inserts its log rows with their original times.  It applies a final
 * status only to a task still running under that name, not to one that
 * was recovered or claimed again meanwhile.
 *
 * A file is replayed if its daemon's process is gone (kill(pid, 0) fails
 * with ESRCH), or if the pid now belongs to another process and the
 * daemon's row in provision.daemons is missing, stopped, or silent for
 * three lease durations.  The file's flock keeps a running daemon's file,
 * and a file another starting daemon replays, out of reach.
 */
#ifndef PROVISIOND_REPLAY_H
#define PROVISIOND_REPLAY_H

#include "batch.h"
#include "config.h"
#include "pgconn.h"
#include "spill.h"

/* Looks for spill files of other daemons in CFG's state_dir; CONN must be ready. */
void replay_start(struct pgconn *conn, const struct config *cfg, const char *own_name);

/*
 * Returns the file whose batches go to the database next, or NULL while
 * none is open.  Checks the next file found, and removes and reports a
 * file whose batches are all written, so call it only while no batch of
 * the current file is in flight.
 */
struct spill *replay_file(void);

/* Returns the sequence number (provision.daemons.last_batch) for the next batch of replay_file(). */
long long replay_next_seq(void);

/* Counts a batch B of replay_file() that committed, with the log rows and statuses the database took. */
void replay_batch_written(const struct batch *b, long log_rows, long statuses);

/* Gives up on the current file, which cannot be read; spill_peek logged why, and the file is kept. */
void replay_abandon(void);

/* Closes the current file, keeping it if batches remain, and frees the list of files not yet checked. */
void replay_free(void);

#endif
