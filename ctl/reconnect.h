/*
 * Reconnecting to the database after the connection was lost, for the
 * commands that follow a task until it ends.
 *
 * The first attempt comes after a pause of 0.5 s, and the pause doubles
 * after each failed attempt up to 5 s.  No signal handler is installed,
 * so Ctrl-C ends the program at once, also during a pause or an attempt.
 */
#ifndef PROVISIONCTL_RECONNECT_H
#define PROVISIONCTL_RECONNECT_H

#include <stddef.h>

#include "ctl.h"

/*
 * Closes the lost ctl->conn and connects to ctl->conninfo again until a
 * connection on which SETUP_SQL (statements separated by ";") succeeds,
 * or until TIMEOUT seconds have passed since the call.  A connection that
 * rejects SETUP_SQL, as a standby rejects LISTEN, counts as a failed
 * attempt.  Each attempt gets the time left, at most 10 s, as its
 * connect_timeout, but at least libpq's minimum of 2 s for each address
 * it tries, so the last attempt may end after the deadline.  Prints
 * nothing.
 * Returns 0 with the new ctl->conn, or -1 with ctl->conn NULL and the
 * error of the last attempt in ERROR (size LEN).
 */
int ctl_reconnect(struct ctl *ctl, int timeout, const char *setup_sql, char *error, size_t len);

#endif
