#include "db.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "xalloc.h"

PGconn *db_connect_quiet(const char *conninfo, int connect_timeout, char *error, size_t len)
{
	/*
	 * expand_dbname = 1 makes libpq read "dbname" as a whole connection
	 * string.  Keywords before it are defaults that CONNINFO may override,
	 * and keywords after it override CONNINFO.
	 */
	char timeout_text[16];
	const char *const keywords[] = { "connect_timeout", "dbname", "fallback_application_name",
					 NULL };
	const char *const values[] = { timeout_text, conninfo, "provisionctl", NULL };
	PGconn *conn;

	snprintf(timeout_text, sizeof(timeout_text), "%d", connect_timeout);
	conn = PQconnectdbParams(connect_timeout > 0 ? keywords : keywords + 1,
				 connect_timeout > 0 ? values : values + 1, 1);
	if (conn == NULL) {
		snprintf(error, len, "out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		db_error_line(conn, NULL, error, len);
		PQfinish(conn);
		return NULL;
	}

	if (db_command_quiet(conn, "SET client_min_messages = warning", error, len) != 0) {
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

PGconn *db_connect(const char *conninfo)
{
	char error[1024];
	PGconn *conn = db_connect_quiet(conninfo, 0, error, sizeof(error));

	if (conn == NULL)
		ctl_error("cannot connect to the database: %s", error);
	return conn;
}

void db_error_line(PGconn *conn, const PGresult *res, char *buf, size_t len)
{
	const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *message = primary != NULL ? primary : PQerrorMessage(conn);
	size_t out = 0;

	/* libpq's connection messages span lines, such as a hint on a tab-indented second line. */
	for (const char *p = message; *p != '\0' && out + 1 < len; p++) {
		bool space = *p == '\n' || *p == '\t' || *p == ' ';

		if (space && (out == 0 || buf[out - 1] == ' '))
			continue;
		buf[out++] = space ? ' ' : *p;
	}
	/* A final period would clash with the punctuation that follows the message. */
	while (out > 0 && (buf[out - 1] == ' ' || buf[out - 1] == '.'))
		out--;
	if (len > 0)
		buf[out] = '\0';
	if (out == 0)
		snprintf(buf, len, "no error message from libpq");
}

PGresult *db_try(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
}

bool db_ok(const PGresult *res)
{
	ExecStatusType status = PQresultStatus(res);

	return res != NULL && (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK);
}

const char *db_sqlstate(const PGresult *res)
{
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	return state != NULL ? state : "";
}

/* Strips the trailing newline that libpq leaves on connection-level messages. */
static void print_trimmed(const char *prefix, const char *context, const char *message)
{
	size_t len = strlen(message);

	while (len > 0 && message[len - 1] == '\n')
		len--;
	ctl_error("%s%s%.*s", context, prefix, (int)len, message);
}

void db_print_error(PGconn *conn, const PGresult *res, const char *context)
{
	const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail, *hint;

	if (context == NULL)
		context = "database query failed";
	if (primary == NULL) {
		print_trimmed(": ", context, PQerrorMessage(conn));
		return;
	}

	ctl_error("%s: %s", context, primary);
	detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	if (detail != NULL)
		fprintf(stderr, "DETAIL: %s\n", detail);
	if (hint != NULL)
		fprintf(stderr, "HINT: %s\n", hint);
	else if (strcmp(db_sqlstate(res), SQLSTATE_UNDEFINED_TABLE) == 0)
		fputs("HINT: the schema is missing or older than provisionctl; run provisionctl "
		      "migrate\n", stderr);
}

PGresult *db_query(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = db_try(conn, sql, nparams, params);

	if (db_ok(res))
		return res;

	db_print_error(conn, res, NULL);
	PQclear(res);
	return NULL;
}

int db_query_bool(PGconn *conn, const char *sql, int nparams, const char *const *params,
		  bool *value)
{
	PGresult *res = db_query(conn, sql, nparams, params);

	if (res == NULL)
		return -1;
	*value = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

int db_command_quiet(PGconn *conn, const char *sql, char *error, size_t len)
{
	PGresult *res = PQexec(conn, sql);
	int status = 0;

	if (!db_ok(res)) {
		db_error_line(conn, res, error, len);
		status = -1;
	}
	PQclear(res);
	return status;
}

int db_command(PGconn *conn, const char *sql)
{
	/* PQexec, unlike PQexecParams, accepts several statements separated by ";". */
	PGresult *res = PQexec(conn, sql);
	int status = 0;

	if (!db_ok(res)) {
		db_print_error(conn, res, NULL);
		status = -1;
	}
	PQclear(res);
	return status;
}

void db_insert_add(struct db_insert *ins, const char *column, const char *expression,
		   const char *value)
{
	const char *dollar = strchr(expression, '$');
	size_t len;

	assert(dollar != NULL);
	assert(ins->count < (int)(sizeof(ins->params) / sizeof(ins->params[0])));
	ins->params[ins->count++] = value;

	len = strlen(ins->columns);
	snprintf(ins->columns + len, sizeof(ins->columns) - len, "%s%s",
		 ins->count > 1 ? ", " : "", column);
	len = strlen(ins->values);
	snprintf(ins->values + len, sizeof(ins->values) - len, "%s%.*s$%d%s",
		 ins->count > 1 ? ", " : "", (int)(dollar - expression), expression,
		 ins->count, dollar + 1);
}

char *db_insert_sql(const struct db_insert *ins, const char *table, const char *returning)
{
	return xasprintf("INSERT INTO %s (%s) VALUES (%s) RETURNING %s", table, ins->columns,
			 ins->values, returning);
}
