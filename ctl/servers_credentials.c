/*
 * provisionctl servers set-db-credentials: stores the database admin user
 * and password of a server.  The password is read from standard input,
 * never from argv, where other users could read it in ps.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "db.h"
#include "output.h"
#include "parse.h"
#include "queue.h"
#include "servers.h"

#define PASSWORD_MAX 1024	/* bytes; a longer line is more likely a wrong file than a password */

/* The terminal settings that a signal handler restores while echo is off. */
static struct termios saved_termios;
static volatile sig_atomic_t echo_off;

/* Restores echo and then dies of SIGNO as if no handler were installed. */
static void restore_echo_and_die(int signo)
{
	if (echo_off)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
	signal(signo, SIG_DFL);
	raise(signo);
}

/*
 * Reads one line from stdin into a malloc'ed string without its line break
 * (and a "\r" before it).  Returns NULL at end of file.  The caller wipes
 * and frees the string.
 */
static char *read_line(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len = getline(&line, &cap, stdin);

	if (len < 0) {
		free(line);
		return NULL;
	}
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	return line;
}

/* Prints PROMPT to stderr and reads a line from the terminal on stdin without echo. */
static char *read_without_echo(const char *prompt)
{
	static const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction handler = { .sa_handler = restore_echo_and_die };
	struct sigaction previous[sizeof(signals) / sizeof(signals[0])];
	struct termios quiet;
	char *line;

	if (tcgetattr(STDIN_FILENO, &saved_termios) != 0)
		return read_line();
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &handler, &previous[i]);

	/* Echo goes off before the prompt appears, so no answer typed after it can be echoed. */
	quiet = saved_termios;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	echo_off = 1;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	fputs(prompt, stderr);

	line = read_line();

	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
	echo_off = 0;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &previous[i], NULL);
	fputc('\n', stderr);
	return line;
}

static void wipe_and_free(char *secret)
{
	if (secret == NULL)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

/*
 * Reads the password: twice without echo from a terminal, so that a typo
 * is caught, or the first line of stdin otherwise.  Returns a malloc'ed
 * string, or NULL after printing the error.
 */
static char *read_password(const char *user, const char *server)
{
	char prompt[160];
	char *password, *again;

	if (!isatty(STDIN_FILENO)) {
		password = read_line();
		if (password == NULL)
			ctl_error("missing password: standard input is empty; write the password "
				  "as one line to standard input");
		return password;
	}

	snprintf(prompt, sizeof(prompt), "Password of database user %s on server %s: ", user,
		 server);
	password = read_without_echo(prompt);
	again = password != NULL ? read_without_echo("Repeat the password: ") : NULL;
	if (again == NULL || strcmp(password, again) != 0) {
		ctl_error("the two passwords differ or one is missing; run the command again");
		wipe_and_free(password);
		password = NULL;
	}
	wipe_and_free(again);
	return password;
}

static int check_password(const char *password)
{
	if (password[0] == '\0')
		return ctl_usage_error("servers", "invalid password: it is empty");
	if (strlen(password) > PASSWORD_MAX)
		return ctl_usage_error("servers", "invalid password: it is longer than %d bytes",
				       PASSWORD_MAX);
	return 0;
}

/*
 * Stores PARAMS (server id, user, password).  Where the schema has the
 * function provision.set_db_credentials, it is used.  It lets roles store
 * credentials without SELECT on provision.db_credentials, which the
 * upsert needs for its EXCLUDED columns.
 */
static int store_credentials(PGconn *conn, const char *const *params)
{
	PGresult *res;
	bool have_function;

	if (db_query_bool(conn, "SELECT to_regprocedure("
			  "'provision.set_db_credentials(bigint, text, text)') IS NOT NULL",
			  0, NULL, &have_function) != 0)
		return CTL_EXIT_DB;

	if (have_function)
		res = db_query(conn, "SELECT provision.set_db_credentials($1::bigint, $2, $3)",
			       3, params);
	else
		res = db_query(conn, "INSERT INTO provision.db_credentials"
			       " (server_id, admin_user, admin_password) VALUES ($1::bigint, $2, $3)"
			       " ON CONFLICT (server_id) DO UPDATE SET admin_user = EXCLUDED.admin_user,"
			       " admin_password = EXCLUDED.admin_password", 3, params);
	if (res == NULL)
		return CTL_EXIT_DB;
	PQclear(res);
	return CTL_EXIT_OK;
}

/* Reads NAME and --user from the arguments. */
static int parse_arguments(int argc, char **argv, const char **name, const char **user)
{
	static const struct option options[] = {
		{ "user", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, status;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt != 'u')
			return ctl_option_error("servers");
		*user = optarg;
	}
	if (optind >= argc)
		return ctl_usage_error("servers", "missing server NAME");
	if (optind + 1 < argc)
		return ctl_usage_error("servers", "unexpected argument \"%s\"; the password is "
				       "read from standard input", argv[optind + 1]);
	*name = argv[optind];
	if (*user == NULL)
		return ctl_usage_error("servers", "missing --user for server %s", *name);

	if ((status = check_server_name("servers", *name)) != 0)
		return status;
	return check_user_name("servers", "--user", *user);
}

int servers_set_db_credentials(struct ctl *ctl, int argc, char **argv)
{
	const char *name = NULL, *user = NULL;
	char server_id[32], *password = NULL;
	const char *params[3];
	int status;

	if ((status = parse_arguments(argc, argv, &name, &user)) != 0)
		return status;

	/* The server is looked up first, so that no password is typed for a misspelled name. */
	if ((status = find_server(ctl, "servers", name, server_id, sizeof(server_id))) != 0)
		return status;
	password = read_password(user, name);
	if (password == NULL)
		return CTL_EXIT_USAGE;
	if ((status = check_password(password)) != 0)
		goto out;

	params[0] = server_id;
	params[1] = user;
	params[2] = password;
	if ((status = store_credentials(ctl->conn, params)) != 0)
		goto out;

	if (ctl->json)
		print_json(json_pack("{s:s, s:s}", "server", name, "admin_user", user));
	else
		printf("set database credentials of server %s (user %s)\n", name, user);

out:
	wipe_and_free(password);
	return status;
}
