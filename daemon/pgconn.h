/*
 * One asynchronous PostgreSQL connection driven by the libev loop.
 *
 * The connection reconnects on its own after any failure, with a capped
 * exponential backoff, and runs SETUP_SQL (for example LISTEN commands)
 * after every successful connect before it reports itself ready.  Queries
 * are queued and sent one at a time; each gets its result through a
 * callback.  Nothing here ever blocks the loop.
 */
#ifndef PROVISIOND_PGCONN_H
#define PROVISIOND_PGCONN_H

#include <stdbool.h>

#include <ev.h>
#include <libpq-fe.h>

struct pgconn;

/*
 * Receives the result of a query.  RES is NULL when the connection was lost
 * before the query completed (it may or may not have been executed).  RES
 * belongs to the connection and is cleared after the callback returns.
 */
typedef void (*pgconn_result_cb)(PGresult *res, void *arg);

struct pgconn_events {
	void (*ready)(void *arg);	/* connected and SETUP_SQL done */
	void (*lost)(void *arg);	/* the connection broke; a reconnect is scheduled */
	void (*notify)(const char *channel, const char *payload, void *arg);
	void *arg;
};

/* Creates an idle connection object; pgconn_start() begins connecting. The strings are copied. */
struct pgconn *pgconn_new(struct ev_loop *loop, const char *name, const char *conninfo,
			  const char *setup_sql, const struct pgconn_events *events);

void pgconn_start(struct pgconn *conn);

/* Closes the connection and frees it; queued queries get a NULL result first. */
void pgconn_free(struct pgconn *conn);

/* Replaces the connection string used by the next reconnect. */
void pgconn_set_conninfo(struct pgconn *conn, const char *conninfo);

/* Drops the connection and reconnects at once, for example after a failed health check. */
void pgconn_reset(struct pgconn *conn, const char *reason);

bool pgconn_ready(const struct pgconn *conn);

/* Returns the number of queries queued or in flight. */
int pgconn_pending(const struct pgconn *conn);

/*
 * Queues a parameterized query (text parameters, text results).  SQL must
 * stay valid until the callback runs (a string literal); the parameters are
 * copied.  The query runs as a prepared statement if the very same SQL
 * pointer was prepared on this connection with pgconn_prepare().  Returns
 * 0, or -1 if the connection is not ready, in which case the callback is
 * never called.
 */
int pgconn_query(struct pgconn *conn, const char *sql, int nparams, const char *const *params,
		 pgconn_result_cb cb, void *arg);

/*
 * Queues the preparation of SQL as the statement NAME on the current
 * connection, so that PostgreSQL parses and plans it once instead of on
 * every pgconn_query() with SQL.  A reconnect drops it, so call this
 * again after each ready event.  If the server rejects it, queries with
 * SQL run unprepared and the error is logged.  SQL must stay valid for
 * the life of CONN (a string literal); NAME is copied.  Returns 0, or -1
 * if the connection is not ready.
 */
int pgconn_prepare(struct pgconn *conn, const char *name, const char *sql);

#endif
