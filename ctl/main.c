/*
 * provisionctl: parses the global options, finds the database and runs
 * one command.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "db.h"
#include "log.h"
#include "output.h"
#include "xalloc.h"

static const struct ctl_command *const commands[] = {
	&cmd_migrate,
	&cmd_enqueue,
	&cmd_log,
	&cmd_tasks,
	&cmd_show,
	&cmd_cancel,
	&cmd_retry,
	&cmd_status,
	&cmd_servers,
	&cmd_metrics,
	&cmd_trust_host,
	&cmd_prune,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *out)
{
	fputs("Usage: provisionctl [-c CONFIG | -d CONNINFO] [--json] COMMAND [ARGS]\n"
	      "\n"
	      "Operates the provisiond task queue in PostgreSQL.\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE      read the database connection string from the\n"
	      "                         provisiond config file FILE (setting \"database\");\n"
	      "                         the whole file must be valid\n"
	      "  -d, --database CONNINFO  libpq connection string, such as\n"
	      "                         \"host=/run/postgresql dbname=provision\"\n"
	      "      --json             print JSON instead of tables; commands that follow\n"
	      "                         a task print one JSON object per line.  It may\n"
	      "                         also follow COMMAND\n"
	      "  -h, --help             print this help; COMMAND --help prints a command's\n"
	      "      --version          print the version\n"
	      "\n"
	      "Commands:\n", out);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\n"
	      "Exit codes:\n"
	      "  0  success\n"
	      "  1  the operation failed, e.g. the awaited task failed or was cancelled\n"
	      "  2  usage error: unknown command or option, invalid value, invalid config file\n"
	      "  3  the database is unreachable, or a query failed; log -f and --wait\n"
	      "     exit 3 only when reconnecting failed for --reconnect-timeout\n"
	      "  4  the named task, server or service does not exist\n"
	      "  5  conflict: it exists already, or its state does not allow the operation\n",
	      out);
}

static const struct ctl_command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

/*
 * Returns true if ARGV requests help before any "--".  Help is printed
 * before anything else, so that it works without a database or config file.
 */
static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

/*
 * Removes every "--json" before any "--" from ARGV and sets *JSON if there
 * was one, so that --json may follow COMMAND too.  No option of any
 * command accepts "--json" as its value.  Returns the new argc.
 */
static int take_json_option(int argc, char **argv, bool *json)
{
	int count = 1, i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--json") == 0)
			*json = true;
		else
			argv[count++] = argv[i];
	}
	for (; i < argc; i++)
		argv[count++] = argv[i];
	argv[count] = NULL;
	return count;
}

int ctl_connect(struct ctl *ctl)
{
	if (ctl->conn != NULL)
		return 0;
	ctl->conn = db_connect(ctl->conninfo);
	return ctl->conn != NULL ? 0 : CTL_EXIT_DB;
}

/* Runs "help [COMMAND]". */
static int run_help(int argc, char **argv)
{
	const struct ctl_command *cmd;

	if (argc < 2) {
		print_usage(stdout);
		return CTL_EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (cmd == NULL)
		return ctl_usage_error(NULL, "unknown command \"%s\"", argv[1]);
	fputs(cmd->usage, stdout);
	return CTL_EXIT_OK;
}

/* Sets ctl->conninfo and ctl->config from the config file, or returns CTL_EXIT_USAGE. */
static int load_config(struct ctl *ctl, const char *path, struct config *cfg)
{
	char err[4096];

	if (config_load(path, cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		ctl_error("invalid config file %s; fix the lines above", path);
		return CTL_EXIT_USAGE;
	}
	ctl->conninfo = cfg->database;
	ctl->config = cfg;
	return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_VERSION };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "database", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { 0 };
	struct config cfg = { 0 };
	const struct ctl_command *cmd;
	const char *config_path = NULL;
	int opt, status;

	log_init("provisionctl");

	/* "+" stops at the first non-option, the command, whose options are its own. */
	while ((opt = getopt_long(argc, argv, "+c:d:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'd':
			ctl.conninfo = optarg;
			break;
		case OPT_JSON:
			ctl.json = true;
			break;
		case 'h':
			print_usage(stdout);
			return CTL_EXIT_OK;
		case OPT_VERSION:
			printf("provisionctl %s\n", PROVISIOND_VERSION);
			return CTL_EXIT_OK;
		default:
			fputs("Try 'provisionctl --help'.\n", stderr);
			return CTL_EXIT_USAGE;
		}
	}

	if (optind >= argc)
		return ctl_usage_error(NULL, "missing COMMAND");
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "help") == 0)
		return run_help(argc, argv);

	cmd = find_command(argv[0]);
	if (cmd == NULL)
		return ctl_usage_error(NULL, "unknown command \"%s\"", argv[0]);
	argc = take_json_option(argc, argv, &ctl.json);
	if (wants_help(argc, argv)) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}

	if (config_path != NULL && ctl.conninfo != NULL)
		return ctl_usage_error(NULL, "-c and -d both name the database; give one of them");
	if (config_path == NULL && ctl.conninfo == NULL)
		return ctl_usage_error(NULL, "no database given; use -c CONFIG or -d CONNINFO");
	if (config_path != NULL && (status = load_config(&ctl, config_path, &cfg)) != 0)
		return status;

	/* getopt reads argv[0] as the program name in its messages. */
	argv[0] = xasprintf("provisionctl %s", cmd->name);
	optind = 0;	/* glibc: 0 restarts option scanning from scratch */
	status = cmd->run(&ctl, argc, argv);

	free(argv[0]);
	PQfinish(ctl.conn);
	if (config_path != NULL)
		config_free(&cfg);
	return status;
}
