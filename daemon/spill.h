/*
 * The spill file: batches of log rows and statuses that the daemon could
 * not write while the database was unreachable and that no longer fit in
 * memory (log_buffer_max).  They are appended to
 * STATE_DIR/spill-<daemon name>.dat, flushed to disk, and read back in
 * order once the database is reachable again.
 * NOTE: a daemon name includes its pid, so a spill file left by a daemon
 * that was killed during an outage is not replayed by the next daemon.  Its
 * rows stay in the file, and their tasks are recovered through their leases.  The read position is kept
 * beside it in a .offset file, so a daemon that restarts under the same
 * name does not write a batch twice.
 */
#ifndef PROVISIOND_SPILL_H
#define PROVISIOND_SPILL_H

#include <stdbool.h>
#include <stddef.h>

#include "batch.h"

/* Names the spill file of DAEMON_NAME in STATE_DIR; nothing is created until the first spill. */
void spill_init(const char *state_dir, const char *daemon_name);

/*
 * Appends B to the spill file, creating the folder and the file if needed,
 * and empties B.  Returns 0, or -1 after logging why (B is kept, and the
 * caller falls back to pausing the workers' output).
 */
int spill_write(struct batch *b);

/* Returns true if spilled batches wait to be written to the database. */
bool spill_pending(void);

/* Reads the oldest spilled batch into OUT (which must be empty).  Returns 0, or -1 on a read error. */
int spill_peek(struct batch *out);

/* Drops the batch spill_peek returned, after the database took it. */
void spill_commit(void);

/* Returns the number of batches written to the spill file since start. */
long spill_count(void);

/* Returns the path of the spill file. */
const char *spill_path(void);

/* Closes the spill file, removing it when everything in it reached the database. */
void spill_close(void);

#endif
