/*
 * Spill files: batches of log rows and statuses that a daemon could not
 * write while the database was unreachable and that no longer fit in
 * memory (log_buffer_max).  A daemon appends them to
 * STATE_DIR/spill-<daemon name>.dat, flushes them to disk, and reads them
 * back in order once the database is reachable again.  The read position
 * is kept beside the file in a .offset file, so that a daemon reading it
 * later does not write a batch twice.  A daemon holds an exclusive flock on
 * every spill file it has open, its own and one it replays for a dead
 * daemon (replay.h), so that no two daemons read one file.
 */
#ifndef PROVISIOND_SPILL_H
#define PROVISIOND_SPILL_H

#include <stdbool.h>
#include <stddef.h>

#include "batch.h"

struct spill;

/* Names the spill file of DAEMON_NAME in STATE_DIR; nothing is created until the first spill_write. */
struct spill *spill_new(const char *state_dir, const char *daemon_name);

/*
 * Opens PATH, the spill file of the dead daemon DAEMON_NAME, to replay it
 * from its saved read position.  Returns NULL, after logging why, if the
 * file cannot be opened, another daemon holds its lock, or another daemon
 * replayed and removed it meanwhile.
 */
struct spill *spill_open_orphan(const char *path, const char *daemon_name);

/*
 * Appends B to the spill file, creating the folder and the file if needed,
 * and empties B.  Returns 0, or -1 after logging why (B is kept, and the
 * caller falls back to pausing the workers' output).
 */
int spill_write(struct spill *s, struct batch *b);

/* Returns true if batches in the file wait to be written to the database. */
bool spill_pending(const struct spill *s);

/*
 * Reads the oldest batch not yet written into OUT (which must be empty).
 * Returns 0, or -1 after logging that the file is damaged or unreadable.
 */
int spill_peek(struct spill *s, struct batch *out);

/* Drops the batch spill_peek returned, after the database took it. */
void spill_commit(struct spill *s);

/* Returns the number of batches written to the file by spill_write. */
long spill_count(const struct spill *s);

const char *spill_path(const struct spill *s);

/* Returns the name of the daemon that wrote the file. */
const char *spill_daemon_name(const struct spill *s);

/* Closes and frees S, removing the file when everything in it reached the database. */
void spill_close(struct spill *s);

#endif
