/*
 * provisionctl servers: dispatches to its subcommands, and lists, adds
 * and removes servers.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "db.h"
#include "output.h"
#include "parse.h"
#include "queue.h"
#include "servers.h"
#include "xalloc.h"

static const char usage[] =
	"Usage: provisionctl servers list\n"
	"       provisionctl servers add NAME --hostname HOST [--port N] [--user USER]\n"
	"                                [--base-dir DIR]\n"
	"       provisionctl servers remove NAME [--force]\n"
	"       provisionctl servers set-service NAME web|db TYPE [--port N]\n"
	"                                [--setting KEY=VALUE ...]\n"
	"       provisionctl servers remove-service NAME web|db\n"
	"       provisionctl servers set-db-credentials NAME --user USER\n"
	"\n"
	"Manages the servers that tasks run on, their services and the admin\n"
	"credentials of their database server.\n"
	"\n"
	"  list                 list servers with their services and whether database\n"
	"                       credentials are set (never the password)\n"
	"  add                  add server NAME (letters, digits, '.', '-', '_', not\n"
	"                       starting with '-') reached over SSH at HOST, a DNS\n"
	"                       name or IP address.  --port is the SSH port (default\n"
	"                       22), --user the SSH user (default aegir), --base-dir\n"
	"                       the absolute Aegir base directory (default /var/aegir)\n"
	"  remove               remove a server with its services and credentials.\n"
	"                       A server with queued or running tasks is kept unless\n"
	"                       --force is given; its tasks then lose their server\n"
	"  set-service          set the web service (TYPE apache or nginx) or the db\n"
	"                       service (TYPE mysql) of a server, replacing its port\n"
	"                       and settings.  --setting KEY=VALUE reads VALUE as JSON\n"
	"                       when it is valid JSON, and as a string otherwise\n"
	"  remove-service       remove the web or db service of a server\n"
	"  set-db-credentials   set the database admin user and password of a server.\n"
	"                       The password is read from standard input, or from the\n"
	"                       terminal without echo; it is never taken from argv\n";

/*
 * Columns of servers list.  Services are text in tables and an array in
 * JSON, and db_credentials depends on the role's privileges.
 */
static const char list_sql[] =
	"SELECT s.name, s.hostname, s.ssh_port AS port, s.ssh_user AS \"user\", s.base_dir,"
	" %s AS services, %s AS db_credentials,"
	" date_trunc('second', s.verified_at) AS verified_at"
	" FROM provision.servers s ORDER BY s.name";

static const char services_text[] =
	"coalesce((SELECT string_agg(v.kind || ':' || v.type || coalesce(':' || v.port, ''), ' '"
	"          ORDER BY v.kind) FROM provision.services v WHERE v.server_id = s.id), '-')";

static const char services_json[] =
	"(SELECT coalesce(jsonb_agg(jsonb_build_object('kind', v.kind, 'type', v.type,"
	"         'port', v.port, 'settings', v.settings) ORDER BY v.kind), '[]')"
	"  FROM provision.services v WHERE v.server_id = s.id)";

static const char credentials_exist[] =
	"EXISTS (SELECT 1 FROM provision.db_credentials c WHERE c.server_id = s.id)";

/*
 * Returns the db_credentials column: whether credentials exist, or NULL
 * for a role that may not read provision.db_credentials.server_id, for
 * which the EXISTS would fail the whole query.  Returns NULL on error.
 */
static const char *credentials_column(PGconn *conn)
{
	bool allowed;

	if (db_query_bool(conn, "SELECT has_column_privilege('provision.db_credentials',"
			  " 'server_id', 'SELECT')", 0, NULL, &allowed) != 0)
		return NULL;
	return allowed ? credentials_exist : "NULL::boolean";
}

int servers_list(struct ctl *ctl, int argc, char **argv)
{
	const char *credentials;
	PGresult *res;
	char *sql;
	int status;

	if ((status = parse_no_options("servers", argc, argv)) != 0)
		return status;
	if (optind < argc)
		return ctl_usage_error("servers", "unexpected argument \"%s\"", argv[optind]);
	if ((status = ctl_connect(ctl)) != 0)
		return status;

	if ((credentials = credentials_column(ctl->conn)) == NULL)
		return CTL_EXIT_DB;
	sql = xasprintf(list_sql, ctl->json ? services_json : services_text, credentials);
	res = db_query(ctl->conn, sql, 0, NULL);
	free(sql);
	if (res == NULL)
		return CTL_EXIT_DB;

	if (ctl->json)
		print_json(result_to_json(res));
	else
		print_table(res, stdout);
	PQclear(res);
	return CTL_EXIT_OK;
}

/* The values of servers add, as text; NULL means the column default. */
struct server_request {
	const char *name;
	const char *hostname;
	const char *port;
	const char *user;
	const char *base_dir;
};

static int parse_add_options(int argc, char **argv, struct server_request *req)
{
	static const struct option options[] = {
		{ "hostname", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "base-dir", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	long long port;
	int opt, status = 0;

	while (status == 0 && (opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'H':
			status = check_hostname("servers", optarg);
			req->hostname = optarg;
			break;
		case 'p':
			status = parse_number("servers", "--port", optarg, 1, 65535, &port);
			req->port = optarg;
			break;
		case 'u':
			status = check_user_name("servers", "--user", optarg);
			req->user = optarg;
			break;
		case 'b':
			status = check_base_dir("servers", optarg);
			req->base_dir = optarg;
			break;
		default:
			return ctl_option_error("servers");
		}
	}
	if (status != 0)
		return status;

	if (optind >= argc)
		return ctl_usage_error("servers", "missing server NAME");
	if (optind + 1 < argc)
		return ctl_usage_error("servers", "unexpected argument \"%s\"", argv[optind + 1]);
	req->name = argv[optind];
	if (req->hostname == NULL)
		return ctl_usage_error("servers", "missing --hostname for server %s", req->name);
	return check_server_name("servers", req->name);
}

int servers_add(struct ctl *ctl, int argc, char **argv)
{
	struct server_request req = { 0 };
	struct db_insert ins = { 0 };
	PGresult *res;
	char *sql;
	int status;

	if ((status = parse_add_options(argc, argv, &req)) != 0)
		return status;
	if ((status = ctl_connect(ctl)) != 0)
		return status;

	db_insert_add(&ins, "name", "$", req.name);
	db_insert_add(&ins, "hostname", "$", req.hostname);
	if (req.port != NULL)
		db_insert_add(&ins, "ssh_port", "$::integer", req.port);
	if (req.user != NULL)
		db_insert_add(&ins, "ssh_user", "$", req.user);
	if (req.base_dir != NULL)
		db_insert_add(&ins, "base_dir", "$", req.base_dir);
	sql = db_insert_sql(&ins, "provision.servers", "id, name");
	res = db_try(ctl->conn, sql, ins.count, ins.params);
	free(sql);

	if (db_ok(res)) {
		if (ctl->json)
			print_json(result_row_to_json(res, 0));
		else
			printf("added server %s\n", req.name);
	} else if (strcmp(db_sqlstate(res), SQLSTATE_UNIQUE_VIOLATION) == 0) {
		ctl_error("server \"%s\" already exists; remove it first or choose another name",
			  req.name);
		status = CTL_EXIT_CONFLICT;
	} else {
		db_print_error(ctl->conn, res, NULL);
		status = CTL_EXIT_DB;
	}
	PQclear(res);
	return status;
}

/* Explains why servers remove deleted nothing: the server is missing or has open tasks. */
static int explain_not_removed(struct ctl *ctl, const char *name)
{
	const char *const params[] = { name };
	PGresult *res;
	int status;

	res = db_query(ctl->conn, "SELECT count(t.id) FROM provision.servers s"
		       " LEFT JOIN provision.tasks t ON t.server_id = s.id"
		       "  AND t.status IN ('queued', 'running')"
		       " WHERE s.name = $1 GROUP BY s.id", 1, params);
	if (res == NULL)
		return CTL_EXIT_DB;

	if (PQntuples(res) == 0) {
		status = report_server_not_found(name);
	} else {
		ctl_error("server \"%s\" has %s queued or running tasks; cancel them first, or "
			  "use --force and they lose their server", name, PQgetvalue(res, 0, 0));
		status = CTL_EXIT_CONFLICT;
	}
	PQclear(res);
	return status;
}

int servers_remove(struct ctl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *params[2] = { NULL, "false" };
	PGresult *res;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt != 'f')
			return ctl_option_error("servers");
		params[1] = "true";
	}
	if (optind >= argc)
		return ctl_usage_error("servers", "missing server NAME");
	if (optind + 1 < argc)
		return ctl_usage_error("servers", "unexpected argument \"%s\"", argv[optind + 1]);
	params[0] = argv[optind];
	if ((status = check_server_name("servers", params[0])) != 0)
		return status;
	if ((status = ctl_connect(ctl)) != 0)
		return status;

	/* One statement, so that no task can be queued between the check and the delete. */
	res = db_query(ctl->conn, "DELETE FROM provision.servers s WHERE s.name = $1"
		       " AND ($2::boolean OR NOT EXISTS (SELECT 1 FROM provision.tasks t"
		       "      WHERE t.server_id = s.id AND t.status IN ('queued', 'running')))"
		       " RETURNING s.id", 2, params);
	if (res == NULL)
		return CTL_EXIT_DB;

	if (PQntuples(res) == 0)
		status = explain_not_removed(ctl, params[0]);
	else if (ctl->json)
		print_json(json_pack("{s:s}", "removed", params[0]));
	else
		printf("removed server %s\n", params[0]);
	PQclear(res);
	return status;
}

static const struct {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
} subcommands[] = {
	{ "list", servers_list },
	{ "add", servers_add },
	{ "remove", servers_remove },
	{ "set-service", servers_set_service },
	{ "remove-service", servers_remove_service },
	{ "set-db-credentials", servers_set_db_credentials },
};

static int run(struct ctl *ctl, int argc, char **argv)
{
	int status;

	if (argc < 2)
		return ctl_usage_error("servers", "missing subcommand: list, add, remove, "
				       "set-service, remove-service or set-db-credentials");

	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[1], subcommands[i].name) != 0)
			continue;

		/* getopt names argv[0] in its messages and skips it. */
		argv[1] = xasprintf("provisionctl servers %s", subcommands[i].name);
		status = subcommands[i].run(ctl, argc - 1, argv + 1);
		free(argv[1]);
		return status;
	}
	return ctl_usage_error("servers", "unknown subcommand \"%s\": use list, add, remove, "
			       "set-service, remove-service or set-db-credentials", argv[1]);
}

const struct ctl_command cmd_servers = {
	.name = "servers",
	.summary = "list, add and remove servers; set services and database credentials",
	.run = run,
	.usage = usage,
};
