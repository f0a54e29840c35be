#include "queue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "backlog.h"
#include "batch.h"
#include "log.h"
#include "migrations.h"
#include "pgarray.h"
#include "pgconn.h"
#include "queries.h"
#include "replay.h"
#include "spill.h"
#include "xalloc.h"

/* Consecutive rejected writes before a batch's parts are set aside (quarantine_batch). */
#define WRITE_FAILURES_DROP_LOGS 3
#define WRITE_FAILURES_DROP_ALL 6

/* Maximum length of a stored log message; longer ones are cut and marked. */
#define MAX_LOG_MESSAGE (64 * 1024)

/*
 * The statements run for every task, prepared on each connection.  The
 * arrays give each one address, which pgconn compares to find it prepared.
 */
static const char claim_sql[] = SQL_CLAIM;
static const char write_batch_sql[] = SQL_WRITE_BATCH;

/* Task ids sent with a lease renewal. */
struct held_ids {
	int64_t *ids;
	int count;
};

static struct {
	struct ev_loop *loop;
	const struct config *cfg;
	char *name;
	struct queue_events events;
	struct pgconn *conn;

	bool ready;		/* schema checked and daemon registered on this connection */
	bool registered_once;
	bool draining;

	bool claim_wanted, claim_inflight;
	bool cancels_wanted, cancels_inflight;
	bool flush_inflight;
	bool maintenance_inflight;
	struct held_ids renew_sent;
	double ping_sent_at;	/* ev_now() of the unanswered health check, 0 when none */

	struct batch pending;	/* filled by workers' events */
	struct batch inflight;	/* being written, or of unknown fate when uncertain is set */
	long long batch_seq;	/* sequence number of the last batch sent */
	long long inflight_seq;
	bool uncertain;		/* the connection broke before the inflight batch's result came */
	struct spill *spill;	/* this daemon's spill file */
	struct spill *inflight_file;	/* the spill file the inflight batch was read from, or NULL */
	bool spill_unreadable;	/* this daemon's spill file is damaged: stop reading it */
	int write_failures;	/* consecutive batches the database rejected */

	ev_prepare prepare;	/* sends batched work once per loop iteration */
	ev_timer poll_timer;
	ev_timer lease_timer;
	ev_timer retry_timer;	/* pause after a failed write */

	void (*release_done)(void *arg);
	void *release_arg;
	char *release_reason;	/* kept while the release waits for a claim in flight */
} q;

static void run_pending(void);
static void log_batch(const char *what, const struct batch *b);

static bool result_ok(PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

static const char *sqlstate(PGresult *res)
{
	const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return s ? s : "";
}

/* Logs a failed statement; RES NULL means the connection was lost. */
static void log_query_failure(const char *what, PGresult *res)
{
	if (res == NULL)
		log_warning("%s: database connection lost; will retry after reconnecting", what);
	else
		log_error("%s failed: %s", what, PQresultErrorMessage(res));
}

/* ---- batch writes ---- */

/* Writes the elements of A to the daemon log in pieces, so that rows the database rejected are kept. */
static void log_array(const char *what, const struct pgarray *a)
{
	const size_t piece = 3000;

	for (size_t off = 0; a->count > 0 && off < a->len; off += piece)
		log_error("%s (PostgreSQL array text, part %zu): %.*s", what, off / piece + 1,
			  (int)(a->len - off < piece ? a->len - off : piece), a->buf + off);
}

/*
 * Sets aside the parts of a batch whose data the database keeps rejecting,
 * so that one bad row cannot block every later write: after
 * WRITE_FAILURES_DROP_LOGS such failures the log rows and results go to the daemon log instead, after
 * WRITE_FAILURES_DROP_ALL the statuses too (those tasks are then recovered
 * when their leases expire).
 */
static void quarantine_batch(struct batch *b)
{
	if (q.write_failures == WRITE_FAILURES_DROP_LOGS) {
		log_error("the database rejected the same batch %d times; moving its %d log row(s) "
			  "and the results to this log", q.write_failures, b->log_task.count);
		log_array("task ids of rejected log rows", &b->log_task);
		log_array("rejected log messages", &b->log_message);
		log_array("rejected results", &b->out_result);
		pgarray_clear(&b->log_task);
		pgarray_clear(&b->log_ts);
		pgarray_clear(&b->log_level);
		pgarray_clear(&b->log_message);
		for (int i = pgarray_clear_count(&b->out_result); i > 0; i--)
			pgarray_add(&b->out_result, NULL);
	} else if (q.write_failures >= WRITE_FAILURES_DROP_ALL) {
		log_error("the database still rejects the batch; dropping the final status of "
			  "%d task(s), which are recovered when their leases expire", b->out_id.count);
		log_array("task ids of dropped statuses", &b->out_id);
		log_array("dropped errors", &b->out_error);
		batch_clear(b);
		q.write_failures = 0;
	}
}

/*
 * Returns true if the database rejected the batch's data itself (SQLSTATE
 * class 22, data exception, or 23, integrity constraint violation), which
 * retrying cannot fix.  Other errors, such as a full disk or a lock
 * timeout, may pass, so those batches are retried for as long as it takes.
 */
static bool rejects_data(PGresult *res)
{
	const char *state = sqlstate(res);

	return strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0;
}

static void flush_done(PGresult *res, void *arg)
{
	bool sent = arg != NULL;

	q.flush_inflight = false;

	if (res == NULL && sent) {
		/* The batch may have committed just before the connection broke. */
		log_warning("database connection lost while writing batch %lld; checking whether it "
			    "committed after reconnecting", (long long)q.inflight_seq);
		q.uncertain = true;
		return;
	}

	if (q.inflight_file != NULL && res != NULL && !result_ok(res)) {
		log_query_failure("writing a spilled batch", res);
		if (rejects_data(res)) {
			log_batch("the database rejected a spilled batch; its rows follow", &q.inflight);
			spill_commit(q.inflight_file);
		}
		batch_clear(&q.inflight);
		ev_timer_set(&q.retry_timer, 1.0, 0);
		ev_timer_start(q.loop, &q.retry_timer);
		return;
	}
	if (q.inflight_file != NULL && res == NULL) {
		batch_clear(&q.inflight);	/* still in the file */
		return;
	}

	if (res == NULL || !result_ok(res)) {
		if (res != NULL) {
			log_query_failure("writing task logs and statuses", res);
			if (rejects_data(res)) {
				q.write_failures++;
				quarantine_batch(&q.inflight);
			}
			/* A one-shot libev timer must be set again before each restart. */
			ev_timer_set(&q.retry_timer, 1.0, 0);
			ev_timer_start(q.loop, &q.retry_timer);
		}
		/* Put the rows back in front of anything buffered since, to keep their order. */
		batch_concat(&q.inflight, &q.pending);
		q.pending = q.inflight;
		memset(&q.inflight, 0, sizeof(q.inflight));
		return;
	}

	q.write_failures = 0;
	if (q.inflight_file != NULL && q.inflight_file != q.spill)
		replay_batch_written(&q.inflight, strtol(PQgetvalue(res, 0, 0), NULL, 10),
				     strtol(PQgetvalue(res, 0, 1), NULL, 10));
	if (q.inflight_file != NULL)
		spill_commit(q.inflight_file);
	if (strtol(PQgetvalue(res, 0, 2), NULL, 10) > 0)
		log_info("%s task(s) failed transiently and were re-queued for a retry",
			 PQgetvalue(res, 0, 2));
	batch_clear(&q.inflight);
}

/* Returns the name of the daemon whose batch is in q.inflight: this one, or a dead one in a replay. */
static const char *inflight_daemon(void)
{
	return q.inflight_file != NULL ? spill_daemon_name(q.inflight_file) : q.name;
}

/* Sends the batch in q.inflight. */
static void send_inflight(void)
{
	struct batch *b = &q.inflight;
	char *params[13];
	char seq[32];

	if (q.inflight_file != NULL && q.inflight_file != q.spill)
		q.inflight_seq = replay_next_seq();
	else
		q.inflight_seq = ++q.batch_seq;
	snprintf(seq, sizeof(seq), "%lld", (long long)q.inflight_seq);

	params[0] = pgarray_literal(&b->log_task);
	params[1] = pgarray_literal(&b->log_ts);
	params[2] = pgarray_literal(&b->log_level);
	params[3] = pgarray_literal(&b->log_message);
	params[4] = pgarray_literal(&b->out_id);
	params[5] = pgarray_literal(&b->out_status);
	params[6] = pgarray_literal(&b->out_error);
	params[7] = pgarray_literal(&b->out_result);
	params[8] = pgarray_literal(&b->out_ts);
	params[9] = pgarray_literal(&b->out_transient);
	params[10] = (char *)inflight_daemon();
	params[11] = pgarray_literal(&b->out_began);
	params[12] = seq;

	if (pgconn_query(q.conn, write_batch_sql, 13, (const char *const *)params, flush_done, &q) == 0)
		q.flush_inflight = true;
	else
		flush_done(NULL, NULL);

	for (int i = 0; i < 12; i++)
		if (i != 10)
			free(params[i]);
}

static void send_flush(void)
{
	q.inflight = q.pending;
	memset(&q.pending, 0, sizeof(q.pending));
	q.inflight_file = NULL;
	send_inflight();
}

/* Sends the oldest batch of FILE, this daemon's spill file or a dead daemon's. */
static void send_spilled(struct spill *file)
{
	if (spill_peek(file, &q.inflight) != 0) {
		if (file == q.spill)
			q.spill_unreadable = true;
		else
			replay_abandon();
		return;
	}
	q.inflight_file = file;
	send_inflight();
}

/*
 * Moves the buffer to the spill file while the database is away and the
 * buffer, with a batch whose fate is not known yet, is full.
 */
static void spill_if_full(void)
{
	size_t bytes = batch_bytes(&q.pending);

	if (q.ready || batch_empty(&q.pending) ||
	    bytes + batch_bytes(&q.inflight) <= (size_t)q.cfg->log_buffer_max)
		return;
	if (spill_write(q.spill, &q.pending) == 0)
		log_notice("the database is unreachable; moved %zu bytes of task logs and statuses to %s",
			   bytes, spill_path(q.spill));
}

/* Settles a batch whose result was lost with the connection. */
static void last_batch_done(PGresult *res, void *arg)
{
	long long committed;

	if (res == NULL || !result_ok(res) || PQntuples(res) != 1) {
		log_query_failure("reading the last committed batch", res);
		return;
	}
	committed = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	q.uncertain = false;
	if (committed == q.inflight_seq) {
		log_notice("batch %lld had committed before the connection broke", committed);
		if (q.inflight_file != NULL)
			spill_commit(q.inflight_file);
		batch_clear(&q.inflight);
		return;
	}
	if (q.inflight_file != NULL) {
		batch_clear(&q.inflight);	/* still in the file */
		return;
	}
	log_notice("batch %lld had not committed; writing it again", (long long)q.inflight_seq);
	/* Sent again at once: spilled and buffered rows are newer and must follow it. */
	send_inflight();
}

/* Copies MESSAGE, cut at MAX_LOG_MESSAGE bytes on a UTF-8 character boundary. */
static char *bounded_message(const char *message)
{
	size_t len = strlen(message);
	const char *mark = " [truncated]";

	if (len <= MAX_LOG_MESSAGE)
		return xstrdup(message);
	len = MAX_LOG_MESSAGE;
	while (len > 0 && ((unsigned char)message[len] & 0xC0) == 0x80)
		len--;
	return xasprintf("%.*s%s", (int)len, message, mark);
}

void queue_add_log(int64_t task_id, const char *level, const char *message, double ts)
{
	char id[32], when[32];
	char *text = bounded_message(message);

	snprintf(id, sizeof(id), "%" PRId64, task_id);
	snprintf(when, sizeof(when), "%.6f", ts);
	pgarray_add(&q.pending.log_task, id);
	pgarray_add(&q.pending.log_ts, when);
	pgarray_add(&q.pending.log_level, level);
	pgarray_add(&q.pending.log_message, text);
	free(text);
}

void queue_requeue_local(int64_t task_id, const char *type, json_t *request)
{
	backlog_push(task_id, type, request);
}

/* Copies ERROR with every control character replaced by a space: error is one line. */
static char *one_line(const char *error)
{
	char *copy = xstrdup(error);

	for (char *p = copy; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return copy;
}

void queue_add_outcome(const struct task_outcome *o)
{
	char id[32], when[32], began[32];
	char *error = o->error ? one_line(o->error) : NULL;

	if (error != NULL)
		queue_add_log(o->task_id, strcmp(o->status, "cancelled") == 0 ? "notice" : "error",
			      error, o->finished_at);

	snprintf(id, sizeof(id), "%" PRId64, o->task_id);
	snprintf(when, sizeof(when), "%.6f", o->finished_at);
	pgarray_add(&q.pending.out_id, id);
	pgarray_add(&q.pending.out_status, o->status);
	pgarray_add(&q.pending.out_error, error);
	free(error);
	pgarray_add(&q.pending.out_result, o->result);
	pgarray_add(&q.pending.out_ts, when);
	pgarray_add(&q.pending.out_transient, o->transient ? "t" : "f");
	snprintf(began, sizeof(began), "%.6f", o->started_at);
	pgarray_add(&q.pending.out_began, o->started_at > 0 ? began : NULL);
	q.claim_wanted = true;
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	run_pending();
}

/* ---- claiming ---- */

/* Returns how many more tasks this daemon may claim now. */
static int claim_capacity(void)
{
	int n = workers_free_slots() + q.cfg->prefetch - backlog_count();

	if (n > q.cfg->claim_batch)
		n = q.cfg->claim_batch;
	return n > 0 ? n : 0;
}

/* Hands claimed tasks to free workers, oldest first. */
static void dispatch_backlog(void)
{
	int64_t id;
	char *type;
	json_t *request;

	while (workers_free_slots() > 0 && backlog_pop(&id, &type, &request)) {
		workers_dispatch(id, type, request);
		json_decref(request);
		free(type);
	}
}

static void dispatch_row(PGresult *res, int row)
{
	int64_t id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	const char *type = PQgetvalue(res, row, 1);
	json_error_t jerr;
	json_t *request = json_loads(PQgetvalue(res, row, 2), 0, &jerr);

	if (request == NULL) {
		char error[512];
		struct task_outcome o = { .task_id = id, .status = "failed", .finished_at = ev_time(),
			.error = error };

		snprintf(error, sizeof(error), "args could not be passed to a worker: %s; use integers "
			 "within the 64-bit range, numbers within the double range and at most 2048 "
			 "levels of nesting", jerr.text);
		log_error("task %" PRId64 ": %s", id, error);
		queue_add_outcome(&o);
		return;
	}
	backlog_push(id, type, request);
	json_decref(request);
}

static void send_release(void);
static void send_unclaim(struct pgarray *ids);

/* Hands the tasks of a claim that came back during the drain to the queue again. */
static void unclaim_rows(PGresult *res)
{
	struct pgarray ids = { 0 };

	for (int i = 0; i < PQntuples(res); i++)
		pgarray_add(&ids, PQgetvalue(res, i, 0));
	if (ids.count > 0) {
		log_info("handing %d task(s) claimed as the drain began back to the queue", ids.count);
		send_unclaim(&ids);
	}
	pgarray_clear(&ids);
}

static void handle_claim(PGresult *res, int requested)
{
	int rows;

	if (res == NULL || !result_ok(res)) {
		if (res != NULL && strcmp(sqlstate(res), "23505") == 0) {
			/* Another daemon claimed a task of the same server at the same moment. */
			log_debug("claim raced with another daemon for a server; claiming again");
			q.claim_wanted = true;
			return;
		}
		log_query_failure("claiming tasks", res);
		return;
	}

	if (q.draining) {
		unclaim_rows(res);
		return;
	}

	rows = PQntuples(res);
	for (int i = 0; i < rows; i++)
		dispatch_row(res, i);

	/*
	 * A full batch may leave more due tasks; a partial one may have skipped
	 * tasks of a server it just started, which are now excluded.
	 */
	if (rows > 0 && (rows == requested || claim_capacity() > 0))
		q.claim_wanted = true;
}

static void claim_done(PGresult *res, void *arg)
{
	q.claim_inflight = false;
	handle_claim(res, (int)(intptr_t)arg);

	/* A shutdown release waited for this claim, so that it runs after the unclaim. */
	if (q.release_reason != NULL)
		send_release();
}

static void send_claim(int limit)
{
	char lim[16], lease[32];
	const char *params[3] = { q.name, lim, lease };

	snprintf(lim, sizeof(lim), "%d", limit);
	snprintf(lease, sizeof(lease), "%g", q.cfg->lease_duration);
	q.claim_wanted = false;
	if (pgconn_query(q.conn, claim_sql, 3, params, claim_done, (void *)(intptr_t)limit) == 0)
		q.claim_inflight = true;
}

/* ---- cancellation ---- */

static void cancels_done(PGresult *res, void *arg)
{
	q.cancels_inflight = false;
	if (res == NULL || !result_ok(res)) {
		log_query_failure("checking cancellation requests", res);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t id = strtoll(PQgetvalue(res, i, 0), NULL, 10);

		if (backlog_remove(id)) {
			struct task_outcome o = { .task_id = id, .status = "cancelled",
				.error = "cancelled before it started", .finished_at = ev_time() };

			queue_add_outcome(&o);
			continue;
		}
		workers_cancel(id);
	}
}

static void send_cancels(void)
{
	const char *params[1] = { q.name };

	q.cancels_wanted = false;
	if (pgconn_query(q.conn, SQL_CANCELS, 1, params, cancels_done, NULL) == 0)
		q.cancels_inflight = true;
}

/* ---- leases and recovery ---- */

static void recover_done(PGresult *res, void *arg)
{
	q.maintenance_inflight = false;
	if (res == NULL || !result_ok(res)) {
		log_query_failure("recovering tasks with expired leases", res);
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "0") != 0) {
		log_warning("recovered %s task(s) whose daemon stopped renewing its lease",
			    PQgetvalue(res, 0, 0));
		q.claim_wanted = true;
	}
}

static bool was_sent(int64_t task_id)
{
	for (int i = 0; i < q.renew_sent.count; i++)
		if (q.renew_sent.ids[i] == task_id)
			return true;
	return false;
}

static bool held_in(PGresult *res, int64_t task_id)
{
	for (int i = 0; i < PQntuples(res); i++)
		if (strtoll(PQgetvalue(res, i, 0), NULL, 10) == task_id)
			return true;
	return false;
}

/* Stops a worker whose task is no longer claimed by this daemon in the database. */
static void check_still_held(int64_t task_id, void *arg)
{
	/* A task dispatched after the renewal was sent is not in its result. */
	if (!was_sent(task_id) || held_in(arg, task_id))
		return;
	workers_abandon(task_id, "the lease was lost (the database was unreachable for longer "
			"than lease_duration) and the task was recovered elsewhere");
}

struct lost_ids {
	PGresult *res;
	int64_t *ids;
	int count;
};

static void collect_lost(int64_t task_id, void *arg)
{
	struct lost_ids *lost = arg;

	if (was_sent(task_id) && !held_in(lost->res, task_id))
		lost->ids[lost->count++] = task_id;
}

/* Drops claimed tasks that waited for a worker while their lease lapsed. */
static void drop_lost_backlog(PGresult *res)
{
	struct lost_ids lost = { .res = res, .count = 0 };

	if (backlog_count() == 0)
		return;
	lost.ids = xcalloc((size_t)backlog_count(), sizeof(int64_t));
	backlog_foreach(collect_lost, &lost);
	for (int i = 0; i < lost.count; i++) {
		log_warning("task %" PRId64 ": the lease was lost before the task started; "
			    "leaving it to the daemon that recovered it", lost.ids[i]);
		backlog_remove(lost.ids[i]);
	}
	free(lost.ids);
}

static void renew_done(PGresult *res, void *arg)
{
	if (res == NULL || !result_ok(res)) {
		q.maintenance_inflight = false;
		log_query_failure("renewing leases", res);
		return;
	}
	workers_foreach_task(check_still_held, res);
	drop_lost_backlog(res);
	for (int i = 0; i < PQntuples(res); i++)
		workers_confirm_lease(strtoll(PQgetvalue(res, i, 0), NULL, 10));
	if (pgconn_query(q.conn, SQL_RECOVER_EXPIRED, 0, NULL, recover_done, NULL) != 0)
		q.maintenance_inflight = false;
}

static void add_held(int64_t task_id, void *arg)
{
	struct held_ids *held = arg;

	held->ids = xrealloc(held->ids, sizeof(int64_t) * (size_t)(held->count + 1));
	held->ids[held->count++] = task_id;
}

static void ping_done(PGresult *res, void *arg)
{
	if (res != NULL && !result_ok(res))
		log_query_failure("sending the health check notification", res);
}

/*
 * Resets a connection that stopped answering: a health check notification
 * that has not come back within lease_duration means a half-open TCP
 * connection or a server that no longer delivers notifications, and the
 * leases of this daemon's tasks are lapsing anyway.  Returns
 * true if the connection was reset.
 */
static bool check_health(void)
{
	double now = ev_now(q.loop);
	const char *params[1] = { q.name };

	if (q.ping_sent_at > 0 && now - q.ping_sent_at > q.cfg->lease_duration) {
		char reason[128];

		snprintf(reason, sizeof(reason), "no answer to the health check for %.0f s",
			 now - q.ping_sent_at);
		q.ping_sent_at = 0;
		pgconn_reset(q.conn, reason);
		return true;
	}
	if (q.ping_sent_at == 0 && pgconn_query(q.conn, SQL_PING, 1, params, ping_done, NULL) == 0)
		q.ping_sent_at = now;
	return false;
}

static void lease_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pgarray ids = { 0 };
	char lease[32], *literal;
	const char *params[3];
	char id[32];

	if (!q.ready || check_health() || q.maintenance_inflight)
		return;

	q.renew_sent.count = 0;
	workers_foreach_task(add_held, &q.renew_sent);
	backlog_foreach(add_held, &q.renew_sent);
	for (int i = 0; i < q.renew_sent.count; i++) {
		snprintf(id, sizeof(id), "%" PRId64, q.renew_sent.ids[i]);
		pgarray_add(&ids, id);
	}
	literal = pgarray_literal(&ids);
	snprintf(lease, sizeof(lease), "%g", q.cfg->lease_duration);
	params[0] = q.name;
	params[1] = lease;
	params[2] = literal;
	if (pgconn_query(q.conn, SQL_RENEW, 3, params, renew_done, NULL) == 0)
		q.maintenance_inflight = true;
	free(literal);
	pgarray_clear(&ids);
}

/* ---- the loop hook ---- */

/*
 * Pauses the workers' events while more than log_buffer_max bytes wait for
 * the database, and resumes them below half of it.  This happens when the
 * spill file cannot take the rows, or while the database is connected but
 * rejects writes, because spill_if_full only spills during an outage.
 */
static void apply_backpressure(void)
{
	static bool paused;
	size_t bytes = batch_bytes(&q.pending) + batch_bytes(&q.inflight);
	size_t max = (size_t)q.cfg->log_buffer_max;

	if (!paused && bytes > max) {
		log_warning("%zu bytes of task logs wait for the database; pausing the workers' "
			    "output until they are written", bytes);
		paused = true;
		workers_pause_events(true);
	} else if (paused && bytes < max / 2) {
		log_notice("the database caught up; resuming the workers' output");
		paused = false;
		workers_pause_events(false);
	}
}

/*
 * Sends the next batch: a dead daemon's spilled batches go first, then this
 * daemon's spilled batches, then what is buffered in memory, so that log
 * rows reach the database in the order they were logged.
 */
static void send_next_batch(void)
{
	struct spill *orphan = replay_file();

	q.inflight_file = NULL;
	if (orphan != NULL)
		send_spilled(orphan);
	else if (!q.spill_unreadable && spill_pending(q.spill))
		send_spilled(q.spill);
	else if (!batch_empty(&q.pending))
		send_flush();
}

static void run_pending(void)
{
	int capacity;

	spill_if_full();
	apply_backpressure();

	if (!q.draining)
		dispatch_backlog();
	if (!q.ready)
		return;
	if (!q.flush_inflight && !q.uncertain && !ev_is_active(&q.retry_timer))
		send_next_batch();
	if (q.cancels_wanted && !q.cancels_inflight)
		send_cancels();

	capacity = claim_capacity();
	if (q.claim_wanted && !q.claim_inflight && !q.draining && capacity > 0)
		send_claim(capacity);
}

static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	run_pending();
}

static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	q.claim_wanted = true;
	q.cancels_wanted = true;
}

/* ---- connection lifecycle ---- */

static void register_done(PGresult *res, void *arg)
{
	if (res == NULL || !result_ok(res)) {
		log_query_failure("registering the daemon", res);
		return;
	}
	if (q.uncertain) {
		const char *params[1] = { inflight_daemon() };

		pgconn_query(q.conn, SQL_LAST_BATCH, 1, params, last_batch_done, NULL);
	}
	if (!q.registered_once)
		replay_start(q.conn, q.cfg, q.name);
	q.ready = true;
	q.registered_once = true;
	q.claim_wanted = true;
	q.cancels_wanted = true;
	lease_cb(q.loop, &q.lease_timer, 0);
	if (q.events.ready != NULL)
		q.events.ready(q.events.arg);
}

static void schema_done(PGresult *res, void *arg)
{
	int expected = migrations[migrations_count - 1].version;
	char host[256] = "", pid[16];
	const char *params[4] = { q.name, host, pid, PROVISIOND_VERSION };
	char msg[512];
	int version;

	if (res == NULL || !result_ok(res)) {
		if (res != NULL && strcmp(sqlstate(res), "42P01") == 0) {
			snprintf(msg, sizeof(msg), "the database has no provision schema; "
				 "run: provisionctl -c CONFIG migrate");
			q.events.fatal(msg, q.events.arg);
			return;
		}
		log_query_failure("reading the schema version", res);
		return;
	}

	version = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	if (version < expected) {
		snprintf(msg, sizeof(msg), "the database schema is at version %d but this daemon needs "
			 "version %d; run: provisionctl -c CONFIG migrate", version, expected);
		q.events.fatal(msg, q.events.arg);
		return;
	}
	if (version > expected)
		log_warning("the database schema is at version %d, newer than this daemon's %d; "
			    "upgrade provisiond", version, expected);

	/* Prepared only now: the statements name tables that an empty database lacks. */
	pgconn_prepare(q.conn, "provisiond_claim", claim_sql);
	pgconn_prepare(q.conn, "provisiond_write_batch", write_batch_sql);

	gethostname(host, sizeof(host) - 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	pgconn_query(q.conn, SQL_REGISTER_DAEMON, 4, params, register_done, NULL);
}

static void conn_ready(void *arg)
{
	pgconn_query(q.conn, SQL_SCHEMA_VERSION, 0, NULL, schema_done, NULL);
}

static void conn_lost(void *arg)
{
	q.ready = false;
	q.ping_sent_at = 0;
}

static void conn_notify(const char *channel, const char *payload, void *arg)
{
	if (strcmp(channel, "provision_ping") == 0) {
		if (strcmp(payload, q.name) == 0)
			q.ping_sent_at = 0;
		return;
	}
	if (strcmp(channel, "provision_tasks") == 0)
		q.claim_wanted = true;
	else if (strcmp(channel, "provision_cancel") == 0)
		q.cancels_wanted = true;
}

void queue_init(struct ev_loop *loop, const struct config *cfg, const char *daemon_name,
		const struct queue_events *events)
{
	struct pgconn_events conn_events = {
		.ready = conn_ready, .lost = conn_lost, .notify = conn_notify, .arg = NULL,
	};

	memset(&q, 0, sizeof(q));
	q.loop = loop;
	q.cfg = cfg;
	q.name = xstrdup(daemon_name);
	q.events = *events;
	q.conn = pgconn_new(loop, "queue", cfg->database, SQL_SESSION_SETUP, &conn_events);
	q.spill = spill_new(cfg->state_dir, daemon_name);

	ev_prepare_init(&q.prepare, prepare_cb);
	ev_timer_init(&q.poll_timer, poll_cb, cfg->poll_interval, cfg->poll_interval);
	ev_timer_init(&q.lease_timer, lease_cb, cfg->lease_duration / 3, cfg->lease_duration / 3);
	ev_timer_init(&q.retry_timer, retry_cb, 1.0, 0);
}

void queue_set_config(const struct config *cfg)
{
	q.cfg = cfg;
	pgconn_set_conninfo(q.conn, cfg->database);
	ev_timer_stop(q.loop, &q.poll_timer);
	ev_timer_set(&q.poll_timer, cfg->poll_interval, cfg->poll_interval);
	ev_timer_start(q.loop, &q.poll_timer);
	ev_timer_stop(q.loop, &q.lease_timer);
	ev_timer_set(&q.lease_timer, cfg->lease_duration / 3, cfg->lease_duration / 3);
	ev_timer_start(q.loop, &q.lease_timer);
}

void queue_start(void)
{
	ev_prepare_start(q.loop, &q.prepare);
	ev_timer_start(q.loop, &q.poll_timer);
	ev_timer_start(q.loop, &q.lease_timer);
	pgconn_start(q.conn);
}

static void unclaim_done(PGresult *res, void *arg)
{
	if (res == NULL || !result_ok(res))
		log_query_failure("handing unstarted tasks back to the queue", res);
}

static void add_id(int64_t task_id, void *arg)
{
	char id[32];

	snprintf(id, sizeof(id), "%" PRId64, task_id);
	pgarray_add(arg, id);
}

/* Hands tasks claimed ahead back to the queue; if that fails, their leases expire. */
static void release_backlog(void)
{
	struct pgarray ids = { 0 };
	int64_t id;
	char *type;
	json_t *request;

	if (backlog_count() == 0)
		return;
	backlog_foreach(add_id, &ids);
	log_info("handing %d claimed but unstarted task(s) back to the queue", ids.count);
	send_unclaim(&ids);

	while (backlog_pop(&id, &type, &request)) {
		json_decref(request);
		free(type);
	}
	pgarray_clear(&ids);
}

/* Sends SQL_UNCLAIM for IDS; if the database is unreachable, their leases expire instead. */
static void send_unclaim(struct pgarray *ids)
{
	char *literal = pgarray_literal(ids);
	const char *params[2] = { q.name, literal };

	if (!q.ready || pgconn_query(q.conn, SQL_UNCLAIM, 2, params, unclaim_done, NULL) != 0)
		log_warning("database unreachable; unstarted tasks return when their leases expire");
	free(literal);
}

void queue_drain(void)
{
	q.draining = true;
	release_backlog();
}

bool queue_flushed(void)
{
	return batch_empty(&q.pending) && !q.flush_inflight && !q.uncertain &&
	       (q.spill_unreadable || !spill_pending(q.spill));
}

bool queue_connected(void)
{
	return q.ready;
}

static void release_stopped(PGresult *res, void *arg)
{
	void (*done)(void *) = q.release_done;

	if (res == NULL || !result_ok(res))
		log_query_failure("marking the daemon stopped", res);
	q.release_done = NULL;
	done(q.release_arg);
}

static void release_finished(PGresult *res, void *arg)
{
	const char *params[1] = { q.name };

	if (res == NULL || !result_ok(res))
		log_query_failure("handing running tasks back to the queue", res);
	else if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
		log_notice("released %s running task(s): re-queued, or failed where no attempts were left",
			   PQgetvalue(res, 0, 0));

	if (pgconn_query(q.conn, SQL_DAEMON_STOPPED, 1, params, release_stopped, NULL) != 0)
		release_stopped(NULL, NULL);
}

/* Sends SQL_RELEASE_OWN with the reason queue_release kept. */
static void send_release(void)
{
	char *reason = q.release_reason;
	const char *params[2] = { q.name, reason };
	void (*done)(void *) = q.release_done;

	q.release_reason = NULL;
	if (!q.ready || pgconn_query(q.conn, SQL_RELEASE_OWN, 2, params, release_finished, NULL) != 0) {
		log_warning("database unreachable at shutdown; running tasks will be recovered "
			    "when their leases expire");
		q.release_done = NULL;
		done(q.release_arg);
	}
	free(reason);
}

void queue_release(const char *reason, void (*done)(void *arg), void *arg)
{
	q.draining = true;
	q.release_done = done;
	q.release_arg = arg;
	q.release_reason = xstrdup(reason);

	/*
	 * A claim in flight may return tasks that never reach a worker.  They
	 * are handed back without an attempt when it returns, and only then
	 * may the release count an attempt for the tasks still running.
	 */
	if (!q.claim_inflight)
		send_release();
}

static void log_batch(const char *what, const struct batch *b)
{
	if (batch_empty(b))
		return;
	log_error("%s: %d log row(s) and %d final status(es) follow", what, b->log_task.count,
		  b->out_id.count);
	log_array("task ids of log rows", &b->log_task);
	log_array("log levels", &b->log_level);
	log_array("log messages", &b->log_message);
	log_array("ids of finished tasks", &b->out_id);
	log_array("their statuses", &b->out_status);
	log_array("their errors", &b->out_error);
}

void queue_discard_unwritten(void)
{
	if (queue_flushed())
		return;
	log_batch("the database stayed unreachable at shutdown; writing what could not be stored "
		  "to this log instead", &q.pending);
	if (q.inflight_file == NULL)	/* a batch read from a spill file stays in it */
		log_batch(q.uncertain ? "a batch that may or may not have committed" :
			  "a batch in flight", &q.inflight);
	batch_clear(&q.pending);
	batch_clear(&q.inflight);
	q.uncertain = false;
	q.flush_inflight = false;
	if (spill_pending(q.spill)) {
		log_error("rows spilled during the outage stay in %s; the next provisiond started on "
			  "this host with the same state_dir writes them to the database", spill_path(q.spill));
		q.spill_unreadable = true;
	}
}

void queue_free(void)
{
	ev_prepare_stop(q.loop, &q.prepare);
	ev_timer_stop(q.loop, &q.poll_timer);
	ev_timer_stop(q.loop, &q.lease_timer);
	ev_timer_stop(q.loop, &q.retry_timer);
	pgconn_free(q.conn);
	batch_clear(&q.pending);
	batch_clear(&q.inflight);
	replay_free();
	spill_close(q.spill);
	free(q.renew_sent.ids);
	free(q.name);
}
