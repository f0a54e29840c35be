/*
 * provisionctl migrate: applies the SQL migrations compiled into the
 * program (lib/migrations.h) that provision.schema_migrations does not
 * list yet, each in its own transaction.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "db.h"
#include "migrations.h"
#include "output.h"

/*
 * Key of the session-level advisory lock that serializes concurrent
 * migrates: the bytes of "prov" read as a big-endian integer.  Any other
 * program that changes the schema must take the same lock.
 */
#define MIGRATE_LOCK_KEY "1886547830"

static const char usage[] =
	"Usage: provisionctl migrate [--status]\n"
	"\n"
	"Creates schema provision and table provision.schema_migrations if they are\n"
	"missing, then applies each migration compiled into provisionctl that the\n"
	"table does not list yet, in version order, each in its own transaction.\n"
	"An advisory lock makes a second migrate wait until the first has finished.\n"
	"\n"
	"Options:\n"
	"  -s, --status   list applied and pending migrations and change nothing\n";

static const char bootstrap_sql[] =
	"CREATE SCHEMA IF NOT EXISTS provision;"
	"CREATE TABLE IF NOT EXISTS provision.schema_migrations ("
	"  version integer PRIMARY KEY,"
	"  name text NOT NULL,"
	"  applied_at timestamptz NOT NULL DEFAULT now())";

/* Takes the migration lock, telling the user when another migrate holds it. */
static int lock_migrations(PGconn *conn)
{
	const char *const params[] = { MIGRATE_LOCK_KEY };
	PGresult *res;
	bool locked;

	if (db_query_bool(conn, "SELECT pg_try_advisory_lock($1::bigint)", 1, params, &locked) != 0)
		return -1;
	if (locked)
		return 0;

	fprintf(stderr, "provisionctl: another migrate is running; waiting for it to finish\n");
	res = db_query(conn, "SELECT pg_advisory_lock($1::bigint)", 1, params);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

static void unlock_migrations(PGconn *conn)
{
	const char *const params[] = { MIGRATE_LOCK_KEY };

	PQclear(db_query(conn, "SELECT pg_advisory_unlock($1::bigint)", 1, params));
}

/* Returns the applied versions, oldest first, or NULL after printing the error. */
static PGresult *read_applied(PGconn *conn)
{
	return db_query(conn, "SELECT version FROM provision.schema_migrations ORDER BY version",
			0, NULL);
}

static bool is_applied(const PGresult *applied, int version)
{
	for (int row = 0; row < PQntuples(applied); row++)
		if (atoi(PQgetvalue(applied, row, 0)) == version)
			return true;
	return false;
}

/* Returns the highest applied version, 0 when none is applied. */
static int current_version(const PGresult *applied)
{
	int rows = PQntuples(applied);

	return rows > 0 ? atoi(PQgetvalue(applied, rows - 1, 0)) : 0;
}

/* Warns about applied versions that this program does not contain. */
static void warn_unknown(const PGresult *applied)
{
	for (int row = 0; row < PQntuples(applied); row++) {
		int version = atoi(PQgetvalue(applied, row, 0));
		bool known = false;

		for (int i = 0; i < migrations_count; i++)
			if (migrations[i].version == version)
				known = true;
		if (!known)
			ctl_error("warning: the database has migration %d, which this provisionctl "
				  "does not contain; use a provisionctl as new as the schema", version);
	}
}

/* Applies M and records it in one transaction.  Returns 0, or -1 after printing why. */
static int apply_migration(PGconn *conn, const struct migration *m)
{
	char version[16], context[128];
	const char *params[2] = { version, m->name };
	PGresult *res = NULL;
	int status = -1;

	snprintf(version, sizeof(version), "%d", m->version);
	snprintf(context, sizeof(context), "migration %03d_%s failed", m->version, m->name);
	if (db_command(conn, "BEGIN") != 0)
		return -1;

	/* PQexec, because a migration file contains several statements. */
	res = PQexec(conn, m->sql);
	if (!db_ok(res)) {
		db_print_error(conn, res, context);
		goto out;
	}
	PQclear(res);

	res = db_query(conn, "INSERT INTO provision.schema_migrations (version, name) "
		       "VALUES ($1::integer, $2)", 2, params);
	if (res == NULL)
		goto out;
	status = db_command(conn, "COMMIT");

out:
	PQclear(res);
	if (status != 0)
		PQclear(PQexec(conn, "ROLLBACK"));
	return status;
}

/* Applies every pending migration; the migration lock must be held. */
static int apply_pending(struct ctl *ctl, json_t *applied_json, int *version)
{
	PGresult *applied;
	int status = CTL_EXIT_DB;

	if (db_command(ctl->conn, bootstrap_sql) != 0)
		return CTL_EXIT_DB;
	applied = read_applied(ctl->conn);
	if (applied == NULL)
		return CTL_EXIT_DB;
	warn_unknown(applied);
	*version = current_version(applied);

	for (int i = 0; i < migrations_count; i++) {
		const struct migration *m = &migrations[i];

		if (is_applied(applied, m->version))
			continue;
		if (apply_migration(ctl->conn, m) != 0)
			goto out;
		if (m->version > *version)
			*version = m->version;

		json_array_append_new(applied_json, json_pack("{s:i, s:s}", "version", m->version,
							      "name", m->name));
		if (!ctl->json)
			printf("applied migration %03d_%s\n", m->version, m->name);
	}
	status = CTL_EXIT_OK;

out:
	PQclear(applied);
	return status;
}

static int run_migrate(struct ctl *ctl)
{
	json_t *applied = json_array();
	int status, version = 0;

	if (lock_migrations(ctl->conn) != 0) {
		json_decref(applied);
		return CTL_EXIT_DB;
	}
	status = apply_pending(ctl, applied, &version);
	unlock_migrations(ctl->conn);
	if (status != CTL_EXIT_OK) {
		json_decref(applied);
		return status;
	}

	if (ctl->json)
		print_json(json_pack("{s:O, s:i}", "applied", applied, "version", version));
	else if (json_array_size(applied) == 0)
		printf("schema is up to date (version %d)\n", version);
	else
		printf("schema is now at version %d\n", version);
	json_decref(applied);
	return CTL_EXIT_OK;
}

/* Returns the embedded migrations as a JSON array of {version, name}, for SQL to join. */
static char *embedded_json(void)
{
	json_t *list = json_array();
	char *text;

	for (int i = 0; i < migrations_count; i++)
		json_array_append_new(list, json_pack("{s:i, s:s}", "version", migrations[i].version,
						      "name", migrations[i].name));
	text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	return text;
}

/* Lists embedded and applied migrations; works before the first migrate too. */
static int run_status(struct ctl *ctl)
{
	static const char sql_tracked[] =
		"SELECT coalesce(e.version, m.version) AS version,"
		" coalesce(e.name, m.name) AS name,"
		" CASE WHEN m.version IS NULL THEN 'pending'"
		"      WHEN e.version IS NULL THEN 'unknown' ELSE 'applied' END AS status,"
		" date_trunc('second', m.applied_at) AS applied_at"
		" FROM jsonb_to_recordset($1::jsonb) AS e(version integer, name text)"
		" FULL JOIN provision.schema_migrations m ON m.version = e.version"
		" ORDER BY 1";
	static const char sql_untracked[] =
		"SELECT version, name, 'pending' AS status, NULL::timestamptz AS applied_at"
		" FROM jsonb_to_recordset($1::jsonb) AS e(version integer, name text)"
		" ORDER BY 1";
	char *list = embedded_json();
	const char *const params[] = { list };
	PGresult *res;
	int version = 0, pending = 0;
	bool tracked;

	if (db_query_bool(ctl->conn, "SELECT to_regclass('provision.schema_migrations') IS NOT NULL",
			  0, NULL, &tracked) != 0) {
		free(list);
		return CTL_EXIT_DB;
	}

	res = db_query(ctl->conn, tracked ? sql_tracked : sql_untracked, 1, params);
	free(list);
	if (res == NULL)
		return CTL_EXIT_DB;

	for (int row = 0; row < PQntuples(res); row++) {
		if (PQgetvalue(res, row, 2)[0] == 'p')
			pending++;
		else if (atoi(PQgetvalue(res, row, 0)) > version)
			version = atoi(PQgetvalue(res, row, 0));
	}

	if (ctl->json) {
		print_json(json_pack("{s:i, s:i, s:o}", "version", version, "pending", pending,
				     "migrations", result_to_json(res)));
	} else {
		print_table(res, stdout);
		printf("schema is at version %d; %d migration%s pending\n", version, pending,
		       pending == 1 ? "" : "s");
	}
	PQclear(res);
	return CTL_EXIT_OK;
}

static int run(struct ctl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
		{ "status", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	bool status_only = false;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "s", options, NULL)) != -1) {
		if (opt != 's')
			return ctl_option_error("migrate");
		status_only = true;
	}
	if (optind < argc)
		return ctl_usage_error("migrate", "unexpected argument \"%s\"", argv[optind]);

	if ((status = ctl_connect(ctl)) != 0)
		return status;
	return status_only ? run_status(ctl) : run_migrate(ctl);
}

const struct ctl_command cmd_migrate = {
	.name = "migrate",
	.summary = "create or upgrade the schema; --status lists migrations",
	.run = run,
	.usage = usage,
};
