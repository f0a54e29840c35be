#include "reconnect.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "db.h"

#define PAUSE_FIRST_MS 500
#define PAUSE_MAX_MS 5000
#define ATTEMPT_TIMEOUT_MAX 10	/* seconds of libpq's connect_timeout per attempt */

static long long now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * 1000LL + now.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
	struct timespec pause = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
		;
}

/*
 * Returns the connect_timeout of an attempt with REMAINING_MS left before
 * the deadline: the time left in whole seconds, from 2 (libpq reads 1 as
 * 2) to ATTEMPT_TIMEOUT_MAX.
 */
static int attempt_timeout(long long remaining_ms)
{
	long long seconds = (remaining_ms + 999) / 1000;

	if (seconds < 2)
		return 2;
	if (seconds > ATTEMPT_TIMEOUT_MAX)
		return ATTEMPT_TIMEOUT_MAX;
	return (int)seconds;
}

/* Connects once and runs SETUP_SQL.  Returns the connection, or NULL with the error in ERROR. */
static PGconn *connect_once(const char *conninfo, int connect_timeout, const char *setup_sql,
			    char *error, size_t len)
{
	PGconn *conn = db_connect_quiet(conninfo, connect_timeout, error, len);

	if (conn != NULL && db_command_quiet(conn, setup_sql, error, len) != 0) {
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

int ctl_reconnect(struct ctl *ctl, int timeout, const char *setup_sql, char *error, size_t len)
{
	long long deadline = now_ms() + timeout * 1000LL;
	long long pause = PAUSE_FIRST_MS;

	PQfinish(ctl->conn);
	ctl->conn = NULL;
	snprintf(error, len, "the timeout ended before the first attempt");

	for (long long remaining; (remaining = deadline - now_ms()) > 0;) {
		sleep_ms(pause < remaining ? pause : remaining);

		ctl->conn = connect_once(ctl->conninfo, attempt_timeout(deadline - now_ms()),
					 setup_sql, error, len);
		if (ctl->conn != NULL)
			return 0;
		pause = pause * 2 > PAUSE_MAX_MS ? PAUSE_MAX_MS : pause * 2;
	}
	return -1;
}
