#include "mysql_check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "text_sanitize.h"

#define DEFAULT_PORT 3306

struct check {
	const struct mysql_check_target *t;
	mysql_check_log_fn log;
	void *log_arg;
	struct mysql_check_result *out;
	struct mysql_check_error *err;

	MYSQL *admin;
	char admin_account[1660];	/* CURRENT_USER() quoted as 'user'@'host' for SQL */
	char db[64];
	char user[32];
	char password[40];
	char account[700];		/* the test user quoted as 'user'@'host' for SQL */
	bool db_attempted;		/* CREATE DATABASE was sent, so cleanup drops it */
	bool user_attempted;
};

/* Overwrites every occurrence of each non-empty password in S with '*', in place. */
static void redact(const struct check *c, char *s)
{
	const char *secrets[] = { c->t->password, c->password };

	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		size_t len = secrets[i] ? strlen(secrets[i]) : 0;
		char *p;

		if (len == 0)
			continue;
		while ((p = strstr(s, secrets[i])) != NULL)
			memset(p, '*', len);
	}
}

static void logf_check(struct check *c, const char *level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void logf_check(struct check *c, const char *level, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	redact(c, buf);
	c->log(c->log_arg, level, buf);
}

static void set_error(struct check *c, const char *step, bool transient, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_error(struct check *c, const char *step, bool transient, const char *fmt, ...)
{
	struct mysql_check_error *err = c->err;
	va_list ap;
	int n;

	n = snprintf(err->message, sizeof(err->message), "server %s: db %s: ", c->t->server_name, step);
	if (n < 0 || (size_t)n >= sizeof(err->message))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(err->message + n, sizeof(err->message) - (size_t)n, fmt, ap);
	va_end(ap);
	redact(c, err->message);
	err->transient = transient;
	err->step = step;
}

/* Returns the client library's or server's last error on M, sanitized for a log line. */
static const char *last_error(const struct check *c, MYSQL *m, char *buf, size_t size)
{
	const char *msg = mysql_error(m);

	text_sanitize(msg, strlen(msg), buf, size);
	redact(c, buf);
	return buf;
}

static unsigned int port_of(const struct mysql_check_target *t)
{
	return t->port ? t->port : DEFAULT_PORT;
}

/*
 * Finds the host in a server message such as "Access denied for user
 * 'u'@'h' (using password: YES)" and writes it into BUF.  The server does
 * not escape the user name there, so the host is taken after the last
 * "'@'", which a host cannot contain.  Returns false when the message
 * names none.
 */
static bool host_in_message(const char *msg, char *buf, size_t size)
{
	const char *at = NULL;
	const char *end;

	for (const char *p = strstr(msg, "'@'"); p != NULL; p = strstr(p + 1, "'@'"))
		at = p;
	if (at == NULL)
		return false;
	end = strchr(at + 3, '\'');
	if (end == NULL)
		return false;
	snprintf(buf, size, "%.*s", (int)(end - at - 3), at + 3);
	return true;
}

/* Appends CH to BUF, which contains *USED bytes of SIZE, if it fits. */
static void append_char(char *buf, size_t size, size_t *used, char ch)
{
	if (*used + 1 < size)
		buf[(*used)++] = ch;
	buf[*used] = '\0';
}

/* Appends S, sanitized, in single quotes with a backslash before each quote and backslash. */
static void append_quoted(char *buf, size_t size, size_t *used, const char *s)
{
	char *shown = text_sanitize_dup(s, strlen(s));

	append_char(buf, size, used, '\'');
	for (const char *p = shown; *p != '\0'; p++) {
		if (*p == '\'' || *p == '\\')
			append_char(buf, size, used, '\\');
		append_char(buf, size, used, *p);
	}
	append_char(buf, size, used, '\'');
	free(shown);
}

/*
 * Writes USER and HOST into BUF as the account 'user'@'host' for an SQL
 * statement that an operator pastes into the mysql client.  The backslash
 * escapes are right in the default sql_mode, without NO_BACKSLASH_ESCAPES.
 */
static void quote_account_for_advice(const char *user, const char *host, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	append_quoted(buf, size, &used, user);
	append_char(buf, size, &used, '@');
	append_quoted(buf, size, &used, host);
}

/* Fills c->err for a failed connect of USER and returns -1. */
static int connect_failed(struct check *c, MYSQL *m, const char *step, const char *user)
{
	const struct mysql_check_target *t = c->t;
	unsigned int code = mysql_errno(m);
	char msg[1024];
	char host[300];
	char account[1660];

	last_error(c, m, msg, sizeof(msg));
	/* Connector/C 3.3 reports a client plugin that fails to load with error 1045, so the text decides. */
	if (strstr(msg, "could not be loaded") != NULL || strstr(msg, "cannot be loaded") != NULL)
		code = CR_AUTH_PLUGIN_CANNOT_LOAD;
	switch (code) {
	case CR_CONN_HOST_ERROR:
	case CR_CONNECTION_ERROR:
		set_error(c, step, true,
			  "cannot reach %s port %u over TCP: %s; check that MySQL or MariaDB runs there, that its "
			  "bind-address (my.cnf) listens on an address the master can reach rather than 127.0.0.1 "
			  "only, and that no firewall blocks port %u",
			  t->host, port_of(t), msg, port_of(t));
		return -1;
	case CR_SERVER_LOST:
	case CR_SERVER_GONE_ERROR:
		set_error(c, step, true,
			  "%s port %u accepted the TCP connection but did not complete the MySQL handshake "
			  "(timeouts: connect %u s, read %u s): %s; check that the port belongs to MySQL or "
			  "MariaDB, its bind-address and any firewall between the master and the server",
			  t->host, port_of(t), t->connect_timeout, t->io_timeout, msg);
		return -1;
	case CR_UNKNOWN_HOST:
		set_error(c, step, false, "cannot resolve host name %s: %s; check the server's hostname",
			  t->host, msg);
		return -1;
	case CR_AUTH_PLUGIN_CANNOT_LOAD:
		set_error(c, step, false,
			  "the account %s uses an authentication plugin that the client library on the master "
			  "cannot load: %s; install the client plugin on the master (Debian: package libmariadb3 "
			  "and its plugin directory) or switch the account to a plugin the client has, for "
			  "example: ALTER USER ... IDENTIFIED VIA mysql_native_password USING PASSWORD('<password>');",
			  user, msg);
		return -1;
	case ER_ACCESS_DENIED_ERROR:
	case ER_ACCESS_DENIED_NO_PASSWORD_ERROR:
		if (!host_in_message(msg, host, sizeof(host)))
			snprintf(host, sizeof(host), "<master host>");
		quote_account_for_advice(user, host, account, sizeof(account));
		set_error(c, step, false,
			  "access denied: %s; the server saw the login as %s, so check admin_user and "
			  "admin_password in provision.db_credentials, or create the account on the database "
			  "server: CREATE USER %s IDENTIFIED BY '<password>'; GRANT ALL PRIVILEGES ON *.* TO %s "
			  "WITH GRANT OPTION;",
			  msg, account, account, account);
		return -1;
	case ER_HOST_NOT_PRIVILEGED:
		quote_account_for_advice(user, "<that host>", account, sizeof(account));
		set_error(c, step, false,
			  "%s; the server has no account %s for the host the master connects from; create one: "
			  "CREATE USER %s IDENTIFIED BY '<password>'; GRANT ALL PRIVILEGES ON *.* TO %s "
			  "WITH GRANT OPTION;",
			  msg, user, account, account);
		return -1;
	default:
		set_error(c, step, false, "connecting to %s port %u as %s failed: %s (error %u)", t->host,
			  port_of(t), user, msg, code);
		return -1;
	}
}

/* Connects over TCP with the target's timeouts; returns NULL with c->err set. */
static MYSQL *open_connection(struct check *c, const char *step, const char *user, const char *password,
			      const char *db)
{
	const struct mysql_check_target *t = c->t;
	unsigned int protocol = MYSQL_PROTOCOL_TCP;
	unsigned int connect_timeout = t->connect_timeout;
	unsigned int io_timeout = t->io_timeout;
	MYSQL *m = mysql_init(NULL);

	if (m == NULL) {
		set_error(c, step, false, "mysql_init failed: out of memory");
		return NULL;
	}
	if (mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &protocol) != 0 ||
	    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout) != 0 ||
	    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &io_timeout) != 0 ||
	    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout) != 0) {
		set_error(c, step, false, "setting the TCP protocol and the timeouts failed");
		mysql_close(m);
		return NULL;
	}
	if (mysql_real_connect(m, t->host, user, password, db, port_of(t), NULL, 0) == NULL) {
		connect_failed(c, m, step, user);
		mysql_close(m);
		return NULL;
	}
	return m;
}

/* Runs SQL on M; returns 0, or -1 with *code set to the error number. */
static int run_sql(MYSQL *m, const char *sql, unsigned int *code)
{
	*code = 0;
	if (mysql_real_query(m, sql, strlen(sql)) != 0) {
		*code = mysql_errno(m);
		return -1;
	}
	return 0;
}

/* Fills BUF with LEN characters drawn from ALPHABET by getrandom(); returns 0 or -1. */
static int random_text(char *buf, size_t len, const char *alphabet)
{
	unsigned char bytes[64];
	size_t n = strlen(alphabet);

	if (len >= sizeof(bytes) || getrandom(bytes, len, 0) != (ssize_t)len)
		return -1;
	/* With 16 or 64 symbols the modulo keeps the choice uniform. */
	for (size_t i = 0; i < len; i++)
		buf[i] = alphabet[bytes[i] % n];
	buf[len] = '\0';
	return 0;
}

/* Splits "user@host" (as CURRENT_USER() and USER() return it) at the last '@' and quotes both parts. */
static void quote_account(MYSQL *m, const char *user_at_host, char *buf, size_t size)
{
	const char *at = strrchr(user_at_host, '@');
	char user[520], host[300];		/* 128 characters of up to 4 bytes; a host name of 255 */
	char user_q[1041], host_q[601];

	if (at == NULL)
		at = user_at_host + strlen(user_at_host);
	snprintf(user, sizeof(user), "%.*s", (int)(at - user_at_host), user_at_host);
	snprintf(host, sizeof(host), "%s", *at ? at + 1 : "%");
	mysql_real_escape_string(m, user_q, user, strlen(user));
	mysql_real_escape_string(m, host_q, host, strlen(host));
	snprintf(buf, size, "'%s'@'%s'", user_q, host_q);
}

/* Returns true if HOST may be used as the host part of an account: an address or a host name. */
static bool host_valid(const char *host)
{
	size_t len = strlen(host);

	if (len == 0 || len > 255)
		return false;
	return strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:-_%") == len;
}

/* Returns the number of characters in UTF-8 text S: the bytes that do not continue a sequence. */
static size_t utf8_length(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p & 0xc0) != 0x80)
			n++;
	return n;
}

/* Returns true if UTF-8 text S contains a C0 control, DEL or a C1 control (U+0080 to U+009F). */
static bool has_control_char(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return true;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return true;
	}
	return false;
}

int mysql_check_validate(const struct mysql_check_target *target, struct mysql_check_error *err)
{
	struct check c = { .t = target, .err = err };
	const char *store = "store the right value with SELECT provision.set_db_credentials(server_id, user, password)";
	char shown[600];
	size_t chars = utf8_length(target->user);

	memset(err, 0, sizeof(*err));
	err->step = "";
	text_sanitize(target->user, strlen(target->user), shown, sizeof(shown));

	if (has_control_char(target->user)) {
		set_error(&c, "credentials", false, "admin_user \"%s\" contains a control character (shown as \\xNN); "
			  "%s, with the name exactly as CREATE USER on the database server spells it", shown, store);
		return -1;
	}
	if (chars == 0) {
		set_error(&c, "credentials", false, "admin_user is empty, which the server would take as the "
			  "anonymous account; %s", store);
		return -1;
	}
	if (chars > MYSQL_CHECK_USER_MAX_CHARS) {
		set_error(&c, "credentials", false, "admin_user \"%s\" has %zu characters, more than the %d that "
			  "MariaDB 10.11 accepts (MySQL 5.7.8 and later: 32); create an account with a shorter name on the "
			  "database server and %s", shown, chars, MYSQL_CHECK_USER_MAX_CHARS, store);
		return -1;
	}
	if (strlen(target->password) > MYSQL_CHECK_PASSWORD_MAX_BYTES) {
		set_error(&c, "credentials", false, "admin_password has %zu bytes, more than the %d that provisiond "
			  "accepts; set a shorter password on the database server (ALTER USER) and %s",
			  strlen(target->password), MYSQL_CHECK_PASSWORD_MAX_BYTES, store);
		return -1;
	}
	return 0;
}

/* Connects as the admin and records the version, CURRENT_USER() and USER(). */
static int connect_admin(struct check *c)
{
	const struct mysql_check_target *t = c->t;
	MYSQL_RES *res;
	MYSQL_ROW row;
	unsigned int code;
	char msg[1024];
	const char *user_host;

	logf_check(c, "info", "db connect: connecting to %s port %u over TCP as %s (timeouts: connect %u s, "
		   "read and write %u s)", t->host, port_of(t), t->user, t->connect_timeout, t->io_timeout);
	c->admin = open_connection(c, "connect", t->user, t->password, NULL);
	if (c->admin == NULL)
		return -1;

	if (run_sql(c->admin, "SELECT VERSION(), CURRENT_USER(), USER()", &code) != 0 ||
	    (res = mysql_store_result(c->admin)) == NULL) {
		set_error(c, "connect", code == CR_SERVER_LOST, "reading the server version failed: %s",
			  last_error(c, c->admin, msg, sizeof(msg)));
		return -1;
	}
	row = mysql_fetch_row(res);
	if (row == NULL || row[0] == NULL || row[1] == NULL || row[2] == NULL) {
		mysql_free_result(res);
		set_error(c, "connect", false, "SELECT VERSION(), CURRENT_USER(), USER() returned no row");
		return -1;
	}
	text_sanitize(row[0], strlen(row[0]), c->out->server_version, sizeof(c->out->server_version));
	text_sanitize(row[1], strlen(row[1]), c->out->current_user, sizeof(c->out->current_user));
	user_host = strrchr(row[2], '@');
	text_sanitize(user_host ? user_host + 1 : "", user_host ? strlen(user_host + 1) : 0,
		      c->out->client_host, sizeof(c->out->client_host));
	quote_account(c->admin, row[1], c->admin_account, sizeof(c->admin_account));
	mysql_free_result(res);

	snprintf(c->out->transport, sizeof(c->out->transport), "%s", mysql_get_host_info(c->admin));
	logf_check(c, "info", "db connect: connected (%s); server version %s; CURRENT_USER() is %s; the server "
		   "sees the master as host %s", c->out->transport, c->out->server_version, c->out->current_user,
		   c->out->client_host);
	return 0;
}

/* Creates the test database, then the test user, and grants the user the database. */
static int create_test_objects(struct check *c)
{
	char sql[2048];
	char msg[1024];
	char host_q[601];
	unsigned int code;

	if (!host_valid(c->out->client_host)) {
		set_error(c, "create user", false, "USER() returned the host \"%s\", which is not an address "
			  "or host name, so no test user can be created for it", c->out->client_host);
		return -1;
	}
	mysql_real_escape_string(c->admin, host_q, c->out->client_host, strlen(c->out->client_host));
	snprintf(c->account, sizeof(c->account), "'%s'@'%s'", c->user, host_q);

	/* c->db is "provision_verify_" and hex digits, so the backquotes need no escaping. */
	snprintf(sql, sizeof(sql), "CREATE DATABASE `%s`", c->db);
	c->db_attempted = true;
	if (run_sql(c->admin, sql, &code) != 0) {
		last_error(c, c->admin, msg, sizeof(msg));
		if (code == ER_DBACCESS_DENIED_ERROR || code == ER_SPECIFIC_ACCESS_DENIED_ERROR ||
		    code == ER_ACCESS_DENIED_ERROR)
			set_error(c, "create database", false,
				  "the account %s has no privilege to create databases: %s; on the database "
				  "server run: GRANT ALL PRIVILEGES ON *.* TO %s WITH GRANT OPTION;",
				  c->out->current_user, msg, c->admin_account);
		else
			set_error(c, "create database", code == CR_SERVER_LOST,
				  "CREATE DATABASE %s failed: %s (error %u)", c->db, msg, code);
		return -1;
	}
	logf_check(c, "info", "db check: created the test database %s", c->db);

	/* CREATE USER and then GRANT: GRANT ... IDENTIFIED BY is gone from MySQL 8. */
	snprintf(sql, sizeof(sql), "CREATE USER %s IDENTIFIED BY '%s'", c->account, c->password);
	c->user_attempted = true;
	if (run_sql(c->admin, sql, &code) != 0) {
		last_error(c, c->admin, msg, sizeof(msg));
		if (code == ER_SPECIFIC_ACCESS_DENIED_ERROR || code == ER_DBACCESS_DENIED_ERROR ||
		    code == ER_TABLEACCESS_DENIED_ERROR)
			set_error(c, "create user", false,
				  "the account %s may not create users: %s; on the database server run: GRANT ALL "
				  "PRIVILEGES ON *.* TO %s WITH GRANT OPTION;",
				  c->out->current_user, msg, c->admin_account);
		else
			set_error(c, "create user", code == CR_SERVER_LOST, "CREATE USER %s failed: %s (error %u)",
				  c->account, msg, code);
		return -1;
	}

	snprintf(sql, sizeof(sql), "GRANT ALL PRIVILEGES ON `%s`.* TO %s", c->db, c->account);
	if (run_sql(c->admin, sql, &code) != 0) {
		last_error(c, c->admin, msg, sizeof(msg));
		if (code == ER_DBACCESS_DENIED_ERROR || code == ER_ACCESS_DENIED_ERROR ||
		    code == ER_SPECIFIC_ACCESS_DENIED_ERROR || code == ER_TABLEACCESS_DENIED_ERROR)
			set_error(c, "grant", false,
				  "the account %s cannot grant privileges (no GRANT OPTION): %s; on the database "
				  "server run: GRANT ALL PRIVILEGES ON *.* TO %s WITH GRANT OPTION;",
				  c->out->current_user, msg, c->admin_account);
		else
			set_error(c, "grant", code == CR_SERVER_LOST, "GRANT on %s to %s failed: %s (error %u)",
				  c->db, c->account, msg, code);
		return -1;
	}
	logf_check(c, "info", "db check: created the test user %s with a random password and granted it all "
		   "privileges on %s", c->account, c->db);
	return 0;
}

/* Logs in as the test user and creates a table, which proves the grant. */
static int use_test_user(struct check *c)
{
	MYSQL *m;
	unsigned int code;
	char msg[1024];
	int rc = 0;

	m = open_connection(c, "test login", c->user, c->password, c->db);
	if (m == NULL) {
		size_t used = strlen(c->err->message);

		snprintf(c->err->message + used, sizeof(c->err->message) - used,
			 "; the test user %s was just created and granted %s, so an anonymous account for the "
			 "same host may be shadowing it (list them with SELECT user, host FROM mysql.user WHERE "
			 "user = '')", c->account, c->db);
		return -1;
	}
	if (run_sql(m, "CREATE TABLE provision_verify (id INT PRIMARY KEY)", &code) != 0) {
		set_error(c, "test login", code == CR_SERVER_LOST,
			  "the test user %s logged in but could not create a table in %s: %s (error %u)",
			  c->account, c->db, last_error(c, m, msg, sizeof(msg)), code);
		rc = -1;
	} else {
		logf_check(c, "info", "db check: the test user logged in over TCP (%s) and created a table in %s",
			   mysql_get_host_info(m), c->db);
	}
	mysql_close(m);
	return rc;
}

/* Drops what the check created; on the admin connection if it still works, else on a new one. */
static void clean_up(struct check *c)
{
	struct mysql_check_error saved = *c->err;
	char sql[2048];
	char msg[1024];
	unsigned int code;
	bool failed = false;

	if (!c->db_attempted && !c->user_attempted)
		return;

	if (c->admin != NULL && mysql_ping(c->admin) != 0) {
		logf_check(c, "notice", "db cleanup: the first connection broke; cleaning up on a new one");
		mysql_close(c->admin);
		c->admin = NULL;
	}
	if (c->admin == NULL)
		c->admin = open_connection(c, "cleanup", c->t->user, c->t->password, NULL);
	if (c->admin == NULL) {
		logf_check(c, "warning", "db cleanup: connecting failed: %s", c->err->message);
		failed = true;
	}

	if (!failed && c->user_attempted) {
		snprintf(sql, sizeof(sql), "DROP USER IF EXISTS %s", c->account);
		if (run_sql(c->admin, sql, &code) != 0) {
			logf_check(c, "warning", "db cleanup: DROP USER %s failed: %s", c->account,
				   last_error(c, c->admin, msg, sizeof(msg)));
			failed = true;
		}
	}
	if (!failed && c->db_attempted) {
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`", c->db);
		if (run_sql(c->admin, sql, &code) != 0) {
			logf_check(c, "warning", "db cleanup: DROP DATABASE %s failed: %s", c->db,
				   last_error(c, c->admin, msg, sizeof(msg)));
			failed = true;
		}
	}

	if (failed) {
		c->out->cleanup_failed = true;
		logf_check(c, "warning", "db cleanup: the test objects may remain; drop them on the database "
			   "server: DROP USER IF EXISTS %s; DROP DATABASE IF EXISTS `%s`;",
			   c->user_attempted ? c->account : "(none)", c->db);
	} else {
		logf_check(c, "info", "db cleanup: dropped the test user and the test database");
	}
	*c->err = saved;
}

int mysql_check_run(const struct mysql_check_target *target, mysql_check_log_fn log, void *arg,
		    struct mysql_check_result *out, struct mysql_check_error *err)
{
	struct check c = { .t = target, .log = log, .log_arg = arg, .out = out, .err = err };
	char hex[13], secret[25];
	int rc;

	memset(out, 0, sizeof(*out));
	if (mysql_check_validate(target, err) != 0)
		return -1;

	if (random_text(hex, 12, "0123456789abcdef") != 0 ||
	    random_text(secret, 24, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != 0) {
		set_error(&c, "connect", false, "getrandom failed: %s", strerror(errno));
		return -1;
	}
	snprintf(c.db, sizeof(c.db), "provision_verify_%s", hex);
	snprintf(c.user, sizeof(c.user), "pv_%s", hex);
	/* The fixed tail satisfies password policies that require each character class. */
	snprintf(c.password, sizeof(c.password), "%sAa1!", secret);

	rc = connect_admin(&c);
	if (rc == 0)
		rc = create_test_objects(&c);
	if (rc == 0)
		rc = use_test_user(&c);
	clean_up(&c);

	if (c.admin != NULL)
		mysql_close(c.admin);
	memset(c.password, 0, sizeof(c.password));
	return rc;
}
