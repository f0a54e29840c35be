/* provisionctl servers set-service and remove-service. */
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

/* The CHECK constraints of provision.services allow these pairs of kind and type. */
static const struct {
	const char *kind;
	const char *type;
} service_types[] = {
	{ "web", "apache" },
	{ "web", "nginx" },
	{ "db", "mysql" },
};

static int check_kind(const char *kind)
{
	if (strcmp(kind, "web") == 0 || strcmp(kind, "db") == 0)
		return 0;
	return ctl_usage_error("servers", "invalid service kind \"%s\": use web or db", kind);
}

static int check_type(const char *kind, const char *type)
{
	for (size_t i = 0; i < sizeof(service_types) / sizeof(service_types[0]); i++)
		if (strcmp(kind, service_types[i].kind) == 0 && strcmp(type, service_types[i].type) == 0)
			return 0;
	if (strcmp(kind, "web") == 0)
		return ctl_usage_error("servers", "invalid web service type \"%s\": use apache or "
				       "nginx", type);
	return ctl_usage_error("servers", "invalid db service type \"%s\": use mysql", type);
}

/* The values of set-service, as text parameters; port NULL means no port. */
struct service_request {
	const char *name;
	const char *kind;
	const char *type;
	const char *port;
	json_t *settings;
};

static int parse_service_options(int argc, char **argv, struct service_request *req)
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "setting", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	long long port;
	int opt, status = 0;

	while (status == 0 && (opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'p':
			status = parse_number("servers", "--port", optarg, 1, 65535, &port);
			req->port = optarg;
			break;
		case 's':
			status = parse_key_value("servers", "--setting", optarg, req->settings);
			break;
		default:
			return ctl_option_error("servers");
		}
	}
	if (status != 0)
		return status;

	if (argc - optind < 3)
		return ctl_usage_error("servers", "expected NAME, web or db, and TYPE");
	if (argc - optind > 3)
		return ctl_usage_error("servers", "unexpected argument \"%s\"", argv[optind + 3]);
	req->name = argv[optind];
	req->kind = argv[optind + 1];
	req->type = argv[optind + 2];

	if ((status = check_server_name("servers", req->name)) != 0)
		return status;
	if ((status = check_kind(req->kind)) != 0)
		return status;
	return check_type(req->kind, req->type);
}

int servers_set_service(struct ctl *ctl, int argc, char **argv)
{
	struct service_request req = { .settings = json_object() };
	char server_id[32], *settings = NULL;
	const char *params[5];
	PGresult *res;
	int status;

	if ((status = parse_service_options(argc, argv, &req)) != 0)
		goto out;
	if ((status = find_server(ctl, "servers", req.name, server_id, sizeof(server_id))) != 0)
		goto out;

	settings = json_dumps(req.settings, JSON_COMPACT);
	params[0] = server_id;
	params[1] = req.kind;
	params[2] = req.type;
	params[3] = req.port;
	params[4] = settings;
	res = db_query(ctl->conn, "INSERT INTO provision.services (server_id, kind, type, port, settings)"
		       " VALUES ($1::bigint, $2, $3, $4::integer, $5::jsonb)"
		       " ON CONFLICT (server_id, kind) DO UPDATE"
		       " SET type = EXCLUDED.type, port = EXCLUDED.port, settings = EXCLUDED.settings",
		       5, params);
	if (res == NULL) {
		status = CTL_EXIT_DB;
		goto out;
	}
	PQclear(res);

	if (ctl->json)
		print_json(json_pack("{s:s, s:s, s:s, s:O}", "server", req.name, "kind", req.kind,
				     "type", req.type, "settings", req.settings));
	else
		printf("set %s service of server %s to %s\n", req.kind, req.name, req.type);

out:
	free(settings);
	json_decref(req.settings);
	return status;
}

int servers_remove_service(struct ctl *ctl, int argc, char **argv)
{
	char server_id[32];
	const char *params[2] = { server_id, NULL };
	const char *name;
	PGresult *res;
	int status;

	if ((status = parse_no_options("servers", argc, argv)) != 0)
		return status;
	if (argc - optind != 2)
		return ctl_usage_error("servers", "expected NAME and web or db");
	name = argv[optind];
	params[1] = argv[optind + 1];
	if ((status = check_server_name("servers", name)) != 0)
		return status;
	if ((status = check_kind(params[1])) != 0)
		return status;
	if ((status = find_server(ctl, "servers", name, server_id, sizeof(server_id))) != 0)
		return status;

	res = db_query(ctl->conn, "DELETE FROM provision.services"
		       " WHERE server_id = $1::bigint AND kind = $2 RETURNING type", 2, params);
	if (res == NULL)
		return CTL_EXIT_DB;

	if (PQntuples(res) == 0) {
		ctl_error("server %s has no %s service", name, params[1]);
		status = CTL_EXIT_NOT_FOUND;
	} else if (ctl->json) {
		print_json(json_pack("{s:s, s:s, s:s}", "server", name, "kind", params[1],
				     "removed", PQgetvalue(res, 0, 0)));
	} else {
		printf("removed %s service %s of server %s\n", params[1], PQgetvalue(res, 0, 0), name);
	}
	PQclear(res);
	return status;
}
