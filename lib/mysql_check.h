/*
 * Checks that a MySQL or MariaDB server accepts the control panel's admin
 * account and that the account can provision sites.  The check connects,
 * creates a uniquely named test database and a test user with a random
 * password, and grants the user that database.  Then it connects as the
 * user and drops both again.  Built on MariaDB Connector/C with blocking
 * calls, for the worker.
 *
 * Every connection uses TCP (MYSQL_OPT_PROTOCOL), so a host of "localhost"
 * reaches 127.0.0.1 or ::1 over TCP instead of the client's Unix socket.
 * Every connection has connect, read and write timeouts, so a server that
 * accepts TCP and then never replies fails after those timeouts.
 *
 * The test user is created for the host part of USER(), which is the
 * client host as the server sees it (an address, or a name when the server
 * resolves names).  Cleanup runs after success and after every failure
 * past the first connect; when the admin connection is broken, it runs on
 * a new one.
 *
 * Passwords never appear in log lines or error messages: the admin
 * password is never formatted into text, and every message from the
 * server is searched for both passwords before use.
 *
 * The admin account's name and password reach the server only in the
 * login handshake, never inside an SQL statement.  The statements that
 * the check runs name only its own test database and user, and quote the
 * host part that USER() returned with mysql_real_escape_string.  Error
 * messages that suggest a statement to run quote the account name for the
 * mysql client in its default sql_mode.
 */
#ifndef PROVISION_MYSQL_CHECK_H
#define PROVISION_MYSQL_CHECK_H

#include <stdbool.h>
#include <stddef.h>

struct mysql_check_target {
	const char *server_name;	/* the server's name in the control panel, for messages */
	const char *host;
	unsigned int port;		/* 0: 3306 */
	const char *user;
	const char *password;
	unsigned int connect_timeout;	/* seconds for the TCP connect */
	unsigned int io_timeout;	/* seconds for each read and each write */
};

/* The server facts a check found, for the task result. */
struct mysql_check_result {
	char server_version[128];
	char current_user[800];		/* CURRENT_USER(): the account that matched */
	char client_host[256];		/* host part of USER(): the client as the server sees it */
	char transport[300];		/* mysql_get_host_info(), such as "127.0.0.1 via TCP/IP" */
	bool cleanup_failed;		/* the test user or database may be left on the server */
};

struct mysql_check_error {
	char message[2048];
	bool transient;		/* connection refused or timed out: a retry may succeed */
	const char *step;	/* "connect", "create database", ... */
};

/* Receives one log line; LEVEL is a task_log level. */
typedef void (*mysql_check_log_fn)(void *arg, const char *level, const char *message);

/* Limits on the admin account, the same as in sql/004_db_credentials_checks.sql. */
#define MYSQL_CHECK_USER_MAX_CHARS 128		/* MariaDB 10.11's limit; MySQL 5.7.8 and later allow 32 */
#define MYSQL_CHECK_PASSWORD_MAX_BYTES 1024	/* far above real passwords; keeps the task small */

/*
 * Checks TARGET's admin account without connecting: the user has 1 to
 * MYSQL_CHECK_USER_MAX_CHARS characters of UTF-8 and no control character,
 * and the password at most MYSQL_CHECK_PASSWORD_MAX_BYTES bytes.  Returns
 * 0, or -1 with *err filled (step "credentials"), naming the user but never
 * the password.  mysql_check_run runs this check first too.
 */
int mysql_check_validate(const struct mysql_check_target *target, struct mysql_check_error *err);

/*
 * Runs the check against TARGET, logging each step through LOG.  Returns 0
 * with *out filled, or -1 with *err filled; *out is also filled as far as
 * the check got.  A failed cleanup after a passed check returns 0 with
 * out->cleanup_failed set and a warning logged with the statements to run.
 */
int mysql_check_run(const struct mysql_check_target *target, mysql_check_log_fn log, void *arg,
		    struct mysql_check_result *out, struct mysql_check_error *err);

#endif
