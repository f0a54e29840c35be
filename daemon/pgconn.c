#include "pgconn.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

#define CONNECT_TIMEOUT 10.0
#define BACKOFF_MIN 0.25
#define BACKOFF_MAX 30.0

enum pgconn_state {
	PGCONN_IDLE,
	PGCONN_CONNECTING,
	PGCONN_SETUP,		/* running setup_sql */
	PGCONN_READY,
	PGCONN_WAITING,		/* backing off before the next connect */
};

struct query {
	struct query *next;
	const char *sql;
	const char *prepare_as;	/* statement name when this query prepares SQL, else NULL */
	struct statement *executed;	/* the prepared statement it ran as, else NULL */
	int nparams;
	char **params;
	pgconn_result_cb cb;
	void *arg;
};

/* A statement registered with pgconn_prepare(). */
struct statement {
	struct statement *next;
	struct pgconn *conn;
	char *name;
	const char *sql;
	bool pending;		/* its preparation is queued or in flight */
	bool prepared;		/* prepared on the current connection */
};

struct pgconn {
	struct ev_loop *loop;
	char *name;
	char *conninfo;
	char *setup_sql;
	struct pgconn_events events;

	enum pgconn_state state;
	PGconn *pg;
	ev_io io;
	ev_timer timer;		/* connect deadline or backoff */
	double backoff;

	struct query *head;	/* head is in flight when sent is true */
	struct query *tail;
	int queued;
	bool sent;
	PGresult *last_result;	/* of the query in flight, handed over when it completes */
	struct statement *statements;
};

static void io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void connect_start(struct pgconn *c);

static void watch_socket(struct pgconn *c, int events)
{
	ev_io_stop(c->loop, &c->io);
	ev_io_set(&c->io, PQsocket(c->pg), events);
	ev_io_start(c->loop, &c->io);
}

static void free_query(struct query *q)
{
	for (int i = 0; i < q->nparams; i++)
		free(q->params[i]);
	free(q->params);
	free(q);
}

/* Completes every queued query with a NULL result, oldest first. */
static void fail_queries(struct pgconn *c)
{
	struct query *q;

	while ((q = c->head) != NULL) {
		c->head = q->next;
		c->queued--;
		q->cb(NULL, q->arg);
		free_query(q);
	}
	c->tail = NULL;
	c->sent = false;
}

static void close_pg(struct pgconn *c)
{
	/* Prepared statements live in the server session, which ends here. */
	for (struct statement *st = c->statements; st != NULL; st = st->next)
		st->prepared = false;

	ev_io_stop(c->loop, &c->io);
	ev_timer_stop(c->loop, &c->timer);
	if (c->last_result != NULL) {
		PQclear(c->last_result);
		c->last_result = NULL;
	}
	if (c->pg != NULL) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
}

/* Drops the connection, logs why, and schedules a reconnect after the backoff. */
static void connection_failed(struct pgconn *c, const char *what, const char *detail)
{
	bool was_ready = c->state == PGCONN_READY || c->state == PGCONN_SETUP;
	char reason[512];
	size_t len;

	snprintf(reason, sizeof(reason), "%s", detail ? detail : "");
	len = strlen(reason);
	while (len > 0 && (reason[len - 1] == '\n' || reason[len - 1] == ' '))
		reason[--len] = '\0';
	/* libpq's messages span lines; the log wants one. */
	for (char *p = reason; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';

	log_error("database connection %s: %s: %s; reconnecting in %.2gs", c->name, what,
		  reason[0] ? reason : "no detail from libpq", c->backoff);
	close_pg(c);
	c->state = PGCONN_WAITING;
	ev_timer_set(&c->timer, c->backoff, 0);
	ev_timer_start(c->loop, &c->timer);
	c->backoff = c->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : c->backoff * 2;

	fail_queries(c);
	if (was_ready && c->events.lost != NULL)
		c->events.lost(c->events.arg);
}

static void drain_notifies(struct pgconn *c)
{
	PGnotify *n;

	while (c->pg != NULL && (n = PQnotifies(c->pg)) != NULL) {
		if (c->events.notify != NULL)
			c->events.notify(n->relname, n->extra, c->events.arg);
		PQfreemem(n);
	}
}

static struct statement *find_prepared(const struct pgconn *c, const char *sql)
{
	for (struct statement *st = c->statements; st != NULL; st = st->next)
		if (st->sql == sql && st->prepared)
			return st;
	return NULL;
}

/* Sends Q as a preparation, an execution of a prepared statement or a one-off query. */
static int send_query(struct pgconn *c, struct query *q)
{
	const char *const *params = (const char *const *)q->params;
	struct statement *st;

	if (q->prepare_as != NULL)
		return PQsendPrepare(c->pg, q->prepare_as, q->sql, 0, NULL);

	st = find_prepared(c, q->sql);
	q->executed = st;
	if (st != NULL)
		return PQsendQueryPrepared(c->pg, st->name, q->nparams, params, NULL, NULL, 0);

	return PQsendQueryParams(c->pg, q->sql, q->nparams, NULL, params, NULL, NULL, 0);
}

/* Sends the query at the head of the queue if nothing is in flight. */
static void send_next(struct pgconn *c)
{
	struct query *q = c->head;
	int rc;

	if (q == NULL || c->sent || c->state != PGCONN_READY)
		return;
	rc = send_query(c, q);
	if (rc != 1) {
		connection_failed(c, "sending a query failed", PQerrorMessage(c->pg));
		return;
	}
	c->sent = true;
	watch_socket(c, PQflush(c->pg) == 1 ? EV_READ | EV_WRITE : EV_READ);
}

static void setup_done(struct pgconn *c)
{
	log_info("database connection %s ready: host %s port %s, server version %d, backend pid %d",
		 c->name, PQhost(c->pg), PQport(c->pg), PQserverVersion(c->pg), PQbackendPID(c->pg));
	c->state = PGCONN_READY;
	c->backoff = BACKOFF_MIN;
	watch_socket(c, EV_READ);
	if (c->events.ready != NULL)
		c->events.ready(c->events.arg);
	send_next(c);
}

/* Handles one result of the setup query or of the query in flight. */
static void handle_result(struct pgconn *c, PGresult *res)
{
	if (c->state == PGCONN_SETUP) {
		ExecStatusType st = PQresultStatus(res);

		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			/* Keep the text: connection_failed() clears the result. */
			char *msg = xstrdup(PQresultErrorMessage(res));

			PQclear(res);
			connection_failed(c, "session setup failed", msg);
			free(msg);
			return;
		}
		PQclear(res);
		return;
	}
	if (c->last_result != NULL)
		PQclear(c->last_result);
	c->last_result = res;
}

static void prepare_again(struct pgconn *c, struct statement *st);

/*
 * Prepares ST again when RES reports that the session no longer has it
 * (SQLSTATE 26000), as after DEALLOCATE ALL in the session.  The query
 * that failed reaches its callback as an error and is retried there.
 */
static void check_statement_exists(struct pgconn *c, struct statement *st, PGresult *res)
{
	const char *state;

	if (res == NULL || PQresultStatus(res) != PGRES_FATAL_ERROR)
		return;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state == NULL || strcmp(state, "26000") != 0)
		return;

	log_warning("database connection %s: prepared statement %s no longer exists in the session, "
		    "so it is prepared again; something ran DEALLOCATE there, such as a connection "
		    "pooler in transaction mode, which provisiond does not support",
		    c->name, st->name);
	st->prepared = false;
	prepare_again(c, st);
}

/* Called when PQgetResult() returned NULL: the current command is complete. */
static void command_complete(struct pgconn *c)
{
	struct query *q;
	PGresult *res;

	if (c->state == PGCONN_SETUP) {
		setup_done(c);
		return;
	}

	q = c->head;
	if (q == NULL || !c->sent)
		return;
	c->head = q->next;
	if (c->head == NULL)
		c->tail = NULL;
	c->queued--;
	c->sent = false;

	res = c->last_result;
	c->last_result = NULL;
	if (q->executed != NULL)
		check_statement_exists(c, q->executed, res);
	q->cb(res, q->arg);
	PQclear(res);
	free_query(q);
}

static void read_results(struct pgconn *c)
{
	if (PQconsumeInput(c->pg) == 0) {
		connection_failed(c, "reading from the server failed", PQerrorMessage(c->pg));
		return;
	}
	drain_notifies(c);

	while (c->pg != NULL && !PQisBusy(c->pg)) {
		PGresult *res = PQgetResult(c->pg);

		if (res != NULL) {
			handle_result(c, res);
			continue;
		}
		if (c->state != PGCONN_SETUP && !c->sent)
			break;
		command_complete(c);
		if (c->pg == NULL)
			break;
		send_next(c);
		if (c->pg == NULL || !c->sent)
			break;
	}

	/* Notifications that arrived behind the results were read with them; handle them now. */
	drain_notifies(c);

	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_BAD)
		connection_failed(c, "the server closed the connection", PQerrorMessage(c->pg));
}

/* Routes the server's notices and warnings through the daemon log instead of raw stderr. */
static void notice_cb(void *arg, const char *message)
{
	struct pgconn *c = arg;
	char line[512];
	size_t len;

	snprintf(line, sizeof(line), "%s", message);
	len = strlen(line);
	while (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	log_notice("database connection %s: server notice: %s", c->name, line);
}

static void start_setup(struct pgconn *c)
{
	PQsetNoticeProcessor(c->pg, notice_cb, c);
	PQsetnonblocking(c->pg, 1);
	ev_timer_stop(c->loop, &c->timer);
	c->state = PGCONN_SETUP;
	if (PQsendQuery(c->pg, c->setup_sql) != 1) {
		connection_failed(c, "sending the session setup failed", PQerrorMessage(c->pg));
		return;
	}
	watch_socket(c, PQflush(c->pg) == 1 ? EV_READ | EV_WRITE : EV_READ);
}

static void poll_connect(struct pgconn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		watch_socket(c, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		watch_socket(c, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		start_setup(c);
		break;
	default:
		connection_failed(c, "connecting failed", PQerrorMessage(c->pg));
		break;
	}
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pgconn *c = w->data;

	if (c->state == PGCONN_CONNECTING) {
		poll_connect(c);
		return;
	}

	if (revents & EV_WRITE) {
		int rc = PQflush(c->pg);

		if (rc < 0) {
			connection_failed(c, "sending to the server failed", PQerrorMessage(c->pg));
			return;
		}
		if (rc == 0)
			watch_socket(c, EV_READ);
	}
	if (revents & EV_READ)
		read_results(c);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pgconn *c = w->data;

	if (c->state == PGCONN_WAITING) {
		connect_start(c);
		return;
	}
	connection_failed(c, "connecting timed out",
			  "no answer within the connect deadline; check the host and port in \"database\"");
}

/*
 * Defaults that apply unless the configured connection string overrides
 * them.  Keepalives notice a half-open TCP connection that is idle within
 * about a minute; tcp_user_timeout does the same for one with unanswered
 * data in flight, which keepalives do not cover.
 */
static const char *const conn_keywords[] = {
	"fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
	"keepalives_count", "tcp_user_timeout", "dbname", NULL,
};

static void connect_start(struct pgconn *c)
{
	const char *values[] = { "provisiond", "1", "30", "10", "3", "60000", c->conninfo, NULL };

	c->state = PGCONN_CONNECTING;
	c->pg = PQconnectStartParams(conn_keywords, values, 1);
	if (c->pg == NULL) {
		connection_failed(c, "connecting failed", "libpq could not allocate a connection");
		return;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		connection_failed(c, "connecting failed", PQerrorMessage(c->pg));
		return;
	}
	ev_timer_set(&c->timer, CONNECT_TIMEOUT, 0);
	ev_timer_start(c->loop, &c->timer);
	watch_socket(c, EV_WRITE);
}

struct pgconn *pgconn_new(struct ev_loop *loop, const char *name, const char *conninfo,
			  const char *setup_sql, const struct pgconn_events *events)
{
	struct pgconn *c = xcalloc(1, sizeof(*c));

	c->loop = loop;
	c->name = xstrdup(name);
	c->conninfo = xstrdup(conninfo);
	c->setup_sql = xstrdup(setup_sql);
	c->events = *events;
	c->backoff = BACKOFF_MIN;
	ev_init(&c->io, io_cb);
	c->io.data = c;
	ev_init(&c->timer, timer_cb);
	c->timer.data = c;
	return c;
}

void pgconn_start(struct pgconn *c)
{
	if (c->state == PGCONN_IDLE)
		connect_start(c);
}

void pgconn_free(struct pgconn *c)
{
	struct statement *st;

	if (c == NULL)
		return;
	close_pg(c);
	fail_queries(c);
	while ((st = c->statements) != NULL) {
		c->statements = st->next;
		free(st->name);
		free(st);
	}
	free(c->name);
	free(c->conninfo);
	free(c->setup_sql);
	free(c);
}

void pgconn_set_conninfo(struct pgconn *c, const char *conninfo)
{
	free(c->conninfo);
	c->conninfo = xstrdup(conninfo);
}

void pgconn_reset(struct pgconn *c, const char *reason)
{
	if (c->state == PGCONN_IDLE || c->state == PGCONN_WAITING)
		return;
	c->backoff = 0;
	connection_failed(c, "resetting", reason);
	c->backoff = BACKOFF_MIN;
}

bool pgconn_ready(const struct pgconn *c)
{
	return c->state == PGCONN_READY;
}

int pgconn_pending(const struct pgconn *c)
{
	return c->queued;
}

static void enqueue(struct pgconn *c, struct query *q)
{
	if (c->tail != NULL)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	c->queued++;
	send_next(c);
}

int pgconn_query(struct pgconn *c, const char *sql, int nparams, const char *const *params,
		 pgconn_result_cb cb, void *arg)
{
	struct query *q;

	if (c->state != PGCONN_READY)
		return -1;

	q = xcalloc(1, sizeof(*q));
	q->sql = sql;
	q->nparams = nparams;
	q->params = xcalloc((size_t)(nparams > 0 ? nparams : 1), sizeof(char *));
	for (int i = 0; i < nparams; i++)
		q->params[i] = params[i] ? xstrdup(params[i]) : NULL;
	q->cb = cb;
	q->arg = arg;
	enqueue(c, q);
	return 0;
}

static void prepare_done(PGresult *res, void *arg)
{
	struct statement *st = arg;

	st->pending = false;
	if (res == NULL)
		return;	/* the connection broke; the next ready event prepares it again */
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_error("database connection %s: preparing statement %s failed, so it runs "
			  "unprepared: %s", st->conn->name, st->name, PQresultErrorMessage(res));
		return;
	}
	st->prepared = true;
}

static struct statement *register_statement(struct pgconn *c, const char *name, const char *sql)
{
	struct statement *st;

	for (st = c->statements; st != NULL; st = st->next)
		if (st->sql == sql)
			return st;

	st = xcalloc(1, sizeof(*st));
	st->conn = c;
	st->name = xstrdup(name);
	st->sql = sql;
	st->next = c->statements;
	c->statements = st;
	return st;
}

int pgconn_prepare(struct pgconn *c, const char *name, const char *sql)
{
	if (c->state != PGCONN_READY)
		return -1;

	prepare_again(c, register_statement(c, name, sql));
	return 0;
}

/* Queues the preparation of ST unless it is prepared or queued already. */
static void prepare_again(struct pgconn *c, struct statement *st)
{
	struct query *q;

	if (st->prepared || st->pending)
		return;

	q = xcalloc(1, sizeof(*q));
	q->sql = st->sql;
	q->prepare_as = st->name;
	q->params = xcalloc(1, sizeof(char *));
	q->cb = prepare_done;
	q->arg = st;
	st->pending = true;
	enqueue(c, q);
}
