/*
 * Blocking queries for provisionctl.  Values always travel as parameters
 * ($1 ...) in text format, never pasted into SQL.
 */
#ifndef PROVISIONCTL_DB_H
#define PROVISIONCTL_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

/* SQLSTATE codes that commands turn into their own messages. */
#define SQLSTATE_UNIQUE_VIOLATION "23505"
#define SQLSTATE_UNDEFINED_TABLE "42P01"

/*
 * Connects with CONNINFO and sets the session up for provisionctl: its
 * application_name (unless CONNINFO sets one) and client_min_messages =
 * warning, which hides NOTICEs such as "relation already exists,
 * skipping".  Returns NULL after printing the error.
 */
PGconn *db_connect(const char *conninfo);

/*
 * Connects and sets the session up like db_connect, but prints nothing.
 * CONNECT_TIMEOUT, in seconds, bounds the attempt unless CONNINFO sets
 * connect_timeout itself; 0 keeps libpq's default of no limit.  Returns
 * the connection, or NULL after storing the error in ERROR (size LEN) as
 * db_error_line does.
 */
PGconn *db_connect_quiet(const char *conninfo, int connect_timeout, char *error, size_t len);

/*
 * Stores the error of a failed RES (or of CONN when RES is NULL) in BUF
 * (size LEN) as one line: the primary message of RES, or libpq's message
 * with its line breaks and tabs replaced by spaces.
 */
void db_error_line(PGconn *conn, const PGresult *res, char *buf, size_t len);

/*
 * Runs SQL with NPARAMS text parameters (NULL for SQL NULL).  Returns the
 * result, or NULL after printing the error.  The caller PQclear()s it.
 */
PGresult *db_query(PGconn *conn, const char *sql, int nparams, const char *const *params);

/*
 * Runs SQL like db_query but prints nothing and returns the result even
 * when the query failed, so the caller can read its SQLSTATE.  Returns
 * NULL only when libpq could not allocate a result.
 */
PGresult *db_try(PGconn *conn, const char *sql, int nparams, const char *const *params);

/*
 * Runs SQL, which returns one boolean, and stores it in *VALUE.  Returns
 * 0, or -1 after printing the error.
 */
int db_query_bool(PGconn *conn, const char *sql, int nparams, const char *const *params,
		  bool *value);

/* Returns true if RES contains rows or reports a completed command. */
bool db_ok(const PGresult *res);

/* Returns the SQLSTATE of a failed RES, or "" if it has none. */
const char *db_sqlstate(const PGresult *res);

/*
 * Prints the error of a failed RES (or of CONN when RES is NULL), prefixed
 * by "CONTEXT: ", with its DETAIL and HINT.  An undefined table gets the
 * hint to run provisionctl migrate.
 */
void db_print_error(PGconn *conn, const PGresult *res, const char *context);

/*
 * Runs SQL without parameters and discards its result.  SQL may hold
 * several statements separated by ";".  Returns 0, or -1 after printing
 * the error.
 */
int db_command(PGconn *conn, const char *sql);

/*
 * Runs SQL like db_command but prints nothing.  Returns 0, or -1 after
 * storing the error in ERROR (size LEN) as db_error_line does.
 */
int db_command_quiet(PGconn *conn, const char *sql, char *error, size_t len);

/*
 * An INSERT built from the columns that have values, so that the others
 * get their column defaults from the schema instead of copies in C.
 */
struct db_insert {
	char columns[256];
	char values[256];
	const char *params[8];
	int count;
};

/*
 * Adds COLUMN with the SQL expression EXPRESSION, in which the one "$"
 * stands for the parameter VALUE, such as "$::jsonb".
 */
void db_insert_add(struct db_insert *ins, const char *column, const char *expression,
		   const char *value);

/* Returns the malloc'ed statement "INSERT INTO TABLE (...) VALUES (...) RETURNING RETURNING". */
char *db_insert_sql(const struct db_insert *ins, const char *table, const char *returning);

#endif
